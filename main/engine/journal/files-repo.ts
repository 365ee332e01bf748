/**
 * Synced file records (table `files`): what we last uploaded for a local path, so discovery can tell an
 * unchanged file (same size, mtime, inode) from one that needs work, and reconcile can compare the remote
 * file's primary entity with the one we produced.
 */
import type Database from 'better-sqlite3';

export interface FileRow {
  /** absolute local path */
  path: string;
  size: number;
  mtimeMs: number;
  /** decimal string: may exceed 2^53 */
  inode: string;
  /** the remote file's id, when known */
  remoteId: string | null;
  /** the remote file's primary_entity after our upload, when known */
  primaryEntity: string | null;
  /** ms, when this record was last written */
  updatedAt: number;
}

export interface FilesRepo {
  /** Inserts or replaces the record for `row.path`; `updatedAt` defaults to now. */
  upsert(row: Omit<FileRow, 'updatedAt'> & { updatedAt?: number }): FileRow;
  get(path: string): FileRow | undefined;
  /** false if there was no record */
  delete(path: string): boolean;
  /** All records ordered by path; with `under`, only paths strictly inside that directory (either separator). */
  list(filter?: { under?: string }): FileRow[];
}

interface RawFile {
  path: string;
  size: number;
  mtime_ms: number;
  inode: string;
  remote_id: string | null;
  primary_entity: string | null;
  updated_at: number;
}

const toRow = (r: RawFile): FileRow => ({
  path: r.path,
  size: r.size,
  mtimeMs: r.mtime_ms,
  inode: r.inode,
  remoteId: r.remote_id,
  primaryEntity: r.primary_entity,
  updatedAt: r.updated_at,
});

export function createFilesRepo(db: Database.Database, now: () => number): FilesRepo {
  const s = {
    upsert: db.prepare<[string, number, number, string, string | null, string | null, number]>(`
      INSERT INTO files (path, size, mtime_ms, inode, remote_id, primary_entity, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, inode = excluded.inode,
        remote_id = excluded.remote_id, primary_entity = excluded.primary_entity, updated_at = excluded.updated_at`),
    get: db.prepare<[string], RawFile>('SELECT * FROM files WHERE path = ?'),
    delete: db.prepare<[string]>('DELETE FROM files WHERE path = ?'),
    all: db.prepare<[], RawFile>('SELECT * FROM files ORDER BY path'),
    // Prefix match as a BINARY range ("dir/" <= path < "dir0", likewise for "\\" and "]"), which uses the
    // primary key; LIKE would trip over % and _ and fold ASCII case.
    under: db.prepare<{ a: string; a2: string; b: string; b2: string }, RawFile>(
      'SELECT * FROM files WHERE (path >= @a AND path < @a2) OR (path >= @b AND path < @b2) ORDER BY path',
    ),
  };
  return {
    upsert(row) {
      const full: FileRow = { ...row, updatedAt: row.updatedAt ?? now() };
      s.upsert.run(full.path, full.size, full.mtimeMs, full.inode, full.remoteId, full.primaryEntity, full.updatedAt);
      return full;
    },
    get(path) {
      const r = s.get.get(path);
      return r && toRow(r);
    },
    delete(path) {
      return s.delete.run(path).changes > 0;
    },
    list(filter = {}) {
      if (filter.under === undefined) return s.all.all().map(toRow);
      const dir = filter.under.replace(/[\\/]+$/, '');
      return s.under.all({ a: `${dir}/`, a2: `${dir}0`, b: `${dir}\\`, b2: `${dir}]` }).map(toRow);
    },
  };
}
