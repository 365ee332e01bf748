/**
 * What a pass leaves behind, so a pair tells the truth about itself:
 * - sync_issues: per pair and path, why it is not on the server (a code, the English message), the local
 *   fingerprint it failed with (a change of the file retries at once), when it is tried again, and for a full quota
 *   the free space at the time (a pass retries once it grew).
 * - sync_conflicts.reason_code: the reason as a code the screens word in their own language.
 * - sync_pairs.last_full_scan_at / last_change_at: how fresh the pair is; confirm_mirror: the pair just became a
 *   mirror, its first mirror pass holds back every deletion until the user confirmed the list.
 */
import type { Migration } from './migration.js';

export const migration0005: Migration = {
  version: 5,
  name: 'sync-outcomes',
  up(db) {
    db.exec(`
      CREATE TABLE sync_issues (
        pair_id          TEXT    NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
        rel_path         TEXT    NOT NULL,
        code             TEXT    NOT NULL,
        message          TEXT    NOT NULL,
        size             INTEGER,
        mtime_ms         REAL,
        retry_at         INTEGER,
        free_at_failure  INTEGER,
        attempts         INTEGER NOT NULL DEFAULT 1,
        since            INTEGER NOT NULL,
        PRIMARY KEY (pair_id, rel_path)
      ) STRICT, WITHOUT ROWID;

      ALTER TABLE sync_conflicts ADD COLUMN reason_code TEXT NOT NULL DEFAULT 'changed-both';
      ALTER TABLE sync_pairs ADD COLUMN last_full_scan_at INTEGER;
      ALTER TABLE sync_pairs ADD COLUMN last_change_at INTEGER;
      ALTER TABLE sync_pairs ADD COLUMN confirm_mirror INTEGER NOT NULL DEFAULT 0 CHECK (confirm_mirror IN (0, 1));
    `);
  },
};
