/**
 * The engine's downloads (Engine.downloads): a pool of download jobs (transfer/downloader.ts; maxActiveDownloads at
 * once, default 3, and smallDownloadSlots more, default 8, that only files of at most 64 KiB use) over the journal's `downloads` table, with their own bandwidth limit, progress events, pause /
 * resume / cancel, the continuation of interrupted downloads, and collecting a remote tree into requests (the CLI).
 *
 * A request for a remote file and target that an unfinished download already has (an earlier call, a crash) continues
 * that download (its bytes kept; a small file's are fetched again, see DownloadJob.small); one for the same target but another remote file supersedes it.
 */
import { isAbsolute, join } from 'node:path';
import type { AccountSession } from './account.js';
import { baseName, toUri } from './api/uri.js';
import type { FileResponse } from './api/types.js';
import type { Connectivity } from './connectivity.js';
import {
  DOWNLOAD_TERMINAL,
  type CollectedDownloads,
  type DownloadHandle,
  type DownloadOnExists,
  type DownloadOutcome,
  type DownloadRequest,
  type DownloadSnapshot,
  type DownloadState,
  type DownloadsApi,
} from './download-types.js';
import type { EngineConfig } from './engine-types.js';
import { EngineError, classify, errorFromRecord, errorRecord, isAbort } from './errors.js';
import type { EngineEvents, TypedEmitter } from './events.js';
import type { DownloadRow, Journal } from './journal/journal.js';
import { EmitThrottle, SpeedMeter, eta } from './transfer/progress.js';
import { DEFAULT_BUSY_MS, DEFAULT_RETRY, type RetryPolicy } from './transfer/retry.js';
import { BandwidthLimiter } from './transfer/throttle.js';
import { DownloadJob, isDownloadTemp, newDownloadId, removeQuietly, tempPathFor, type StatFs } from './transfer/downloader.js';

/** Small-file download slots beside maxActiveDownloads (EngineConfig.smallDownloadSlots' default). */
export const DEFAULT_SMALL_DOWNLOAD_SLOTS = 8;
/**
 * The files that may use them: at most 64 KiB, whose time is their two round trips (the URL, the GET) more than their
 * bytes (64 KiB take 5 ms at 100 Mbit/s). Larger ones share the maxActive slots, which a bandwidth-bound queue needs.
 */
export const SMALL_SLOT_BYTES = 64 * 1024;

export interface DownloadsDeps {
  config: EngineConfig;
  journal: Journal;
  events: TypedEmitter<EngineEvents>;
  account: AccountSession;
  connectivity?: Connectivity;
}

type StopReason = 'pause' | 'cancel' | 'stop';

interface Running {
  job: DownloadJob;
  /** runs in one of the small-file slots (smallDownloadSlots) */
  small: boolean;
  ctrl: AbortController;
  stop?: StopReason;
  done: Promise<void>;
}

const OPEN: DownloadState[] = ['queued', 'downloading', 'waiting-retry', 'paused'];

export class Downloads implements DownloadsApi {
  private readonly limiter: BandwidthLimiter;
  private maxActive: number;
  /**
   * Extra slots only small files (at most SMALL_SLOT_BYTES) may use, beside the maxActive any file may: a small file's
   * time is mostly its two round trips, which several in flight overlap (and more done per turn of the event loop costs
   * less CPU each: measured with 2,000 files of 4 KiB), and many small files never wait behind a large one (the uploads'
   * smallFileSlots, for the same reasons).
   */
  private readonly smallSlots: number;
  private readonly queue: string[] = [];
  /** what `queue` holds, to ask without a scan (admitting 2,000 files scanned it 2,000 times) */
  private readonly inQueue = new Set<string>();
  /**
   * The queued downloads' rows as admitted (kept in step with what this class writes to them), so that starting one
   * does not read it back from the journal: with many small files that read was a tenth of the pass's CPU, and a read
   * also runs the journal's held later() writes, which then commit at the end of that turn instead of together.
   * Absent: read from the journal.
   */
  private readonly queuedRows = new Map<string, DownloadRow>();
  private readonly running = new Map<string, Running>();
  private readonly waiters = new Map<string, Array<(o: DownloadOutcome) => void>>();
  private readonly conflictNames = new Map<string, (name: string) => string>();
  private readonly live = new Map<string, { bytes: number; meter: SpeedMeter; size: number; retryAt: number | null; speed: number; eta: number | null }>();
  /** the queued downloads' priorities (the journal's downloads.priority, cached for the pick); absent = 0 */
  private readonly priorities = new Map<string, number>();
  private readonly throttle: EmitThrottle<number>;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly deps: DownloadsDeps) {
    this.limiter = new BandwidthLimiter(deps.config.downloadBandwidthLimit ?? 0);
    this.maxActive = Math.max(1, deps.config.maxActiveDownloads ?? 3);
    this.smallSlots = Math.max(0, Math.floor(deps.config.smallDownloadSlots ?? DEFAULT_SMALL_DOWNLOAD_SLOTS));
    this.throttle = new EmitThrottle<number>(deps.config.progressIntervalMs ?? 250, (id, bytesDone) => {
      const l = this.live.get(id);
      const speed = l ? l.meter.sample(bytesDone) : 0;
      const left = l ? eta(l.size - bytesDone, speed) : null;
      if (l) {
        l.speed = speed;
        l.eta = left;
      }
      deps.events.emit('download-progressed', { id, bytesDone, speed, eta: left });
    });
  }

  // ──────────────────────────────── queueing ────────────────────────────────

  download(reqs: DownloadRequest[], opts: { signal?: AbortSignal } = {}): Promise<DownloadOutcome[]> {
    return Promise.all(this.enqueue(reqs, opts).map((h) => h.outcome));
  }

  enqueue(reqs: DownloadRequest[], opts: { signal?: AbortSignal } = {}): DownloadHandle[] {
    if (this.closed) throw new EngineError('cancelled', 'the engine is closing');
    this.deps.account.requireClient();
    const account = this.deps.account.key();
    for (const r of reqs) {
      if (!isAbsolute(r.target)) throw new EngineError('usage', `download target must be an absolute path: ${r.target}`);
      if (!(r.size >= 0) || !Number.isFinite(r.updatedAtMs)) throw new EngineError('usage', `download ${r.uri}: size and updatedAtMs are required`);
    }
    const superseded: DownloadRow[] = [];
    const inserted = new Map<string, DownloadRow>();
    const ids = this.deps.journal.transaction(() => {
      // many requests (a pass's): the unfinished downloads read once, by target, not once per request
      const open = reqs.length > 16 ? this.openByTarget() : null;
      return reqs.map((req) => {
        let reuse: DownloadRow | undefined;
        for (const o of open ? (open.get(req.target) ?? []) : this.deps.journal.downloads.openFor(req.target)) {
          const same = o.account === account && o.uri === req.uri && (req.entity === null || o.entity === null || o.entity === req.entity);
          if (same && !reuse) reuse = o;
          else superseded.push(o);
        }
        const fields = {
          expectLocal: req.expectLocal,
          onExists: req.onExists ?? 'conflict',
          createFolders: req.createFolders === true,
          pairId: req.pairId ?? null,
        } satisfies Partial<DownloadRow>;
        if (reuse) {
          const patch: Partial<DownloadRow> = { ...fields, error: null };
          // a newer look at the server (the entity was not known, or the request knows more)
          if (reuse.entity === null && req.entity !== null) Object.assign(patch, { entity: req.entity, size: req.size, serverUpdatedAt: req.updatedAtMs });
          if (req.priority !== undefined) patch.priority = req.priority;
          this.deps.journal.downloads.update(reuse.id, patch);
          this.queuedRows.delete(reuse.id);
          this.running.get(reuse.id)?.job.adopt(patch);
          if (req.conflictName) this.conflictNames.set(reuse.id, req.conflictName);
          return reuse.id;
        }
        const id = newDownloadId();
        const row = this.deps.journal.downloads.insert({
          id,
          account,
          uri: req.uri,
          entity: req.entity,
          target: req.target,
          tempPath: tempPathFor(req.target, id),
          size: req.size,
          bytesDone: 0,
          bytesSynced: 0,
          bootMs: null,
          serverUpdatedAt: req.updatedAtMs,
          state: 'queued',
          error: null,
          resultPath: null,
          attempts: 0,
          priority: req.priority ?? 0,
          ...fields,
        });
        inserted.set(id, row);
        if (open) open.set(req.target, [...(open.get(req.target) ?? []), row]); // as openFor would find it
        if (req.conflictName) this.conflictNames.set(id, req.conflictName);
        return id;
      });
    });
    for (const o of superseded) void this.drop(o.id, 'superseded');
    const handles = ids.map((id) => this.admit(id, inserted.get(id)));
    if (opts.signal) {
      const onAbort = () => {
        for (const h of handles) this.pause(h.id);
      };
      if (opts.signal.aborted) onAbort();
      else {
        opts.signal.addEventListener('abort', onAbort, { once: true });
        void Promise.allSettled(handles.map((h) => h.outcome)).then(() => opts.signal!.removeEventListener('abort', onAbort));
      }
    }
    this.pump();
    return handles;
  }

  /** The unfinished downloads (any account, as openFor), oldest first, by target. */
  private openByTarget(): Map<string, DownloadRow[]> {
    const by = new Map<string, DownloadRow[]>();
    for (const r of this.deps.journal.downloads.list({ states: OPEN })) {
      const list = by.get(r.target);
      if (list) list.push(r);
      else by.set(r.target, [r]);
    }
    return by;
  }

  /** A handle on `id`'s outcome; queued to run unless it runs or waits already. `known`: its row, just written. */
  private admit(id: string, known?: DownloadRow): DownloadHandle {
    const outcome = new Promise<DownloadOutcome>((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
    const row = known ?? this.deps.journal.downloads.get(id);
    if (row?.priority) this.priorities.set(id, row.priority);
    else this.priorities.delete(id);
    if (row && !this.running.has(id) && !this.inQueue.has(id)) {
      if (row.state !== 'queued') this.setState(row, 'queued', { error: null });
      else this.emitChanged(row, row.state);
      this.queuedRows.set(id, row.state !== 'queued' ? { ...row, state: 'queued', error: null } : row);
      this.queue.push(id);
      this.inQueue.add(id);
    }
    return { id, outcome };
  }

  private pump(): void {
    let normal = 0;
    for (const r of this.running.values()) if (!r.small) normal++;
    let small = this.running.size - normal;
    while (!this.closed && this.queue.length > 0) {
      const normalFree = normal < this.maxActive;
      if (!normalFree && small >= this.smallSlots) break;
      const at = this.nextIndex(!normalFree);
      if (at < 0) break;
      const id = this.queue.splice(at, 1)[0];
      this.inQueue.delete(id);
      const row = this.queuedRows.get(id) ?? this.deps.journal.downloads.get(id);
      this.queuedRows.delete(id);
      if (!row || DOWNLOAD_TERMINAL.has(row.state) || row.state === 'paused') continue;
      if (normalFree) normal++;
      else small++;
      this.start(row, !normalFree);
    }
    this.checkIdle();
  }

  /** A queued download's size (its admitted row's; the journal's when that was not kept). */
  private queuedSize(id: string): number {
    return (this.queuedRows.get(id) ?? this.deps.journal.downloads.get(id))?.size ?? Infinity;
  }

  /**
   * The queued download to start next: the highest priority, then the first queued (the queue is in admission order);
   * with `smallOnly`, among the small files only. -1: none.
   */
  private nextIndex(smallOnly = false): number {
    if (this.priorities.size === 0) {
      // all alike (0): the first queued (that is small)
      if (!smallOnly) return 0;
      return this.queue.findIndex((id) => this.queuedSize(id) <= SMALL_SLOT_BYTES);
    }
    let best = -1;
    let bestPriority = -Infinity;
    for (let i = 0; i < this.queue.length; i++) {
      const p = this.priorities.get(this.queue[i]) ?? 0;
      if (p > bestPriority && (!smallOnly || this.queuedSize(this.queue[i]) <= SMALL_SLOT_BYTES)) {
        best = i;
        bestPriority = p;
      }
    }
    return best;
  }

  private start(row: DownloadRow, small = false): void {
    let client;
    try {
      client = this.deps.account.requireClient();
    } catch (err) {
      this.settle(row.id, { result: 'waiting', id: row.id, reason: (err as Error).message });
      return;
    }
    const ctrl = new AbortController();
    const l = this.liveOf(row.id, row.size);
    l.meter.reset();
    const job = new DownloadJob(row, {
      client,
      journal: this.deps.journal,
      limiter: this.limiter,
      retry: this.retryPolicy(row),
      connectivity: this.deps.connectivity,
      statfs: this.deps.config.statfs as StatFs | undefined,
      timeouts: this.deps.config.timeouts?.idleMs ? { idleMs: Math.max(this.deps.config.timeouts.idleMs, 60_000) } : undefined,
      conflictName: this.conflictNames.get(row.id),
      onState: (r, from) => this.emitChanged(r, from),
      onProgress: (id, bytes) => {
        const x = this.liveOf(id, job.current.size);
        x.bytes = bytes;
        x.size = job.current.size;
        this.throttle.push(id, bytes);
      },
      onRetryAt: (id, at) => {
        this.liveOf(id, job.current.size).retryAt = at;
      },
      log: (level, message) => this.deps.events.emit('log', { level, message }),
    });
    const entry: Running = { job, small, ctrl, done: Promise.resolve() };
    this.running.set(row.id, entry);
    // no longer running before its outcome is told: whoever awaits it may resume or enqueue it again at once
    entry.done = job.run(ctrl.signal).then(
      (outcome) => {
        this.running.delete(row.id);
        this.settle(row.id, outcome);
      },
      (err) => {
        this.running.delete(row.id);
        this.stopped(entry, err);
      },
    ).finally(() => {
      this.throttle.flush(row.id);
      this.pump();
    });
  }

  /** A job ended without an outcome of its own: stopped from outside, or the login is gone. */
  private stopped(entry: Running, err: unknown): void {
    const row = entry.job.current;
    const id = row.id;
    if (entry.stop === 'cancel') {
      removeQuietly(row.tempPath);
      this.setState(row, 'cancelled', { error: { code: 'cancelled', message: 'cancelled' } });
      this.settle(id, { result: 'failed', id, code: 'cancelled', message: `${row.target}: download cancelled` });
      return;
    }
    if (entry.stop === 'pause') {
      this.setState(row, 'paused');
      this.settle(id, { result: 'waiting', id, reason: 'paused' });
      return;
    }
    if (entry.stop === 'stop' || isAbort(err)) {
      // the engine closes: the row stays as it is (resumable); its bytes are in the temp file
      this.settle(id, { result: 'waiting', id, reason: 'stopped before its end (continued by `resume`)' });
      return;
    }
    const e = err instanceof EngineError ? err : new EngineError('local-io', String((err as Error)?.message ?? err), { cause: err });
    if (classify(e) === 'stop') {
      this.setState(row, 'paused', { error: errorRecord(e) });
      this.settle(id, { result: 'waiting', id, reason: e.message });
      return;
    }
    removeQuietly(row.tempPath);
    this.setState(row, 'failed', { error: errorRecord(e) });
    this.settle(id, { result: 'failed', id, code: e.code, message: e.message });
  }

  private settle(id: string, outcome: DownloadOutcome): void {
    const list = this.waiters.get(id) ?? [];
    this.waiters.delete(id);
    if (outcome.result !== 'waiting') {
      this.conflictNames.delete(id);
      this.priorities.delete(id);
      this.live.delete(id);
      this.throttle.forget(id);
    }
    for (const w of list) w(outcome);
  }

  private setState(row: DownloadRow, state: DownloadState, patch: Partial<DownloadRow> = {}): void {
    const from = row.state;
    this.queuedRows.delete(row.id);
    this.deps.journal.downloads.update(row.id, { ...patch, state });
    this.emitChanged({ ...row, ...patch, state }, from);
  }

  private emitChanged(row: DownloadRow, from: DownloadState): void {
    this.deps.events.emit('download-changed', { download: this.snapshot(row), from });
  }

  private liveOf(id: string, size: number) {
    let l = this.live.get(id);
    if (!l) {
      l = { bytes: -1, meter: new SpeedMeter(), size, retryAt: null, speed: 0, eta: null };
      this.live.set(id, l);
    }
    return l;
  }

  private snapshot(r: DownloadRow): DownloadSnapshot {
    const l = this.live.get(r.id);
    return {
      id: r.id,
      uri: r.uri,
      target: r.target,
      size: r.size,
      bytesDone: l && l.bytes >= 0 && !DOWNLOAD_TERMINAL.has(r.state) ? l.bytes : r.bytesDone,
      state: r.state,
      error: r.error,
      resultPath: r.resultPath,
      pairId: r.pairId,
      retryAt: r.state === 'waiting-retry' ? (l?.retryAt ?? null) : null,
      priority: r.priority,
      speed: r.state === 'downloading' && l ? l.speed : 0,
      eta: r.state === 'downloading' && l ? l.eta : null,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }

  /** The retry policy of one download: how long it waits out a busy server (busyRetryMinutes; a pair's: for ever). */
  private retryPolicy(row: DownloadRow): RetryPolicy {
    const base = this.deps.config.retry ?? DEFAULT_RETRY;
    if (row.pairId) return { ...base, busyMs: Infinity };
    const minutes = this.deps.config.busyRetryMinutes;
    const busyMs = minutes !== undefined && Number.isFinite(minutes) && minutes >= 0 ? minutes * 60_000 : (base.busyMs ?? DEFAULT_BUSY_MS);
    return { ...base, busyMs };
  }

  /** Stops a download for good (superseded by a request for another file to its target). */
  private async drop(id: string, why: 'superseded'): Promise<void> {
    const r = this.running.get(id);
    if (r) {
      r.stop = 'cancel';
      r.ctrl.abort();
      await r.done;
      return;
    }
    const row = this.deps.journal.downloads.get(id);
    if (!row) return;
    this.unqueue(id);
    removeQuietly(row.tempPath);
    this.setState(row, 'cancelled', { error: { code: 'cancelled', message: `${why}: another download to the same path replaced it` } });
    this.settle(id, { result: 'skipped', id, reason: why, path: row.target });
  }

  private unqueue(id: string): void {
    this.queuedRows.delete(id);
    if (!this.inQueue.delete(id)) return;
    const i = this.queue.indexOf(id);
    if (i >= 0) this.queue.splice(i, 1);
  }

  // ──────────────────────────────── the API ────────────────────────────────

  async collect(uris: string[], localDir: string, opts: { onExists?: DownloadOnExists } = {}): Promise<CollectedDownloads> {
    const client = this.deps.account.requireClient();
    const out: CollectedDownloads = { files: [], folders: [], skipped: [] };
    const targets = new Set<string>();
    const onExists = opts.onExists ?? 'rename';
    const addFile = (f: FileResponse, folder: string) => {
      const target = join(folder, f.name);
      if (f.metadata && typeof f.metadata['sys:upload_session_id'] === 'string') {
        out.skipped.push({ uri: f.path, reason: 'skipped: being uploaded (not complete on the server yet)', failure: false });
        return;
      }
      const bad = localNameProblem(f.name);
      if (bad) {
        out.skipped.push({ uri: f.path, reason: `skipped: ${bad}`, failure: true });
        return;
      }
      if (targets.has(target)) {
        out.skipped.push({ uri: f.path, reason: `skipped: another file given goes to the same path ${target}`, failure: true });
        return;
      }
      targets.add(target);
      const updated = Date.parse(f.updated_at);
      out.files.push({
        uri: f.path,
        target,
        size: f.size,
        entity: f.primary_entity ?? null,
        updatedAtMs: Number.isFinite(updated) ? updated : Date.now(),
        expectLocal: null,
        onExists,
        createFolders: true,
      });
    };
    const walk = async (uri: string, folder: string): Promise<void> => {
      out.folders.push(folder);
      for (const f of await client.listAll(uri)) {
        if (f.type === 1) {
          const bad = localNameProblem(f.name);
          if (bad) out.skipped.push({ uri: f.path, reason: `skipped: ${bad}`, failure: true });
          else await walk(f.path, join(folder, f.name));
        } else addFile(f, folder);
      }
    };
    for (const given of uris) {
      let uri: string;
      try {
        uri = toUri(given);
      } catch (err) {
        out.skipped.push({ uri: given, reason: (err as Error).message, failure: true });
        continue;
      }
      if (baseName(uri) === '') {
        await walk(uri, localDir); // a file system's root: its content goes into localDir itself
        continue;
      }
      let f: FileResponse;
      try {
        f = await client.info(uri);
      } catch (err) {
        if (err instanceof EngineError && err.code === 'not-found') {
          out.skipped.push({ uri, reason: 'not found on the server', failure: true });
          continue;
        }
        throw err;
      }
      if (f.type === 1) await walk(f.path || uri, join(localDir, f.name));
      else addFile(f, localDir);
    }
    return out;
  }

  /** What a crash, an outage or a lost login left unfinished (paused ones only when named). */
  private interrupted(): DownloadRow[] {
    if (!this.deps.account.loggedIn) return [];
    return this.deps.journal.downloads
      .list({ account: this.deps.account.key(), states: [...OPEN, 'failed'] })
      .filter(
        (r) =>
          r.state === 'queued' ||
          r.state === 'downloading' ||
          r.state === 'waiting-retry' ||
          (r.state === 'paused' && r.error?.code === 'login-required') ||
          (r.state === 'failed' && r.error !== null && classify(errorFromRecord(r.error)) === 'retry'),
      );
  }

  resumeInterrupted(ids?: string[]): DownloadHandle[] {
    const account = this.deps.account.loggedIn ? this.deps.account.key() : null;
    let rows: DownloadRow[];
    if (ids && ids.length > 0) {
      rows = ids.map((id) => {
        const r = this.deps.journal.downloads.get(id);
        if (!r) throw new EngineError('not-found', `no download ${id}`);
        if (r.account !== account) throw new EngineError('permission', `download ${id} belongs to another account`);
        return r;
      });
      rows = rows.filter((r) => !DOWNLOAD_TERMINAL.has(r.state) || r.state === 'failed');
    } else rows = this.interrupted();
    const handles = rows.map((r) => this.admit(r.id));
    this.pump();
    return handles;
  }

  /** At start (the app, `run`): what was left unfinished continues by itself. */
  admitInterrupted(): void {
    this.resumeInterrupted();
  }

  /** Whether `id` is a download of this journal (the CLI tells download ids from upload ids). */
  has(id: string): boolean {
    return this.deps.journal.downloads.get(id) !== undefined;
  }

  list(): DownloadSnapshot[] {
    if (!this.deps.account.loggedIn) return [];
    return this.deps.journal.downloads.list({ account: this.deps.account.key() }).map((r) => this.snapshot(this.asRunning(r)));
  }

  get(id: string): DownloadSnapshot | null {
    const r = this.deps.journal.downloads.get(id);
    return r ? this.snapshot(this.asRunning(r)) : null;
  }

  /** A running download's row with its state and bytes as its job has them (a small file's are not written while it runs). */
  private asRunning(r: DownloadRow): DownloadRow {
    const j = this.running.get(r.id)?.job.current;
    return j ? { ...r, state: j.state, bytesDone: j.bytesDone, bytesSynced: j.bytesSynced, error: j.error } : r;
  }

  pause(id?: string): void {
    const ids = id !== undefined ? [id] : [...this.running.keys(), ...this.queue];
    for (const x of ids) {
      const r = this.running.get(x);
      if (r) {
        r.stop ??= 'pause';
        r.ctrl.abort();
        continue;
      }
      const row = this.deps.journal.downloads.get(x);
      if (!row || DOWNLOAD_TERMINAL.has(row.state) || row.state === 'paused') continue;
      this.unqueue(x);
      this.setState(row, 'paused');
      this.settle(x, { result: 'waiting', id: x, reason: 'paused' });
    }
    this.checkIdle();
  }

  resume(id?: string): DownloadHandle[] {
    const rows = id !== undefined ? [this.deps.journal.downloads.get(id)].filter((r): r is DownloadRow => !!r) : this.list().map((s) => this.deps.journal.downloads.get(s.id)!);
    const handles = rows.filter((r) => r.state === 'paused').map((r) => this.admit(r.id));
    this.pump();
    return handles;
  }

  async cancel(id: string): Promise<void> {
    const r = this.running.get(id);
    if (r) {
      r.stop = 'cancel';
      r.ctrl.abort();
      await r.done;
      return;
    }
    const row = this.deps.journal.downloads.get(id);
    if (!row) throw new EngineError('not-found', `no download ${id}`);
    if (DOWNLOAD_TERMINAL.has(row.state) && row.state !== 'failed') return;
    this.unqueue(id);
    removeQuietly(row.tempPath);
    this.setState(row, 'cancelled', { error: { code: 'cancelled', message: 'cancelled' } });
    this.settle(id, { result: 'failed', id, code: 'cancelled', message: `${row.target}: download cancelled` });
    this.checkIdle();
  }

  retry(id: string): DownloadHandle[] {
    const row = this.deps.journal.downloads.get(id);
    if (!row) throw new EngineError('not-found', `no download ${id}`);
    if (row.state !== 'failed') return [];
    return this.resumeInterrupted([id]);
  }

  setPriority(id: string, priority: number): void {
    const row = this.deps.journal.downloads.get(id);
    if (!row) throw new EngineError('not-found', `no download ${id}`);
    if (!Number.isSafeInteger(priority)) throw new EngineError('usage', 'priority must be an integer');
    if (DOWNLOAD_TERMINAL.has(row.state) || row.priority === priority) return;
    this.deps.journal.downloads.update(id, { priority });
    const queued = this.queuedRows.get(id);
    if (queued) this.queuedRows.set(id, { ...queued, priority });
    if (priority === 0) this.priorities.delete(id);
    else this.priorities.set(id, priority);
    this.emitChanged({ ...row, priority }, row.state);
  }

  setBandwidthLimit(bytesPerSecond: number): void {
    this.limiter.setRate(Math.max(0, bytesPerSecond));
  }

  setConcurrency(maxActiveDownloads: number): void {
    this.maxActive = Math.max(1, Math.floor(maxActiveDownloads));
    this.pump();
  }

  clearFinished(): number {
    let n = 0;
    for (const r of this.deps.journal.downloads.list()) {
      if (r.state === 'done' || r.state === 'conflict' || r.state === 'skipped' || r.state === 'cancelled') {
        this.deps.journal.downloads.delete(r.id);
        this.deps.events.emit('download-removed', { id: r.id });
        n++;
      }
    }
    return n;
  }

  idle(): Promise<void> {
    if (this.running.size === 0 && this.queue.length === 0) return this.deps.journal.committed();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve)).then(() => this.deps.journal.committed());
  }

  private checkIdle(): void {
    if (this.running.size > 0 || this.queue.length > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Stops every running and queued download (kept for a resume): a logout, the engine closing. */
  async shutdown(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) {
      r.stop ??= 'stop';
      r.ctrl.abort();
    }
    await Promise.all(all.map((r) => r.done));
    this.inQueue.clear();
    for (const id of this.queue.splice(0)) this.settle(id, { result: 'waiting', id, reason: 'stopped before its start (continued by `resume`)' });
    this.checkIdle();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.shutdown();
    this.throttle.flush();
  }
}

/** Why a remote name cannot be a local file name here (null when it can). */
function localNameProblem(name: string): string | null {
  if (isDownloadTemp(name)) return `"${name}" has the name of a download's temporary file`;
  if (process.platform === 'win32') {
    if (/[<>:"/\\|?*\x00-\x1f]/.test(name)) return `"${name}" has a character Windows does not allow in file names`;
    if (/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(name)) return `"${name}" is a name Windows reserves`;
    if (/[. ]$/.test(name)) return `"${name}" ends with a dot or a space, which Windows drops`;
  }
  return null;
}
