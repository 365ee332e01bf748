/**
 * CloudreveClient against the Cloudreve v4 emulator (test/emulator): every call's happy path and its
 * documented errors, token refresh and expiry, 2FA, pagination past 2,000 entries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { CloudreveClient, type ClientOptions } from '../../../main/engine/api/client.js';
import type { TokenPair } from '../../../main/engine/api/types.js';
import { EngineError, classify } from '../../../main/engine/errors.js';
import { startEmulator, totp, type Emulator } from '../../emulator/index.js';
import { CLIENT_ID, sleep, startCountingProxy } from './helpers.js';

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

async function loggedIn(emu: Emulator, extra: Partial<ClientOptions> = {}, url = emu.url): Promise<CloudreveClient> {
  const c = new CloudreveClient({ baseUrl: url, clientId: CLIENT_ID, ...extra });
  await c.login(emu.email, emu.password);
  return c;
}

describe('against the emulator (default settings)', () => {
  let emu: Emulator;
  let c: CloudreveClient;
  before(async () => {
    emu = await startEmulator({ quota: 64 * 1024 * 1024, policy: { type: 'local', chunkSize: 1024 * 1024, maxSize: 32 * 1024 * 1024, deniedSuffix: ['exe'] } });
    c = await loggedIn(emu);
  });
  after(async () => {
    c.close();
    await emu.close();
  });

  test('detect, login, me, capacity', async () => {
    assert.deepEqual(await CloudreveClient.detect(emu.url + '/'), { version: '4.18.0', pro: false });
    const tokens: Array<TokenPair | null> = [];
    const d = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID, onTokens: (t) => tokens.push(t) });
    const r = await d.login(emu.email, emu.password);
    assert.equal(r.user.email, emu.email);
    assert.ok(r.user.id);
    assert.deepEqual(tokens, [r.token]);
    assert.deepEqual(d.tokens(), r.token);
    const me = await d.me();
    assert.equal(me.id, r.user.id);
    const cap = await d.capacity();
    assert.equal(cap.total, 64 * 1024 * 1024);
    assert.equal(typeof cap.used, 'number');
    d.close();
  });

  test('wrong password / unknown account → invalid-password (stop), password never in the message', async () => {
    const d = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
    for (const [email, pw] of [
      [emu.email, 'not-the-password-XYZ'],
      ['nobody@example.com', 'not-the-password-XYZ'],
    ]) {
      await rejects(d.login(email, pw), (e) => {
        assert.equal(e.code, 'invalid-password');
        assert.equal(e.serverCode, 40080);
        assert.equal(classify(e), 'stop');
        assert.ok(!e.message.includes(pw));
        assert.ok(e.correlationId);
      });
    }
    assert.equal(d.tokens(), null);
    d.close();
  });

  test('files: mkdir -p is idempotent, info, rename, move, copy, delete; documented errors', async () => {
    const a = await c.createFolder('cloudreve://my/t1/a/b');
    assert.equal(a.type, 1);
    assert.equal(a.path, 'cloudreve://my/t1/a/b');
    const again = await c.createFolder('cloudreve://my/t1/a/b');
    assert.equal(again.id, a.id, 'existing folder returned');
    const info = await c.info('cloudreve://my/t1/a', { extended: true });
    assert.equal(info.name, 'a');
    assert.equal(info.type, 1);

    await rejects(c.info('cloudreve://my/t1/missing'), (e) => {
      assert.equal(e.code, 'not-found');
      assert.equal(e.serverCode, 40016);
      assert.equal(e.message, 'info cloudreve://my/t1/missing: Path not exist (code 40016)');
      assert.equal(classify(e), 'fail-file');
    });
    await rejects(c.listPage('cloudreve://my/t1/missing'), (e) => assert.equal(e.code, 'not-found'));

    await c.createFolder('cloudreve://my/t1/c');
    const renamed = await c.rename('cloudreve://my/t1/c', 'c2');
    assert.equal(renamed.name, 'c2');
    assert.equal(renamed.path, 'cloudreve://my/t1/c2');
    await rejects(c.rename('cloudreve://my/t1/c2', 'a'), (e) => {
      assert.equal(e.code, 'exists');
      assert.equal(e.serverCode, 40004);
    });

    await c.move(['cloudreve://my/t1/c2'], 'cloudreve://my/t1/a');
    assert.equal((await c.info('cloudreve://my/t1/a/c2')).type, 1);
    await c.move(['cloudreve://my/t1/a/c2'], 'cloudreve://my/t1', { copy: true });
    assert.equal((await c.info('cloudreve://my/t1/c2')).type, 1);
    assert.equal((await c.info('cloudreve://my/t1/a/c2')).type, 1);
    // same name already at the destination: one URI → the inner 40004 decides
    await rejects(c.move(['cloudreve://my/t1/c2'], 'cloudreve://my/t1/a'), (e) => {
      assert.equal(e.code, 'exists');
      assert.equal(e.serverCode, 40004);
    });

    await c.delete(['cloudreve://my/t1/c2']);
    await rejects(c.info('cloudreve://my/t1/c2'), (e) => assert.equal(e.code, 'not-found'));
    await c.delete(['cloudreve://my/t1/a/c2'], { skipSoftDelete: true });
    await rejects(c.delete(['cloudreve://my/t1/nope']), (e) => assert.equal(e.code, 'not-found'));

    const page = await c.listPage('cloudreve://my/t1');
    assert.deepEqual(page.files.map((f) => f.name), ['a']);
    assert.equal(page.parent.name, 't1');
    assert.equal(page.props.max_page_size, 2000);
    assert.equal(page.storage_policy?.type, 'local');
  });

  test('upload session → chunks → committed; cancel; documented errors', async () => {
    const size = 2.5 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff;
    const s = await c.createUploadSession({ uri: 'cloudreve://my/t2/data.bin', size, last_modified: 1736000000000 });
    assert.equal(s.chunk_size, 1024 * 1024);
    assert.equal(s.storage_policy.type, 'local');
    assert.equal(s.uri, 'cloudreve://my/t2/data.bin');
    assert.ok(s.session_id && s.callback_secret);
    const parts = Math.ceil(size / s.chunk_size);
    const progress: number[] = [];
    for (let i = 0; i < parts; i++) {
      const piece = data.subarray(i * s.chunk_size, Math.min(size, (i + 1) * s.chunk_size));
      await c.uploadChunk(s.session_id, i, Readable.from([piece]), piece.length, { onProgress: (n) => progress.push(n) });
    }
    assert.ok(progress.length >= parts);
    assert.ok(emu.blob('cloudreve://my/t2/data.bin')!.equals(data));
    const info = await c.info('cloudreve://my/t2/data.bin');
    assert.equal(info.size, size);
    assert.equal(new Date(info.updated_at).getTime(), 1736000000000);

    // target exists → 40004; entity_type 'version' works
    await rejects(c.createUploadSession({ uri: 'cloudreve://my/t2/data.bin', size: 1 }), (e) => {
      assert.equal(e.code, 'exists');
      assert.equal(classify(e), 'fail-file');
    });
    const v = await c.createUploadSession({ uri: 'cloudreve://my/t2/data.bin', size: 3, entity_type: 'version', previous: info.primary_entity });
    // wrong length for the only chunk → 40013
    await rejects(c.uploadChunk(v.session_id, 0, Buffer.alloc(2), 2), (e) => {
      assert.equal(e.code, 'invalid-chunk');
      assert.equal(e.serverCode, 40013);
    });
    // cancel, then cancel again (gone → success), chunk to the cancelled session → 40011
    await c.deleteUploadSession(v.session_id, v.uri);
    await c.deleteUploadSession(v.session_id, v.uri);
    await c.deleteUploadSession('00000000-0000-4000-8000-000000000000', 'cloudreve://my/t2/never-there.bin');
    await rejects(c.uploadChunk(v.session_id, 0, Buffer.alloc(3), 3), (e) => {
      assert.equal(e.code, 'session-expired');
      assert.equal(e.serverCode, 40011);
    });
    assert.ok(emu.blob('cloudreve://my/t2/data.bin')!.equals(data), 'old content kept');

    // stale previous → 40076
    await rejects(c.createUploadSession({ uri: 'cloudreve://my/t2/data.bin', size: 3, entity_type: 'version', previous: 'zzzz' }), (e) =>
      assert.equal(e.code, 'stale-version'),
    );
    // policy rules: suffix, size, quota
    await rejects(c.createUploadSession({ uri: 'cloudreve://my/t2/setup.exe', size: 1 }), (e) => assert.equal(e.code, 'name-rejected'));
    await rejects(c.createUploadSession({ uri: 'cloudreve://my/t2/huge.bin', size: 33 * 1024 * 1024 }), (e) => assert.equal(e.code, 'too-large'));
    emu.setPolicy({ maxSize: 0 });
    try {
      await rejects(c.createUploadSession({ uri: 'cloudreve://my/t2/huge.bin', size: 65 * 1024 * 1024 }), (e) => {
        assert.equal(e.code, 'quota');
        assert.equal(classify(e), 'fail-file');
      });
    } finally {
      emu.setPolicy({ maxSize: 32 * 1024 * 1024 });
    }
    // a placeholder in progress blocks a second session (§11.2)
    const p1 = await c.createUploadSession({ uri: 'cloudreve://my/t2/busy.bin', size: 10 });
    await rejects(c.createUploadSession({ uri: 'cloudreve://my/t2/busy.bin', size: 10 }), (e) => assert.equal(e.code, 'exists'));
    await c.deleteUploadSession(p1.session_id, p1.uri);
  });

  test('uploadCallback: the emulator answers HTTP 401 + envelope; typed, secret never shown', async () => {
    const s = await c.createUploadSession({ uri: 'cloudreve://my/t6/cb.bin', size: 4 });
    const wrong = 'WrongSecretWrongSecretWrongSecr';
    await rejects(c.uploadCallback('s3', '00000000-0000-4000-8000-000000000000', s.callback_secret), (e) => {
      assert.equal(e.code, 'session-expired');
      assert.equal(e.serverCode, 40011);
      assert.equal(e.httpStatus, 401);
      assert.ok(!e.message.includes(s.callback_secret));
    });
    await rejects(c.uploadCallback('s3', s.session_id, wrong), (e) => {
      assert.equal(e.code, 'session-expired');
      assert.equal(e.serverCode, 40020);
      assert.equal(classify(e), 'fail-file');
      assert.ok(!e.message.includes(wrong));
    });
    await rejects(c.uploadCallback('onedrive', s.session_id, s.callback_secret), (e) => {
      assert.equal(e.code, 'permission');
      assert.equal(e.serverCode, 40006);
      assert.equal(e.httpStatus, 401);
      assert.ok(!e.message.includes(s.callback_secret));
    });
    await c.deleteUploadSession(s.session_id, s.uri);
  });

  test('encrypted policy: encrypt_metadata validated and passed through', async () => {
    emu.setPolicy({ encryption: true });
    try {
      const s = await c.createUploadSession({ uri: 'cloudreve://my/t3/secret.bin', size: 100, encryption_supported: ['aes-256-ctr'] });
      assert.equal(s.encrypt_metadata?.algorithm, 'aes-256-ctr');
      assert.equal(Buffer.from(s.encrypt_metadata!.key_plain_text, 'base64').length, 32);
      assert.equal(Buffer.from(s.encrypt_metadata!.iv, 'base64').length, 16);
      await c.deleteUploadSession(s.session_id, s.uri);
      const plain = await c.createUploadSession({ uri: 'cloudreve://my/t3/plain.bin', size: 100 });
      assert.equal(plain.encrypt_metadata, undefined);
      await c.deleteUploadSession(plain.session_id, plain.uri);
    } finally {
      emu.setPolicy({ encryption: undefined });
    }
  });

  test('putContent creates and replaces; previous guards; download URLs', async () => {
    const f = await c.putContent('cloudreve://my/t4/note.txt', Buffer.from('hello'), 5);
    assert.equal(f.size, 5);
    assert.equal(f.name, 'note.txt');
    const g = await c.putContent('cloudreve://my/t4/note.txt', Readable.from([Buffer.from('hello world')]), 11, { previous: f.primary_entity });
    assert.equal(g.size, 11);
    assert.notEqual(g.primary_entity, f.primary_entity);
    assert.equal(emu.blob('cloudreve://my/t4/note.txt')!.toString(), 'hello world');
    await rejects(c.putContent('cloudreve://my/t4/note.txt', Buffer.from('x'), 1, { previous: f.primary_entity }), (e) => assert.equal(e.code, 'stale-version'));

    const urls = await c.downloadUrl(['cloudreve://my/t4/note.txt'], { download: true });
    assert.equal(urls.urls.length, 1);
    assert.match(urls.urls[0].url, /\/api\/v4\/file\/content\//);
    assert.ok(urls.expires);
    await rejects(c.downloadUrl(['cloudreve://my/t4/none.txt']), (e) => {
      assert.equal(e.code, 'not-found');
      assert.ok(!e.message.includes('sign='));
    });
  });

  test('emulator faults: 50001 envelope → retry, 502 page → retry, reset during a chunk → network', async () => {
    emu.addFault({ method: 'GET', path: '^/api/v4/user/capacity$', action: { type: 'envelope', code: 50001, msg: 'Database error' } });
    await rejects(c.capacity(), (e) => {
      assert.equal(e.code, 'server');
      assert.equal(classify(e), 'retry');
    });
    emu.addFault({ method: 'GET', path: '^/api/v4/user/me$', action: { type: 'status', status: 502, body: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } } });
    await rejects(c.me(), (e) => {
      assert.equal(e.code, 'http-status');
      assert.equal(e.httpStatus, 502);
      assert.equal(classify(e), 'retry');
    });
    const s = await c.createUploadSession({ uri: 'cloudreve://my/t5/r.bin', size: 1024 * 1024 });
    emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/', action: { type: 'reset', afterBytes: 64 * 1024 } });
    await rejects(c.uploadChunk(s.session_id, 0, Buffer.alloc(1024 * 1024), 1024 * 1024), (e) => {
      assert.equal(e.code, 'network');
      assert.equal(classify(e), 'retry');
    });
    await c.uploadChunk(s.session_id, 0, Buffer.alloc(1024 * 1024), 1024 * 1024);
    assert.equal(emu.blob('cloudreve://my/t5/r.bin')!.length, 1024 * 1024);
    emu.clearFaults();
  });

  test('a v3 or old server is refused by detect', async () => {
    emu.setVersion('3.8.3');
    try {
      await rejects(CloudreveClient.detect(emu.url), (e) => {
        assert.equal(e.code, 'unsupported-version');
        assert.match(e.message, /not supported/);
      });
    } finally {
      emu.setVersion('4.18.0');
    }
    emu.setVersion('4.9.0');
    try {
      const d = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
      assert.equal(await d.ensureVersion(), '4.9.0');
      assert.deepEqual(d.features(), { chunkConcurrency: true, encryption: false, events: false, oauth: false, allChunksRule: false });
      d.close();
    } finally {
      emu.setVersion('4.18.0');
    }
  });
});

describe('pagination past 2,000 entries', () => {
  let emu: Emulator;
  let c: CloudreveClient;
  let proxy: Awaited<ReturnType<typeof startCountingProxy>>;
  const N = 2500;
  before(async () => {
    emu = await startEmulator({});
    proxy = await startCountingProxy(emu.url);
    c = await loggedIn(emu, {}, proxy.url);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          const i = next++;
          await c.createFolder(`cloudreve://my/many/d${String(i).padStart(5, '0')}`);
        }
      }),
    );
  });
  after(async () => {
    c.close();
    await proxy.close();
    await emu.close();
  });

  const names = () => Array.from({ length: N }, (_, i) => `d${String(i).padStart(5, '0')}`);

  for (const [label, pageSize, pages] of [
    ['page size 2000', 2000, 2],
    ['default page size', undefined, 3],
    ['page size 100', 100, 25],
  ] as const) {
    test(`${label}: all ${N} entries, once each, in ${pages} requests`, async () => {
      const before = proxy.count('GET', '/api/v4/file');
      const all = await c.listAll('cloudreve://my/many', pageSize === undefined ? {} : { pageSize });
      assert.equal(proxy.count('GET', '/api/v4/file') - before, pages);
      assert.deepEqual(all.map((f) => f.name).sort(), names());
    });
  }

  test('a page size above the server maximum is capped by the server and still complete', async () => {
    const first = await c.listPage('cloudreve://my/many', { pageSize: 5000 });
    assert.equal(first.files.length, 2000);
    assert.ok(first.pagination.next_token);
    const all = await c.listAll('cloudreve://my/many', { pageSize: 5000 });
    assert.equal(new Set(all.map((f) => f.name)).size, N);
  });

  test('list() streams: stopping early sends no further page requests', async () => {
    const before = proxy.count('GET', '/api/v4/file');
    let n = 0;
    for await (const f of c.list('cloudreve://my/many', { pageSize: 1000 })) {
      void f;
      if (++n === 10) break;
    }
    assert.equal(proxy.count('GET', '/api/v4/file') - before, 1);
  });
});

describe('tokens against the emulator', () => {
  test('short access tokens are refreshed proactively and transparently (no 401 round trip)', async () => {
    const emu = await startEmulator({ accessTtl: 2 });
    const proxy = await startCountingProxy(emu.url);
    const persisted: Array<TokenPair | null> = [];
    const c = await loggedIn(emu, { onTokens: (t) => persisted.push(t) }, proxy.url);
    try {
      const first = c.tokens()!.access_token;
      await c.me();
      assert.equal(proxy.count('POST', '/api/v4/session/token/refresh'), 0);
      const deadline = Date.now() + 6000;
      for (let i = 0; Date.now() < deadline; i++) {
        await c.me();
        await c.listPage('cloudreve://my');
        await sleep(150);
      }
      const refreshes = proxy.count('POST', '/api/v4/session/token/refresh');
      assert.ok(refreshes >= 3 && refreshes <= 8, `refreshes: ${refreshes}`);
      assert.notEqual(c.tokens()!.access_token, first);
      assert.equal(persisted.length, 1 + refreshes, 'every new pair handed to onTokens');
      // every call went through on the first try: no call was answered 401 and re-sent
      const mes = proxy.count('GET', '/api/v4/user/me');
      const lists = proxy.count('GET', '/api/v4/file');
      assert.equal(mes, lists + 1);
      for (const r of proxy.seen) assert.equal(r.headers['x-cr-client-id'], CLIENT_ID);
    } finally {
      c.close();
      await proxy.close();
      await emu.close();
    }
  });

  test('10 concurrent calls on an expiring token → exactly 1 refresh request', async () => {
    const emu = await startEmulator({ accessTtl: 2 });
    const proxy = await startCountingProxy(emu.url);
    const c = await loggedIn(emu, {}, proxy.url);
    try {
      emu.addFault({ method: 'POST', path: '^/api/v4/session/token/refresh$', action: { type: 'delay', ms: 200 } });
      await sleep(1100); // inside the refresh margin (half of the 2 s lifetime)
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? c.me() : c.capacity())));
      assert.equal(results.length, 10);
      assert.equal(proxy.count('POST', '/api/v4/session/token/refresh'), 1);
      assert.equal(proxy.count('GET', '/api/v4/user/me') + proxy.count('GET', '/api/v4/user/capacity'), 10);
    } finally {
      c.close();
      await proxy.close();
      await emu.close();
    }
  });

  test('an expired refresh token → login-required (stop), without a request', async () => {
    const emu = await startEmulator({ accessTtl: 1, refreshTtl: 2 });
    const proxy = await startCountingProxy(emu.url);
    const c = await loggedIn(emu, {}, proxy.url);
    try {
      await sleep(2100);
      const before = proxy.seen.length;
      await rejects(c.me(), (e) => {
        assert.equal(e.code, 'login-required');
        assert.equal(classify(e), 'stop');
      });
      assert.equal(proxy.seen.length, before);
    } finally {
      c.close();
      await proxy.close();
      await emu.close();
    }
  });

  test('a revoked login (signed out elsewhere) → refresh refused → login-required', async () => {
    const emu = await startEmulator({});
    const a = await loggedIn(emu);
    const b = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID, tokens: a.tokens() });
    try {
      await a.logout();
      assert.equal(a.tokens(), null);
      await rejects(b.refresh(), (e) => {
        assert.equal(e.code, 'login-required');
        assert.equal(e.serverCode, 40020);
        assert.equal(classify(e), 'stop');
      });
    } finally {
      a.close();
      b.close();
      await emu.close();
    }
  });

  test('an access token the server rejects (expired under our feet) → refreshed once, call succeeds', async () => {
    const emu = await startEmulator({});
    const c = await loggedIn(emu);
    try {
      const t = c.tokens()!;
      // Pretend we hold a pair whose access token is garbage but looks fresh: the server treats us as anonymous (code 401).
      const d = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID, tokens: { ...t, access_token: 'not-a-jwt' } });
      const me = await d.me();
      assert.ok(me.id);
      assert.notEqual(d.tokens()!.access_token, 'not-a-jwt');
      d.close();
    } finally {
      c.close();
      await emu.close();
    }
  });
});

describe('two-factor login', () => {
  const secret = 'JBSWY3DPEHPK3PXP';
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ users: [{ email: 'otp@example.com', password: 'otp-password', totpSecret: secret }] });
  });
  after(async () => {
    await emu.close();
  });

  test('203 → otp-required with a session id; wrong code; right code; stale session', async () => {
    const c = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
    const e = await rejects(c.login('otp@example.com', 'otp-password'), (err) => {
      assert.equal(err.code, 'otp-required');
      assert.equal(err.serverCode, 203);
      assert.equal(classify(err), 'stop');
    });
    const sessionId = (e.data as { sessionId: string }).sessionId;
    assert.match(sessionId, /^[0-9a-f-]{36}$/);
    assert.equal(c.tokens(), null);
    const wrong = totp(secret) === '000000' ? '111111' : '000000';
    await rejects(c.login2fa(sessionId, wrong), (err) => {
      assert.equal(err.code, 'otp-invalid');
      assert.equal(err.serverCode, 40022);
      assert.ok(!err.message.includes(wrong));
    });
    const r = await c.login2fa(sessionId, totp(secret));
    assert.equal(r.user.email, 'otp@example.com');
    assert.ok(c.tokens());
    assert.equal((await c.me()).email, 'otp@example.com');
    // the 2FA session is consumed
    await rejects(c.login2fa(sessionId, totp(secret)), (err) => {
      assert.equal(err.code, 'login-required');
      assert.match(err.message, /two-factor login session expired/);
    });
    c.close();
  });
});

describe('change events (SSE) against the emulator', () => {
  test('subscribed, then events for changes by another client; own changes are not echoed; abort ends quietly', async () => {
    const emu = await startEmulator({ eventDebounceMs: 50, keepAliveMs: 200 });
    const watcher = await loggedIn(emu);
    const other = new CloudreveClient({ baseUrl: emu.url, clientId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', tokens: watcher.tokens(), version: '4.18.0' });
    try {
      await watcher.createFolder('cloudreve://my/watched');
      const ac = new AbortController();
      const seen: Array<{ event: string; data: unknown }> = [];
      const done = (async () => {
        for await (const ev of watcher.events('cloudreve://my/watched', { signal: ac.signal })) {
          seen.push(ev);
          if (ev.event === 'subscribed' || ev.event === 'resumed') {
            await watcher.createFolder('cloudreve://my/watched/mine'); // same client id: not echoed
            await other.createFolder('cloudreve://my/watched/theirs');
          }
          if (ev.event === 'event') {
            // give a possible echo of our own change time to arrive, then stop
            setTimeout(() => ac.abort(), 400);
          }
        }
      })();
      const timer = setTimeout(() => ac.abort(), 10_000);
      await done;
      clearTimeout(timer);
      assert.equal(seen[0].event, 'subscribed');
      const events = seen.filter((e) => e.event === 'event').map((e) => e.data as { type: string; from: string });
      assert.ok(events.length >= 1, JSON.stringify(seen));
      assert.ok(events.some((e) => e.type === 'create' && /theirs/.test(e.from)), JSON.stringify(events));
      assert.ok(!events.some((e) => /mine/.test(e.from)), 'own change echoed');
    } finally {
      watcher.close();
      other.close();
      await emu.close();
    }
  });
});
