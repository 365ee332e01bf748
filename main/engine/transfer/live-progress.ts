/**
 * What the engine knows in memory about transfers while they run: bytes sent, speed and ETA, turned into
 * throttled progress events and into snapshots (the journal's row is the truth once a transfer stops).
 */
import type { TypedEmitter, EngineEvents } from '../events.js';
import type { UploadRow } from '../journal/journal.js';
import { TERMINAL_STATES, type OverallProgress, type TransferSnapshot, type TransferState } from '../types.js';
import { EmitThrottle, SpeedMeter, eta } from './progress.js';

/** What the engine tracks in memory about a transfer while it is active. */
interface Live {
  meter: SpeedMeter;
  bytesDone: number;
  size: number;
  /**
   * The state the transfer is in now. Steps that need not survive a crash are not written to the journal (a
   * one-part file goes from 'queued' to 'done' in the journal without a commit for 'uploading'), so while it runs
   * the journal's row may say less than this.
   */
  state: TransferState | null;
  /** waiting-retry: when the next try goes out (ms since the epoch) */
  retryAt: number | null;
}

export type QueueTotals = Omit<OverallProgress, 'speed' | 'eta'>;

export class LiveProgress {
  private readonly live = new Map<string, Live>();
  private readonly overallMeter = new SpeedMeter();
  private readonly progressThrottle: EmitThrottle<{ bytesDone: number }>;
  private readonly overallThrottle: EmitThrottle<null>;

  constructor(
    private readonly events: TypedEmitter<EngineEvents>,
    intervalMs: number,
    /** The queue's totals (bytes done and total, active and queued counts). */
    private readonly totals: () => QueueTotals,
  ) {
    this.progressThrottle = new EmitThrottle<{ bytesDone: number }>(intervalMs, (id, v) => {
      const l = this.live.get(id);
      const speed = l ? l.meter.sample(v.bytesDone) : 0;
      events.emit('transfer-progressed', { id, bytesDone: v.bytesDone, speed, eta: l ? eta(l.size - v.bytesDone, speed) : null });
    });
    this.overallThrottle = new EmitThrottle<null>(intervalMs, () => events.emit('overall-progressed', this.overall()));
  }

  /** A transfer sent more bytes (cumulative count). */
  progressed(id: string, bytesDone: number): void {
    this.liveOf(id).bytesDone = bytesDone;
    this.progressThrottle.push(id, { bytesDone });
    this.overallThrottle.push('all', null);
  }

  /** A transfer changed state: (re)start its meter, or drop its live state once it stops; emits the change. */
  stateChanged(row: UploadRow, from: TransferState): void {
    if (row.state === 'queued' || row.state === 'preflight') {
      const l = this.liveOf(row.id);
      l.meter.reset();
      l.size = row.size;
    }
    const l = this.live.get(row.id);
    if (l) l.state = row.state as TransferState;
    if (TERMINAL_STATES.has(row.state as TransferState) || row.state === 'paused') {
      // the last progress goes out before the state change; then the journal's row is the truth again
      this.progressThrottle.flush(row.id);
      this.progressThrottle.forget(row.id);
      this.live.delete(row.id);
    }
    this.events.emit('transfer-state-changed', { transfer: this.snapshot(row), from });
    this.overallThrottle.push('all', null);
  }

  /** When a waiting transfer tries again (null: not known, or not waiting any more); shown by its next snapshot. */
  retryAt(id: string, at: number | null): void {
    if (at === null && !this.live.has(id)) return;
    this.liveOf(id).retryAt = at;
  }

  /** The transfer is gone from the list. */
  forget(id: string): void {
    this.live.delete(id);
  }

  snapshot(row: UploadRow): TransferSnapshot {
    const l = this.live.get(row.id);
    const running = !TERMINAL_STATES.has(row.state as TransferState) && row.state !== 'paused';
    const bytesDone = l && running ? Math.max(l.bytesDone, 0) : row.bytesDone;
    // a running transfer's state is the engine's (see Live.state); a stopped one's is the journal's
    const state = running && l?.state && !TERMINAL_STATES.has(l.state) && l.state !== 'paused' ? l.state : (row.state as TransferState);
    const speed = running && l ? l.meter.bytesPerSecond : 0;
    return {
      id: row.id,
      localPath: row.localPath,
      targetUri: row.sessionUri ?? row.targetUri,
      size: row.size,
      state,
      priority: row.priority,
      bytesDone,
      speed,
      eta: running ? eta(row.size - bytesDone, speed) : null,
      encrypted: !!row.session?.encrypt_metadata,
      error: row.error,
      retryAt: state === 'waiting-retry' ? (l?.retryAt ?? null) : null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  overall(): OverallProgress {
    const t = this.totals();
    const speed = this.overallMeter.sample(t.bytesDone);
    return { ...t, speed, eta: eta(t.bytesTotal - t.bytesDone, speed) };
  }

  /** Sends every progress value still held back by the throttle. */
  flush(): void {
    this.progressThrottle.flush();
  }

  private liveOf(id: string): Live {
    let l = this.live.get(id);
    if (!l) {
      l = { meter: new SpeedMeter(), bytesDone: 0, size: 0, state: null, retryAt: null };
      this.live.set(id, l);
    }
    return l;
  }
}
