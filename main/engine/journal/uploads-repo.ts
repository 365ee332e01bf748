/**
 * Resumable uploads and their acknowledged parts (tables `uploads`, `upload_parts`).
 *
 * A row holds exactly what resume needs: who (account), what (local path + size/mtime/inode fingerprint),
 * where (target URI, and the URI the session was created for), the server's session response verbatim
 * (expiry, URLs, credential, encrypt_metadata) and the parts the server acknowledged, with ETags.
 *
 * Writes that touch a row that no longer exists (e.g. removed by a cancel racing with a job) write nothing
 * and return false, instead of throwing.
 */
import type Database from 'better-sqlite3';
import type { UploadSession } from '../api/types.js';
import type { IfExists } from '../types.js';

export interface UploadRow {
  /** transfer id (uuid) */
  id: string;
  /** e.g. `${server}|${userId}` */
  account: string;
  /** absolute */
  localPath: string;
  /** cloudreve://my/... */
  targetUri: string;
  size: number;
  mtimeMs: number;
  /** decimal string: may exceed 2^53 */
  inode: string;
  ifExists: IfExists;
  /** higher first */
  priority: number;
  /** a TransferState (main/engine/types.ts) */
  state: string;
  /** the whole server response, incl. encrypt_metadata, credential, urls */
  session: UploadSession | null;
  /** the URI the session was created for (may differ from targetUri after a rename) */
  sessionUri: string | null;
  bytesDone: number;
  error: { code: string; message: string; serverCode?: number; httpStatus?: number } | null;
  attempts: number;
  /** an overwrite's guard: the primary entity the server must still hold (40076 otherwise); sync sets it */
  previous?: string | null;
  /** the sync pair that queued the upload (copied into its history entries); null for a manual upload */
  pairId?: string | null;
  /** ms */
  createdAt: number;
  /** ms */
  updatedAt: number;
}

export interface PartRow {
  index: number;
  etag: string | null;
  size: number;
}

export type UploadPatch = Partial<Omit<UploadRow, 'id' | 'createdAt'>>;

export interface UploadsRepo {
  /** `createdAt`/`updatedAt` default to now (a row staged earlier keeps its own: Journal.uploads.insertLater) */
  insert(row: Omit<UploadRow, 'createdAt' | 'updatedAt'> & { createdAt?: number; updatedAt?: number }): UploadRow;
  /**
   * A queued row, written with the turn's later() writes (Journal.later) rather than at once: an update of it before
   * then (its end, when a one-request upload finishes that soon) changes what will be inserted, so the row is written
   * once, in its final state. Any read, any other write of the uploads and transaction() write it first. Only the
   * journal's own repo implements it (without group commit: at once, in one transaction); the bare repo inserts at once.
   */
  insertLater(rows: Array<Omit<UploadRow, 'createdAt' | 'updatedAt'>>): UploadRow[];
  get(id: string): UploadRow | undefined;
  /** ordered by priority desc, createdAt asc (then insertion order) */
  list(filter?: { states?: string[]; account?: string }): UploadRow[];
  /** Keys whose value is `undefined` are left alone; `updatedAt` defaults to now. False if no such row. */
  update(id: string, patch: UploadPatch): boolean;
  /** Replaces the session, deletes every part of the old one and resets bytesDone to 0, atomically. False if no such row. */
  setSession(id: string, session: UploadSession | null, sessionUri: string | null): boolean;
  /** One transaction: insert-or-replace the part, set bytesDone and updatedAt. False if no such row. */
  ackPart(id: string, part: PartRow, bytesDone: number): boolean;
  /** ascending index */
  parts(id: string): PartRow[];
  /** cascades to the parts; false if no such row */
  delete(id: string): boolean;
}

interface RawUpload {
  id: string;
  account: string;
  local_path: string;
  target_uri: string;
  size: number;
  mtime_ms: number;
  inode: string;
  if_exists: IfExists;
  priority: number;
  state: string;
  session: string | null;
  session_uri: string | null;
  bytes_done: number;
  error: string | null;
  attempts: number;
  previous: string | null;
  pair_id: string | null;
  created_at: number;
  updated_at: number;
}

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
const same = <T>(v: T): T => v;

/** Patchable fields → column and encoder. */
const COLUMNS: { [K in keyof Required<UploadPatch>]: [column: string, encode: (v: UploadPatch[K]) => unknown] } = {
  account: ['account', same],
  localPath: ['local_path', same],
  targetUri: ['target_uri', same],
  size: ['size', same],
  mtimeMs: ['mtime_ms', same],
  inode: ['inode', same],
  ifExists: ['if_exists', same],
  priority: ['priority', same],
  state: ['state', same],
  session: ['session', json],
  sessionUri: ['session_uri', same],
  bytesDone: ['bytes_done', same],
  error: ['error', json],
  attempts: ['attempts', same],
  previous: ['previous', same],
  pairId: ['pair_id', same],
  updatedAt: ['updated_at', same],
};

function toRow(r: RawUpload): UploadRow {
  return {
    id: r.id,
    account: r.account,
    localPath: r.local_path,
    targetUri: r.target_uri,
    size: r.size,
    mtimeMs: r.mtime_ms,
    inode: r.inode,
    ifExists: r.if_exists,
    priority: r.priority,
    state: r.state,
    session: r.session === null ? null : (JSON.parse(r.session) as UploadSession),
    sessionUri: r.session_uri,
    bytesDone: r.bytes_done,
    error: r.error === null ? null : (JSON.parse(r.error) as UploadRow['error']),
    attempts: r.attempts,
    previous: r.previous,
    pairId: r.pair_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function createUploadsRepo(db: Database.Database, now: () => number): UploadsRepo {
  const s = {
    // positional parameters: binding them costs about half of binding named ones (measured), at every queued file
    insert: db.prepare<unknown[]>(`
      INSERT INTO uploads (id, account, local_path, target_uri, size, mtime_ms, inode, if_exists, priority, state,
                           session, session_uri, bytes_done, error, attempts, previous, pair_id, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    get: db.prepare<[string], RawUpload>('SELECT * FROM uploads WHERE id = ?'),
    list: db.prepare<{ states: string | null; account: string | null }, RawUpload>(`
      SELECT * FROM uploads
      WHERE (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
        AND (@account IS NULL OR account = @account)
      ORDER BY priority DESC, created_at ASC, rowid ASC`),
    setSession: db.prepare<[string | null, string | null, number, string]>(
      'UPDATE uploads SET session = ?, session_uri = ?, bytes_done = 0, updated_at = ? WHERE id = ?',
    ),
    deleteParts: db.prepare<[string]>('DELETE FROM upload_parts WHERE upload_id = ?'),
    setBytesDone: db.prepare<[number, number, string]>('UPDATE uploads SET bytes_done = ?, updated_at = ? WHERE id = ?'),
    upsertPart: db.prepare<[string, number, string | null, number]>(
      'INSERT OR REPLACE INTO upload_parts (upload_id, idx, etag, size) VALUES (?, ?, ?, ?)',
    ),
    parts: db.prepare<[string], PartRow>('SELECT idx AS "index", etag, size FROM upload_parts WHERE upload_id = ? ORDER BY idx ASC'),
    delete: db.prepare<[string]>('DELETE FROM uploads WHERE id = ?'),
  };
  /** UPDATE statements for `update()`, one per distinct set of patched columns. */
  const updates = new Map<string, Database.Statement<unknown[]>>();

  const setSessionTx = db.transaction((id: string, session: UploadSession | null, sessionUri: string | null): boolean => {
    if (s.setSession.run(json(session), sessionUri, now(), id).changes === 0) return false;
    s.deleteParts.run(id);
    return true;
  });
  const ackPartTx = db.transaction((id: string, part: PartRow, bytesDone: number): boolean => {
    if (s.setBytesDone.run(bytesDone, now(), id).changes === 0) return false;
    s.upsertPart.run(id, part.index, part.etag, part.size);
    return true;
  });

  const insert: UploadsRepo['insert'] = (row) => {
    const t = now();
    const createdAt = row.createdAt ?? t;
    const updatedAt = row.updatedAt ?? createdAt;
    const full: UploadRow = { ...row, previous: row.previous ?? null, pairId: row.pairId ?? null, createdAt, updatedAt };
    s.insert.run(
      full.id, full.account, full.localPath, full.targetUri, full.size, full.mtimeMs, full.inode, full.ifExists, full.priority, full.state,
      json(full.session), full.sessionUri, full.bytesDone, json(full.error), full.attempts, full.previous, full.pairId, createdAt, updatedAt,
    );
    return full;
  };

  return {
    insert,

    insertLater: (rows) => rows.map(insert),

    get(id) {
      const r = s.get.get(id);
      return r && toRow(r);
    },

    list(filter = {}) {
      return s.list
        .all({ states: filter.states ? JSON.stringify(filter.states) : null, account: filter.account ?? null })
        .map(toRow);
    },

    update(id, patch) {
      const cols: string[] = [];
      const values: unknown[] = [];
      const p: UploadPatch = { ...patch };
      if (p.updatedAt === undefined) p.updatedAt = now();
      for (const key of Object.keys(p).sort() as (keyof UploadPatch)[]) {
        const value = p[key];
        if (value === undefined) continue;
        if ((key as string) === 'id' || (key as string) === 'createdAt') continue; // immutable; callers may pass whole rows
        const spec = COLUMNS[key] as [string, (v: unknown) => unknown] | undefined;
        if (!spec) throw new TypeError(`uploads.update: unknown field ${String(key)}`);
        cols.push(spec[0]);
        values.push(spec[1](value));
      }
      const sig = cols.join(',');
      let stmt = updates.get(sig);
      if (!stmt) {
        stmt = db.prepare(`UPDATE uploads SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`);
        updates.set(sig, stmt);
      }
      return stmt.run(...values, id).changes > 0;
    },

    setSession(id, session, sessionUri) {
      return setSessionTx(id, session, sessionUri);
    },

    ackPart(id, part, bytesDone) {
      return ackPartTx(id, part, bytesDone);
    },

    parts(id) {
      return s.parts.all(id);
    },

    delete(id) {
      return s.delete.run(id).changes > 0;
    },
  };
}
