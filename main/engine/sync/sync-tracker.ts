/**
 * Follows the uploads sync queued until they end, and writes down what they produced — the truth a pair reports:
 * - done: the record (local fingerprint as uploaded, remote id and primary entity), so the next pass skips it, and
 *   the path leaves the pair's list of files not on the server (sync_issues);
 * - a refused overwrite (40076: the server's file moved on since our last upload) or a name taken meanwhile by a
 *   different file: a conflict — ours is uploaded again under a conflict name next to theirs, and listed;
 * - a conflict upload done: the conflict is listed, and the record is our conflict copy: the local file is then
 *   "unchanged since our upload", so the same conflict is not raised again, while the file at the original name
 *   stays theirs (never overwritten without another conflict, never trashed by mirror). Later saves of the file go
 *   to that same copy, as new versions of it (pair-sync.ts), until the user resolves the conflict;
 * - any other end (quota, too large, name refused, unreadable, retries spent, cancelled): the path goes on the
 *   pair's list with a reason code and when it is tried again (not on every pass: when the file changes, when the
 *   cause may have gone — free space grew, a lock some minutes later — or after a growing delay).
 *
 * Each request may carry `onOutcome`: told once, with the file's final outcome (a conflict's copy included), or with
 * 'waiting' when its transfer is paused (by the user, a lost login) — it is still followed and recorded later.
 * Uploads queued by a pass before a restart are followed again (adopt()): their rows carry the pair's id.
 */
import { hostname } from 'node:os';
import { relative, sep } from 'node:path';
import type { CloudreveClient } from '../api/client.js';
import type { FileResponse } from '../api/types.js';
import { baseName, joinUri, parentUri } from '../api/uri.js';
import { EngineError, classify } from '../errors.js';
import type { TypedEmitter, EngineEvents } from '../events.js';
import type { Journal, UploadRow } from '../journal/journal.js';
import type { Transfers } from '../transfers.js';
import type { ConflictReasonCode, SyncIssueCode, SyncPair, TransferSnapshot } from '../types.js';
import { sameContent, type LocalEntry } from './reconcile.js';
import { conflictName } from './sync-plan.js';

/** What became of one file a pass wanted on the server. */
export interface FileOutcome {
  rel: string;
  result: 'uploaded' | 'conflict' | 'failed' | 'waiting';
  code?: SyncIssueCode;
  reason?: string;
  /** conflict: where ours went */
  conflictUri?: string;
}

/** What a pass hands to the upload side: queue these files (the tracker follows them). */
export interface UploadRequest {
  rel: string;
  localPath: string;
  remoteUri: string;
  /** sync: to its path; conflict: to a new conflict copy next to it; conflict-update: a new version of the open conflict's copy */
  kind: 'sync' | 'conflict' | 'conflict-update';
  previous: string | null;
  reason?: string;
  reasonCode?: ConflictReasonCode;
  /** keep-mine: the conflict this upload ends once it is done */
  resolves?: number;
  /** the local fingerprint the pass saw (saves a stat per file; the upload checks the file again as it reads it) */
  fp?: { size: number; mtimeMs: number; inode: string };
  onOutcome?: (o: FileOutcome) => void;
}

interface Tracked extends UploadRequest {
  pairId: string;
  /** the transfer ended and its end is being written down: still busy for passes until it is */
  ending?: boolean;
}

export interface SyncTrackerDeps {
  journal: Journal;
  transfers: Transfers;
  client: () => CloudreveClient;
  events: TypedEmitter<EngineEvents>;
  host?: string;
  now?: () => number;
  /** a pair's last tracked upload ended */
  onPairSettled?: (pairId: string) => void;
}

/** Per-file causes, as issue codes. */
export function issueCodeOf(code: string | undefined): SyncIssueCode {
  switch (code) {
    case 'quota':
      return 'quota';
    case 'too-large':
      return 'too-large';
    case 'name-rejected':
      return 'name-refused';
    case 'lock-conflict':
      return 'locked';
    case 'local-io':
      return 'unreadable';
    case 'file-changed':
      return 'vanished';
    default:
      return code && classify(new EngineError(code as never, '')) === 'retry' ? 'retry-spent' : 'failed';
  }
}

/** When a file that failed with `code` is tried again (ms from now), its `attempts`-th failure in a row. */
export function retryDelayOf(code: SyncIssueCode, attempts: number): number {
  const min = 60_000;
  switch (code) {
    case 'locked':
      return 5 * min;
    case 'retry-spent':
      return 0; // a busy or unreachable server: the next pass tries again (the pair waits like offline)
    case 'vanished':
      return 0;
    default:
      return Math.min(24 * 60 * min, 15 * min * 2 ** Math.max(0, attempts - 1));
  }
}

export class SyncTracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly handling = new Set<Promise<void>>();
  /** the engine is closing: nothing more is recorded (the journal may be closed) */
  private disposed = false;
  private readonly off: () => void;

  constructor(private readonly deps: SyncTrackerDeps) {
    this.off = deps.events.on('transfer-state-changed', ({ transfer }) => this.onState(transfer));
  }

  /**
   * Queues the uploads of one pass, all in one call (recorded and admitted in slices, like `upload` of a folder);
   * returns per-file problems (a file gone since the scan, …).
   */
  async upload(pair: SyncPair, requests: UploadRequest[]): Promise<Array<{ rel: string; code: SyncIssueCode; reason: string }>> {
    const problems: Array<{ rel: string; code: SyncIssueCode; reason: string }> = [];
    const fail = (r: UploadRequest, code: SyncIssueCode, reason: string) => {
      problems.push({ rel: r.rel, code, reason });
      r.onOutcome?.({ rel: r.rel, result: 'failed', code, reason });
    };
    const files = requests.map((r) => ({
      path: r.localPath,
      targetUri: r.kind === 'conflict' ? this.conflictTarget(r.remoteUri) : r.remoteUri,
      fp: r.fp,
      // a new file never replaces one that appeared meanwhile (that becomes a conflict); a changed one replaces
      // exactly the version we uploaded last
      ifExists: r.kind === 'conflict' ? ('rename' as const) : r.kind === 'conflict-update' || r.previous ? ('overwrite' as const) : ('skip' as const),
      previous: r.previous,
      pairId: pair.id,
    }));
    const skipped = new Set<string>();
    let ids: string[];
    try {
      ids = await this.deps.transfers.enqueueFiles(files, (s) => {
        skipped.add(s.path);
        const r = requests.find((x) => x.localPath === s.path);
        if (r) fail(r, 'vanished', s.reason.replace(/^skipped: /, ''));
      });
    } catch (err) {
      for (const r of requests) fail(r, issueCodeOf(err instanceof EngineError ? err.code : undefined), err instanceof Error ? err.message : String(err));
      return problems;
    }
    let i = 0;
    for (const r of requests) {
      if (skipped.has(r.localPath)) continue;
      const id = ids[i++];
      if (id !== undefined) this.follow(id, { ...r, pairId: pair.id });
    }
    return problems;
  }

  /**
   * Follows again the uploads a pass queued before the process stopped (their rows name the pair): their outcome
   * is recorded like any other. Returns how many.
   */
  adopt(): number {
    let n = 0;
    const known = new Set(this.tracked.keys());
    for (const row of this.deps.journal.uploads.list()) {
      if (!row.pairId || known.has(row.id) || ['done', 'skipped', 'failed', 'cancelled'].includes(row.state)) continue;
      const pair = this.deps.journal.pairs.get(row.pairId);
      if (!pair) continue;
      const r = relative(pair.localPath, row.localPath);
      if (r === '' || r.startsWith('..')) continue;
      const rel = r.split(sep).join('/').normalize('NFC');
      const own = joinUri(pair.remoteUri, ...rel.split('/'));
      const open = this.deps.journal.conflicts.forPath(pair.id, rel);
      const kind: UploadRequest['kind'] = row.targetUri === own ? 'sync' : open && row.targetUri === open.conflictUri ? 'conflict-update' : 'conflict';
      this.follow(row.id, { rel, localPath: row.localPath, remoteUri: kind === 'conflict' ? own : row.targetUri, kind, previous: row.previous ?? null, pairId: pair.id });
      n++;
    }
    return n;
  }

  /** Relative paths of the pair with an upload still being followed (or its end still being written down). */
  busy(pairId: string): Set<string> {
    const out = new Set<string>();
    for (const t of this.tracked.values()) if (t.pairId === pairId) out.add(t.rel);
    return out;
  }

  pending(pairId: string): number {
    return this.perPair.get(pairId) ?? 0;
  }

  /** uploads followed per pair (pending() is asked at every end: no walk over all of them) */
  private readonly perPair = new Map<string, number>();
  private follow(id: string, t: Tracked): void {
    if (!this.tracked.has(id)) this.perPair.set(t.pairId, (this.perPair.get(t.pairId) ?? 0) + 1);
    this.tracked.set(id, t);
  }
  private unfollow(id: string): void {
    const t = this.tracked.get(id);
    if (!t) return;
    this.tracked.delete(id);
    const n = (this.perPair.get(t.pairId) ?? 1) - 1;
    if (n > 0) this.perPair.set(t.pairId, n);
    else this.perPair.delete(t.pairId);
  }

  /** Transfer ids of a pair's uploads still followed (pause, resume, cancel them with the pair). */
  transferIds(pairId: string): string[] {
    const out: string[] = [];
    for (const [id, t] of this.tracked) if (t.pairId === pairId && !t.ending) out.push(id);
    return out;
  }

  /** Forgets a pair's uploads (the pair was removed): nothing more is recorded for them. */
  forgetPair(pairId: string): void {
    for (const [id, t] of this.tracked) {
      if (t.pairId !== pairId) continue;
      this.unfollow(id);
      t.onOutcome?.({ rel: t.rel, result: 'waiting', reason: 'the pair was removed' });
    }
  }

  /**
   * Resolves once every upload queued so far has ended and been written down (conflict uploads it led to included),
   * or is paused (by the user, or because the login is gone): those stay followed.
   */
  async settled(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      await this.deps.transfers.idle();
      if (this.handling.size === 0) return;
      await Promise.all([...this.handling]);
    }
  }

  /**
   * Stops listening, then waits (up to `graceMs`) for the ends being recorded, so none of them meets a closed
   * journal; one still waiting on the server after that records nothing more (the next pass looks again).
   */
  async dispose(graceMs = 5000): Promise<void> {
    this.off();
    if (this.handling.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.handling]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    this.disposed = true;
    for (const t of this.tracked.values()) t.onOutcome?.({ rel: t.rel, result: 'waiting', reason: 'the engine stopped' });
  }

  private conflictTarget(remoteUri: string): string {
    const name = conflictName(baseName(remoteUri), new Date((this.deps.now ?? Date.now)()), this.deps.host ?? hostname());
    return joinUri(parentUri(remoteUri), name);
  }

  private onState(t: TransferSnapshot): void {
    const tracked = this.tracked.get(t.id);
    if (!tracked || tracked.ending) return;
    if (t.state === 'paused') {
      const cb = tracked.onOutcome;
      tracked.onOutcome = undefined; // told once; the end is still recorded when it comes
      cb?.({ rel: tracked.rel, result: 'waiting', reason: t.error?.message ?? 'paused' });
      return;
    }
    if (t.state !== 'done' && t.state !== 'failed' && t.state !== 'skipped' && t.state !== 'cancelled') return;
    tracked.ending = true; // still busy for passes until its end is written down (a pass must not take our upload for theirs)
    const p = this.settleEnd(t.id, tracked, t).catch(() => undefined); // only onPairSettled can throw, and only while closing
    this.handling.add(p);
    void p.then(() => this.handling.delete(p));
  }

  /** Records a transfer's end for its pair; the pair has settled when it was the last one pending. */
  private async settleEnd(id: string, tracked: Tracked, t: TransferSnapshot): Promise<void> {
    let outcome: FileOutcome | null = null;
    try {
      outcome = await this.ended(tracked, t);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.deps.events.emit('log', { level: 'warn', message: `sync: ${tracked.localPath}: ${reason} (the next pass looks again)` });
      outcome = { rel: tracked.rel, result: 'failed', code: 'retry-spent', reason };
    } finally {
      this.unfollow(id);
      if (outcome) tracked.onOutcome?.(outcome);
      if (!this.disposed && this.pending(tracked.pairId) === 0) this.deps.onPairSettled?.(tracked.pairId);
    }
  }

  /** Writes down a transfer's end; null when a follow-up upload (a conflict copy) carries the outcome on. */
  private async ended(tr: Tracked, t: TransferSnapshot): Promise<FileOutcome | null> {
    const none: FileOutcome = { rel: tr.rel, result: 'waiting', reason: 'no longer followed' };
    if (this.disposed) return none;
    const row = this.deps.journal.uploads.get(t.id);
    if (!row || !this.deps.journal.pairs.get(tr.pairId)) return none; // cleared, or the pair was removed meanwhile
    const local: LocalEntry = { kind: 'file', size: row.size, mtimeMs: row.mtimeMs, inode: row.inode };
    if (t.state === 'done') {
      if (tr.kind === 'sync' && tr.resolves === undefined) {
        // no request per file: the record holds our fingerprint, which the server's updated_at (= the mtime we sent)
        // and size match; the next listing adds the file's id and primary entity to it (pair-sync.ts). Written with
        // the transfer's own end, just before the batch commits (journal.later): a write of its own per file would
        // commit once per file; every read of the records or issues runs it first.
        this.deps.journal.later(() => {
          this.record(tr, row, null);
          this.deps.journal.syncIssues.delete(tr.pairId, tr.rel);
        });
        return { rel: tr.rel, result: 'uploaded' };
      }
      const client = this.deps.client();
      const uploadedTo = row.sessionUri ?? row.targetUri;
      const f = await client.info(uploadedTo);
      let conflictUri: string | undefined;
      if (tr.kind === 'conflict') {
        conflictUri = f.path || uploadedTo;
        const c = this.deps.journal.conflicts.insert({
          pairId: tr.pairId,
          relPath: tr.rel,
          remoteUri: tr.remoteUri,
          conflictUri,
          reason: tr.reason ?? 'changed on both sides',
          reasonCode: tr.reasonCode ?? 'changed-both',
        });
        this.deps.events.emit('sync-conflict', c);
      }
      this.record(tr, row, { id: f.id, primaryEntity: f.primary_entity ?? null });
      this.deps.journal.syncIssues.delete(tr.pairId, tr.rel);
      if (tr.resolves !== undefined) await this.finishKeepMine(tr.resolves);
      if (tr.kind === 'sync') return { rel: tr.rel, result: 'uploaded' };
      return { rel: tr.rel, result: 'conflict', conflictUri: conflictUri ?? tr.remoteUri };
    }
    const stale = t.state === 'failed' && t.error?.code === 'stale-version';
    const taken = t.state === 'skipped' && t.error?.code === 'exists';
    if (tr.kind !== 'conflict' && (stale || taken)) {
      const client = this.deps.client();
      const theirs = await infoOrNull(client, tr.remoteUri);
      if (!theirs) {
        // gone meanwhile: the next pass uploads it as new
        return this.fail(tr, row, 'failed', 'the file on the server went away while ours was uploaded; tried again next pass', 0);
      }
      if (theirs.type === 0 && sameContent(local, { kind: 'file', id: theirs.id, size: theirs.size, updatedAtMs: Date.parse(theirs.updated_at), primaryEntity: null, uploading: false })) {
        this.record(tr, row, { id: theirs.id, primaryEntity: theirs.primary_entity ?? null });
        this.deps.journal.syncIssues.delete(tr.pairId, tr.rel);
        return { rel: tr.rel, result: 'uploaded' };
      }
      if (tr.kind === 'conflict-update') {
        // our conflict copy was changed on the server (or replaced): a new conflict copy keeps this save
        await this.upload(this.deps.journal.pairs.get(tr.pairId)!, [{ ...tr, kind: 'conflict', remoteUri: this.originalUri(tr), previous: null, reasonCode: 'changed-both' }]);
        return null;
      }
      if (tr.resolves !== undefined) {
        return this.fail(tr, row, 'failed', 'keep mine: the server\'s file changed again meanwhile; the conflict stays open', 0);
      }
      await this.upload(this.deps.journal.pairs.get(tr.pairId)!, [
        {
          ...tr,
          kind: 'conflict',
          previous: null,
          reason: stale ? 'changed on the server since our last upload' : 'a different file of the same name appeared on the server',
          reasonCode: stale ? 'changed-remote' : 'appeared-remote',
        },
      ]);
      return null;
    }
    if (t.state === 'skipped') {
      // identical already, or left alone: nothing is missing
      this.deps.journal.syncIssues.delete(tr.pairId, tr.rel);
      return { rel: tr.rel, result: 'uploaded', reason: t.error?.message };
    }
    if (t.state === 'cancelled') return this.fail(tr, row, 'failed', 'the upload was cancelled', 60 * 60_000);
    const code = issueCodeOf(t.error?.code);
    return this.fail(tr, row, code, t.error?.message ?? 'the upload failed', undefined);
  }

  /** The path goes on the pair's list of files not on the server, with when it is tried again. */
  private async fail(tr: Tracked, row: UploadRow, code: SyncIssueCode, message: string, delayMs: number | undefined): Promise<FileOutcome> {
    const prev = this.deps.journal.syncIssues.get(tr.pairId, tr.rel);
    const attempts = prev && prev.code === code ? prev.attempts + 1 : 1;
    const now = (this.deps.now ?? Date.now)();
    let free: number | null = null;
    if (code === 'quota') {
      try {
        const c = await this.deps.client().capacity();
        free = Math.max(0, c.total - c.used);
      } catch {
        free = null; // unknown: the delay alone decides
      }
    }
    // a quota refusal while the account has room for the file (a transient refusal, space freed since) is not a full
    // quota: tried again in a minute, not after the quota's long wait
    const roomy = code === 'quota' && free !== null && free >= row.size;
    const delay = delayMs ?? (roomy ? 60_000 : retryDelayOf(code, attempts));
    this.deps.journal.syncIssues.put({
      pairId: tr.pairId,
      relPath: tr.rel,
      code,
      message,
      size: row.size,
      mtimeMs: row.mtimeMs,
      retryAt: delay > 0 ? now + delay : null,
      freeAtFailure: free,
    });
    return { rel: tr.rel, result: 'failed', code, reason: message };
  }

  private originalUri(tr: Tracked): string {
    const pair = this.deps.journal.pairs.get(tr.pairId)!;
    return joinUri(pair.remoteUri, ...tr.rel.split('/'));
  }

  /** Keep mine is on the server: our conflict copy goes to the server's trash and the conflict leaves the list. */
  private async finishKeepMine(id: number): Promise<void> {
    const c = this.deps.journal.conflicts.get(id);
    if (!c) return;
    await this.deps
      .client()
      .delete([c.conflictUri])
      .catch((err) => {
        if (!(err instanceof EngineError) || err.code !== 'not-found') throw err;
      });
    this.deps.journal.conflicts.delete(id);
    this.deps.events.emit('sync-conflict-resolved', { conflict: c, choice: 'keep-mine' });
  }

  private record(tr: Tracked, row: UploadRow, remote: { id: string; primaryEntity: string | null } | null): void {
    this.deps.journal.syncEntries.upsert({
      pairId: tr.pairId,
      relPath: tr.rel,
      kind: 'file',
      size: row.size,
      mtimeMs: row.mtimeMs,
      inode: row.inode,
      remoteId: remote?.id ?? null,
      primaryEntity: remote?.primaryEntity ?? null,
    });
  }
}

export async function infoOrNull(client: CloudreveClient, uri: string): Promise<FileResponse | null> {
  try {
    return await client.info(uri);
  } catch (err) {
    if (err instanceof EngineError && err.code === 'not-found') return null;
    throw err;
  }
}
