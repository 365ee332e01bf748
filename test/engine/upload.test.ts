/**
 * The upload engine end to end against the protocol-faithful emulator: what is stored must be exactly the
 * file (or its AES-256-CTR encryption under the session key), whatever happens on the way.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import { createEngine, type Engine, type EngineConfig } from '../../main/engine/index.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const CHUNK = 64 * 1024;
const FAST_RETRY = { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 8 };

async function setup(emuOpts: EmulatorOptions = {}, cfg: Partial<EngineConfig> = {}) {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK }, ...emuOpts });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home'), retry: FAST_RETRY, settleMs: 200, ...cfg });
  await engine.login(emu.url, emu.email, emu.password);
  return {
    emu,
    dir,
    engine,
    async close() {
      await engine.close();
      await emu.close();
      dir.cleanup();
    },
  };
}

function ctr(data: Buffer, keyB64: string, ivB64: string): Buffer {
  const c = createCipheriv('aes-256-ctr', Buffer.from(keyB64, 'base64'), Buffer.from(ivB64, 'base64'));
  return Buffer.concat([c.update(data), c.final()]);
}

/** Resolves once transfer `id` has sent more than `bytes` (bounded by the test timeout). */
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

async function uploadOne(engine: Engine, path: string, to = 'cloudreve://my/up') {
  const [id] = await engine.enqueue([path], to);
  await engine.idle();
  return engine.transfer(id)!;
}

const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 12_345];

for (const concurrency of [1, 4]) {
  describe(`plaintext, chunk concurrency ${concurrency}`, () => {
    let env: Awaited<ReturnType<typeof setup>>;
    before(async () => {
      env = await setup({ policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: concurrency } });
    });
    after(() => env.close());
    for (const size of SIZES) {
      test(`size ${size}: stored blob equals the file`, async () => {
        const f = env.dir.random(`c${concurrency}/f-${size}.bin`, size);
        const t = await uploadOne(env.engine, f.path);
        assert.equal(t.state, 'done', JSON.stringify(t.error));
        const blob = env.emu.blob(`cloudreve://my/up/f-${size}.bin`);
        assert.ok(blob, 'blob stored');
        assert.equal(blob.length, size);
        assert.ok(blob.equals(f.data), 'content identical');
      });
    }
  });

  describe(`encrypted, chunk concurrency ${concurrency}`, () => {
    let env: Awaited<ReturnType<typeof setup>>;
    before(async () => {
      env = await setup({ policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: concurrency, encryption: true } });
    });
    after(() => env.close());
    for (const size of SIZES) {
      test(`size ${size}: stored blob is the AES-256-CTR encryption under the session key`, async () => {
        const f = env.dir.random(`e${concurrency}/f-${size}.bin`, size);
        const t = await uploadOne(env.engine, f.path);
        assert.equal(t.state, 'done', JSON.stringify(t.error));
        const uri = `cloudreve://my/up/f-${size}.bin`;
        const ent = env.emu.entity(uri);
        assert.ok(ent?.encrypted && ent.key && ent.iv, 'entity encrypted with a key');
        const blob = env.emu.blob(uri)!;
        assert.equal(blob.length, size);
        assert.ok(blob.equals(ctr(f.data, ent.key!, ent.iv!)), 'ciphertext matches');
        if (size >= 16) assert.ok(!blob.equals(f.data), 'not plaintext');
      });
    }
  });
}

describe('relay and remote policies', () => {
  test('relay + encryption: plaintext goes up, the server encrypts', async () => {
    const env = await setup({ policy: { type: 'local', relay: true, encryption: true, chunkSize: CHUNK } });
    try {
      const f = env.dir.random('r.bin', 3 * CHUNK + 5);
      const t = await uploadOne(env.engine, f.path);
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      assert.equal(t.encrypted, false, 'client did not encrypt');
      const ent = env.emu.entity('cloudreve://my/up/r.bin')!;
      assert.ok(ent.encrypted);
      assert.ok(env.emu.blob('cloudreve://my/up/r.bin')!.equals(ctr(f.data, ent.key!, ent.iv!)));
    } finally {
      await env.close();
    }
  });

  for (const encryption of [false, true]) {
    test(`remote (slave node)${encryption ? ' + encryption' : ''}: parts go to the node with its credential`, async () => {
      const env = await setup({ policy: { type: 'remote', chunkSize: CHUNK, chunkConcurrency: 3, encryption } });
      try {
        const f = env.dir.random('n.bin', 7 * CHUNK + 99);
        const t = await uploadOne(env.engine, f.path);
        assert.equal(t.state, 'done', JSON.stringify(t.error));
        const blob = env.emu.blob('cloudreve://my/up/n.bin')!;
        if (encryption) {
          const ent = env.emu.entity('cloudreve://my/up/n.bin')!;
          assert.ok(blob.equals(ctr(f.data, ent.key!, ent.iv!)));
        } else assert.ok(blob.equals(f.data));
      } finally {
        await env.close();
      }
    });
  }
});

describe('faults mid-upload', () => {
  test('connection resets, 5xx and server faults are retried and end with a correct file', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: 2 } });
    try {
      env.emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/1$', times: 2, action: { type: 'reset', afterBytes: 1000 } });
      env.emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/2$', times: 1, action: { type: 'status', status: 502, body: '<html>bad gateway</html>' } });
      env.emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/3$', times: 1, action: { type: 'envelope', code: 50004, msg: 'Failed to upload file' } });
      env.emu.addFault({ method: 'PUT', path: '^/api/v4/file/upload$', times: 1, action: { type: 'status', status: 500, body: '' } });
      const f = env.dir.random('x.bin', 6 * CHUNK + 1);
      const t = await uploadOne(env.engine, f.path);
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      assert.ok(env.emu.blob('cloudreve://my/up/x.bin')!.equals(f.data));
    } finally {
      await env.close();
    }
  });

  test('a network loss longer than the retry budget fails the transfer with its session kept; resume continues it', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 512 * 1024 });
    try {
      const f = env.dir.random('net.bin', 12 * CHUNK);
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
      await progressPast(env.engine, id, 4 * CHUNK);
      // the network goes away: every chunk request is cut
      env.emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/', times: 10_000, action: { type: 'reset', afterBytes: 0 } });
      await env.engine.idle();
      const failed = env.engine.transfer(id)!;
      assert.equal(failed.state, 'failed');
      assert.equal(failed.error?.code, 'network');
      assert.equal(env.emu.sessions().length, 1, 'the session is kept');
      const acked = env.emu.sessions()[0].received.length;
      env.emu.clearFaults();
      env.emu.resetStats();
      env.engine.setBandwidthLimit(0);
      assert.deepEqual(env.engine.resumeInterrupted(), [id]);
      await env.engine.idle();
      assert.equal(env.engine.transfer(id)!.state, 'done');
      assert.ok(env.emu.blob('cloudreve://my/up/net.bin')!.equals(f.data));
      assert.equal(env.emu.stats().sessions_created, 0, 'same session');
      assert.ok(env.emu.stats().chunk_requests <= 12 - acked, 'only the missing parts');
    } finally {
      await env.close();
    }
  });

  test('access token expiring mid-upload is refreshed and the upload finishes', async () => {
    const env = await setup({ accessTtl: 2, policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 256 * 1024 });
    try {
      const f = env.dir.random('slow.bin', 12 * CHUNK + 3); // ~3 s at 256 KiB/s: crosses the token expiry
      const t = await uploadOne(env.engine, f.path);
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      assert.ok(env.emu.blob('cloudreve://my/up/slow.bin')!.equals(f.data));
    } finally {
      await env.close();
    }
  });

  for (const type of ['local', 'remote'] as const) {
  test(`${type}: a session that expired on the server is replaced by a new one`, async () => {
    const env = await setup({ sessionTtl: 2, policy: { type, chunkSize: CHUNK } }, { bandwidthLimit: 192 * 1024 });
    try {
      const f = env.dir.random('exp.bin', 10 * CHUNK); // ~3.3 s: longer than the session lives
      // once the first session is found gone, lift the limit so the new session can finish within its TTL
      env.engine.events.on('log', (l) => {
        if (/session gone/.test(l.message)) env.engine.setBandwidthLimit(0);
      });
      const t = await uploadOne(env.engine, f.path);
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      assert.ok(env.emu.blob('cloudreve://my/up/exp.bin')!.equals(f.data));
      assert.ok(env.emu.stats().sessions_created >= 2, 'a second session was made');
    } finally {
      await env.close();
    }
  });
  }

  test('a file modified mid-upload is never completed with mixed content', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 512 * 1024 });
    try {
      const f = env.dir.random('m.bin', 16 * CHUNK);
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
      await progressPast(env.engine, id, 4 * CHUNK);
      const replacement = Buffer.alloc(16 * CHUNK, 7);
      writeFileSync(f.path, replacement);
      await env.engine.idle();
      const t = env.engine.transfer(id)!;
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      const blob = env.emu.blob('cloudreve://my/up/m.bin')!;
      assert.ok(blob.equals(replacement), 'the stored file is the new content, whole');
    } finally {
      await env.close();
    }
  });

  test('a file deleted mid-upload fails with a clear reason and leaves no session or placeholder behind', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 512 * 1024 });
    try {
      const f = env.dir.random('gone.bin', 16 * CHUNK);
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
      await progressPast(env.engine, id, 3 * CHUNK);
      rmSync(f.path);
      await env.engine.idle();
      const t = env.engine.transfer(id)!;
      assert.equal(t.state, 'failed');
      assert.equal(t.error?.code, 'file-changed');
      assert.match(t.error!.message, /disappeared/);
      assert.equal(env.emu.sessions().length, 0, 'session cancelled');
      assert.equal(env.emu.file('cloudreve://my/up/gone.bin'), null, 'no half file on the server');
    } finally {
      await env.close();
    }
  });

  test('a file that grows during its last part is not completed with the old length', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 256 * 1024 });
    try {
      const f = env.dir.random('g.bin', 2 * CHUNK);
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
      await progressPast(env.engine, id, CHUNK + 1000);
      appendFileSync(f.path, Buffer.alloc(10, 1));
      await env.engine.idle();
      const t = env.engine.transfer(id)!;
      assert.equal(t.state, 'done', JSON.stringify(t));
      const blob = env.emu.blob('cloudreve://my/up/g.bin')!;
      assert.ok(blob.equals(Buffer.concat([f.data, Buffer.alloc(10, 1)])));
    } finally {
      await env.close();
    }
  });
});

/** Another device signs this login out: the refresh-token chain is revoked on the server. */
async function revokeLogin(env: { dir: { path: string }; emu: { url: string } }): Promise<void> {
  const creds = JSON.parse(readFileSync(join(env.dir.path, 'home', 'credentials.json'), 'utf8'));
  const res = await fetch(`${env.emu.url}/api/v4/session/token`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: creds.tokens.refresh_token }),
  });
  assert.equal(((await res.json()) as { code: number }).code, 0);
}

describe('login and locks', () => {
  test('a login revoked mid-upload parks the transfers; after logging in again resume finishes them', async () => {
    const env = await setup({ accessTtl: 2, policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 256 * 1024 });
    try {
      const f = env.dir.random('rev.bin', 24 * CHUNK); // ~6 s at 256 KiB/s
      const g = env.dir.random('rev2.bin', 1000);
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/rv');
      let loggedOut = false;
      env.engine.events.on('account-changed', (a) => {
        if (!a.loggedIn) loggedOut = true;
      });
      await new Promise((r) => setTimeout(r, 300));
      await revokeLogin(env);
      const [id2] = await env.engine.enqueue([g.path], 'cloudreve://my/rv').catch(() => [null]);
      await env.engine.idle();
      const t = env.engine.transfer(id)!;
      assert.equal(t.state, 'paused', JSON.stringify(t));
      assert.equal(t.error?.code, 'login-required');
      assert.ok(loggedOut, 'account-changed told the UI');
      assert.ok(env.emu.sessions().length >= 1, 'sessions are kept for later (the small file may have made one too)');

      await env.engine.login(env.emu.url, env.emu.email, env.emu.password);
      env.engine.setBandwidthLimit(0);
      env.engine.resume();
      await env.engine.idle();
      assert.equal(env.engine.transfer(id)!.state, 'done', JSON.stringify(env.engine.transfer(id)));
      assert.ok(env.emu.blob('cloudreve://my/rv/rev.bin')!.equals(f.data));
      if (id2) assert.equal(env.engine.transfer(id2)!.state, 'done', JSON.stringify(env.engine.transfer(id2)));
    } finally {
      await env.close();
    }
  });

  test('a lost login is the recorded reason on every transfer it paused, also those that never ran', async () => {
    // one file in flight: the second waits in the queue and is paused by the engine, not by its own 401
    const env = await setup(
      { accessTtl: 2, policy: { type: 'local', chunkSize: CHUNK } },
      { bandwidthLimit: 256 * 1024, maxActiveFiles: 1, smallFileSlots: 0 },
    );
    try {
      const f = env.dir.random('lost/a.bin', 24 * CHUNK);
      const h = env.dir.random('lost/b.bin', 4 * CHUNK);
      const [idA, idB] = await env.engine.enqueue([f.path, h.path], 'cloudreve://my/lost');
      await new Promise((r) => setTimeout(r, 300));
      await revokeLogin(env);
      await env.engine.idle();
      for (const id of [idA, idB]) {
        const t = env.engine.transfer(id)!;
        assert.equal(t.state, 'paused', JSON.stringify(t));
        assert.equal(t.error?.code, 'login-required', JSON.stringify(t));
      }
      await env.engine.login(env.emu.url, env.emu.email, env.emu.password);
      env.engine.setBandwidthLimit(0);
      env.engine.resume();
      await env.engine.idle();
      for (const id of [idA, idB]) assert.equal(env.engine.transfer(id)!.state, 'done', JSON.stringify(env.engine.transfer(id)));
    } finally {
      await env.close();
    }
  });

  test('a path locked by another upload: overwrite gets lock-conflict, rename says an upload is in progress', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 128 * 1024 });
    try {
      const a = env.dir.random('a/lock.bin', 16 * CHUNK); // ~8 s: holds the lock while the others try
      const b = env.dir.random('b/lock.bin', 100);
      const [first] = await env.engine.enqueue([a.path], 'cloudreve://my/lk');
      await new Promise<void>((resolve) => {
        const off = env.engine.events.on('transfer-state-changed', ({ transfer }) => {
          if (transfer.id === first && transfer.state === 'uploading') {
            off();
            resolve();
          }
        });
      });
      const [over] = await env.engine.enqueue([b.path], 'cloudreve://my/lk', { ifExists: 'overwrite' });
      const [ren] = await env.engine.enqueue([b.path], 'cloudreve://my/lk', { ifExists: 'rename' });
      for (let i = 0; i < 100; i++) {
        const states = [over, ren].map((id) => env.engine.transfer(id)!.state);
        if (states.every((s) => s === 'failed')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(env.engine.transfer(over)!.error?.code, 'lock-conflict');
      assert.equal(env.engine.transfer(ren)!.error?.code, 'exists');
      assert.match(env.engine.transfer(ren)!.error!.message, /in progress/);
      await env.engine.cancel(first);
      await env.engine.idle();
    } finally {
      await env.close();
    }
  });
});

describe('queue verbs', () => {
  test('pause keeps the session, resume continues without resending acknowledged parts, cancel deletes it', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 512 * 1024 });
    try {
      const f = env.dir.random('p.bin', 20 * CHUNK);
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
      await progressPast(env.engine, id, 5 * CHUNK);
      env.engine.pause(id);
      await env.engine.idle();
      assert.equal(env.engine.transfer(id)!.state, 'paused');
      assert.equal(env.emu.sessions().length, 1, 'session kept');
      const before = env.emu.stats().bytes_received;
      env.engine.setBandwidthLimit(0);
      env.engine.resume(id);
      await env.engine.idle();
      assert.equal(env.engine.transfer(id)!.state, 'done');
      const resent = env.emu.stats().bytes_received - before;
      assert.ok(resent <= 20 * CHUNK - 4 * CHUNK, `resumed without starting over (sent ${resent})`);
      assert.ok(env.emu.blob('cloudreve://my/up/p.bin')!.equals(f.data));

      env.engine.setBandwidthLimit(256 * 1024);
      const g = env.dir.random('c.bin', 20 * CHUNK);
      const [id2] = await env.engine.enqueue([g.path], 'cloudreve://my/up');
      await new Promise((r) => setTimeout(r, 500));
      await env.engine.cancel(id2);
      await env.engine.idle();
      assert.equal(env.engine.transfer(id2)!.state, 'cancelled');
      assert.equal(env.emu.sessions().length, 0, 'session deleted on the server');
      assert.equal(env.emu.file('cloudreve://my/up/c.bin'), null, 'no placeholder left');
    } finally {
      await env.close();
    }
  });

  test('the bandwidth limit holds and can be changed while running', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 512 * 1024 });
    try {
      const f = env.dir.random('bw.bin', 16 * CHUNK); // 1 MiB at 512 KiB/s ≈ 2 s
      const t0 = Date.now();
      const [id] = await env.engine.enqueue([f.path], 'cloudreve://my/up');
      await env.engine.idle();
      const limited = Date.now() - t0;
      assert.equal(env.engine.transfer(id)!.state, 'done');
      assert.ok(limited >= 1200, `1 MiB at 512 KiB/s took ${limited} ms`);
      env.engine.setBandwidthLimit(0);
      const g = env.dir.random('bw2.bin', 16 * CHUNK);
      const t1 = Date.now();
      await env.engine.enqueue([g.path], 'cloudreve://my/up');
      await env.engine.idle();
      assert.ok(Date.now() - t1 < limited, 'unlimited is faster');
    } finally {
      await env.close();
    }
  });

  test('the number of files in flight can be changed while running', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 512 * 1024, maxActiveFiles: 1, smallFileSlots: 0 });
    try {
      const files = [0, 1, 2].map((i) => env.dir.random(`cc${i}.bin`, 8 * CHUNK));
      await env.engine.enqueue(files.map((f) => f.path), 'cloudreve://my/cc');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(env.engine.overall().active, 1);
      assert.equal(env.engine.overall().queued, 2);
      env.engine.setConcurrency({ maxActiveFiles: 3 });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(env.engine.overall().active, 3);
      env.engine.setBandwidthLimit(0);
      await env.engine.idle();
      for (const [i, f] of files.entries()) assert.ok(env.emu.blob(`cloudreve://my/cc/cc${i}.bin`)!.equals(f.data));
    } finally {
      await env.close();
    }
  });

  test('small files are not stuck behind a huge one', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 1024 * 1024, maxActiveFiles: 1, smallFileSlots: 2 });
    try {
      const big = env.dir.random('big.bin', 64 * CHUNK); // 4 MiB at 1 MiB/s ≈ 4 s
      const [bigId] = await env.engine.enqueue([big.path], 'cloudreve://my/up');
      const small = [env.dir.random('s1.txt', 100), env.dir.random('s2.txt', 200)];
      const ids = await env.engine.enqueue(small.map((s) => s.path), 'cloudreve://my/up');
      const finished: string[] = [];
      env.engine.events.on('transfer-state-changed', ({ transfer }) => {
        if (transfer.state === 'done') finished.push(transfer.id);
      });
      await env.engine.idle();
      assert.deepEqual(finished.slice(0, 2).sort(), [...ids].sort(), 'small files finished first');
      assert.equal(finished[2], bigId);
    } finally {
      await env.close();
    }
  });
});

describe('preflight and if-exists', () => {
  test('per-file errors before any byte is sent', async () => {
    const env = await setup({ quota: 10_000, policy: { type: 'local', chunkSize: CHUNK, maxSize: 5000, deniedSuffix: ['exe'] } });
    try {
      const big = env.dir.random('big.bin', 6000);
      const exe = env.dir.random('tool.exe', 10);
      const bad = env.dir.random('a:b.txt', 10);
      const ok = env.dir.random('ok.txt', 10);
      const ids = await env.engine.enqueue([big.path, exe.path, bad.path, ok.path], 'cloudreve://my/pf');
      await env.engine.idle();
      const st = ids.map((id) => env.engine.transfer(id)!);
      assert.deepEqual(st.map((t) => t.state), ['failed', 'failed', 'failed', 'done']);
      assert.deepEqual(st.slice(0, 3).map((t) => t.error?.code), ['too-large', 'name-rejected', 'name-rejected']);
      assert.equal(env.emu.stats().bytes_received, 10, 'only the good file was sent');
    } finally {
      await env.close();
    }
  });

  test('quota: a file larger than the free space fails with a clear error', async () => {
    const env = await setup({ quota: 1000, policy: { type: 'local', chunkSize: CHUNK } });
    try {
      const f = env.dir.random('q.bin', 2000);
      const t = await uploadOne(env.engine, f.path);
      assert.equal(t.state, 'failed');
      assert.equal(t.error?.code, 'quota');
    } finally {
      await env.close();
    }
  });

  test('skip, overwrite (new version) and rename (keep both)', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } });
    try {
      const a = env.dir.random('x/doc.txt', 100);
      assert.equal((await uploadOne(env.engine, a.path, 'cloudreve://my/ie')).state, 'done');
      // identical (same size and mtime): skipped whatever the mode
      assert.equal((await uploadOne(env.engine, a.path, 'cloudreve://my/ie')).state, 'skipped');
      const b = env.dir.random('y/doc.txt', 150);
      const [s] = await env.engine.enqueue([b.path], 'cloudreve://my/ie', { ifExists: 'skip' });
      await env.engine.idle();
      assert.equal(env.engine.transfer(s)!.state, 'skipped');
      assert.ok(env.emu.blob('cloudreve://my/ie/doc.txt')!.equals(a.data));
      const [r] = await env.engine.enqueue([b.path], 'cloudreve://my/ie', { ifExists: 'rename' });
      await env.engine.idle();
      assert.equal(env.engine.transfer(r)!.targetUri, 'cloudreve://my/ie/doc%20(1).txt');
      assert.ok(env.emu.blob('cloudreve://my/ie/doc (1).txt')?.equals(b.data) || env.emu.blob('cloudreve://my/ie/doc%20(1).txt')?.equals(b.data));
      const [o] = await env.engine.enqueue([b.path], 'cloudreve://my/ie', { ifExists: 'overwrite' });
      await env.engine.idle();
      assert.equal(env.engine.transfer(o)!.state, 'done');
      assert.ok(env.emu.blob('cloudreve://my/ie/doc.txt')!.equals(b.data), 'overwritten as a new version');
    } finally {
      await env.close();
    }
  });

  test('folders upload recursively, creating remote folders (empty ones too)', async () => {
    const env = await setup({ policy: { type: 'local', chunkSize: CHUNK } });
    try {
      const a = env.dir.random('tree/a.txt', 10);
      const b = env.dir.random('tree/sub/deeper/b.txt', 20);
      mkdirSync(join(env.dir.path, 'tree/empty'));
      const ids = await env.engine.enqueue([join(env.dir.path, 'tree')], 'cloudreve://my/t');
      await env.engine.idle();
      assert.equal(ids.length, 2);
      assert.ok(env.emu.blob('cloudreve://my/t/tree/a.txt')!.equals(a.data));
      assert.ok(env.emu.blob('cloudreve://my/t/tree/sub/deeper/b.txt')!.equals(b.data));
      assert.ok(env.emu.file('cloudreve://my/t/tree/empty'));
    } finally {
      await env.close();
    }
  });
});

describe('a lost login in the app and `run` (autoResume)', () => {
  test('the transfers it paused go on by themselves once the login is back, also after a restart', async () => {
    const env = await setup({ accessTtl: 2, policy: { type: 'local', chunkSize: CHUNK } }, { bandwidthLimit: 256 * 1024, autoResume: true });
    try {
      const f = env.dir.random('auto/a.bin', 24 * CHUNK);
      const g = env.dir.random('auto/b.bin', 16 * CHUNK);
      const [idA] = await env.engine.enqueue([f.path], 'cloudreve://my/auto');
      await new Promise((r) => setTimeout(r, 300));
      await revokeLogin(env);
      await env.engine.idle();
      assert.equal(env.engine.transfer(idA)!.error?.code, 'login-required');
      // signed in again in the same process: no `resume` needed
      await env.engine.login(env.emu.url, env.emu.email, env.emu.password);
      env.engine.setBandwidthLimit(0);
      await env.engine.idle();
      assert.equal(env.engine.transfer(idA)!.state, 'done', JSON.stringify(env.engine.transfer(idA)));

      // lost again, and this time the app is restarted before the login comes back
      env.engine.setBandwidthLimit(256 * 1024);
      const [idB] = await env.engine.enqueue([g.path], 'cloudreve://my/auto');
      await new Promise((r) => setTimeout(r, 300));
      await revokeLogin(env);
      await env.engine.idle();
      assert.equal(env.engine.transfer(idB)!.error?.code, 'login-required');
      await env.engine.close();
      const home = join(env.dir.path, 'home');
      const again = await createEngine({ home, retry: FAST_RETRY, autoResume: true });
      try {
        await again.login(env.emu.url, env.emu.email, env.emu.password);
        await again.idle();
        assert.equal(again.transfer(idB)!.state, 'done', JSON.stringify(again.transfer(idB)));
        assert.ok(env.emu.blob('cloudreve://my/auto/b.bin')!.equals(g.data));
      } finally {
        await again.close();
      }
    } finally {
      await env.emu.close();
      env.dir.cleanup();
    }
  });
});
