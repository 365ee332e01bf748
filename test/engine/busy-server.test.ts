/**
 * A busy server is waited out (issue 16 §7). Seen: the chunk endpoint answered 503 for 70 s while /site/ping answered,
 * and the upload failed after about a minute (the attempts of the retry budget spent). 429/502/503/504 are temporary by
 * definition: an upload waits them out for busyRetryMinutes (default 15) in waiting-retry, with the reason and the next
 * try's time, honouring Retry-After; then the file fails saying so. A sync pair's upload never fails for them.
 * Pause, cancel and shutdown end the wait at once. Scaled down: a busy window of seconds against a budget of attempts
 * spent in a fraction of a second, and busyRetryMinutes in fractions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { createEngine, type Engine, type EngineConfig, type TransferSnapshot } from '../../main/engine/index.js';
import { AccountSession } from '../../main/engine/account.js';
import { TypedEmitter, type EngineEvents } from '../../main/engine/events.js';
import { openJournal } from '../../main/engine/journal/journal.js';
import { Transfers } from '../../main/engine/transfers.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const CHUNK = 64 * 1024;
/** The attempts are spent in well under a second (3 in a row): any busy window below outlasts them. */
const FAST_RETRY = { baseMs: 20, maxMs: 200, factor: 2, jitter: 0, maxAttemptsWithoutProgress: 3 };
const PART = '^/api/v4/file/upload/[^/]+/\\d+$';
const busy = (ms: number, headers?: Record<string, string>) =>
  ({ method: 'POST', path: PART, forMs: ms, action: { type: 'status', status: 503, body: '', ...(headers ? { headers } : {}) } }) as const;

interface Env {
  emu: Emulator;
  dir: TmpDir;
  engine: Engine;
  /** every state change of every transfer, with the time it was seen */
  seen: Array<{ at: number; t: TransferSnapshot }>;
  close(): Promise<void>;
}

async function setup(cfg: Partial<EngineConfig> = {}): Promise<Env> {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: 2 } });
  const dir = tmpDir('crs-busy-');
  const engine = await createEngine({ home: join(dir.path, 'home'), retry: FAST_RETRY, offlineProbe: { baseMs: 100, maxMs: 400 }, ...cfg });
  await engine.login(emu.url, emu.email, emu.password);
  const seen: Env['seen'] = [];
  engine.events.on('transfer-state-changed', ({ transfer }) => seen.push({ at: Date.now(), t: transfer }));
  const env: Env = {
    emu,
    dir,
    engine,
    seen,
    async close() {
      await env.engine.close();
      await emu.close();
      dir.cleanup();
    },
  };
  return env;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  for (const t0 = Date.now(); !cond(); ) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** `p`, or a failure after `ms` (a wait that should have ended). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const waits = (env: Env, id: string) => env.seen.filter((s) => s.t.id === id && s.t.state === 'waiting-retry' && s.t.retryAt);

test('the chunk endpoint answers 503 for longer than the attempts last, the ping answers: the upload waits it out and completes', async () => {
  const env = await setup({ busyRetryMinutes: 0.5 });
  try {
    const f = env.dir.random('busy.bin', 6 * CHUNK);
    env.emu.addFault(busy(3000));
    const t0 = Date.now();
    const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
    await within(env.engine.idle(), 20_000, 'the upload');
    const t = env.engine.transfer(id)!;
    assert.equal(t.state, 'done', JSON.stringify(t.error));
    assert.ok(env.emu.blob('cloudreve://my/up/busy.bin')!.equals(f.data));
    assert.ok(Date.now() - t0 >= 2900, 'it went through only after the busy window');
    assert.equal(env.emu.stats().sessions_created, 1, 'one session throughout');
    assert.equal(t.retryAt, null, 'no next try once done');
    // it showed why it waited and when it would try again
    const w = waits(env, id);
    assert.ok(w.length >= 4, `${w.length} waits with a next try`);
    for (const { at, t: s } of w) {
      assert.match(s.error!.message, /HTTP 503/);
      assert.equal(s.error!.code, 'http-status');
      assert.ok(s.retryAt! >= at - 5 && s.retryAt! <= at + FAST_RETRY.maxMs + 50, `next try ${s.retryAt! - at} ms after the event`);
    }
    assert.equal(env.engine.connectivity().online, true, 'a busy server is not offline');
  } finally {
    await env.close();
  }
});

test('busy past busyRetryMinutes: the file fails saying how long the server stayed busy; 0 keeps the attempts alone', async () => {
  const env = await setup({ busyRetryMinutes: 0.02 }); // 1.2 s
  try {
    const f = env.dir.random('long.bin', 3 * CHUNK);
    env.emu.addFault(busy(60_000));
    const t0 = Date.now();
    const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
    await within(env.engine.idle(), 10_000, 'giving up');
    const ms = Date.now() - t0;
    const t = env.engine.transfer(id)!;
    assert.equal(t.state, 'failed');
    assert.equal(t.error!.code, 'http-status');
    assert.equal(t.error!.httpStatus, 503);
    assert.match(t.error!.message, /answered HTTP 503 .*with an empty body; the server stayed busy for \d s, longer than the busyRetryMinutes setting allows/);
    assert.ok(ms >= 1150 && ms < 8000, `${ms} ms`);
    assert.deepEqual(env.engine.resumeInterrupted().includes(id), true, 'still transient: plain resume picks it up');
    env.engine.pause(id);
  } finally {
    await env.close();
  }
  const zero = await setup({ busyRetryMinutes: 0 });
  try {
    const f = zero.dir.random('zero.bin', 3 * CHUNK);
    zero.emu.addFault(busy(60_000));
    const t0 = Date.now();
    const [id] = await zero.engine.enqueue([f.path], 'cloudreve://my/up');
    await within(zero.engine.idle(), 10_000, 'giving up');
    assert.equal(zero.engine.transfer(id)!.state, 'failed');
    assert.doesNotMatch(zero.engine.transfer(id)!.error!.message, /stayed busy/);
    assert.ok(Date.now() - t0 < 1150, 'the three attempts only');
  } finally {
    await zero.close();
  }
});

test("Retry-After is honoured, and never past busyRetryMinutes", async () => {
  const env = await setup({ busyRetryMinutes: 0.5 });
  try {
    const f = env.dir.random('ra.bin', 2 * CHUNK);
    env.emu.addFault({ method: 'POST', path: PART, times: 1, action: { type: 'status', status: 429, body: 'slow down', headers: { 'Retry-After': '1' } } });
    const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
    await within(env.engine.idle(), 10_000, 'the upload');
    assert.equal(env.engine.transfer(id)!.state, 'done');
    const [w] = waits(env, id);
    assert.ok(w.t.retryAt! - w.at >= 950, `next try ${w.t.retryAt! - w.at} ms later, not the 20 ms backoff`);
    const back = env.seen.find((s) => s.t.id === id && s.at > w.at && s.t.state !== 'waiting-retry')!;
    assert.ok(back.at - w.at >= 900, `tried again after ${back.at - w.at} ms`);
  } finally {
    await env.close();
  }
  const short = await setup({ busyRetryMinutes: 0.03 }); // 1.8 s
  try {
    const f = short.dir.random('cut.bin', 2 * CHUNK);
    short.emu.addFault(busy(60_000, { 'Retry-After': '3600' }));
    const [id] = await short.engine.enqueue([f.path], 'cloudreve://my/up');
    await within(short.engine.idle(), 10_000, 'giving up');
    assert.equal(short.engine.transfer(id)!.state, 'failed');
    const [w] = waits(short, id);
    assert.ok(w.t.retryAt! - w.at <= 1850, `the hour asked for is cut to what is left of the 1.8 s: ${w.t.retryAt! - w.at} ms`);
  } finally {
    await short.close();
  }
});

test('pause, cancel and shutdown end a long busy wait at once', async () => {
  const env = await setup({ busyRetryMinutes: 10 });
  try {
    const waitLong = async (name: string) => {
      const f = env.dir.random(name, 3 * CHUNK);
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
      await until(() => waits(env, id).length > 0, 5000, `${name} waiting`);
      const w = waits(env, id)[0];
      assert.ok(w.t.retryAt! - w.at > 100_000, 'Retry-After: 120 honoured');
      return { f, id };
    };
    env.emu.addFault(busy(600_000, { 'Retry-After': '120' }));

    const a = await waitLong('paused.bin');
    env.engine.pause(a.id);
    await until(() => env.engine.transfer(a.id)!.state === 'paused', 3000, 'the pause');
    assert.equal(env.engine.transfer(a.id)!.retryAt, null);

    const b = await waitLong('cancelled.bin');
    await within(env.engine.cancel(b.id), 5000, 'the cancel');
    assert.equal(env.engine.transfer(b.id)!.state, 'cancelled');

    env.emu.clearFaults();
    env.engine.resume(a.id);
    await within(env.engine.idle(), 10_000, 'the resumed upload');
    assert.equal(env.engine.transfer(a.id)!.state, 'done');
    assert.ok(env.emu.blob('cloudreve://my/up/paused.bin')!.equals(a.f.data));
    assert.equal(env.emu.sessions().length, 0, 'the cancelled one deleted its session');

    env.emu.addFault(busy(600_000, { 'Retry-After': '120' }));
    const c = await waitLong('shutdown.bin');
    await within(env.engine.close(), 5000, 'the shutdown');
    const again = await createEngine({ home: join(env.dir.path, 'home'), retry: FAST_RETRY, busyRetryMinutes: 10 });
    env.engine = again;
    env.emu.clearFaults();
    assert.deepEqual(again.resumeInterrupted(), [c.id]);
    await within(again.idle(), 10_000, 'the resumed upload');
    assert.equal(again.transfer(c.id)!.state, 'done');
    assert.ok(env.emu.blob('cloudreve://my/up/shutdown.bin')!.equals(c.f.data));
  } finally {
    await env.close();
  }
});

test("busyRetry 'forever' (a sync pair's default) never fails a file for a busy server; 'bounded' does", async () => {
  const env = await setup({ busyRetryMinutes: 0.01, maxActiveFiles: 2 }); // 0.6 s
  try {
    const bounded = env.dir.random('bounded.bin', 2 * CHUNK);
    const forever = env.dir.random('forever.bin', 2 * CHUNK);
    env.emu.addFault(busy(2500));
    const [b] = await env.engine.enqueue([bounded.path], 'cloudreve://my/up');
    const [f] = await env.engine.enqueue([forever.path], 'cloudreve://my/up', { busyRetry: 'forever' });
    await within(env.engine.idle(), 15_000, 'the uploads');
    assert.equal(env.engine.transfer(b)!.state, 'failed');
    assert.match(env.engine.transfer(b)!.error!.message, /stayed busy/);
    assert.equal(env.engine.transfer(f)!.state, 'done', JSON.stringify(env.engine.transfer(f)!.error));
    assert.ok(env.emu.blob('cloudreve://my/up/forever.bin')!.equals(forever.data));
  } finally {
    await env.close();
  }
});

test('an upload queued for a sync pair (a pairId) waits a busy server out for ever by default; busyRetry overrides it', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK } });
  const dir = tmpDir('crs-busy-pair-');
  const home = join(dir.path, 'home');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const journal = openJournal(join(dir.path, 'journal.db'));
  const account = await AccountSession.open(home, '0f8fad5b-d9cb-469f-a165-70867728950e');
  const transfers = new Transfers({ config: { home, retry: FAST_RETRY, busyRetryMinutes: 0.01 }, journal, events: new TypedEmitter<EngineEvents>(), account });
  try {
    await account.login(emu.url, emu.email, emu.password);
    const a = dir.random('pair.bin', 2 * CHUNK);
    const b = dir.random('pair-bounded.bin', 2 * CHUNK);
    emu.addFault(busy(2000));
    const [pairDefault, pairBounded] = await transfers.enqueueFiles([
      { path: a.path, targetUri: 'cloudreve://my/pair/pair.bin', pairId: 'pair-1' },
      { path: b.path, targetUri: 'cloudreve://my/pair/pair-bounded.bin', pairId: 'pair-1', busyRetry: 'bounded' },
    ]);
    await within(transfers.idle(), 15_000, 'the uploads');
    assert.equal(transfers.get(pairDefault)!.state, 'done', JSON.stringify(transfers.get(pairDefault)!.error));
    assert.ok(emu.blob('cloudreve://my/pair/pair.bin')!.equals(a.data));
    assert.equal(transfers.get(pairBounded)!.state, 'failed');
  } finally {
    await transfers.close();
    journal.close();
    await emu.close();
    dir.cleanup();
  }
});
