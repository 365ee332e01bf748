/**
 * The transfer history: one row per transfer that reached a terminal state (done, skipped, failed, cancelled),
 * written when it does, kept across `clearFinished` (which only empties the queue) and restarts, capped to the
 * newest entries (history-repo.ts). A transfer retried after a failure and then done has two rows: both happened.
 *
 * - uploads.pair_id: the sync pair that queued the upload (NULL for a manual upload), copied into its history rows.
 *   No foreign key: the history outlives a removed pair.
 * - transfer_history.seq: INTEGER PRIMARY KEY, increasing; the cap deletes from the bottom (seq ≤ newest − cap).
 * - error: {code, message} as JSON, NULL for done/skipped without a reason.
 */
import type { Migration } from './migration.js';

export const migration0003: Migration = {
  version: 3,
  name: 'transfer-history',
  up(db) {
    db.exec(`
      ALTER TABLE uploads ADD COLUMN pair_id TEXT;

      CREATE TABLE transfer_history (
        seq          INTEGER PRIMARY KEY,
        transfer_id  TEXT    NOT NULL,
        account      TEXT    NOT NULL,
        name         TEXT    NOT NULL,
        local_path   TEXT    NOT NULL,
        target_uri   TEXT    NOT NULL,
        size         INTEGER NOT NULL CHECK (size >= 0),
        state        TEXT    NOT NULL CHECK (state IN ('done', 'skipped', 'failed', 'cancelled')),
        error        TEXT    CHECK (error IS NULL OR json_valid(error)),
        pair_id      TEXT,
        finished_at  INTEGER NOT NULL
      ) STRICT;

      CREATE INDEX transfer_history_by_account ON transfer_history (account, finished_at);
    `);
  },
};
