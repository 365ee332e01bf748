/**
 * Retry timing, pure apart from `sleep`.
 *
 * - backoffDelay(): exponential backoff with a jittered fraction, capped; a server's Retry-After wins when
 *   it asks for longer (itself capped at MAX_RETRY_AFTER_MS).
 * - RetryBudget: one per transfer. Each retryable failure spends one attempt; progress (an acknowledged
 *   part, a created session) renews the budget, so a long upload over a flaky link keeps going as long as it
 *   keeps moving, while a transfer that fails the same way over and over gives up. Failures are counted per
 *   event, not per request: a failure that arrives while the transfer already waits out a backoff (its other
 *   parts in flight, cut by the same Wi-Fi drop) joins that wait and spends nothing. So four parts failing
 *   together cost one attempt, exactly like one part would, and the budget means "how many times in a row the
 *   transfer tried and got nowhere" whatever its chunk concurrency. (A budget per part instead would multiply
 *   the attempts against a dead server by the concurrency and still let one event spend every budget at once.)
 * - A busy server (errors.ts isBusy(): HTTP 429/502/503/504, a storage provider's "slow down") is waited out for a
 *   time, not a number of attempts: its answers spend none of the attempts above; instead the budget gives up once
 *   the server has been busy for `busyMs` (default 15 minutes, the busyRetryMinutes setting) without progress in
 *   between, or never (Infinity: a sync pair's uploads). Its Retry-After is honoured (up to MAX_RETRY_AFTER_MS and
 *   never past the end of that time).
 * - Whether an error is worth retrying is decided in one place, errors.ts classify(); this module only asks.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { classify, EngineError, isAbort, isBusy } from '../errors.js';

export interface RetryPolicy {
  /** delay before the first retry, before jitter (ms) */
  baseMs: number;
  /** cap of the exponential delay (ms) */
  maxMs: number;
  /** growth per attempt */
  factor: number;
  /**
   * 0..1: the fraction of each delay that is randomised ("full jitter" over that fraction). The delay is
   * uniform in [d·(1−jitter), d]: 0 = deterministic, 1 = uniform in [0, d].
   */
  jitter: number;
  /** failed attempts in a row, without progress in between, after which the budget is spent */
  maxAttemptsWithoutProgress: number;
  /**
   * How long (ms) a busy server (isBusy()) is waited out, from its first busy answer since the last progress, before
   * the failure stands; Infinity: for ever; 0: busy answers count as attempts like any other failure. Busy answers
   * spend no attempts. Absent: DEFAULT_BUSY_MS.
   */
  busyMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  baseMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
  maxAttemptsWithoutProgress: 8,
});

/** How long a busy server is waited out by default (ms): the busyRetryMinutes setting's default, 15 minutes. */
export const DEFAULT_BUSY_MS = 15 * 60_000;

/** A server's Retry-After is honoured up to this (ms). */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** setTimeout's limit; longer timers fire immediately in Node (with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const finiteOr = (v: number, fallback: number): number => (Number.isFinite(v) ? v : fallback);
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * Delay (ms, integer) before retry number `attempt` (1-based: 1 = the first retry):
 *   d = min(maxMs, baseMs · factor^(attempt−1)), then uniform in [d·(1−jitter), d];
 *   with retryAfterMs: max(that, min(retryAfterMs, MAX_RETRY_AFTER_MS)).
 * `random` returns [0, 1) like Math.random (inject it for deterministic tests).
 */
export function backoffDelay(attempt: number, p: RetryPolicy, random: () => number = Math.random, retryAfterMs?: number): number {
  const n = Math.max(1, Math.floor(finiteOr(attempt, 1)));
  const base = Math.max(0, finiteOr(p.baseMs, 0));
  const max = Math.max(0, finiteOr(p.maxMs, 0));
  const factor = Math.max(1, finiteOr(p.factor, 1));
  const jitter = clamp(finiteOr(p.jitter, 0), 0, 1);
  // factor^(n-1) may overflow to Infinity for large n; min() caps it.
  const exp = Math.min(max, base * factor ** (n - 1));
  const r = clamp(finiteOr(random(), 0), 0, 1);
  let d = exp * (1 - jitter) + exp * jitter * r;
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
    d = Math.max(d, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  }
  return Math.round(d);
}

/** The retry allowance of one transfer: failures spend it, progress renews it. */
export class RetryBudget {
  private failures = 0;
  /** busy answers since the last progress, and when (now() ms) the first of them came; null: not busy */
  private busyFailures = 0;
  private busySince: number | null = null;
  /** the last failure that ended the budget was a busy answer: how long (ms) the server had been busy by then */
  private busySpentMs: number | null = null;
  /** until when (now() ms) the current backoff runs: failures before then join it */
  private windowEnd = -Infinity;
  private readonly policy: RetryPolicy;
  private readonly random: () => number;
  private readonly now: () => number;

  /** `now` (ms, monotonic) is injectable for tests. */
  constructor(p: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random, now: () => number = () => performance.now()) {
    this.policy = p;
    this.random = random;
    this.now = now;
  }

  /** Failed attempts since the last progress (busy answers included). */
  get attempts(): number {
    return this.failures + this.busyFailures;
  }

  /** How long (ms) a busy server was waited out when next() gave up on a busy answer, else null. */
  get busyGaveUpAfterMs(): number | null {
    return this.busySpentMs;
  }

  /** The busy-server allowance (ms): policy.busyMs, DEFAULT_BUSY_MS when absent. */
  get busyMs(): number {
    const b = this.policy.busyMs;
    return b === undefined || Number.isNaN(b) ? DEFAULT_BUSY_MS : Math.max(0, b);
  }

  /**
   * Records a failed attempt. Returns the delay (ms) before trying again, or null when the error is not
   * worth retrying (classify(err) !== 'retry', or an abort) or when maxAttemptsWithoutProgress attempts
   * have now failed in a row. With the default of 8 that is the first attempt plus 7 retries.
   * A failure while a backoff is still running is the same event: it gets the rest of that backoff and
   * spends nothing.
   * A busy answer (isBusy()) spends time instead of attempts: null once the server has been busy for busyMs since its
   * first busy answer after the last progress (then busyGaveUpAfterMs says how long); its delay never runs past that.
   */
  next(err: unknown): number | null {
    if (isAbort(err) || classify(err) !== 'retry') return null;
    const t = this.now();
    if (t < this.windowEnd) return Math.ceil(this.windowEnd - t);
    const retryAfter = err instanceof EngineError ? err.retryAfterMs : undefined;
    const busyMs = this.busyMs;
    let delay: number;
    if (busyMs > 0 && isBusy(err)) {
      this.busySince ??= t;
      const left = this.busySince + busyMs - t;
      this.busyFailures++;
      if (left <= 0) {
        this.busySpentMs = t - this.busySince;
        return null;
      }
      delay = Math.min(backoffDelay(this.busyFailures, this.policy, this.random, retryAfter), Math.max(1, Math.ceil(left)));
    } else {
      this.failures++;
      if (this.failures >= this.policy.maxAttemptsWithoutProgress) return null;
      delay = backoffDelay(this.failures, this.policy, this.random, retryAfter);
    }
    this.windowEnd = t + delay;
    return delay;
  }

  /** Something moved forward: the next failure starts from the first delay again, and a busy server's time anew. */
  progressed(): void {
    this.failures = 0;
    this.busyFailures = 0;
    this.busySince = null;
    this.busySpentMs = null;
  }
}

/**
 * Resolves after `ms` (clamped to 0 … 2^31−1). Rejects with an AbortError (name 'AbortError', code
 * 'ABORT_ERR', the signal's reason as `cause`) when `signal` aborts first or is already aborted.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  const t = clamp(Math.round(finiteOr(ms, 0)), 0, MAX_TIMER_MS);
  return delay(t, undefined, { signal });
}

/** An AbortError (name 'AbortError', code 'ABORT_ERR', like fetch and timers/promises) carrying the signal's reason as `cause`. */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('This operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}
