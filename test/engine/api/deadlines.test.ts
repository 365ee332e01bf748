/**
 * Limits that end a request with a clear error instead of a hang: small API calls have a total deadline and a
 * size cap (a server that trickles its answer cannot keep `login` waiting), while transfer bodies (chunks to the
 * master, parts to storage nodes) are judged by progress only: slow is fine, stalled is not. Messages show the
 * request path as it went out, with the site's base path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { EngineError, classify } from '../../../main/engine/errors.js';
import { storageContext, storageRequest } from '../../../main/engine/adapters/storage-http.js';
import { CLIENT_ID, sendJson, sendText, tokenPair, withServer } from './helpers.js';

function client(url: string, extra: Partial<ConstructorParameters<typeof CloudreveClient>[0]> = {}) {
  return new CloudreveClient({ baseUrl: url, clientId: CLIENT_ID, tokens: tokenPair(3600, 86400), version: '4.18.0', ...extra });
}

async function failure(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected a rejection');
}

/** Headers at once, then one byte every 100 ms, never finishing (bounded: stops after 30 s or when the client leaves). */
function trickle(_req: unknown, res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{');
  let n = 0;
  const t = setInterval(() => {
    if (res.destroyed || ++n > 300) {
      clearInterval(t);
      res.destroy();
      return;
    }
    res.write(' ');
  }, 100);
  res.on('close', () => clearInterval(t));
}

test('a server that sends its headers and then one byte at a time cannot keep login (or detect) waiting', async () => {
  await withServer(trickle, async (s) => {
    const c = client(s.url, { tokens: null, timeouts: { totalMs: 800 } });
    const t0 = Date.now();
    const e = await failure(c.login('a@b.c', 'secret-password'));
    const took = Date.now() - t0;
    assert.equal(e.code, 'timeout');
    assert.equal(classify(e), 'retry');
    assert.match(e.message, /^login: POST \/api\/v4\/session\/token on 127\.0\.0\.1:\d+ did not answer completely within 0\.8 s$/);
    assert.ok(took >= 700 && took < 5000, `gave up after ${took} ms`);
    assert.ok(!e.message.includes('secret-password'));
    const d = await failure(CloudreveClient.detect(s.url, { timeouts: { totalMs: 600 } }));
    assert.equal(d.code, 'timeout');
    assert.match(d.message, /GET \/api\/v4\/site\/ping .*within 0\.6 s/);
    c.close();
  });
});

test('an API answer larger than the cap is refused with a clear error (with and without Content-Length)', async () => {
  const big = JSON.stringify({ code: 0, msg: '', data: { pad: 'x'.repeat(300_000) } });
  await withServer(
    (req, res) => {
      if (req.url!.includes('capacity')) {
        // chunked: no Content-Length to judge by up front
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < big.length; i += 16_384) res.write(big.slice(i, i + 16_384));
        res.end();
        return;
      }
      sendText(res, big, 200, 'application/json');
    },
    async (s) => {
      const c = client(s.url, { maxResponseBytes: 100_000 });
      for (const call of [() => c.me(), () => c.capacity()]) {
        const e = await failure(call());
        assert.equal(e.code, 'bad-response');
        assert.match(e.message, /answered more than 100000 bytes \(the limit for an API answer\); not reading further$/);
      }
      // under the cap the same answers are read (and judged as usual)
      const ok = client(s.url, { maxResponseBytes: 1_000_000 });
      const e = await failure(ok.me());
      assert.notEqual(e.code, 'timeout');
      assert.doesNotMatch(e.message, /not reading further/);
      c.close();
      ok.close();
    },
  );
});

test('a chunk to the master is judged by progress: slower than the total deadline is fine, a stall ends it', async () => {
  await withServer(
    (_req, res) => sendJson(res, { code: 0, msg: '' }),
    async (s) => {
      const c = client(s.url, { timeouts: { totalMs: 300, idleMs: 700 } });
      // 16 pieces, one every 100 ms: 1.6 s in all, more than twice the total deadline of a small call
      const slow = Readable.from(
        (async function* () {
          for (let i = 0; i < 16; i++) {
            await new Promise((r) => setTimeout(r, 100));
            yield Buffer.alloc(4096, i);
          }
        })(),
      );
      await c.uploadChunk('sess', 0, slow, 16 * 4096);
      assert.equal(s.seen.at(-1)!.body.length, 16 * 4096);
      // the same body stalling after its first piece: "no progress" after the idle limit, not a hang
      const stalled = new Readable({ read() {} });
      stalled.push(Buffer.alloc(4096));
      const t0 = Date.now();
      const e = await failure(c.uploadChunk('sess', 1, stalled, 16 * 4096));
      assert.equal(e.code, 'timeout');
      assert.match(e.message, /^upload chunk 1: no progress for 0\.7 s on POST \/api\/v4\/file\/upload\/sess\/1/);
      assert.ok(Date.now() - t0 < 5000);
      c.close();
    },
  );
});

test('a part to a storage node is judged by progress: a slow part succeeds, a stalled one fails after idleMs', async () => {
  await withServer(
    (_req, res) => sendJson(res, { code: 0, msg: '' }),
    async (s) => {
      const url = `${s.url}/api/v4/slave/upload/sess?chunk=0`;
      const ctx = storageContext('upload part 0', 'POST', url);
      const slow = Readable.from(
        (async function* () {
          for (let i = 0; i < 12; i++) {
            await new Promise((r) => setTimeout(r, 100));
            yield Buffer.alloc(8192, i);
          }
        })(),
      );
      // 1.2 s in all, three times the idle limit: fine, bytes keep moving
      const raw = await storageRequest('POST', url, ctx, { body: slow, length: 12 * 8192, timeouts: { idleMs: 400 } });
      assert.equal(raw.status, 200);
      assert.equal(s.seen.at(-1)!.body.length, 12 * 8192);

      const stalled = new Readable({ read() {} });
      stalled.push(Buffer.alloc(8192));
      const t0 = Date.now();
      const e = await failure(storageRequest('POST', url, ctx, { body: stalled, length: 12 * 8192, timeouts: { idleMs: 400 } }));
      assert.equal(e.code, 'timeout');
      assert.equal(classify(e), 'retry');
      assert.match(e.message, /^upload part 0: no progress for 0\.4 s on POST http:\/\/127\.0\.0\.1:\d+\/api\/v4\/slave\/upload\/sess \(127\.0\.0\.1:\d+\)$/);
      assert.ok(Date.now() - t0 < 5000, `stall noticed after ${Date.now() - t0} ms`);
    },
  );
});

test('with a server URL that has a path, messages show the real request path', async () => {
  await withServer(
    (_req, res) => sendText(res, '404 page not found', 404),
    async (s) => {
      const c = client(`${s.url}/cloud/`);
      const e = await failure(c.me());
      assert.match(e.message, /GET \/cloud\/api\/v4\/user\/me answered HTTP 404/);
      assert.equal(s.seen[0].path, '/cloud/api/v4/user/me');
      const d = await failure(CloudreveClient.detect(`${s.url}/cloud`));
      assert.match(d.message, /GET \/cloud\/api\/v4\/site\/ping answered/);
      assert.doesNotMatch(d.message, / GET \/api\/v4/);
      c.close();
    },
  );
});
