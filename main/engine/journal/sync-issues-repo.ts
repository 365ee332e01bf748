/**
 * Paths of a pair that are not on the server (table `sync_issues`), with why and when they are tried again: what
 * a pair's state counts ("12 files not backed up: quota full") and what keeps a pass from re-sending a file that
 * failed for a reason of its own on every pass.
 */
import type Database from 'better-sqlite3';
import type { SyncIssue } from '../types.js';

export interface SyncIssuesRepo {
  /** inserts or replaces; `attempts` counts up while the same path keeps failing */
  put(issue: Omit<SyncIssue, 'attempts' | 'since'>): SyncIssue;
  get(pairId: string, relPath: string): SyncIssue | undefined;
  list(pairId?: string): SyncIssue[];
  map(pairId: string): Map<string, SyncIssue>;
  delete(pairId: string, relPath: string): boolean;
  clear(pairId: string): number;
}

interface RawIssue {
  pair_id: string;
  rel_path: string;
  code: SyncIssue['code'];
  message: string;
  size: number | null;
  mtime_ms: number | null;
  retry_at: number | null;
  free_at_failure: number | null;
  attempts: number;
  since: number;
}

const toIssue = (r: RawIssue): SyncIssue => ({
  pairId: r.pair_id,
  relPath: r.rel_path,
  code: r.code,
  message: r.message,
  size: r.size,
  mtimeMs: r.mtime_ms,
  retryAt: r.retry_at,
  freeAtFailure: r.free_at_failure,
  attempts: r.attempts,
  since: r.since,
});

export function createSyncIssuesRepo(db: Database.Database, now: () => number): SyncIssuesRepo {
  const s = {
    put: db.prepare(`
      INSERT INTO sync_issues (pair_id, rel_path, code, message, size, mtime_ms, retry_at, free_at_failure, attempts, since)
      VALUES (@pairId, @relPath, @code, @message, @size, @mtimeMs, @retryAt, @freeAtFailure, 1, @t)
      ON CONFLICT (pair_id, rel_path) DO UPDATE SET code = excluded.code, message = excluded.message, size = excluded.size,
        mtime_ms = excluded.mtime_ms, retry_at = excluded.retry_at, free_at_failure = excluded.free_at_failure,
        attempts = CASE WHEN sync_issues.code = excluded.code THEN sync_issues.attempts + 1 ELSE 1 END,
        since = CASE WHEN sync_issues.code = excluded.code THEN sync_issues.since ELSE excluded.since END`),
    get: db.prepare<[string, string], RawIssue>('SELECT * FROM sync_issues WHERE pair_id = ? AND rel_path = ?'),
    list: db.prepare<{ pair: string | null }, RawIssue>('SELECT * FROM sync_issues WHERE @pair IS NULL OR pair_id = @pair ORDER BY pair_id, rel_path'),
    delete: db.prepare<[string, string]>('DELETE FROM sync_issues WHERE pair_id = ? AND rel_path = ?'),
    clear: db.prepare<[string]>('DELETE FROM sync_issues WHERE pair_id = ?'),
  };
  const repo: SyncIssuesRepo = {
    put(issue) {
      s.put.run({ ...issue, t: now() });
      return repo.get(issue.pairId, issue.relPath)!;
    },
    get(pairId, relPath) {
      const r = s.get.get(pairId, relPath);
      return r && toIssue(r);
    },
    list(pairId) {
      return s.list.all({ pair: pairId ?? null }).map(toIssue);
    },
    map(pairId) {
      const out = new Map<string, SyncIssue>();
      for (const r of s.list.iterate({ pair: pairId })) out.set(r.rel_path, toIssue(r));
      return out;
    },
    delete(pairId, relPath) {
      return s.delete.run(pairId, relPath).changes > 0;
    },
    clear(pairId) {
      return s.clear.run(pairId).changes;
    },
  };
  return repo;
}
