/**
 * Shell-menu uploads (`--upload <path>...`, on first launch or forwarded by a second launch):
 *   - `--to <uri>` given, or the `uploadWithoutAsking` setting on → queued at once (to that URI / defaultTargetFolderUri);
 *   - otherwise the window is shown and 'destination-requested' {requestId, paths, lastDestinationUri} is pushed; the
 *     renderer's picker answers with resolveDestination(requestId, uri | null): queued there (remembered as the last
 *     destination), or dropped.
 * Each queued request is followed until all its transfers are terminal; then onFinished gets a summary (main.ts turns
 * it into the "Uploaded …" notification with its "Copy share link" action).
 *
 * Requests that wait for a destination are re-sent by replay() when the page (re)loads, so a picker request pushed
 * while the window was still loading is not lost.
 */
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import type { Engine, TransferSnapshot } from '../engine/index.js';
import type { Disposer } from '../engine/events.js';
import type { SettingsDto } from '../ipc/contract.js';
import { IpcError } from '../ipc/serialize.js';
import type { EventSink } from '../ipc/server.js';
import type { ShellEvent } from './notifications.js';

export interface UploadRequest {
  paths: string[];
  /** `--to`: the destination was given on the command line */
  targetUri: string | null;
}

export interface UploadRequestsDeps {
  engine: Pick<Engine, 'enqueue' | 'transfer' | 'events'>;
  settings: () => Pick<SettingsDto, 'uploadWithoutAsking' | 'defaultTargetFolderUri'>;
  lastDestination: { get(): string | null; set(uri: string): void };
  /** pushes 'destination-requested' to the window */
  emit: EventSink;
  showWindow: () => void;
  onFinished: (summary: Extract<ShellEvent, { type: 'upload-finished' }>) => void;
  /** a request could not be queued (a path vanished, the server refused…) */
  onError: (message: string) => void;
  newId?: () => string;
}

const TERMINAL = new Set(['done', 'skipped', 'failed', 'cancelled']);

interface Batch {
  requestId: string;
  paths: string[];
  targetUri: string;
  open: Set<string>;
  /** the remote path of the only file, when the request was one file (the share link points at it) */
  singleFileUri: string | null;
  counts: { done: number; skipped: number; failed: number; cancelled: number };
}

export class UploadRequests {
  private readonly waiting = new Map<string, string[]>();
  /** transfer id → its batch */
  private readonly following = new Map<string, Batch>();
  private readonly dispose: Disposer;

  constructor(private readonly deps: UploadRequestsDeps) {
    this.dispose = deps.engine.events.on('transfer-state-changed', ({ transfer }) => this.noteState(transfer));
  }

  /** A request from the command line. Returns the new request id when it waits for the picker, else null. */
  async receive(req: UploadRequest): Promise<string | null> {
    const s = this.deps.settings();
    const target = req.targetUri ?? (s.uploadWithoutAsking ? s.defaultTargetFolderUri : null);
    if (target) {
      await this.queue(this.newId(), req.paths, target).catch((err: unknown) => this.deps.onError(message(err)));
      return null;
    }
    const requestId = this.newId();
    this.waiting.set(requestId, req.paths);
    this.deps.showWindow();
    this.send(requestId, req.paths);
    return requestId;
  }

  /** The picker's answer. null drops the request. Returns the new transfer ids. */
  async resolve(requestId: string, targetFolderUri: string | null): Promise<string[]> {
    const paths = this.waiting.get(requestId);
    if (!paths) throw new IpcError('invalid-argument', `no upload is waiting for a destination under ${requestId} (already answered?)`);
    this.waiting.delete(requestId);
    if (targetFolderUri === null) return [];
    try {
      const ids = await this.queue(requestId, paths, targetFolderUri);
      this.deps.lastDestination.set(targetFolderUri);
      return ids;
    } catch (err) {
      this.waiting.set(requestId, paths); // nothing was lost: the user can pick again
      throw err;
    }
  }

  /** Re-sends every request still waiting for a destination (the page just loaded). */
  replay(): void {
    for (const [id, paths] of this.waiting) this.send(id, paths);
  }

  pending(): number {
    return this.waiting.size;
  }

  close(): void {
    this.dispose();
    this.waiting.clear();
    this.following.clear();
  }

  private send(requestId: string, paths: string[]): void {
    this.deps.emit('destination-requested', { requestId, paths: [...paths], lastDestinationUri: this.deps.lastDestination.get() });
  }

  private async queue(requestId: string, paths: string[], targetUri: string): Promise<string[]> {
    const ids = await this.deps.engine.enqueue(paths, targetUri);
    const batch: Batch = { requestId, paths, targetUri, open: new Set(ids),
      singleFileUri: ids.length === 1 ? (this.deps.engine.transfer(ids[0])?.targetUri ?? null) : null,
      counts: { done: 0, skipped: 0, failed: 0, cancelled: 0 } };
    for (const id of ids) this.following.set(id, batch);
    // what finished while enqueue() was still resolving
    for (const id of ids) {
      const t = this.deps.engine.transfer(id);
      if (t) this.noteState(t);
    }
    if (ids.length === 0) this.finish(batch);
    return ids;
  }

  private noteState(t: Pick<TransferSnapshot, 'id' | 'state'>): void {
    const batch = this.following.get(t.id);
    if (!batch || !TERMINAL.has(t.state)) return;
    this.following.delete(t.id);
    if (!batch.open.delete(t.id)) return;
    batch.counts[t.state as keyof Batch['counts']]++;
    if (batch.open.size === 0) this.finish(batch);
  }

  private finish(b: Batch): void {
    const names = b.paths.map((p) => basename(p) || p);
    this.deps.onFinished({
      type: 'upload-finished',
      requestId: b.requestId,
      names,
      targetUri: b.targetUri,
      ...b.counts,
      shareUri: b.singleFileUri ?? (b.paths.length === 1 ? childUri(b.targetUri, names[0]) : b.targetUri),
    });
  }

  private newId(): string {
    return (this.deps.newId ?? randomUUID)();
  }
}

/** `cloudreve://my/Docs` + `a b.txt` → `cloudreve://my/Docs/a%20b.txt` (segments encoded like encodeURIComponent, spec §4.1). */
export function childUri(folderUri: string, name: string): string {
  return `${folderUri.replace(/\/+$/, '')}/${encodeURIComponent(name)}`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
