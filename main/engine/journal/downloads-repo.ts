/**
 * Resumable downloads (table `downloads`, migration 0006): what a download needs to continue after a crash, an outage
 * or a restart (the remote file and its entity, the target and its temp file, the bytes there, what the target must
 * still be), and its end. Writes to a row that no longer exists write nothing and return false.
 */
import type Database from 'better-sqlite3';
import type { DownloadOnExists, DownloadState } from '../download-types.js';
import type { Fingerprint } from '../fs/file-source.js';

export interface DownloadRow {
  id: string;
  account: string;
  uri: string;
  /** the primary entity being downloaded (null until known) */
  entity: string | null;
  target: string;
  tempPath: string;
  size: number;
  bytesDone: number;
  /** bytes of the temp file flushed to disk (fdatasync) */
  bytesSynced: number;
  /** when the machine had booted (ms since the epoch) when the bytes were written down */
  bootMs: number | null;
  /** the server's updated_at (ms) */
  serverUpdatedAt: number;
  expectLocal: Fingerprint | null;
  onExists: DownloadOnExists;
  createFolders: boolean;
  state: DownloadState;
  error: { code: string; message: string; serverCode?: number; httpStatus?: number } | null;
  resultPath: string | null;
  attempts: number;
  pairId: string | null;
  /** queue order among the waiting downloads: higher first (migration 0009; default 0) */
  priority: number;
  createdAt: number;
  updatedAt: number;
}

export type DownloadPatch = Partial<Omit<DownloadRow, 'id' | 'createdAt'>>;

export interface DownloadsRepo {
  insert(row: Omit<DownloadRow, 'createdAt' | 'updatedAt' | 'priority'> & { priority?: number }): DownloadRow;
  get(id: string): DownloadRow | undefined;
  /** oldest first */
  list(filter?: { account?: string; states?: DownloadState[]; pairId?: string }): DownloadRow[];
  /** Unfinished downloads to `target` (any account), oldest first. */
  openFor(target: string): DownloadRow[];
  /** Keys whose value is `undefined` are left alone; `updatedAt` defaults to now. False if no such row. */
  update(id: string, patch: DownloadPatch): boolean;
  delete(id: string): boolean;
}

interface RawDownload {
  id: string;
  account: string;
  uri: string;
  entity: string | null;
  target: string;
  temp_path: string;
  size: number;
  bytes_done: number;
  bytes_synced: number;
  boot_ms: number | null;
  server_updated_at: number;
  expect_local: string | null;
  on_exists: DownloadOnExists;
  create_folders: number;
  state: DownloadState;
  error: string | null;
  result_path: string | null;
  attempts: number;
  pair_id: string | null;
  priority: number;
  created_at: number;
  updated_at: number;
}

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
const same = <T>(v: T): T => v;
const flag = (v: unknown): number => (v ? 1 : 0);

const COLUMNS: { [K in keyof Required<DownloadPatch>]: [column: string, encode: (v: DownloadPatch[K]) => unknown] } = {
  account: ['account', same],
  uri: ['uri', same],
  entity: ['entity', same],
  target: ['target', same],
  tempPath: ['temp_path', same],
  size: ['size', same],
  bytesDone: ['bytes_done', same],
  bytesSynced: ['bytes_synced', same],
  bootMs: ['boot_ms', same],
  serverUpdatedAt: ['server_updated_at', same],
  expectLocal: ['expect_local', json],
  onExists: ['on_exists', same],
  createFolders: ['create_folders', flag],
  state: ['state', same],
  error: ['error', json],
  resultPath: ['result_path', same],
  attempts: ['attempts', same],
  pairId: ['pair_id', same],
  priority: ['priority', same],
  updatedAt: ['updated_at', same],
};

/** Patch fields whose null is a value to write (not "leave alone"). */
const NULLABLE = new Set<keyof DownloadPatch>(['entity', 'bootMs', 'expectLocal', 'error', 'resultPath', 'pairId']);

function toRow(r: RawDownload): DownloadRow {
  return {
    id: r.id,
    account: r.account,
    uri: r.uri,
    entity: r.entity,
    target: r.target,
    tempPath: r.temp_path,
    size: r.size,
    bytesDone: r.bytes_done,
    bytesSynced: r.bytes_synced,
    bootMs: r.boot_ms,
    serverUpdatedAt: r.server_updated_at,
    expectLocal: r.expect_local === null ? null : (JSON.parse(r.expect_local) as Fingerprint),
    onExists: r.on_exists,
    createFolders: r.create_folders === 1,
    state: r.state,
    error: r.error === null ? null : (JSON.parse(r.error) as DownloadRow['error']),
    resultPath: r.result_path,
    attempts: r.attempts,
    pairId: r.pair_id,
    priority: r.priority ?? 0,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const OPEN_STATES = JSON.stringify(['queued', 'downloading', 'waiting-retry', 'paused']);

export function createDownloadsRepo(db: Database.Database, now: () => number): DownloadsRepo {
  const s = {
    insert: db.prepare<unknown[]>(`
      INSERT INTO downloads (id, account, uri, entity, target, temp_path, size, bytes_done, bytes_synced, boot_ms,
                             server_updated_at, expect_local, on_exists, create_folders, state, error, result_path, attempts,
                             pair_id, priority, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    get: db.prepare<[string], RawDownload>('SELECT * FROM downloads WHERE id = ?'),
    list: db.prepare<{ states: string | null; account: string | null; pair: string | null }, RawDownload>(`
      SELECT * FROM downloads
      WHERE (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
        AND (@account IS NULL OR account = @account)
        AND (@pair IS NULL OR pair_id = @pair)
      ORDER BY created_at ASC, rowid ASC`),
    openFor: db.prepare<[string, string], RawDownload>(
      'SELECT * FROM downloads WHERE target = ? AND state IN (SELECT value FROM json_each(?)) ORDER BY created_at ASC, rowid ASC',
    ),
    delete: db.prepare<[string]>('DELETE FROM downloads WHERE id = ?'),
  };
  const updates = new Map<string, Database.Statement<unknown[]>>();
  return {
    insert(row) {
      const t = now();
      const full: DownloadRow = { ...row, priority: row.priority ?? 0, createdAt: t, updatedAt: t };
      s.insert.run(
        full.id, full.account, full.uri, full.entity, full.target, full.tempPath, full.size, full.bytesDone, full.bytesSynced, full.bootMs,
        full.serverUpdatedAt, json(full.expectLocal), full.onExists, flag(full.createFolders), full.state, json(full.error), full.resultPath,
        full.attempts, full.pairId, full.priority, t, t,
      );
      return full;
    },
    get(id) {
      const r = s.get.get(id);
      return r && toRow(r);
    },
    list(filter = {}) {
      return s.list
        .all({ states: filter.states ? JSON.stringify(filter.states) : null, account: filter.account ?? null, pair: filter.pairId ?? null })
        .map(toRow);
    },
    openFor(target) {
      return s.openFor.all(target, OPEN_STATES).map(toRow);
    },
    update(id, patch) {
      const cols: string[] = [];
      const values: unknown[] = [];
      const p: DownloadPatch = { ...patch };
      if (p.updatedAt === undefined) p.updatedAt = now();
      for (const key of Object.keys(p).sort() as (keyof DownloadPatch)[]) {
        const value = p[key];
        if (value === undefined || (value === null && !NULLABLE.has(key))) continue;
        if ((key as string) === 'id' || (key as string) === 'createdAt') continue;
        const spec = COLUMNS[key] as [string, (v: unknown) => unknown] | undefined;
        if (!spec) throw new TypeError(`downloads.update: unknown field ${String(key)}`);
        cols.push(spec[0]);
        values.push(spec[1](value));
      }
      const sig = cols.join(',');
      let stmt = updates.get(sig);
      if (!stmt) {
        stmt = db.prepare(`UPDATE downloads SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`);
        updates.set(sig, stmt);
      }
      return stmt.run(...values, id).changes > 0;
    },
    delete(id) {
      return s.delete.run(id).changes > 0;
    },
  };
}
