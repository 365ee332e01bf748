/**
 * The transfer history (table `transfer_history`, migration 0003): finished transfers, newest first, searchable,
 * capped to the newest `cap` rows so it cannot grow forever. Rows are only ever added at the top and removed from
 * the bottom (or all at once), so the rows kept are exactly those with seq > newest − cap: trimming is one indexed
 * DELETE per insert once there are that many, whatever the table's size.
 */
import type Database from 'better-sqlite3';
import type { HistoryEntry, HistoryQuery } from '../types.js';

export const HISTORY_CAP = 10_000;
export const HISTORY_DEFAULT_LIMIT = 200;
export const HISTORY_MAX_LIMIT = 1000;

export interface HistoryRepo {
  /** Adds an entry (finishedAt = now) and drops what falls beyond the cap. */
  insert(e: Omit<HistoryEntry, 'seq' | 'finishedAt'> & { account: string }): HistoryEntry;
  /** One account's entries, newest first. */
  list(account: string, q?: HistoryQuery): HistoryEntry[];
  /** Forgets one account's entries; returns how many. */
  clear(account: string): number;
  count(): number;
}

interface RawHistory {
  seq: number;
  transfer_id: string;
  name: string;
  local_path: string;
  target_uri: string;
  size: number;
  state: HistoryEntry['state'];
  error: string | null;
  pair_id: string | null;
  finished_at: number;
}

const toEntry = (r: RawHistory): HistoryEntry => ({
  seq: r.seq,
  transferId: r.transfer_id,
  name: r.name,
  localPath: r.local_path,
  targetUri: r.target_uri,
  size: r.size,
  state: r.state,
  error: r.error === null ? null : (JSON.parse(r.error) as HistoryEntry['error']),
  pairId: r.pair_id,
  finishedAt: r.finished_at,
});

/** `text` as a LIKE pattern matching it anywhere, with %, _ and the escape character taken literally. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function createHistoryRepo(db: Database.Database, now: () => number, cap = HISTORY_CAP): HistoryRepo {
  const s = {
    // positional parameters (cheaper to bind than named ones: one entry per finished transfer)
    insert: db.prepare<unknown[]>(`
      INSERT INTO transfer_history (transfer_id, account, name, local_path, target_uri, size, state, error, pair_id, finished_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    trim: db.prepare<[number]>('DELETE FROM transfer_history WHERE seq <= ?'),
    list: db.prepare<{ account: string; text: string | null; state: string | null; before: number | null; limit: number }, RawHistory>(`
      SELECT * FROM transfer_history
      WHERE account = @account
        AND (@state IS NULL OR state = @state)
        AND (@before IS NULL OR finished_at < @before)
        AND (@text IS NULL OR name LIKE @text ESCAPE '\\' OR local_path LIKE @text ESCAPE '\\' OR target_uri LIKE @text ESCAPE '\\')
      ORDER BY finished_at DESC, seq DESC
      LIMIT @limit`),
    clear: db.prepare<[string]>('DELETE FROM transfer_history WHERE account = ?'),
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM transfer_history'),
  };
  // Two statements, no transaction of their own (a savepoint per finished file was a measurable share of its cost):
  // should the trim fail after the insert, the next insert's trim removes what this one left.
  const insertRow = (row: unknown[]): number => {
    const seq = Number(s.insert.run(...row).lastInsertRowid);
    if (seq > cap) s.trim.run(seq - cap);
    return seq;
  };
  return {
    insert(e) {
      const finishedAt = now();
      const { account, ...entry } = e;
      const error = e.error ? { code: e.error.code, message: e.error.message } : null;
      const seq = insertRow([e.transferId, account, e.name, e.localPath, e.targetUri, e.size, e.state, error && JSON.stringify(error), e.pairId ?? null, finishedAt]);
      return { ...entry, error, seq, finishedAt };
    },
    list(account, q = {}) {
      const limit = Math.min(HISTORY_MAX_LIMIT, Math.max(1, Math.floor(q.limit ?? HISTORY_DEFAULT_LIMIT)));
      return s.list
        .all({ account, text: q.text ? likePattern(q.text) : null, state: q.state ?? null, before: q.before ?? null, limit })
        .map(toEntry);
    },
    clear(account) {
      return s.clear.run(account).changes;
    },
    count() {
      return s.count.get()!.n;
    },
  };
}
