/**
 * Two-way pairs (issue 17). sync_pairs.mode has a CHECK (backup, mirror) that SQLite cannot alter without rebuilding
 * the table, and rebuilding it with foreign keys on would cascade its entries away; so a two-way pair is stored as
 * mode 'mirror' with two_way = 1 (pairs-repo.ts reads it as 'two-way'). An older app reading the journal sees such a
 * pair as a mirror: the safe reading (it uploads and trashes remotely under the guard, and never touches local files).
 */
import type { Migration } from './migration.js';

export const migration0007: Migration = {
  version: 7,
  name: 'two-way-pairs',
  up(db) {
    db.exec(`ALTER TABLE sync_pairs ADD COLUMN two_way INTEGER NOT NULL DEFAULT 0 CHECK (two_way IN (0, 1));`);
  },
};
