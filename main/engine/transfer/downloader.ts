/**
 * One file's download, written to the local disk safely (issue 17, "Writing local files safely"):
 *
 *  queued ─► downloading ─► (checked, flushed, mtime set) ─► renamed over the target ─► done
 *                │   ▲                                          │
 *                │   └─ waiting-retry (network, 5xx, busy: the upload rules — retry.ts budget, a busy server waited
 *                │      out, offline waited in connectivity.ts; the next try continues with `Range: bytes=N-`)
 *                │                                              └─► the target is not as the pass saw it: never
 *                │                                                  overwritten — a conflict copy beside it (or
 *                │                                                  onExists: rename / skip / overwrite)
 *                └─► failed (not found, disk full, a local error): the temp file removed
 *
 * - The bytes go to a hidden temp file in the target's folder, `.cloudreve-sync-<download id>.part` (TEMP_NAME_RE;
 *   what every pair's scan and watcher ignore), so the rename over the target is atomic (same file system).
 * - Resumable: the journal row keeps the remote entity and the bytes done; after a crash, an outage or a restart the
 *   download continues from what the temp file holds with a Range request. A server that ignores the Range (200) or a
 *   different entity (a new version: POST /file/url with `entity` answers 40077, or the sizes disagree) starts over.
 *   What a process crash leaves in the temp file is in the page cache, so it is kept; after a reboot only what was
 *   flushed (bytes_synced, fdatasync every SYNC_EVERY bytes) is trusted.
 * - Checked: exactly the expected size arrives (the server decrypts encrypted entities, §4.8); then the file is
 *   given the server's updated_at as mtime, fsync'd, and renamed over the target only if the target is still what the
 *   request expected (size, mtime, inode; absent when null) — re-checked right before the rename, and on POSIX the old
 *   file is held open across the rename so that a write landing in between is noticed and kept (the download then
 *   becomes the conflict copy instead). A new target is linked in place (link(2): never replaces a file that appeared
 *   meanwhile).
 * - Free space is checked before any byte is fetched (statfs of the target's folder, injectable); a full disk (there,
 *   or ENOSPC while writing) fails the file with a clear reason and removes the temp file.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
  createWriteStream,
  fdatasync,
  fsync,
  futimesSync,
  type Stats,
} from 'node:fs';
import { statfs } from 'node:fs/promises';
import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { uptime } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { CloudreveClient } from '../api/client.js';
import { USER_AGENT, decodeEnvelope, envelopeError, isEnvelope, limitError, readText, retryAfterMs, type RequestContext } from '../api/http.js';
import { open as openUrl } from '../api/transport.js';
import { describeUrl } from '../adapters/storage-http.js';
import type { Connectivity } from '../connectivity.js';
import type { DownloadOnExists, DownloadOutcome, DownloadState } from '../download-types.js';
import { EngineError, classify, errorRecord, isAbort, isBusy } from '../errors.js';
import { fingerprintSync, sameFingerprint, type Fingerprint } from '../fs/file-source.js';
import type { DownloadRow, Journal } from '../journal/journal.js';
import { numberedName } from './preflight.js';
import { RetryBudget, sleep, type RetryPolicy } from './retry.js';
import type { BandwidthLimiter } from './throttle.js';

// ──────────────────────────────── names ────────────────────────────────

export const TEMP_PREFIX = '.cloudreve-sync-';
export const TEMP_SUFFIX = '.part';
/** A download's temp file name: `.cloudreve-sync-<uuid>.part` (scans and watchers must ignore it). */
export const TEMP_NAME_RE = /^\.cloudreve-sync-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.part$/;

/** True for the base name of a download's temp file. */
export function isDownloadTemp(name: string): boolean {
  return TEMP_NAME_RE.test(name);
}

/** The temp file of download `id` into `target`: beside it, hidden. */
export function tempPathFor(target: string, id: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${id}${TEMP_SUFFIX}`);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "report.pdf" → "report (conflict 2024-05-01 134502 server).pdf" (local time), as the sync's conflict copies. */
export function serverConflictName(name: string, at: Date = new Date()): string {
  const stamp = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  const i = name.lastIndexOf('.');
  const tag = `(conflict ${stamp} server)`;
  return i <= 0 ? `${name} ${tag}` : `${name.slice(0, i)} ${tag}${name.slice(i)}`;
}

/**
 * Whether a local mtime is the server's updated_at a download gave it. Downloads set the mtime to updated_at + 0.4 ms
 * (utimes takes seconds as a double, and a whole millisecond can come back as …999 µs), so its floor is the
 * millisecond; a file system that keeps whole seconds (or 2 s, FAT) has the second.
 */
export function sameMtime(localMtimeMs: number, serverUpdatedAtMs: number): boolean {
  if (Math.floor(localMtimeMs) === serverUpdatedAtMs) return true;
  // coarse file systems: the mtime is the updated_at truncated to the second (or 2 s)
  return localMtimeMs % 1000 === 0 && localMtimeMs <= serverUpdatedAtMs && serverUpdatedAtMs - localMtimeMs < 2000;
}

/** The mtime (seconds, for utimes) that reads back as `ms` (see sameMtime). */
function mtimeSeconds(ms: number): number {
  return (ms + 0.4) / 1000;
}

/** When this machine booted (ms since the epoch), to the second or so. */
export function bootTimeMs(): number {
  // read at most once a second (every write of a download's progress asks; os.uptime() is a system call)
  const now = Date.now();
  if (now - boot.at >= 1000 || now < boot.at) boot = { at: now, ms: Math.round(now - uptime() * 1000) };
  return boot.ms;
}
let boot = { at: -Infinity, ms: 0 };

// ──────────────────────────────── free space ────────────────────────────────

/** The free space of the file system holding `dir` (fs.statfs's bavail and bsize). */
export type StatFs = (dir: string) => Promise<{ bavail: number; bsize: number }>;

export const defaultStatFs: StatFs = async (dir) => {
  const s = await statfs(dir);
  return { bavail: Number(s.bavail), bsize: Number(s.bsize) };
};

/**
 * The system's free space per folder as last read (less what the downloads checked since will take), for a second:
 * many small files downloading into one folder ask the system once a second, not once each. A download the reading
 * has no room for reads it again (never refused on an old reading); another process filling the disk within that
 * second is met by the write (ENOSPC), as one filling it during a download is.
 */
const spaceSeen = new Map<string, { at: number; free: number }>();
const SPACE_FRESH_MS = 1000;

function recentSpace(folder: string): { free: number } | undefined {
  const seen = spaceSeen.get(folder);
  const now = Date.now();
  return seen && now >= seen.at && now - seen.at < SPACE_FRESH_MS ? seen : undefined;
}

function rememberSpace(folder: string, free: number): void {
  if (spaceSeen.size >= 1000) spaceSeen.clear();
  spaceSeen.set(folder, { at: Date.now(), free });
}

/** Room kept free beyond the file itself. */
const FREE_MARGIN = 1024 * 1024;

function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${u[i]}`;
}

// ──────────────────────────────── HTTP ────────────────────────────────

const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };
const MAX_REDIRECTS = 5;

export interface DownloadTimeouts {
  connectMs: number;
  /** nothing arrived for this long → 'timeout' (a transfer is judged by progress, never duration) */
  idleMs: number;
  responseMs: number;
}

export const DOWNLOAD_TIMEOUTS: Readonly<DownloadTimeouts> = Object.freeze({ connectMs: 10_000, idleMs: 60_000, responseMs: 60_000 });

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  stream: IncomingMessage;
  ctx: RequestContext;
}

/**
 * GET `url` (the master's signed content route or a storage's pre-signed URL: no bearer token, no X-Cr-* headers),
 * following redirects; the body is the caller's to read or destroy.
 */
async function get(url: string, op: string, headers: Record<string, string>, t: DownloadTimeouts, signal: AbortSignal): Promise<Answer> {
  let at = url;
  for (let hop = 0; ; hop++) {
    let host = '<invalid url>';
    try {
      host = new URL(at).host;
    } catch {
      throw new EngineError('bad-response', `${op}: the server gave an invalid download URL`);
    }
    const ctx: RequestContext = { op, endpoint: `GET ${describeUrl(at)}`, host };
    let res: { status: number; headers: IncomingHttpHeaders; stream: IncomingMessage };
    try {
      res = await openUrl(at, { method: 'GET', headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...headers }, agents, signal, timeouts: t });
    } catch (err) {
      throw limitError(err, ctx, { idleMs: t.idleMs });
    }
    const loc = res.headers.location;
    if (res.status >= 300 && res.status < 400 && typeof loc === 'string' && loc) {
      res.stream.resume();
      if (hop >= MAX_REDIRECTS) throw new EngineError('bad-response', `${op}: more than ${MAX_REDIRECTS} redirects`);
      at = new URL(loc, at).toString();
      continue;
    }
    return { ...res, ctx };
  }
}

/** An answer that is not the file: the master's envelope error (e.g. 40077), or the status. */
async function answerError(a: Answer): Promise<EngineError> {
  let text = '';
  try {
    text = await readText(a.stream, 64 * 1024);
  } catch {
    // the status says enough
  }
  const raw = { status: a.status, headers: a.headers, body: text };
  if (/json/i.test(String(a.headers['content-type'] ?? '')) || text.startsWith('{')) {
    try {
      const env = decodeEnvelope(raw, a.ctx);
      if (isEnvelope(env) && env.code !== 0) return envelopeError(env, a.ctx, raw);
    } catch {
      // not an envelope
    }
  }
  const detail = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  return new EngineError('http-status', `${a.ctx.op}: ${a.ctx.endpoint} answered HTTP ${a.status}${detail ? ` (${detail})` : ''}`, {
    httpStatus: a.status,
    retryAfterMs: retryAfterMs(a.headers),
  });
}

/** "bytes 100-199/1000" → {start, total}; null when absent or unreadable. */
function contentRange(v: string | string[] | undefined): { start: number; total: number | null } | null {
  const s = Array.isArray(v) ? v[0] : v;
  const m = typeof s === 'string' ? /^bytes\s+(\d+)-\d+\/(\d+|\*)$/i.exec(s.trim()) : null;
  return m ? { start: Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) } : null;
}

// ──────────────────────────────── the job ────────────────────────────────

export interface DownloadJobDeps {
  client: CloudreveClient;
  journal: Journal;
  limiter: BandwidthLimiter;
  retry?: RetryPolicy;
  connectivity?: Pick<Connectivity, 'ride'>;
  statfs?: StatFs;
  timeouts?: Partial<DownloadTimeouts>;
  /** the conflict copy's name (DownloadRequest.conflictName), default serverConflictName */
  conflictName?: (name: string) => string;
  onState(row: DownloadRow, from: DownloadState): void;
  onProgress(id: string, bytesDone: number): void;
  onRetryAt?(id: string, at: number | null): void;
  log?(level: 'debug' | 'info' | 'warn', message: string): void;
}

/** Flush the temp file to disk (and write it down as safe after a reboot) every this many bytes. */
export const SYNC_EVERY = 64 * 1024 * 1024;
/**
 * Files up to this size, downloaded from their start, are gathered in memory and written at once (receiveSmall), and
 * fetched again from their start when interrupted (see DownloadJob.small).
 */
const SMALL_FILE = 256 * 1024;
/** The bytes done are written to the journal at most this often. */
const SAVE_EVERY_MS = 500;
/** A file that keeps changing on the server while it is downloaded is given up after this many restarts (per run). */
const MAX_RESTARTS = 3;

/** The server's file changed (another entity): start over with what it is now. */
class Changed extends Error {}

export class DownloadJob {
  private row: DownloadRow;
  private readonly budget: RetryBudget;
  private readonly t: DownloadTimeouts;
  private restarts = 0;
  private lastSave = 0;
  /** this run's downloaded bytes have been flushed up to here (bytes of the temp file) */
  private synced = 0;
  /** fields changed in memory and not yet written to the journal (a small file's, see `small`): the next write takes them */
  private held: Partial<DownloadRow> = {};

  constructor(
    row: DownloadRow,
    private readonly deps: DownloadJobDeps,
  ) {
    this.row = row;
    this.budget = new RetryBudget(deps.retry);
    this.t = { ...DOWNLOAD_TIMEOUTS, ...deps.timeouts };
  }

  get id(): string {
    return this.row.id;
  }

  get current(): DownloadRow {
    return this.row;
  }

  /** A newer request for the same download while it runs: what the target must be, what to do, who asks. */
  adopt(p: Partial<Pick<DownloadRow, 'expectLocal' | 'onExists' | 'createFolders' | 'pairId' | 'entity' | 'size' | 'serverUpdatedAt'>>): void {
    const { expectLocal, onExists, createFolders, pairId } = p;
    this.row = { ...this.row, ...(expectLocal !== undefined ? { expectLocal } : {}), ...(onExists ? { onExists } : {}), ...(createFolders !== undefined ? { createFolders } : {}), ...(pairId !== undefined ? { pairId } : {}) };
  }

  /**
   * Runs to an outcome. Throws an AbortError when `signal` aborts (the caller decides what the row becomes), and
   * EngineErrors of class 'stop' (the login is gone): the row is left as it is, for a resume.
   */
  async run(signal: AbortSignal): Promise<DownloadOutcome> {
    this.setState('downloading');
    for (;;) {
      try {
        return await this.attempt(signal);
      } catch (err) {
        if (isAbort(err) || signal.aborted) throw err;
        if (err instanceof Changed) continue;
        if (classify(err) === 'stop') throw err;
        if (classify(err) === 'retry') {
          try {
            await this.backoff(err, signal);
            continue;
          } catch (final) {
            if (isAbort(final) || signal.aborted) throw final;
            // the budget is spent: failed, but the temp file stays (transient: `resume` continues it)
            return this.fail(final, false);
          }
        }
        return this.fail(err, true);
      }
    }
  }

  /**
   * A small file (at most SMALL_FILE bytes) comes in one answer, gathered in memory, and an interrupted one is fetched
   * again from its start (resumeOffset: no Range resume for what fits one read). So its row is not written while it
   * runs: its 'downloading' and its bytes are kept in memory (the journal keeps it 'queued', which a resume after a crash
   * continues alike), and its end ('done', 'conflict', 'skipped') is written once, with them, among the journal's
   * later() writes (within LATER_COMMIT_MS, one commit for the ends of many files). Its temp file is still size-checked,
   * given its mtime and flushed before it is put in place. A kill -9 in that window leaves the row queued: resumed, it
   * is fetched again (onExists decides, as for any download whose end was not written).
   */
  private get small(): boolean {
    return this.row.size <= SMALL_FILE;
  }

  /** Changes the row in memory only; the next write to the journal takes the change along. */
  private note(p: Partial<DownloadRow>): void {
    this.row = { ...this.row, ...p };
    Object.assign(this.held, p);
  }

  /** `p` with what note() held (which is then written). */
  private withHeld(p: Partial<DownloadRow>): Partial<DownloadRow> {
    for (const _ in this.held) {
      const all = { ...this.held, ...p };
      this.held = {};
      return all;
    }
    return p;
  }

  private patch(p: Partial<DownloadRow>): void {
    this.row = { ...this.row, ...p };
    this.deps.journal.downloads.update(this.row.id, this.withHeld(p));
  }

  private setState(state: DownloadState, p: Partial<DownloadRow> = {}): void {
    const from = this.row.state;
    if (this.small && state === 'downloading' && from === 'queued') this.note({ ...p, state });
    else if (this.small && (state === 'done' || state === 'conflict' || state === 'skipped')) {
      const write = this.withHeld({ ...p, state });
      this.row = { ...this.row, ...p, state };
      const { journal } = this.deps;
      const id = this.row.id;
      journal.later(() => journal.downloads.update(id, write));
    } else this.patch({ ...p, state });
    if (from !== state || p.error !== undefined) this.deps.onState(this.row, from);
  }

  private fail(err: unknown, removeTemp: boolean): DownloadOutcome {
    const e = err instanceof EngineError ? err : new EngineError('local-io', `${this.row.target}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    if (removeTemp) removeQuietly(this.row.tempPath);
    this.setState('failed', { error: errorRecord(e) });
    return { result: 'failed', id: this.row.id, code: e.code, message: e.message };
  }

  /** One try: from what the temp file holds to the end, then into place. */
  private async attempt(signal: AbortSignal): Promise<DownloadOutcome> {
    const r = this.row;
    const folder = dirname(r.target);
    if (r.createFolders) mkdirSync(folder, { recursive: true });
    else if (!isFolder(folder)) throw new EngineError('local-io', `${r.target}: the folder ${folder} does not exist`);

    const early = this.beforeDownload();
    if (early) return early;
    if (r.entity === null) await this.refresh('not known yet');

    let offset = this.resumeOffset();
    await this.checkSpace(folder, this.row.size - offset);
    const url = await this.url(signal);
    const a = await get(url, `download ${this.row.uri}`, offset > 0 ? { range: `bytes=${offset}-` } : {}, this.t, signal);
    const { stream } = a;
    try {
      if (a.status === 416) {
        // nothing after `offset`: complete when the temp file already holds the whole file, else it changed
        stream.resume();
        if (offset === this.row.size) return await this.finish(signal);
        throw await this.changed('the server has no bytes after what was downloaded');
      }
      if (a.status !== 200 && a.status !== 206) throw await answerError(a);
      const declared = Number(a.headers['content-length']);
      if (a.status === 206) {
        const cr = contentRange(a.headers['content-range']);
        if (!cr || cr.start !== offset) throw new EngineError('bad-response', `download ${this.row.uri}: the server answered another range than asked (${String(a.headers['content-range'])})`);
        if (cr.total !== null && cr.total !== this.row.size) throw await this.changed(`its size is now ${cr.total} bytes`);
      } else {
        if (offset > 0) {
          this.deps.log?.('info', `${this.row.target}: the server ignored the range request; downloading from the start`);
          offset = 0;
        }
        if (Number.isFinite(declared) && declared !== this.row.size) throw await this.changed(`its size is now ${declared} bytes`);
      }
      if (offset === 0 && (this.row.bytesDone !== 0 || this.row.bytesSynced !== 0)) this.patch({ bytesDone: 0, bytesSynced: 0 });
      if (offset === 0 && this.small) return this.place(await this.receiveSmall(stream, signal, a.ctx));
      await this.receive(stream, offset, signal, a.ctx);
    } finally {
      stream.destroy();
    }
    return this.finish(signal);
  }

  /** What the target already is may end the download before it starts (onExists skip, an identical file). */
  private beforeDownload(): DownloadOutcome | null {
    const r = this.row;
    if (r.onExists === 'conflict') return null;
    const st = lstatOrNull(r.target);
    if (!st) return null;
    const fp = st.isFile() ? fingerprintSync(r.target) : null;
    const expected = fp !== null && r.expectLocal !== null && sameFingerprint(fp, r.expectLocal);
    if (fp && fp.size === r.size && sameMtime(fp.mtimeMs, r.serverUpdatedAt)) return this.skipped('identical', r.target);
    if (r.onExists === 'skip' && !expected) return this.skipped('exists', r.target);
    return null;
  }

  private skipped(reason: 'exists' | 'identical', path: string): DownloadOutcome {
    removeQuietly(this.row.tempPath);
    this.setState('skipped', { resultPath: path, error: null });
    return { result: 'skipped', id: this.row.id, reason, path };
  }

  /** Where to continue: what the temp file holds (after a reboot only what had been flushed). */
  private resumeOffset(): number {
    const r = this.row;
    if (this.small) {
      // fetched again from its start (a small file is not resumed): its temp file, if one was left, is truncated by the write
      this.synced = 0;
      return 0;
    }
    const st = lstatOrNull(r.tempPath);
    let have = st && st.isFile() ? st.size : 0;
    if (have > 0 && r.bootMs !== null && Math.abs(bootTimeMs() - r.bootMs) > 60_000) have = Math.min(have, r.bytesSynced);
    if (have > r.size) have = 0;
    if (st && st.isFile() && st.size !== have) truncateSync(r.tempPath, have);
    this.synced = Math.min(have, r.bytesSynced);
    return have;
  }

  private async checkSpace(folder: string, need: number): Promise<void> {
    if (need <= 0) return;
    let free: number;
    try {
      const seen = this.deps.statfs ? undefined : recentSpace(folder);
      if (seen && seen.free >= need + FREE_MARGIN) {
        seen.free -= need; // what this download will take, until the next reading
        return;
      }
      const s = await (this.deps.statfs ?? defaultStatFs)(folder);
      free = s.bavail * s.bsize;
      if (!this.deps.statfs) rememberSpace(folder, free - need);
    } catch {
      return; // not knowable here: writing will tell (ENOSPC)
    }
    if (!Number.isFinite(free) || free >= need + FREE_MARGIN) return;
    throw new EngineError(
      'disk-full',
      `${this.row.target}: not enough free space on the disk: the download needs ${formatBytes(need)}, ${formatBytes(Math.max(0, free))} are free in ${folder}`,
    );
  }

  private async url(signal: AbortSignal): Promise<string> {
    const r = this.row;
    try {
      const res = await this.deps.client.downloadUrl([r.uri], { download: true, entity: r.entity ?? undefined, signal });
      const u = res.urls[0]?.url;
      if (!u) throw new EngineError('bad-response', `download ${r.uri}: the server gave no URL`);
      return u;
    } catch (err) {
      if (err instanceof EngineError && err.serverCode === 40077) throw await this.changed('its content was replaced');
      if (err instanceof EngineError && err.code === 'not-found') throw new EngineError('not-found', `${r.uri}: no longer on the server`, { serverCode: err.serverCode, cause: err });
      throw err;
    }
  }

  /** The server's file is no longer what the row says: take what it is now; the next try starts over. */
  private async changed(why: string): Promise<Error> {
    if (++this.restarts > MAX_RESTARTS) {
      return new EngineError('file-changed', `${this.row.uri}: changed on the server ${MAX_RESTARTS} times while it was downloaded (${why}); try again later`);
    }
    await this.refresh(why);
    return new Changed(why);
  }

  /** Takes the file's current entity, size and updated_at from the server; the temp file starts over when they moved. */
  private async refresh(why: string): Promise<void> {
    const r = this.row;
    let f;
    try {
      f = await this.deps.client.info(r.uri);
    } catch (err) {
      if (err instanceof EngineError && err.code === 'not-found') throw new EngineError('not-found', `${r.uri}: no longer on the server`, { serverCode: err.serverCode, cause: err });
      throw err;
    }
    if (f.type !== 0) throw new EngineError('not-found', `${r.uri}: is a folder on the server now`);
    const updatedAt = Date.parse(f.updated_at);
    const entity = f.primary_entity ?? null;
    const same = entity === r.entity && f.size === r.size;
    if (!same && r.entity !== null) this.deps.log?.('info', `${r.target}: ${r.uri} changed on the server (${why}); downloading it again from the start`);
    this.patch({ entity, size: f.size, serverUpdatedAt: Number.isFinite(updatedAt) ? updatedAt : r.serverUpdatedAt, ...(same ? {} : { bytesDone: 0, bytesSynced: 0 }) });
    if (!same) {
      removeQuietly(this.row.tempPath);
      this.deps.onProgress(r.id, 0);
    }
  }

  /**
   * Streams the answer into the temp file from `offset`, through the download limit; flushes every SYNC_EVERY. Whatever
   * ends it early (the connection dropped, a pause, the engine closing), what arrived is written before it returns:
   * the next try continues after the last byte received.
   */
  private async receive(stream: IncomingMessage, offset: number, signal: AbortSignal, ctx: RequestContext): Promise<void> {
    const r = this.row;
    const expected = r.size - offset;
    const ws = createWriteStream(r.tempPath, { flags: offset > 0 ? 'r+' : 'w', start: offset, highWaterMark: 1024 * 1024 });
    let localError: unknown = null;
    ws.on('error', (e) => (localError ??= e));
    let syncing: Promise<void> | null = null;
    const flush = () => {
      const fd = (ws as unknown as { fd: number | null }).fd;
      if (syncing || typeof fd !== 'number') return;
      const upTo = offset + ws.bytesWritten;
      syncing = new Promise<void>((resolve) =>
        fdatasync(fd, (err) => {
          syncing = null;
          if (!err && upTo > this.synced) {
            this.synced = upTo;
            this.patch({ bytesSynced: upTo, bootMs: bootTimeMs() });
          }
          resolve();
        }),
      );
    };
    const onAbort = () => stream.destroy(Object.assign(new Error('This operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }));
    signal.addEventListener('abort', onAbort, { once: true });
    let got = 0;
    let nextSync = Math.floor(offset / SYNC_EVERY + 1) * SYNC_EVERY;
    let failure: unknown = null;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (got === 0) this.budget.progressed(); // bytes arrive: the next failure starts from the first delay again
        if (got + chunk.length > expected) throw new EngineError('size-mismatch', `download ${r.uri}: the server sent more than the ${r.size} bytes the file has`);
        await this.deps.limiter.take(chunk.length, signal);
        got += chunk.length;
        if (!ws.write(chunk)) await new Promise<void>((resolve) => {
          const go = () => {
            ws.off('drain', go);
            ws.off('close', go);
            resolve();
          };
          ws.on('drain', go);
          ws.on('close', go);
        });
        if (localError) break;
        const done = offset + got;
        this.deps.onProgress(r.id, done);
        const now = Date.now();
        if (now - this.lastSave >= SAVE_EVERY_MS) {
          this.lastSave = now;
          this.patch({ bytesDone: offset + ws.bytesWritten, bootMs: bootTimeMs() });
        }
        if (done >= nextSync) {
          nextSync += SYNC_EVERY;
          flush();
        }
      }
    } catch (err) {
      failure = err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      stream.destroy();
      // what arrived is written (and the file closed) before anything else happens
      if (!ws.destroyed) await new Promise<void>((resolve) => ws.end(() => resolve()));
      if (syncing) await syncing;
      this.patch({ bytesDone: offset + ws.bytesWritten, bootMs: bootTimeMs() });
    }
    if (localError) throw localWriteError(r.target, localError);
    if (failure !== null) {
      if (isAbort(failure) || signal.aborted) throw failure;
      if (failure instanceof EngineError) throw failure;
      throw limitError(failure, ctx, { idleMs: this.t.idleMs });
    }
    const total = offset + got;
    if (total !== r.size) {
      // the answer ended early (a proxy, a dropped connection the parser did not notice): continue from here
      throw new EngineError('network', `download ${r.uri}: the connection ended after ${total} of ${r.size} bytes`);
    }
    this.budget.progressed();
  }

  /**
   * receive() for a small file from its start, and its finish: the answer is gathered in memory, then, once whole,
   * written to the temp file at once (synchronously: at most SMALL_FILE bytes into the page cache; an answer that broke
   * off writes nothing, since a small file is fetched again from its start) — without a write stream and its three hand-offs to the thread pool, which cost more
   * than the bytes with many small files. Complete, the same descriptor gives it its mtime (futimes), flushes it (fsync,
   * the one call sent to the thread pool), and its fstat checks the size and is the fingerprint of the file put in place
   * (a link or rename keeps the inode, size and mtime): no second open, no stat by path. Progress is told for the chunks
   * before the last (the end tells the whole); the journal is not written (see `small`).
   */
  private async receiveSmall(stream: IncomingMessage, signal: AbortSignal, ctx: RequestContext): Promise<Fingerprint> {
    const r = this.row;
    const chunks: Buffer[] = [];
    const onAbort = () => stream.destroy(Object.assign(new Error('This operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }));
    signal.addEventListener('abort', onAbort, { once: true });
    let got = 0;
    let failure: unknown = null;
    let fd: number | null = null;
    let localError: unknown = null;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (got === 0) this.budget.progressed(); // bytes arrive: the next failure starts from the first delay again
        if (got + chunk.length > r.size) throw new EngineError('size-mismatch', `download ${r.uri}: the server sent more than the ${r.size} bytes the file has`);
        await this.deps.limiter.take(chunk.length, signal);
        got += chunk.length;
        chunks.push(chunk);
        if (got < r.size) this.deps.onProgress(r.id, got);
      }
    } catch (err) {
      failure = err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      stream.destroy();
    }
    if (failure === null && got === r.size && !signal.aborted) {
      try {
        fd = openSync(r.tempPath, 'w');
        for (const c of chunks) for (let at = 0; at < c.length; ) at += writeSync(fd, c, at);
      } catch (err) {
        localError = err;
      }
    }
    if (fd === null || localError !== null) {
      if (fd !== null) closeQuietly(fd);
      if (localError) throw localWriteError(r.target, localError);
      if (failure !== null) {
        if (isAbort(failure) || signal.aborted) throw failure;
        if (failure instanceof EngineError) throw failure;
        throw limitError(failure, ctx, { idleMs: this.t.idleMs });
      }
      if (signal.aborted) throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      // the answer ended early (a proxy, a dropped connection the parser did not notice): the next try starts over
      throw new EngineError('network', `download ${r.uri}: the connection ended after ${got} of ${r.size} bytes`);
    }
    this.budget.progressed();
    const file = fd as number;
    let fp: Fingerprint;
    try {
      futimesSync(file, new Date(), mtimeSeconds(r.serverUpdatedAt));
      await done((cb) => fsync(file, cb));
      const st = fstatSync(file, { bigint: true });
      fp = { size: Number(st.size), mtimeMs: Number(st.mtimeNs / 1000n) / 1000, inode: st.ino.toString() };
    } catch (err) {
      closeQuietly(file);
      throw localWriteError(r.target, err);
    }
    closeSync(file);
    if (fp.size !== r.size) throw new EngineError('network', `download ${r.uri}: the temporary file holds ${fp.size} of ${r.size} bytes; downloading it again`);
    this.note({ bytesDone: r.size, bytesSynced: r.size });
    this.deps.onProgress(r.id, r.size);
    return fp;
  }

  /** The whole file is in the temp file: check it, give it its mtime, flush it, and put it in place. */
  private async finish(signal: AbortSignal): Promise<DownloadOutcome> {
    const r = this.row;
    const st = lstatOrNull(r.tempPath);
    if (r.size === 0 && !st) {
      closeSync(openSync(r.tempPath, 'w'));
    } else if (!st || st.size !== r.size) {
      throw new EngineError('network', `download ${r.uri}: the temporary file holds ${st?.size ?? 0} of ${r.size} bytes; downloading the rest`);
    }
    if (signal.aborted) throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    try {
      // open, mtime and close are quick metadata calls, made here; only the flush, which may wait for the disk, goes to
      // the thread pool (profiled with 2,000 small files: each hand-off to it cost the event loop 0.1–0.25 ms, several
      // times the call itself, as the woken worker takes the CPU from it)
      const fd = openSync(r.tempPath, 'r+');
      try {
        futimesSync(fd, new Date(), mtimeSeconds(r.serverUpdatedAt));
        await done((cb) => fsync(fd, cb));
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw localWriteError(r.target, err);
    }
    this.patch({ bytesDone: r.size, bytesSynced: r.size });
    this.deps.onProgress(r.id, r.size);
    return this.place();
  }

  /** Renames the finished temp file over the target, or beside it: see the top of this file. */
  private place(temp?: Fingerprint): DownloadOutcome {
    const r = this.row;
    const remote = { entity: r.entity, size: r.size, updatedAtMs: r.serverUpdatedAt };
    const done = (result: 'done' | 'conflict', path: string): DownloadOutcome => {
      // the temp file's own fingerprint when known: linked or renamed, it is the same inode, size and mtime
      const fp = temp ?? fingerprintSync(path);
      this.setState(result, { resultPath: path, error: null });
      return { result, id: r.id, path, fp, remote };
    };
    if (r.expectLocal === null) {
      // nothing expected there: link(2) puts it in place unless something is there (then as below: not as expected)
      if (linkNoClobber(r.tempPath, r.target)) return done('done', r.target);
      return this.notAsExpected(done);
    }
    const st = lstatOrNull(r.target);
    if (!st) {
      // absent (expected so, or deleted meanwhile: nothing to lose either way); link(2) never replaces one that appeared
      if (linkNoClobber(r.tempPath, r.target)) return done('done', r.target);
    } else if (st.isFile() && r.expectLocal !== null && sameFingerprint(bigStat(r.target) ?? NONE, r.expectLocal)) {
      const replaced = replaceIfUnchanged(r.tempPath, r.target, r.expectLocal, () => this.conflictPath());
      if (replaced === 'replaced') return done('done', r.target);
      if (replaced !== 'changed') return done('conflict', replaced.conflict);
    }
    // the target is not as the pass saw it
    return this.notAsExpected(done);
  }

  private notAsExpected(done: (result: 'done' | 'conflict', path: string) => DownloadOutcome): DownloadOutcome {
    const r = this.row;
    switch (r.onExists) {
      case 'overwrite': {
        const st = lstatOrNull(r.target);
        if (st && st.isDirectory()) {
          removeQuietly(r.tempPath);
          throw new EngineError('exists', `${r.target}: is a folder; not replaced by the downloaded file`);
        }
        renameSync(r.tempPath, r.target);
        return done('done', r.target);
      }
      case 'skip':
        return this.skipped('exists', r.target);
      case 'rename': {
        const name = basename(r.target);
        for (let n = 1; n <= 10_000; n++) {
          const p = join(dirname(r.target), numberedName(name, n));
          if (linkNoClobber(r.tempPath, p)) return done('done', p);
        }
        throw new EngineError('exists', `${r.target}: no free numbered name beside it`);
      }
      default:
        return done('conflict', this.placeConflict());
    }
  }

  /** A free conflict-copy path beside the target (not yet taken). */
  private conflictPath(): string {
    const name = basename(this.row.target);
    const base = (this.deps.conflictName ?? serverConflictName)(name);
    const dir = dirname(this.row.target);
    for (let n = 0; n <= 10_000; n++) {
      const p = join(dir, n === 0 ? base : numberedName(base, n));
      if (!lstatOrNull(p)) return p;
    }
    throw new EngineError('exists', `${this.row.target}: no free name for the conflict copy`);
  }

  /** The temp file linked in as the conflict copy; returns its path. */
  private placeConflict(): string {
    for (let i = 0; i < 100; i++) {
      const p = this.conflictPath();
      if (linkNoClobber(this.row.tempPath, p)) return p;
    }
    throw new EngineError('exists', `${this.row.target}: no free name for the conflict copy`);
  }

  private async backoff(err: unknown, signal: AbortSignal): Promise<void> {
    this.setState('waiting-retry', { error: err instanceof EngineError ? errorRecord(err) : null });
    try {
      if (this.deps.connectivity && (await this.deps.connectivity.ride(err, signal))) return;
      const delay = this.budget.next(err);
      if (delay === null) throw this.gaveUp(err);
      this.patch({ attempts: this.row.attempts + 1 });
      this.deps.onRetryAt?.(this.row.id, Date.now() + delay);
      this.deps.log?.('info', `${this.row.target}: ${(err as Error).message}; retrying in ${Math.round(delay)} ms`);
      await sleep(delay, signal);
    } finally {
      this.deps.onRetryAt?.(this.row.id, null);
      if (!signal.aborted) this.setState('downloading');
    }
  }

  private gaveUp(err: unknown): unknown {
    const waited = this.budget.busyGaveUpAfterMs;
    if (waited === null || !(err instanceof EngineError) || !isBusy(err)) return err;
    return new EngineError(err.code, `${err.message}; the server stayed busy for ${Math.round(waited / 60_000)} min, longer than the busyRetryMinutes setting allows`, {
      serverCode: err.serverCode,
      httpStatus: err.httpStatus,
      cause: err,
    });
  }
}

// ──────────────────────────────── local files ────────────────────────────────

/** A node:fs callback call as a promise. */
function done<T = void>(call: (cb: (err: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => call((err, value) => (err ? reject(err) : resolve(value as T))));
}

function lstatOrNull(p: string): Stats | null {
  try {
    // a missing path is the common case (the temp file, a new target): no exception built for it
    return lstatSync(p, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

function isFolder(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

const NONE: Fingerprint = { size: -1, mtimeMs: -1, inode: '0' };

function bigStat(p: string): Fingerprint | null {
  try {
    return fingerprintSync(p);
  } catch {
    return null;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing more to do with it
  }
}

export function removeQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}

function localWriteError(target: string, err: unknown): EngineError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new EngineError('disk-full', `${target}: the disk is full (${code}); the download was stopped and its temporary file removed`, { cause: err });
  }
  return new EngineError('local-io', `${target}: writing the download failed (${code ?? (err as Error)?.message ?? 'error'})`, { cause: err });
}

const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV', 'EACCES']);

/**
 * Puts `src` at `dst` only if nothing is there: link(2) + unlink (atomic no-clobber). On file systems without hard
 * links, a check and a rename. False when `dst` exists.
 */
function linkNoClobber(src: string, dst: string): boolean {
  try {
    linkSync(src, dst);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_LINKS.has(code)) throw err;
    if (lstatOrNull(dst)) return false;
    renameSync(src, dst);
    return true;
  }
  removeQuietly(src);
  return true;
}

/**
 * Renames `src` over `dst` if `dst` is still `expected`. On POSIX the old file is held open across the rename: a
 * write that lands on it between the check and the rename is seen afterwards (its size or mtime moved), and then the
 * old content is put back at `dst` and the download moved to a conflict copy. 'changed' when `dst` was not as
 * expected (nothing done).
 */
function replaceIfUnchanged(src: string, dst: string, expected: Fingerprint, conflictPath: () => string): 'replaced' | 'changed' | { conflict: string } {
  if (process.platform === 'win32') {
    const now = bigStat(dst);
    if (!now || !sameFingerprint(now, expected)) return 'changed';
    renameSync(src, dst);
    return 'replaced';
  }
  let fd: number;
  try {
    fd = openSync(dst, 'r');
  } catch {
    return 'changed';
  }
  try {
    const before = fstatSync(fd, { bigint: true });
    const fp: Fingerprint = { size: Number(before.size), mtimeMs: Number(before.mtimeNs / 1000n) / 1000, inode: before.ino.toString() };
    if (!before.isFile() || !sameFingerprint(fp, expected)) return 'changed';
    renameSync(src, dst);
    const after = fstatSync(fd, { bigint: true });
    if (after.size === before.size && after.mtimeNs === before.mtimeNs) return 'replaced';
    // written to while it was being replaced: the download becomes the conflict copy, the local file comes back
    const conflict = conflictPath();
    renameSync(dst, conflict);
    const back = `${dst}.${randomUUID()}${TEMP_SUFFIX}`;
    copyFromFd(fd, back, Number(after.size));
    if (!linkNoClobber(back, dst)) {
      // yet another file appeared at the target: keep the recovered content beside it
      renameSync(back, conflictPath().replace(/ server\)/, ' local)'));
    }
    return { conflict };
  } finally {
    closeSync(fd);
  }
}

function copyFromFd(fd: number, to: string, size: number): void {
  const out = openSync(to, 'wx');
  try {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (let pos = 0; pos < size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === 0) break;
      writeSync(out, buf, 0, n);
      pos += n;
    }
  } finally {
    closeSync(out);
  }
}

/** A fresh download id (the temp file's name carries it). */
export function newDownloadId(): string {
  return randomUUID();
}
