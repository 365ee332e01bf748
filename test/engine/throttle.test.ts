import { describe, it, mock, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BandwidthLimiter } from '../../main/engine/transfer/throttle.js';
import { isAbort } from '../../main/engine/errors.js';

/** Pushes `total` bytes in `piece`-sized chunks through the limiter's stream; returns seconds taken and what came out. */
async function pump(l: BandwidthLimiter, total: number, piece = 16 * 1024, signal?: AbortSignal) {
  const data = randomBytes(total);
  const chunks: Buffer[] = [];
  for (let off = 0; off < total; off += piece) chunks.push(data.subarray(off, off + piece));
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      out.push(chunk);
      cb();
    },
  });
  const t0 = performance.now();
  await pipeline(Readable.from(chunks), l.stream(signal), sink, signal ? { signal } : {});
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, data, out };
}

const settled = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('BandwidthLimiter (deterministic, mocked clock)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  const limiter = (rate: number) => new BandwidthLimiter(rate, () => Date.now());

  /** Advances the mocked clock 1 ms at a time; returns the ms at which `p` settled (Infinity if not by `limit`). */
  async function settleTime(p: Promise<unknown>, limit: number): Promise<number> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await settled();
    let t = 0;
    while (!done && t < limit) {
      mock.timers.tick(1);
      t++;
      await settled();
    }
    return done ? t : Infinity;
  }

  it('the initial burst passes at once; the next bytes wait exactly bytes/rate', async () => {
    const l = limiter(80_000); // burst = max(64 KiB, 10 000) = 65 536
    assert.equal(await settleTime(l.take(65_536), 0), 0);
    assert.equal(await settleTime(l.take(8_000), 1000), 100);
  });

  it('requests larger than the burst are split and still average the rate', async () => {
    const l = limiter(80_000);
    await l.take(65_536); // empty the bucket
    assert.equal(await settleTime(l.take(1_000_000), 20_000), 12_500);
  });

  it('burst is max(64 KiB, rate/8)', async () => {
    const l = limiter(8_000_000); // burst 1 000 000
    assert.equal(await settleTime(l.take(1_000_000), 0), 0);
    assert.equal(await settleTime(l.take(1), 0), Infinity);
    const small = limiter(1_000); // burst 65 536 despite the low rate
    assert.equal(await settleTime(small.take(65_536), 0), 0);
  });

  it('serves waiters round-robin: a small request is served within one round, nobody loses bandwidth', async () => {
    const l = limiter(100_000);
    await l.take(65_536);
    const order: string[] = [];
    const big = l.take(50_000).then(() => order.push(`big@${Date.now()}`));
    mock.timers.tick(300); // `big` alone: grants of 25 000 (one round = 250 ms)
    await settled();
    const small = l.take(100).then(() => order.push(`small@${Date.now()}`));
    const big2 = l.take(20_000).then(() => order.push(`big2@${Date.now()}`));
    for (let t = 300; t < 1000 && order.length < 3; t++) {
      mock.timers.tick(1);
      await settled();
    }
    await Promise.all([big, small, big2]);
    const at = (name: string) => Number(order.find((o) => o.startsWith(`${name}@`))!.split('@')[1]);
    assert.equal(order[0].split('@')[0], 'small', `order ${order.join(', ')}`);
    assert.ok(at('small') <= 300 + 250, `small waited until ${at('small')} ms`);
    // 70 100 bytes after the burst at 100 kB/s: the last one finishes at 701 ms whatever the order.
    assert.equal(Math.max(at('big'), at('big2'), at('small')), 701);
  });

  it('is fair across many streams at a low limit: each moves at least every n·1 KiB/rate (no stream starved)', async () => {
    // 40 streams at 40 KiB/s: one round of 1 KiB grants takes 1 s. First come first served with 64 KiB grants,
    // a stream waited 40 · 64 KiB / 40 KiB/s = 64 s between pieces, past any idle timeout.
    const l = limiter(40 * 1024);
    await l.take(65_536);
    const streams = Array.from({ length: 40 }, () => l.stream());
    const seen: number[][] = streams.map(() => []);
    streams.forEach((s, i) => {
      s.on('data', () => seen[i].push(Date.now()));
      s.write(Buffer.alloc(1024 * 1024));
    });
    await settled();
    for (let t = 0; t < 5000; t += 10) {
      mock.timers.tick(10);
      await settled();
    }
    for (const [i, times] of seen.entries()) {
      const gaps = [times[0], ...times.slice(1).map((v, k) => v - times[k]), 5000 - times[times.length - 1]];
      assert.ok(Math.max(...gaps) <= 1100, `stream ${i} silent for ${Math.max(...gaps)} ms (moved at ${times.join(', ')})`);
    }
    const total = seen.reduce((n, t) => n + t.length, 0) * 1024;
    assert.ok(total >= 4.9 * 40 * 1024 && total <= 5 * 40 * 1024 + 1024, `${total} bytes passed in 5 s`);
    for (const s of streams) s.destroy();
  });

  it('setRate mid-way slows a running stream down (the rest goes at the new rate)', async () => {
    const l = limiter(8_000_000); // burst 1 MB
    const out: Buffer[] = [];
    const s = l.stream();
    s.on('data', (b: Buffer) => out.push(b));
    let ended = false;
    s.on('end', () => (ended = true));
    for (let off = 0; off < 1_200_000; off += 64 * 1024) s.write(Buffer.alloc(Math.min(64 * 1024, 1_200_000 - off)));
    s.end();
    await settled();
    const passed = out.reduce((n, b) => n + b.length, 0);
    assert.ok(passed <= 1_000_000, `${passed} bytes passed before any time went by`);
    l.setRate(400_000);
    let t = 0;
    while (!ended && t < 10_000) {
      mock.timers.tick(1);
      t++;
      await settled();
    }
    // The burst (1 MB) went at once; the other 200 000 bytes at 400 kB/s take 500 ms.
    assert.ok(t >= 500 && t <= 520, `took ${t} ms, expected 500`);
    assert.equal(out.reduce((n, b) => n + b.length, 0), 1_200_000);
  });

  it('setRate mid-way speeds a running stream up (the rest goes at the new rate)', async () => {
    const l = limiter(1_000_000); // burst 125 000: 2 MB alone would take 1875 ms
    const s = l.stream();
    let passed = 0;
    s.on('data', (b: Buffer) => (passed += b.length));
    let ended = false;
    s.on('end', () => (ended = true));
    for (let off = 0; off < 2_000_000; off += 64 * 1024) s.write(Buffer.alloc(Math.min(64 * 1024, 2_000_000 - off)));
    s.end();
    await settled();
    let t = 0;
    for (; t < 300; t++) {
      mock.timers.tick(1);
      await settled();
    }
    assert.ok(passed >= 425_000 - 65_536 && passed <= 425_000, `${passed} bytes after 300 ms at 1 MB/s (burst + 300 ms, in 64 KiB grants)`);
    l.setRate(20_000_000); // the other ≈1.6 MB at 20 MB/s: ≈80 ms
    while (!ended && t < 5000) {
      mock.timers.tick(1);
      t++;
      await settled();
    }
    assert.ok(t >= 370 && t <= 420, `took ${t} ms`);
    assert.equal(passed, 2_000_000);
  });

  it('setRate speeds up a waiter immediately (what accrued so far counts at the old rate)', async () => {
    const l = limiter(80_000);
    await l.take(65_536);
    const p = l.take(80_000); // 1000 ms at 80 kB/s
    mock.timers.tick(500); // 40 000 accrued
    await settled();
    l.setRate(160_000); // remaining 40 000 at 160 kB/s = 250 ms
    assert.equal(await settleTime(p, 2000), 250);
  });

  it('setRate slows a waiter down', async () => {
    const l = limiter(100_000);
    await l.take(65_536);
    const p = l.take(50_000); // 500 ms at 100 kB/s
    mock.timers.tick(100); // 10 000 accrued
    await settled();
    l.setRate(10_000); // 40 000 more at 10 kB/s = 4000 ms
    assert.equal(await settleTime(p, 10_000), 4000);
  });

  it('setRate(0) releases every waiter at once and later takes are immediate', async () => {
    const l = limiter(1_000);
    await l.take(65_536);
    const ps = [l.take(10_000), l.take(20_000), l.take(5)];
    await settled();
    l.setRate(0);
    assert.equal(await settleTime(Promise.all(ps), 0), 0);
    assert.equal(l.rate, 0);
    assert.equal(await settleTime(l.take(1e12), 0), 0);
  });

  it('going from unlimited to limited starts with a full burst', async () => {
    const l = limiter(0);
    await l.take(1e9);
    l.setRate(100_000);
    assert.equal(await settleTime(l.take(65_536), 0), 0);
    assert.equal(await settleTime(l.take(10_000), 1000), 100);
  });

  it('an aborted waiter is rejected, leaves the queue and returns its partial grant', async () => {
    const l = limiter(100_000);
    await l.take(65_536);
    const ac = new AbortController();
    const head = l.take(200_000, ac.signal); // would take 2 s
    const next = l.take(30_000); // queued behind it
    mock.timers.tick(700); // the head was handed a burst (65 600) at 656 ms
    await settled();
    ac.abort(new Error('paused'));
    await assert.rejects(head, (e: Error) => e.name === 'AbortError' && isAbort(e) && (e.cause as Error).message === 'paused');
    // The tokens granted to the head come back: `next` is served at once (without them, after ~256 ms).
    assert.equal(await settleTime(next, 1000), 0);
  });

  it('rejects at once with an already-aborted signal, and rejects bad sizes and rates', async () => {
    const l = limiter(1000);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(l.take(1, ac.signal), (e: Error) => isAbort(e));
    await assert.rejects(l.take(-1), RangeError);
    await assert.rejects(l.take(Number.NaN), RangeError);
    assert.throws(() => l.setRate(-5), RangeError);
    assert.throws(() => new BandwidthLimiter(Number.NaN), RangeError);
    l.setRate(Infinity);
    assert.equal(l.rate, 0);
  });
});

describe('BandwidthLimiter (real time, generous bounds)', () => {
  it('unlimited is immediate', async () => {
    const l = new BandwidthLimiter(0);
    let resolved = false;
    const p = l.take(1e12).then(() => (resolved = true));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(resolved, true);
    await p;
    const { seconds, data, out } = await pump(l, 16 * 1024 * 1024, 1024 * 1024);
    assert.ok(Buffer.concat(out).equals(data));
    assert.ok(seconds < 3, `16 MiB unlimited took ${seconds}s`);
  });

  it('at 2 MB/s, 1 MB takes ≈0.5 s (0.375 s after the 250 kB burst)', async () => {
    const l = new BandwidthLimiter(2_000_000);
    const { seconds, data, out } = await pump(l, 1_000_000);
    assert.ok(Buffer.concat(out).equals(data), 'bytes pass through unchanged and in order');
    assert.ok(seconds >= 0.35 && seconds <= 1.5, `took ${seconds}s`);
  });

  it('large input chunks are re-sliced so the output flows steadily', async () => {
    const l = new BandwidthLimiter(1_000_000); // burst 125 000
    const { seconds, data, out } = await pump(l, 600_000, 600_000);
    assert.ok(Buffer.concat(out).equals(data));
    assert.ok(out.length >= 9, `${out.length} output pieces`);
    assert.ok(Math.max(...out.map((b) => b.length)) <= 64 * 1024);
    assert.ok(seconds >= 0.4 && seconds <= 2.5, `took ${seconds}s`); // (600 000 − 125 000) / 1 MB/s = 0.475 s
  });

  it('two concurrent streams share the rate: both finish near the sum, neither gets the full rate', async () => {
    const l = new BandwidthLimiter(2_000_000); // burst 250 000
    const t0 = performance.now();
    const done: number[] = [];
    await Promise.all([pump(l, 1_000_000), pump(l, 1_000_000)].map((p) => p.then(() => done.push((performance.now() - t0) / 1000))));
    const total = Math.max(...done);
    // Alone, one stream needs 0.375 s; together (2 MB − 250 kB) / 2 MB/s = 0.875 s, and FIFO interleaving
    // means the first to finish is not far ahead of the second.
    assert.ok(total >= 0.8 && total <= 2.5, `total ${total}s`);
    assert.ok(Math.min(...done) >= 0.6, `first finished at ${Math.min(...done)}s: it was not sharing`);
  });

  it('aborting rejects a stream that is waiting for tokens', async () => {
    const l = new BandwidthLimiter(100_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = performance.now();
    await assert.rejects(pump(l, 2_000_000, 16 * 1024, ac.signal), (e: Error) => isAbort(e));
    assert.ok(performance.now() - t0 < 3000);
  });

  it('destroying a waiting stream withdraws its request from the queue', async () => {
    const l = new BandwidthLimiter(100_000); // burst 65 536
    await l.take(65_536);
    const s = l.stream();
    s.on('error', () => {});
    s.write(Buffer.alloc(60_000)); // queued: 0.6 s
    await new Promise((r) => setTimeout(r, 50));
    s.destroy();
    await new Promise((r) => setTimeout(r, 10));
    // With the dead request gone, 5 000 bytes (≈ what accrued already) are served almost at once, not after 0.6 s.
    const t0 = performance.now();
    await l.take(5_000);
    assert.ok(performance.now() - t0 < 400, `waited ${performance.now() - t0} ms`);
  });
});
