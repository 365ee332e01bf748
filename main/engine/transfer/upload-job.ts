/**
 * One file's upload: an explicit state machine.
 *
 *            ┌──────────── pause (session kept) ─────────────┐
 *            │                                               ▼
 *  queued ─► preflight ─► creating-session ─► uploading ─► completing ─► done
 *                │               │   │            │  ▲
 *                │               │   │            │  └─ waiting-retry (transient: backoff, Retry-After,
 *                │               │   │            │                    budget renewed by progress)
 *                │               │   └ exists+skip / identical file already there ─► skipped
 *                ▼               ▼                ▼
 *              failed ◄──── non-retryable (exists, too-large, quota, name, lock, stale…)
 *                                                 │
 *                         file changed/vanished ──┴─► waiting-file (session cancelled; re-queued once
 *                                                                    the file settles)
 *  any non-terminal ── cancel ─► cancelled (server session deleted)
 *
 * Parts: every part but the last, up to `concurrency` at a time; the last one alone after all the others
 * were acknowledged (servers before 4.18 complete on the last index). Each acknowledged part is written to
 * the journal in a transaction before anything else happens, so a crash loses only parts in flight.
 * On 40011 the token is refreshed and the part retried once; a second 40011 means the session is gone:
 * it is cancelled and a new one made (at most twice per run).
 */
import { pipeline, type Readable } from 'node:stream';
import type { CloudreveClient } from '../api/client.js';
import type { EntityType, FileResponse, StoragePolicy, UploadSession } from '../api/types.js';
import { baseName, joinUri, parentUri } from '../api/uri.js';
import type { PolicyAdapter } from '../adapters/adapter.js';
import { adapterFor } from '../adapters/registry.js';
import { createCtrCipher, decodeEncryptMetadata, type CtrKey } from '../crypto/ctr-stream.js';
import { EngineError, classify, isAbort } from '../errors.js';
import { changeGuard, fingerprintOrNull, readRange, sameFingerprint, type Fingerprint } from '../fs/file-source.js';
import type { Journal, UploadRow } from '../journal/journal.js';
import type { TransferState } from '../types.js';
import { planParts, schedule, type Part } from './chunk-plan.js';
import { checkName, checkPolicy, numberedName } from './preflight.js';
import { RetryBudget, sleep, type RetryPolicy } from './retry.js';
import type { BandwidthLimiter } from './throttle.js';

/** Why a running job was stopped from outside. */
export type StopReason = 'pause' | 'cancel' | 'shutdown';

export interface JobDeps {
  client: CloudreveClient;
  journal: Journal;
  limiter: BandwidthLimiter;
  /** user cap on parts in flight per file */
  chunkCap: number;
  /** the storage policy uploads into `folderUri` would use (cached by the caller), null when unknown */
  policyFor(folderUri: string): Promise<StoragePolicy | null>;
  /** best-effort quota check before creating a session */
  checkQuota(name: string, size: number): Promise<EngineError | null>;
  retry?: RetryPolicy;
  /** sessions expiring sooner than this are not resumed */
  sessionMarginMs?: number;
  now?: () => number;
  onState(row: UploadRow, from: TransferState): void;
  onProgress(id: string, bytesDone: number): void;
  log?(level: 'debug' | 'info' | 'warn', message: string): void;
}

const MAX_RENAMES = 100;
const TRANSIENT: ReadonlySet<TransferState> = new Set(['preflight', 'creating-session', 'completing']);
const MAX_NEW_SESSIONS = 2;

export class UploadJob {
  private row: UploadRow;
  private readonly now: () => number;
  private readonly budget: RetryBudget;
  private inflight = new Map<number, number>();
  private ackedBytes = 0;
  /** this run replaced a session the server no longer knew */
  private lostSession = false;

  constructor(
    row: UploadRow,
    private readonly deps: JobDeps,
  ) {
    this.row = row;
    this.now = deps.now ?? Date.now;
    this.budget = new RetryBudget(deps.retry);
  }

  /** Runs until a final or parked state; never throws. The returned row is the journal's. */
  async run(signal: AbortSignal): Promise<UploadRow> {
    try {
      const fp = await this.preflight(signal);
      for (let newSessions = 0; ; newSessions++) {
        if (!this.row.session) {
          const made = await this.createSession(fp, signal);
          if (!made) return this.row;
        }
        try {
          await this.sendParts(fp, signal);
          const adapter = this.adapter();
          if (adapter.capabilities.needsComplete) {
            this.setState('completing');
            const receipts = this.deps.journal.uploads.parts(this.row.id).map((p) => ({ index: p.index, etag: p.etag }));
            await adapter.complete(this.row.session!, receipts, signal);
          }
          this.finish('done', null);
          return this.row;
        } catch (err) {
          if (err instanceof EngineError && err.code === 'session-expired' && !signal.aborted && newSessions < MAX_NEW_SESSIONS) {
            this.deps.log?.('info', `${this.row.localPath}: upload session gone, starting a new one`);
            await this.dropSession();
            this.lostSession = true;
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      await this.settle(err, signal);
      return this.row;
    }
  }

  /** Cancel a transfer that is not running: delete its server session, if any. */
  async cancelIdle(): Promise<void> {
    await this.dropSession();
    this.finish('cancelled', null);
  }

  // ---- steps -------------------------------------------------------------------------------------

  /** Checks the file and what the server would refuse; returns the fingerprint to upload. */
  private async preflight(signal: AbortSignal): Promise<Fingerprint> {
    this.setState('preflight');
    const fp = await fingerprintOrNull(this.row.localPath);
    if (!fp) throw new EngineError('file-changed', `${this.row.localPath}: file not found`);
    const recorded: Fingerprint = { size: this.row.size, mtimeMs: this.row.mtimeMs, inode: this.row.inode };
    if (this.row.session) {
      const margin = this.deps.sessionMarginMs ?? 5 * 60_000;
      const expired = this.row.session.expires * 1000 - margin <= this.now();
      if (expired || !sameFingerprint(fp, recorded)) {
        this.deps.log?.('info', `${this.row.localPath}: ${expired ? 'session expired' : 'file changed since the last attempt'}; starting over`);
        await this.dropSession();
      }
    }
    if (!sameFingerprint(fp, recorded)) {
      this.patch({ size: fp.size, mtimeMs: fp.mtimeMs, inode: fp.inode });
    }
    const name = baseName(this.row.sessionUri ?? this.row.targetUri);
    const nameErr = checkName(name);
    if (nameErr) throw nameErr;
    if (!this.row.session) {
      const policy = await this.withRetry(signal, () => this.deps.policyFor(parentUri(this.row.targetUri)));
      if (policy) {
        const polErr = checkPolicy(name, fp.size, policy);
        if (polErr) throw polErr;
      }
      const quotaErr = await this.deps.checkQuota(name, fp.size);
      if (quotaErr) throw quotaErr;
    }
    return fp;
  }

  /** Creates the server session, honouring ifExists. Returns false when the job ended (skipped). */
  private async createSession(fp: Fingerprint, signal: AbortSignal): Promise<boolean> {
    this.setState('creating-session');
    let uri = this.row.sessionUri ?? this.row.targetUri;
    const entityType: EntityType = this.row.ifExists === 'overwrite' ? 'version' : '';
    const policy = await this.withRetry(signal, () => this.deps.policyFor(parentUri(uri)));
    for (let n = 1; ; n++) {
      try {
        const session = await this.withRetry(signal, () =>
          this.deps.client.createUploadSession(
            {
              uri,
              size: fp.size,
              last_modified: Math.floor(fp.mtimeMs),
              entity_type: entityType || undefined,
              // sync's overwrite of the version it uploaded last: the server refuses (40076) if that moved on
              previous: this.row.previous ?? undefined,
              // also for relay policies: without the flag the server does not encrypt what it relays (spec §7)
              encryption_supported: policy?.encryption ? ['aes-256-ctr'] : undefined,
            },
            { signal },
          ),
        );
        this.deps.journal.uploads.setSession(this.row.id, session, uri);
        this.row = this.reload();
        return true;
      } catch (err) {
        if (!(err instanceof EngineError) || err.code !== 'exists') throw err;
        const existing = await this.existing(uri);
        const uploadInProgress = !!existing?.metadata?.['sys:upload_session_id'];
        if (existing && existing.type === 0 && !uploadInProgress && sameContentHint(existing, fp)) {
          if (this.lostSession) {
            // Our last part was committed by the server but its answer never reached us (interrupted, paused):
            // what is there is this very upload.
            this.finish('done', null);
          } else {
            this.finish('skipped', { code: 'exists', message: 'an identical file (same size and modification time) is already there' });
          }
          return false;
        }
        if (uploadInProgress) {
          throw new EngineError('exists', `${baseName(uri)}: another upload to this path is in progress`, { serverCode: 40004 });
        }
        if (this.row.ifExists === 'skip') {
          this.finish('skipped', { code: 'exists', message: 'the target already exists' });
          return false;
        }
        if (this.row.ifExists !== 'rename' || n > MAX_RENAMES) throw err;
        uri = joinUri(parentUri(this.row.targetUri), numberedName(baseName(this.row.targetUri), n));
      }
    }
  }

  private async existing(uri: string): Promise<FileResponse | null> {
    try {
      return await this.deps.client.info(uri);
    } catch (err) {
      if (err instanceof EngineError && err.code === 'not-found') return null;
      throw err;
    }
  }

  private async sendParts(fp: Fingerprint, signal: AbortSignal): Promise<void> {
    const session = this.row.session!;
    const adapter = this.adapter();
    const key = this.cipherKey(session);
    const parts = planParts(fp.size, adapter.capabilities.chunked ? session.chunk_size : 0);
    if (session.upload_urls && session.upload_urls.length > 1 && session.upload_urls.length !== parts.length) {
      throw new EngineError('bad-response', `upload session has ${session.upload_urls.length} part URLs for ${parts.length} parts`);
    }
    const acked = new Set(this.deps.journal.uploads.parts(this.row.id).map((p) => p.index));
    this.ackedBytes = parts.filter((p) => acked.has(p.index)).reduce((s, p) => s + p.length, 0);
    this.setState('uploading');
    this.emitProgress();
    const { body, last } = schedule(parts, acked);
    const policyLimit = session.storage_policy.chunk_concurrency ?? 1;
    const concurrency = adapter.capabilities.parallelParts ? Math.max(1, Math.min(policyLimit, this.deps.chunkCap)) : 1;

    // A failure of one part stops the others (their bytes are simply sent again later).
    const inner = new AbortController();
    const onAbort = () => inner.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      let next = 0;
      let failure: unknown = null;
      const worker = async () => {
        while (failure === null && next < body.length) {
          const part = body[next++];
          try {
            await this.sendPart(adapter, session, part, fp, key, inner.signal);
          } catch (err) {
            if (failure === null) failure = err;
            inner.abort(err);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, body.length) }, worker));
      if (failure !== null) throw signal.aborted ? signal.reason ?? failure : failure;
      if (last) await this.sendPart(adapter, session, last, fp, key, inner.signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async sendPart(adapter: PolicyAdapter, session: UploadSession, part: Part, fp: Fingerprint, key: CtrKey | null, signal: AbortSignal): Promise<void> {
    let refreshedFor40011 = false;
    for (;;) {
      const body = this.partBody(part, fp, key, signal);
      try {
        const receipt = await adapter.uploadPart({ session, part, body, signal });
        this.inflight.delete(part.index);
        this.ackedBytes += part.length;
        this.deps.journal.uploads.ackPart(this.row.id, { index: part.index, etag: receipt.etag, size: part.length }, this.ackedBytes);
        this.budget.progressed();
        this.emitProgress();
        return;
      } catch (err) {
        body.destroy(); // closes the file and the stages behind it
        this.inflight.delete(part.index);
        this.emitProgress();
        if (signal.aborted) throw signal.reason ?? err;
        if (err instanceof EngineError && err.code === 'session-expired') {
          // An expired access token looks exactly like a lost session (spec §2.5): refresh once, then believe it.
          if (refreshedFor40011 || session.storage_policy.type === 'remote' && !session.storage_policy.relay) throw err;
          refreshedFor40011 = true;
          await this.deps.client.refresh();
          continue;
        }
        await this.backoff(err, signal);
      }
    }
  }

  /** file range → (AES-256-CTR at the part's offset) → (shared bandwidth limit) → progress + change guard */
  private partBody(part: Part, fp: Fingerprint, key: CtrKey | null, signal: AbortSignal): Readable {
    const stages: NodeJS.ReadWriteStream[] = [];
    if (key) stages.push(createCtrCipher(key, part.start));
    if (this.deps.limiter.rate > 0) stages.push(this.deps.limiter.stream(signal));
    const src = readRange(this.row.localPath, part.start, part.end);
    // Last, so that its end-of-range check happens when the bytes really go out, not when they were read.
    const out = changeGuard(this.row.localPath, part.length, fp, (n) => {
      this.inflight.set(part.index, (this.inflight.get(part.index) ?? 0) + n);
      this.emitProgress();
    });
    pipeline([src, ...stages, out] as unknown as [Readable, ...NodeJS.ReadWriteStream[]], (err) => {
      if (err) out.destroy(err);
    });
    return out;
  }

  private cipherKey(session: UploadSession): CtrKey | null {
    if (!session.encrypt_metadata || session.storage_policy.relay) return null;
    return decodeEncryptMetadata(session.encrypt_metadata);
  }

  private adapter(): PolicyAdapter {
    return adapterFor(this.row.session!.storage_policy, { client: this.deps.client });
  }

  private async withRetry<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const v = await fn();
        this.budget.progressed();
        return v;
      } catch (err) {
        if (signal.aborted) throw signal.reason ?? err;
        await this.backoff(err, signal);
      }
    }
  }

  private async backoff(err: unknown, signal: AbortSignal): Promise<void> {
    const delay = this.budget.next(err);
    if (delay === null) throw err;
    this.patch({ attempts: this.row.attempts + 1 });
    this.deps.log?.('info', `${this.row.localPath}: ${(err as Error).message}; retrying in ${Math.round(delay)} ms`);
    await sleep(delay, signal);
  }

  // ---- endings -------------------------------------------------------------------------------------

  private async settle(err: unknown, signal: AbortSignal): Promise<void> {
    const reason: StopReason | undefined = signal.aborted ? (signal.reason as StopReason) : undefined;
    if (reason === 'pause') return this.setState('paused');
    if (reason === 'shutdown') return; // the journal keeps the row as it was: `resume` continues it
    if (reason === 'cancel') {
      await this.dropSession();
      return this.finish('cancelled', null);
    }
    if (isAbort(err)) return this.setState('paused');
    if (err instanceof EngineError && err.code === 'file-changed') {
      await this.dropSession();
      const still = await fingerprintOrNull(this.row.localPath).catch(() => null);
      if (!still) return this.finish('failed', { code: 'file-changed', message: `${this.row.localPath}: the file disappeared` });
      this.patch({ error: { code: err.code, message: err.message } });
      return this.setState('waiting-file');
    }
    const e = err instanceof EngineError ? err : new EngineError('local-io', String((err as Error)?.message ?? err), { cause: err });
    if (classify(e) === 'stop') {
      // Nothing can go until the user acts (e.g. logs in again): park it with its session and its reason;
      // the engine pauses the rest, and resume continues from the journal.
      this.patch({ error: { code: e.code, message: e.message, serverCode: e.serverCode } });
      return this.setState('paused');
    }
    if (classify(e) === 'fail-file' && this.row.session && e.code !== 'session-expired') {
      // a per-file refusal mid-upload (lock lost, quota…): the half-made session is of no use
      await this.dropSession();
    }
    this.finish('failed', { code: e.code, message: e.message, serverCode: e.serverCode });
  }

  /** Cancels the server session (best effort) and forgets it and its parts. */
  private async dropSession(): Promise<void> {
    const s = this.row.session;
    if (!s) return;
    try {
      await this.deps.client.deleteUploadSession(s.session_id, this.row.sessionUri ?? s.uri);
    } catch (err) {
      this.deps.log?.('warn', `${this.row.localPath}: could not cancel the old upload session: ${(err as Error).message}`);
    }
    this.deps.journal.uploads.setSession(this.row.id, null, null);
    this.ackedBytes = 0;
    this.inflight.clear();
    this.row = this.reload();
    this.patch({ bytesDone: 0 });
  }

  /** One transaction: the final state, and (for done/skipped/cancelled) the session and its key leave the journal. */
  private finish(state: TransferState, error: UploadRow['error']): void {
    const dropSession = state === 'done' || state === 'skipped' || state === 'cancelled';
    const bytesDone = state === 'done' ? this.row.size : this.row.bytesDone;
    const { journal } = this.deps;
    journal.transaction(() => {
      if (dropSession && this.row.session) journal.uploads.setSession(this.row.id, null, this.row.sessionUri);
      journal.uploads.update(this.row.id, { error, bytesDone, state });
    });
    const from = this.row.state as TransferState;
    this.row = { ...this.row, session: dropSession ? null : this.row.session, error, bytesDone, state };
    if (from !== state) this.deps.onState(this.row, from);
  }

  /**
   * Steps that need not survive a crash (preflight, creating-session, completing) are not written to the journal:
   * after a crash such a transfer is simply continued from its last durable state.
   */
  private setState(state: TransferState): void {
    const from = this.row.state as TransferState;
    if (from === state) return;
    if (TRANSIENT.has(state)) this.row = { ...this.row, state };
    else this.patch({ state });
    this.deps.onState(this.row, from);
  }

  private patch(p: Partial<UploadRow>): void {
    this.deps.journal.uploads.update(this.row.id, p);
    this.row = { ...this.row, ...p };
  }

  /** The journal's row, with the state this job is in (transient states are not in the journal). */
  private reload(): UploadRow {
    const r = this.deps.journal.uploads.get(this.row.id);
    if (!r) throw new EngineError('local-io', 'transfer vanished from the journal');
    return { ...r, state: this.row.state };
  }

  private emitProgress(): void {
    let n = this.ackedBytes;
    for (const v of this.inflight.values()) n += v;
    this.deps.onProgress(this.row.id, Math.min(n, this.row.size));
  }
}

/** Same size and the server's updated_at equal to our mtime (ms): what we would have uploaded is there. */
function sameContentHint(f: FileResponse, fp: Fingerprint): boolean {
  if (f.size !== fp.size) return false;
  const t = Date.parse(f.updated_at);
  return Number.isFinite(t) && Math.abs(t - Math.floor(fp.mtimeMs)) < 1;
}
