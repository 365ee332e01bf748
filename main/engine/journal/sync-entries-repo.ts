/**
 * What each sync pair last synced per relative path (table `sync_entries`): the local fingerprint and the remote
 * file's id and primary entity, so the next pass sends only what changed and can tell our version from theirs.
 */
import type Database from 'better-sqlite3';
import type { SyncRecord } from '../sync/reconcile.js';

export interface SyncEntryRow extends SyncRecord {
  pairId: string;
  /** '/'-separated, relative to the pair's local folder */
  relPath: string;
  updatedAt: number;
}

export interface SyncEntriesRepo {
  upsert(row: Omit<SyncEntryRow, 'updatedAt'>): void;
  get(pairId: string, relPath: string): SyncEntryRow | undefined;
  /** All entries of a pair, by relative path. */
  map(pairId: string): Map<string, SyncEntryRow>;
  count(pairId: string): number;
  delete(pairId: string, relPath: string): boolean;
}

interface RawEntry {
  pair_id: string;
  rel_path: string;
  kind: SyncRecord['kind'];
  size: number;
  mtime_ms: number;
  inode: string;
  remote_id: string | null;
  primary_entity: string | null;
  updated_at: number;
}

const toRow = (r: RawEntry): SyncEntryRow => ({
  pairId: r.pair_id,
  relPath: r.rel_path,
  kind: r.kind,
  size: r.size,
  mtimeMs: r.mtime_ms,
  inode: r.inode,
  remoteId: r.remote_id,
  primaryEntity: r.primary_entity,
  updatedAt: r.updated_at,
});

export function createSyncEntriesRepo(db: Database.Database, now: () => number): SyncEntriesRepo {
  const s = {
    upsert: db.prepare(`
      INSERT INTO sync_entries (pair_id, rel_path, kind, size, mtime_ms, inode, remote_id, primary_entity, updated_at)
      VALUES (@pairId, @relPath, @kind, @size, @mtimeMs, @inode, @remoteId, @primaryEntity, @t)
      ON CONFLICT (pair_id, rel_path) DO UPDATE SET kind = excluded.kind, size = excluded.size, mtime_ms = excluded.mtime_ms,
        inode = excluded.inode, remote_id = excluded.remote_id, primary_entity = excluded.primary_entity, updated_at = excluded.updated_at`),
    get: db.prepare<[string, string], RawEntry>('SELECT * FROM sync_entries WHERE pair_id = ? AND rel_path = ?'),
    all: db.prepare<[string], Omit<RawEntry, 'pair_id'>>(
      'SELECT rel_path, kind, size, mtime_ms, inode, remote_id, primary_entity, updated_at FROM sync_entries WHERE pair_id = ?',
    ),
    count: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM sync_entries WHERE pair_id = ?'),
    delete: db.prepare<[string, string]>('DELETE FROM sync_entries WHERE pair_id = ? AND rel_path = ?'),
  };
  return {
    upsert(row) {
      s.upsert.run({ ...row, t: now() });
    },
    get(pairId, relPath) {
      const r = s.get.get(pairId, relPath);
      return r && toRow(r);
    },
    map(pairId) {
      const out = new Map<string, SyncEntryRow>();
      // one pairId and kind string for all the rows (a pair of 100,000 files holds them all through a pass)
      for (const r of s.all.iterate(pairId)) out.set(r.rel_path, toRow({ ...r, pair_id: pairId, kind: r.kind === 'file' ? 'file' : r.kind === 'folder' ? 'folder' : r.kind }));
      return out;
    },
    count(pairId) {
      return s.count.get(pairId)!.n;
    },
    delete(pairId, relPath) {
      return s.delete.run(pairId, relPath).changes > 0;
    },
  };
}
