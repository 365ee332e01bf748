/**
 * The transfer queue: which uploads run, in what order, and the verbs that act on them.
 *
 * - At most `maxActiveFiles` files run at once, plus `smallFileSlots` extra slots that only small files
 *   (at most `smallFileBytes`) may use, so hundreds of small files never wait behind one huge file.
 * - Order: priority (higher first), then age. Priorities can change while queued.
 * - pause keeps the server session; cancel deletes it; retry/resume put a transfer back in the queue.
 * - A transfer whose file changed mid-upload waits until the file has been still for `settleMs`, then
 *   goes back in the queue from scratch.
 *
 * Only transfers admitted to this queue run: a CLI `upload` runs what it enqueued, not what an earlier,
 * interrupted process left in the journal (that is `resume`'s job).
 */
import { EngineError } from '../errors.js';
import { fingerprintOrNull, sameFingerprint } from '../fs/file-source.js';
import type { Journal, UploadRow } from '../journal/journal.js';
import { TERMINAL_STATES, type TransferState } from '../types.js';
import { sleep } from './retry.js';
import type { StopReason, UploadJob } from './upload-job.js';

export interface QueueOptions {
  maxActiveFiles: number;
  smallFileSlots: number;
  smallFileBytes: number;
  settleMs: number;
  /** give up waiting for a file that keeps changing after this long */
  maxSettleWaitMs: number;
}

export const DEFAULT_QUEUE: QueueOptions = {
  maxActiveFiles: 3,
  smallFileSlots: 8,
  smallFileBytes: 4 * 1024 * 1024,
  settleMs: 2000,
  maxSettleWaitMs: 60 * 60_000,
};

interface Running {
  job: UploadJob;
  controller: AbortController;
  small: boolean;
  done: Promise<void>;
}

/** States a transfer can be continued from (after a crash they are "interrupted"). */
export const RESUMABLE_STATES: ReadonlySet<TransferState> = new Set([
  'queued', 'preflight', 'creating-session', 'uploading', 'completing', 'waiting-retry', 'waiting-file', 'paused',
]);

interface Entry {
  state: TransferState;
  priority: number;
  createdAt: number;
  size: number;
  bytesDone: number;
  /** the row as admitNew() got it, while nothing changed it since: starting it then needs no journal read */
  row?: UploadRow;
}

export class TransferQueue {
  /** admitted transfers, mirrored from the journal so scheduling never scans it */
  private readonly admitted = new Map<string, Entry>();
  /** ids of admitted transfers whose state is 'queued' */
  private readonly queued = new Set<string>();
  /**
   * The queued ids in run order (priority, then age), built when needed and kept while only removals happen
   * (ids that left the queue are skipped when met): picking the next of n queued files is O(1) amortised,
   * not a scan of all n per pick. Null when something joined the queue or a priority changed.
   */
  private order: string[] | null = null;
  private orderHead = 0;
  private readonly running = new Map<string, Running>();
  private readonly settling = new Map<string, AbortController>();
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly journal: Journal,
    private readonly makeJob: (row: UploadRow) => UploadJob,
    private opts: QueueOptions,
    /** called whenever the queue itself changes a row's state (jobs report their own changes) */
    private readonly onState: (row: UploadRow, from: TransferState) => void,
  ) {}

  /** Admit transfers just inserted in the journal as 'queued' (their rows as inserted) and start what fits. */
  admitNew(rows: UploadRow[]): void {
    for (const row of rows) {
      this.mirror(row);
      this.admitted.get(row.id)!.row = row;
    }
    this.pump();
  }

  /** Admit transfers (already in the journal) and start what fits. */
  admit(ids: string[]): void {
    for (const id of ids) {
      const row = this.journal.uploads.get(id);
      if (!row) continue;
      this.mirror(row);
      if (row.state === 'waiting-file') this.watchSettle(row);
      else if (RESUMABLE_STATES.has(row.state as TransferState) && row.state !== 'paused' && row.state !== 'queued') {
        this.setState(row, 'queued'); // interrupted mid-flight by a crash: run again from the journal
      }
    }
    this.pump();
  }

  /** Jobs report their state changes here (through the engine) so the mirror stays true. */
  noteState(row: UploadRow): void {
    if (this.admitted.has(row.id)) this.mirror(row);
  }

  private mirror(row: UploadRow): void {
    const prev = this.admitted.get(row.id);
    this.admitted.set(row.id, {
      state: row.state as TransferState,
      priority: row.priority,
      createdAt: row.createdAt,
      size: row.size,
      bytesDone: prev && row.state !== 'queued' ? Math.max(prev.bytesDone, row.bytesDone) : row.bytesDone,
    });
    if (row.state === 'queued') {
      if (!this.queued.has(row.id) || prev?.priority !== row.priority) this.order = null;
      this.queued.add(row.id);
    } else this.queued.delete(row.id);
  }

  /** Progress of a running transfer, for overall(). */
  noteProgress(id: string, bytesDone: number): void {
    const e = this.admitted.get(id);
    if (e) e.bytesDone = bytesDone;
  }

  /** Totals over the admitted transfers, from memory (cheap enough to compute on every progress tick). */
  totals(): { bytesDone: number; bytesTotal: number; active: number; queued: number } {
    let bytesDone = 0;
    let bytesTotal = 0;
    let active = 0;
    for (const e of this.admitted.values()) {
      if (e.state === 'cancelled' || e.state === 'skipped') continue;
      bytesTotal += e.size;
      bytesDone += e.state === 'done' ? e.size : Math.min(e.size, e.bytesDone);
      if (!TERMINAL_STATES.has(e.state) && e.state !== 'paused' && e.state !== 'queued') active++;
    }
    return { bytesDone, bytesTotal, active, queued: this.queued.size };
  }

  pause(id?: string): void {
    for (const row of this.targets(id)) {
      const r = this.running.get(row.id);
      if (r) r.controller.abort('pause' satisfies StopReason);
      else if (row.state === 'queued' || row.state === 'waiting-file') {
        this.settling.get(row.id)?.abort();
        this.setState(row, 'paused');
      }
    }
    this.notifyIdle();
  }

  resume(id?: string): void {
    for (const row of this.targets(id)) {
      if (row.state === 'paused') {
        if (row.error) this.journal.uploads.update(row.id, { error: null });
        this.mirror(row);
        this.setState({ ...row, error: null }, 'queued');
      }
    }
    this.pump();
  }

  retry(id: string): void {
    const row = this.journal.uploads.get(id);
    if (!row) throw new EngineError('not-found', `no transfer ${id}`);
    if (row.state !== 'failed' && row.state !== 'cancelled' && row.state !== 'paused') return;
    this.mirror(row);
    this.journal.uploads.update(id, { error: null, attempts: 0 });
    this.setState({ ...row, error: null, attempts: 0 }, 'queued');
    this.pump();
  }

  async cancel(id: string): Promise<void> {
    const row = this.journal.uploads.get(id);
    if (!row) throw new EngineError('not-found', `no transfer ${id}`);
    if (TERMINAL_STATES.has(row.state as TransferState) && row.state !== 'failed') return;
    this.settling.get(id)?.abort();
    const r = this.running.get(id);
    if (r) {
      r.controller.abort('cancel' satisfies StopReason);
      await r.done;
    } else {
      await this.makeJob(row).cancelIdle();
    }
    this.notifyIdle();
  }

  /** More slots start queued transfers at once; fewer let the running ones finish. */
  setMaxActiveFiles(n: number): void {
    this.opts = { ...this.opts, maxActiveFiles: Math.max(1, Math.floor(n)) };
    this.pump();
  }

  /** How long a changed file must stay still before it is queued again; applies to the waits under way too. */
  setSettleMs(ms: number): void {
    this.opts = { ...this.opts, settleMs: Math.max(0, Math.floor(ms)) };
  }

  setPriority(id: string, priority: number): void {
    this.journal.uploads.update(id, { priority });
    const e = this.admitted.get(id);
    if (e) {
      e.priority = priority;
      e.row = undefined;
    }
    this.order = null;
    this.pump();
  }

  /** Resolves when none of the admitted transfers is queued, running or waiting for its file. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * After shutdown(): an empty queue that runs what is admitted from now on (signing in again in the same process).
   * What was admitted before stays in the journal as it was, for `resume`.
   */
  reopen(): void {
    this.admitted.clear();
    this.queued.clear();
    this.closed = false;
  }

  /** Stops everything; rows stay as they are in the journal so that `resume` continues them. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const c of this.settling.values()) c.abort();
    const all = [...this.running.values()];
    for (const r of all) r.controller.abort('shutdown' satisfies StopReason);
    await Promise.all(all.map((r) => r.done));
    this.notifyIdle(true);
  }

  // ---- internals -----------------------------------------------------------------------------------

  private targets(id?: string): UploadRow[] {
    if (id !== undefined) {
      const row = this.journal.uploads.get(id);
      if (!row) throw new EngineError('not-found', `no transfer ${id}`);
      return [row];
    }
    return [...this.admitted.keys()].map((i) => this.journal.uploads.get(i)).filter((r): r is UploadRow => !!r);
  }

  private pump(): void {
    if (this.closed) return;
    let normal = 0;
    for (const r of this.running.values()) if (!r.small) normal++;
    let small = this.running.size - normal;
    for (;;) {
      const normalFree = normal < this.opts.maxActiveFiles;
      const smallFree = small < this.opts.smallFileSlots;
      if (!normalFree && !smallFree) break;
      const id = this.best(normalFree ? Infinity : this.opts.smallFileBytes);
      if (id === null) break;
      const e = this.admitted.get(id)!;
      const lane = normalFree ? 'normal' : 'small';
      // taken off the queue now, so the next pick does not choose it again
      e.state = 'preflight';
      this.queued.delete(id);
      const row = e.row ?? this.journal.uploads.get(id);
      e.row = undefined;
      if (!row) {
        this.admitted.delete(id);
        continue;
      }
      if (lane === 'normal') normal++;
      else small++;
      this.start(row, lane === 'small');
    }
    this.notifyIdle();
  }

  /** The queued transfer to run next (priority, then age), among those of at most `maxSize` bytes. */
  private best(maxSize: number): string | null {
    if (this.order === null) {
      // ties keep the order they were queued in (the Set's insertion order; sort is stable)
      this.order = [...this.queued].sort((a, b) => {
        const x = this.admitted.get(a)!;
        const y = this.admitted.get(b)!;
        return y.priority - x.priority || x.createdAt - y.createdAt;
      });
      this.orderHead = 0;
    }
    const order = this.order;
    while (this.orderHead < order.length && !this.queued.has(order[this.orderHead])) this.orderHead++;
    for (let i = this.orderHead; i < order.length; i++) {
      const id = order[i];
      if (!this.queued.has(id) || this.running.has(id)) continue;
      if (this.admitted.get(id)!.size <= maxSize) return id;
    }
    return null;
  }

  private start(row: UploadRow, small: boolean): void {
    const controller = new AbortController();
    const job = this.makeJob(row);
    const entry: Running = { job, controller, small, done: Promise.resolve() };
    entry.done = job.run(controller.signal).then((final) => {
      this.running.delete(row.id);
      if (final.state === 'waiting-file') this.watchSettle(final);
      this.pump();
    });
    this.running.set(row.id, entry);
  }

  /** Polls a changed file until it has been still for settleMs, then queues it again from scratch. */
  private watchSettle(row: UploadRow): void {
    if (this.settling.has(row.id) || this.closed) return;
    const controller = new AbortController();
    this.settling.set(row.id, controller);
    const started = Date.now();
    const loop = async () => {
      let prev = await fingerprintOrNull(row.localPath);
      while (Date.now() - started < this.opts.maxSettleWaitMs) {
        await sleep(this.opts.settleMs, controller.signal);
        const cur = await fingerprintOrNull(row.localPath);
        if (!cur) {
          this.journal.uploads.update(row.id, { error: { code: 'file-changed', message: `${row.localPath}: the file disappeared` } });
          return this.setState(row, 'failed');
        }
        if (prev && sameFingerprint(prev, cur)) {
          this.journal.uploads.update(row.id, { size: cur.size, mtimeMs: cur.mtimeMs, inode: cur.inode, error: null, bytesDone: 0 });
          return this.setState({ ...row, size: cur.size, mtimeMs: cur.mtimeMs, inode: cur.inode }, 'queued');
        }
        prev = cur;
      }
      this.journal.uploads.update(row.id, { error: { code: 'file-changed', message: `${row.localPath}: the file kept changing` } });
      this.setState(row, 'failed');
    };
    loop()
      .catch(() => undefined) // aborted by pause/cancel/shutdown: they set the state themselves
      .finally(() => {
        this.settling.delete(row.id);
        this.pump();
      });
  }

  private setState(row: UploadRow, state: TransferState): void {
    const fresh = this.journal.uploads.get(row.id) ?? row;
    const from = fresh.state as TransferState;
    if (from === state) return;
    this.journal.uploads.update(row.id, { state });
    if (this.admitted.has(row.id)) this.mirror({ ...fresh, state });
    this.onState({ ...fresh, state }, from);
  }

  private isIdle(): boolean {
    if (this.running.size > 0 || this.settling.size > 0) return false;
    return this.queued.size === 0;
  }

  private notifyIdle(force = false): void {
    if (!force && !this.isIdle()) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
