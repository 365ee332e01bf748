// Tests of the Cloudreve v4 emulator against the protocol spec, over plain HTTP.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, totp, type Emulator } from './index.js';
import * as cryptoMod from 'node:crypto';
import { createCipheriv, randomBytes } from 'node:crypto';
import { api, createSession, login, putChunk, rawPost, uploadFile, sleep } from './helpers.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

describe('envelope, site, routing', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator();
  });
  after(() => emu.close());

  it('ping answers the version in the envelope; v3 ping is a gin 404', async () => {
    const r = await api(emu, 'GET', '/api/v4/site/ping');
    assert.equal(r.status, 200);
    assert.equal(r.text, '{"code":0,"data":"4.18.0","msg":""}');
    const v3 = await api(emu, 'GET', '/api/v3/site/ping');
    assert.equal(v3.status, 404);
    assert.equal(v3.text, '404 page not found');
    const wrongMethod = await api(emu, 'DELETE', '/api/v4/site/ping');
    assert.equal(wrongMethod.status, 404);
  });

  it('errors carry a correlation id (echoed when a valid UUID is sent)', async () => {
    const cid = '0b5a8c43-7e0a-4a4c-9a55-2f6c5e0d1a11';
    const r = await api(emu, 'GET', '/api/v4/user/me', { headers: { 'X-Cr-Correlation-Id': cid } });
    assert.equal(r.status, 200);
    assert.equal(r.json.code, 401);
    assert.equal(r.json.correlation_id, cid);
    const r2 = await api(emu, 'GET', '/api/v4/user/me', { headers: { 'X-Cr-Correlation-Id': 'nope' } });
    assert.match(r2.json.correlation_id, UUID_RE);
    assert.notEqual(r2.json.correlation_id, cid);
  });

  it('bad JSON → 40001; site config sections answer', async () => {
    const r = await api(emu, 'POST', '/api/v4/session/token', { raw: '{not json', headers: { 'content-type': 'application/json' } });
    assert.equal(r.json.code, 40001);
    const c = await api(emu, 'GET', '/api/v4/site/config/login');
    assert.equal(c.json.code, 0);
    const b = await api(emu, 'GET', '/api/v4/site/config/basic');
    assert.equal(b.json.code, 0);
    assert.equal(b.json.data.title, 'Cloudreve');
  });
});

describe('authentication', () => {
  let emu: Emulator;
  const secret = 'JBSWY3DPEHPK3PXP';
  before(async () => {
    emu = await startEmulator({
      users: [
        { email: 'admin@cloudreve.org', password: 'password123' },
        { email: 'otp@example.com', password: 'secret-pw', totpSecret: secret },
      ],
      accessTtl: 1,
    });
  });
  after(() => emu.close());

  it('login returns user + RFC 3339 token pair of HS256 JWTs', async () => {
    const r = await api(emu, 'POST', '/api/v4/session/token', { body: { email: emu.email, password: emu.password } });
    assert.equal(r.json.code, 0);
    const t = r.json.data.token;
    assert.equal(r.json.data.user.email, emu.email);
    assert.match(t.access_expires, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    const [h, p] = t.access_token.split('.').slice(0, 2).map((x: string) => JSON.parse(Buffer.from(x, 'base64url').toString()));
    assert.equal(h.alg, 'HS256');
    assert.equal(p.token_type, 'access');
    assert.equal(p.sub, r.json.data.user.id);
    assert.ok(Number.isInteger(p.exp) && Number.isInteger(p.nbf));
    const rp = JSON.parse(Buffer.from(t.refresh_token.split('.')[1], 'base64url').toString());
    assert.equal(rp.token_type, 'refresh');
    assert.match(rp.root_token_id, UUID_RE);
  });

  it('validation and wrong credentials', async () => {
    assert.equal((await api(emu, 'POST', '/api/v4/session/token', { body: { email: 'not-an-email', password: 'password123' } })).json.code, 40001);
    assert.equal((await api(emu, 'POST', '/api/v4/session/token', { body: { email: emu.email, password: 'abc' } })).json.code, 40001);
    const w = await api(emu, 'POST', '/api/v4/session/token', { body: { email: emu.email, password: 'wrong-password' } });
    assert.equal(w.json.code, 40080);
    assert.equal(w.json.msg, 'Incorrect password or email address');
    const u = await api(emu, 'POST', '/api/v4/session/token', { body: { email: 'nobody@example.com', password: 'wrong-password' } });
    assert.equal(u.json.code, 40080);
  });

  it('2FA: 203 + session id, 40022 wrong code, 404 unknown session, success with TOTP', async () => {
    const r = await api(emu, 'POST', '/api/v4/session/token', { body: { email: 'otp@example.com', password: 'secret-pw' } });
    assert.equal(r.json.code, 203);
    assert.match(r.json.data, UUID_RE);
    const good = totp(secret);
    const bad = good === '000000' ? '111111' : '000000';
    const w = await api(emu, 'POST', '/api/v4/session/token/2fa', { body: { otp: bad, session_id: r.json.data } });
    assert.equal(w.json.code, 40022);
    const nf = await api(emu, 'POST', '/api/v4/session/token/2fa', { body: { otp: good, session_id: '5d2f6a3e-0000-4000-8000-000000000000' } });
    assert.equal(nf.json.code, 404);
    const ok = await api(emu, 'POST', '/api/v4/session/token/2fa', { body: { otp: good, session_id: r.json.data } });
    assert.equal(ok.json.code, 0);
    assert.equal(ok.json.data.user.email, 'otp@example.com');
    assert.ok(ok.json.data.token.access_token);
  });

  it('TOTP helper matches RFC 6238 test vector', () => {
    // RFC 6238 SHA1 secret "12345678901234567890" = base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ; T=59 → 94287082 (8 digits) → 287082
    assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59_000), '287082');
    assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 1111111109_000), '081804');
  });

  it('refresh issues a new pair in the same chain; refresh tokens are reusable; wrong type → 40020', async () => {
    const t = await login(emu);
    const r1 = await api(emu, 'POST', '/api/v4/session/token/refresh', { body: { refresh_token: t.refresh } });
    assert.equal(r1.json.code, 0);
    const r2 = await api(emu, 'POST', '/api/v4/session/token/refresh', { body: { refresh_token: t.refresh } });
    assert.equal(r2.json.code, 0, 'old refresh token still valid');
    const root1 = JSON.parse(Buffer.from(r1.json.data.refresh_token.split('.')[1], 'base64url').toString()).root_token_id;
    const root0 = JSON.parse(Buffer.from(t.refresh.split('.')[1], 'base64url').toString()).root_token_id;
    assert.equal(root1, root0);
    const wrong = await api(emu, 'POST', '/api/v4/session/token/refresh', { body: { refresh_token: t.access } });
    assert.equal(wrong.json.code, 40020);
    const garbage = await api(emu, 'POST', '/api/v4/session/token/refresh', { body: { refresh_token: 'a.b.c' } });
    assert.equal(garbage.json.code, 40020);
    // refresh token used as bearer: the server rejects the token type
    const asBearer = await api(emu, 'GET', '/api/v4/user/me', { token: t.refresh });
    assert.equal(asBearer.json.code, 40020);
  });

  it('sign-out answers data "" and kills the refresh chain', async () => {
    const t = await login(emu);
    const r = await api(emu, 'DELETE', '/api/v4/session/token', { body: { refresh_token: t.refresh } });
    assert.equal(r.text.includes('"data":""'), true);
    assert.deepEqual(r.json, { code: 0, data: '', msg: '' });
    const again = await api(emu, 'POST', '/api/v4/session/token/refresh', { body: { refresh_token: t.refresh } });
    assert.equal(again.json.code, 40020);
  });

  it('expired access token = anonymous: 401 on /user/me, 40011 on a chunk', async () => {
    const t = await login(emu);
    const me = await api(emu, 'GET', '/api/v4/user/me', { token: t.access });
    // accessTtl 1 s: the token may already be dead (exp truncated), so do not insist on success here
    assert.ok(me.json.code === 0 || me.json.code === 401);
    const fresh = await login(emu);
    const s = await createSession(emu, fresh.access, { uri: 'cloudreve://my/expired.bin', size: 4 });
    assert.equal(s.json.code, 0);
    await sleep(1100);
    const me2 = await api(emu, 'GET', '/api/v4/user/me', { token: t.access });
    assert.equal(me2.json.code, 401);
    const c = await putChunk(emu, fresh.access, s.json.data.session_id, 0, 'abcd');
    assert.equal(c.json.code, 40011);
  });

  it('prepare login', async () => {
    const r = await api(emu, 'GET', `/api/v4/session/prepare?email=${encodeURIComponent(emu.email)}`);
    assert.deepEqual(r.json.data, { webauthn_enabled: false, password_enabled: true });
    const nf = await api(emu, 'GET', '/api/v4/session/prepare?email=x%40y.z');
    assert.equal(nf.json.code, 404);
  });
});

describe('files API', () => {
  let emu: Emulator;
  let tok: string;
  before(async () => {
    emu = await startEmulator();
    tok = (await login(emu)).access;
  });
  after(() => emu.close());

  it('create is idempotent mkdir -p; type clash → 40004; err_on_conflict', async () => {
    const a = await api(emu, 'POST', '/api/v4/file/create', { token: tok, body: { uri: 'cloudreve://my/a/b/c', type: 'folder' } });
    assert.equal(a.json.code, 0);
    assert.equal(a.json.data.type, 1);
    assert.equal(a.json.data.path, 'cloudreve://my/a/b/c');
    assert.ok(a.json.data.primary_entity, 'primary_entity present on folders too (§11.1)');
    const b = await api(emu, 'POST', '/api/v4/file/create', { token: tok, body: { uri: 'cloudreve://my/a/b/c', type: 'folder' } });
    assert.equal(b.json.data.id, a.json.data.id);
    const clash = await api(emu, 'POST', '/api/v4/file/create', { token: tok, body: { uri: 'cloudreve://my/a/b/c', type: 'file' } });
    assert.equal(clash.json.code, 40004);
    const eoc = await api(emu, 'POST', '/api/v4/file/create', { token: tok, body: { uri: 'cloudreve://my/a/b/c', type: 'folder', err_on_conflict: true } });
    assert.equal(eoc.json.code, 40004);
    const bad = await api(emu, 'POST', '/api/v4/file/create', { token: tok, body: { uri: 'cloudreve://my/a/b%3Ac', type: 'folder' } });
    assert.equal(bad.json.code, 40052);
    const anon = await api(emu, 'POST', '/api/v4/file/create', { body: { uri: 'cloudreve://my/x', type: 'folder' } });
    assert.equal(anon.json.code, 401);
  });

  it('info: 403 for root, 40016 missing, encoded paths round-trip', async () => {
    assert.equal((await api(emu, 'GET', '/api/v4/file/info?uri=' + encodeURIComponent('cloudreve://my'), { token: tok })).json.code, 403);
    assert.equal((await api(emu, 'GET', '/api/v4/file/info?uri=' + encodeURIComponent('cloudreve://my/nope'), { token: tok })).json.code, 40016);
    const name = 'héllo wörld #1 (x)+&.txt';
    const uri = 'cloudreve://my/a/' + encodeURIComponent(name);
    const c = await api(emu, 'POST', '/api/v4/file/create', { token: tok, body: { uri, type: 'file' } });
    assert.equal(c.json.code, 0);
    assert.equal(c.json.data.path, uri);
    assert.equal(c.json.data.name, name);
    const i = await api(emu, 'GET', '/api/v4/file/info?uri=' + encodeURIComponent(uri), { token: tok });
    assert.equal(i.json.data.id, c.json.data.id);
    assert.equal(i.json.data.size, 0);
  });

  it('list: 40016 for a missing folder; parent, props, storage_policy present', async () => {
    const nf = await api(emu, 'GET', '/api/v4/file?uri=' + encodeURIComponent('cloudreve://my/missing'), { token: tok });
    assert.equal(nf.json.code, 40016);
    const r = await api(emu, 'GET', '/api/v4/file?uri=' + encodeURIComponent('cloudreve://my'), { token: tok });
    assert.equal(r.json.code, 0);
    assert.equal(r.json.data.parent.path, 'cloudreve://my');
    assert.equal(r.json.data.props.max_page_size, 2000);
    assert.equal(r.json.data.pagination.page_size, 100);
    assert.equal(r.json.data.storage_policy.type, 'local');
    assert.ok(r.json.data.files.some((f: any) => f.name === 'a'));
  });

  it('cursor pagination over 2,500 entries with page_size 2000 (capped) follows next_token', async () => {
    const small = await startEmulator({ maxPageSize: 2000 });
    try {
      const t = (await login(small)).access;
      await api(small, 'POST', '/api/v4/file/create', { token: t, body: { uri: 'cloudreve://my/big', type: 'folder' } });
      const names: string[] = [];
      for (let i = 0; i < 2500; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, k) => {
            const n = `f${String(i + k).padStart(5, '0')}.txt`;
            names.push(n);
            return api(small, 'POST', '/api/v4/file/create', { token: t, body: { uri: `cloudreve://my/big/${n}`, type: 'file' } });
          }),
        );
      }
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      for (let guard = 0; guard < 10; guard++) {
        const q = `/api/v4/file?uri=${encodeURIComponent('cloudreve://my/big')}&page_size=5000${token ? `&next_page_token=${encodeURIComponent(token)}` : ''}`;
        const r = await api(small, 'GET', q, { token: t });
        assert.equal(r.json.code, 0);
        pages++;
        assert.equal(r.json.data.pagination.page_size, 2000);
        seen.push(...r.json.data.files.map((f: any) => f.name));
        token = r.json.data.pagination.next_token;
        if (!token) break;
      }
      assert.equal(pages, 2);
      assert.equal(seen.length, 2500);
      assert.deepEqual([...seen].sort(), [...names].sort());
      assert.equal(new Set(seen).size, 2500);
    } finally {
      await small.close();
    }
  });

  it('rename, move, copy, delete (soft and permanent), batch errors', async () => {
    const mk = (uri: string, type = 'file') => api(emu, 'POST', '/api/v4/file/create', { token: tok, body: { uri, type } });
    await mk('cloudreve://my/m/one.txt');
    await mk('cloudreve://my/m/two.txt');
    await mk('cloudreve://my/dst', 'folder');
    const rn = await api(emu, 'POST', '/api/v4/file/rename', { token: tok, body: { uri: 'cloudreve://my/m/one.txt', new_name: 'uno.txt' } });
    assert.equal(rn.json.code, 0);
    assert.equal(rn.json.data.path, 'cloudreve://my/m/uno.txt');
    const clash = await api(emu, 'POST', '/api/v4/file/rename', { token: tok, body: { uri: 'cloudreve://my/m/uno.txt', new_name: 'two.txt' } });
    assert.equal(clash.json.code, 40004);
    const mv = await api(emu, 'POST', '/api/v4/file/move', { token: tok, body: { uris: ['cloudreve://my/m/uno.txt'], dst: 'cloudreve://my/dst' } });
    assert.deepEqual(mv.json, { code: 0, msg: '' });
    assert.ok(emu.file('cloudreve://my/dst/uno.txt'));
    assert.equal(emu.file('cloudreve://my/m/uno.txt'), null);
    const cp = await api(emu, 'POST', '/api/v4/file/move', { token: tok, body: { uris: ['cloudreve://my/m/two.txt'], dst: 'cloudreve://my/dst', copy: true } });
    assert.equal(cp.json.code, 0);
    assert.ok(emu.file('cloudreve://my/m/two.txt') && emu.file('cloudreve://my/dst/two.txt'));
    // batch partial failure: one ok, one missing
    const part = await api(emu, 'POST', '/api/v4/file/move', {
      token: tok,
      body: { uris: ['cloudreve://my/m/two.txt', 'cloudreve://my/m/ghost.txt'], dst: 'cloudreve://my/dst' },
    });
    assert.equal(part.json.code, 40081);
    assert.equal(part.json.aggregated_error['cloudreve://my/m/ghost.txt'].code, 40016);
    assert.equal(part.json.aggregated_error['cloudreve://my/m/two.txt'].code, 40004);
    const into = await api(emu, 'POST', '/api/v4/file/move', { token: tok, body: { uris: ['cloudreve://my/m'], dst: 'cloudreve://my/m' } });
    assert.equal(into.json.code, 40081);
    assert.equal(into.json.aggregated_error['cloudreve://my/m'].code, 403);
    const noDst = await api(emu, 'POST', '/api/v4/file/move', { token: tok, body: { uris: ['cloudreve://my/m'], dst: 'cloudreve://my/nowhere' } });
    assert.equal(noDst.json.code, 40016);
    // soft delete → trash
    const del = await api(emu, 'DELETE', '/api/v4/file', { token: tok, body: { uris: ['cloudreve://my/dst/uno.txt'] } });
    assert.equal(del.json.code, 0);
    assert.equal(emu.file('cloudreve://my/dst/uno.txt'), null);
    const trash = await api(emu, 'GET', '/api/v4/file?uri=' + encodeURIComponent('cloudreve://trash'), { token: tok });
    const t = trash.json.data.files.find((f: any) => f.name === 'uno.txt');
    assert.ok(t);
    assert.equal(t.metadata['sys:restore_uri'], 'cloudreve://my/dst/uno.txt');
    const perm = await api(emu, 'DELETE', '/api/v4/file', { token: tok, body: { uris: ['cloudreve://my/dst/two.txt'], skip_soft_delete: true } });
    assert.equal(perm.json.code, 0);
    const miss = await api(emu, 'DELETE', '/api/v4/file', { token: tok, body: { uris: ['cloudreve://my/dst/none'] } });
    assert.equal(miss.json.code, 40081);
    assert.equal(miss.json.aggregated_error['cloudreve://my/dst/none'].code, 40016);
    assert.equal(miss.json.msg, 'Path not exist');
    const root = await api(emu, 'DELETE', '/api/v4/file', { token: tok, body: { uris: ['cloudreve://my'] } });
    assert.equal(root.json.aggregated_error['cloudreve://my'].code, 403);
  });
});

describe('upload sessions and local chunks', () => {
  let emu: Emulator;
  let tok: string;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 }, quota: 1024 * 1024 });
    tok = (await login(emu)).access;
  });
  after(() => emu.close());

  it('session response shape (§5.2) and placeholder file', async () => {
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/up/new.bin', size: 3000, last_modified: 1736000000123 });
    assert.equal(s.json.code, 0);
    const d = s.json.data;
    assert.match(d.session_id, UUID_RE);
    assert.equal(d.upload_id, '');
    assert.equal(d.chunk_size, 1024);
    assert.ok(Number.isInteger(d.expires) && d.expires > Date.now() / 1000 + 86000);
    assert.equal(d.uri, 'cloudreve://my/up/new.bin');
    assert.equal(d.callback_secret.length, 32);
    assert.equal('upload_urls' in d, false);
    assert.equal('credential' in d, false);
    assert.equal('encrypt_metadata' in d, false);
    assert.equal(d.storage_policy.type, 'local');
    const ph: any = emu.file('cloudreve://my/up/new.bin');
    assert.equal(ph.size, 0);
    assert.equal(ph.metadata['sys:upload_session_id'], d.session_id);
    assert.ok(ph.primary_entity);
    // second session on a path with an upload placeholder → 40004 (§11.2)
    const again = await createSession(emu, tok, { uri: 'cloudreve://my/up/new.bin', size: 10 });
    assert.equal(again.json.code, 40004);
    // with entity_type version → lock conflict 40073 with data
    const v = await createSession(emu, tok, { uri: 'cloudreve://my/up/new.bin', size: 10, entity_type: 'version' });
    assert.equal(v.json.code, 40073);
    assert.equal(v.json.data[0].owner.application.type, 'upload');
    assert.equal(v.json.data[0].path, 'cloudreve://my/up/new.bin');
    // complete it; updated_at = last_modified
    const buf = Buffer.alloc(3000, 7);
    for (let i = 0; i < 3; i++) {
      const r = await putChunk(emu, tok, d.session_id, i, buf.subarray(i * 1024, Math.min(3000, (i + 1) * 1024)));
      assert.equal(r.json.code, 0, r.text);
    }
    const f: any = emu.file('cloudreve://my/up/new.bin');
    assert.equal(f.size, 3000);
    assert.equal(f.metadata, null);
    assert.equal(new Date(f.updated_at).getTime(), 1736000000123);
    assert.notEqual(f.primary_entity, ph.primary_entity);
    assert.deepEqual(emu.blob('cloudreve://my/up/new.bin'), buf);
    assert.equal(emu.sessions().length, 0);
  });

  it('validation: 40052 name/suffix/regexp, 40049 max_size, 40051 quota, 40004 exists/folder, 40076 previous', async () => {
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/bad%3Aname', size: 1 })).json.code, 40052);
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/' + 'x'.repeat(256), size: 1 })).json.code, 40052);
    emu.setPolicy({ deniedSuffix: ['exe'] });
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/a.EXE', size: 1 })).json.code, 40052);
    emu.setPolicy({ deniedSuffix: undefined, allowedNameRegexp: '^ok' });
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/notok.txt', size: 1 })).json.code, 40052);
    emu.setPolicy({ allowedNameRegexp: undefined, maxSize: 100 });
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/big.txt', size: 101 })).json.code, 40049);
    // name check comes before the size check
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/b*d', size: 101 })).json.code, 40052);
    emu.setPolicy({ maxSize: 0 });
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/huge.txt', size: 2 * 1024 * 1024 })).json.code, 40051);
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/new.bin', size: 5 })).json.code, 40004);
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up', size: 5, entity_type: 'version' })).json.code, 40004);
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/x', size: 5, entity_type: 'bogus' })).json.code, 40001);
    assert.equal((await createSession(emu, tok, { uri: 'not a uri', size: 5 })).json.code, 40001);
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/x', size: -1 })).json.code, 40001);
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/x', size: 1, metadata: { nokey: 'v' } })).json.code, 40001);
    assert.equal((await createSession(emu, tok, { uri: 'cloudreve://my/up/lp', size: 1, entity_type: 'live_photo' })).json.code, 40016);
    const prev = await createSession(emu, tok, { uri: 'cloudreve://my/up/new.bin', size: 5, entity_type: 'version', previous: 'kkkk' });
    assert.equal(prev.json.code, 40076);
  });

  it('entity_type version creates or replaces; previous guard passes with the current entity', async () => {
    const before: any = emu.file('cloudreve://my/up/new.bin');
    const d = await uploadFile(emu, tok, 'cloudreve://my/up/new.bin', Buffer.from('replaced'), { entity_type: 'version', previous: before.primary_entity });
    assert.ok(d.session_id);
    const f: any = emu.file('cloudreve://my/up/new.bin');
    assert.equal(f.size, 8);
    assert.equal(f.id, before.id);
    assert.notEqual(f.primary_entity, before.primary_entity);
    assert.equal(emu.blob('cloudreve://my/up/new.bin')!.toString(), 'replaced');
    await uploadFile(emu, tok, 'cloudreve://my/up/fresh-version.txt', Buffer.from('hi'), { entity_type: 'version' });
    assert.equal(emu.blob('cloudreve://my/up/fresh-version.txt')!.toString(), 'hi');
  });

  it('quota is reserved at session creation and released on cancel', async () => {
    const cap0 = (await api(emu, 'GET', '/api/v4/user/capacity', { token: tok })).json.data;
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/up/cancel-me.bin', size: 5000 });
    const cap1 = (await api(emu, 'GET', '/api/v4/user/capacity', { token: tok })).json.data;
    assert.equal(cap1.used, cap0.used + 5000);
    const c = await api(emu, 'DELETE', '/api/v4/file/upload', { token: tok, body: { id: s.json.data.session_id, uri: s.json.data.uri } });
    assert.deepEqual(c.json, { code: 0, msg: '' });
    const cap2 = (await api(emu, 'GET', '/api/v4/user/capacity', { token: tok })).json.data;
    assert.equal(cap2.used, cap0.used);
    assert.equal(emu.file('cloudreve://my/up/cancel-me.bin'), null);
    // already removed path → 40016
    const again = await api(emu, 'DELETE', '/api/v4/file/upload', { token: tok, body: { id: s.json.data.session_id, uri: s.json.data.uri } });
    assert.equal(again.json.code, 40016);
    // unknown session id on an existing file succeeds (§11.4)
    const unk = await api(emu, 'DELETE', '/api/v4/file/upload', { token: tok, body: { id: '8e4b3f7a-1111-4222-8333-944455556666', uri: 'cloudreve://my/up/new.bin' } });
    assert.equal(unk.json.code, 0);
    // cancelling a new version keeps the old content
    const v = await createSession(emu, tok, { uri: 'cloudreve://my/up/new.bin', size: 4, entity_type: 'version' });
    assert.equal(v.json.code, 0);
    assert.equal((emu.file('cloudreve://my/up/new.bin') as any).metadata['sys:upload_session_id'], v.json.data.session_id);
    await api(emu, 'DELETE', '/api/v4/file/upload', { token: tok, body: { id: v.json.data.session_id, uri: v.json.data.uri } });
    assert.equal(emu.blob('cloudreve://my/up/new.bin')!.toString(), 'replaced');
    assert.equal((emu.file('cloudreve://my/up/new.bin') as any).metadata, null);
    assert.equal(emu.stats().sessions_cancelled >= 2, true);
  });

  it('chunk checks: 40012 index, 40013 message, 40011 foreign/unknown session, 50004 short body', async () => {
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/up/chk.bin', size: 2500 });
    const sid = s.json.data.session_id;
    const r12 = await putChunk(emu, tok, sid, 3, Buffer.alloc(1));
    assert.equal(r12.json.code, 40012);
    const r13 = await putChunk(emu, tok, sid, 0, Buffer.alloc(1000));
    assert.equal(r13.json.code, 40013);
    assert.equal(r13.json.msg, 'Invalid Content-Length (expected: 1024)');
    const last = await putChunk(emu, tok, sid, 2, Buffer.alloc(453));
    assert.equal(last.json.msg, 'Invalid Content-Length (expected: 452)');
    const unknown = await putChunk(emu, tok, '0f0f0f0f-0000-4000-8000-000000000000', 0, Buffer.alloc(1024));
    assert.equal(unknown.json.code, 40011);
    const anon = await putChunk(emu, undefined, sid, 0, Buffer.alloc(1024));
    assert.equal(anon.json.code, 40011);
    // another user's session
    const other = await startEmulator({ users: [{ email: 'a@x.io', password: 'pass1' }, { email: 'b@x.io', password: 'pass2' }] });
    try {
      const ta = (await login(other, 'a@x.io', 'pass1')).access;
      const tb = (await login(other, 'b@x.io', 'pass2')).access;
      const so = await createSession(other, ta, { uri: 'cloudreve://my/f', size: 3 });
      const foreign = await putChunk(other, tb, so.json.data.session_id, 0, 'abc');
      assert.equal(foreign.json.code, 40011);
      const cancelForeign = await api(other, 'DELETE', '/api/v4/file/upload', { token: tb, body: { id: so.json.data.session_id, uri: 'cloudreve://my/f' } });
      assert.equal(cancelForeign.json.code, 40016, "b has no such path");
    } finally {
      await other.close();
    }
    // short body with X-Expected-Entity-Length over chunked transfer → 50004
    const short = await rawPost(`${emu.url}/api/v4/file/upload/${sid}/0`, {
      authorization: `Bearer ${tok}`,
      'content-type': 'application/octet-stream',
      'x-expected-entity-length': 1024,
      'transfer-encoding': 'chunked',
    }, Buffer.alloc(100));
    assert.equal(short.json.code, 50004);
    const noLen = await rawPost(`${emu.url}/api/v4/file/upload/${sid}/0`, {
      authorization: `Bearer ${tok}`,
      'transfer-encoding': 'chunked',
    }, Buffer.alloc(1024));
    assert.equal(noLen.json.code, 40013);
    assert.equal(noLen.json.msg, 'Invalid Content-Length (expected: 1024)');
    await api(emu, 'DELETE', '/api/v4/file/upload', { token: tok, body: { id: sid, uri: 'cloudreve://my/up/chk.bin' } });
  });

  it('4.18 rule: concurrent out-of-order chunks complete once the set is complete; re-sent index overwrites', async () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/up/conc.bin', size: data.length });
    const sid = s.json.data.session_id;
    const part = (i: number) => data.subarray(i * 1024, Math.min(data.length, (i + 1) * 1024));
    // last chunk first: must not complete
    assert.equal((await putChunk(emu, tok, sid, 4, part(4))).json.code, 0);
    assert.equal(emu.blob('cloudreve://my/up/conc.bin'), null);
    assert.deepEqual(emu.sessions().find((x) => x.id === sid)!.received, [4]);
    await putChunk(emu, tok, sid, 1, Buffer.alloc(1024, 0xff)); // garbage, re-sent below
    const rs = await Promise.all([0, 1, 2, 3].map((i) => putChunk(emu, tok, sid, i, part(i))));
    for (const r of rs) assert.equal(r.json.code, 0);
    assert.deepEqual(emu.blob('cloudreve://my/up/conc.bin'), data);
    assert.equal((await putChunk(emu, tok, sid, 0, part(0))).json.code, 40011, 'session gone after completion');
  });

  it('< 4.18 rule: the last index completes immediately, missing ranges stay zero', async () => {
    emu.setVersion('4.17.0');
    try {
      const ping = await api(emu, 'GET', '/api/v4/site/ping');
      assert.equal(ping.json.data, '4.17.0');
      const s = await createSession(emu, tok, { uri: 'cloudreve://my/up/old.bin', size: 2100 });
      const sid = s.json.data.session_id;
      assert.equal((await putChunk(emu, tok, sid, 0, Buffer.alloc(1024, 1))).json.code, 0);
      assert.equal((await putChunk(emu, tok, sid, 2, Buffer.alloc(52, 3))).json.code, 0);
      const blob = emu.blob('cloudreve://my/up/old.bin')!;
      assert.equal(blob.length, 2100);
      assert.deepEqual(blob.subarray(0, 1024), Buffer.alloc(1024, 1));
      assert.deepEqual(blob.subarray(1024, 2048), Buffer.alloc(1024, 0));
      assert.deepEqual(blob.subarray(2048), Buffer.alloc(52, 3));
    } finally {
      emu.setVersion('4.18.0');
    }
  });

  it('preAllocate=false: a chunk beyond the stored length → 50004; in order works', async () => {
    emu.setPolicy({ preAllocate: false });
    try {
      const s = await createSession(emu, tok, { uri: 'cloudreve://my/up/nopre.bin', size: 2048 });
      const sid = s.json.data.session_id;
      assert.equal((await putChunk(emu, tok, sid, 1, Buffer.alloc(1024, 2))).json.code, 50004);
      assert.equal((await putChunk(emu, tok, sid, 0, Buffer.alloc(1024, 1))).json.code, 0);
      assert.equal((await putChunk(emu, tok, sid, 1, Buffer.alloc(1024, 2))).json.code, 0);
      assert.equal(emu.blob('cloudreve://my/up/nopre.bin')!.length, 2048);
    } finally {
      emu.setPolicy({ preAllocate: true });
    }
  });

  it('empty file: one zero-length chunk at index 0', async () => {
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/up/empty', size: 0 });
    assert.equal((await putChunk(emu, tok, s.json.data.session_id, 0, Buffer.alloc(0))).json.code, 0);
    assert.equal((emu.file('cloudreve://my/up/empty') as any).size, 0);
    assert.deepEqual(emu.blob('cloudreve://my/up/empty'), Buffer.alloc(0));
  });

  it('session expiry (sessionTtl 1 s) → 40011 and the reservation is released', async () => {
    const e2 = await startEmulator({ sessionTtl: 1 });
    try {
      const t = (await login(e2)).access;
      const s = await createSession(e2, t, { uri: 'cloudreve://my/exp.bin', size: 10 });
      assert.equal((await api(e2, 'GET', '/api/v4/user/capacity', { token: t })).json.data.used, 10);
      await sleep(1100);
      const r = await putChunk(e2, t, s.json.data.session_id, 0, Buffer.alloc(10));
      assert.equal(r.json.code, 40011);
      assert.equal((await api(e2, 'GET', '/api/v4/user/capacity', { token: t })).json.data.used, 0);
      // the placeholder stays; cancel after expiry still removes it
      assert.ok(e2.file('cloudreve://my/exp.bin'));
      const c = await api(e2, 'DELETE', '/api/v4/file/upload', { token: t, body: { id: s.json.data.session_id, uri: 'cloudreve://my/exp.bin' } });
      assert.equal(c.json.code, 0);
      assert.equal(e2.file('cloudreve://my/exp.bin'), null);
    } finally {
      await e2.close();
    }
  });
});

describe('encryption, relay, content, download URLs', () => {
  let emu: Emulator;
  let tok: string;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 1000, encryption: true }, maxEditSize: 4096 });
    tok = (await login(emu)).access;
  });
  after(() => emu.close());

  async function download(uri: string, range?: string): Promise<{ status: number; body: Buffer }> {
    const u = await api(emu, 'POST', '/api/v4/file/url', { token: tok, body: { uris: [uri], download: true } });
    assert.equal(u.json.code, 0, u.text);
    assert.ok(u.json.data.expires);
    const r = await fetch(u.json.data.urls[0].url, { headers: range ? { range } : {} });
    return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
  }

  it('client-side encryption: encrypt_metadata shape, blob = client bytes, download decrypts (ranges too)', async () => {
    const plain = randomBytes(4321);
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/enc/a.bin', size: plain.length, encryption_supported: ['aes-256-ctr'] });
    assert.equal(s.json.code, 0);
    const m = s.json.data.encrypt_metadata;
    assert.equal(m.algorithm, 'aes-256-ctr');
    assert.equal(m.key, null);
    assert.ok('key' in m);
    assert.equal(m.key_plain_text.length, 44);
    assert.equal(m.iv.length, 24);
    const key = Buffer.from(m.key_plain_text, 'base64');
    const iv = Buffer.from(m.iv, 'base64');
    const c = createCipheriv('aes-256-ctr', key, iv);
    const cipher = Buffer.concat([c.update(plain), c.final()]);
    const sid = s.json.data.session_id;
    // chunk boundaries (1000) are not multiples of 16; upload out of order
    for (const i of [4, 2, 0, 3, 1]) {
      const r = await putChunk(emu, tok, sid, i, cipher.subarray(i * 1000, Math.min(plain.length, (i + 1) * 1000)));
      assert.equal(r.json.code, 0, r.text);
    }
    assert.deepEqual(emu.blob('cloudreve://my/enc/a.bin'), cipher);
    const info = emu.entity('cloudreve://my/enc/a.bin')!;
    assert.equal(info.encrypted, true);
    assert.equal(info.key, m.key_plain_text);
    assert.equal(info.iv, m.iv);
    const ext = await api(emu, 'GET', '/api/v4/file/info?extended=true&uri=' + encodeURIComponent('cloudreve://my/enc/a.bin'), { token: tok });
    assert.equal(ext.json.data.extended_info.entities[0].encrypted_with, 'aes-256-ctr');
    assert.equal(ext.json.data.extended_info.entities[0].id, ext.json.data.primary_entity);
    const hookEntity = await api(emu, 'GET', '/__emulator/entity?uri=' + encodeURIComponent('cloudreve://my/enc/a.bin'));
    assert.equal(hookEntity.json.encrypted, true);
    const d = await download('cloudreve://my/enc/a.bin');
    assert.equal(d.status, 200);
    assert.deepEqual(d.body, plain);
    const part = await download('cloudreve://my/enc/a.bin', 'bytes=1001-2050');
    assert.equal(part.status, 206);
    assert.deepEqual(part.body, plain.subarray(1001, 2051));
  });

  it('no encryption_supported → nothing is encrypted even on an encryption policy', async () => {
    const plain = Buffer.from('plain text stays plain');
    const d = await uploadFile(emu, tok, 'cloudreve://my/enc/plain.txt', plain);
    assert.equal('encrypt_metadata' in d, false);
    assert.deepEqual(emu.blob('cloudreve://my/enc/plain.txt'), plain);
    assert.equal(emu.entity('cloudreve://my/enc/plain.txt')!.encrypted, false);
  });

  it('relay + encryption: chunk_size 0, no encrypt_metadata, server stores ciphertext, download is plaintext', async () => {
    emu.setPolicy({ relay: true });
    try {
      const plain = randomBytes(3000);
      const s = await createSession(emu, tok, { uri: 'cloudreve://my/enc/relay.bin', size: plain.length, encryption_supported: ['aes-256-ctr'] });
      assert.equal(s.json.data.chunk_size, 0);
      assert.equal('encrypt_metadata' in s.json.data, false);
      assert.equal(s.json.data.storage_policy.relay, true);
      assert.equal((await putChunk(emu, tok, s.json.data.session_id, 0, plain)).json.code, 0);
      const blob = emu.blob('cloudreve://my/enc/relay.bin')!;
      assert.notDeepEqual(blob, plain);
      const info = emu.entity('cloudreve://my/enc/relay.bin')!;
      assert.equal(info.encrypted, true);
      const c = createCipheriv('aes-256-ctr', Buffer.from(info.key!, 'base64'), Buffer.from(info.iv!, 'base64'));
      assert.deepEqual(Buffer.concat([c.update(plain), c.final()]), blob);
      assert.deepEqual((await download('cloudreve://my/enc/relay.bin')).body, plain);
    } finally {
      emu.setPolicy({ relay: false });
    }
  });

  it('PUT /file/content: create, new version with previous, 40076, 40049, 40073, server-side encryption', async () => {
    const put = (uri: string, body: Buffer | string, previous?: string) =>
      api(emu, 'PUT', `/api/v4/file/content?uri=${encodeURIComponent(uri)}${previous ? `&previous=${previous}` : ''}`, {
        token: tok,
        raw: typeof body === 'string' ? Buffer.from(body) : body,
      });
    const a = await put('cloudreve://my/content/new/doc.txt', 'first');
    assert.equal(a.json.code, 0, a.text);
    assert.equal(a.json.data.size, 5);
    assert.equal(a.json.data.path, 'cloudreve://my/content/new/doc.txt');
    const blob = emu.blob('cloudreve://my/content/new/doc.txt')!;
    assert.notEqual(blob.toString(), 'first', 'policy encryption → the server encrypts');
    assert.equal(emu.entity('cloudreve://my/content/new/doc.txt')!.encrypted, true);
    assert.equal((await download('cloudreve://my/content/new/doc.txt')).body.toString(), 'first');
    const b = await put('cloudreve://my/content/new/doc.txt', 'second!', a.json.data.primary_entity);
    assert.equal(b.json.code, 0);
    assert.notEqual(b.json.data.primary_entity, a.json.data.primary_entity);
    const stale = await put('cloudreve://my/content/new/doc.txt', 'third', a.json.data.primary_entity);
    assert.equal(stale.json.code, 40076);
    const big = await put('cloudreve://my/content/big.bin', Buffer.alloc(5000));
    assert.equal(big.json.code, 40049);
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/content/new/doc.txt', size: 3, entity_type: 'version' });
    assert.equal(s.json.code, 0);
    const locked = await put('cloudreve://my/content/new/doc.txt', 'x');
    assert.equal(locked.json.code, 40073);
    await api(emu, 'DELETE', '/api/v4/file/upload', { token: tok, body: { id: s.json.data.session_id, uri: s.json.data.uri } });
    assert.equal((await download('cloudreve://my/content/new/doc.txt')).body.toString(), 'second!');
  });

  it('/file/url errors and signature checks on the content route', async () => {
    const miss = await api(emu, 'POST', '/api/v4/file/url', { token: tok, body: { uris: ['cloudreve://my/none.txt'] } });
    assert.equal(miss.json.code, 40081);
    assert.equal(miss.json.aggregated_error['cloudreve://my/none.txt'].code, 40016);
    const u = await api(emu, 'POST', '/api/v4/file/url', { token: tok, body: { uris: ['cloudreve://my/enc/plain.txt'] } });
    const bad = new URL(u.json.data.urls[0].url);
    bad.searchParams.set('sign', 'AAAA' + bad.searchParams.get('sign')!.slice(4));
    const r = await api(emu.url, 'GET', bad.pathname + bad.search);
    assert.equal(r.json.code, 40071);
  });
});


describe('remote (slave) policy', () => {
  let emu: Emulator;
  let tok: string;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'remote', chunkSize: 1024, chunkConcurrency: 2 } });
    tok = (await login(emu)).access;
  });
  after(() => emu.close());

  it('session: upload_urls + Bearer Cr credential; master chunk → 40006', async () => {
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/r/a.bin', size: 10 });
    const d = s.json.data;
    assert.deepEqual(d.upload_urls, [`${emu.url}/api/v4/slave/upload/${d.session_id}`]);
    assert.match(d.credential, new RegExp(`^Bearer Cr [A-Za-z0-9_-]+={0,2}:${d.expires}$`));
    assert.equal(d.storage_policy.chunk_concurrency, 2);
    assert.equal(d.storage_policy.type, 'remote');
    assert.equal((await putChunk(emu, tok, d.session_id, 0, Buffer.alloc(10))).json.code, 40006);
    await api(emu, 'DELETE', '/api/v4/file/upload', { token: tok, body: { id: d.session_id, uri: d.uri } });
  });

  it('slave upload with the credential completes through the signed master callback', async () => {
    const data = cryptoMod.randomBytes(2500);
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/r/b.bin', size: data.length });
    const d = s.json.data;
    const url = d.upload_urls[0];
    const hdr = (len: number) => ({ authorization: d.credential, 'content-type': 'application/octet-stream', 'content-length': len });
    // signature failures
    const extra = await rawPost(`${url}?chunk=0`, { ...hdr(1024), 'X-Cr-Client-Id': '0b5a8c43-7e0a-4a4c-9a55-2f6c5e0d1a11' }, data.subarray(0, 1024));
    assert.equal(extra.json.code, 40071);
    const tampered = await rawPost(`${url}?chunk=0`, { ...hdr(1024), authorization: d.credential.replace(/^Bearer Cr ./, 'Bearer Cr x') }, data.subarray(0, 1024));
    assert.equal(tampered.json.code, 40071);
    const none = await rawPost(`${url}?chunk=0`, { 'content-length': 1024 }, data.subarray(0, 1024));
    assert.equal(none.json.code, 403);
    // X-Cr-Filename is not part of the signed content
    const fname = await rawPost(`${url}?chunk=0`, { ...hdr(1024), 'X-Cr-Filename': 'b.bin' }, data.subarray(0, 1024));
    assert.equal(fname.json.code, 0, fname.text);
    // no index range check on the slave: past the end → 40013 with a negative expected length
    const past = await rawPost(`${url}?chunk=5`, hdr(1), Buffer.alloc(1));
    assert.equal(past.json.code, 40013);
    assert.equal(past.json.msg, 'Invalid Content-Length (expected: -2620)');
    assert.equal((await rawPost(`${url}?chunk=2`, hdr(452), data.subarray(2048))).json.code, 0);
    assert.equal(emu.blob('cloudreve://my/r/b.bin'), null, 'not complete yet');
    const last = await rawPost(`${url}?chunk=1`, hdr(1024), data.subarray(1024, 2048));
    assert.equal(last.json.code, 0, last.text);
    assert.deepEqual(emu.blob('cloudreve://my/r/b.bin'), data);
    assert.equal((emu.file('cloudreve://my/r/b.bin') as any).size, 2500);
    // the callback consumed the session: a second call → HTTP 401 + 40011
    const again = await api(emu, 'POST', `/api/v4/callback/remote/${d.session_id}/${d.callback_secret}`);
    assert.equal(again.status, 401);
    assert.equal(again.json.code, 40011);
  });

  it('callback route checks: wrong secret 40020, wrong type 40006, missing signature 403 (all HTTP 401)', async () => {
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/r/c.bin', size: 4 });
    const d = s.json.data;
    const w = await api(emu, 'POST', `/api/v4/callback/remote/${d.session_id}/wrong`);
    assert.equal(w.status, 401);
    assert.equal(w.json.code, 40020);
    const t = await api(emu, 'GET', `/api/v4/callback/s3/${d.session_id}/${d.callback_secret}`);
    assert.equal(t.status, 401);
    assert.equal(t.json.code, 40006);
    const od = await api(emu, 'POST', `/api/v4/callback/onedrive/${d.session_id}/${d.callback_secret}`);
    assert.equal(od.json.code, 40006);
    const ns = await api(emu, 'POST', `/api/v4/callback/remote/${d.session_id}/${d.callback_secret}`);
    assert.equal(ns.status, 401);
    assert.equal(ns.json.code, 403);
    assert.ok(emu.file('cloudreve://my/r/c.bin'), 'still a placeholder');
    // callback failure (master answers garbage) → 50007 from the slave
    emu.addFault({ method: 'POST', path: '^/api/v4/callback/remote/', action: { type: 'status', status: 502, body: 'bad gateway' } });
    const r = await rawPost(`${d.upload_urls[0]}?chunk=0`, { authorization: d.credential, 'content-length': 4 }, Buffer.from('abcd'));
    assert.equal(r.json.code, 50007);
    emu.clearFaults();
    await api(emu, 'DELETE', '/api/v4/file/upload', { token: tok, body: { id: d.session_id, uri: d.uri } });
  });

  it('expired credential → 40005; encryption on remote is client-side (slave stores bytes as received)', async () => {
    const e2 = await startEmulator({ policy: { type: 'remote', encryption: true, chunkSize: 0 }, sessionTtl: 1 });
    try {
      const t = (await login(e2)).access;
      const s = await createSession(e2, t, { uri: 'cloudreve://my/x.bin', size: 32, encryption_supported: ['aes-256-ctr'] });
      const d = s.json.data;
      assert.equal(d.chunk_size, 0);
      assert.ok(d.encrypt_metadata);
      const payload = cryptoMod.randomBytes(32);
      const ok = await rawPost(`${d.upload_urls[0]}?chunk=0`, { authorization: d.credential, 'content-length': 32 }, payload);
      assert.equal(ok.json.code, 0, ok.text);
      assert.deepEqual(e2.blob('cloudreve://my/x.bin'), payload, 'slave never encrypts');
      const s2 = await createSession(e2, t, { uri: 'cloudreve://my/y.bin', size: 4 });
      const d2 = s2.json.data;
      while (Math.floor(Date.now() / 1000) <= d2.expires) await sleep(100);
      const r = await rawPost(`${d2.upload_urls[0]}?chunk=0`, { authorization: d2.credential, 'content-length': 4 }, Buffer.from('abcd'));
      assert.equal(r.json.code, 40005);
    } finally {
      await e2.close();
    }
  });
});

/** Minimal SSE reader over fetch. */
async function openEvents(emu: Emulator, token: string, uri: string, clientId?: string) {
  const ac = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (clientId) headers['X-Cr-Client-Id'] = clientId;
  const r = await fetch(`${emu.url}/api/v4/file/events?uri=${encodeURIComponent(uri)}`, { headers, signal: ac.signal });
  const events: Array<{ event: string; data: string }> = [];
  const waiters: Array<() => void> = [];
  let raw = '';
  if (r.headers.get('content-type')?.startsWith('text/event-stream')) {
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          raw += dec.decode(value, { stream: true });
          let i: number;
          while ((i = raw.indexOf('\n\n')) >= 0) {
            const block = raw.slice(0, i);
            raw = raw.slice(i + 2);
            const ev = /^event:(.*)$/m.exec(block)?.[1] ?? '';
            const data = /^data:(.*)$/m.exec(block)?.[1] ?? '';
            events.push({ event: ev, data });
            waiters.splice(0).forEach((w) => w());
          }
        }
      } catch {
        /* aborted */
      }
    })();
  }
  const waitFor = async (pred: (e: Array<{ event: string; data: string }>) => boolean, ms = 3000) => {
    const deadline = Date.now() + ms;
    while (!pred(events)) {
      if (Date.now() > deadline) throw new Error(`timeout; got ${JSON.stringify(events)}`);
      await Promise.race([new Promise<void>((res) => waiters.push(res)), sleep(50)]);
    }
  };
  return { response: r, events, waitFor, close: () => ac.abort() };
}

describe('SSE file events', () => {
  let emu: Emulator;
  let tok: string;
  const A = '11111111-2222-4333-8444-555555555555';
  const B = '99999999-2222-4333-8444-555555555555';
  before(async () => {
    emu = await startEmulator({ eventDebounceMs: 100, keepAliveMs: 300 });
    tok = (await login(emu)).access;
    await api(emu, 'POST', '/api/v4/file/create', { token: tok, body: { uri: 'cloudreve://my/watch', type: 'folder' } });
  });
  after(() => emu.close());

  it('requires a UUID X-Cr-Client-Id and an existing folder', async () => {
    const no = await api(emu, 'GET', '/api/v4/file/events?uri=' + encodeURIComponent('cloudreve://my/watch'), { token: tok });
    assert.equal(no.json.code, 40001);
    const bad = await api(emu, 'GET', '/api/v4/file/events?uri=' + encodeURIComponent('cloudreve://my/watch'), { token: tok, headers: { 'X-Cr-Client-Id': 'xyz' } });
    assert.equal(bad.json.code, 40001);
    const missing = await api(emu, 'GET', '/api/v4/file/events?uri=' + encodeURIComponent('cloudreve://my/nope'), { token: tok, headers: { 'X-Cr-Client-Id': A } });
    assert.equal(missing.json.code, 40001);
    const anon = await api(emu, 'GET', '/api/v4/file/events?uri=' + encodeURIComponent('cloudreve://my/watch'), { headers: { 'X-Cr-Client-Id': A } });
    assert.equal(anon.json.code, 401);
  });

  it('subscribed, subtree events with relative paths, debounce, no echo, keep-alive, resume', async () => {
    const s = await openEvents(emu, tok, 'cloudreve://my/watch', A);
    await s.waitFor((e) => e.length >= 1);
    assert.deepEqual(s.events[0], { event: 'subscribed', data: '<nil>' });
    const asB = { 'X-Cr-Client-Id': B };
    // upload by B: create (placeholder) + modify (completion) debounce into a single create
    const sess = await api(emu, 'PUT', '/api/v4/file/upload', { token: tok, headers: asB, body: { uri: 'cloudreve://my/watch/sub/a.txt', size: 3 } });
    await api(emu, 'POST', `/api/v4/file/upload/${sess.json.data.session_id}/0`, { token: tok, headers: asB, raw: Buffer.from('abc') });
    await s.waitFor((e) => e.filter((x) => x.event === 'event').length >= 2);
    const evs = () => s.events.filter((x) => x.event === 'event').map((x) => JSON.parse(x.data));
    const first = evs();
    assert.deepEqual(first.map((e: any) => [e.type, e.from]), [['create', '/sub'], ['create', '/sub/a.txt']]);
    const aId = (emu.file('cloudreve://my/watch/sub/a.txt') as any).id;
    assert.equal(first[1].file_id, aId);
    assert.equal(first[1].to, '');
    // rename by B
    await api(emu, 'POST', '/api/v4/file/rename', { token: tok, headers: asB, body: { uri: 'cloudreve://my/watch/sub/a.txt', new_name: 'b.txt' } });
    await s.waitFor((e) => e.filter((x) => x.event === 'event').length >= 3);
    assert.deepEqual(evs()[2], { type: 'rename', file_id: aId, from: '/sub/a.txt', to: '/sub/b.txt' });
    // a change made by A itself is not echoed; one by B is
    await api(emu, 'POST', '/api/v4/file/create', { token: tok, headers: { 'X-Cr-Client-Id': A }, body: { uri: 'cloudreve://my/watch/mine.txt', type: 'file' } });
    await api(emu, 'DELETE', '/api/v4/file', { token: tok, headers: asB, body: { uris: ['cloudreve://my/watch/sub/b.txt'] } });
    await s.waitFor((e) => e.filter((x) => x.event === 'event').length >= 4);
    await sleep(250);
    const all = evs();
    assert.equal(all.length, 4);
    assert.deepEqual([all[3].type, all[3].from], ['delete', '/sub/b.txt']);
    // changes outside the subscribed folder are not delivered
    await api(emu, 'POST', '/api/v4/file/create', { token: tok, headers: asB, body: { uri: 'cloudreve://my/elsewhere.txt', type: 'file' } });
    await s.waitFor((e) => e.some((x) => x.event === 'keep-alive'));
    assert.equal(evs().length, 4);
    // disconnect, change, reconnect with the same client id → resumed + buffered event
    s.close();
    await sleep(100);
    await api(emu, 'POST', '/api/v4/file/create', { token: tok, headers: asB, body: { uri: 'cloudreve://my/watch/while-away.txt', type: 'file' } });
    const s2 = await openEvents(emu, tok, 'cloudreve://my/watch', A);
    await s2.waitFor((e) => e.filter((x) => x.event === 'event').length >= 1);
    assert.equal(s2.events[0].event, 'resumed');
    assert.equal(JSON.parse(s2.events.find((x) => x.event === 'event')!.data).from, '/while-away.txt');
    s2.close();
  });
});

describe('fault injection, stats and hooks', () => {
  let emu: Emulator;
  let tok: string;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 } });
    tok = (await login(emu)).access;
  });
  after(() => emu.close());

  it('status, envelope and delay faults (API and HTTP hook)', async () => {
    emu.addFault({ method: 'GET', path: '^/api/v4/user/me$', action: { type: 'status', status: 503, body: 'busy', headers: { 'Retry-After': '1' } } });
    const a = await api(emu, 'GET', '/api/v4/user/me', { token: tok });
    assert.equal(a.status, 503);
    assert.equal(a.text, 'busy');
    assert.equal(a.headers.get('retry-after'), '1');
    assert.equal((await api(emu, 'GET', '/api/v4/user/me', { token: tok })).json.code, 0, 'times defaults to 1');
    const set = await api(emu, 'POST', '/__emulator/faults', {
      body: [{ path: '^/api/v4/user/capacity$', times: 2, action: { type: 'envelope', code: 50001, msg: 'db down' } }],
    });
    assert.equal(set.status, 200);
    for (let i = 0; i < 2; i++) {
      const r = await api(emu, 'GET', '/api/v4/user/capacity', { token: tok });
      assert.equal(r.status, 200);
      assert.equal(r.json.code, 50001);
      assert.equal(r.json.msg, 'db down');
    }
    assert.equal((await api(emu, 'GET', '/api/v4/user/capacity', { token: tok })).json.code, 0);
    emu.addFault({ path: '^/api/v4/site/ping$', action: { type: 'delay', ms: 300 } });
    const t0 = Date.now();
    const p = await api(emu, 'GET', '/api/v4/site/ping');
    assert.ok(Date.now() - t0 >= 290);
    assert.equal(p.json.code, 0);
    emu.addFault({ path: '^/api/v4/site/ping$', times: 5, action: { type: 'status', status: 500 } });
    await api(emu, 'DELETE', '/__emulator/faults');
    assert.equal((await api(emu, 'GET', '/api/v4/site/ping')).status, 200);
  });

  it('reset fault drops the connection mid-body; the retry succeeds; stats count bytes and chunks', async () => {
    await api(emu, 'POST', '/__emulator/stats/reset');
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/fault.bin', size: 2048 });
    const sid = s.json.data.session_id;
    emu.addFault({ method: 'POST', path: `^/api/v4/file/upload/${sid}/1$`, action: { type: 'reset', afterBytes: 100 } });
    const part = Buffer.alloc(1024, 9);
    await assert.rejects(() => rawPost(`${emu.url}/api/v4/file/upload/${sid}/1`, { authorization: `Bearer ${tok}`, 'content-length': 1024 }, [part.subarray(0, 512), part.subarray(512)]));
    assert.equal((await putChunk(emu, tok, sid, 1, part)).json.code, 0);
    assert.equal((await putChunk(emu, tok, sid, 0, part)).json.code, 0);
    const st = (await api(emu, 'GET', '/__emulator/stats')).json;
    assert.equal(st.chunk_requests, 2);
    assert.equal(st.sessions_created, 1);
    assert.equal(st.sessions_completed, 1);
    assert.ok(st.bytes_received >= 2048 + 100 && st.bytes_received <= 3072, String(st.bytes_received));
    assert.deepEqual(emu.stats(), st);
    const blob = await fetch(`${emu.url}/__emulator/blob?uri=${encodeURIComponent('cloudreve://my/fault.bin')}`);
    assert.equal(blob.status, 200);
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), Buffer.alloc(2048, 9));
    const none = await fetch(`${emu.url}/__emulator/blob?uri=${encodeURIComponent('cloudreve://my/none')}`);
    assert.equal(none.status, 404);
    await none.text();
  });

  it('sessions and policy hooks', async () => {
    const s = await createSession(emu, tok, { uri: 'cloudreve://my/hook.bin', size: 3000 });
    await putChunk(emu, tok, s.json.data.session_id, 1, Buffer.alloc(1024));
    const list = (await api(emu, 'GET', '/__emulator/sessions')).json;
    const mine = list.find((x: any) => x.id === s.json.data.session_id);
    assert.equal(mine.uri, 'cloudreve://my/hook.bin');
    assert.deepEqual(mine.received, [1]);
    assert.equal(mine.expires, s.json.data.expires);
    const pol = await api(emu, 'POST', '/__emulator/policy', { body: { chunkSize: 2048, chunkConcurrency: 4 } });
    assert.equal(pol.json.chunkSize, 2048);
    const s2 = await createSession(emu, tok, { uri: 'cloudreve://my/hook2.bin', size: 1 });
    assert.equal(s2.json.data.chunk_size, 2048);
    assert.equal(s2.json.data.storage_policy.chunk_concurrency, 4);
    const list2 = await api(emu, 'GET', '/api/v4/file?uri=' + encodeURIComponent('cloudreve://my'), { token: tok });
    assert.equal(list2.json.data.storage_policy.chunk_concurrency, 4);
  });
});

describe('CLI', () => {
  it('prints one JSON line and serves until SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/emulator/cli.ts', '--port', '0', '--version', '4.17.2', '--policy', 'remote', '--chunk-size', '4096', '--user', 'cli@example.com:pw-1234'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error('CLI did not print in time')), 20000);
        child.stdout.on('data', (c) => {
          buf += c;
          const i = buf.indexOf('\n');
          if (i >= 0) {
            clearTimeout(timer);
            resolve(buf.slice(0, i));
          }
        });
        child.on('exit', (code) => reject(new Error(`CLI exited early with ${code}`)));
      });
      const info = JSON.parse(line);
      assert.deepEqual(Object.keys(info).sort(), ['data', 'email', 'oauth', 'password', 'port', 'url', 'version']);
      assert.equal(info.email, 'cli@example.com');
      assert.equal(info.version, '4.17.2');
      assert.deepEqual(Object.keys(info.oauth).sort(), ['clientId', 'clientSecret', 'redirectUri']);
      assert.equal(info.url, `http://127.0.0.1:${info.port}`);
      const ping = await api(info.url, 'GET', '/api/v4/site/ping');
      assert.equal(ping.json.data, '4.17.2');
      const t = await api(info.url, 'POST', '/api/v4/session/token', { body: { email: info.email, password: info.password } });
      const s = await api(info.url, 'PUT', '/api/v4/file/upload', { token: t.json.data.token.access_token, body: { uri: 'cloudreve://my/x', size: 1 } });
      assert.equal(s.json.data.chunk_size, 4096);
      assert.equal(s.json.data.storage_policy.type, 'remote');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
