/** Conflicts a sync pair kept both versions of (table `sync_conflicts`), listed for the user until dismissed. */
import type Database from 'better-sqlite3';
import type { ConflictReasonCode, SyncConflict } from '../types.js';

export interface SyncConflictsRepo {
  insert(c: Omit<SyncConflict, 'id' | 'createdAt'>): SyncConflict;
  /** newest last; all pairs when pairId is omitted */
  list(pairId?: string): SyncConflict[];
  get(id: number): SyncConflict | undefined;
  /** the open conflict of a path, if any (the newest) */
  forPath(pairId: string, relPath: string): SyncConflict | undefined;
  delete(id: number): boolean;
}

interface RawConflict {
  id: number;
  pair_id: string;
  rel_path: string;
  remote_uri: string;
  conflict_uri: string;
  reason: string;
  reason_code: ConflictReasonCode;
  created_at: number;
}

const toConflict = (r: RawConflict): SyncConflict => ({
  id: r.id,
  pairId: r.pair_id,
  relPath: r.rel_path,
  remoteUri: r.remote_uri,
  conflictUri: r.conflict_uri,
  reason: r.reason,
  reasonCode: r.reason_code,
  createdAt: r.created_at,
});

export function createSyncConflictsRepo(db: Database.Database, now: () => number): SyncConflictsRepo {
  const s = {
    insert: db.prepare<[string, string, string, string, string, string, number]>(
      'INSERT INTO sync_conflicts (pair_id, rel_path, remote_uri, conflict_uri, reason, reason_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    get: db.prepare<[number], RawConflict>('SELECT * FROM sync_conflicts WHERE id = ?'),
    forPath: db.prepare<[string, string], RawConflict>('SELECT * FROM sync_conflicts WHERE pair_id = ? AND rel_path = ? ORDER BY id DESC LIMIT 1'),
    list: db.prepare<{ pair: string | null }, RawConflict>('SELECT * FROM sync_conflicts WHERE @pair IS NULL OR pair_id = @pair ORDER BY created_at, id'),
    delete: db.prepare<[number]>('DELETE FROM sync_conflicts WHERE id = ?'),
  };
  return {
    insert(c) {
      const t = now();
      const id = Number(s.insert.run(c.pairId, c.relPath, c.remoteUri, c.conflictUri, c.reason, c.reasonCode, t).lastInsertRowid);
      return { ...c, id, createdAt: t };
    },
    list(pairId) {
      return s.list.all({ pair: pairId ?? null }).map(toConflict);
    },
    get(id) {
      const r = s.get.get(id);
      return r && toConflict(r);
    },
    forPath(pairId, relPath) {
      const r = s.forPath.get(pairId, relPath);
      return r && toConflict(r);
    },
    delete(id) {
      return s.delete.run(id).changes > 0;
    },
  };
}
