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
 * The database and its -wal/-shm are created mode 0600 (SQLite gives -wal/-shm the main file's mode) in a
 * directory created 0700: the journal holds session credentials and encryption keys.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EngineError } from '../errors.js';
import { createFilesRepo, type FilesRepo } from './files-repo.js';
import { createHistoryRepo, type HistoryRepo } from './history-repo.js';
import { migrate } from './migrate.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { createPairsRepo, type PairsRepo } from './pairs-repo.js';
import { createSyncConflictsRepo, type SyncConflictsRepo } from './sync-conflicts-repo.js';
import { createSyncEntriesRepo, type SyncEntriesRepo } from './sync-entries-repo.js';
import { createUploadsRepo, type UploadsRepo } from './uploads-repo.js';

export type { FileRow, FilesRepo } from './files-repo.js';
export type { PartRow, UploadPatch, UploadRow, UploadsRepo } from './uploads-repo.js';
export type { NewPair, PairPatch, PairsRepo } from './pairs-repo.js';
export type { SyncEntryRow, SyncEntriesRepo } from './sync-entries-repo.js';
export type { SyncConflictsRepo } from './sync-conflicts-repo.js';
export type { HistoryRepo } from './history-repo.js';

export interface Journal {
  readonly uploads: UploadsRepo;
  readonly files: FilesRepo;
  readonly pairs: PairsRepo;
  readonly syncEntries: SyncEntriesRepo;
  readonly conflicts: SyncConflictsRepo;
  /** finished transfers, newest first, capped (history-repo.ts) */
  readonly history: HistoryRepo;
  /** Runs `fn` (synchronous) in one transaction; nested calls become savepoints. */
  transaction<T>(fn: () => T): T;
  close(): void;
  /** the database file, or ':memory:' */
  readonly path: string;
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

export function openJournal(path: string, opts: OpenJournalOptions = {}): Journal {
  const file = isMemory(path) ? ':memory:' : resolve(path);
  if (file !== ':memory:') prepareFiles(file);
  const db = new Database(file);
  try {
    if (file !== ':memory:') {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new EngineError('local-io', `journal: could not switch ${file} to WAL (got ${String(mode)})`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    migrate(db, opts.migrations ?? MIGRATIONS);
  } catch (err) {
    db.close();
    throw err;
  }
  const now = opts.now ?? Date.now;
  const uploads = createUploadsRepo(db, now);
  const files = createFilesRepo(db, now);
  return {
    uploads,
    files,
    pairs: createPairsRepo(db, now),
    syncEntries: createSyncEntriesRepo(db, now),
    conflicts: createSyncConflictsRepo(db, now),
    history: createHistoryRepo(db, now, opts.historyCap),
    path: file,
    transaction<T>(fn: () => T): T {
      return db.transaction(fn)();
    },
    close() {
      if (db.open) db.close();
    },
  };
}
