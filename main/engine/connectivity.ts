/**
 * Offline is a state, not a failure. When a request fails because the server cannot be reached (connection
 * refused or reset, DNS, timeouts, HTTP 502/503/504 from it or its proxy), the transfer does not spend its
 * retry budget: it asks this module, which probes the server (`GET /api/v4/site/ping`) once. If the server
 * answers, the failure was the request's own and the transfer backs off as usual. If it does not, the engine is
 * offline: every transfer that runs into the outage waits here (its session, its acknowledged parts and its
 * place kept), the server is probed with backoff, and when it answers again every waiter continues at once, in
 * the same process, with only what is missing. Per-file refusals (quota, name, too large, exists) never come
 * here: they stay per-file failures.
 *
 * One instance per engine; plain Node (no electron).
 */
import { EngineError, isAbort } from './errors.js';
import type { ConnectivityState } from './types.js';
import { abortError, backoffDelay, sleep, type RetryPolicy } from './transfer/retry.js';

export interface ProbeTiming {
  /** delay before the second probe (the first goes out at once); doubles up to maxMs */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_PROBE: ProbeTiming = Object.freeze({ baseMs: 2_000, maxMs: 60_000 });

export interface ConnectivityOptions {
  /** resolves when the server answers like a Cloudreve server; rejects otherwise */
  probe: () => Promise<unknown>;
  timing?: Partial<ProbeTiming>;
  onChange?: (state: ConnectivityState) => void;
  /** wall clock (ms) for the state's timestamps; injectable for tests */
  now?: () => number;
  random?: () => number;
}

const UNREACHABLE_STATUS = new Set([502, 503, 504]);

/** True for failures that say "the server cannot be reached", as opposed to "the server refused this". */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof EngineError)) return false;
  if (err.code === 'network' || err.code === 'timeout') return true;
  return err.code === 'http-status' && UNREACHABLE_STATUS.has(err.httpStatus ?? 0);
}

const ONLINE: ConnectivityState = Object.freeze({ online: true, reason: null, since: null, nextProbeAt: null });

export class Connectivity {
  private current: ConnectivityState = ONLINE;
  /** the probe that decides whether a failure means offline (shared by everyone failing at once) */
  private checking: Promise<boolean> | null = null;
  /** resolves when the server answers again */
  private back: Promise<void> | null = null;
  private stopped = new AbortController();
  private readonly timing: ProbeTiming;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: ConnectivityOptions) {
    this.timing = { ...DEFAULT_PROBE, ...(opts.timing ?? {}) };
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  state(): ConnectivityState {
    return this.current;
  }

  /**
   * Called with a request's failure. Resolves false when `err` does not mean the server is unreachable, or when a
   * probe finds it answering (the caller then retries under its own budget). Otherwise the engine is (or already
   * was) offline: resolves true once the server answers again, having spent nothing. Rejects with an AbortError
   * when `signal` aborts (pause, cancel, shutdown) while waiting.
   */
  async ride(err: unknown, signal: AbortSignal): Promise<boolean> {
    if (!isUnreachable(err) || this.stopped.signal.aborted) return false;
    if (!this.back) {
      this.checking ??= this.check(err).finally(() => (this.checking = null));
      const offline = await abortable(this.checking, signal);
      if (!offline) return false;
    }
    if (this.back) await abortable(this.back, signal);
    return true;
  }

  /** Stops probing (engine shutdown); waiters are released by their own signals. */
  close(): void {
    this.stopped.abort();
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** One probe now: true (and offline, probing in the background) when the server does not answer. */
  private async check(err: unknown): Promise<boolean> {
    if (this.back) return true;
    const failure = await this.probeOnce();
    if (failure === null) return false;
    if (this.back) return true; // another caller's check got there first
    const reason = failure ?? (err as Error).message;
    this.back = this.probeUntilBack(reason).finally(() => (this.back = null));
    return true;
  }

  /** null when the server answered, else why it did not. */
  private async probeOnce(): Promise<string | null> {
    try {
      await this.opts.probe();
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  private async probeUntilBack(firstReason: string): Promise<void> {
    const since = this.now();
    let reason = firstReason;
    const policy: RetryPolicy = { baseMs: this.timing.baseMs, maxMs: this.timing.maxMs, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: Infinity };
    for (let attempt = 1; ; attempt++) {
      const delay = backoffDelay(attempt, policy, this.random);
      this.set({ online: false, reason, since, nextProbeAt: this.now() + delay });
      try {
        await sleep(delay, this.stopped.signal);
      } catch (e) {
        if (isAbort(e)) return; // engine closing: waiters go with their own signals
        throw e;
      }
      this.set({ online: false, reason, since, nextProbeAt: null });
      const failure = await this.probeOnce();
      if (failure === null) break;
      reason = failure;
    }
    this.set(ONLINE);
  }

  private set(next: ConnectivityState): void {
    this.current = next;
    this.opts.onChange?.(next);
  }
}

/** `p`, or an AbortError as soon as `signal` aborts (p keeps running for the others). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
