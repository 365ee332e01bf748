/**
 * Write settling and coalescing: events per path are merged, and a path is handed on only once it has been quiet
 * for `settleMs` (so a file still being written is not uploaded half-way), or `maxWaitMs` after its first event
 * when it never goes quiet (a log that keeps growing is still backed up now and then). Paths that settle together
 * are handed on as one batch. Timers are injected so tests need no real waiting.
 */
export interface SettleOptions {
  settleMs: number;
  maxWaitMs: number;
  onSettled(paths: string[]): void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class WriteSettle {
  /** path → first and last event time */
  private readonly pending = new Map<string, { first: number; last: number }>();
  private timer: unknown = null;
  private timerAt = Infinity;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private lastTouch: number | null = null;

  constructor(private readonly opts: SettleOptions) {
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** Something happened to `path`. */
  touch(path: string): void {
    const t = this.now();
    this.lastTouch = t;
    const p = this.pending.get(path);
    if (p) p.last = t;
    else this.pending.set(path, { first: t, last: t });
    this.arm(this.dueAt(this.pending.get(path)!));
  }

  /** A new quiet period, for what is pending too: each path's due time is recomputed and the timer re-armed. */
  setSettleMs(ms: number): void {
    this.opts.settleMs = ms;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    let next = Infinity;
    for (const p of this.pending.values()) next = Math.min(next, this.dueAt(p));
    if (next !== Infinity) this.arm(next);
  }

  /** When something last happened to a path (the clock's time), null before the first event; kept across clear(). */
  get lastTouchAt(): number | null {
    return this.lastTouch;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Drops everything pending (the watcher closes). */
  clear(): void {
    this.pending.clear();
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private dueAt(p: { first: number; last: number }): number {
    return Math.min(p.last + this.opts.settleMs, p.first + this.opts.maxWaitMs);
  }

  private arm(at: number): void {
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = this.setTimer(() => this.fire(), Math.max(0, at - this.now()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const t = this.now();
    const ready: string[] = [];
    let next = Infinity;
    for (const [path, p] of this.pending) {
      const due = this.dueAt(p);
      if (due <= t) ready.push(path);
      else next = Math.min(next, due);
    }
    for (const path of ready) this.pending.delete(path);
    if (next !== Infinity) this.arm(next);
    if (ready.length > 0) this.opts.onSettled(ready.sort());
  }
}
