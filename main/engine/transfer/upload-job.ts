/**
 * One file's upload: an explicit state machine.
 *
 *            ┌──────────── pause (session kept) ─────────────┐
 *            │                                               ▼
 *  queued ─► preflight ─► creating-session ─► uploading ─► completing ─► done
 *                │               │   │            │  ▲
 *                │               │   │            │  └─ waiting-retry (any step: backoff, Retry-After,
 *                │               │   │            │     budget renewed by progress; a busy server —
 *                │               │   │            │     429/502/503/504 — waited out for minutes, or for
 *                │               │   │            │     ever for a sync pair; or the server is
 *                │               │   │            │     unreachable: offline, nothing spent, continues
 *                │               │   │            │     when a probe finds it back — connectivity.ts)
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
import type { PartReceipt, PolicyAdapter } from '../adapters/adapter.js';
import { adapterFor } from '../adapters/registry.js';
import { createCtrCipher, decodeEncryptMetadata, type CtrKey } from '../crypto/ctr-stream.js';
import type { Connectivity } from '../connectivity.js';
import { EngineError, classify, errorRecord, isAbort, isBusy } from '../errors.js';
import { SMALL_RANGE, changeGuard, fingerprintOrNull, readRange, readRangeChecked, sameFingerprint, type Fingerprint } from '../fs/file-source.js';
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
  /** the engine's offline state: a failure meaning "server unreachable" waits there and spends no retry budget */
  connectivity?: Pick<Connectivity, 'ride'>;
  /** sessions expiring sooner than this are not resumed */
  sessionMarginMs?: number;
  now?: () => number;
  onState(row: UploadRow, from: TransferState): void;
  /** Called inside the transaction that records a transfer's end, so what it writes (the history) shares that commit. */
  onFinish?(row: UploadRow): void;
  onProgress(id: string, bytesDone: number): void;
  /**
   * When the transfer tries again (ms since the epoch), told before the state change that shows it (waiting-retry);
   * null when that is not known (offline: the probes decide) or the wait is over.
   */
  onRetryAt?(id: string, at: number | null): void;
  log?(level: 'debug' | 'info' | 'warn', message: string): void;
}

const MAX_RENAMES = 100;
const TRANSIENT: ReadonlySet<TransferState> = new Set(['preflight', 'creating-session', 'completing']);
const MAX_NEW_SESSIONS = 2;

/** Sessions jobs of this process hold without having recorded them (see createSession): never someone's lost one. */
const unrecordedSessions = new Set<string>();

export class UploadJob {
  private row: UploadRow;
  private readonly now: () => number;
  private readonly budget: RetryBudget;
  private inflight = new Map<number, number>();
  private ackedBytes = 0;
  /** this run replaced a session the server no longer knew */
  private lostSession = false;
  /** requests of this job waiting to be retried, and the state it was in before the first of them */
  private retryWaits = 0;
  private stateBeforeWait: TransferState | null = null;
  /** when the running retry wait ends (ms since the epoch); null when not waiting, or offline */
  private retryAt: number | null = null;
  /** the session was created in this run (so it has no acknowledged parts yet) */
  private freshSession = false;
  /** parts the provider holds the start of (queryProgress): index → the offset to continue from */
  private resumeAt = new Map<number, number>();
  /** the session's acknowledged parts and their receipts (the journal's, then this run's), handed to the adapter */
  private receipts = new Map<number, PartReceipt>();
  /** a durable state this job is in that the journal does not have yet (written with the job's next part) */
  private unsavedState: TransferState | null = null;
  /** the id of the session this run holds without having recorded it (a one-request upload: see createSession) */
  private unrecordedSession: string | null = null;
  /**
   * The size the journal had for the file when this run began, if the file has changed since: an earlier run that was
   * killed after opening a session without recording it opened it for that size (see ownLostSessionAt).
   */
  private earlierSize: number | null = null;
  /** the byte count last reported to onProgress; the engine shows 0 for a job that starts (-1: report the first) */
  private reported: number;

  constructor(
    row: UploadRow,
    private readonly deps: JobDeps,
  ) {
    this.row = row;
    this.reported = row.bytesDone === 0 ? 0 : -1;
    this.now = deps.now ?? Date.now;
    this.budget = new RetryBudget(deps.retry);
  }

  /** Runs until a final or parked state; never throws. The returned row is the journal's. */
  async run(signal: AbortSignal): Promise<UploadRow> {
    try {
      const fp = await this.preflight(signal);
      // a provider that cannot continue a session (Upyun's form upload: one request) starts over after a restart
      if (this.row.session && !this.adapter().capabilities.resumable) await this.mustDropSession(signal);
      for (let newSessions = 0; ; newSessions++) {
        if (!this.row.session) {
          const made = await this.createSession(fp, signal);
          if (!made) return this.row;
        }
        try {
          await this.sendParts(fp, signal);
          if (this.row.state === 'done') return this.row; // the server completed the file on its last part
          const adapter = this.adapter();
          if (adapter.capabilities.needsComplete) {
            this.setState('completing');
            const receipts = this.deps.journal.uploads.parts(this.row.id).map((p) => ({ index: p.index, etag: p.etag }));
            await this.withRetry(signal, () => adapter.complete(this.row.session!, receipts, signal));
          }
          this.finish('done', null);
          return this.row;
        } catch (err) {
          if (err instanceof EngineError && err.code === 'session-expired' && !signal.aborted && newSessions < MAX_NEW_SESSIONS) {
            this.deps.log?.('info', `${this.row.localPath}: upload session gone, starting a new one`);
            await this.mustDropSession(signal);
            this.lostSession = true;
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      await this.settle(err, signal);
      this.recordHeldSession();
      return this.row;
    }
  }

  /**
   * A one-request upload whose session this run did not record: the request sends all of the file and completes it
   * (one part, no complete step, no provider-side progress to ask for), so nothing of it could be resumed.
   */
  private isOneRequest(fp: Fingerprint): boolean {
    const adapter = this.adapter();
    const caps = adapter.capabilities;
    return !caps.needsComplete && !adapter.queryProgress && planParts(fp.size, caps.chunked ? this.row.session!.chunk_size : 0).length === 1;
  }

  /** Stopped (paused, shut down) while holding a session it never recorded: the journal gets it, for resume or cancel. */
  private recordHeldSession(): void {
    if (this.unrecordedSession === null) return;
    if (this.row.session) this.deps.journal.uploads.setSession(this.row.id, this.row.session, this.row.sessionUri);
    this.forgetUnrecorded();
  }

  private forgetUnrecorded(): void {
    if (this.unrecordedSession !== null) unrecordedSessions.delete(this.unrecordedSession);
    this.unrecordedSession = null;
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
        // before the row takes the new fingerprint: a kept old session must never receive the changed file
        await this.mustDropSession(signal);
      }
    }
    if (!sameFingerprint(fp, recorded)) {
      if (fp.size !== recorded.size) this.earlierSize = recorded.size;
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
        refuseEmpty(adapterFor(policy, { client: this.deps.client }), name, fp.size);
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
    if (this.row.ifExists === 'overwrite') {
      // A new version is made whether the target exists or not: look first, so an identical file is not sent again.
      const existing = await this.withRetry(signal, () => this.existing(uri));
      if (existing && this.endIfIdentical(existing, fp)) return false;
    }
    // An unreadable answer to a session request may stand for a session the server did open: the retry then meets
    // that upload's placeholder. The error says so instead of blaming "another upload".
    let unreadable: EngineError | null = null;
    const noteUnreadable = (err: unknown): never => {
      if (err instanceof EngineError && err.code === 'bad-response') unreadable = err;
      throw err;
    };
    let orphanCancelled = false;
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
          ).catch(noteUnreadable),
        );
        this.row = { ...this.row, session, sessionUri: uri, bytesDone: 0 }; // what setSession writes
        this.freshSession = true;
        if (this.isOneRequest(fp)) {
          // Nothing of it could be resumed: it is recorded only if this run stops while holding it (recordHeldSession).
          // A crash before that leaves its placeholder, which the next attempt recognises and cancels (ownLostSessionAt).
          this.unrecordedSession = session.session_id;
          unrecordedSessions.add(session.session_id);
        } else {
          this.deps.journal.uploads.setSession(this.row.id, session, uri);
          await this.deps.journal.committed(); // recorded before any of its bytes are sent
        }
        return true;
      } catch (err) {
        if (!orphanCancelled && err instanceof EngineError && (err.code === 'exists' || err.code === 'lock-conflict')) {
          // A session this transfer opened but never recorded (the process was killed, or the answer was lost, after
          // the server opened it) holds the path: its placeholder (40004) or upload lock (40073) names it. Cancel it
          // once and ask again, rather than failing the file until the server expires the session (24 h).
          const sid = await this.ownLostSessionAt(uri, fp.size);
          if (sid) {
            orphanCancelled = true;
            await this.withRetry(signal, () => this.deps.client.deleteUploadSession(sid, uri));
            this.deps.log?.('info', `${this.row.localPath}: cancelled an upload session an interrupted attempt left open on the server; starting again`);
            n--;
            continue;
          }
        }
        if (err instanceof EngineError && err.code === 'not-found') {
          // the server makes a file's missing parent folders, but not through a file of the same name: say so
          throw new EngineError('not-found', `${err.message}; a folder on the way to ${uri} cannot be made (is one of them a file?)`, {
            serverCode: err.serverCode,
            cause: err,
          });
        }
        if (!(err instanceof EngineError) || err.code !== 'exists') throw err;
        const existing = await this.existing(uri);
        if (existing && this.endIfIdentical(existing, fp)) return false;
        if (existing?.metadata?.['sys:upload_session_id']) {
          const cause = unreadable as EngineError | null;
          throw new EngineError(
            'exists',
            cause
              ? `${baseName(uri)}: the server's answer to the upload session request was unreadable (${cause.message}); the upload it may have opened holds this path until it expires`
              : `${baseName(uri)}: another upload to this path is in progress`,
            { serverCode: 40004 },
          );
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

  /**
   * The session holding `uri`, if it is one this transfer opened and lost, else null. One look at the file (extended
   * info: its metadata names the session, its entities give the placeholder's size and age). Ours when no transfer of
   * ours recorded it (a recorded one is alive: another transfer of this engine) nor holds it unrecorded, and its
   * placeholder entity has our size (now, or before the file changed since the last run) and was made after this
   * transfer was queued (give or take clock skew). An upload someone else started well before, or of another size, or
   * one another transfer of ours holds, is left alone.
   */
  private async ownLostSessionAt(uri: string, size: number): Promise<string | null> {
    if (this.row.session) return null;
    const info = await this.deps.client.info(uri, { extended: true }).catch(() => null);
    const sid = info?.metadata?.['sys:upload_session_id'];
    if (!sid || unrecordedSessions.has(sid)) return null;
    if (this.deps.journal.uploads.list().some((r) => r.session?.session_id === sid)) return null;
    const entities = (info!.extended_info as { entities?: Array<{ size?: unknown; created_at?: unknown }> } | undefined)?.entities ?? [];
    // our size: the file's now, or the one an earlier run of this transfer opened its session for before the file
    // changed (a kill -9 between that run's session and its one request); the server's clock against ours: 10 minutes
    // of slack for skew
    const ours = (s: unknown) => s === size || (this.earlierSize !== null && s === this.earlierSize);
    return entities.some((e) => ours(e.size) && Date.parse(String(e.created_at)) >= this.row.createdAt - 600_000) ? sid : null;
  }

  /**
   * The file is gone and no session is recorded: a session an earlier run of this transfer opened without recording
   * it (a one-request upload killed mid-request) would otherwise stay open on the server until it expires, its
   * placeholder in the folder. One look at the target; cancelled if it is ours (ownLostSessionAt). Best effort.
   */
  private async dropOwnLostSession(): Promise<void> {
    if (this.unrecordedSession !== null) return;
    const uri = this.row.targetUri;
    const sid = await this.ownLostSessionAt(uri, this.row.size);
    if (!sid) return;
    try {
      await this.deps.client.deleteUploadSession(sid, uri);
      this.deps.log?.('info', `${this.row.localPath}: cancelled the upload session an interrupted attempt left open on the server`);
    } catch {
      // the server expires it (24 h)
    }
  }

  /** Whether the target holds a finished file with the size and modification time this transfer sends. Best effort. */
  private async endedOnServer(): Promise<boolean> {
    try {
      const f = await this.existing(this.row.sessionUri ?? this.row.targetUri);
      return !!f && f.type === 0 && !f.metadata?.['sys:upload_session_id'] && sameContentHint(f, { size: this.row.size, mtimeMs: this.row.mtimeMs, inode: this.row.inode });
    } catch {
      return false;
    }
  }

  /** A finished file with the same size and modification time is what we would upload: the job ends here. */
  private endIfIdentical(existing: FileResponse, fp: Fingerprint): boolean {
    if (existing.type !== 0 || existing.metadata?.['sys:upload_session_id'] || !sameContentHint(existing, fp)) return false;
    if (this.lostSession) {
      // Our last part was committed by the server but its answer never reached us (interrupted, paused):
      // what is there is this very upload.
      this.finish('done', null);
    } else {
      this.finish('skipped', { code: 'exists', message: 'an identical file (same size and modification time) is already there' });
    }
    return true;
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
    const caps = adapter.capabilities;
    refuseEmpty(adapter, baseName(session.uri), fp.size);
    const parts = planParts(fp.size, caps.chunked ? session.chunk_size : 0);
    if (caps.partMultiple > 0 && parts.length > 1 && session.chunk_size % caps.partMultiple !== 0) {
      throw new EngineError('storage-protocol', `${adapter.kind} needs parts in multiples of ${caps.partMultiple} bytes, but the storage policy's chunk size is ${session.chunk_size}: ask the admin to fix it`);
    }
    if (session.upload_urls && session.upload_urls.length > 1 && session.upload_urls.length !== parts.length) {
      throw new EngineError('bad-response', `upload session has ${session.upload_urls.length} part URLs for ${parts.length} parts`);
    }
    // a session made in this run has no parts yet: no need to ask the journal
    const journaled = this.freshSession ? [] : this.deps.journal.uploads.parts(this.row.id);
    this.receipts = new Map(journaled.map((p) => [p.index, { index: p.index, etag: p.etag }]));
    const acked = new Set(journaled.map((p) => p.index));
    this.ackedBytes = parts.filter((p) => acked.has(p.index)).reduce((s, p) => s + p.length, 0);
    if (adapter.queryProgress && !this.freshSession) {
      // a session of an earlier run: the provider says what it holds (a part may have landed unacknowledged)
      const held = await this.withRetry(signal, () => adapter.queryProgress!(session, signal));
      for (const p of parts) if (!acked.has(p.index) && this.providerHas(p, held)) acked.add(p.index);
    }
    // A file of one part is written as 'uploading' together with its part (or its end), not in a commit of its own.
    this.setState('uploading', parts.length > 1);
    const endsWithLastPart = !adapter.capabilities.needsComplete;
    this.emitProgress();
    const { body, last } = schedule(parts, acked);
    if (body.length === 0) {
      // one part (or only the last one left): no sibling parts to stop when it fails
      if (last) await this.sendPart(adapter, session, last, fp, key, signal, endsWithLastPart);
      return;
    }
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
            // the part is recorded (committed) before this slot takes another: after a kill -9, a part the server
            // accepted but the journal lacks is always among the last `concurrency` the server accepted
            await this.deps.journal.committed();
          } catch (err) {
            if (failure === null) failure = err;
            inner.abort(err);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, body.length) }, worker));
      if (failure !== null) throw signal.aborted ? signal.reason ?? failure : failure;
      if (last) await this.sendPart(adapter, session, last, fp, key, inner.signal, endsWithLastPart);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * True when the provider holds all of `p` (`held` bytes from the start of the file); a part it holds the start of
   * is trimmed to the remainder (the rest of `p` goes out from `held`).
   */
  private providerHas(p: Part, held: number): boolean {
    if (held >= p.end) {
      this.ack(p, null);
      return true;
    }
    if (held > p.start) this.resumeAt.set(p.index, held);
    return false;
  }

  /** Records an acknowledged part (with the first durable state of this run, if it was not written yet). */
  private ack(part: Part, etag: string | null): void {
    this.inflight.delete(part.index);
    this.resumeAt.delete(part.index);
    this.receipts.set(part.index, { index: part.index, etag });
    this.ackedBytes += part.length;
    const { journal } = this.deps;
    const state = this.unsavedState;
    if (state) {
      journal.transaction(() => {
        journal.uploads.ackPart(this.row.id, { index: part.index, etag, size: part.length }, this.ackedBytes);
        journal.uploads.update(this.row.id, { state });
      });
      this.unsavedState = null;
    } else journal.uploads.ackPart(this.row.id, { index: part.index, etag, size: part.length }, this.ackedBytes);
    this.budget.progressed();
    this.emitProgress();
  }

  /**
   * Sends one part until the server acknowledges it, then records it before anything else happens. `completes`:
   * the server completes the file on this part, so what is recorded is the end itself ('done', session and parts
   * dropped), one commit instead of the part's and then the end's.
   */
  private async sendPart(
    adapter: PolicyAdapter,
    session: UploadSession,
    part: Part,
    fp: Fingerprint,
    key: CtrKey | null,
    signal: AbortSignal,
    completes = false,
  ): Promise<void> {
    let refreshedFor40011 = false;
    for (;;) {
      const from = this.resumeAt.get(part.index) ?? part.start;
      const piece: Part = from === part.start ? part : { index: part.index, start: from, end: part.end, length: part.end - from };
      let body: Readable | Buffer | undefined;
      try {
        body = await this.partBody(piece, fp, key, signal);
        const receipt = await adapter.uploadPart({ session, part: piece, size: fp.size, body, signal, receipts: this.receipts });
        if (completes) {
          this.inflight.delete(part.index);
          this.ackedBytes += part.length;
          return this.finish('done', null);
        }
        this.ack(part, receipt.etag);
        return;
      } catch (err) {
        if (body && !Buffer.isBuffer(body)) body.destroy(); // closes the file and the stages behind it
        this.inflight.delete(part.index);
        this.emitProgress();
        if (signal.aborted) throw signal.reason ?? err;
        if (err instanceof EngineError && err.code === 'session-expired') {
          // An expired access token looks exactly like a lost session (spec §2.5): refresh once, then believe it.
          // Only the master takes the access token; a storage URL that expired needs a new session.
          if (refreshedFor40011 || adapter.kind !== 'local') throw err;
          refreshedFor40011 = true;
          await this.deps.client.refresh();
          continue;
        }
        await this.backoff(err, signal);
        if (adapter.queryProgress) {
          // the provider may hold some or all of the part (OneDrive after a 416 or a lost answer): continue from there
          const held = await this.withRetry(signal, () => adapter.queryProgress!(session, signal));
          if (held < part.start) throw new EngineError('session-expired', `${adapter.kind} lost data it had accepted (holds ${held} bytes, part ${part.index + 1} starts at ${part.start})`);
          if (this.providerHas(part, held)) return;
        }
      }
    }
  }

  /**
   * file range → (AES-256-CTR at the part's offset) → (shared bandwidth limit) → progress + change guard. A small
   * plain part without a bandwidth limit is one Buffer instead, read at once and released only after the same
   * re-check of the file (readRangeChecked).
   */
  private async partBody(part: Part, fp: Fingerprint, key: CtrKey | null, signal: AbortSignal): Promise<Readable | Buffer> {
    if (!key && this.deps.limiter.rate <= 0 && part.length <= SMALL_RANGE) {
      const buf = await readRangeChecked(this.row.localPath, part.start, part.end, fp);
      this.inflight.set(part.index, (this.inflight.get(part.index) ?? 0) + buf.length);
      this.emitProgress();
      return buf;
    }
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

  /** The adapter of the current session, made with it (its capabilities may depend on the session: Upyun). */
  private adapter(): PolicyAdapter {
    const session = this.row.session!;
    return adapterFor(session.storage_policy, { client: this.deps.client, session });
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

  /**
   * Waits before a failed request is tried again, in state waiting-retry: while the server is unreachable (no
   * budget spent), else for the budget's backoff. Throws `err` when it is not worth retrying or the budget is spent.
   */
  private async backoff(err: unknown, signal: AbortSignal): Promise<void> {
    if (isAbort(err) || classify(err) !== 'retry') throw err;
    this.enterRetryWait(err);
    try {
      if (this.deps.connectivity && (await this.deps.connectivity.ride(err, signal))) return;
      const delay = this.budget.next(err);
      if (delay === null) throw this.gaveUp(err);
      this.patch({ attempts: this.row.attempts + 1 });
      this.showRetryAt(this.now() + delay);
      this.deps.log?.('info', `${this.row.localPath}: ${(err as Error).message}; retrying in ${Math.round(delay)} ms`);
      await sleep(delay, signal);
    } finally {
      this.leaveRetryWait(signal);
    }
  }

  /**
   * The error a spent budget leaves the file with: a busy server's answer says how long it was waited out (same code
   * and status, so that it stays transient for `resume`); any other failure as it came.
   */
  private gaveUp(err: unknown): unknown {
    const waited = this.budget.busyGaveUpAfterMs;
    if (waited === null || !(err instanceof EngineError) || !isBusy(err)) return err;
    return new EngineError(err.code, `${err.message}; the server stayed busy for ${describeMs(waited)}, longer than the busyRetryMinutes setting allows`, {
      serverCode: err.serverCode,
      httpStatus: err.httpStatus,
      correlationId: err.correlationId,
      cause: err,
    });
  }

  /** The next try's time, shown while waiting-retry (a same-state change, so that every view gets it). */
  private showRetryAt(at: number): void {
    if (this.retryAt !== null && Math.abs(this.retryAt - at) < 50) return; // a failure that joined the running wait
    this.retryAt = at;
    this.deps.onRetryAt?.(this.row.id, at);
    if (this.row.state === 'waiting-retry') this.deps.onState(this.row, 'waiting-retry');
  }

  /** The first request of this job to wait for a retry puts it in waiting-retry, with the failure as its reason. */
  private enterRetryWait(err: unknown): void {
    if (this.retryWaits++ > 0) return;
    this.stateBeforeWait = this.row.state as TransferState;
    const e = err as EngineError;
    this.patch({ error: { code: e.code, message: e.message, serverCode: e.serverCode, httpStatus: e.httpStatus } });
    this.retryAt = null;
    this.deps.onRetryAt?.(this.row.id, null);
    this.setState('waiting-retry');
  }

  /** The last one to stop waiting puts it back in the step it was in (unless it was stopped meanwhile). */
  private leaveRetryWait(signal: AbortSignal): void {
    if (--this.retryWaits > 0) return;
    this.retryAt = null;
    this.deps.onRetryAt?.(this.row.id, null);
    if (signal.aborted || this.row.state !== 'waiting-retry') return;
    const back = this.stateBeforeWait ?? 'uploading';
    this.stateBeforeWait = null;
    this.patch({ error: null, state: back });
    this.unsavedState = null;
    this.deps.onState(this.row, 'waiting-retry');
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
      const hadSession = this.row.session !== null;
      await this.dropSession(signal);
      const still = await fingerprintOrNull(this.row.localPath).catch(() => null);
      if (!still) {
        // our last part may have been committed while its answer was lost (a kill -9, a cut connection) and the
        // file deleted since: what is at the target, finished, with the size and time we sent, is this upload —
        // ended as done, so that a sync pair records it (a two-way pair otherwise took it for a new file on the
        // server and brought back a file deleted here; found by the two-way soak, seed 3)
        if (hadSession && (await this.endedOnServer())) return this.finish('done', null);
        await this.dropOwnLostSession();
        return this.finish('failed', { code: 'file-changed', message: `${this.row.localPath}: the file disappeared` });
      }
      this.patch({ error: { code: err.code, message: err.message } });
      return this.setState('waiting-file');
    }
    const e = err instanceof EngineError ? err : new EngineError('local-io', String((err as Error)?.message ?? err), { cause: err });
    if (classify(e) === 'stop') {
      // Nothing can go until the user acts (e.g. logs in again): park it with its session and its reason;
      // the engine pauses the rest, and resume continues from the journal.
      this.patch({ error: errorRecord(e) });
      return this.setState('paused');
    }
    if (classify(e) === 'fail-file' && this.row.session && e.code !== 'session-expired') {
      // a per-file refusal mid-upload (lock lost, quota…): the half-made session is of no use
      await this.dropSession(signal);
    }
    this.finish('failed', errorRecord(e));
  }

  /** dropSession() where going on with the old session is not an option: stopped while it waited → the stop. */
  private async mustDropSession(signal: AbortSignal): Promise<void> {
    if (!(await this.dropSession(signal))) throw signal.reason ?? new EngineError('cancelled', `${this.row.localPath}: stopped`);
  }

  /**
   * Cancels the server session and forgets it and its parts. With a live `signal` the cancel rides out an
   * unreachable server like any request (offline wait, retry budget): a session forgotten while its cancel could not
   * reach the server would stay open there, and its placeholder would refuse the new session (40004). When the signal
   * ends while it waits, the session is kept for the next attempt and false is returned. Without a signal (the user
   * cancels, the job is stopping) it is one try, best effort.
   */
  private async dropSession(signal?: AbortSignal): Promise<boolean> {
    const s = this.row.session;
    if (!s) return true;
    const cancel = () => this.deps.client.deleteUploadSession(s.session_id, this.row.sessionUri ?? s.uri);
    try {
      if (signal && !signal.aborted) await this.withRetry(signal, cancel);
      else await cancel();
    } catch (err) {
      if (signal?.aborted) return false;
      this.deps.log?.('warn', `${this.row.localPath}: could not cancel the old upload session: ${(err as Error).message}`);
    }
    this.deps.journal.uploads.setSession(this.row.id, null, null);
    this.forgetUnrecorded();
    this.ackedBytes = 0;
    this.inflight.clear();
    this.freshSession = false;
    this.resumeAt.clear();
    this.receipts.clear();
    this.row = this.reload();
    this.patch({ bytesDone: 0 });
    return true;
  }

  /**
   * One write, with the turn's other ends just before its commit (journal.later): the final state, and (for
   * done/skipped/cancelled) the session and its key leave the journal.
   */
  private finish(state: TransferState, error: UploadRow['error']): void {
    const dropSession = state === 'done' || state === 'skipped' || state === 'cancelled';
    const bytesDone = state === 'done' ? this.row.size : this.row.bytesDone;
    const { journal } = this.deps;
    const row = this.row;
    const from = row.state as TransferState;
    const next: UploadRow = { ...row, session: dropSession ? null : row.session, error, bytesDone, state };
    const recorded = this.unrecordedSession === null;
    journal.later(() => {
      if (row.session && dropSession && recorded) journal.uploads.setSession(row.id, null, row.sessionUri);
      // a session the journal never had: when it ends, the journal only learns where the file went; kept, it is recorded
      if (row.session && !dropSession && !recorded) journal.uploads.setSession(row.id, row.session, row.sessionUri);
      journal.uploads.update(row.id, { error, bytesDone, state, sessionUri: recorded ? undefined : row.sessionUri });
      if (from !== state) this.deps.onFinish?.(next);
    });
    this.forgetUnrecorded();
    this.unsavedState = null;
    this.row = next;
    if (from !== state) this.deps.onState(this.row, from);
  }

  /**
   * Steps that need not survive a crash (preflight, creating-session, completing) are not written to the journal:
   * after a crash such a transfer is simply continued from its last durable state.
   */
  private setState(state: TransferState, save = !TRANSIENT.has(state)): void {
    const from = this.row.state as TransferState;
    if (from === state) return;
    if (save) {
      this.patch({ state });
      this.unsavedState = null;
    } else {
      this.row = { ...this.row, state };
      if (!TRANSIENT.has(state)) this.unsavedState = state;
    }
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
    n = Math.min(n, this.row.size);
    if (n === this.reported) return; // e.g. the 0 a fresh file starts at, or a retry's
    this.reported = n;
    this.deps.onProgress(this.row.id, n);
  }
}

/** "15 min", "3 s", "1 h 5 min". */
export function describeMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** A provider that cannot store empty files (OneDrive) refuses them before a session or a byte. */
function refuseEmpty(adapter: PolicyAdapter, name: string, size: number): void {
  if (size === 0 && !adapter.capabilities.emptyFiles) {
    throw new EngineError('unsupported-feature', `${name}: ${adapter.kind} storage cannot hold empty files`);
  }
}

/** Same size and the server's updated_at equal to our mtime (ms): what we would have uploaded is there. */
function sameContentHint(f: FileResponse, fp: Fingerprint): boolean {
  if (f.size !== fp.size) return false;
  const t = Date.parse(f.updated_at);
  return Number.isFinite(t) && Math.abs(t - Math.floor(fp.mtimeMs)) < 1;
}
