/** Sync pairs (table `sync_pairs`): the configured local folder → remote folder pairs and their last state. */
import type Database from 'better-sqlite3';
import type { SyncPair } from '../types.js';

export type NewPair = Pick<SyncPair, 'id' | 'account' | 'localPath' | 'remoteUri' | 'mode' | 'ignore'> & Partial<Pick<SyncPair, 'paused' | 'watched' | 'excludeRemote'>>;
export type PairPatch = Partial<Pick<SyncPair, 'mode' | 'ignore' | 'excludeRemote' | 'paused' | 'watched' | 'state' | 'stateDetail' | 'lastScanAt' | 'lastScanMs' | 'lastFullScanAt' | 'lastChangeAt' | 'confirmMirror'>>;

export interface PairsRepo {
  insert(pair: NewPair): SyncPair;
  get(id: string): SyncPair | undefined;
  find(account: string, localPath: string, remoteUri: string): SyncPair | undefined;
  /** ordered by creation */
  list(filter?: { account?: string; watched?: boolean }): SyncPair[];
  update(id: string, patch: PairPatch): boolean;
  /** cascades to its entries and conflicts */
  delete(id: string): boolean;
}

interface RawPair {
  id: string;
  account: string;
  local_path: string;
  remote_uri: string;
  mode: SyncPair['mode'];
  ignore: string;
  paused: number;
  watched: number;
  state: SyncPair['state'];
  state_detail: string | null;
  last_scan_at: number | null;
  last_scan_ms: number | null;
  last_full_scan_at: number | null;
  last_change_at: number | null;
  confirm_mirror: number;
  two_way?: number;
  exclude_remote?: string;
  created_at: number;
  updated_at: number;
}

const toPair = (r: RawPair): SyncPair => ({
  id: r.id,
  account: r.account,
  localPath: r.local_path,
  remoteUri: r.remote_uri,
  mode: r.two_way === 1 ? 'two-way' : r.mode,
  ignore: JSON.parse(r.ignore) as string[],
  excludeRemote: r.exclude_remote ? (JSON.parse(r.exclude_remote) as string[]) : [],
  paused: r.paused === 1,
  watched: r.watched === 1,
  state: r.state,
  stateDetail: r.state_detail === null ? null : (JSON.parse(r.state_detail) as SyncPair['stateDetail']),
  lastScanAt: r.last_scan_at,
  lastScanMs: r.last_scan_ms,
  lastFullScanAt: r.last_full_scan_at,
  lastChangeAt: r.last_change_at,
  confirmMirror: r.confirm_mirror === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const COLUMNS: { [K in keyof Required<PairPatch>]: [column: string, encode: (v: PairPatch[K]) => unknown] } = {
  mode: ['mode', (v) => (v === 'two-way' ? 'mirror' : v)],
  ignore: ['ignore', (v) => JSON.stringify(v)],
  excludeRemote: ['exclude_remote', (v) => JSON.stringify(v)],
  paused: ['paused', (v) => (v ? 1 : 0)],
  watched: ['watched', (v) => (v ? 1 : 0)],
  state: ['state', (v) => v],
  stateDetail: ['state_detail', (v) => (v ? JSON.stringify(v) : null)],
  lastScanAt: ['last_scan_at', (v) => v],
  lastScanMs: ['last_scan_ms', (v) => v],
  lastFullScanAt: ['last_full_scan_at', (v) => v],
  lastChangeAt: ['last_change_at', (v) => v],
  confirmMirror: ['confirm_mirror', (v) => (v ? 1 : 0)],
};

export function createPairsRepo(db: Database.Database, now: () => number): PairsRepo {
  const s = {
    insert: db.prepare(`
      INSERT INTO sync_pairs (id, account, local_path, remote_uri, mode, ignore, paused, watched, state, created_at, updated_at)
      VALUES (@id, @account, @localPath, @remoteUri, @mode, @ignore, @paused, @watched, 'idle', @t, @t)`),
    get: db.prepare<[string], RawPair>('SELECT * FROM sync_pairs WHERE id = ?'),
    find: db.prepare<[string, string, string], RawPair>('SELECT * FROM sync_pairs WHERE account = ? AND local_path = ? AND remote_uri = ?'),
    list: db.prepare<{ account: string | null; watched: number | null }, RawPair>(`
      SELECT * FROM sync_pairs WHERE (@account IS NULL OR account = @account) AND (@watched IS NULL OR watched = @watched)
      ORDER BY created_at ASC, rowid ASC`),
    delete: db.prepare<[string]>('DELETE FROM sync_pairs WHERE id = ?'),
  };
  const updates = new Map<string, Database.Statement<unknown[]>>();
  const repo: PairsRepo = {
    insert(pair) {
      s.insert.run({ ...pair, mode: pair.mode === 'two-way' ? 'mirror' : pair.mode, ignore: JSON.stringify(pair.ignore), paused: pair.paused ? 1 : 0, watched: pair.watched === false ? 0 : 1, t: now() });
      if (pair.mode === 'two-way') db.prepare('UPDATE sync_pairs SET two_way = 1 WHERE id = ?').run(pair.id);
      if (pair.excludeRemote?.length) db.prepare('UPDATE sync_pairs SET exclude_remote = ? WHERE id = ?').run(JSON.stringify(pair.excludeRemote), pair.id);
      return repo.get(pair.id)!;
    },
    get(id) {
      const r = s.get.get(id);
      return r && toPair(r);
    },
    find(account, localPath, remoteUri) {
      const r = s.find.get(account, localPath, remoteUri);
      return r && toPair(r);
    },
    list(filter = {}) {
      const watched = filter.watched === undefined ? null : filter.watched ? 1 : 0;
      return s.list.all({ account: filter.account ?? null, watched }).map(toPair);
    },
    update(id, patch) {
      const keys = (Object.keys(patch) as (keyof PairPatch)[]).filter((k) => patch[k] !== undefined).sort();
      const sql = `UPDATE sync_pairs SET ${[...keys.map((k) => `${COLUMNS[k][0]} = ?`), 'updated_at = ?'].join(', ')} WHERE id = ?`;
      let stmt = updates.get(sql);
      if (!stmt) {
        stmt = db.prepare<unknown[]>(sql);
        updates.set(sql, stmt);
      }
      const values = keys.map((k) => (COLUMNS[k][1] as (v: unknown) => unknown)(patch[k]));
      const changed = stmt.run(...values, now(), id).changes > 0;
      if (patch.mode !== undefined) db.prepare('UPDATE sync_pairs SET two_way = ? WHERE id = ?').run(patch.mode === 'two-way' ? 1 : 0, id);
      return changed;
    },
    delete(id) {
      return s.delete.run(id).changes > 0;
    },
  };
  return repo;
}
