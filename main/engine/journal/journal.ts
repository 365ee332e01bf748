/**
 * The journal: one SQLite database (better-sqlite3) holding what must survive a restart, behind one
 * repository per table and `transaction(fn)`.
 *
 * Settings, and why:
 * - journal_mode = WAL: readers never block the writer, and a commit is one append to the -wal file.
 * - synchronous = NORMAL: in WAL mode a commit is complete once its frames are written to the -wal file;
 *   only checkpoints fsync. A process crash (including kill -9) therefore loses nothing that was committed:
 *   the bytes are in the OS page cache and the next open replays the WAL. Only an OS crash or power loss can
 *   lose the last few commits, and even then the database stays consistent (it rolls back to an earlier
 *   commit, never to a torn state). What such a loss costs us is re-sending a few acknowledged parts, which
 *   the protocol allows (a chunk may be re-sent; spec §5.3). FULL would fsync on every acknowledged part, a
 *   real cost with many small parts in flight, for a guarantee that buys only that.
 * - foreign_keys = ON: parts cascade with their upload.
 * - busy_timeout: a second process (the CLI beside the app) waits for the write lock instead of failing.
 *
 * Group commit: the engine's frequent writes (a transfer's session, its acknowledged parts, its end, its history
 * entry, sync records) join one transaction per turn of the event loop, committed by a setImmediate before the
 * next turn's I/O callbacks run. With files in flight, several of them finish in the same turn, and their
 * writes share one commit (and the pages they touch are written once). Each write keeps its own atomicity (a
 * savepoint inside the batch). What this trades: a process killed (kill -9) in the middle of a turn loses that
 * turn's writes, as an OS crash loses the last commits anyway, and the engine already recovers from it: a
 * session it opened but had not recorded is found by its placeholder and cancelled (upload-job.ts), a part
 * acknowledged but not recorded is re-sent (the protocol allows it), and an end not recorded is found again
 * from the server. `close()` and process exit commit what is pending. User actions (pairs, conflicts) do not
 * open a batch: they commit at once, or with the batch of their turn if one is open. A failed batch commit (a
 * full disk) is rolled back, reported through `onCommitError`, and batching stops: from then on every write
 * commits (and fails) at once. Writes nobody waits for (a transfer's end and its history entry) go through
 * `later()`: held until just before the commit and run there together, which costs a fraction of the same
 * statements spread over the turn; every read first runs what is held, so nothing reads around them. A batch of
 * only such writes stays open up to LATER_COMMIT_MS (25 ms), so the ends of many small files share one commit; a
 * kill -9 in that window loses them like a turn's writes (resumed, such a file is found already on the server).
 *
 * The database and its -wal/-shm are created mode 0600 (SQLite gives -wal/-shm the main file's mode) in a
 * directory created 0700: the journal holds session credentials and encryption keys.
 *
 * Damage (damage.ts): a journal SQLite cannot read (cut short by a crash, overwritten) is named with its path and what
 * to do, never left as a bare SQLITE_CORRUPT. With `recoverDamaged` (the engine, holding the home's lock) it is moved
 * aside, never deleted, a new journal is opened in its place and the pairs are re-created from `pairsBackup`
 * (pairs-backup.ts: the pair definitions mirrored to a small JSON file whenever they change); `recovery` says what
 * happened, for the user. The same re-creation runs when the journal was missing or empty. What a new journal does
 * not have, each pair's records of what it synced, the pair's next pass rebuilds without uploading what the server
 * already has.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EngineError } from '../errors.js';
import { asRunningDamage, clearCheckMark, damageAdvice, damagedJournalError, damageReason, guardAgainstDamage, isDamage, moveAside, needsCheck } from './damage.js';
import { PairsBackup, readPairsBackup, restorePairs, withPairsBackup } from './pairs-backup.js';
import { createFilesRepo, type FilesRepo } from './files-repo.js';
import { createHistoryRepo, type HistoryRepo } from './history-repo.js';
import { migrate } from './migrate.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { createPairsRepo, type PairsRepo } from './pairs-repo.js';
import { createSyncConflictsRepo, type SyncConflictsRepo } from './sync-conflicts-repo.js';
import { createSyncEntriesRepo, type SyncEntriesRepo } from './sync-entries-repo.js';
import { createSyncIssuesRepo, type SyncIssuesRepo } from './sync-issues-repo.js';
import { createUploadsRepo, type UploadPatch, type UploadRow, type UploadsRepo } from './uploads-repo.js';
import { createDownloadsRepo, type DownloadsRepo } from './downloads-repo.js';

export type { FileRow, FilesRepo } from './files-repo.js';
export type { PartRow, UploadPatch, UploadRow, UploadsRepo } from './uploads-repo.js';
export type { NewPair, PairPatch, PairsRepo } from './pairs-repo.js';
export type { SyncEntryRow, SyncEntriesRepo } from './sync-entries-repo.js';
export type { SyncConflictsRepo } from './sync-conflicts-repo.js';
export type { SyncIssuesRepo } from './sync-issues-repo.js';
export type { HistoryRepo } from './history-repo.js';
export type { DownloadPatch, DownloadRow, DownloadsRepo } from './downloads-repo.js';

export interface Journal {
  readonly uploads: UploadsRepo;
  readonly files: FilesRepo;
  readonly pairs: PairsRepo;
  readonly syncEntries: SyncEntriesRepo;
  readonly conflicts: SyncConflictsRepo;
  /** paths of a pair not on the server, and why (sync-issues-repo.ts) */
  readonly syncIssues: SyncIssuesRepo;
  /** finished transfers, newest first, capped (history-repo.ts) */
  readonly history: HistoryRepo;
  /** resumable downloads (downloads-repo.ts) */
  readonly downloads: DownloadsRepo;
  /**
   * Runs `fn` (synchronous) atomically: in this turn's group commit (see above), or its own transaction when group
   * commit is off; nested calls become savepoints.
   */
  transaction<T>(fn: () => T): T;
  /**
   * Runs `fn` (synchronous writes whose results nobody waits for: a transfer's end) just before this turn's batch
   * commits, with the other such writes of the turn, or at once when group commit is off. Any read or write of the
   * repos it may touch (uploads, history), and transaction(), runs what is pending first, so reads always see it.
   * Should it throw, the batch is lost as in a failed commit (rolled back, reported, batching off).
   */
  later(fn: () => void): void;
  /** Commits this turn's pending writes now. */
  flush(): void;
  /**
   * Resolves once everything written so far is committed (at the end of this turn; at once when nothing is
   * pending). What must be durable before the engine acts on it waits for this: a new session before its first
   * part is sent, an acknowledged part before its slot takes the next one.
   */
  committed(): Promise<void>;
  close(): void;
  /** the database file, or ':memory:' */
  readonly path: string;
  /** what the open repaired (a damaged journal moved aside, pairs re-created from their backup); null: nothing */
  readonly recovery: JournalRecovery | null;
}

export interface JournalRecovery {
  /** where the damaged journal now is (kept), or null when the journal was only missing or empty */
  movedTo: string | null;
  /** what SQLite said about the damaged one */
  reason: string | null;
  /** pairs re-created from the backup */
  restoredPairs: number;
  /** what to tell the user */
  message: string;
}

export interface OpenJournalOptions {
  /** @internal tests: replaces the schema history (e.g. to inject a failing step) */
  migrations?: readonly Migration[];
  /** @internal tests: clock for createdAt/updatedAt (ms) */
  now?: () => number;
  /** ms to wait for another connection's write lock (default 5000) */
  busyTimeoutMs?: number;
  /** @internal tests: how many history entries are kept (default 10,000) */
  historyCap?: number;
  /** Group commit (see above); default true for a file, never for ':memory:'. */
  groupCommit?: boolean;
  /** A batch could not be committed: its writes are lost (rolled back) and batching is off from now on. */
  onCommitError?: (err: Error) => void;
  /**
   * The pair definitions are mirrored to this file (`<home>/pairs-backup.json`, pairs-backup.ts) and re-created from
   * it when the journal starts empty (missing, or new after a damaged one was moved aside). Default: none.
   */
  pairsBackup?: string;
  /**
   * A damaged journal is moved aside (never deleted) and a new one opened in its place; `recovery` says so. Only for
   * the one process that holds the home (the engine's lock): another may have the file open. Default false: a damaged
   * journal throws an EngineError naming the file and what to do.
   */
  recoverDamaged?: boolean;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Creates the directory (0700) and an empty database file (0600) if absent; tightens the file's mode. */
function prepareFiles(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    chmodSync(dir, DIR_MODE); // in case the umask took bits away (it cannot add any)
  }
  try {
    closeSync(openSync(path, 'wx', FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(p)) chmodSync(p, FILE_MODE);
  }
}

function isMemory(path: string): boolean {
  return path === ':memory:' || path === '';
}

/** Opens, checks when there is reason to doubt the file (damage.ts), sets up and migrates; the schema version before. */
function openDatabase(file: string, opts: OpenJournalOptions): { db: Database.Database; before: number } {
  const memory = file === ':memory:';
  if (!memory) prepareFiles(file);
  const check = !memory && needsCheck(file);
  const db = new Database(file);
  try {
    if (!memory) {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new EngineError('local-io', `journal: could not switch ${file} to WAL (got ${String(mode)})`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    if (check) {
      const verdict = db.pragma('quick_check', { simple: true });
      if (verdict !== 'ok') throw Object.assign(new Error(`integrity check failed: ${String(verdict)}`), { code: 'SQLITE_CORRUPT' });
    }
    const before = migrate(db, opts.migrations ?? MIGRATIONS);
    if (check) clearCheckMark(file);
    return { db, before };
  } catch (err) {
    db.close();
    throw err;
  }
}

export function openJournal(path: string, opts: OpenJournalOptions = {}): Journal {
  const file = isMemory(path) ? ':memory:' : resolve(path);
  const backupPath = file === ':memory:' ? null : (opts.pairsBackup ?? null);
  let opened: { db: Database.Database; before: number };
  let damaged: { movedTo: string; reason: string } | null = null;
  try {
    opened = openDatabase(file, opts);
  } catch (err) {
    if (file === ':memory:' || !isDamage(err)) throw err;
    if (!opts.recoverDamaged) throw damagedJournalError(file, err, damageAdvice(file, 'at-open', backupPath));
    let movedTo: string;
    try {
      movedTo = moveAside(file);
    } catch (moveErr) {
      throw damagedJournalError(file, err, damageAdvice(file, { moveError: (moveErr as NodeJS.ErrnoException).code ?? (moveErr as Error).message }, backupPath));
    }
    clearCheckMark(file);
    damaged = { movedTo, reason: damageReason(err) };
    opened = openDatabase(file, opts);
  }
  const { db, before } = opened;
  const now = opts.now ?? Date.now;
  const onCommitError = file === ':memory:' ? opts.onCommitError : (err: Error) => opts.onCommitError?.(asRunningDamage(file, err, backupPath) as Error);
  const batch = createBatcher(db, opts.groupCommit !== false && file !== ':memory:', onCommitError);
  const journal: Omit<Journal, 'recovery'> = {
    uploads: withStagedInserts(createUploadsRepo(db, now), batch, now),
    files: createFilesRepo(db, now),
    pairs: createPairsRepo(db, now),
    syncEntries: batched(createSyncEntriesRepo(db, now), batch, ['upsert', 'delete'], ['get', 'map', 'count']),
    conflicts: createSyncConflictsRepo(db, now),
    syncIssues: batched(createSyncIssuesRepo(db, now), batch, ['put', 'delete', 'clear'], ['get', 'list', 'map']),
    history: batched(createHistoryRepo(db, now, opts.historyCap), batch, ['insert', 'clear'], ['list', 'count']),
    downloads: batched(createDownloadsRepo(db, now), batch, ['insert', 'update', 'delete'], ['get', 'list', 'openFor']),
    path: file,
    transaction: (fn) => batch.run(fn),
    later: (fn) => batch.later(fn),
    flush: batch.commit,
    committed: () => batch.committed(),
    close() {
      batch.dispose();
      if (db.open) db.close();
    },
  };
  return finishOpen(journal, { file, before, damaged, backupPath });
}

const pairsCount = (n: number): string => `${n} pair${n === 1 ? '' : 's'}`;

/**
 * After the open: the pairs' backup (re-created into an empty journal, the file brought in line with the journal,
 * every later change mirrored), the guard against damage met while running, and what to tell the user.
 */
function finishOpen(
  journal: Omit<Journal, 'recovery'>,
  o: { file: string; before: number; damaged: { movedTo: string; reason: string } | null; backupPath: string | null },
): Journal {
  let pairs = journal.pairs;
  let restored = 0;
  let backupNote: string | null = null;
  if (o.backupPath) {
    const backupPath = o.backupPath;
    if (o.before === 0) {
      const read = readPairsBackup(backupPath);
      if (read.pairs.length > 0) {
        restored = journal.transaction(() => restorePairs(journal.pairs, read.pairs));
        journal.flush();
      }
      if (read.missing) backupNote = `There was no ${backupPath} to re-create the pairs from: add them again (\`cloudreve-sync pairs add\`).`;
      else if (read.problem) backupNote = `${backupPath}: ${read.problem}${restored ? '' : ': add the pairs again (`cloudreve-sync pairs add`)'}.`;
      else if (read.pairs.length === 0) backupNote = `${backupPath} lists no pairs.`;
    }
    const backup = new PairsBackup(backupPath);
    backup.save(journal.pairs.list());
    pairs = withPairsBackup(journal.pairs, backup);
  }
  const guarded = guardAgainstDamage({ ...journal, pairs }, o.file, o.backupPath);
  const rebuilt = 'each pair\'s next pass rebuilds its records of what it synced (files already on the server are recorded, not uploaded again)';
  let recovery: JournalRecovery | null = null;
  if (o.damaged) {
    const { movedTo, reason } = o.damaged;
    const pairsPart = restored > 0 ? `${pairsCount(restored)} re-created from ${o.backupPath}; ${rebuilt}.` : (backupNote ?? '');
    recovery = {
      movedTo,
      reason,
      restoredPairs: restored,
      message: (
        `the journal ${o.file} could not be read (${reason}). It is kept as ${movedTo} (not deleted), and a new journal was opened in its place. ` +
        `${pairsPart} Not carried over: unfinished uploads (start them again), the transfer history and the list of kept conflicts (the conflict ` +
        `copies stay on the server). To look into the old journal: sqlite3 ${movedTo} .recover`
      ).replace(/\s+/g, ' '),
    };
  } else if (restored > 0) {
    recovery = {
      movedTo: null,
      reason: null,
      restoredPairs: restored,
      message: `the journal ${o.file} was missing or empty: ${pairsCount(restored)} re-created from ${o.backupPath}; ${rebuilt}`,
    };
  }
  return { ...guarded, recovery };
}

interface Batcher {
  /** Opens this turn's batch if none is open (and batching is on): what follows joins it. */
  join(): void;
  /** Runs `fn` atomically: a savepoint in this turn's batch (opened if none is), or its own transaction when not batching. */
  run<T>(fn: () => T): T;
  /** Journal.later(). */
  later(fn: () => void): void;
  /** Runs what later() holds, now (before a read or a write that must come after it), then the `afterLater` hook. */
  drain(): void;
  /** Runs what later() holds, now, without the `afterLater` hook (an update that may change a staged insert). */
  drainLater(): void;
  /** True while writes join a batch (group commit on, not lost). */
  batching(): boolean;
  /** Runs after later()'s writes each time they run (before every commit, read and other write): staged inserts. */
  afterLater(hook: () => void, needed: () => boolean): void;
  /** Commits the open batch now (no-op when none is open). */
  commit(): void;
  /** Resolves once what was written so far is committed (or its commit failed and was reported). */
  committed(): Promise<void>;
  /** Commits what is pending and stops batching. */
  dispose(): void;
}

/**
 * The longest a batch holding only later()'s writes stays open (ms): the ends of the files that finish meanwhile
 * share its commit. Anything else written, or anyone waiting for committed(), commits it at the end of that turn.
 */
export const LATER_COMMIT_MS = 25;

function createBatcher(db: Database.Database, enabled: boolean, onCommitError?: (err: Error) => void): Batcher {
  // one transaction function for every call: better-sqlite3 turns it into a savepoint inside an open transaction
  const atomic = db.transaction((fn: () => unknown) => fn());
  let open = false;
  /** commits at the end of this turn */
  let soon: NodeJS.Immediate | null = null;
  /** commits a batch of later()'s writes only, LATER_COMMIT_MS after the first */
  let lazy: NodeJS.Timeout | null = null;
  let waiters: Array<() => void> = [];
  const clearTimers = (): void => {
    if (soon) clearImmediate(soon);
    if (lazy) clearTimeout(lazy);
    soon = null;
    lazy = null;
  };
  /** Opens the batch when batching and no transaction is open; true when a batch is open. */
  const begin = (): boolean => {
    if (!open && enabled && !db.inTransaction) {
      db.exec('BEGIN');
      open = true;
    }
    return open;
  };
  const commitSoon = (): void => {
    if (open && !soon) soon = setImmediate(commit);
  };
  /**
   * later()'s writes. Run together just before the commit, one after the other, they cost far less than the same
   * statements spread over the turn between network callbacks (measured: about 5 % of the CPU of 2,000 small files).
   * No savepoint each: should one throw, the whole batch is rolled back (below).
   */
  let pending: Array<() => void> = [];
  let draining = false;
  let hook: (() => void) | null = null;
  let hookNeeded: () => boolean = () => false;
  /** The batch cannot be saved: it is rolled back and reported, and from now on every write commits at once. */
  const lose = (err: unknown): void => {
    enabled = false;
    open = false;
    clearTimers();
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } catch {
      // the connection rolls back by itself when it cannot go on
    }
    onCommitError?.(new EngineError('local-io', `journal: could not save the latest changes (${(err as Error).message}); they will be redone`, { cause: err }));
  };
  /** Runs later()'s writes (and then the hook, unless `withHook` is false); false when one failed (the batch is then lost). */
  const runPending = (withHook = true): boolean => {
    if (draining || (pending.length === 0 && !(withHook && hookNeeded()))) return true;
    draining = true;
    try {
      for (let i = 0; i < pending.length; i++) pending[i]();
      if (withHook && hook) hook();
      return true;
    } catch (err) {
      lose(err);
      return false;
    } finally {
      pending = [];
      draining = false;
    }
  };
  function commit(): void {
    clearTimers();
    if (!open) return;
    const woken = waiters;
    waiters = [];
    queueMicrotask(() => woken.forEach((w) => w()));
    if (!runPending()) return;
    open = false;
    clearTimers(); // what the pending writes scheduled: this commit has them
    try {
      db.exec('COMMIT');
    } catch (err) {
      lose(err);
    }
  }
  const onExit = () => {
    if (db.open) commit();
  };
  if (enabled) atExit(onExit, true);
  return {
    join() {
      if (begin()) commitSoon();
    },
    run<T>(fn: () => T): T {
      runPending();
      this.join();
      return atomic(fn) as T;
    },
    later(fn) {
      if (!begin()) {
        atomic(fn);
        return;
      }
      pending.push(fn);
      if (!soon && !lazy) {
        lazy = setTimeout(commit, LATER_COMMIT_MS);
        lazy.unref(); // process exit commits what is pending (atExit)
      }
    },
    drain() {
      runPending();
    },
    drainLater() {
      runPending(false);
    },
    batching() {
      return enabled;
    },
    afterLater(fn, needed) {
      hook = fn;
      hookNeeded = needed;
    },
    committed() {
      if (!open) return Promise.resolve();
      commitSoon();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    commit,
    dispose() {
      if (db.open) commit();
      enabled = false;
      atExit(onExit, false);
    },
  };
}

/** One process 'exit' listener for every open journal (tests open many). */
const exitHooks = new Set<() => void>();
function atExit(hook: () => void, add: boolean): void {
  if (add) {
    if (exitHooks.size === 0) process.on('exit', runExitHooks);
    exitHooks.add(hook);
  } else if (exitHooks.delete(hook) && exitHooks.size === 0) process.off('exit', runExitHooks);
}
function runExitHooks(): void {
  for (const hook of exitHooks) hook();
}

/**
 * The uploads repo in the turn's batch (batched() below), with `insertLater`: a queued row is held in memory until
 * later()'s writes run (just before the commit, at most LATER_COMMIT_MS after it was queued, or before any read or
 * other write of the uploads), then inserted. An update of a held row (a one-request upload's end, when it finishes
 * within that window) changes the row to be inserted instead of writing, so such a file's row is written once, in its
 * final state, with its history entry in the same commit. A kill -9 before that commit loses the held rows, as it loses
 * any write of the window (journal doc above): the file was never recorded and nothing of it was committed on our side.
 */
function withStagedInserts(raw: UploadsRepo, batch: Batcher, now: () => number): UploadsRepo {
  const repo = batched(raw, batch, ['insert', 'update', 'setSession', 'ackPart', 'delete'], ['get', 'list', 'parts']);
  const staged = new Map<string, UploadRow>();
  batch.afterLater(() => {
    if (staged.size === 0) return;
    const rows = [...staged.values()];
    staged.clear();
    for (const r of rows) raw.insert(r);
  }, () => staged.size > 0);
  const noop = (): void => undefined;
  return {
    ...repo,
    insertLater(rows) {
      if (!batch.batching()) return batch.run(() => rows.map((r) => raw.insert(r)));
      const t = now();
      // held rows are written when later()'s writes run: this opens the batch and sets its commit (LATER_COMMIT_MS)
      if (staged.size === 0 && rows.length > 0) batch.later(noop);
      return rows.map((row) => {
        const full: UploadRow = { ...row, previous: row.previous ?? null, pairId: row.pairId ?? null, createdAt: t, updatedAt: t };
        staged.set(full.id, full);
        return full;
      });
    },
    update(id, patch) {
      batch.drainLater(); // what later() held runs first, in order
      const held = staged.get(id);
      if (!held) return repo.update(id, patch);
      for (const key of Object.keys(patch) as (keyof UploadPatch)[]) {
        const v = patch[key];
        if (v === undefined || (key as string) === 'id' || (key as string) === 'createdAt') continue;
        (held as unknown as Record<string, unknown>)[key] = v;
      }
      if (patch.updatedAt === undefined) held.updatedAt = now();
      return true;
    },
  };
}

/**
 * `repo` with the named write methods joining the turn's batch. Each is one statement or its own transaction
 * (a savepoint inside the batch), so it stays atomic without another savepoint around it.
 */
function batched<R extends object>(repo: R, batch: Batcher, writes: readonly (keyof R)[], reads: readonly (keyof R)[] = []): R {
  const out = { ...repo };
  for (const name of writes) {
    const method = repo[name] as unknown as (...args: unknown[]) => unknown;
    (out as Record<keyof R, unknown>)[name] = (...args: unknown[]) => {
      batch.drain();
      batch.join();
      return method(...args);
    };
  }
  for (const name of reads) {
    const method = repo[name] as unknown as (...args: unknown[]) => unknown;
    (out as Record<keyof R, unknown>)[name] = (...args: unknown[]) => {
      batch.drain();
      return method(...args);
    };
  }
  return out;
}
