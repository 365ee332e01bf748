/**
 * A journal SQLite cannot read: how it is recognised, named to the user, and moved aside (never deleted).
 *
 * - Recognised by SQLite's own verdict: SQLITE_CORRUPT (and its extended codes) or SQLITE_NOTADB from any statement,
 *   or a `PRAGMA quick_check` that does not answer "ok". The check reads every page (about 10 ms for 50,000 sync
 *   records), so it runs at open only when there is reason to doubt the file: the previous process did not close it
 *   (its -wal file is still there: a crash, a kill -9, a power loss) or a process met a damaged page while running and
 *   left the marker `<journal>.check` behind. A file cut short or overwritten at its start fails at open anyway.
 * - Moved aside with its -wal and -shm as `journal.damaged-<UTC time>.db` (+ `-wal`, `-shm`), so it still opens, with
 *   what the WAL held, in any SQLite tool (`sqlite3 FILE .recover` reads what it can).
 * - Met while running (a page damaged after the open): the statement's error becomes an EngineError naming the file
 *   and what to do, and the marker makes the next open check it.
 */
import { closeSync, existsSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { EngineError } from '../errors.js';
import { asideName } from '../set-aside.js';

const COMPANIONS = ['-wal', '-shm'] as const;

/** The SQLite error (or one it caused) says the database file is damaged or not a database. */
export function isDamage(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof EngineError && (e.data as { journalDamaged?: boolean } | undefined)?.journalDamaged) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')) return true;
  }
  return false;
}

/** What SQLite said, without the wrappers. */
export function damageReason(err: unknown): string {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) return (e as Error).message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The marker that makes the next open check the journal. */
export function checkMarker(file: string): string {
  return `${file}.check`;
}

/** Leaves the marker (best effort: a home that cannot be written to will fail louder elsewhere). */
export function markForCheck(file: string): void {
  try {
    closeSync(openSync(checkMarker(file), 'a', 0o600));
  } catch {
    // nothing better to do
  }
}

export function clearCheckMark(file: string): void {
  try {
    unlinkSync(checkMarker(file));
  } catch {
    // absent
  }
}

/** The open should run quick_check: the previous process left the WAL behind, or a running one met damage. */
export function needsCheck(file: string): boolean {
  return existsSync(`${file}-wal`) || existsSync(checkMarker(file));
}

/**
 * Moves `file` and its -wal/-shm aside under one timestamped name; returns the new name of `file`. Throws what rename
 * throws (the caller then refuses to open, naming the file).
 */
export function moveAside(file: string, at: Date = new Date()): string {
  const target = asideName(file, 'damaged', at, COMPANIONS);
  renameSync(file, target);
  for (const s of COMPANIONS) {
    if (existsSync(file + s)) renameSync(file + s, target + s);
  }
  return target;
}

/** What to do about a damaged journal that stays where it is, for the error below. */
export function damageAdvice(file: string, how: 'at-open' | 'running' | { moveError: string }, backup: string | null): string {
  const fresh = `a new journal ${backup ? `re-creates the pairs from ${backup}` : 'starts without pairs'}`;
  if (how === 'running') {
    return `stop every cloudreve-sync process and the app using this home, then start again: the journal is checked first and, if damaged, moved aside (kept, not deleted), and ${fresh}`;
  }
  if (how === 'at-open') {
    return `run \`cloudreve-sync pairs list\` (or start the app) while nothing else uses this home: the damaged file is moved aside (kept, not deleted), and ${fresh}`;
  }
  return `it could not be moved aside (${how.moveError}): move ${basename(file)} and its -wal and -shm files elsewhere yourself (do not delete them), then start again: ${fresh}`;
}

/** The error for a damaged journal: names the file, what SQLite said, and what to do. */
export function damagedJournalError(file: string, err: unknown, advice: string): EngineError {
  return new EngineError('local-io', `the journal ${file} is damaged (${damageReason(err)}): ${advice}`, { cause: err, data: { journalDamaged: true, file } });
}

/**
 * `err` as the user should read it when it is damage met while running: the marker is left for the next open and the
 * error names the file and what to do. Anything else is returned as it is.
 */
export function asRunningDamage(file: string, err: unknown, backup: string | null): unknown {
  if (!isDamage(err) || (err instanceof EngineError && (err.data as { journalDamaged?: boolean } | undefined)?.journalDamaged)) return err;
  markForCheck(file);
  return damagedJournalError(file, err, damageAdvice(file, 'running', backup));
}

/**
 * `journal` with every function of it and of its repositories turning damage met while running into the error above
 * (the others pass through untouched).
 */
export function guardAgainstDamage<J extends object>(journal: J, file: string, backup: string | null): J {
  const wrap = (fn: (...args: unknown[]) => unknown) => (...args: unknown[]) => {
    try {
      return fn(...args);
    } catch (err) {
      throw asRunningDamage(file, err, backup);
    }
  };
  const out: Record<string, unknown> = { ...(journal as Record<string, unknown>) };
  for (const [key, value] of Object.entries(journal)) {
    if (typeof value === 'function') out[key] = wrap(value as (...args: unknown[]) => unknown);
    else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const repo: Record<string, unknown> = { ...value };
      for (const [name, member] of Object.entries(value)) {
        if (typeof member === 'function') repo[name] = wrap(member as (...args: unknown[]) => unknown);
      }
      out[key] = repo;
    }
  }
  return out as J;
}
