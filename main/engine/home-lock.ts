/**
 * One engine per home folder: two processes driving the same journal would upload the same parts twice and race
 * each other to completion.
 *
 * The lock is an exclusive SQLite lock (`locking_mode=EXCLUSIVE` plus a write) held on `engine-lock.db` for as long
 * as the engine runs. It is a POSIX advisory lock (LockFileEx on Windows) that the operating system drops when the
 * process ends, however it ends (kill -9, crash, power loss): no pid is trusted, so a reused pid or a dying process
 * can never keep a home locked, and taking it is atomic (no take-over race). The lock file itself is never deleted
 * (deleting a lock file lets two processes hold locks on two different files).
 *
 * `engine-lock.json` beside it names the holder (pid, command, since when) for the message another process prints;
 * it is information only. The command's secret flags (`ui --password P`) are written as `--password ***`.
 */
import Database from 'better-sqlite3';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EngineError } from './errors.js';

export interface HomeLock {
  release(): void;
}

/** Who holds a home's lock, as it wrote it when it took the lock. */
export interface LockHolder {
  pid: number;
  command: string;
  /** ISO 8601 */
  since: string;
}

const LOCK_FILE = 'engine-lock.db';
const HOLDER_FILE = 'engine-lock.json';
/** The pid file of earlier versions: meaningless now, removed when the lock is taken. */
const LEGACY_PID_FILE = 'engine.lock';

/** Takes the home's lock or throws EngineError('busy') naming the process that holds it. */
export function lockHome(home: string): HomeLock {
  const db = tryLock(home);
  if (!db) throw busy(home, readHolder(home));
  const holderPath = join(home, HOLDER_FILE);
  const holder: LockHolder = { pid: process.pid, command: commandLine(), since: new Date().toISOString() };
  try {
    writeFileSync(holderPath, JSON.stringify(holder) + '\n', { mode: 0o600 });
    rmSync(join(home, LEGACY_PID_FILE), { force: true });
  } catch {
    // the holder note is information only
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      if (readHolder(home)?.pid === process.pid) rmSync(holderPath, { force: true });
      db.close(); // the OS lock goes with the file descriptor
    },
  };
}

/** Who holds the home's lock right now, or null when no process does (checked by trying to take it). */
export function lockHolder(home: string): LockHolder | { pid: null } | null {
  const db = tryLock(home);
  if (db) {
    db.close();
    return null;
  }
  return readHolder(home) ?? { pid: null };
}

/** An open connection holding the exclusive lock, or null when another connection (any process) holds it. */
function tryLock(home: string): Database.Database | null {
  const path = join(home, LOCK_FILE);
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { timeout: 0 });
    chmodSync(path, 0o600);
    db.pragma('locking_mode = EXCLUSIVE');
    // what the table holds does not matter, only the lock: no journal file, no fsync (milliseconds off every start)
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    // The first write takes the exclusive lock; in EXCLUSIVE locking mode it is kept until the connection closes.
    db.exec('CREATE TABLE IF NOT EXISTS held (at INTEGER); DELETE FROM held; INSERT INTO held VALUES (unixepoch())');
    return db;
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return null;
    throw new EngineError('local-io', `cannot lock ${home}: ${(err as Error).message}`, { cause: err });
  }
}

function readHolder(home: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(join(home, HOLDER_FILE), 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.since !== 'string') return null;
    // a note written by an earlier version may hold a secret flag's value: left out here too
    return { pid: h.pid, command: typeof h.command === 'string' ? redactArgs(h.command.split(' ')).join(' ') : '', since: h.since };
  } catch {
    return null;
  }
}

function busy(home: string, holder: LockHolder | null): EngineError {
  const who = holder
    ? `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}, since ${holder.since.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`
    : 'a process that did not say who it is';
  return new EngineError('busy', `another cloudreve-sync process is using ${home}: ${who}; wait for it to finish or stop it`);
}

/** Flags whose value is a secret: never written to engine-lock.json nor shown in a "busy" message. */
const SECRET_FLAG = /^--?[\w-]*(?:password|passwd|secret|token)[\w-]*$/i;

/**
 * The arguments with every secret flag's value replaced (`--password P`, `--password=P` → `--password ***`), so the
 * holder note never holds one (`ui --password`).
 */
export function redactArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const eq = a.indexOf('=');
    if (eq > 0 && SECRET_FLAG.test(a.slice(0, eq))) out.push(`${a.slice(0, eq)}=***`);
    else if (SECRET_FLAG.test(a) && !/-stdin$/i.test(a) && i + 1 < args.length) {
      out.push(a, '***');
      i++;
    } else out.push(a);
  }
  return out;
}

/** `cloudreve-sync upload ~/x --to y`: the program's name and its arguments (secrets left out), short enough for one line. */
function commandLine(): string {
  const [script, ...args] = process.argv.slice(1);
  const name = script ? basename(script).replace(/\.(c|m)?[jt]s$/, '').replace(/^cli$/, 'cloudreve-sync') : basename(process.execPath);
  const text = [name, ...redactArgs(args)].join(' ');
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
