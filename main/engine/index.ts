/**
 * The engine's only entry for the shell and the CLI: createEngine(config) → Engine.
 * Plain Node: never imports electron. Whatever it needs from the host (paths, secrets) arrives in EngineConfig.
 */
import { mkdirSync, promises as fsp } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CloudreveClient } from './api/client.js';
import { clearAccount, loadAccount, saveAccount, type AccountRecord } from './api/credentials.js';
import type { Capacity, StoragePolicy } from './api/types.js';
import { joinUri, parentUri, toUri } from './api/uri.js';
import { installationId } from './config.js';
import { Connectivity, type ProbeTiming } from './connectivity.js';
import { lockHome } from './home-lock.js';
import { EngineError, classify, type ErrorCode } from './errors.js';
import { TypedEmitter, type EngineEvents } from './events.js';
import { fingerprint } from './fs/file-source.js';
import { openJournal, type Journal, type UploadRow } from './journal/journal.js';
import { EmitThrottle, SpeedMeter, eta } from './transfer/progress.js';
import { checkQuota } from './transfer/preflight.js';
import { DEFAULT_QUEUE, RESUMABLE_STATES, TransferQueue, type QueueOptions } from './transfer/queue.js';
import type { RetryPolicy } from './transfer/retry.js';
import { BandwidthLimiter } from './transfer/throttle.js';
import { UploadJob } from './transfer/upload-job.js';
import { TERMINAL_STATES, type AccountInfo, type ConnectivityState, type IfExists, type OverallProgress, type TransferSnapshot, type TransferState } from './types.js';

export type { EngineEvents } from './events.js';
export * from './types.js';

export interface EngineConfig {
  /** Folder holding config, credentials and the journal (created 0700). */
  home: string;
  /** Files in flight at once (default 3), plus `smallFileSlots` (default 4) only small files may use. */
  maxActiveFiles?: number;
  smallFileSlots?: number;
  /** User cap on chunk concurrency per file (default 4); the policy's chunk_concurrency also caps it. */
  chunkConcurrencyCap?: number;
  /** Shared upload limit in bytes/s; 0 = unlimited. */
  bandwidthLimit?: number;
  /** What to do when the target exists (default 'rename'). */
  ifExists?: IfExists;
  /** Continue interrupted transfers from the journal at start (the desktop app: true; the CLI: false). */
  autoResume?: boolean;
  /** How long a changed file must stay still before it is uploaded again (ms, default 2000). */
  settleMs?: number;
  /**
   * Take the home folder's lock (default true): one engine drives a journal at a time. A read-only look
   * (`cloudreve-sync transfers`) passes false.
   */
  exclusive?: boolean;
  /** Overrides for tests. */
  retry?: RetryPolicy;
  /** how often an unreachable server is probed (first retry after baseMs, doubling up to maxMs) */
  offlineProbe?: Partial<ProbeTiming>;
  progressIntervalMs?: number;
}

export interface EnqueueOptions {
  ifExists?: IfExists;
  priority?: number;
}

export interface Engine {
  readonly events: TypedEmitter<EngineEvents>;
  account(): AccountInfo | null;
  login(server: string, email: string, password: string, otp?: string): Promise<AccountInfo>;
  logout(): Promise<void>;
  /** Files and folders (recursively) to upload under the remote folder `targetFolderUri`. Returns transfer ids. */
  enqueue(paths: string[], targetFolderUri: string, opts?: EnqueueOptions): Promise<string[]>;
  /** Continue interrupted (or paused) transfers from the journal: all of them, or the given ids. */
  resumeInterrupted(ids?: string[]): string[];
  listTransfers(): TransferSnapshot[];
  transfer(id: string): TransferSnapshot | null;
  overall(): OverallProgress;
  /** Whether the server can be reached; offline, transfers wait and continue by themselves (connectivity.ts). */
  connectivity(): ConnectivityState;
  /** Pause one transfer, or everything when id is omitted (keeps server sessions). */
  pause(id?: string): void;
  resume(id?: string): void;
  /** Cancel: stops the transfer and deletes its server session. */
  cancel(id: string): Promise<void>;
  retry(id: string): void;
  setPriority(id: string, priority: number): void;
  setBandwidthLimit(bytesPerSecond: number): void;
  /** Files in flight and the per-file cap on parts in flight; applies to what starts from now on. */
  setConcurrency(limits: { maxActiveFiles?: number; chunkConcurrencyCap?: number }): void;
  /** Remove finished (done/skipped/cancelled) transfers from the list. */
  clearFinished(): number;
  /** Resolves when nothing admitted is queued, running or waiting. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** What the engine tracks in memory about a transfer while it is active. */
interface Live {
  meter: SpeedMeter;
  bytesDone: number;
  size: number;
}

export async function createEngine(config: EngineConfig): Promise<Engine> {
  const home = resolve(config.home);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const lock = config.exclusive === false ? null : lockHome(home);
  let journal: Journal;
  try {
    journal = openJournal(join(home, 'journal.db'));
  } catch (err) {
    lock?.release();
    throw err;
  }
  const events = new TypedEmitter<EngineEvents>();
  const limiter = new BandwidthLimiter(config.bandwidthLimit ?? 0);
  const clientId = installationId(home);
  let record: AccountRecord | null = await loadAccount(home);
  let client: CloudreveClient | null = record ? clientFor(record) : null;
  const live = new Map<string, Live>();
  const policyCache = new Map<string, Promise<StoragePolicy | null>>();
  let capacity: { value: Capacity | null; at: number; reserved: number } = { value: null, at: 0, reserved: 0 };
  const progressMs = config.progressIntervalMs ?? 250;

  function clientFor(rec: AccountRecord): CloudreveClient {
    return new CloudreveClient({
      baseUrl: rec.server,
      clientId,
      tokens: rec.tokens,
      version: rec.serverVersion,
      onTokens: (tokens) => {
        if (!record) return;
        record = { ...record, tokens: tokens ?? record.tokens };
        if (tokens) void saveAccount(home, record);
      },
    });
  }

  function accountKey(): string {
    if (!record) throw new EngineError('login-required', 'not logged in: run `cloudreve-sync login` first');
    return `${record.server}|${record.userId}`;
  }

  function requireClient(): CloudreveClient {
    if (!client) throw new EngineError('login-required', 'not logged in: run `cloudreve-sync login` first');
    return client;
  }

  // ---- progress --------------------------------------------------------------------------------------
  const progressThrottle = new EmitThrottle<{ bytesDone: number }>(progressMs, (id, v) => {
    const l = live.get(id);
    const speed = l ? l.meter.sample(v.bytesDone) : 0;
    events.emit('transfer-progressed', { id, bytesDone: v.bytesDone, speed, eta: l ? eta(l.size - v.bytesDone, speed) : null });
  });
  const overallMeter = new SpeedMeter();
  const overallThrottle = new EmitThrottle<null>(progressMs, () => events.emit('overall-progressed', overall()));

  function liveOf(id: string): Live {
    let l = live.get(id);
    if (!l) {
      l = { meter: new SpeedMeter(), bytesDone: 0, size: 0 };
      live.set(id, l);
    }
    return l;
  }

  function snapshot(row: UploadRow): TransferSnapshot {
    const l = live.get(row.id);
    const running = !TERMINAL_STATES.has(row.state as TransferState) && row.state !== 'paused';
    const bytesDone = l && running ? Math.max(l.bytesDone, 0) : row.bytesDone;
    const speed = running && l ? l.meter.bytesPerSecond : 0;
    return {
      id: row.id,
      localPath: row.localPath,
      targetUri: row.sessionUri ?? row.targetUri,
      size: row.size,
      state: row.state as TransferState,
      priority: row.priority,
      bytesDone,
      speed,
      eta: running ? eta(row.size - bytesDone, speed) : null,
      encrypted: !!row.session?.encrypt_metadata,
      error: row.error,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  function overall(): OverallProgress {
    const t = queue.totals();
    const speed = overallMeter.sample(t.bytesDone);
    return { ...t, speed, eta: eta(t.bytesTotal - t.bytesDone, speed) };
  }

  function onState(row: UploadRow, from: TransferState): void {
    queue.noteState(row);
    if (row.state === 'queued' || row.state === 'preflight') {
      const l = liveOf(row.id);
      l.meter.reset();
      l.size = row.size;
    }
    if (TERMINAL_STATES.has(row.state as TransferState) || row.state === 'paused') {
      // the last progress goes out before the state change; then the journal's row is the truth again
      progressThrottle.flush(row.id);
      progressThrottle.forget(row.id);
      live.delete(row.id);
    }
    events.emit('transfer-state-changed', { transfer: snapshot(row), from });
    overallThrottle.push('all', null);
    if (row.state === 'paused' && row.error?.code === 'login-required' && !stoppedForLogin) {
      // The login is gone (refresh token expired or revoked): stop starting work that cannot succeed.
      stoppedForLogin = true;
      queueMicrotask(() => queue.pause());
      events.emit('account-changed', { loggedIn: false, email: record?.email });
    }
  }
  let stoppedForLogin = false;

  // ---- policy and quota, cached --------------------------------------------------------------------
  /** The policy uploads into a folder use, looked up once per folder (concurrent callers share the lookup). */
  function policyFor(folderUri: string): Promise<StoragePolicy | null> {
    let p = policyCache.get(folderUri);
    if (!p) {
      p = lookUpPolicy(folderUri);
      policyCache.set(folderUri, p);
      p.catch(() => policyCache.delete(folderUri)); // a failed lookup is tried again next time
    }
    return p;
  }

  async function lookUpPolicy(folderUri: string): Promise<StoragePolicy | null> {
    let uri = folderUri;
    for (let depth = 0; depth < 64; depth++) {
      try {
        return (await requireClient().listPage(uri)).storage_policy ?? null;
      } catch (err) {
        if (!(err instanceof EngineError) || err.code !== 'not-found') throw err;
        const parent = parentUri(uri);
        if (parent === uri) return null;
        uri = parent; // not created yet: uploads there will use its nearest existing ancestor's policy
      }
    }
    return null;
  }

  async function quotaCheck(name: string, size: number): Promise<EngineError | null> {
    if (Date.now() - capacity.at > 5000) {
      try {
        capacity = { value: await requireClient().capacity(), at: Date.now(), reserved: 0 };
      } catch {
        return null; // the server will say 40051 itself if it must
      }
    }
    const err = checkQuota(name, size, capacity.value, capacity.reserved);
    if (!err) capacity.reserved += size;
    return err;
  }

  // ---- offline state: one probe loop for the whole engine -------------------------------------------------
  const connectivity = new Connectivity({
    probe: () => {
      if (!record) throw new EngineError('login-required', 'not logged in');
      return CloudreveClient.detect(record.server, { timeouts: { connectMs: 5_000, responseMs: 10_000, totalMs: 15_000 } });
    },
    timing: config.offlineProbe,
    onChange: (state) => events.emit('connectivity-changed', state),
  });

  let chunkCap = Math.max(1, config.chunkConcurrencyCap ?? 4);
  const makeJob = (row: UploadRow) =>
    new UploadJob(row, {
      client: requireClient(),
      journal,
      limiter,
      chunkCap,
      policyFor,
      checkQuota: quotaCheck,
      retry: config.retry,
      connectivity,
      onState,
      onProgress: (id, bytesDone) => {
        liveOf(id).bytesDone = bytesDone;
        queue.noteProgress(id, bytesDone);
        progressThrottle.push(id, { bytesDone });
        overallThrottle.push('all', null);
      },
      log: (level, message) => events.emit('log', { level, message }),
    });

  const queueOpts: QueueOptions = {
    ...DEFAULT_QUEUE,
    maxActiveFiles: Math.max(1, config.maxActiveFiles ?? DEFAULT_QUEUE.maxActiveFiles),
    smallFileSlots: Math.max(0, config.smallFileSlots ?? DEFAULT_QUEUE.smallFileSlots),
    settleMs: config.settleMs ?? DEFAULT_QUEUE.settleMs,
  };
  const queue = new TransferQueue(journal, makeJob, queueOpts, onState);

  /**
   * What a crash or a network loss left unfinished: transfers stopped mid-flight, and failed ones whose failure was
   * transient (network, timeout, server fault: their retry budget ran out while the server was unreachable).
   */
  function interruptedIds(): string[] {
    if (!record) return [];
    return journal.uploads
      .list({ account: accountKey() })
      .filter(
        (r) =>
          (RESUMABLE_STATES.has(r.state as TransferState) && r.state !== 'paused') ||
          (r.state === 'failed' && r.error !== null && classify(new EngineError(r.error.code as ErrorCode, r.error.message)) === 'retry'),
      )
      .map((r) => r.id);
  }

  // ---- enqueue --------------------------------------------------------------------------------------
  async function collect(path: string, folderUri: string, out: Array<{ path: string; uri: string }>, folders: string[]): Promise<void> {
    const st = await fsp.lstat(path).catch((err: NodeJS.ErrnoException) => {
      throw new EngineError('local-io', `${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code}`);
    });
    const name = basename(path);
    if (st.isSymbolicLink()) {
      const target = await fsp.stat(path).catch(() => null);
      if (!target) {
        events.emit('log', { level: 'warn', message: `${path}: broken symbolic link, skipped` });
        return;
      }
      if (target.isDirectory()) {
        events.emit('log', { level: 'warn', message: `${path}: symbolic link to a folder, skipped (links are not followed into folders)` });
        return;
      }
    }
    if (st.isDirectory()) {
      const uri = joinUri(folderUri, name);
      folders.push(uri);
      const entries = (await fsp.readdir(path)).sort();
      for (const e of entries) await collect(join(path, e), uri, out, folders);
      return;
    }
    out.push({ path, uri: joinUri(folderUri, name) });
  }

  async function enqueue(paths: string[], targetFolderUri: string, opts: EnqueueOptions = {}): Promise<string[]> {
    const c = requireClient();
    const target = toUri(targetFolderUri);
    const files: Array<{ path: string; uri: string }> = [];
    const folders: string[] = [];
    for (const p of paths) await collect(resolve(p), target, files, folders);
    // Remote folders first (empty ones too); session creation would make parents, but not empty folders.
    for (const f of folders) await c.createFolder(f);
    const account = accountKey();
    const rows: UploadRow[] = [];
    const fps = await Promise.all(files.map((f) => fingerprint(f.path)));
    journal.transaction(() => {
      files.forEach((f, i) => {
        rows.push(
          journal.uploads.insert({
            id: randomUUID(),
            account,
            localPath: f.path,
            targetUri: f.uri,
            size: fps[i].size,
            mtimeMs: fps[i].mtimeMs,
            inode: fps[i].inode,
            ifExists: opts.ifExists ?? config.ifExists ?? 'rename',
            priority: opts.priority ?? 0,
            state: 'queued',
            session: null,
            sessionUri: null,
            bytesDone: 0,
            error: null,
            attempts: 0,
          }),
        );
      });
    });
    for (const r of rows) events.emit('transfer-added', snapshot(r));
    queue.admit(rows.map((r) => r.id));
    return rows.map((r) => r.id);
  }

  const engine: Engine = {
    events,
    account: () =>
      record ? { server: record.server, email: record.email, userId: record.userId, nickname: record.nickname, serverVersion: record.serverVersion } : null,
    async login(server, email, password, otp) {
      const { version } = await CloudreveClient.detect(server);
      const c = new CloudreveClient({ baseUrl: server, clientId, version });
      let result;
      try {
        result = await c.login(email, password);
      } catch (err) {
        if (!(err instanceof EngineError) || err.code !== 'otp-required' || !otp) throw err;
        const sessionId = (err.data as { sessionId: string }).sessionId;
        result = await c.login2fa(sessionId, otp);
      }
      record = {
        server: c.baseUrl,
        email: result.user.email ?? email,
        userId: result.user.id,
        nickname: result.user.nickname,
        serverVersion: version,
        tokens: result.token,
      };
      await saveAccount(home, record);
      client = clientFor(record);
      policyCache.clear();
      stoppedForLogin = false;
      events.emit('account-changed', { loggedIn: true, email: record.email });
      return engine.account()!;
    },
    async logout() {
      await queue.shutdown();
      try {
        await client?.logout();
      } finally {
        await clearAccount(home);
        record = null;
        client = null;
        events.emit('account-changed', { loggedIn: false });
      }
    },
    enqueue,
    resumeInterrupted(ids) {
      const list = ids && ids.length > 0 ? ids : interruptedIds();
      for (const id of list) {
        const row = journal.uploads.get(id);
        if (!row) throw new EngineError('not-found', `no transfer ${id}`);
        if (row.account !== accountKey()) throw new EngineError('permission', `transfer ${id} belongs to another account`);
      }
      queue.admit(list);
      for (const id of list) {
        const row = journal.uploads.get(id)!;
        if (row.state === 'paused') queue.resume(id);
        else if (row.state === 'failed') queue.retry(id); // keeps its session: the parts already sent stay sent
      }
      return list;
    },
    listTransfers: () => (record ? journal.uploads.list({ account: accountKey() }).map(snapshot) : []),
    transfer: (id) => {
      const r = journal.uploads.get(id);
      return r ? snapshot(r) : null;
    },
    overall,
    connectivity: () => connectivity.state(),
    pause: (id) => queue.pause(id),
    resume: (id) => queue.resume(id),
    cancel: (id) => queue.cancel(id),
    retry: (id) => queue.retry(id),
    setPriority: (id, p) => queue.setPriority(id, p),
    setBandwidthLimit: (bps) => limiter.setRate(Math.max(0, bps)),
    setConcurrency({ maxActiveFiles, chunkConcurrencyCap }) {
      if (chunkConcurrencyCap !== undefined) chunkCap = Math.max(1, Math.floor(chunkConcurrencyCap));
      if (maxActiveFiles !== undefined) queue.setMaxActiveFiles(maxActiveFiles);
    },
    clearFinished() {
      let n = 0;
      for (const r of journal.uploads.list()) {
        if (r.state === 'done' || r.state === 'skipped' || r.state === 'cancelled') {
          journal.uploads.delete(r.id);
          live.delete(r.id);
          events.emit('transfer-removed', { id: r.id });
          n++;
        }
      }
      return n;
    },
    idle: () => queue.idle(),
    async close() {
      connectivity.close();
      await queue.shutdown();
      progressThrottle.flush();
      journal.close();
      lock?.release();
    },
  };

  if (config.autoResume && record) queue.admit(interruptedIds());
  return engine;
}
