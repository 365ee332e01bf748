/**
 * Drops two indexes of `uploads` that no query uses (EXPLAIN QUERY PLAN: the listing scans uploads_by_order, its
 * state and account filters are OR'd with "no filter" and cannot use an index) but that every insert and every state
 * change had to update: about a third of the index work of each queued and finished file.
 */
import type { Migration } from './migration.js';

export const migration0004: Migration = {
  version: 4,
  name: 'drop-unused-indexes',
  up(db) {
    db.exec(`
      DROP INDEX IF EXISTS uploads_by_state;
      DROP INDEX IF EXISTS uploads_by_account;
    `);
  },
};
