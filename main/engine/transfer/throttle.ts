/**
 * One bandwidth limit shared by every transfer, changeable while running.
 *
 * A token bucket: tokens (bytes) accrue at `rate` per second up to a burst of max(64 KiB, rate/8), so an idle
 * limiter lets a short burst through at once and a busy one averages `rate`. Waiters are served strictly
 * first-in first-out: the head of the queue takes every token as it accrues until its request is covered,
 * which splits requests larger than the burst into burst-sized grants and keeps a large request from being
 * starved by a stream of small ones. One timer, armed for the moment the head can next be served, drives
 * the queue. setRate() re-evaluates that moment at once (0 releases everyone).
 *
 * stream() is a pass-through Transform that takes tokens for each piece before pushing it; input chunks
 * larger than STREAM_PIECE are pushed in STREAM_PIECE slices so a slow limit yields a steady flow instead
 * of long silences followed by large bursts. Its backpressure is the transform callback: nothing more is
 * read from upstream until the current chunk has been paid for.
 */
import { Transform, type TransformCallback } from 'node:stream';

const MIN_BURST = 64 * 1024;
/** Largest slice stream() pushes while limited. */
const STREAM_PIECE = 64 * 1024;

interface Waiter {
  remaining: number;
  granted: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** An AbortError (name 'AbortError', like fetch and timers/promises) carrying the signal's reason as `cause`. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('This operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
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
   * is queued; otherwise queued FIFO. Rejects with an AbortError if `signal` aborts first (tokens already
   * granted to the aborted request go back to the bucket).
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) return Promise.reject(new RangeError(`take: bad byte count ${bytes}`));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.tryTake(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { remaining: bytes, granted: 0, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => this.cancel(w);
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      this.pump();
    });
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
      for (let off = 0; off < chunk.length; off += STREAM_PIECE) {
        const piece = chunk.subarray(off, Math.min(chunk.length, off + STREAM_PIECE));
        if (!this.tryTake(piece.length)) await this.take(piece.length, own.signal);
        push(piece);
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

  /**
   * Adds what accrued since the last call. The burst cap applies only while nobody waits: tokens that accrue
   * while a request is queued belong to it, so a timer that fires late (or a wake-up rounded up to the next
   * millisecond) costs no bandwidth.
   */
  private refill(): void {
    const t = this.now();
    if (this.bps > 0 && t > this.last) this.tokens += ((t - this.last) * this.bps) / 1000;
    if (this.queue.length === 0) this.tokens = Math.min(this.tokens, this.burst);
    this.last = Math.max(this.last, t);
  }

  /** Serves the queue head-first with what the bucket holds, then arms the timer for the next grant. */
  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.bps === 0) {
      for (const w of this.queue.splice(0)) this.settle(w);
      return;
    }
    this.refill();
    while (this.queue.length > 0) {
      const w = this.queue[0];
      const grant = Math.min(w.remaining, this.tokens);
      w.remaining -= grant;
      w.granted += grant;
      this.tokens -= grant;
      if (w.remaining > 0) break;
      this.queue.shift();
      this.settle(w);
    }
    if (this.queue.length === 0) {
      this.tokens = Math.min(this.tokens, this.burst);
      return;
    }
    // Wake when the head can take a full grant (its remainder, or a whole burst of it).
    const need = Math.min(this.queue[0].remaining, this.burst) - this.tokens;
    const ms = Math.max(1, Math.ceil((need * 1000) / this.bps));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, ms);
  }

  private settle(w: Waiter): void {
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    w.resolve();
  }

  private cancel(w: Waiter): void {
    const i = this.queue.indexOf(w);
    if (i < 0) return; // already served
    this.queue.splice(i, 1);
    this.tokens += w.granted; // given back to whoever is next (capped by pump once nobody waits)
    w.reject(abortError(w.signal!));
    this.pump();
  }
}
