/**
 * The engine's transfers: the queue wired to upload jobs, live progress, the policy and capacity caches,
 * enqueueing local files and folders, and resuming what the journal left unfinished.
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { AccountSession } from './account.js';
import type { Connectivity } from './connectivity.js';
import { joinUri, parentUri, toUri } from './api/uri.js';
import type { BusyRetry, EngineConfig, EnqueueOptions } from './engine-types.js';
import { EngineError, classify, errorFromRecord } from './errors.js';
import type { TypedEmitter, EngineEvents } from './events.js';
import { fingerprintSync, type Fingerprint } from './fs/file-source.js';
import { collectTree, fingerprintOrSkip, type SkippedEntry } from './fs/local-tree.js';
import type { Journal, UploadRow } from './journal/journal.js';
import { IgnoreRules } from './sync/ignore-rules.js';
import { LiveProgress } from './transfer/live-progress.js';
import { CapacityCache, PolicyCache } from './transfer/policy-cache.js';
import { DEFAULT_QUEUE, RESUMABLE_STATES, TransferQueue, type QueueOptions } from './transfer/queue.js';
import { DEFAULT_BUSY_MS, DEFAULT_RETRY, type RetryPolicy } from './transfer/retry.js';
import { BandwidthLimiter } from './transfer/throttle.js';
import { UploadJob } from './transfer/upload-job.js';
import { displayName } from './fs/local-folder.js';
import { TERMINAL_STATES, type HistoryEntry, type HistoryQuery, type IfExists, type OverallProgress, type TransferSnapshot, type TransferState } from './types.js';

/** One file to upload to an exact target URI. */
export interface FileUpload {
  path: string;
  targetUri: string;
  /** its fingerprint when already taken (else taken now) */
  fp?: Fingerprint;
  ifExists?: IfExists;
  priority?: number;
  /** the primary entity the target must still have (an overwrite of our last upload); 40076 otherwise */
  previous?: string | null;
  /** the sync pair queueing it (kept in its history entry) */
  pairId?: string | null;
  /**
   * A busy server (HTTP 429/502/503/504, a storage provider's "slow down"): 'bounded' waits it out for the
   * busyRetryMinutes setting, then fails the file; 'forever' never fails the file for it (waits like offline). Default:
   * 'forever' with a pairId, else 'bounded'. An explicit value holds while this process runs; after a restart the
   * default applies (the journal keeps the pairId, not this).
   */
  busyRetry?: BusyRetry;
}

export interface TransfersDeps {
  config: EngineConfig;
  journal: Journal;
  events: TypedEmitter<EngineEvents>;
  account: AccountSession;
  /** the offline state jobs wait in while the server is unreachable */
  connectivity?: Connectivity;
}

/** Files recorded and admitted per turn by enqueueFiles(). */
const ENQUEUE_SLICE = 128;

export class Transfers {
  private readonly config: EngineConfig;
  private readonly journal: Journal;
  private readonly events: TypedEmitter<EngineEvents>;
  private readonly account: AccountSession;
  private readonly connectivity: Connectivity | undefined;
  private readonly limiter: BandwidthLimiter;
  private readonly progress: LiveProgress;
  private readonly policies: PolicyCache;
  private readonly capacity: CapacityCache;
  private readonly queue: TransferQueue;
  private chunkCap: number;
  private stoppedForLogin = false;
  /** why transfers were stopped for a lost login (recorded on each one paused for it); null once logged in again */
  private loginLost: UploadRow['error'] = null;
  /** shutdown() (logout) stopped the queue; the next login reopens it */
  private shutDown = false;
  /** what new uploads do when the target exists, unless enqueue() says otherwise; setIfExists() changes it live */
  private ifExists: IfExists;
  /** transfers whose busyRetry was given and differs from their default (FileUpload.busyRetry) */
  private readonly busyRetry = new Map<string, BusyRetry>();

  constructor(deps: TransfersDeps) {
    const { config, journal, events, account } = deps;
    this.config = config;
    this.journal = journal;
    this.events = events;
    this.account = account;
    this.connectivity = deps.connectivity;
    this.limiter = new BandwidthLimiter(config.bandwidthLimit ?? 0);
    this.progress = new LiveProgress(events, config.progressIntervalMs ?? 250, () => this.queue.totals());
    const client = () => account.requireClient();
    this.policies = new PolicyCache(client);
    this.capacity = new CapacityCache(client);
    this.chunkCap = Math.max(1, config.chunkConcurrencyCap ?? 4);
    this.ifExists = config.ifExists ?? 'rename';
    const queueOpts: QueueOptions = {
      ...DEFAULT_QUEUE,
      maxActiveFiles: Math.max(1, config.maxActiveFiles ?? DEFAULT_QUEUE.maxActiveFiles),
      smallFileSlots: Math.max(0, config.smallFileSlots ?? DEFAULT_QUEUE.smallFileSlots),
      settleMs: config.settleMs ?? DEFAULT_QUEUE.settleMs,
    };
    this.queue = new TransferQueue(journal, (row) => this.makeJob(row), queueOpts, this.onState);
  }

  /** A (new) login: forget the old account's cached policies and let the queue run again. */
  accountChanged(): void {
    this.policies.clear();
    this.stoppedForLogin = false;
    this.loginLost = null;
    if (this.shutDown) {
      // logout() stopped the queue; this login gets a fresh one (the desktop app does not restart for it)
      this.shutDown = false;
      this.queue.reopen();
      if (this.config.autoResume) this.admitInterrupted();
    } else if (this.config.autoResume) {
      // the login was lost and is back: what it paused goes on (the app and `run` do not wait for a `resume`)
      this.resumeLoginPaused();
    }
  }

  /** This account's transfers the engine paused because the login was lost (not those the user paused) go on. */
  private resumeLoginPaused(): void {
    if (!this.account.loggedIn) return;
    const ids = this.journal.uploads
      .list({ account: this.account.key() })
      .filter((r) => r.state === 'paused' && r.error?.code === 'login-required')
      .map((r) => r.id);
    this.queue.admit(ids);
    for (const id of ids) this.queue.resume(id);
  }

  /** Files and folders (recursively) to upload under the remote folder `targetFolderUri`. Returns transfer ids. */
  async enqueue(paths: string[], targetFolderUri: string, opts: EnqueueOptions = {}): Promise<string[]> {
    const c = this.account.requireClient();
    const target = toUri(targetFolderUri);
    const given = paths.map((p) => resolve(p));
    this.lookAhead(given, target);
    // The tree is walked before anything is made on the server (a bad entry creates no remote folder); the files'
    // fingerprints are taken by enqueueFiles, a slice at a time, while the first files already upload.
    // A folder's OS and editor litter is left out as in a sync pair (the same default ignore rules).
    const litter = new IgnoreRules([]);
    const tree = await collectTree(
      given,
      target,
      { ignored: (rel, isFolder) => litter.ignores(rel, isFolder), ignoredReason: 'OS or editor litter, a default ignore rule', fingerprint: false },
    );
    const skip = (s: SkippedEntry): void => {
      this.events.emit('log', { level: 'warn', message: `${s.path}: ${s.reason}` });
      opts.onSkipped?.(s);
    };
    for (const s of tree.skipped) skip(s);
    // Session creation makes a file's missing parent folders (spec §5.1): only folders no file will be uploaded into
    // (empty ones, or holding only what was left out) are made here. One request per folder before the first byte
    // was a round trip per folder of a deep tree.
    const filled = new Set<string>();
    for (const f of tree.files) {
      // up to the first folder already marked (or the root, its own parent)
      for (let u = parentUri(f.uri), up = ''; !filled.has(u); u = up) {
        filled.add(u);
        up = parentUri(u);
        if (up === u) break;
      }
    }
    for (const f of tree.folders) if (!filled.has(f)) await c.createFolder(f);
    const ifExists = opts.ifExists ?? this.ifExists;
    return this.enqueueFiles(
      tree.files.map((f) => ({ path: f.path, targetUri: f.uri, fp: f.fp, ifExists, priority: opts.priority, busyRetry: opts.busyRetry })),
      skip,
    );
  }

  /**
   * Starts the read-only look-ups the first uploads of `paths` will wait for (the free space, the storage policy of
   * the folders they go into), so that they run while the tree is walked instead of after. Best effort: a look-up
   * that fails here is asked again by the uploads.
   */
  private lookAhead(paths: string[], target: string): void {
    this.capacity.warm();
    for (const p of paths) {
      try {
        const folder = statSync(p, { throwIfNoEntry: false })?.isDirectory() ? joinUri(target, basename(p)) : target;
        this.policies.policyFor(folder).catch(() => undefined);
      } catch {
        // the walk reports what is wrong with this path
      }
    }
  }

  /**
   * Single files to exact target URIs (sync decides each one's target and guard). Returns transfer ids, in order.
   * Many files are recorded and admitted in slices of ENQUEUE_SLICE, one turn of the event loop each (each slice one
   * transaction): the first files are on their way while the rest are still being written down.
   */
  async enqueueFiles(files: FileUpload[], onUnreadable?: (s: SkippedEntry) => void): Promise<string[]> {
    const account = this.account.key();
    const ids: string[] = [];
    for (let at = 0; at < files.length; at += ENQUEUE_SLICE) {
      if (at > 0) await new Promise<void>((r) => setImmediate(r));
      // with onUnreadable, a file that vanished (or is no longer a file) since it was listed is left out with its
      // reason; without, its error ends the call
      const taken = files.slice(at, at + ENQUEUE_SLICE).map((f) => ({ f, fp: f.fp ?? (onUnreadable ? fingerprintOrSkip(f.path) : fingerprintSync(f.path)) }));
      const slice: FileUpload[] = [];
      const fps: Fingerprint[] = [];
      for (const t of taken) {
        if ('reason' in t.fp) onUnreadable?.(t.fp);
        else {
          slice.push(t.f);
          fps.push(t.fp);
        }
      }
      // held until the turn's later() writes run (LATER_COMMIT_MS at most): a one-request upload that ends by then
      // is written once, in its final state (journal.ts, withStagedInserts)
      const rows = this.journal.uploads.insertLater(
        slice.map((f, i) => ({
          id: randomUUID(),
          account,
          localPath: f.path,
          targetUri: f.targetUri,
          size: fps[i].size,
          mtimeMs: fps[i].mtimeMs,
          inode: fps[i].inode,
          ifExists: f.ifExists ?? this.ifExists,
          priority: f.priority ?? 0,
          state: 'queued',
          session: null,
          sessionUri: null,
          bytesDone: 0,
          error: null,
          attempts: 0,
          previous: f.previous ?? null,
          pairId: f.pairId ?? null,
        })),
      );
      slice.forEach((f, i) => {
        if (f.busyRetry && f.busyRetry !== busyDefault(rows[i])) this.busyRetry.set(rows[i].id, f.busyRetry);
      });
      for (const r of rows) this.events.emit('transfer-added', this.progress.snapshot(r));
      this.queue.admitNew(rows);
      for (const r of rows) ids.push(r.id);
    }
    return ids;
  }

  /**
   * What a crash or a network loss left unfinished: transfers stopped mid-flight, and failed ones whose failure was
   * transient (network, timeout, server fault: their retry budget ran out while the server was unreachable).
   */
  interruptedIds(): string[] {
    if (!this.account.loggedIn) return [];
    return this.journal.uploads
      .list({ account: this.account.key() })
      .filter(
        (r) =>
          (RESUMABLE_STATES.has(r.state as TransferState) && (r.state !== 'paused' || r.error?.code === 'login-required')) ||
          (r.state === 'failed' && r.error !== null && classify(errorFromRecord(r.error)) === 'retry'),
      )
      .map((r) => r.id);
  }

  /** Admits what the journal left unfinished (at start), without resuming paused ones. */
  admitInterrupted(): void {
    this.queue.admit(this.interruptedIds());
    this.resumeLoginPaused();
  }

  /** Continue interrupted (or paused) transfers from the journal: all of them, or the given ids. */
  resumeInterrupted(ids?: string[]): string[] {
    const list = ids && ids.length > 0 ? ids : this.interruptedIds();
    for (const id of list) {
      const row = this.journal.uploads.get(id);
      if (!row) throw new EngineError('not-found', `no transfer ${id}`);
      if (row.account !== this.account.key()) throw new EngineError('permission', `transfer ${id} belongs to another account`);
    }
    this.queue.admit(list);
    for (const id of list) {
      const row = this.journal.uploads.get(id)!;
      if (row.state === 'paused') this.queue.resume(id);
      else if (row.state === 'failed') this.queue.retry(id); // keeps its session: the parts already sent stay sent
    }
    return list;
  }

  list(): TransferSnapshot[] {
    return this.account.loggedIn ? this.journal.uploads.list({ account: this.account.key() }).map((r) => this.progress.snapshot(r)) : [];
  }

  get(id: string): TransferSnapshot | null {
    const r = this.journal.uploads.get(id);
    return r ? this.progress.snapshot(r) : null;
  }

  overall(): OverallProgress {
    return this.progress.overall();
  }

  pause(id?: string): void {
    this.queue.pause(id);
  }

  resume(id?: string): void {
    this.queue.resume(id);
  }

  cancel(id: string): Promise<void> {
    return this.queue.cancel(id);
  }

  retry(id: string): void {
    this.queue.retry(id);
  }

  setPriority(id: string, priority: number): void {
    this.queue.setPriority(id, priority);
  }

  setBandwidthLimit(bytesPerSecond: number): void {
    this.limiter.setRate(Math.max(0, bytesPerSecond));
  }

  setIfExists(mode: IfExists): void {
    this.ifExists = mode;
  }

  setConcurrency({ maxActiveFiles, chunkConcurrencyCap }: { maxActiveFiles?: number; chunkConcurrencyCap?: number }): void {
    if (chunkConcurrencyCap !== undefined) this.chunkCap = Math.max(1, Math.floor(chunkConcurrencyCap));
    if (maxActiveFiles !== undefined) this.queue.setMaxActiveFiles(maxActiveFiles);
  }

  setSettleMs(ms: number): void {
    this.queue.setSettleMs(ms);
  }

  /** Remove finished (done/skipped/cancelled) transfers from the list. */
  clearFinished(): number {
    let n = 0;
    for (const r of this.journal.uploads.list()) {
      if (r.state === 'done' || r.state === 'skipped' || r.state === 'cancelled') {
        this.journal.uploads.delete(r.id);
        this.progress.forget(r.id);
        this.busyRetry.delete(r.id);
        this.events.emit('transfer-removed', { id: r.id });
        n++;
      }
    }
    return n;
  }

  /** The signed-in account's finished transfers, newest first (kept across clearFinished and restarts). */
  history(q: HistoryQuery = {}): HistoryEntry[] {
    return this.account.loggedIn ? this.journal.history.list(this.account.key(), q) : [];
  }

  /** Forgets the signed-in account's history; returns how many entries. */
  clearHistory(): number {
    return this.account.loggedIn ? this.journal.history.clear(this.account.key()) : 0;
  }

  /** Nothing admitted is queued or running, and what they wrote last (their ends, their history) is recorded. */
  async idle(): Promise<void> {
    await this.queue.idle();
    await this.journal.committed();
  }

  /** Stops every running transfer (sessions kept) and starts nothing more until the next login (accountChanged()). */
  async shutdown(): Promise<void> {
    this.shutDown = true;
    await this.queue.shutdown();
    this.progress.flush();
  }

  /** Shuts the queue down and sends the last held-back progress. */
  async close(): Promise<void> {
    await this.queue.shutdown();
    this.progress.flush();
  }

  private makeJob(row: UploadRow): UploadJob {
    return new UploadJob(row, {
      client: this.account.requireClient(),
      journal: this.journal,
      limiter: this.limiter,
      chunkCap: this.chunkCap,
      policyFor: (folderUri) => this.policies.policyFor(folderUri),
      checkQuota: (name, size) => this.capacity.check(name, size),
      retry: this.retryPolicy(row),
      connectivity: this.connectivity,
      onState: this.onState,
      onFinish: this.onFinish,
      onProgress: (id, bytesDone) => {
        this.queue.noteProgress(id, bytesDone);
        this.progress.progressed(id, bytesDone);
      },
      onRetryAt: (id, at) => this.progress.retryAt(id, at),
      log: (level, message) => this.events.emit('log', { level, message }),
    });
  }

  /** The retry policy of one transfer: how long it waits out a busy server (busyRetryMinutes, or for ever). */
  private retryPolicy(row: UploadRow): RetryPolicy {
    const base = this.config.retry ?? DEFAULT_RETRY;
    if ((this.busyRetry.get(row.id) ?? busyDefault(row)) === 'forever') return { ...base, busyMs: Infinity };
    const minutes = this.config.busyRetryMinutes;
    const busyMs = minutes !== undefined && Number.isFinite(minutes) && minutes >= 0 ? minutes * 60_000 : (base.busyMs ?? DEFAULT_BUSY_MS);
    return { ...base, busyMs };
  }

  /** History rows written in the transaction of a transfer's end (upload-job onFinish), announced by onState. */
  private readonly finishedHistory = new Map<string, HistoryEntry>();

  private readonly onFinish = (row: UploadRow): void => {
    this.finishedHistory.set(row.id, this.insertHistory(row));
  };

  private recordHistory(row: UploadRow): void {
    const entry = this.finishedHistory.get(row.id) ?? this.insertHistory(row);
    this.finishedHistory.delete(row.id);
    this.events.emit('history-added', entry);
  }

  private insertHistory(row: UploadRow): HistoryEntry {
    return this.journal.history.insert({
      account: row.account,
      transferId: row.id,
      name: displayName(row.localPath),
      localPath: row.localPath,
      targetUri: row.targetUri,
      size: row.size,
      state: row.state as HistoryEntry['state'],
      error: row.error ? { code: row.error.code, message: row.error.message } : null,
      pairId: row.pairId ?? null,
    });
  }

  private readonly onState = (changed: UploadRow, from: TransferState): void => {
    let row = changed;
    if (row.state === 'paused' && !row.error && this.loginLost) {
      // paused because the login is gone (by the pause below, whichever transfer noticed first): say so on it too
      this.journal.uploads.update(row.id, { error: this.loginLost });
      row = { ...row, error: this.loginLost };
    }
    this.queue.noteState(row);
    this.progress.stateChanged(row, from);
    // after the end's own write (journal.later in upload-job finish()), which writes the history entry
    if (TERMINAL_STATES.has(row.state as TransferState)) this.journal.later(() => this.recordHistory(row));
    if (row.state === 'paused' && row.error?.code === 'login-required' && !this.stoppedForLogin) {
      // The login is gone (refresh token expired or revoked): stop starting work that cannot succeed.
      this.stoppedForLogin = true;
      this.loginLost = row.error;
      queueMicrotask(() => this.queue.pause());
      this.events.emit('account-changed', { loggedIn: false, email: this.account.email });
    }
  };
}

/** A sync pair's upload never fails for a busy server (it waits like offline); any other waits busyRetryMinutes. */
function busyDefault(row: Pick<UploadRow, 'pairId'>): BusyRetry {
  return row.pairId ? 'forever' : 'bounded';
}
