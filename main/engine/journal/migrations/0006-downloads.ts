/**
 * Resumable downloads (transfer/downloader.ts): one row per remote file being brought down to a local path.
 * - entity: the primary entity the download is of; a different one on the server (a new version) starts it over.
 * - temp_path: the hidden `.cloudreve-sync-<id>.part` beside the target the bytes go to; renamed over the target at
 *   the end. bytes_done is what the temp file held when last written down; bytes_synced what was flushed to disk by
 *   then, and boot_ms when the machine had booted (a crash of the process keeps what it wrote, a crash of the machine
 *   only what was flushed: a resume after a reboot starts from bytes_synced).
 * - server_updated_at (ms): becomes the file's mtime. expect_local (JSON {size, mtimeMs, inode} or null): what the
 *   local target must still be when the download is renamed over it (null: it must not exist); on_exists: what to do
 *   when it is not.
 */
import type { Migration } from './migration.js';

export const migration0006: Migration = {
  version: 6,
  name: 'downloads',
  up(db) {
    db.exec(`
      CREATE TABLE downloads (
        id                TEXT    NOT NULL PRIMARY KEY,
        account           TEXT    NOT NULL,
        uri               TEXT    NOT NULL,
        entity            TEXT,
        target            TEXT    NOT NULL,
        temp_path         TEXT    NOT NULL,
        size              INTEGER NOT NULL CHECK (size >= 0),
        bytes_done        INTEGER NOT NULL DEFAULT 0 CHECK (bytes_done >= 0),
        bytes_synced      INTEGER NOT NULL DEFAULT 0 CHECK (bytes_synced >= 0),
        boot_ms           INTEGER,
        server_updated_at INTEGER NOT NULL,
        expect_local      TEXT    CHECK (expect_local IS NULL OR json_valid(expect_local)),
        on_exists         TEXT    NOT NULL CHECK (on_exists IN ('conflict', 'overwrite', 'skip', 'rename')),
        create_folders    INTEGER NOT NULL DEFAULT 0 CHECK (create_folders IN (0, 1)),
        state             TEXT    NOT NULL,
        error             TEXT    CHECK (error IS NULL OR json_valid(error)),
        result_path       TEXT,
        attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        pair_id           TEXT,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX downloads_by_account ON downloads (account, state);
      CREATE INDEX downloads_by_target ON downloads (target);
    `);
  },
};
