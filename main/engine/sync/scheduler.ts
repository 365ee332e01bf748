/**
 * When a pair's passes run: one at a time, a full scan at start and every `scanIntervalMs` (hourly), a scan of
 * just the folders a watcher saw change, more often in periodic-scan mode (no watch events: watch limit reached
 * or a network share), after a failure (offline, server down, login gone) again after a growing delay, and when a
 * failed file's retry time comes (wakeAt: a file waiting on a lock "tried again at 12:05" is tried then, not at
 * the next hourly scan).
 * Requests that arrive during a pass are merged and run right after it. Timers are injected for tests.
 */
export interface PassScope {
  /** relative folders; undefined = the whole tree */
  folders?: string[];
}

/** A pass's outcome: ok, or try again later (offline, server error, …). */
export type PassOutcome = 'ok' | 'retry';

export interface SchedulerOptions {
  scanIntervalMs: number;
  /** full-scan interval while the pair has no watch events (ENOSPC fallback, network share) */
  pollIntervalMs: number;
  /** delay after the n-th failure in a row (1-based) */
  retryDelayMs(failures: number): number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  now?: () => number;
}

export const retryBackoff = (failures: number): number => Math.min(300_000, 15_000 * 2 ** Math.max(0, failures - 1));

export class PairScheduler {
  private running: Promise<void> | null = null;
  private wantFull = false;
  private readonly wantFolders = new Set<string>();
  private timer: unknown = null;
  private failures = 0;
  /** the earliest pass asked for by wakeAt (ms since the epoch), until a timer for it goes off */
  private wake: number | null = null;
  private polling = false;
  private stopped = false;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(
    private readonly run: (scope: PassScope) => Promise<PassOutcome>,
    private readonly opts: SchedulerOptions,
  ) {
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** Starts with a full scan. */
  start(): void {
    this.requestFull();
  }

  /** No watch events will come any more: scan the whole tree every pollIntervalMs. */
  setPolling(on: boolean): void {
    this.polling = on;
    if (!this.running) this.armTimer();
  }

  requestFull(): void {
    this.wantFull = true;
    this.kick();
  }

  /**
   * A full pass is wanted at `at` (ms since the epoch) at the latest: a failed file's retry time. The timer after
   * the current pass (or the armed one) goes off then if that is sooner than its own time.
   */
  wakeAt(at: number): void {
    if (this.stopped) return;
    if (this.wake !== null && this.wake <= at) return;
    this.wake = at;
    if (!this.running) this.armTimer();
  }

  /** Folders (relative) a watcher saw change. */
  requestFolders(folders: string[]): void {
    for (const f of folders) this.wantFolders.add(f);
    this.kick();
  }

  /** Resolves when no pass is running or asked for. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    await this.idle();
  }

  private kick(): void {
    if (this.stopped || this.running) return;
    if (!this.wantFull && this.wantFolders.size === 0) return;
    const scope: PassScope = this.wantFull ? {} : { folders: [...this.wantFolders].sort() };
    this.wantFull = false;
    this.wantFolders.clear();
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.running = (async () => {
      let outcome: PassOutcome;
      try {
        outcome = await this.run(scope);
      } catch {
        outcome = 'retry';
      }
      this.failures = outcome === 'ok' ? 0 : this.failures + 1;
      if (outcome === 'retry' && scope.folders) scope.folders.forEach((f) => this.wantFolders.add(f));
    })().finally(() => {
      this.running = null;
      if (this.failures === 0) this.kick(); // what arrived meanwhile
      if (!this.running) this.armTimer();
    });
  }

  private armTimer(): void {
    if (this.stopped) return;
    if (this.timer !== null) this.clearTimer(this.timer);
    let ms = this.failures > 0 ? this.opts.retryDelayMs(this.failures) : this.polling ? this.opts.pollIntervalMs : this.opts.scanIntervalMs;
    const woken = this.wake !== null && this.wake - (this.opts.now ?? Date.now)() < ms;
    // a little after the retry time, so the pass finds it come
    if (woken) ms = Math.max(0, this.wake! - (this.opts.now ?? Date.now)()) + 50;
    this.timer = this.setTimer(() => {
      this.timer = null;
      if (woken) this.wake = null;
      this.requestFull();
    }, ms);
  }
}
