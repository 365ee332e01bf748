/**
 * Offline is a state, not a failure (engine/connectivity.ts), end to end against the emulator: a server that
 * goes away mid-upload (stopped and restarted on the same port) or answers 503 for a while makes the transfer
 * wait in waiting-retry with its session and parts kept, and continue by itself in the same process with only
 * the missing parts, with a retry budget that would have run out many times over. Also: the policy's
 * chunk_concurrency is never exceeded, and older servers (no concurrency, no encryption) get a working upload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions } from '../emulator/index.js';
import { createEngine, type ConnectivityState, type Engine, type EngineConfig, type TransferState } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const CHUNK = 64 * 1024;
/** Spent in about a second: every outage below lasts longer than this budget could ride out. */
const FAST_RETRY = { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 8 };
const FAST_PROBE = { baseMs: 100, maxMs: 400 };

async function setup(emuOpts: EmulatorOptions = {}, cfg: Partial<EngineConfig> = {}) {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: 2 }, ...emuOpts });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home'), retry: FAST_RETRY, offlineProbe: FAST_PROBE, ...cfg });
  await engine.login(emu.url, emu.email, emu.password);
  const connectivity: ConnectivityState[] = [];
  const states: TransferState[] = [];
  engine.events.on('connectivity-changed', (s) => connectivity.push(s));
  engine.events.on('transfer-state-changed', ({ transfer }) => states.push(transfer.state));
  return {
    emu,
    dir,
    engine,
    connectivity,
    states,
    async close() {
      await engine.close();
      await emu.close();
      dir.cleanup();
    },
  };
}

function progressPast(engine: Engine, id: string, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    const off = engine.events.on('transfer-progressed', (p) => {
      if (p.id === id && p.bytesDone > bytes) {
        off();
        resolve();
      }
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms for up to `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  for (const t0 = Date.now(); !cond(); ) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('the server stopped mid-upload and restarted on the same port: the transfer waits offline and finishes with only the missing parts', async () => {
  const env = await setup({}, { bandwidthLimit: 512 * 1024 });
  try {
    const f = env.dir.random('restart.bin', 16 * CHUNK);
    const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
    await progressPast(env.engine, id, 4 * CHUNK);
    await env.emu.stop();
    await until(() => !env.engine.connectivity().online, 5000, 'the engine to go offline');
    const off = env.engine.connectivity();
    assert.match(off.reason!, /cannot reach 127\.0\.0\.1:\d+: ECONNREFUSED/);
    assert.ok(off.since! > 0);
    // Offline for well over what the retry budget could ride out (~1 s), with several probes going out.
    await sleep(1500);
    const waiting = env.engine.transfer(id)!;
    assert.equal(waiting.state, 'waiting-retry');
    assert.ok(waiting.error && /ECONNREFUSED|ECONNRESET|socket hang up|failed/.test(waiting.error.message), JSON.stringify(waiting.error));
    assert.ok(env.connectivity.filter((s) => !s.online && s.nextProbeAt !== null).length >= 2, 'probed with backoff, a next-probe time each');
    const session = env.emu.sessions();
    assert.equal(session.length, 1, 'the session is kept');
    const acked = session[0].received.length;
    assert.ok(acked >= 4 && acked < 16, `${acked} parts acknowledged before the outage`);
    env.emu.resetStats();
    await env.emu.start();
    await env.engine.idle();
    const t = env.engine.transfer(id)!;
    assert.equal(t.state, 'done', JSON.stringify(t.error));
    assert.ok(env.emu.blob('cloudreve://my/up/restart.bin')!.equals(f.data));
    const st = env.emu.stats();
    assert.equal(st.sessions_created, 0, 'same session');
    assert.equal(st.chunk_requests, 16 - acked, 'only the missing parts were sent');
    assert.equal(env.engine.connectivity().online, true);
    assert.deepEqual(env.connectivity.at(-1), { online: true, reason: null, since: null, nextProbeAt: null });
    assert.ok(env.states.includes('waiting-retry'));
    assert.equal(env.states.at(-1), 'done');
  } finally {
    await env.close();
  }
});

test('a server answering 503 for a while: offline, then every waiting transfer continues by itself', async () => {
  const env = await setup({}, { bandwidthLimit: 1024 * 1024, maxActiveFiles: 2 });
  try {
    const files = [env.dir.random('a.bin', 12 * CHUNK), env.dir.random('b.bin', 12 * CHUNK)];
    const ids = await env.engine.enqueue(
      files.map((f) => f.path),
      'cloudreve://my/up',
    );
    await progressPast(env.engine, ids[0], 2 * CHUNK);
    // Maintenance: everything under /api/ answers 503 (the ping too) for 2 s, twice the retry budget's reach.
    env.emu.addFault({ path: '^/api/v4/', forMs: 2000, action: { type: 'status', status: 503, body: '<html>maintenance</html>' } });
    await until(() => !env.engine.connectivity().online, 5000, 'the engine to go offline');
    assert.match(env.engine.connectivity().reason!, /503/);
    await env.engine.idle();
    for (const [i, id] of ids.entries()) {
      const t = env.engine.transfer(id)!;
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      assert.ok(env.emu.blob(`cloudreve://my/up/${i === 0 ? 'a' : 'b'}.bin`)!.equals(files[i].data));
    }
    assert.equal(env.emu.stats().sessions_created, 2, 'no session was replaced');
    assert.equal(env.engine.connectivity().online, true);
    assert.ok(env.states.includes('waiting-retry'));
  } finally {
    await env.close();
  }
});

test('one lost part is retried in waiting-retry and back to uploading, without going offline (the server answers the probe)', async () => {
  const env = await setup();
  try {
    env.emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/2$', times: 1, action: { type: 'reset', afterBytes: 1000 } });
    const f = env.dir.random('blip.bin', 6 * CHUNK);
    const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
    await env.engine.idle();
    assert.equal(env.engine.transfer(id)!.state, 'done');
    // (a wait's next-try time comes as a change to the same state: left out here)
    const states = env.states.filter((s, k, all) => k === 0 || s !== all[k - 1]);
    const i = states.indexOf('waiting-retry');
    assert.ok(i > 0, `states: ${states.join(' → ')}`);
    assert.equal(states[i + 1], 'uploading', `states: ${states.join(' → ')}`);
    assert.deepEqual(env.connectivity, [], 'never offline');
  } finally {
    await env.close();
  }
});

test("the policy's chunk_concurrency is never exceeded (the emulator counts parts in flight per session)", async () => {
  const env = await setup({ policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: 3 } }, { chunkConcurrencyCap: 8, maxActiveFiles: 3 });
  try {
    const files = ['p.bin', 'q.bin', 'r.bin'].map((n) => env.dir.random(n, 24 * CHUNK + 5));
    await env.engine.enqueue(
      files.map((f) => f.path),
      'cloudreve://my/up',
    );
    await env.engine.idle();
    for (const t of env.engine.listTransfers()) assert.equal(t.state, 'done', JSON.stringify(t.error));
    const st = env.emu.stats();
    assert.deepEqual(st.chunk_concurrency_violations, []);
    assert.ok(st.max_parts_in_flight >= 2 && st.max_parts_in_flight <= 3, `max ${st.max_parts_in_flight} parts in flight`);
  } finally {
    await env.close();
  }
});

for (const version of ['4.6.0', '4.9.0', '4.17.0']) {
  test(`against ${version}: missing server features degrade (no concurrency before 4.7, no encryption before 4.10), the upload works`, async () => {
    const env = await setup({ version, policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: 4, encryption: true } }, { chunkConcurrencyCap: 8 });
    try {
      assert.equal(env.engine.account()!.serverVersion, version);
      const f = env.dir.random('old.bin', 10 * CHUNK + 7);
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
      await env.engine.idle();
      const t = env.engine.transfer(id)!;
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      const hasEncryption = version === '4.17.0';
      const entity = env.emu.entity('cloudreve://my/up/old.bin')!;
      assert.equal(entity.encrypted, hasEncryption);
      if (!hasEncryption) assert.ok(env.emu.blob('cloudreve://my/up/old.bin')!.equals(f.data), 'stored as sent: plaintext');
      const st = env.emu.stats();
      assert.deepEqual(st.chunk_concurrency_violations, []);
      if (version === '4.6.0') assert.equal(st.max_parts_in_flight, 1);
    } finally {
      await env.close();
    }
  });
}

test('a file changed while the server is down: its old session is cancelled once the server is back, not left behind', async () => {
  const env = await setup({}, { bandwidthLimit: 512 * 1024 });
  try {
    const f = env.dir.random('changed.bin', 16 * CHUNK);
    const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
    await progressPast(env.engine, id, 4 * CHUNK);
    env.engine.pause(id);
    await until(() => env.engine.transfer(id)!.state === 'paused', 5000, 'the pause');
    assert.equal(env.emu.sessions().length, 1, 'the paused transfer keeps its session');
    const { appendFileSync, readFileSync } = await import('node:fs');
    appendFileSync(f.path, Buffer.alloc(1000, 7)); // changed: the old session cannot be continued
    await env.emu.stop();
    env.engine.resume(id);
    // the old session must be cancelled before a new one is made; the server is down, so it waits offline
    await until(() => !env.engine.connectivity().online, 5000, 'the engine to go offline');
    await sleep(1200); // longer than the retry budget could ride out
    assert.equal(env.engine.transfer(id)!.state, 'waiting-retry');
    await env.emu.start();
    await env.engine.idle();
    const t = env.engine.transfer(id)!;
    assert.equal(t.state, 'done', JSON.stringify(t.error));
    assert.ok(env.emu.blob('cloudreve://my/up/changed.bin')!.equals(readFileSync(f.path)), 'the changed content');
    assert.deepEqual(env.emu.sessions(), [], 'no upload session left open on the server');
  } finally {
    await env.close();
  }
});
