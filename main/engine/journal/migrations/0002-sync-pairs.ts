/**
 * Folder sync: pairs (a local folder kept backed up to a remote folder), what each pair last synced per path,
 * the conflicts it kept, and the entity an upload must still find on the server (uploads.previous).
 *
 * - sync_pairs.watched: 1 for a configured pair (`pairs add`, run by `run` and the app), 0 for the record of a
 *   one-off `cloudreve-sync sync` (kept so that the next pass over the same folders sends only what changed).
 * - sync_pairs.ignore: JSON array of gitignore-syntax patterns added to the defaults.
 * - sync_pairs.state/state_detail: the last known state (idle, scanning, syncing, offline, login-required,
 *   unavailable, needs-confirmation, error, paused) and its {code, message, …} as JSON.
 * - sync_entries: per pair and relative path ('/'-separated, NFC), the local fingerprint and remote entity of
 *   what we uploaded or found identical. inode TEXT and mtime_ms REAL as in the uploads table.
 */
import type { Migration } from './migration.js';

export const migration0002: Migration = {
  version: 2,
  name: 'sync-pairs',
  up(db) {
    db.exec(`
      ALTER TABLE uploads ADD COLUMN previous TEXT;

      CREATE TABLE sync_pairs (
        id            TEXT    NOT NULL PRIMARY KEY,
        account       TEXT    NOT NULL,
        local_path    TEXT    NOT NULL,
        remote_uri    TEXT    NOT NULL,
        mode          TEXT    NOT NULL CHECK (mode IN ('backup', 'mirror')),
        ignore        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(ignore) AND json_type(ignore) = 'array'),
        paused        INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
        watched       INTEGER NOT NULL DEFAULT 1 CHECK (watched IN (0, 1)),
        state         TEXT    NOT NULL DEFAULT 'idle',
        state_detail  TEXT    CHECK (state_detail IS NULL OR json_valid(state_detail)),
        last_scan_at  INTEGER,
        last_scan_ms  INTEGER,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        UNIQUE (account, local_path, remote_uri)
      ) STRICT;

      CREATE TABLE sync_entries (
        pair_id        TEXT    NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
        rel_path       TEXT    NOT NULL,
        kind           TEXT    NOT NULL CHECK (kind IN ('file', 'folder')),
        size           INTEGER NOT NULL CHECK (size >= 0),
        mtime_ms       REAL    NOT NULL,
        inode          TEXT    NOT NULL,
        remote_id      TEXT,
        primary_entity TEXT,
        updated_at     INTEGER NOT NULL,
        PRIMARY KEY (pair_id, rel_path)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE sync_conflicts (
        id           INTEGER PRIMARY KEY,
        pair_id      TEXT    NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
        rel_path     TEXT    NOT NULL,
        remote_uri   TEXT    NOT NULL,
        conflict_uri TEXT    NOT NULL,
        reason       TEXT    NOT NULL,
        created_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sync_conflicts_by_pair ON sync_conflicts (pair_id, created_at);
    `);
  },
};
