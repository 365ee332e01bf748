/**
 * Per-pair excluded folders (issue 17, selective sync): sync_pairs.exclude_remote holds a JSON array of folder paths
 * relative to the pair's root (NFC, '/'-separated), like `ignore` holds its patterns. An older app reading the
 * journal ignores the column, i.e. syncs those folders again: nothing of theirs was deleted while they were excluded.
 */
import type { Migration } from './migration.js';

export const migration0008: Migration = {
  version: 8,
  name: 'excluded-folders',
  up(db) {
    db.exec(`ALTER TABLE sync_pairs ADD COLUMN exclude_remote TEXT NOT NULL DEFAULT '[]';`);
  },
};
