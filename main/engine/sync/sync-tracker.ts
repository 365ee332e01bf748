/**
 * Follows the uploads sync queued until they end, and writes down what they produced:
 * - done: the record (local fingerprint as uploaded, remote id and primary entity), so the next pass skips it;
 * - a refused overwrite (40076: the server's file moved on since our last upload) or a name taken meanwhile by a
 *   different file: a conflict — ours is uploaded again under a conflict name next to theirs, and listed;
 * - a conflict upload done: the conflict is listed, and the record is our conflict copy: the local file is then
 *   "unchanged since our upload", so the same conflict is not raised again, while the file at the original name
 *   stays theirs (never overwritten without another conflict, never trashed by mirror).
 */
import { hostname } from 'node:os';
import type { CloudreveClient } from '../api/client.js';
import type { FileResponse } from '../api/types.js';
import { baseName, joinUri, parentUri } from '../api/uri.js';
import { EngineError } from '../errors.js';
import type { TypedEmitter, EngineEvents } from '../events.js';
import type { Journal, UploadRow } from '../journal/journal.js';
import type { Transfers } from '../transfers.js';
import type { SyncPair, TransferSnapshot } from '../types.js';
import type { UploadRequest } from './pair-sync.js';
import { sameContent, type LocalEntry } from './reconcile.js';
import { conflictName } from './sync-plan.js';

interface Tracked extends UploadRequest {
  pairId: string;
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

export class SyncTracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly handling = new Set<Promise<void>>();
  /** the engine is closing: nothing more is recorded (the journal may be closed) */
  private disposed = false;
  private readonly off: () => void;

  constructor(private readonly deps: SyncTrackerDeps) {
    this.off = deps.events.on('transfer-state-changed', ({ transfer }) => this.onState(transfer));
  }

  /** Queues the uploads of one pass; returns per-file problems (a file gone since the scan, …). */
  async upload(pair: SyncPair, requests: UploadRequest[]): Promise<Array<{ rel: string; reason: string }>> {
    const problems: Array<{ rel: string; reason: string }> = [];
    for (const r of requests) {
      const target = r.kind === 'conflict' ? this.conflictTarget(r.remoteUri) : r.remoteUri;
      try {
        const [id] = await this.deps.transfers.enqueueFiles([
          {
            path: r.localPath,
            targetUri: target,
            // a new file never replaces one that appeared meanwhile (that becomes a conflict); a changed one replaces
            // exactly the version we uploaded last
            ifExists: r.kind === 'conflict' ? 'rename' : r.previous ? 'overwrite' : 'skip',
            previous: r.previous,
            pairId: pair.id,
          },
        ]);
        this.tracked.set(id, { ...r, pairId: pair.id });
      } catch (err) {
        problems.push({ rel: r.rel, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    return problems;
  }

  /** Relative paths of the pair with an upload still being followed. */
  busy(pairId: string): Set<string> {
    const out = new Set<string>();
    for (const t of this.tracked.values()) if (t.pairId === pairId) out.add(t.rel);
    return out;
  }

  pending(pairId: string): number {
    let n = 0;
    for (const t of this.tracked.values()) if (t.pairId === pairId) n++;
    return n;
  }

  /** Forgets a pair's uploads (the pair was removed): they run on, but nothing is recorded for them. */
  forgetPair(pairId: string): void {
    for (const [id, t] of this.tracked) if (t.pairId === pairId) this.tracked.delete(id);
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
  }

  private conflictTarget(remoteUri: string): string {
    const name = conflictName(baseName(remoteUri), new Date((this.deps.now ?? Date.now)()), this.deps.host ?? hostname());
    return joinUri(parentUri(remoteUri), name);
  }

  private onState(t: TransferSnapshot): void {
    const tracked = this.tracked.get(t.id);
    if (!tracked) return;
    if (t.state !== 'done' && t.state !== 'failed' && t.state !== 'skipped' && t.state !== 'cancelled') return;
    this.tracked.delete(t.id);
    const p = this.settleEnd(tracked, t).catch(() => undefined); // only onPairSettled can throw, and only while closing
    this.handling.add(p);
    void p.then(() => this.handling.delete(p));
  }

  /** Records a transfer's end for its pair; the pair has settled when it was the last one pending. */
  private async settleEnd(tracked: Tracked, t: TransferSnapshot): Promise<void> {
    try {
      await this.ended(tracked, t);
    } catch (err) {
      this.deps.events.emit('log', { level: 'warn', message: `sync: ${tracked.localPath}: ${err instanceof Error ? err.message : String(err)} (the next pass looks again)` });
    } finally {
      if (!this.disposed && this.pending(tracked.pairId) === 0) this.deps.onPairSettled?.(tracked.pairId);
    }
  }

  private async ended(tr: Tracked, t: TransferSnapshot): Promise<void> {
    if (this.disposed) return;
    const row = this.deps.journal.uploads.get(t.id);
    if (!row || !this.deps.journal.pairs.get(tr.pairId)) return; // cleared, or the pair was removed meanwhile
    const client = this.deps.client();
    const uploadedTo = row.sessionUri ?? row.targetUri;
    const local: LocalEntry = { kind: 'file', size: row.size, mtimeMs: row.mtimeMs, inode: row.inode };
    if (t.state === 'done') {
      const f = await client.info(uploadedTo);
      if (tr.kind === 'conflict') {
        const c = this.deps.journal.conflicts.insert({
          pairId: tr.pairId,
          relPath: tr.rel,
          remoteUri: tr.remoteUri,
          conflictUri: f.path || uploadedTo,
          reason: tr.reason ?? 'changed on both sides',
        });
        this.deps.events.emit('sync-conflict', c);
      }
      this.record(tr, row, { id: f.id, primaryEntity: f.primary_entity ?? null });
      return;
    }
    if (tr.kind !== 'sync') return;
    const stale = t.state === 'failed' && t.error?.code === 'stale-version';
    const taken = t.state === 'skipped' && t.error?.code === 'exists';
    if (!stale && !taken) return; // other failures: the transfer list shows them; the next pass tries again
    const theirs = await infoOrNull(client, tr.remoteUri);
    if (!theirs) return; // gone meanwhile: the next pass uploads it as new
    if (theirs.type === 0 && sameContent(local, { kind: 'file', id: theirs.id, size: theirs.size, updatedAtMs: Date.parse(theirs.updated_at), primaryEntity: null, uploading: false })) {
      this.record(tr, row, { id: theirs.id, primaryEntity: theirs.primary_entity ?? null });
      return;
    }
    await this.upload(this.deps.journal.pairs.get(tr.pairId)!, [
      {
        ...tr,
        kind: 'conflict',
        previous: null,
        reason: stale ? 'changed on the server since our last upload' : 'a different file of the same name appeared on the server',
      },
    ]);
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

async function infoOrNull(client: CloudreveClient, uri: string): Promise<FileResponse | null> {
  try {
    return await client.info(uri);
  } catch (err) {
    if (err instanceof EngineError && err.code === 'not-found') return null;
    throw err;
  }
}
