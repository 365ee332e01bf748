import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, DEFAULT_BUSY_MS, DEFAULT_RETRY, MAX_RETRY_AFTER_MS, RetryBudget, sleep, type RetryPolicy } from '../../main/engine/transfer/retry.js';
import { EngineError, isAbort, isBusy } from '../../main/engine/errors.js';

const P: RetryPolicy = { baseMs: 100, maxMs: 5_000, factor: 2, jitter: 0, maxAttemptsWithoutProgress: 5 };
const fixed = (v: number) => () => v;

describe('backoffDelay', () => {
  it('grows exponentially from baseMs and caps at maxMs (no jitter)', () => {
    const got = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, P));
    assert.deepEqual(got, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('table: factor, base and cap', () => {
    const cases: [Partial<RetryPolicy>, number, number][] = [
      [{ factor: 3 }, 3, 900],
      [{ factor: 1 }, 10, 100],
      [{ baseMs: 0 }, 4, 0],
      [{ maxMs: 250 }, 3, 250],
      [{ factor: 1.5 }, 3, 225],
    ];
    for (const [over, attempt, want] of cases) {
      assert.equal(backoffDelay(attempt, { ...P, ...over }), want, JSON.stringify({ over, attempt }));
    }
  });

  it('jitter spreads the delay over [d·(1−jitter), d]', () => {
    const p = { ...P, jitter: 0.5 };
    assert.equal(backoffDelay(3, p, fixed(0)), 200); // 400 · 0.5
    assert.equal(backoffDelay(3, p, fixed(0.5)), 300);
    assert.equal(backoffDelay(3, p, fixed(0.999999)), 400);
    const full = { ...P, jitter: 1 };
    assert.equal(backoffDelay(3, full, fixed(0)), 0);
    assert.equal(backoffDelay(3, full, fixed(0.25)), 100);
    // With Math.random, every value stays inside the band, and they are not all equal.
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(4, p);
      assert.ok(d >= 400 && d <= 800, String(d));
      seen.add(d);
    }
    assert.ok(seen.size > 10);
  });

  it('Retry-After wins when larger, and is capped at MAX_RETRY_AFTER_MS', () => {
    assert.equal(backoffDelay(1, P, Math.random, 7_000), 7_000); // larger than 100, and larger than maxMs too
    assert.equal(backoffDelay(6, P, Math.random, 1_000), 3_200); // smaller: the backoff stands
    assert.equal(backoffDelay(1, P, Math.random, 3_600_000), MAX_RETRY_AFTER_MS);
    assert.equal(MAX_RETRY_AFTER_MS, 300_000);
    assert.equal(backoffDelay(2, P, Math.random, 0), 200);
    assert.equal(backoffDelay(2, P, Math.random, -5), 200);
    assert.equal(backoffDelay(2, P, Math.random, Number.NaN), 200);
  });

  it('survives silly inputs: attempt 0/negative/huge, NaN random', () => {
    assert.equal(backoffDelay(0, P), 100);
    assert.equal(backoffDelay(-3, P), 100);
    assert.equal(backoffDelay(10_000, P), 5_000);
    assert.equal(backoffDelay(2, { ...P, jitter: 1 }, fixed(Number.NaN)), 0);
    assert.equal(backoffDelay(2, { ...P, jitter: 7 }, fixed(0)), 0); // jitter clamped to 1
    assert.ok(Number.isInteger(backoffDelay(3, { ...P, jitter: 0.3 }, fixed(0.123))));
  });

  it('DEFAULT_RETRY matches the documented defaults and stays within bounds', () => {
    assert.deepEqual({ ...DEFAULT_RETRY }, { baseMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5, maxAttemptsWithoutProgress: 8 });
    assert.ok(Object.isFrozen(DEFAULT_RETRY));
    for (let a = 1; a <= 20; a++) {
      const d = backoffDelay(a, DEFAULT_RETRY);
      assert.ok(d >= 250 && d <= 30_000, `attempt ${a}: ${d}`);
    }
  });
});

describe('RetryBudget', () => {
  const net = () => new EngineError('network', 'connection reset');
  /**
   * A budget on a fake clock that moves past each backoff before the next call, as one request retried in
   * sequence would (failures inside a running backoff are tested on their own below).
   */
  function sequential(p: RetryPolicy | undefined, random: () => number) {
    let t = 0;
    const b = new RetryBudget(p, random, () => t);
    return Object.assign(b, {
      next(err: unknown): number | null {
        const d = RetryBudget.prototype.next.call(b, err);
        t += (d ?? 0) + 1;
        return d;
      },
    });
  }

  it('returns growing delays for retryable errors, then null when spent', () => {
    const b = sequential(P, fixed(0));
    const delays: (number | null)[] = [];
    for (let i = 0; i < 6; i++) delays.push(b.next(net()));
    // 5 attempts allowed without progress: the first + 4 retries; the 5th failure spends the budget.
    assert.deepEqual(delays, [100, 200, 400, 800, null, null]);
    assert.equal(b.attempts, 6);
  });

  it('progress renews the budget and restarts the delays', () => {
    const b = sequential(P, fixed(0));
    for (let round = 0; round < 10; round++) {
      assert.equal(b.next(net()), 100);
      assert.equal(b.next(net()), 200);
      assert.equal(b.attempts, 2);
      b.progressed();
      assert.equal(b.attempts, 0);
    }
  });

  it('non-retryable errors give null and do not spend the budget', () => {
    const b = sequential(P, fixed(0));
    const nonRetryable: unknown[] = [
      new EngineError('exists', 'target exists', { serverCode: 40004 }),
      new EngineError('quota', 'full', { serverCode: 40051 }),
      new EngineError('login-required', 'log in'),
      new EngineError('http-status', 'not found', { httpStatus: 404 }),
      new EngineError('cancelled', 'cancelled'),
      new Error('plain bug'),
      Object.assign(new Error('gone'), { code: 'ENOENT' }),
      'a string',
      null,
    ];
    for (const e of nonRetryable) assert.equal(b.next(e), null, String((e as Error)?.message ?? e));
    assert.equal(b.attempts, 0);
  });

  it('retryable kinds: network, timeout, server, 5xx/429, Node socket errors', () => {
    const retryable: unknown[] = [
      new EngineError('timeout', 't'),
      new EngineError('server', 's', { serverCode: 50001 }),
      new EngineError('http-status', '503', { httpStatus: 503 }),
      new EngineError('http-status', '429', { httpStatus: 429 }),
      Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      Object.assign(new Error('undici'), { code: 'UND_ERR_SOCKET' }),
    ];
    for (const e of retryable) {
      const b = sequential(P, fixed(0));
      assert.equal(b.next(e), 100, (e as Error).message);
    }
  });

  it('aborts are never retried', () => {
    const b = sequential(P, fixed(0));
    const abort = new DOMException('aborted', 'AbortError');
    assert.equal(b.next(abort), null);
    assert.equal(b.next(Object.assign(new Error('x'), { name: 'AbortError', code: 'ABORT_ERR' })), null);
    assert.equal(b.attempts, 0);
  });

  it('honours EngineError.retryAfterMs', () => {
    const b = sequential(P, fixed(0));
    assert.equal(b.next(new EngineError('http-status', '429', { httpStatus: 429, retryAfterMs: 12_000 })), 12_000);
    assert.equal(b.next(new EngineError('http-status', '429', { httpStatus: 429, retryAfterMs: 10 })), 200);
    assert.equal(b.next(new EngineError('server', 'busy', { retryAfterMs: 86_400_000 })), MAX_RETRY_AFTER_MS);
  });

  it('defaults to DEFAULT_RETRY', () => {
    const b = sequential(undefined, fixed(1));
    const delays: (number | null)[] = [];
    for (let i = 0; i < 9; i++) delays.push(b.next(net()));
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, null, null]);
  });
});

describe('RetryBudget: one event, one attempt', () => {
  const net = () => new EngineError('network', 'connection reset');

  it('parts failing together during one backoff spend one attempt and all wait for the same moment', () => {
    let t = 1000;
    const b = new RetryBudget({ ...P, maxAttemptsWithoutProgress: 3 }, fixed(0), () => t);
    // A Wi-Fi drop cuts 4 parts in flight within a few ms: one failure event.
    assert.equal(b.next(net()), 100);
    t += 3;
    assert.equal(b.next(net()), 97);
    t += 2;
    assert.equal(b.next(net()), 95);
    assert.equal(b.next(net()), 95);
    assert.equal(b.attempts, 1);
    // They all retry at t = 1100 and fail again together: the second event, still within the budget of 3.
    t = 1100;
    assert.equal(b.next(net()), 200);
    t += 1;
    assert.equal(b.next(net()), 199);
    assert.equal(b.attempts, 2);
    // A third event spends the budget (3 attempts in a row without progress), for every part alike.
    t = 1300;
    assert.equal(b.next(net()), null);
  });

  it('after progress the next event starts from the first delay again', () => {
    let t = 0;
    const b = new RetryBudget(P, fixed(0), () => t);
    assert.equal(b.next(net()), 100);
    t = 150;
    assert.equal(b.next(net()), 200);
    b.progressed();
    t = 400;
    assert.equal(b.next(net()), 100);
    assert.equal(b.attempts, 1);
  });
});

describe('RetryBudget: a busy server is waited out for a time, not a number of attempts', () => {
  const busy = (status = 503, retryAfterMs?: number) => new EngineError('http-status', `HTTP ${status}`, { httpStatus: status, retryAfterMs });
  const net = () => new EngineError('network', 'connection reset');

  /** Fails with `err` at each retry's moment (the clock moves past each delay), until null; returns the delays. */
  function ride(b: RetryBudget, clock: { t: number }, err: () => unknown, max = 10_000): number[] {
    const delays: number[] = [];
    for (let i = 0; i < max; i++) {
      const d = b.next(err());
      if (d === null) return delays;
      delays.push(d);
      clock.t += d;
    }
    assert.fail('the budget never gave up');
  }

  it('what is busy: 429/502/503/504 and a provider throttling; not 500, network, timeouts or refusals', () => {
    for (const s of [429, 502, 503, 504]) assert.equal(isBusy(busy(s)), true, String(s));
    assert.equal(isBusy(new EngineError('throttled', 'SlowDown', { httpStatus: 503 })), true);
    assert.equal(isBusy(new EngineError('server', 'busy envelope', { serverCode: 50001, httpStatus: 503 })), true);
    for (const e of [busy(500), busy(408), net(), new EngineError('timeout', 't'), new EngineError('server', 's', { serverCode: 50001 }), new EngineError('quota', 'q', { httpStatus: 503 }), new Error('503')]) {
      assert.equal(isBusy(e), false, (e as Error).message);
    }
  });

  it('busy answers spend no attempts: they are retried until busyMs has passed, and no delay runs past it', () => {
    const clock = { t: 0 };
    const b = new RetryBudget({ ...P, maxAttemptsWithoutProgress: 3, busyMs: 60_000 }, fixed(0), () => clock.t);
    const delays = ride(b, clock, () => busy());
    assert.deepEqual(delays.slice(0, 7), [100, 200, 400, 800, 1600, 3200, 5000]);
    assert.ok(delays.length > 10, `${delays.length} tries in a minute, far past the 3 attempts`);
    assert.equal(clock.t, 60_000, 'the last delay ends exactly at busyMs');
    assert.equal(b.busyGaveUpAfterMs, 60_000);
  });

  it('Retry-After is honoured, bounded by MAX_RETRY_AFTER_MS and by the end of busyMs', () => {
    let t = 0;
    const b = new RetryBudget({ ...P, busyMs: 10 * 60_000 }, fixed(0), () => t);
    assert.equal(b.next(busy(429, 12_000)), 12_000);
    t += 12_000;
    assert.equal(b.next(busy(503, 3_600_000)), MAX_RETRY_AFTER_MS);
    t += MAX_RETRY_AFTER_MS;
    // 600 000 − 312 000 left: a Retry-After of 5 minutes is cut to what is left
    assert.equal(b.next(busy(503, 300_000)), 288_000);
    t += 288_000;
    assert.equal(b.next(busy(503, 300_000)), null);
  });

  it('progress starts the busy time anew; other failures keep their own attempt count', () => {
    let t = 0;
    const b = new RetryBudget({ ...P, maxAttemptsWithoutProgress: 3, busyMs: 1_000 }, fixed(0), () => t);
    assert.equal(b.next(busy()), 100);
    t = 900;
    assert.equal(b.next(busy()), 100, 'cut to the 100 ms left');
    t = 1000;
    b.progressed();
    assert.equal(b.next(busy()), 100, 'a new busy spell after progress');
    t = 1100;
    assert.equal(b.next(net()), 100, 'the first ordinary failure');
    t = 1200;
    assert.equal(b.next(net()), 200);
    t = 1400;
    assert.equal(b.next(net()), null, 'three ordinary failures spend the attempts, busy or not');
    assert.equal(b.busyGaveUpAfterMs, null, 'not given up for being busy');
  });

  it('busyMs Infinity never gives up on a busy server (a sync pair); 0 counts busy answers as attempts', () => {
    const clock = { t: 0 };
    const forever = new RetryBudget({ ...P, maxAttemptsWithoutProgress: 2, busyMs: Infinity }, fixed(0), () => clock.t);
    for (let i = 0; i < 1000; i++) {
      const d = forever.next(busy(i % 2 ? 502 : 429));
      assert.ok(d !== null && d <= P.maxMs, String(d));
      clock.t += d!;
    }
    const zero = new RetryBudget({ ...P, maxAttemptsWithoutProgress: 2, busyMs: 0 }, fixed(0), () => clock.t);
    assert.equal(zero.next(busy()), 100);
    clock.t += 100;
    assert.equal(zero.next(busy()), null);
  });

  it('absent busyMs means DEFAULT_BUSY_MS, 15 minutes', () => {
    assert.equal(DEFAULT_BUSY_MS, 15 * 60_000);
    const clock = { t: 0 };
    const b = new RetryBudget(DEFAULT_RETRY, fixed(1), () => clock.t);
    ride(b, clock, () => busy());
    assert.equal(clock.t, DEFAULT_BUSY_MS);
  });
});

describe('sleep', () => {
  it('resolves after roughly the delay', async () => {
    const t0 = performance.now();
    await sleep(30);
    const ms = performance.now() - t0;
    assert.ok(ms >= 25 && ms < 2000, String(ms));
  });

  it('0, negative and NaN resolve promptly', async () => {
    const t0 = performance.now();
    await sleep(0);
    await sleep(-10);
    await sleep(Number.NaN);
    assert.ok(performance.now() - t0 < 1000);
  });

  it('rejects with an AbortError when aborted while waiting', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = sleep(60_000, ac.signal);
    setTimeout(() => ac.abort(new Error('user paused')), 20);
    await assert.rejects(p, (e: Error) => {
      assert.equal(e.name, 'AbortError');
      assert.ok(isAbort(e));
      assert.equal((e.cause as Error).message, 'user paused');
      return true;
    });
    assert.ok(performance.now() - t0 < 5000, 'did not wait for the timer');
  });

  it('rejects at once when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(sleep(60_000, ac.signal), (e: Error) => isAbort(e));
  });

  it('a delay beyond the timer limit does not fire immediately', async () => {
    const ac = new AbortController();
    let fired = false;
    const p = sleep(2 ** 40, ac.signal).then(() => (fired = true));
    await sleep(30);
    assert.equal(fired, false);
    ac.abort();
    await assert.rejects(p);
  });
});
