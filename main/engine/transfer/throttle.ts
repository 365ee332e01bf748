/**
 * One bandwidth limit shared by every transfer, changeable while running.
 *
 * A token bucket: tokens (bytes) accrue at `rate` per second up to a burst of max(64 KiB, rate/8), so an idle
 * limiter lets a short burst through at once and a busy one averages `rate`.
 *
 * Fairness: waiters are served round-robin in grants of a quantum, not first come first served with whole
 * requests. The quantum is sized so one round over every waiter takes about ROUND_MS (rate·ROUND_MS / waiters,
 * between MIN_GRANT and STREAM_PIECE), and a waiter that got a grant goes to the back of the line. So with n
 * streams waiting, each one moves at least MIN_GRANT bytes every max(ROUND_MS, n·MIN_GRANT/rate): 40 streams at
 * 40 KiB/s each get a grant every second, where whole 64 KiB grants first come first served left each stream
 * silent for 64 s (longer than any idle timeout). A large take() is split into grants and waits its turn like
 * everybody else, so it can neither starve small requests nor be starved by them. One timer, armed for the
 * moment the head can next be served, drives the queue. setRate() re-evaluates that moment at once (0
 * releases everyone).
 *
 * stream() is a pass-through Transform that pushes each grant as soon as it is paid for (so the bytes, and
 * with them a transfer's progress-based timeout, keep moving at any limit). Its backpressure is the transform
 * callback: nothing more is read from upstream until the current chunk has been paid for.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { abortError } from './retry.js';

const MIN_BURST = 64 * 1024;
/** Largest grant (and so the largest slice stream() pushes while limited). */
const STREAM_PIECE = 64 * 1024;
/** Smallest grant: below this the per-grant overhead would dominate. */
const MIN_GRANT = 1024;
/** Target duration of one round-robin round over every waiter. */
const ROUND_MS = 250;

interface Waiter {
  /** most bytes this waiter wants from one grant */
  want: number;
  resolve: (granted: number) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

function burstFor(rate: number): number {
  return Math.max(MIN_BURST, rate / 8);
}

export class BandwidthLimiter {
  private bps: number;
  private burst: number;
  private tokens: number;
  private last: number;
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  /** `bytesPerSecond` 0 = unlimited. `now` (ms, monotonic) is injectable for tests. */
  constructor(bytesPerSecond: number, now: () => number = () => performance.now()) {
    this.now = now;
    this.bps = BandwidthLimiter.check(bytesPerSecond);
    this.burst = burstFor(this.bps);
    this.tokens = this.burst;
    this.last = now();
  }

  /** bytes per second; 0 = unlimited */
  get rate(): number {
    return this.bps;
  }

  /** Changes the limit; waiters see it immediately. 0 (or Infinity) = unlimited. */
  setRate(bytesPerSecond: number): void {
    const next = BandwidthLimiter.check(bytesPerSecond);
    this.refill(); // what accrued so far accrued at the old rate
    const wasUnlimited = this.bps === 0;
    this.bps = next;
    this.burst = burstFor(next);
    if (wasUnlimited) this.tokens = this.burst;
    this.pump(); // serves waiters at the new rate, caps what is left at the new burst
  }

  /**
   * Resolves once `bytes` may be sent. Immediate when unlimited or when the bucket holds enough and nobody
   * is queued; otherwise paid for in round-robin grants (see the top of this file). Rejects with an
   * AbortError if `signal` aborts first (tokens already granted to the aborted request go back to the bucket).
   */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new RangeError(`take: bad byte count ${bytes}`);
    if (signal?.aborted) throw abortError(signal);
    if (this.tryTake(bytes)) return;
    let granted = 0;
    try {
      while (granted < bytes) granted += await this.grant(bytes - granted, signal);
    } catch (err) {
      this.giveBack(granted);
      throw err;
    }
  }

  /** A pass-through that pays for each piece before pushing it. Aborting `signal` or destroying the stream withdraws its pending request. */
  stream(signal?: AbortSignal): Transform {
    const own = new AbortController();
    const onAbort = () => own.abort(signal?.reason);
    if (signal) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    const detach = () => signal?.removeEventListener('abort', onAbort);
    const pay = async (chunk: Buffer, push: (b: Buffer) => void): Promise<void> => {
      for (let off = 0; off < chunk.length; ) {
        const n = await this.grant(Math.min(STREAM_PIECE, chunk.length - off), own.signal);
        push(chunk.subarray(off, off + n));
        off += n;
      }
    };
    const t: Transform = new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void => {
        if (own.signal.aborted) return callback(abortError(own.signal));
        if (this.tryTake(chunk.length)) return callback(null, chunk); // fast path: no promise, no slicing
        pay(chunk, (b) => t.push(b)).then(() => callback(), callback);
      },
      flush: (callback: TransformCallback): void => {
        detach();
        callback();
      },
      destroy: (err: Error | null, callback: (error: Error | null) => void): void => {
        detach();
        own.abort(err ?? undefined);
        callback(err);
      },
    });
    return t;
  }

  // ---- internals --------------------------------------------------------------------------------------

  private static check(bytesPerSecond: number): number {
    if (Number.isNaN(bytesPerSecond) || bytesPerSecond < 0) throw new RangeError(`bandwidth limit must be >= 0, got ${bytesPerSecond}`);
    return Number.isFinite(bytesPerSecond) ? bytesPerSecond : 0;
  }

  /** Takes `bytes` now if that is possible without overtaking a waiter. */
  private tryTake(bytes: number): boolean {
    if (this.bps === 0) return true;
    if (this.queue.length > 0) return false;
    this.refill();
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }

  /** The grant size while `waiters` wait: one round over all of them takes about ROUND_MS. */
  private quantum(waiters: number): number {
    const q = Math.floor((this.bps * ROUND_MS) / 1000 / Math.max(1, waiters));
    return Math.min(STREAM_PIECE, Math.max(MIN_GRANT, q));
  }

  /**
   * Resolves with how many bytes (1 … `max`) may be sent now: at once when nobody waits and the bucket holds a
   * grant's worth (then as much as it holds, up to `max`), otherwise at this waiter's next turn.
   */
  private grant(max: number, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.bps === 0) return Promise.resolve(max);
    if (this.queue.length === 0) {
      this.refill();
      const g = Math.min(max, this.quantum(1));
      if (this.tokens >= g) {
        const n = Math.min(max, Math.max(g, Math.floor(this.tokens)));
        this.tokens -= n;
        return Promise.resolve(n);
      }
    }
    return new Promise<number>((resolve, reject) => {
      const w: Waiter = { want: max, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => this.cancel(w);
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      this.pump();
    });
  }

  /** Tokens a request was granted before it was withdrawn go back to the bucket (for whoever is next). */
  private giveBack(bytes: number): void {
    if (bytes <= 0 || this.bps === 0) return;
    this.tokens += bytes;
    this.pump();
  }

  /**
   * Adds what accrued since the last call. The burst cap applies only while nobody waits: tokens that accrue
   * while a request is queued belong to the waiters, so a timer that fires late (or a wake-up rounded up to
   * the next millisecond) costs no bandwidth.
   */
  private refill(): void {
    const t = this.now();
    if (this.bps > 0 && t > this.last) this.tokens += ((t - this.last) * this.bps) / 1000;
    if (this.queue.length === 0) this.tokens = Math.min(this.tokens, this.burst);
    this.last = Math.max(this.last, t);
  }

  /** Serves the queue round-robin, one grant per waiter and turn, then arms the timer for the next grant. */
  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.bps === 0) {
      for (const w of this.queue.splice(0)) this.settle(w, w.want);
      return;
    }
    this.refill();
    // Each waiter served here asks again (if it wants more) from a later microtask, at the back of the line.
    const q = this.quantum(this.queue.length);
    while (this.queue.length > 0) {
      const g = Math.min(this.queue[0].want, q);
      if (this.tokens < g) break;
      this.tokens -= g;
      this.settle(this.queue.shift()!, g);
    }
    if (this.queue.length === 0) {
      this.tokens = Math.min(this.tokens, this.burst);
      return;
    }
    const need = Math.min(this.queue[0].want, q) - this.tokens;
    const ms = Math.max(1, Math.ceil((need * 1000) / this.bps));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, ms);
  }

  private settle(w: Waiter, granted: number): void {
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    w.resolve(granted);
  }

  private cancel(w: Waiter): void {
    const i = this.queue.indexOf(w);
    if (i < 0) return; // already served
    this.queue.splice(i, 1);
    w.reject(abortError(w.signal!));
    this.pump();
  }
}
