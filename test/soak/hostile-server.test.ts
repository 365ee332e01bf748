// Hostile and broken servers: each bad answer ends as a clear per-file (or, for the login, per-account) error within
// the configured timeouts; nothing crashes, nothing hangs, the local file is untouched and nothing is committed on
// the server. See the README's "Reliability" section for what "elsewhere" may and may not mean.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type Emulator, type EmulatorPolicy } from '../emulator/index.js';
import { createEngine, type Engine } from '../../main/engine/index.js';
import { EngineError } from '../../main/engine/errors.js';
import type { TransferSnapshot } from '../../main/engine/types.js';
import { tmpDir } from '../helpers/tmp-tree.js';
import { editJson, rawAnswer, startCanary, startHostile, type HostileRule } from './hostile-server.js';
import { login, uploadFile } from '../emulator/helpers.js';

const TIMEOUTS = { connectMs: 1000, responseMs: 1500, idleMs: 1500, totalMs: 3000 };
const RETRY = { baseMs: 20, maxMs: 100, factor: 2, jitter: 0, maxAttemptsWithoutProgress: 2 };
/** the longest any case may take: the timeouts above times the retry budget, with room for a busy machine */
const BOUND_MS = 25_000;
const SESSION = '^/api/v4/file/upload$';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Outcome {
  transfer: TransferSnapshot;
  ms: number;
  emu: Emulator;
  hits: number[];
}

/** Uploads one file through a hostile proxy in front of the emulator; asserts the local file is untouched. */
async function uploadThrough(rules: HostileRule[], opts: { policy?: EmulatorPolicy; size?: number } = {}, check?: (o: Outcome) => void | Promise<void>): Promise<void> {
  const emu = await startEmulator({ policy: opts.policy ?? { type: 'local', chunkSize: 64 * 1024, chunkConcurrency: 2 } });
  const hostile = await startHostile(emu.url, rules);
  const dir = tmpDir('crs-hostile-');
  let engine: Engine | null = null;
  try {
    engine = await createEngine({ home: join(dir.path, 'home'), retry: RETRY, timeouts: TIMEOUTS, offlineProbe: { baseMs: 50, maxMs: 200 } });
    await engine.login(hostile.url, emu.email, emu.password);
    const f = dir.random('up/data.bin', opts.size ?? 150 * 1024);
    const before = sha(f.data);
    const started = Date.now();
    const [id] = await engine.enqueue([f.path], 'cloudreve://my/target');
    const e = engine;
    let hung = false;
    await Promise.race([
      e.idle(),
      new Promise<void>((r) =>
        setTimeout(() => {
          hung = true;
          r();
        }, BOUND_MS).unref(),
      ),
    ]);
    const ms = Date.now() - started;
    const transfer = e.transfer(id)!;
    assert.ok(!hung, `still ${transfer.state} after ${BOUND_MS} ms: ${JSON.stringify(transfer)}`);
    assert.equal(sha(readFileSync(f.path)), before, 'the local file was changed');
    assert.deepEqual(readdir(dir.path + '/up'), ['data.bin'], 'something was written next to the local file');
    await check?.({ transfer, ms, emu, hits: hostile.hits });
  } finally {
    await engine?.close();
    await hostile.close();
    await emu.close();
    dir.cleanup();
  }
}

function readdir(p: string): string[] {
  return existsSync(p) ? readdirSync(p).sort() : [];
}

/** A per-file failure with a message a person can read, and nothing committed at the target. */
function failedClearly(o: Outcome, code: string | RegExp, message: RegExp): void {
  const t = o.transfer;
  assert.equal(t.state, 'failed', JSON.stringify(t));
  if (typeof code === 'string') assert.equal(t.error?.code, code, JSON.stringify(t.error));
  else assert.match(t.error?.code ?? '', code, JSON.stringify(t.error));
  assert.match(t.error?.message ?? '', message);
  assert.doesNotMatch(t.error?.message ?? '', /undefined|\[object Object\]|at .*\.(js|ts):\d+/);
  const committed = o.emu.file('cloudreve://my/target/data.bin') as { metadata?: Record<string, string> | null } | null;
  assert.ok(!committed || committed.metadata?.['sys:upload_session_id'], `a file was committed: ${JSON.stringify(committed)}`);
  assert.ok(o.ms < BOUND_MS);
}

describe('hostile servers: bad answers to the upload session', () => {
  it('a truncated JSON body (the connection ends before Content-Length)', async () => {
    await uploadThrough([{ method: 'PUT', path: new RegExp(SESSION), answer: rawAnswer('{"code":0,"data":{"session_id":"ab', { claim: 400 }) }], {}, (o) =>
      failedClearly(o, /network|bad-response|server-error/, /.+/),
    );
  });

  it('a body that is not JSON (an HTML error page with status 200)', async () => {
    await uploadThrough([{ method: 'PUT', path: new RegExp(SESSION), answer: rawAnswer('<html><body>Bad gateway</body></html>', { contentType: 'text/html' }) }], {}, (o) =>
      failedClearly(o, 'bad-response', /not JSON|JSON|unexpected/i),
    );
  });

  for (const [what, edit, msg] of [
    ['chunk_size is a string', (d: any) => (d.chunk_size = 'lots'), /chunk_size/],
    ['chunk_size is negative', (d: any) => (d.chunk_size = -1048576), /chunk_size/],
    ['session_id is a number', (d: any) => (d.session_id = 12345), /session_id/],
    ['expires is missing', (d: any) => delete d.expires, /expires/],
    ['upload_urls is a string', (d: any) => (d.upload_urls = 'http://127.0.0.1:1/'), /upload_urls/],
    ['the storage policy type is unknown', (d: any) => (d.storage_policy.type = 'ftp'), /policy type/],
  ] as const) {
    it(`wrong types in JSON fields: ${what}`, async () => {
      // the client retries an unreadable answer once; the session the server did open then holds the path, and
      // the file fails naming the unreadable answer (engine fix: the message used to blame "another upload")
      await uploadThrough([{ method: 'PUT', path: new RegExp(SESSION), answer: editJson((env) => (edit(env.data), env)) }], {}, (o) => {
        failedClearly(o, /bad-response|exists/, msg);
        assert.match(o.transfer.error!.message, /unreadable|malformed|bad|not a/i);
      });
    });
  }

  it('a chunk_size far larger than any file (2^52): one part is sent, the server refuses it, a clear per-file error', async () => {
    await uploadThrough([{ method: 'PUT', path: new RegExp(SESSION), answer: editJson((env) => ((env.data.chunk_size = 2 ** 52), env)) }], {}, (o) =>
      // the emulator still expects its own 64 KiB parts, so the single whole-file part is refused there
      failedClearly(o, 'invalid-chunk', /Content-Length/),
    );
  });

  it('a redirect loop: the session request is answered 302 to itself, forever', async () => {
    await uploadThrough(
      [{ method: 'PUT', path: new RegExp(SESSION), answer: (c) => {
            c.res.writeHead(302, { location: c.url.pathname, 'content-length': '0' });
            c.res.end();
          },
        },],
      {},
      (o) => {
        // redirects are never followed: the 302 is the answer, one request per attempt
        failedClearly(o, 'http-status', /HTTP 302/);
        assert.ok(o.hits[0] <= 3, `${o.hits[0]} requests`);
      },
    );
  });

  it('an enormous answer (40 MiB of JSON) is cut off at the answer cap with a clear error', async () => {
    const big = Buffer.alloc(40 * 1024 * 1024, 0x20);
    big.write('{"code":0,"data":{"x":"');
    await uploadThrough([{ method: 'PUT', path: new RegExp(SESSION), answer: rawAnswer(big) }], {}, (o) => failedClearly(o, /bad-response|too-large/, /large|MiB|bytes|cap/i));
  });

  it('a slow-loris answer (headers, then a byte every 400 ms) ends at the total deadline', async () => {
    await uploadThrough(
      [
        {
          method: 'PUT',
          path: new RegExp(SESSION),
          answer: (c) => {
            c.res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
            const t = setInterval(() => {
              if (c.res.destroyed) return clearInterval(t);
              c.res.write(' ');
            }, 400);
            c.res.on('close', () => clearInterval(t));
          },
        },
      ],
      {},
      (o) => failedClearly(o, 'timeout', /.+/),
    );
  });
});

describe('hostile servers: parts and storage URLs', () => {
  it('a part answered with a non-JSON body (status 200) fails the file clearly', async () => {
    await uploadThrough([{ method: 'POST', path: /^\/api\/v4\/file\/upload\/[^/]+\/\d+$/, answer: rawAnswer('OK', { contentType: 'text/plain' }) }], {}, (o) =>
      failedClearly(o, 'bad-response', /JSON|unexpected/i),
    );
  });

  const s3: EmulatorPolicy = { type: 's3', chunkSize: 5 * 1024 * 1024, chunkConcurrency: 2 };

  it('upload_urls count not matching the parts (s3: 2 URLs for 3 parts)', async () => {
    await uploadThrough([{ method: 'PUT', path: new RegExp(SESSION), answer: editJson((env) => ((env.data.upload_urls = env.data.upload_urls.slice(0, 2)), env)) }], { policy: s3, size: 11 * 1024 * 1024 }, (o) =>
      failedClearly(o, 'bad-response', /2 part URLs for 3 parts/),
    );
  });

  it('pre-signed URLs pointing elsewhere (another port): reached without master credentials, its refusal is a per-file error', async () => {
    const canary = await startCanary();
    try {
      await uploadThrough(
        [
          {
            method: 'PUT',
            path: new RegExp(SESSION),
            answer: editJson((env) => {
              env.data.upload_urls = env.data.upload_urls.map((u: string) => canary.url + new URL(u).pathname + new URL(u).search);
              return env;
            }),
          },
        ],
        { policy: s3, size: 100 * 1024 },
        (o) => {
          failedClearly(o, /storage|denied|forbidden|permission/, /denied|403/i);
          assert.ok(canary.requests.length >= 1);
          for (const r of canary.requests) {
            assert.equal(r.method, 'PUT');
            assert.ok(!Object.keys(r.headers).some((k) => /^x-cr-/i.test(k)), JSON.stringify(r.headers));
            assert.ok(!/^bearer\s+(?!cr\s)/i.test(String(r.headers.authorization ?? '')), 'the access token went elsewhere');
          }
        },
      );
    } finally {
      await canary.close();
    }
  });

  for (const scheme of ['file:///etc/passwd', 'ftp://127.0.0.1/x', 'data:text/plain,hello']) {
    it(`a pre-signed URL with a non-http(s) scheme (${scheme.split(':')[0]}) is refused before anything is sent`, async () => {
      await uploadThrough([{ method: 'PUT', path: new RegExp(SESSION), answer: editJson((env) => ((env.data.upload_urls = [scheme]), env)) }], { policy: s3, size: 100 * 1024 }, (o) =>
        failedClearly(o, /bad-response|exists/, /not an absolute http\(s\) URL/),
      );
    });
  }
});

describe('hostile servers: the login (a per-account error)', () => {
  for (const [what, answer, msg] of [
    ['non-JSON', rawAnswer('<html>hello</html>', { contentType: 'text/html' }), /JSON|not a Cloudreve|unexpected/i],
    ['truncated', rawAnswer('{"code":0,"data":{"user":', { claim: 300 }), /.+/],
    ['wrong types', editJson((env) => ((env.data.token = 'yes'), env)), /token|unexpected|bad|invalid/i],
  ] as const) {
    it(`a ${what} login answer fails the login with a clear error`, async () => {
      const emu = await startEmulator();
      const hostile = await startHostile(emu.url, [{ method: 'POST', path: /^\/api\/v4\/session\/token$/, answer }]);
      const dir = tmpDir('crs-hostile-');
      const engine = await createEngine({ home: join(dir.path, 'home'), retry: RETRY, timeouts: TIMEOUTS });
      try {
        const started = Date.now();
        await assert.rejects(engine.login(hostile.url, emu.email, emu.password), (err: unknown) => {
          assert.ok(err instanceof EngineError, String(err));
          assert.match(err.message, msg);
          assert.doesNotMatch(err.message, /undefined|\[object Object\]/);
          return true;
        });
        assert.ok(Date.now() - started < BOUND_MS);
        assert.equal(engine.account(), null);
      } finally {
        await engine.close();
        await hostile.close();
        await emu.close();
        dir.cleanup();
      }
    });
  }
});

describe('hostile servers: a folder listing with absurd sizes (a sync pass in mirror mode)', () => {
  for (const [what, edit] of [
    ['negative sizes', (f: any) => (f.size = -1)],
    ['sizes beyond 2^53', (f: any) => (f.size = 1e300)],
    ['sizes as strings', (f: any) => (f.size = '12')],
    ['names with a slash', (f: any) => (f.name = '../../escape.bin')],
  ] as const) {
    it(`${what}: the pass ends (an error or per-path problems), nothing is deleted on either side`, async () => {
      const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
      const token = (await login(emu)).access;
      const dir = tmpDir('crs-hostile-');
      const a = dir.random('local/a.bin', 1000);
      const b = dir.random('local/b.bin', 2000);
      for (const f of [a, b]) await uploadFile(emu, token, `cloudreve://my/r/${f.path.split('/').pop()}`, f.data);
      const hostile = await startHostile(emu.url, [{ method: 'GET', path: /^\/api\/v4\/file$/, answer: editJson((env) => (env.data.files.forEach(edit), env)) }]);
      const engine = await createEngine({ home: join(dir.path, 'home'), retry: RETRY, timeouts: TIMEOUTS });
      try {
        await engine.login(hostile.url, emu.email, emu.password);
        const started = Date.now();
        try {
          const r = await engine.sync.syncOnce({ localPath: join(dir.path, 'local'), remoteUri: 'cloudreve://my/r', mode: 'mirror' });
          assert.equal(r.deleted, 0);
        } catch (err) {
          assert.ok(err instanceof EngineError, String(err));
          assert.doesNotMatch(err.message, /undefined|\[object Object\]/);
        }
        assert.ok(Date.now() - started < BOUND_MS);
        assert.deepEqual(readFileSync(a.path), a.data);
        assert.deepEqual(readFileSync(b.path), b.data);
        assert.deepEqual(readdir(join(dir.path, 'local')), ['a.bin', 'b.bin']);
        for (const n of ['a.bin', 'b.bin']) assert.ok(emu.blob(`cloudreve://my/r/${n}`), `${n} is gone from the server`);
        assert.equal(emu.file('cloudreve://my/escape.bin'), null);
      } finally {
        await engine.close();
        await hostile.close();
        await emu.close();
        dir.cleanup();
      }
    });
  }
});

describe('a session the server opened but whose answer was lost (found by the soak)', () => {
  // The soak's longest run: a kill -9 between a session request and its answer left the server's session (and its
  // upload lock) behind; every later upload of the file failed (40073, or 40004 for a new file) until the server
  // expired it. A lost answer does the same without any kill. The engine now recognises such a session (not recorded,
  // our size, made after the transfer was queued), cancels it and starts again (upload-job.ts ownLostSessionAt).
  it('the upload still succeeds after the answer to its session request was lost', async () => {
    await uploadThrough(
      [
        {
          method: 'PUT',
          path: new RegExp(SESSION),
          times: 1,
          answer: async (c) => {
            await c.upstream(); // the server opens the session…
            c.res.destroy(); // …and its answer never arrives
          },
        },
      ],
      {},
      (o) => assert.equal(o.transfer.state, 'done', JSON.stringify(o.transfer.error)),
    );
  });
});
