/**
 * Speed and ETA: an exponentially weighted moving average over byte samples, and a throttle so that
 * progress events go out at most every `intervalMs` per key.
 */
export class SpeedMeter {
  private last: { t: number; bytes: number } | null = null;
  private rate = 0;
  constructor(
    private readonly halfLifeMs = 3000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Feed the cumulative byte count; returns the smoothed bytes/s. */
  sample(totalBytes: number): number {
    const t = this.now();
    if (!this.last) {
      this.last = { t, bytes: totalBytes };
      return this.rate;
    }
    const dt = t - this.last.t;
    if (dt < 200) return this.rate; // too short to measure
    const inst = (Math.max(0, totalBytes - this.last.bytes) * 1000) / dt;
    const alpha = 1 - Math.pow(0.5, dt / this.halfLifeMs);
    this.rate = this.rate === 0 ? inst : this.rate + alpha * (inst - this.rate);
    this.last = { t, bytes: totalBytes };
    return this.rate;
  }

  get bytesPerSecond(): number {
    return this.rate;
  }

  reset(): void {
    this.last = null;
    this.rate = 0;
  }
}

export function eta(remainingBytes: number, bytesPerSecond: number): number | null {
  if (remainingBytes <= 0) return 0;
  if (!(bytesPerSecond > 0)) return null;
  return Math.ceil(remainingBytes / bytesPerSecond);
}

/** Lets a call through at most once per interval per key (the last value is never lost: flush()). */
export class EmitThrottle<T> {
  private readonly lastAt = new Map<string, number>();
  private readonly pending = new Map<string, T>();
  constructor(
    private readonly intervalMs: number,
    private readonly emit: (key: string, value: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  push(key: string, value: T): void {
    const t = this.now();
    const last = this.lastAt.get(key) ?? -Infinity;
    if (t - last >= this.intervalMs) {
      this.lastAt.set(key, t);
      this.pending.delete(key);
      this.emit(key, value);
    } else {
      this.pending.set(key, value);
    }
  }

  flush(key?: string): void {
    const keys = key === undefined ? [...this.pending.keys()] : [key];
    for (const k of keys) {
      const v = this.pending.get(k);
      if (v === undefined) continue;
      this.pending.delete(k);
      this.lastAt.set(k, this.now());
      this.emit(k, v);
    }
  }

  forget(key: string): void {
    this.lastAt.delete(key);
    this.pending.delete(key);
  }
}
