/**
 * Folder sync for the engine: the pairs (journal table sync_pairs), one-off passes (`cloudreve-sync sync`) and,
 * once started, every watched pair in the background: a watcher feeding its scheduler, a full scan hourly, and
 * the pair's state kept current (events 'pair-changed', 'sync-conflict').
 *
 * The states offline, login-required and unavailable only ever make a pair wait and retry: none is read as
 * "files were deleted".
 */
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import type { AccountSession } from '../account.js';
import { baseName, toUri } from '../api/uri.js';
import { EngineError, classify } from '../errors.js';
import type { TypedEmitter, EngineEvents } from '../events.js';
import type { SyncSettings } from '../engine-types.js';
import type { Journal } from '../journal/journal.js';
import type { Transfers } from '../transfers.js';
import type { ConflictChoice, PairState, PairStateDetail, SyncConflict, SyncIssue, SyncIssueCode, SyncMode, SyncPair } from '../types.js';
import { followRemoteChanges, type RemoteHints } from './remote-hints.js';
import { isNetworkFolder, watchFolder, type Watcher, type WatchOptions } from '../watcher/watcher.js';
import { IgnoreRules, isUnderFolder, normalizeExcluded } from './ignore-rules.js';
import { FolderUnavailable, osTrash, runPass, type PassOptions, type PassReport } from './pair-sync.js';
import { readLocal } from './discovery.js';
import { unchangedSince } from './reconcile.js';
import { PairScheduler, retryBackoff, type PassOutcome, type PassScope } from './scheduler.js';
import { SyncTracker, infoOrNull, type FileOutcome } from './sync-tracker.js';
import { DOWNLOAD_TERMINAL, type DownloadRequest, type DownloadsApi } from '../download-types.js';

export type { PassReport } from './pair-sync.js';
export type { SyncSettings } from '../engine-types.js';

export interface PairSpec {
  localPath: string;
  remoteUri: string;
  mode?: SyncMode;
  ignore?: string[];
  /** folders left out of the pair (selective sync), relative to its folder; see normalizeExcluded */
  excludeRemote?: string[];
}

/** The engine's sync surface (what the CLI, the control socket and later the app's IPC use). */
export interface SyncApi {
  listPairs(): SyncPair[];
  pair(id: string): SyncPair | null;
  addPair(spec: PairSpec): SyncPair;
  /** Stops syncing the pair and forgets its records; never deletes a file on either side. */
  removePair(id: string): Promise<void>;
  pausePair(id: string): SyncPair;
  resumePair(id: string): SyncPair;
  updatePair(id: string, patch: { mode?: SyncMode; ignore?: string[]; excludeRemote?: string[] }): SyncPair;
  /**
   * Sets the pair's excluded folders (selective sync; paths relative to its folder). An excluded folder and all under
   * it is neither listed, transferred, trashed nor deleted on either side; excluding deletes nothing anywhere, and a
   * folder taken back in is looked at whole by the next pass (a full one).
   */
  setExcludedFolders(id: string, folders: string[]): SyncPair;
  /** Runs one pass of the pair letting the deletions the guard held back go ahead (the count the user saw). */
  confirmDeletes(id: string, count: number): Promise<PassReport>;
  /**
   * Two-way, the pair's folder on the server gone or emptied (`remote-gone`): puts it back from this computer instead of
   * following the deletion — one pass as a backup (every local file and folder uploaded, nothing trashed or deleted
   * anywhere), after which the pair is two-way again. Refused for other pairs.
   */
  restoreRemote(id: string): Promise<PassReport>;
  /**
   * Starts a full pass of one pair, or of every pair that is not paused, in the background ("sync now"): a running
   * pair's scheduler runs it (right after the current pass, if one runs); a pair not running in the background gets
   * one pass whose outcome becomes its state. A paused pair is refused.
   */
  requestPass(id?: string): void;
  /** One pass of a configured pair, waiting for its uploads. */
  syncPair(id: string, opts?: { dryRun?: boolean }): Promise<PassReport>;
  /** One pass over a folder pair given on the command line (its records are kept for the next pass). */
  syncOnce(spec: PairSpec & { dryRun?: boolean }): Promise<PassReport>;
  conflicts(pairId?: string): SyncConflict[];
  dismissConflict(id: number): boolean;
  /**
   * Ends a conflict: keep-mine (ours becomes the file's new version, guarded by `previous` = theirs, and our conflict
   * copy goes to the server's trash), keep-both (the copy stays; the pair tracks the original from now on),
   * keep-theirs (not before two-way sync: refused with a usage error). The conflict leaves the list; the history
   * says who won.
   */
  resolveConflict(id: number, choice: ConflictChoice): Promise<SyncConflict>;
  /** Paths not on the server, and why (every pair, or one). */
  issues(pairId?: string): SyncIssue[];
  /** Keeps one pair (configured or not) watched and synced in the background; resolves to a stopper. */
  follow(id: string): Promise<() => Promise<void>>;
  /** Runs every watched pair in the background until stop(). */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly running: boolean;
}

interface Running {
  scheduler: PairScheduler;
  watcher: Watcher | null;
  remote: RemoteHints | null;
}

export class SyncService implements SyncApi {
  private readonly tracker: SyncTracker;
  private readonly active = new Map<string, Running>();
  private started = false;

  constructor(
    private readonly deps: {
      journal: Journal;
      transfers: Transfers;
      account: AccountSession;
      events: TypedEmitter<EngineEvents>;
      settings?: SyncSettings;
      /** two-way pairs bring the server's files down through it (transfer/downloader.ts) */
      downloads?: Pick<DownloadsApi, 'download' | 'list' | 'pause' | 'resume' | 'cancel'>;
    },
  ) {
    this.tracker = new SyncTracker({
      journal: deps.journal,
      transfers: deps.transfers,
      client: () => deps.account.requireClient(),
      events: deps.events,
      onPairSettled: (id) => {
        const p = deps.journal.pairs.get(id);
        if (p && (p.state === 'syncing' || p.state === 'idle' || p.state === 'incomplete' || p.state === 'remote-missing')) this.setState(id, ...this.settledState(id));
        this.wakeForRetries(id);
        this.releaseHeld(id);
      },
    });
    // uploads a pass queued before a restart: followed again, their outcome recorded in the pair's records
    this.tracker.adopt();
  }

  /** While a pair scans or uploads, what is still not on the server stays shown (the window and tray keep the count). */
  private busyDetail(id: string): PairStateDetail | null {
    const issues = this.deps.journal.syncIssues.list(id);
    return issues.length === 0 ? null : notSyncedDetail(issues);
  }

  /** idle when every path is on the server, else incomplete with how many are not and why. */
  private settledState(id: string): [PairState, PairStateDetail | null] {
    const issues = this.deps.journal.syncIssues.list(id);
    if (issues.length === 0) return ['idle', null];
    return ['incomplete', notSyncedDetail(issues)];
  }

  /** One pass of a pair at a time, whoever asks: a second request waits for the running one. */
  private readonly passLocks = new Map<string, Promise<unknown>>();
  private serial<T>(pairId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.passLocks.get(pairId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.passLocks.set(pairId, tail);
    void tail.then(() => {
      if (this.passLocks.get(pairId) === tail) this.passLocks.delete(pairId);
    });
    return next;
  }

  get running(): boolean {
    return this.started;
  }

  /** The settle delay setting changed: every folder watched now, and every one started later, uses the new one. */
  setSettleMs(ms: number): void {
    this.deps.settings = { ...this.deps.settings, settleMs: ms };
    for (const r of this.active.values()) r.watcher?.setSettleMs?.(ms);
  }

  listPairs(): SyncPair[] {
    if (!this.deps.account.loggedIn) return this.deps.journal.pairs.list({ watched: true });
    return this.deps.journal.pairs.list({ account: this.deps.account.key(), watched: true });
  }

  pair(id: string): SyncPair | null {
    return this.deps.journal.pairs.get(id) ?? null;
  }

  addPair(spec: PairSpec): SyncPair {
    const { localPath, remoteUri, mode, ignore, excludeRemote } = this.checkSpec(spec);
    const account = this.deps.account.key();
    const existing = this.deps.journal.pairs.find(account, localPath, remoteUri);
    if (existing?.watched) throw new EngineError('usage', `${localPath} is already synced to ${remoteUri} (pair ${existing.id})`);
    for (const p of this.deps.journal.pairs.list({ account, watched: true })) {
      if (overlaps(p.localPath, localPath)) throw new EngineError('usage', `${localPath} overlaps the synced folder ${p.localPath} (pair ${p.id})`);
    }
    let pair: SyncPair;
    if (existing) {
      // a folder synced once with `sync` becomes a configured pair, keeping its records
      this.deps.journal.pairs.update(existing.id, { watched: true, mode, ignore, excludeRemote, paused: false });
      pair = this.deps.journal.pairs.get(existing.id)!;
    } else {
      pair = this.deps.journal.pairs.insert({ id: randomUUID(), account, localPath, remoteUri, mode, ignore, excludeRemote });
    }
    this.deps.events.emit('pair-changed', pair);
    if (this.started) void this.activate(pair);
    return pair;
  }

  async removePair(id: string): Promise<void> {
    this.require(id);
    await this.deactivate(id);
    // its queued and running uploads stop, and their sessions are deleted on the server
    const ids = this.tracker.transferIds(id);
    this.tracker.forgetPair(id);
    for (const t of ids) await this.deps.transfers.cancel(t).catch(() => undefined);
    for (const d of this.pairDownloads(id)) await this.deps.downloads!.cancel(d).catch(() => undefined); // temp files removed
    this.deps.journal.pairs.delete(id);
    this.deps.events.emit('pair-removed', { id });
  }

  pausePair(id: string): SyncPair {
    this.require(id);
    this.deps.journal.pairs.update(id, { paused: true });
    const p = this.setState(id, 'paused', null);
    for (const t of this.tracker.transferIds(id)) this.deps.transfers.pause(t); // pause means pause: its uploads too
    for (const d of this.pairDownloads(id)) this.deps.downloads!.pause(d); // and its downloads (kept, with their bytes)
    void this.deactivate(id);
    return p;
  }

  resumePair(id: string): SyncPair {
    this.require(id);
    this.deps.journal.pairs.update(id, { paused: false });
    for (const t of this.tracker.transferIds(id)) this.deps.transfers.resume(t);
    for (const d of this.pairDownloads(id)) this.deps.downloads!.resume(d);
    const p = this.setState(id, ...this.settledState(id));
    if (this.started && p.watched) void this.activate(p);
    return p;
  }

  updatePair(id: string, patch: { mode?: SyncMode; ignore?: string[]; excludeRemote?: string[] }): SyncPair {
    const p = this.require(id);
    if (patch.mode !== undefined && !isMode(patch.mode)) throw new EngineError('usage', `mode must be backup, mirror or two-way, not ${String(patch.mode)}`);
    if (patch.ignore) new IgnoreRules(patch.ignore); // throws on a bad pattern
    if (patch.excludeRemote) patch = { ...patch, excludeRemote: normalizeExcluded(patch.excludeRemote) }; // throws on a bad path
    // backup → mirror: files deleted here while it was a backup would go to the server's trash; the first mirror
    // pass lists them and waits for the user's confirmation
    const deletes = (m: SyncMode) => m !== 'backup';
    const confirmMirror = patch.mode !== undefined && deletes(patch.mode) && !deletes(p.mode) ? true : patch.mode === 'backup' ? false : undefined;
    this.deps.journal.pairs.update(id, { ...patch, confirmMirror });
    const updated = this.require(id);
    this.deps.events.emit('pair-changed', updated);
    if (this.active.has(id)) {
      void this.deactivate(id).then(() => this.activate(updated));
    }
    return p && updated;
  }

  setExcludedFolders(id: string, folders: string[]): SyncPair {
    if (!Array.isArray(folders)) throw new EngineError('usage', 'the excluded folders are a list of paths');
    // updatePair restarts a running pair: its first pass is a full one, so a folder taken back in is looked at whole
    return this.updatePair(id, { excludeRemote: folders });
  }

  async confirmDeletes(id: string, count: number): Promise<PassReport> {
    const report = await this.passAndWait(this.require(id), { confirmedDeletes: count });
    if (!report.blocked && this.require(id).confirmMirror) this.deps.journal.pairs.update(id, { confirmMirror: false });
    return report;
  }

  async restoreRemote(id: string): Promise<PassReport> {
    // a configured pair, or the records of a one-off `sync` of the same folders
    const pair = this.deps.journal.pairs.get(id);
    if (!pair) throw new EngineError('not-found', `no sync pair ${id}`);
    if (pair.mode !== 'two-way') throw new EngineError('usage', `restore is for a two-way pair whose folder on the server is gone; ${pair.localPath} is a ${pair.mode} pair (it uploads a missing folder by itself)`);
    // this pass only: a backup's rules (missing remote files go up again, nothing is trashed or deleted)
    return this.passAndWait({ ...pair, mode: 'backup' }, {});
  }

  requestPass(id?: string): void {
    const pairs = id === undefined ? this.listPairs().filter((p) => !p.paused) : [this.require(id)];
    for (const p of pairs) {
      if (p.paused) throw new EngineError('usage', `the pair ${p.localPath} is paused; resume it first`);
      const running = this.active.get(p.id);
      if (running) running.scheduler.requestFull();
      else void this.pass(p, {}); // its failure becomes the pair's state (pass() never throws)
    }
  }

  async resolveConflict(id: number, choice: ConflictChoice): Promise<SyncConflict> {
    const c = this.deps.journal.conflicts.get(id);
    if (!c) throw new EngineError('not-found', `no conflict ${id}`);
    const pair = this.deps.journal.pairs.get(c.pairId);
    if (!pair) throw new EngineError('not-found', `the pair of conflict ${id} is gone`);
    if (choice === 'keep-theirs') {
      if (pair.mode !== 'two-way' || !this.deps.downloads) {
        throw new EngineError('usage', 'keep theirs needs a pair that brings the server\'s files down (a two-way pair): keep mine or keep both');
      }
      return this.serial(pair.id, () => this.keepTheirs(pair, c));
    }
    if (choice !== 'keep-mine' && choice !== 'keep-both') throw new EngineError('usage', `a conflict is resolved with keep-mine, keep-both or keep-theirs, not ${String(choice)}`);
    return this.serial(pair.id, async () => {
      const client = this.deps.account.requireClient();
      const theirs = await infoOrNull(client, c.remoteUri);
      if (choice === 'keep-both') {
        // the copy stays where it is; the pair tracks the original from now on (the next local save goes there,
        // guarded by its current version)
        const rec = this.deps.journal.syncEntries.get(pair.id, c.relPath);
        if (rec) {
          this.deps.journal.syncEntries.upsert({ ...rec, remoteId: theirs?.id ?? null, primaryEntity: theirs?.primary_entity ?? null });
        }
        this.deps.journal.conflicts.delete(id);
        this.deps.events.emit('sync-conflict-resolved', { conflict: c, choice });
        this.deps.events.emit('log', { level: 'info', message: `conflict ${c.relPath}: kept both (the server's version at ${c.remoteUri}, ours at ${c.conflictUri})` });
        return c;
      }
      // keep mine: ours becomes the file's new version, guarded by previous = theirs; the copy goes to the trash after
      const local = resolveLocal(pair.localPath, c.relPath);
      if (readLocal(local) === null) {
        throw new EngineError('usage', `keep mine: ours is no longer at ${local} (renamed, moved or deleted since the conflict); keep both ends the conflict, the server's version stays`);
      }
      this.deps.events.emit('log', { level: 'info', message: `conflict ${c.relPath}: keeping ours (uploading it over the server's version; the conflict copy then goes to the trash)` });
      // resolved when it is: the upload ended and the copy is in the trash (or it waits, paused: it ends when it goes on)
      const outcome = new Promise<FileOutcome>((resolveOutcome) =>
        void this.tracker.upload(pair, [
          { rel: c.relPath, localPath: local, remoteUri: c.remoteUri, kind: 'sync', previous: theirs?.primary_entity ?? null, resolves: id, onOutcome: resolveOutcome },
        ]),
      );
      const o = await outcome;
      if (o.result === 'failed') throw new EngineError('api', `keep mine: ${o.reason ?? 'the upload failed'}; the conflict stays open`);
      // two-way: a copy the download side made here (theirs) follows the copy on the server into the trash, as
      // keep-theirs does; left here, the pair read idle with a file the server no longer has (found by the soak)
      if (pair.mode === 'two-way' && o.result === 'uploaded') await this.trashCopyHere(pair, c);
      return c;
    });
  }

  /** The conflict's copy here goes to this computer's trash, unless it changed since it was recorded (then it stays). */
  private async trashCopyHere(pair: SyncPair, c: SyncConflict): Promise<void> {
    const copyRel = [...c.relPath.split('/').slice(0, -1), baseName(c.conflictUri)].join('/');
    const copy = resolveLocal(pair.localPath, copyRel);
    const rec = this.deps.journal.syncEntries.get(pair.id, copyRel);
    const now = readLocal(copy);
    if (now === null || 'problem' in now) return;
    if (rec && (now.kind !== 'file' || !unchangedSince(now, rec))) return;
    await (this.deps.settings?.trashLocal ?? osTrash)([copy]);
    this.deps.journal.syncEntries.delete(pair.id, copyRel);
  }

  /**
   * Keep theirs (two-way): ours goes to this computer's trash, the server's version comes down in its place, and the
   * conflict's copies (here and on the server) go to the trash too. Nothing is deleted for good.
   */
  private async keepTheirs(pair: SyncPair, c: SyncConflict): Promise<SyncConflict> {
    const client = this.deps.account.requireClient();
    const theirs = await infoOrNull(client, c.remoteUri);
    if (!theirs || theirs.type !== 0) throw new EngineError('not-found', `the server's ${c.relPath} is gone: keep mine or keep both`);
    const local = resolveLocal(pair.localPath, c.relPath);
    const toTrash = this.deps.settings?.trashLocal ?? osTrash;
    if (existsSync(local)) await toTrash([local]);
    const [o] = await this.deps.downloads!.download([
      { uri: c.remoteUri, target: local, size: theirs.size, entity: theirs.primary_entity ?? null, updatedAtMs: Date.parse(theirs.updated_at), expectLocal: null, pairId: pair.id, onExists: 'conflict' },
    ]);
    if (o.result !== 'done') {
      throw new EngineError('local-io', `keep theirs: the server's version could not be brought down (${o.result === 'failed' ? o.message : o.result}); ours is in this computer's trash`);
    }
    this.deps.journal.syncEntries.upsert({
      pairId: pair.id, relPath: c.relPath, kind: 'file', size: o.fp.size, mtimeMs: o.fp.mtimeMs, inode: o.fp.inode,
      remoteId: theirs.id, primaryEntity: o.remote.entity,
    });
    // the conflict's copy: on the server (theirs, or ours uploaded by an upload-side conflict) and here (two-way)
    await client.delete([c.conflictUri]).catch((err) => {
      if (!(err instanceof EngineError) || err.code !== 'not-found') throw err;
    });
    const copyRel = [...c.relPath.split('/').slice(0, -1), baseName(c.conflictUri)].join('/');
    const copy = resolveLocal(pair.localPath, copyRel);
    if (existsSync(copy)) await toTrash([copy]);
    this.deps.journal.syncEntries.delete(pair.id, copyRel);
    this.deps.journal.conflicts.delete(c.id);
    this.deps.events.emit('sync-conflict-resolved', { conflict: c, choice: 'keep-theirs' });
    this.deps.events.emit('log', { level: 'info', message: `conflict ${c.relPath}: kept the server's version (ours is in this computer's trash)` });
    return c;
  }

  issues(pairId?: string): SyncIssue[] {
    return this.deps.journal.syncIssues.list(pairId);
  }

  async syncPair(id: string, opts: { dryRun?: boolean } = {}): Promise<PassReport> {
    return this.passAndWait(this.require(id), opts);
  }

  async syncOnce(spec: PairSpec & { dryRun?: boolean }): Promise<PassReport> {
    const { localPath, remoteUri, mode, ignore, excludeRemote } = this.checkSpec(spec);
    const account = this.deps.account.key();
    let pair = this.deps.journal.pairs.find(account, localPath, remoteUri);
    if (!pair) {
      if (spec.dryRun) {
        const dry: SyncPair = {
          id: 'dry-run', account, localPath, remoteUri, mode, ignore, excludeRemote, paused: false, watched: false, state: 'idle', stateDetail: null,
          lastScanAt: null, lastScanMs: null, lastFullScanAt: null, lastChangeAt: null, confirmMirror: false, createdAt: 0, updatedAt: 0,
        };
        return runPass(dry, this.passDeps(), { dryRun: true });
      }
      pair = this.deps.journal.pairs.insert({ id: randomUUID(), account, localPath, remoteUri, mode, ignore, excludeRemote, watched: false });
    } else if (!pair.watched && !spec.dryRun) {
      this.deps.journal.pairs.update(pair.id, { mode, ignore, excludeRemote });
      pair = this.deps.journal.pairs.get(pair.id)!;
    } else if (!pair.watched) {
      pair = { ...pair, mode, ignore, excludeRemote }; // a dry run changes nothing, its pair's settings included
    } else {
      // this pass only
      pair = { ...pair, mode: spec.mode ?? pair.mode, ignore: spec.ignore ?? pair.ignore, excludeRemote: spec.excludeRemote ? excludeRemote : pair.excludeRemote };
    }
    return this.passAndWait(pair, { dryRun: spec.dryRun });
  }

  conflicts(pairId?: string): SyncConflict[] {
    return this.deps.journal.conflicts.list(pairId);
  }

  dismissConflict(id: number): boolean {
    return this.deps.journal.conflicts.delete(id);
  }

  async follow(id: string): Promise<() => Promise<void>> {
    const pair = this.deps.journal.pairs.get(id);
    if (!pair) throw new EngineError('not-found', `no sync pair ${id}`);
    await this.activate(pair);
    return () => this.deactivate(id);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const p of this.listPairs()) if (!p.paused) await this.activate(p);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.active.keys()].map((id) => this.deactivate(id)));
  }

  /** Stops following uploads (the engine closes). */
  async close(): Promise<void> {
    await this.stop();
    await this.tracker.dispose();
  }

  // ------------------------------------------------------------------------------------------------------

  private checkSpec(spec: PairSpec): { localPath: string; remoteUri: string; mode: SyncMode; ignore: string[]; excludeRemote: string[] } {
    const localPath = resolve(spec.localPath);
    let st;
    try {
      st = statSync(localPath);
    } catch {
      throw new EngineError('usage', `${localPath}: no such folder`);
    }
    if (!st.isDirectory()) throw new EngineError('usage', `${localPath}: not a folder (sync pairs are folders)`);
    const remoteUri = toUri(spec.remoteUri);
    const mode = spec.mode ?? 'backup';
    if (!isMode(mode)) throw new EngineError('usage', `mode must be backup, mirror or two-way, not ${String(mode)}`);
    const ignore = [...(spec.ignore ?? [])];
    new IgnoreRules(ignore); // throws a usage error naming a bad pattern
    return { localPath, remoteUri, mode, ignore, excludeRemote: normalizeExcluded(spec.excludeRemote ?? []) };
  }

  private require(id: string): SyncPair {
    const p = this.deps.journal.pairs.get(id);
    if (!p || !p.watched) throw new EngineError('not-found', `no sync pair ${id}`);
    return p;
  }

  private setState(id: string, state: PairState, detail: SyncPair['stateDetail']): SyncPair {
    this.deps.journal.pairs.update(id, { state, stateDetail: detail });
    const p = this.deps.journal.pairs.get(id)!;
    if (p.watched) this.deps.events.emit('pair-changed', p);
    return p;
  }

  private passDeps() {
    return {
      journal: this.deps.journal,
      client: () => this.deps.account.requireClient(),
      upload: (pair: SyncPair, reqs: Parameters<SyncTracker['upload']>[1]) => this.tracker.upload(pair, reqs),
      busy: (pairId: string) => this.tracker.busy(pairId),
      guard: this.deps.settings?.guard,
      download: this.deps.downloads ? (reqs: DownloadRequest[]) => this.deps.downloads!.download(reqs) : undefined,
      trashLocal: this.deps.settings?.trashLocal,
      onConflict: (c: SyncConflict) => this.deps.events.emit('sync-conflict', c),
    };
  }

  /** One pass with the pair's state kept current; failures become the pair's state (never thrown away). */
  private pass(pair: SyncPair, opts: PassOptions): Promise<{ outcome: PassOutcome; report: PassReport | null; error: EngineError | null }> {
    return this.serial(pair.id, () => this.passNow(pair, opts));
  }

  private async passNow(pair: SyncPair, opts: PassOptions): Promise<{ outcome: PassOutcome; report: PassReport | null; error: EngineError | null }> {
    if (pair.watched) {
      const current = this.deps.journal.pairs.get(pair.id);
      if (!current) return { outcome: 'ok', report: null, error: new EngineError('not-found', `no sync pair ${pair.id}`) };
      // what changed while this request waited for the pass before it (confirmation, state), with the request's own
      // mode, ignore rules and excluded folders (a `sync` of a configured pair may set them for its pass)
      pair = { ...current, mode: pair.mode, ignore: pair.ignore, excludeRemote: pair.excludeRemote };
    }
    const before = opts.folders !== undefined ? this.deps.journal.pairs.get(pair.id) : undefined;
    const heldBefore = before?.state === 'needs-confirmation' ? before.stateDetail : null;
    if (!opts.dryRun) this.setState(pair.id, 'scanning', this.busyDetail(pair.id));
    const started = Date.now();
    try {
      const report = await runPass(pair, this.passDeps(), opts);
      if (!opts.dryRun) {
        this.deps.journal.pairs.update(pair.id, { lastScanMs: Date.now() - started });
        this.tellPass(pair, report);
        if (report.blocked) {
          this.setState(pair.id, 'needs-confirmation', { code: report.blocked.code, message: report.blocked.message, pendingDeletes: report.blocked.pendingDeletes, paths: report.blocked.paths });
        } else if (heldBefore) {
          // a pass over some folders does not lift a hold on deletions it did not look at: the pair keeps asking
          // until a whole pass (the confirmation's, or the next full scan) finds nothing held (it read `idle` while
          // the mass delete was still held back; found by the two-way soak, seed 4)
          this.setState(pair.id, 'needs-confirmation', heldBefore);
        } else if (report.remoteRootMissing && this.tracker.pending(pair.id) > 0) {
          this.setState(pair.id, 'remote-missing', {
            code: 'remote-missing',
            message: `the pair's folder on the server (${pair.remoteUri}) was gone (deleted on the web page?): uploading everything again; nothing was deleted here`,
          });
        } else if (this.tracker.pending(pair.id) > 0) this.setState(pair.id, 'syncing', this.busyDetail(pair.id));
        else this.setState(pair.id, ...this.settledState(pair.id));
      }
      return { outcome: 'ok', report, error: null };
    } catch (err) {
      const e = err instanceof EngineError ? err : new EngineError('local-io', err instanceof Error ? err.message : String(err), { cause: err });
      const state: PairState =
        e instanceof FolderUnavailable ? 'unavailable' : e.code === 'login-required' ? 'login-required' : classify(e) === 'retry' ? 'offline' : 'error';
      if (!opts.dryRun) this.setState(pair.id, state, { code: e.code, message: e.message });
      this.deps.events.emit('log', { level: 'warn', message: `sync ${pair.localPath}: ${e.message}` });
      return { outcome: 'retry', report: null, error: e };
    }
  }

  private async passAndWait(pair: SyncPair, opts: PassOptions): Promise<PassReport> {
    const { report, error } = await this.pass(pair, { ...opts, waitUploads: true });
    if (error) throw error;
    if (!opts.dryRun) {
      await this.tracker.settled();
      report!.notSynced = this.deps.journal.syncIssues.list(pair.id).length;
    }
    return report!;
  }

  /** What a pass did that the user must be able to read back: each path trashed, each new problem. */
  private tellPass(pair: SyncPair, report: PassReport): void {
    if (report.trashed.length > 0) {
      this.deps.events.emit('sync-trashed', { pairId: pair.id, paths: [...report.trashed] });
      for (const rel of report.trashed) this.deps.events.emit('log', { level: 'info', message: `sync ${pair.localPath}: moved to the server's trash: ${rel}` });
    }
    if (report.remoteRootMissing) {
      this.deps.events.emit('log', { level: 'warn', message: `sync ${pair.localPath}: the folder on the server (${pair.remoteUri}) is gone; nothing is deleted here, everything is uploaded again` });
    }
    // each problem once while it lasts (a full scan every hour must not repeat them all)
    const current = new Set(this.deps.journal.syncIssues.list(pair.id).map((i) => `${i.relPath}\0${i.code}`));
    const told = this.told.get(pair.id) ?? new Set<string>();
    for (const p of report.problems) {
      const key = `${p.rel}\0${p.code ?? 'failed'}`;
      if (told.has(key)) continue;
      told.add(key);
      this.deps.events.emit('log', { level: 'warn', message: `sync ${pair.localPath}: cannot sync ${p.rel}: ${p.reason}` });
    }
    for (const k of told) if (!current.has(k)) told.delete(k);
    this.told.set(pair.id, told);
  }

  /** problems already told per pair (path + code), until they go away */
  private readonly told = new Map<string, Set<string>>();

  private async activate(pair: SyncPair): Promise<void> {
    if (this.active.has(pair.id)) return;
    const settings = this.deps.settings ?? {};
    const scheduler = new PairScheduler(
      async (scope: PassScope) => {
        const current = this.deps.journal.pairs.get(pair.id);
        if (!current || current.paused) return 'ok';
        const { outcome, report } = await this.pass(current, { folders: scope.folders });
        this.wakeForRetries(pair.id);
        if (report) this.holdUntilUploads(pair.id, report.heldForUploads);
        return outcome;
      },
      { scanIntervalMs: settings.scanIntervalMs ?? 3_600_000, pollIntervalMs: settings.pollIntervalMs ?? 300_000, retryDelayMs: retryBackoff },
    );
    const running: Running = { scheduler, watcher: null, remote: null };
    this.active.set(pair.id, running);
    const ignore = new IgnoreRules(pair.ignore, { excluded: pair.excludeRemote });
    const fallback = (reason: string) => {
      running.watcher = null;
      scheduler.setPolling(true);
      this.deps.events.emit('log', { level: 'warn', message: `sync ${pair.localPath}: ${reason}` });
    };
    try {
      if (await (settings.isNetworkFolder ?? isNetworkFolder)(pair.localPath)) {
        fallback('a network share: no change events arrive from it; scanning periodically instead');
      } else {
        running.watcher = await (settings.watch ?? watchFolder)({
          root: pair.localPath,
          settleMs: settings.settleMs ?? 2000,
          maxWaitMs: settings.maxSettleWaitMs ?? 600_000,
          ignored: (rel, isFolder) => ignore.ignores(rel, isFolder),
          onChanges: (rels) => {
            this.sawChange(pair.id);
            scheduler.requestFolders(changedFolders(rels));
          },
          onFallback: fallback,
          onFullRescan: (reason) => {
            this.deps.events.emit('log', { level: 'info', message: `sync ${pair.localPath}: ${reason}; scanning the whole folder` });
            this.sawChange(pair.id);
            scheduler.requestFull();
          },
          onRootLost: (reason) => {
            this.deps.events.emit('log', { level: 'warn', message: `sync ${pair.localPath}: ${reason}` });
            scheduler.requestFull(); // the pass finds the folder gone: state 'unavailable' while it is (nothing deleted)
          },
          onRootBack: () => this.deps.events.emit('log', { level: 'info', message: `sync ${pair.localPath}: the folder is back; watching it again` }),
        });
      }
    } catch (err) {
      fallback(`cannot watch the folder (${err instanceof Error ? err.message : String(err)}); scanning periodically instead`);
    }
    if (this.active.get(pair.id) !== running) {
      await running.watcher?.close(); // deactivated while the watcher started
      return;
    }
    if (settings.remoteHints !== false) {
      running.remote = followRemoteChanges({
        client: () => this.deps.account.requireClient(),
        uri: pair.remoteUri,
        onFolders: (hinted) => {
          // a change inside an excluded folder asks for nothing (the pair's current list: a pass may have moved it)
          const excluded = this.deps.journal.pairs.get(pair.id)?.excludeRemote ?? ignore.excluded;
          const folders = hinted.filter((f) => f === '' || !excluded.some((x) => isUnderFolder(f, x)));
          if (folders.length === 0) return;
          this.sawChange(pair.id);
          scheduler.requestFolders(folders);
        },
        onLog: (level, message) => this.deps.events.emit('log', { level, message: `sync ${pair.localPath}: ${message}` }),
        retry: settings.remoteHintRetry,
      });
    }
    scheduler.start();
  }

  /** per pair: folders with trashing held back until the uploads running now end (the content's new name) */
  private readonly heldFolders = new Map<string, Set<string>>();

  /** A pass held deletions back for uploads still running: the folders are looked at again once those end. */
  private holdUntilUploads(id: string, rels: string[]): void {
    if (rels.length === 0) return;
    const f = this.heldFolders.get(id) ?? new Set<string>();
    for (const rel of rels) f.add(rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
    this.heldFolders.set(id, f);
    if (this.tracker.pending(id) === 0) this.releaseHeld(id); // they ended while the pass ran
  }

  private releaseHeld(id: string): void {
    const f = this.heldFolders.get(id);
    if (!f) return;
    this.heldFolders.delete(id);
    this.active.get(id)?.scheduler.requestFolders([...f]);
  }

  /** A running pair is looked at again when the first of its failed files' retry times comes (not an hour later). */
  private wakeForRetries(id: string): void {
    const at = nextRetryAt(this.deps.journal.syncIssues.list(id), Date.now());
    if (at !== null) this.active.get(id)?.scheduler.wakeAt(at);
  }

  /** The pair's downloads not finished yet (two-way). */
  private pairDownloads(id: string): string[] {
    if (!this.deps.downloads) return [];
    return this.deps.downloads
      .list()
      .filter((d) => d.pairId === id && !DOWNLOAD_TERMINAL.has(d.state))
      .map((d) => d.id);
  }

  private sawChange(id: string): void {
    if (this.deps.journal.pairs.get(id)) this.deps.journal.pairs.update(id, { lastChangeAt: Date.now() });
  }

  private async deactivate(id: string): Promise<void> {
    const r = this.active.get(id);
    if (!r) return;
    this.active.delete(id);
    await r.remote?.stop();
    await r.watcher?.close();
    await r.scheduler.stop();
  }
}

const ISSUE_WORDS: Record<SyncIssueCode, string> = {
  quota: 'quota full',
  'too-large': 'too large for the storage policy',
  'name-refused': 'name refused by Cloudreve',
  unreadable: 'cannot be read',
  'special-file': 'not a regular file',
  'name-twins': 'two names differ only in Unicode normalisation',
  'type-clash': 'a file and a folder of the same name',
  locked: 'locked on the server',
  'retry-spent': 'the server was busy or unreachable',
  vanished: 'changed or vanished while read',
  failed: 'upload failed',
};

/** The first retry time still to come among a pair's not-synced paths (null: none waits for a time). */
export function nextRetryAt(issues: readonly Pick<SyncIssue, 'retryAt'>[], now: number): number | null {
  let at: number | null = null;
  for (const i of issues) if (i.retryAt !== null && i.retryAt > now && (at === null || i.retryAt < at)) at = i.retryAt;
  return at;
}

/** "12 files not backed up: quota full (and 2 cannot be read)", with the counts per code for the screens. */
export function notSyncedDetail(issues: readonly SyncIssue[]): PairStateDetail {
  const byCode: Partial<Record<SyncIssueCode, number>> = {};
  for (const i of issues) byCode[i.code] = (byCode[i.code] ?? 0) + 1;
  const ranked = (Object.entries(byCode) as Array<[SyncIssueCode, number]>).sort((a, b) => b[1] - a[1]);
  const [top] = ranked;
  const rest = ranked.slice(1).map(([c, n]) => `${n} ${ISSUE_WORDS[c]}`);
  const n = issues.length;
  const message = `${n} ${n === 1 ? 'path' : 'paths'} not on the server: ${ISSUE_WORDS[top[0]]}${rest.length ? ` (and ${rest.join(', ')})` : ''}`;
  return { code: top[0], message, notSynced: { count: n, byCode } };
}

function isMode(m: unknown): m is SyncMode {
  return m === 'backup' || m === 'mirror' || m === 'two-way';
}

function resolveLocal(root: string, rel: string): string {
  return resolve(root, ...rel.split('/'));
}

/** The folders to look at for changed paths: each path's parent (a pass looks at a folder's direct children). */
export function changedFolders(rels: string[]): string[] {
  const out = new Set<string>();
  for (const rel of rels) {
    const i = rel.lastIndexOf('/');
    out.add(i < 0 ? '' : rel.slice(0, i));
  }
  return [...out].sort();
}

function overlaps(a: string, b: string): boolean {
  const inside = (x: string, y: string) => {
    const r = relative(y, x);
    return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && !/^[a-zA-Z]:/.test(r));
  };
  return inside(a, b) || inside(b, a);
}
