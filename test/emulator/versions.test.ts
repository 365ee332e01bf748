// The emulator's version gates (spec §0, §9), its accounting of parts in flight, time-limited faults and
// stop/start on the same port.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { startEmulator, type Emulator } from './index.js';
import { api, createSession, login, sleep } from './helpers.js';

async function policyOf(emu: Emulator, token: string): Promise<Record<string, unknown>> {
  const r = await api(emu, 'GET', '/api/v4/file?uri=' + encodeURIComponent('cloudreve://my'), { token });
  assert.equal(r.json.code, 0, r.text);
  return r.json.data.storage_policy;
}

async function eventsStatus(emu: Emulator, token: string): Promise<{ status: number; text: string }> {
  const ac = new AbortController();
  const r = await fetch(`${emu.url}/api/v4/file/events?uri=${encodeURIComponent('cloudreve://my')}`, {
    headers: { authorization: `Bearer ${token}`, 'x-cr-client-id': '3f1d2c4b-5a69-4e7d-8c0b-9a1e2f3d4c5b' },
    signal: ac.signal,
  });
  const text = r.status === 200 ? '' : await r.text();
  ac.abort();
  return { status: r.status, text };
}

describe('version gates', () => {
  it('before 4.7 no chunk_concurrency, before 4.10 no encryption, before 4.11 no change events', async () => {
    const emu = await startEmulator({ version: '4.6.0', policy: { type: 'local', chunkSize: 1024, chunkConcurrency: 3, encryption: true } });
    try {
      const { access } = await login(emu);
      const expect = async (v: string, want: { concurrency: boolean; encryption: boolean; events: boolean }) => {
        emu.setVersion(v);
        const p = await policyOf(emu, access);
        assert.equal(p.chunk_concurrency, want.concurrency ? 3 : undefined, `${v}: chunk_concurrency`);
        assert.equal(p.encryption, want.encryption ? true : undefined, `${v}: encryption`);
        const s = await createSession(emu, access, { uri: `cloudreve://my/enc-${v}.bin`, size: 10, encryption_supported: ['aes-256-ctr'] });
        assert.equal(s.json.code, 0, s.text);
        assert.equal(s.json.data.encrypt_metadata !== undefined, want.encryption, `${v}: encrypt_metadata`);
        const ev = await eventsStatus(emu, access);
        if (want.events) assert.equal(ev.status, 200, `${v}: events`);
        else assert.deepEqual(ev, { status: 404, text: '404 page not found' }, `${v}: events`);
      };
      await expect('4.6.0', { concurrency: false, encryption: false, events: false });
      await expect('4.7.0', { concurrency: true, encryption: false, events: false });
      await expect('4.10.0', { concurrency: true, encryption: true, events: false });
      await expect('4.11.0', { concurrency: true, encryption: true, events: true });
    } finally {
      await emu.close();
    }
  });
});

/** Starts a chunk upload whose body is held open until `release` resolves. */
function heldChunk(emu: Emulator, token: string, sid: string, index: number, data: Buffer, release: Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${emu.url}/api/v4/file/upload/${sid}/${index}`);
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-length': data.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(data.subarray(0, 10));
    void release.then(() => req.end(data.subarray(10)));
  });
}

describe('parts in flight per session', () => {
  for (const [version, limit] of [
    ['4.18.0', 2],
    ['4.6.0', 1],
  ] as const) {
    it(`${version}: more parts at once than the policy allows (${limit}) are recorded as a violation`, async () => {
      const emu = await startEmulator({ version, policy: { type: 'local', chunkSize: 1024, chunkConcurrency: 2 } });
      try {
        const { access } = await login(emu);
        const s = await createSession(emu, access, { uri: 'cloudreve://my/f.bin', size: 4096 });
        const sid = s.json.data.session_id;
        // `limit` parts at once: fine
        let go!: () => void;
        let release = new Promise<void>((r) => (go = r));
        const first = Array.from({ length: limit }, (_, i) => heldChunk(emu, access, sid, i, Buffer.alloc(1024, i), release));
        await sleep(100);
        go();
        assert.deepEqual(await Promise.all(first), first.map(() => 200));
        assert.deepEqual(emu.stats().chunk_concurrency_violations, []);
        assert.equal(emu.stats().max_parts_in_flight, limit);
        // one more than allowed
        release = new Promise<void>((r) => (go = r));
        const more = [0, 1, 2].slice(0, limit + 1).map((i) => heldChunk(emu, access, sid, i, Buffer.alloc(1024, i), release));
        await sleep(100);
        go();
        await Promise.all(more);
        const v = emu.stats().chunk_concurrency_violations;
        assert.equal(v.length, 1, JSON.stringify(v));
        assert.deepEqual({ ...v[0], session: undefined }, { session: undefined, uri: 'cloudreve://my/f.bin', in_flight: limit + 1, limit });
        assert.equal(emu.stats().max_parts_in_flight, limit + 1);
        emu.resetStats();
        assert.deepEqual(emu.stats().chunk_concurrency_violations, []);
        const hook = await api(emu, 'GET', '/__emulator/stats');
        assert.deepEqual(hook.json.chunk_concurrency_violations, []);
      } finally {
        await emu.close();
      }
    });
  }
});

describe('outages', () => {
  it('a fault with forMs hits every matching request for that long, then goes away', async () => {
    const emu = await startEmulator();
    try {
      // a window wide enough for three requests on a busy 2-core machine; then wait until it has surely passed
      const windowMs = 3000;
      const added = Date.now();
      emu.addFault({ path: '^/api/v4/', forMs: windowMs, action: { type: 'status', status: 503, body: 'maintenance' } });
      for (let i = 0; i < 3; i++) assert.equal((await api(emu, 'GET', '/api/v4/site/ping')).status, 503);
      assert.ok(Date.now() - added < windowMs, 'the three requests ran inside the window');
      await sleep(windowMs + 100 - (Date.now() - added));
      assert.equal((await api(emu, 'GET', '/api/v4/site/ping')).status, 200);
      assert.throws(() => emu.addFault({ path: '.', forMs: 0, action: { type: 'status', status: 503 } }), /forMs/);
    } finally {
      await emu.close();
    }
  });

  it('stop() refuses connections and drops open ones; start() serves again on the same port with the same state', async () => {
    const emu = await startEmulator();
    try {
      const { access } = await login(emu);
      await emu.stop();
      await assert.rejects(fetch(`${emu.url}/api/v4/site/ping`), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED');
      await emu.start();
      const me = await api(emu, 'GET', '/api/v4/user/me', { token: access });
      assert.equal(me.json.code, 0, 'the login survived the restart');
    } finally {
      await emu.close();
    }
  });
});
