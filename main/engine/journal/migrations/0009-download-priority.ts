/**
 * Downloads in the shared transfer queue (issue 17): downloads.priority orders the waiting downloads (higher first,
 * then the order they were queued), as uploads.priority orders the uploads, and survives a restart ("move to top").
 * An older app reading the journal ignores the column (its downloads run in the order they were queued).
 */
import type { Migration } from './migration.js';

export const migration0009: Migration = {
  version: 9,
  name: 'download-priority',
  up(db) {
    db.exec(`ALTER TABLE downloads ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;`);
  },
};
