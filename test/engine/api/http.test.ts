/**
 * The client against odd servers (tiny loopback servers written here): proxies answering HTML, gin's
 * 404 text, empty 500s, broken JSON, malformed data, v3 and foreign servers, refused ports, servers
 * that never answer. Also: headers sent, proactive/single-flight refresh, no secret in any message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { foreignHeaders, isMasterUrl, normalizeBaseUrl, retryAfterMs, MasterHttp } from '../../../main/engine/api/http.js';
import { EngineError, classify } from '../../../main/engine/errors.js';
import { CLIENT_ID, USER, refusedPort, sendJson, sendText, sleep, tokenPair, withServer } from './helpers.js';

const ok = (data?: unknown) => (data === undefined ? { code: 0, msg: '' } : { code: 0, data, msg: '' });

function client(url: string, extra: Partial<ConstructorParameters<typeof CloudreveClient>[0]> = {}) {
  return new CloudreveClient({ baseUrl: url, clientId: CLIENT_ID, tokens: tokenPair(3600, 86400), version: '4.18.0', ...extra });
}

async function rejects(p: Promise<unknown>, check: (e: EngineError) => void): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    check(err);
    return err;
  }
  assert.fail('expected a rejection');
}

test('base URL normalisation and the master-only guards', () => {
  assert.equal(normalizeBaseUrl('http://127.0.0.1:5212/'), 'http://127.0.0.1:5212');
  assert.equal(normalizeBaseUrl('https://h.example/cloud//?x=1#y'), 'https://h.example/cloud');
  assert.throws(() => normalizeBaseUrl('ftp://h'), (e: EngineError) => e.code === 'usage');
  assert.throws(() => normalizeBaseUrl('not a url'), (e: EngineError) => e.code === 'usage');
  assert.throws(() => normalizeBaseUrl('http://u:p@h'), (e: EngineError) => e.code === 'usage');
  assert.ok(isMasterUrl('http://h:1/cloud', 'http://h:1/cloud/api/v4/file'));
  assert.ok(!isMasterUrl('http://h:1/cloud', 'http://h:1/other/api'));
  assert.ok(!isMasterUrl('http://h:1', 'http://h:2/api/v4/file'));
  assert.ok(!isMasterUrl('http://h:1', 'https://s3.example/bucket?X-Amz-Signature=1'));
  assert.throws(() => foreignHeaders({ 'X-Cr-Client-Id': CLIENT_ID }), /X-Cr-Client-Id/);
  assert.throws(() => foreignHeaders({ Authorization: 'Bearer eyJabc.def.ghi' }), /access token/);
  assert.deepEqual(foreignHeaders({ Authorization: 'Bearer Cr sig:123', 'content-type': 'application/octet-stream' }), {
    Authorization: 'Bearer Cr sig:123',
    'content-type': 'application/octet-stream',
  });
  const http = new MasterHttp('http://127.0.0.1:1');
  assert.throws(() => http.urlFor('http://evil.example/api/v4/x'), (e: EngineError) => e.code === 'usage');
  assert.throws(() => http.urlFor('/api/v4/../../x'), (e: EngineError) => e.code === 'usage');
  assert.throws(() => http.urlFor('//evil.example/api'), (e: EngineError) => e.code === 'usage');
  http.close();
  assert.equal(retryAfterMs({ 'retry-after': '120' }), 120_000);
  assert.equal(retryAfterMs({ 'retry-after': new Date(Date.now() + 5000).toUTCString() }, Date.now()) !== undefined, true);
  assert.equal(retryAfterMs({}), undefined);
});

test('every master request carries X-Cr-Client-Id; the bearer only where it belongs', async () => {
  const pair = tokenPair(3600, 86400);
  await withServer(
    (req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/api/v4/session/token') return sendJson(res, ok({ user: USER, token: pair }));
      if (p === '/api/v4/session/token/refresh') return sendJson(res, ok(tokenPair(3600, 86400)));
      if (p === '/api/v4/user/me') return sendJson(res, ok(USER));
      sendJson(res, ok());
    },
    async (s) => {
      const c = new CloudreveClient({ baseUrl: s.url + '/', clientId: CLIENT_ID, version: '4.18.0' });
      await c.login('a@b.c', 'pw');
      await c.me();
      await c.refresh();
      await c.logout();
      assert.deepEqual(
        s.seen.map((r) => `${r.method} ${r.path}`),
        ['POST /api/v4/session/token', 'GET /api/v4/user/me', 'POST /api/v4/session/token/refresh', 'DELETE /api/v4/session/token'],
      );
      for (const r of s.seen) assert.equal(r.headers['x-cr-client-id'], CLIENT_ID);
      assert.equal(s.seen[0].headers.authorization, undefined, 'no bearer on login');
      assert.equal(s.seen[1].headers.authorization, `Bearer ${pair.access_token}`);
      assert.equal(s.seen[2].headers.authorization, undefined, 'no bearer on refresh');
      assert.deepEqual(JSON.parse(s.seen[2].body.toString()), { refresh_token: pair.refresh_token });
      c.close();
    },
  );
});

test('an HTML page from a proxy → bad-response naming the endpoint, with a short snippet', async () => {
  const html = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>' + 'x'.repeat(500) + '</body></html>';
  await withServer(
    (_req, res) => sendText(res, html, 200, 'text/html'),
    async (s) => {
      const c = client(s.url);
      const err = await rejects(c.me(), (e) => {
        assert.equal(e.code, 'bad-response');
        assert.match(e.message, /GET \/api\/v4\/user\/me answered a body that is not JSON: HTTP 200 \(text\/html\): "<!DOCTYPE html>/);
      });
      assert.ok(err.message.length < 300, 'snippet is short');
      assert.equal(classify(err), 'retry');
      c.close();
    },
  );
  await withServer(
    (_req, res) => sendText(res, html, 502, 'text/html'),
    async (s) => {
      const c = client(s.url);
      const err = await rejects(c.listPage('cloudreve://my'), (e) => {
        assert.equal(e.code, 'http-status');
        assert.equal(e.httpStatus, 502);
        assert.match(e.message, /^list cloudreve:\/\/my: GET \/api\/v4\/file answered HTTP 502/);
      });
      assert.equal(classify(err), 'retry');
      c.close();
    },
  );
});

test("gin's 404 text, an empty 500, broken JSON, JSON that is no envelope", async () => {
  const answers: Record<string, (res: import('node:http').ServerResponse) => void> = {
    '/api/v4/user/me': (res) => sendText(res, '404 page not found', 404),
    '/api/v4/user/capacity': (res) => {
      res.writeHead(500);
      res.end();
    },
    '/api/v4/file/info': (res) => sendText(res, '{"code":0,"data":{"type":0', 200, 'application/json'),
    '/api/v4/file': (res) => sendJson(res, { hello: 'world' }),
  };
  await withServer(
    (req, res) => answers[new URL(req.url!, 'http://x').pathname](res),
    async (s) => {
      const c = client(s.url);
      await rejects(c.me(), (e) => {
        assert.equal(e.code, 'http-status');
        assert.equal(e.httpStatus, 404);
        assert.match(e.message, /GET \/api\/v4\/user\/me answered HTTP 404 \(text\/plain\): "404 page not found"/);
        assert.equal(classify(e), 'fail-file');
      });
      await rejects(c.capacity(), (e) => {
        assert.equal(e.code, 'http-status');
        assert.equal(e.httpStatus, 500);
        assert.match(e.message, /HTTP 500 .*empty body/);
        assert.equal(classify(e), 'retry');
      });
      await rejects(c.info('cloudreve://my/a'), (e) => {
        assert.equal(e.code, 'bad-response');
        assert.match(e.message, /not JSON/);
      });
      await rejects(c.listPage('cloudreve://my'), (e) => {
        assert.equal(e.code, 'bad-response');
        assert.match(e.message, /JSON that is not a Cloudreve envelope/);
      });
      c.close();
    },
  );
});

test('malformed data inside a good envelope → bad-response', async () => {
  const data: Record<string, unknown> = {
    '/api/v4/session/token': { user: USER, token: { access_token: 'a', access_expires: '2030-01-01T00:00:00Z' } },
    '/api/v4/session/token/refresh': { access_token: 'a', refresh_token: 'r', access_expires: 'soon', refresh_expires: 'later' },
    '/api/v4/user/me': { id: 5, nickname: 'x' },
    '/api/v4/user/capacity': { total: '10', used: 1 },
    '/api/v4/file': { files: 'nope' },
    '/api/v4/file/info': { type: 7, name: 'a', path: 'cloudreve://my/a' },
    '/api/v4/file/upload': { session_id: 's', chunk_size: -1, expires: 1, storage_policy: { type: 'local' } },
    '/api/v4/file/url': { urls: [{ nope: 1 }] },
  };
  await withServer(
    (req, res) => sendJson(res, ok(data[new URL(req.url!, 'http://x').pathname])),
    async (s) => {
      const c = client(s.url);
      const bad = (e: EngineError) => assert.equal(e.code, 'bad-response', e.message);
      await rejects(c.login('a@b.c', 'pw'), bad);
      await rejects(c.refresh(), bad);
      await rejects(c.me(), bad);
      await rejects(c.capacity(), bad);
      await rejects(c.listPage('cloudreve://my'), bad);
      await rejects(c.info('cloudreve://my/a'), bad);
      await rejects(c.createUploadSession({ uri: 'cloudreve://my/a', size: 1 }), bad);
      await rejects(c.downloadUrl(['cloudreve://my/a']), bad);
      c.close();
    },
  );
  // Upload session details the engine relies on.
  const sessions: unknown[] = [
    { session_id: 's', chunk_size: 10, expires: 1, storage_policy: { type: 'ftp' }, uri: 'u', callback_secret: 'x' },
    { session_id: 's', chunk_size: 10, expires: 1, storage_policy: { type: 'local' }, upload_urls: [1, 2] },
    { session_id: 's', chunk_size: 10, expires: 1, storage_policy: { type: 'local' }, encrypt_metadata: { algorithm: 'aes-256-ctr', key_plain_text: 'c2hvcnQ=', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' } },
    { session_id: 's', chunk_size: 10, expires: 1, storage_policy: { type: 'local' }, encrypt_metadata: { algorithm: 'aes-256-gcm', key_plain_text: '', iv: '' } },
  ];
  let i = 0;
  await withServer(
    (_req, res) => sendJson(res, ok(sessions[i++])),
    async (s) => {
      const c = client(s.url);
      for (let k = 0; k < sessions.length; k++) await rejects(c.createUploadSession({ uri: 'cloudreve://my/a', size: 1 }), (e) => assert.equal(e.code, 'bad-response'));
      c.close();
    },
  );
});

test('detect: v4, Pro, v3, foreign HTML, nginx 404, JSON of something else, 5xx', async () => {
  const cases: Array<{ v4: (res: import('node:http').ServerResponse) => void; v3?: (res: import('node:http').ServerResponse) => void; expect: string | RegExp }> = [
    { v4: (res) => sendJson(res, ok('4.18.0')), expect: '4.18.0' },
    { v4: (res) => sendJson(res, ok('4.12.1-pro')), expect: '4.12.1-pro' },
    { v4: (res) => sendText(res, '404 page not found', 404), v3: (res) => sendJson(res, ok('3.8.3')), expect: /unsupported-version.*Cloudreve 3\.8\.3.*Cloudreve 3\.x is not supported/ },
    { v4: (res) => sendJson(res, ok('3.9.0')), expect: /unsupported-version/ },
    { v4: (res) => sendText(res, '<html><body>My homepage</body></html>', 200, 'text/html'), v3: (res) => sendText(res, '<html></html>', 200, 'text/html'), expect: /not-cloudreve.*does not look like a Cloudreve v4 server.*My homepage/ },
    { v4: (res) => sendText(res, '<html>404 Not Found</html>', 404, 'text/html'), v3: (res) => sendText(res, '<html>404</html>', 404, 'text/html'), expect: /not-cloudreve.*HTTP 404/ },
    { v4: (res) => sendJson(res, { status: 'ok' }), v3: (res) => sendJson(res, { status: 'ok' }), expect: /not-cloudreve/ },
    { v4: (res) => sendText(res, 'upstream down', 503), expect: /http-status.*HTTP 503/ },
  ];
  for (const c of cases) {
    await withServer(
      (req, res) => {
        const p = new URL(req.url!, 'http://x').pathname;
        if (p === '/api/v4/site/ping') return c.v4(res);
        if (p === '/api/v3/site/ping' && c.v3) return c.v3(res);
        sendText(res, '404 page not found', 404);
      },
      async (s) => {
        try {
          const r = await CloudreveClient.detect(s.url);
          assert.equal(r.version, c.expect);
          assert.equal(r.pro, r.version.endsWith('-pro'));
        } catch (err) {
          assert.ok(err instanceof EngineError, String(err));
          assert.ok(c.expect instanceof RegExp, `unexpected failure ${err.message}`);
          assert.match(`${err.code} ${err.message}`, c.expect);
          assert.equal(classify(err), err.code === 'http-status' ? 'retry' : 'stop');
        }
        assert.equal(s.seen[0].headers.authorization, undefined);
      },
    );
  }
});

test('a refused connection → network "cannot reach host: ECONNREFUSED" (retry)', async () => {
  const port = await refusedPort();
  await rejects(CloudreveClient.detect(`http://127.0.0.1:${port}`), (e) => {
    assert.equal(e.code, 'network');
    assert.equal(e.message, `detect server: cannot reach 127.0.0.1:${port}: ECONNREFUSED`);
    assert.equal(classify(e), 'retry');
  });
  const c = client(`http://127.0.0.1:${port}`);
  await rejects(c.me(), (e) => {
    assert.equal(e.code, 'network');
    assert.match(e.message, /^get user: cannot reach 127\.0\.0\.1:\d+: ECONNREFUSED$/);
  });
  c.close();
});

test('https:// to a plain HTTP server says the TLS handshake failed and asks about the scheme; an untrusted certificate names NODE_EXTRA_CA_CERTS', async () => {
  await withServer(
    (_req, res) => sendJson(res, ok()),
    async (srv) => {
      const tls = srv.url.replace('http://', 'https://');
      await rejects(CloudreveClient.detect(tls), (e) => {
        assert.equal(e.code, 'network');
        assert.match(e.message, /^detect server: the TLS handshake with 127\.0\.0\.1:\d+ failed \((EPROTO|ERR_SSL_[A-Z_]+)\): is it an https:\/\/ server, or should the address start with http:\/\/\?$/);
      });
    },
  );
  const { transportError } = await import('../../../main/engine/api/http.js');
  const e = transportError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), { op: 'detect server', endpoint: 'GET /api/v4/site/ping', host: 'nas.local' });
  assert.equal(e.message, "detect server: nas.local's certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT); a private CA can be added with NODE_EXTRA_CA_CERTS");
});

test('a server that never answers → timeout (retry); a reset mid-request → network', async () => {
  await withServer(
    () => {
      /* never answer */
    },
    async (s) => {
      const c = client(s.url, { timeouts: { responseMs: 300, idleMs: 300 } });
      const t0 = Date.now();
      await rejects(c.me(), (e) => {
        assert.equal(e.code, 'timeout');
        assert.match(e.message, /^get user: timed out waiting for 127\.0\.0\.1:\d+/);
        assert.equal(classify(e), 'retry');
      });
      assert.ok(Date.now() - t0 < 5000);
      await rejects(CloudreveClient.detect(s.url, { timeouts: { responseMs: 300, idleMs: 300 } }), (e) => assert.equal(e.code, 'timeout'));
      c.close();
    },
  );
  await withServer(
    (req) => {
      req.socket.destroy();
    },
    async (s) => {
      const c = client(s.url);
      await rejects(c.me(), (e) => {
        assert.equal(e.code, 'network');
        assert.match(e.message, /ECONNRESET|socket hang up|failed/);
        assert.equal(classify(e), 'retry');
      });
      c.close();
    },
  );
});

test('Retry-After → retryAfterMs; correlation id and server code carried', async () => {
  await withServer(
    (req, res) => {
      if (req.url!.startsWith('/api/v4/user/me')) return sendText(res, 'busy', 503, 'text/plain', { 'retry-after': '7' });
      sendJson(res, { code: 50001, msg: 'Database error', correlation_id: 'c0ffee00-0000-4000-8000-000000000000' }, 200, { 'retry-after': '2' });
    },
    async (s) => {
      const c = client(s.url);
      await rejects(c.me(), (e) => {
        assert.equal(e.retryAfterMs, 7000);
        assert.equal(classify(e), 'retry');
      });
      await rejects(c.capacity(), (e) => {
        assert.equal(e.code, 'server');
        assert.equal(e.serverCode, 50001);
        assert.equal(e.correlationId, 'c0ffee00-0000-4000-8000-000000000000');
        assert.equal(e.retryAfterMs, 2000);
        assert.equal(e.message, 'get capacity: Database error (code 50001)');
        assert.equal(classify(e), 'retry');
      });
      c.close();
    },
  );
});

test('40081 aggregated errors are unwrapped for one URI and summarised for many', async () => {
  let n = 0;
  await withServer(
    (_req, res) => {
      n++;
      if (n === 1) return sendJson(res, { code: 40081, msg: 'Object existed', aggregated_error: { 'cloudreve://my/a': { code: 40004, msg: 'Object existed' } } });
      sendJson(res, {
        code: 40081,
        msg: 'One or more operation failed',
        aggregated_error: { 'cloudreve://my/a': { code: 40004, msg: 'Object existed' }, 'cloudreve://my/b': { code: 40016, msg: 'Path not exist' } },
      });
    },
    async (s) => {
      const c = client(s.url);
      await rejects(c.move(['cloudreve://my/a'], 'cloudreve://my/d'), (e) => {
        assert.equal(e.code, 'exists');
        assert.equal(e.serverCode, 40004);
        assert.match(e.message, /cloudreve:\/\/my\/a: Object existed \(code 40004\)/);
      });
      await rejects(c.delete(['cloudreve://my/a', 'cloudreve://my/b']), (e) => {
        assert.equal(e.code, 'api');
        assert.equal(e.serverCode, 40081);
        assert.equal((e.data as { errors: unknown[] }).errors.length, 2);
      });
      c.close();
    },
  );
});

test('proactive refresh is single-flight: 10 concurrent calls → 1 refresh request', async () => {
  let refreshes = 0;
  await withServer(
    async (req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/api/v4/session/token/refresh') {
        refreshes++;
        await sleep(100); // keep it in flight while the others arrive
        return sendJson(res, ok(tokenPair(3600, 86400)));
      }
      sendJson(res, ok(USER));
    },
    async (s) => {
      const persisted: unknown[] = [];
      // a 1 h access token with 5 min left (< 10 min margin): every caller must wait for one refresh
      const c = client(s.url, { tokens: tokenPair(300, 86400), onTokens: (t) => persisted.push(t) });
      const old = c.tokens()!.access_token;
      const users = await Promise.all(Array.from({ length: 10 }, () => c.me()));
      assert.equal(users.length, 10);
      assert.equal(refreshes, 1);
      assert.equal(persisted.length, 1);
      const mes = s.seen.filter((r) => r.path === '/api/v4/user/me');
      assert.equal(mes.length, 10);
      for (const r of mes) assert.equal(r.headers.authorization, `Bearer ${c.tokens()!.access_token}`);
      assert.notEqual(c.tokens()!.access_token, old);
      // fresh now: no more refreshes
      await c.me();
      assert.equal(refreshes, 1);
      c.close();
    },
  );
});

test('refresh token (nearly) expired → login-required without asking the server; refused refresh → login-required', async () => {
  await withServer(
    (req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/api/v4/session/token/refresh') return sendJson(res, { code: 40020, msg: 'Failed to issue token pair' });
      sendJson(res, ok(USER));
    },
    async (s) => {
      const c = client(s.url, { tokens: tokenPair(60, 120) }); // 14-day refresh token with 2 min left
      await rejects(c.me(), (e) => {
        assert.equal(e.code, 'login-required');
        assert.equal(classify(e), 'stop');
      });
      assert.equal(s.seen.length, 0, 'nothing sent');
      const d = client(s.url, { tokens: tokenPair(60, 86400) });
      await rejects(d.me(), (e) => {
        assert.equal(e.code, 'login-required');
        assert.equal(e.serverCode, 40020);
        assert.match(e.message, /log in again/);
        assert.equal(classify(e), 'stop');
      });
      const none = client(s.url, { tokens: null });
      await rejects(none.me(), (e) => assert.equal(e.code, 'login-required'));
      c.close();
      d.close();
      none.close();
    },
  );
});

test('code 401 on a token we thought valid → one refresh and one re-send', async () => {
  let mes = 0;
  let refreshes = 0;
  await withServer(
    (req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/api/v4/session/token/refresh') {
        refreshes++;
        return sendJson(res, ok(tokenPair(3600, 86400)));
      }
      mes++;
      if (mes === 1) return sendJson(res, { code: 401, msg: 'Login required' });
      sendJson(res, ok(USER));
    },
    async (s) => {
      const c = client(s.url);
      const u = await c.me();
      assert.equal(u.id, USER.id);
      assert.equal(refreshes, 1);
      assert.equal(mes, 2);
      c.close();
    },
  );
  // A server that keeps saying 401 → login-required, no loop.
  await withServer(
    (req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/api/v4/session/token/refresh') return sendJson(res, ok(tokenPair(3600, 86400)));
      sendJson(res, { code: 401, msg: 'Login required' });
    },
    async (s) => {
      const c = client(s.url);
      await rejects(c.me(), (e) => assert.equal(e.code, 'login-required'));
      assert.equal(s.seen.filter((r) => r.path === '/api/v4/user/me').length, 2);
      c.close();
    },
  );
});

test('uploadChunk streams with the exact Content-Length, reports progress, no retry inside', async () => {
  const size = 3 * 1024 * 1024 + 17;
  await withServer(
    (req, res, body) => {
      if (Number(req.headers['content-length']) !== body.length) return sendJson(res, { code: 40013, msg: `Invalid Content-Length (expected: ${req.headers['content-length']})` });
      sendJson(res, ok());
    },
    async (s) => {
      const c = client(s.url);
      const progress: number[] = [];
      const data = Buffer.alloc(size, 7);
      async function* gen() {
        for (let o = 0; o < size; o += 65536) yield data.subarray(o, Math.min(size, o + 65536));
      }
      await c.uploadChunk('sess-1', 3, Readable.from(gen()), size, { onProgress: (n) => progress.push(n) });
      const r = s.seen[0];
      assert.equal(r.method, 'POST');
      assert.equal(r.path, '/api/v4/file/upload/sess-1/3');
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      assert.equal(r.headers['content-length'], String(size));
      assert.equal(r.headers['transfer-encoding'], undefined);
      assert.equal(r.headers['x-cr-client-id'], CLIENT_ID);
      assert.match(String(r.headers.authorization), /^Bearer /);
      assert.equal(r.body.length, size);
      assert.equal(progress[progress.length - 1], size);
      // Buffer body with a wrong length is refused before anything is sent
      await rejects(c.uploadChunk('sess-1', 0, Buffer.alloc(10), 11), (e) => assert.equal(e.code, 'usage'));
      assert.equal(s.seen.length, 1);
      c.close();
    },
  );
  // Server error on a chunk: one request, typed error.
  await withServer(
    (_req, res) => sendJson(res, { code: 40011, msg: 'Upload session expired or not exist' }),
    async (s) => {
      const c = client(s.url);
      await rejects(c.uploadChunk('gone', 0, Buffer.alloc(4), 4), (e) => {
        assert.equal(e.code, 'session-expired');
        assert.equal(e.message, 'upload chunk 0: Upload session expired or not exist (code 40011)');
      });
      assert.equal(s.seen.length, 1, 'no retry inside the client');
      c.close();
    },
  );
});

test('uploadChunk: a server answering before reading the body (Go closes after 256 KiB) → its envelope; the body is released', async () => {
  await withServer(
    (req, res) => {
      const body = JSON.stringify({ code: 40011, msg: 'Upload session expired or not exist' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'close' });
      res.end(body, () => setTimeout(() => req.socket.destroy(), 5));
    },
    async (s) => {
      const c = client(s.url);
      const size = 64 << 20;
      let produced = 0;
      const body = new Readable({
        read() {
          if (produced >= size) return void this.push(null);
          produced += 1 << 20;
          this.push(Buffer.alloc(1 << 20));
        },
      });
      await rejects(c.uploadChunk('s', 0, body, size), (e) => assert.equal(e.code, 'session-expired'));
      assert.ok(body.destroyed, 'rest of the body released');
      assert.ok(produced < size, 'did not read the whole body');
      c.close();
    },
    { readBody: false },
  );
});

test('uploadChunk: abort → cancelled; a failing body stream → its own error', async () => {
  await withServer(
    () => {
      /* hold the request open */
    },
    async (s) => {
      const c = client(s.url);
      const ac = new AbortController();
      const body = new Readable({ read() {} });
      body.push(Buffer.alloc(1024));
      setTimeout(() => ac.abort(), 100);
      await rejects(c.uploadChunk('x', 0, body, 1 << 20, { signal: ac.signal }), (e) => {
        assert.equal(e.code, 'cancelled');
      });
      const failing = new Readable({
        read() {
          this.destroy(new EngineError('file-changed', 'a.bin changed while uploading'));
        },
      });
      await rejects(c.uploadChunk('x', 0, failing, 100), (e) => assert.equal(e.code, 'file-changed'));
      const enoent = new Readable({
        read() {
          this.destroy(Object.assign(new Error('gone'), { code: 'ENOENT' }));
        },
      });
      await rejects(c.uploadChunk('x', 0, enoent, 100), (e) => {
        assert.equal(e.code, 'local-io');
        assert.match(e.message, /ENOENT/);
      });
      c.close();
    },
  );
});

test('uploadCallback: GET for s3/ks3/cos, POST for onedrive; 401/400 envelopes typed; secret never shown', async () => {
  const secret = 'CbSecret0123456789abcdefghijklmn';
  const answers = [
    (res: import('node:http').ServerResponse) => sendJson(res, ok()),
    (res: import('node:http').ServerResponse) => sendJson(res, ok()),
    (res: import('node:http').ServerResponse) => sendJson(res, { code: 40011, msg: 'Upload session expired or not exist' }, 401),
    (res: import('node:http').ServerResponse) => sendJson(res, { code: 40055, msg: 'File size not match' }, 400),
    (res: import('node:http').ServerResponse) => sendJson(res, { code: 40020, msg: 'invalid secret ' + secret }, 401),
    (res: import('node:http').ServerResponse) => sendText(res, `<html>${secret}</html>`, 502, 'text/html'),
  ];
  let i = 0;
  await withServer(
    (_req, res) => answers[i++](res),
    async (s) => {
      const c = client(s.url);
      await c.uploadCallback('s3', 'sid-1', secret);
      await c.uploadCallback('onedrive', 'sid-1', secret);
      assert.deepEqual(
        s.seen.map((r) => `${r.method} ${r.path}`),
        [`GET /api/v4/callback/s3/sid-1/${secret}`, `POST /api/v4/callback/onedrive/sid-1/${secret}`],
      );
      const errs: EngineError[] = [];
      errs.push(await rejects(c.uploadCallback('cos', 'sid-1', secret), (e) => {
        assert.equal(e.code, 'session-expired');
        assert.equal(e.httpStatus, 401);
      }));
      errs.push(await rejects(c.uploadCallback('ks3', 'sid-1', secret), (e) => {
        assert.equal(e.code, 'size-mismatch');
        assert.equal(e.httpStatus, 400);
      }));
      errs.push(await rejects(c.uploadCallback('s3', 'sid-1', secret), (e) => assert.equal(e.code, 'session-expired')));
      errs.push(await rejects(c.uploadCallback('s3', 'sid-1', secret), (e) => assert.equal(e.code, 'http-status')));
      for (const e of errs) assert.ok(!e.message.includes(secret) && !JSON.stringify(e).includes(secret), e.message);
      c.close();
    },
  );
  const port = await refusedPort();
  const c = client(`http://127.0.0.1:${port}`);
  await rejects(c.uploadCallback('s3', 'sid-1', secret), (e) => assert.ok(!e.message.includes(secret)));
  c.close();
});

test('no token, password or signed URL appears in any error message', async () => {
  const password = 'Pa55-w0rd-SECRET';
  const pair = tokenPair(300, 86400);
  const fresh = tokenPair(3600, 86400);
  const signed = 'http://127.0.0.1:1/api/v4/file/content/abc/0/a.txt?sign=SIGNATURE123:1799999999';
  await withServer(
    (req, res, body) => {
      const p = new URL(req.url!, 'http://x').pathname;
      const text = body.toString();
      // a hostile/buggy server echoing everything it got back
      const echo = `${req.headers.authorization ?? ''} ${text} ${signed}`;
      if (p === '/api/v4/session/token') return sendJson(res, { code: 40080, msg: `Incorrect password or email address: ${echo}` });
      if (p === '/api/v4/session/token/refresh') return sendJson(res, { code: 40020, msg: `bad refresh ${echo}` });
      if (p === '/api/v4/user/me') return sendText(res, `<html>${echo}</html>`, 200, 'text/html');
      if (p === '/api/v4/file/url') return sendJson(res, { code: 50002, msg: `oops ${signed} ${echo}` });
      sendText(res, `oops ${echo}`, 500);
    },
    async (s) => {
      const msgs: string[] = [];
      const collect = async (p: Promise<unknown>) => {
        try {
          await p;
        } catch (err) {
          msgs.push((err as Error).message, JSON.stringify(err), String((err as Error).stack ?? ''));
        }
      };
      const c = new CloudreveClient({ baseUrl: s.url, clientId: CLIENT_ID, version: '4.18.0' });
      await collect(c.login('a@b.c', password));
      const d = client(s.url, { tokens: fresh });
      await collect(d.me());
      await collect(d.downloadUrl(['cloudreve://my/a']));
      await collect(d.capacity());
      const e = client(s.url, { tokens: pair });
      await collect(e.me());
      assert.equal(msgs.length, 15);
      for (const m of msgs) {
        for (const secret of [password, pair.access_token, pair.refresh_token, fresh.access_token, 'SIGNATURE123']) {
          assert.ok(!m.includes(secret), `secret leaked in: ${m}`);
        }
      }
      c.close();
      d.close();
      e.close();
    },
  );
});

test('logout clears the tokens even when the server is gone', async () => {
  const port = await refusedPort();
  const seen: unknown[] = [];
  const c = client(`http://127.0.0.1:${port}`, { onTokens: (t) => seen.push(t) });
  await c.logout();
  assert.equal(c.tokens(), null);
  assert.deepEqual(seen, [null]);
  await rejects(c.me(), (e) => assert.equal(e.code, 'login-required'));
  c.close();
});

test('list(): repeated page token is detected; page-number servers are followed', async () => {
  const f = (name: string) => ({ type: 0, id: name, name, path: `cloudreve://my/${name}`, size: 1, created_at: '', updated_at: '', metadata: null });
  await withServer(
    (_req, res) => sendJson(res, ok({ files: [f('a')], pagination: { page: 0, page_size: 1, next_token: 'same', is_cursor: true }, props: { max_page_size: 2000 } })),
    async (s) => {
      const c = client(s.url);
      const got: string[] = [];
      await rejects(
        (async () => {
          for await (const x of c.list('cloudreve://my')) got.push(x.name);
        })(),
        (e) => {
          assert.equal(e.code, 'bad-response');
          assert.match(e.message, /repeated a page token/);
        },
      );
      assert.equal(s.seen.length, 2);
      c.close();
    },
  );
  await withServer(
    (req, res) => {
      const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '0');
      const files = page < 2 ? [f(`p${page}a`), f(`p${page}b`)] : [f('p2a')];
      sendJson(res, ok({ files, pagination: { page, page_size: 2, total_items: 5 }, props: { max_page_size: 2 } }));
    },
    async (s) => {
      const c = client(s.url);
      const all = await c.listAll('cloudreve://my', { pageSize: 2 });
      assert.deepEqual(all.map((x) => x.name), ['p0a', 'p0b', 'p1a', 'p1b', 'p2a']);
      assert.equal(s.seen.length, 3);
      c.close();
    },
  );
});

test('events(): SSE stream, abort ends quietly; old servers and 40019 → unsupported-feature', async () => {
  await withServer(
    (req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/api/v4/site/ping') return sendJson(res, ok('4.11.0'));
      if (req.headers.accept !== 'text/event-stream') return sendJson(res, { code: 40001, msg: 'bad accept' });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: subscribed\ndata: {}\n\n');
      res.write('event: event\ndata: {"type":"create","file_id":"x1","from":"/a.txt"}\n\n');
      res.write('event: keep-alive\ndata: \n\n');
    },
    async (s) => {
      const c = client(s.url, { version: undefined });
      const ac = new AbortController();
      const got: Array<{ event: string; data: unknown }> = [];
      for await (const ev of c.events('cloudreve://my/sync', { signal: ac.signal })) {
        got.push(ev);
        if (got.length === 3) ac.abort();
      }
      assert.deepEqual(got, [
        { event: 'subscribed', data: {} },
        { event: 'event', data: { type: 'create', file_id: 'x1', from: '/a.txt' } },
        { event: 'keep-alive', data: '' },
      ]);
      const req = s.seen.find((r) => r.path === '/api/v4/file/events')!;
      assert.equal(req.query.get('uri'), 'cloudreve://my/sync');
      assert.equal(req.headers['x-cr-client-id'], CLIENT_ID);
      assert.match(String(req.headers.authorization), /^Bearer /);
      assert.equal(c.serverVersion(), '4.11.0');
      c.close();
    },
  );
  await withServer(
    (_req, res) => sendJson(res, { code: 40019, msg: 'Feature not enabled' }),
    async (s) => {
      const c = client(s.url);
      await rejects(
        (async () => {
          for await (const _ of c.events('cloudreve://my', { signal: new AbortController().signal })) void _;
        })(),
        (e) => assert.equal(e.code, 'unsupported-feature'),
      );
      const old = client(s.url, { version: '4.10.2' });
      await rejects(
        (async () => {
          for await (const _ of old.events('cloudreve://my', { signal: new AbortController().signal })) void _;
        })(),
        (e) => {
          assert.equal(e.code, 'unsupported-feature');
          assert.match(e.message, /4\.11\.0 or newer \(server runs 4\.10\.2\)/);
        },
      );
      assert.equal(s.seen.length, 1, 'the old server was not asked');
      c.close();
      old.close();
    },
  );
});

test('features() follows the known version and ensureVersion() pings once', async () => {
  await withServer(
    (_req, res) => sendJson(res, ok('4.10.0')),
    async (s) => {
      const c = client(s.url, { version: undefined });
      assert.equal(c.features().encryption, false, 'unknown version: gates closed');
      const [a, b] = await Promise.all([c.ensureVersion(), c.ensureVersion()]);
      assert.equal(a, '4.10.0');
      assert.equal(b, '4.10.0');
      assert.equal(s.seen.length, 1);
      assert.deepEqual(c.features(), { chunkConcurrency: true, encryption: true, events: false, oauth: false, allChunksRule: false });
      c.close();
    },
  );
});
