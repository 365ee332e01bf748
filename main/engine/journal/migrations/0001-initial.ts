/**
 * Initial schema: resumable uploads with their acknowledged parts, and synced file records.
 *
 * STRICT tables, so a wrong JS type is an error instead of a silently coerced value. Notes per column:
 * - inode is TEXT (decimal digits): NTFS/ReFS and some Unix file systems hand out 64-bit inodes above 2^53.
 * - mtime_ms is REAL: Node's stat mtimeMs carries sub-millisecond fractions, and a double round-trips exactly.
 * - session holds the server's whole upload-session response as JSON, including encrypt_metadata's plaintext
 *   key and the storage credential; the database file is mode 0600 for that reason (see journal.ts).
 */
import type { Migration } from './migration.js';

export const migration0001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE uploads (
        id          TEXT    NOT NULL PRIMARY KEY,
        account     TEXT    NOT NULL,
        local_path  TEXT    NOT NULL,
        target_uri  TEXT    NOT NULL,
        size        INTEGER NOT NULL CHECK (size >= 0),
        mtime_ms    REAL    NOT NULL,
        inode       TEXT    NOT NULL CHECK (inode <> '' AND inode NOT GLOB '*[^0-9]*'),
        if_exists   TEXT    NOT NULL CHECK (if_exists IN ('skip', 'overwrite', 'rename')),
        priority    INTEGER NOT NULL DEFAULT 0,
        state       TEXT    NOT NULL,
        session     TEXT    CHECK (session IS NULL OR json_valid(session)),
        session_uri TEXT,
        bytes_done  INTEGER NOT NULL DEFAULT 0 CHECK (bytes_done >= 0),
        error       TEXT    CHECK (error IS NULL OR json_valid(error)),
        attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX uploads_by_order ON uploads (priority DESC, created_at ASC);
      CREATE INDEX uploads_by_state ON uploads (state);
      CREATE INDEX uploads_by_account ON uploads (account);

      CREATE TABLE upload_parts (
        upload_id TEXT    NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
        idx       INTEGER NOT NULL CHECK (idx >= 0),
        etag      TEXT,
        size      INTEGER NOT NULL CHECK (size >= 0),
        PRIMARY KEY (upload_id, idx)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE files (
        path           TEXT    NOT NULL PRIMARY KEY,
        size           INTEGER NOT NULL CHECK (size >= 0),
        mtime_ms       REAL    NOT NULL,
        inode          TEXT    NOT NULL CHECK (inode <> '' AND inode NOT GLOB '*[^0-9]*'),
        remote_id      TEXT,
        primary_entity TEXT,
        updated_at     INTEGER NOT NULL
      ) STRICT;
    `);
  },
};
