// The emulator's download side (§4.8): POST /file/url, the signed content route (Range, 416, Content-Length, ETag,
// If-Range, HEAD), an S3-like storage's pre-signed GET of the committed object (and `redirect`), the `entity` option,
// the `cut` fault and the byte counters the client tests read.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { startEmulator, type Emulator } from './index.js';
import { api, createSession, login, putChunk, uploadFile } from './helpers.js';

async function fileUrl(emu: Emulator, tok: string, body: Record<string, unknown>) {
  return api(emu, 'POST', '/api/v4/file/url', { token: tok, body });
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const r = await fetch(url, { method, headers, redirect: 'manual' });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

describe('downloads: the signed content route (local policy)', () => {
  let emu: Emulator;
  let tok: string;
  const data = randomBytes(100_000);
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    tok = (await login(emu)).access;
    await uploadFile(emu, tok, 'cloudreve://my/d/a.bin', data);
    await uploadFile(emu, tok, 'cloudreve://my/d/empty.bin', Buffer.alloc(0));
  });
  after(() => emu.close());

  it('whole file: 200, Content-Length, Accept-Ranges, ETag = the entity; a Range: 206 + Content-Range; past the end: 416', async () => {
    const u = await fileUrl(emu, tok, { uris: ['cloudreve://my/d/a.bin'], download: true });
    assert.equal(u.json.code, 0, u.text);
    const url: string = u.json.data.urls[0].url;
    assert.match(url, /\/api\/v4\/file\/content\/[^/]+\/0\/a\.bin\?download=true&sign=/);
    assert.equal(u.json.data.urls[0].stream_saver_display_name, 'a.bin');
    emu.resetStats();
    const whole = await get(url);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-length'), String(data.length));
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    const file = (await api(emu, 'GET', '/api/v4/file/info?uri=' + encodeURIComponent('cloudreve://my/d/a.bin'), { token: tok })).json.data;
    assert.equal(whole.headers.get('etag'), `"${file.primary_entity}"`);
    assert.ok(whole.body.equals(data));
    const part = await get(url, { range: 'bytes=60000-' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 60000-99999/${data.length}`);
    assert.equal(part.headers.get('content-length'), '40000');
    assert.ok(part.body.equals(data.subarray(60000)));
    const mid = await get(url, { range: 'bytes=10-19' });
    assert.ok(mid.body.equals(data.subarray(10, 20)));
    const tail = await get(url, { range: 'bytes=-5' });
    assert.ok(tail.body.equals(data.subarray(-5)));
    const past = await get(url, { range: `bytes=${data.length}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${data.length}`);
    const st = emu.stats();
    assert.equal(st.bytes_sent, data.length + 40000 + 10 + 5);
    assert.equal(st.download_requests, 5);
  });

  it('If-Range with another ETag answers the whole file; HEAD has the length and no body; an empty file ignores Range', async () => {
    const url: string = (await fileUrl(emu, tok, { uris: ['cloudreve://my/d/a.bin'] })).json.data.urls[0].url;
    const stale = await get(url, { range: 'bytes=100-', 'if-range': '"someone-else"' });
    assert.equal(stale.status, 200);
    assert.equal(stale.body.length, data.length);
    const head = await get(url, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(data.length));
    assert.equal(head.body.length, 0);
    const e = (await fileUrl(emu, tok, { uris: ['cloudreve://my/d/empty.bin'] })).json.data.urls[0].url;
    const empty = await get(e, { range: 'bytes=0-' });
    assert.equal(empty.status, 200);
    assert.equal(empty.headers.get('content-length'), '0');
  });

  it('`entity` names the version; once replaced it is 40077; a bad signature is refused', async () => {
    const info = (await api(emu, 'GET', '/api/v4/file/info?uri=' + encodeURIComponent('cloudreve://my/d/v.bin'), { token: tok })).json;
    assert.equal(info.code, 40016);
    await uploadFile(emu, tok, 'cloudreve://my/d/v.bin', Buffer.from('one'));
    const first = (await api(emu, 'GET', '/api/v4/file/info?uri=' + encodeURIComponent('cloudreve://my/d/v.bin'), { token: tok })).json.data.primary_entity;
    const ok = await fileUrl(emu, tok, { uris: ['cloudreve://my/d/v.bin'], entity: first });
    assert.equal(ok.json.code, 0);
    const oldUrl: string = ok.json.data.urls[0].url;
    const put = await api(emu, 'PUT', '/api/v4/file/content?uri=' + encodeURIComponent('cloudreve://my/d/v.bin'), { token: tok, raw: Buffer.from('two!') });
    assert.equal(put.json.code, 0, put.text);
    const gone = await fileUrl(emu, tok, { uris: ['cloudreve://my/d/v.bin'], entity: first });
    assert.equal(gone.json.code, 40081, gone.text);
    assert.equal(gone.json.aggregated_error['cloudreve://my/d/v.bin'].code, 40077);
    // the old URL names an entity that is gone
    const r = await api(emu, 'GET', new URL(oldUrl).pathname + new URL(oldUrl).search);
    assert.equal(r.json.code, 40077);
    const bad = new URL(oldUrl);
    bad.searchParams.set('sign', 'x' + bad.searchParams.get('sign')!.slice(1));
    assert.notEqual((await api(emu, 'GET', bad.pathname + bad.search)).json.code, 0);
  });

  it('the `cut` fault drops the answer after N bytes; the next request is whole', async () => {
    const url: string = (await fileUrl(emu, tok, { uris: ['cloudreve://my/d/a.bin'] })).json.data.urls[0].url;
    emu.addFault({ method: 'GET', path: '^/api/v4/file/content/', action: { type: 'cut', afterBytes: 30_000 } });
    const r = await fetch(url);
    assert.equal(r.status, 200);
    let got = 0;
    await assert.rejects(async () => {
      for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) got += c.length;
    });
    assert.equal(got, 30_000);
    assert.ok((await get(url)).body.equals(data));
  });
});

/** One whole-file upload to an emulated S3 vendor: the part PUT, the complete POST, the client's callback. */
async function uploadS3(emu: Emulator, tok: string, uri: string, data: Buffer): Promise<void> {
  const s = await createSession(emu, tok, { uri, size: data.length });
  assert.equal(s.json.code, 0, s.text);
  const d = s.json.data;
  assert.equal(d.upload_urls.length, 1);
  const put = await fetch(d.upload_urls[0], { method: 'PUT', body: new Uint8Array(data), headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(put.status, 200, await put.text());
  const etag = put.headers.get('etag');
  const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
  const done = await fetch(d.completeURL, { method: 'POST', body: xml, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(done.status, 200, await done.text());
  const cb = await api(emu, 'GET', `/api/v4/callback/s3/${d.session_id}/${d.callback_secret}`, { token: tok });
  assert.equal(cb.json.code, 0, cb.text);
}

describe('downloads: an S3-like storage hands out its own pre-signed GET', () => {
  let emu: Emulator;
  let tok: string;
  const data = randomBytes(50_000);
  before(async () => {
    emu = await startEmulator({ policy: { type: 's3' } });
    tok = (await login(emu)).access;
    await uploadS3(emu, tok, 'cloudreve://my/s3/a.bin', data);
  });
  after(() => emu.close());

  it('/file/url is the storage object URL (Range, 416 as XML); `redirect` answers 302 to it; a tampered URL is AccessDenied', async () => {
    const u = await fileUrl(emu, tok, { uris: ['cloudreve://my/s3/a.bin'], download: true });
    assert.equal(u.json.code, 0, u.text);
    const url: string = u.json.data.urls[0].url;
    assert.match(url, /\/__vendor\/s3like\/s3\/cloudreve\/uploads\/[^?]+\?Expires=\d+&X-Signed-Headers=&Signature=[0-9a-f]+$/);
    emu.resetStats();
    const whole = await get(url);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-length'), String(data.length));
    assert.ok(whole.body.equals(data));
    const part = await get(url, { range: 'bytes=49000-' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 49000-49999/${data.length}`);
    assert.ok(part.body.equals(data.subarray(49000)));
    const past = await get(url, { range: 'bytes=50000-' });
    assert.equal(past.status, 416);
    assert.match(past.body.toString(), /<Code>InvalidRange<\/Code>/);
    assert.equal(emu.stats().bytes_sent, data.length + 1000);
    const raw = await fetch(`${emu.url}/api/v4/file/url`, {
      method: 'POST',
      redirect: 'manual',
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
      body: JSON.stringify({ uris: ['cloudreve://my/s3/a.bin'], redirect: true }),
    });
    assert.equal(raw.status, 302);
    assert.match(raw.headers.get('location')!, /\/__vendor\/s3like\/s3\/cloudreve\/uploads\//);
    const tampered = url.replace(/Signature=([0-9a-f])/, (_m, c: string) => `Signature=${c === 'a' ? 'b' : 'a'}`);
    const denied = await get(tampered);
    assert.equal(denied.status, 403);
    assert.match(denied.body.toString(), /SignatureDoesNotMatch/);
  });

  it('an encrypted entity on the same policy goes through the master, which decrypts (ranges too)', async () => {
    emu.setPolicy({ encryption: true });
    try {
      const plain = randomBytes(3000);
      const s = await createSession(emu, tok, { uri: 'cloudreve://my/s3/enc.bin', size: plain.length, encryption_supported: ['aes-256-ctr'] });
      const m = s.json.data.encrypt_metadata;
      const c = createCipheriv('aes-256-ctr', Buffer.from(m.key_plain_text, 'base64'), Buffer.from(m.iv, 'base64'));
      const cipher = Buffer.concat([c.update(plain), c.final()]);
      const put = await fetch(s.json.data.upload_urls[0], { method: 'PUT', body: new Uint8Array(cipher) });
      const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${put.headers.get('etag')}</ETag></Part></CompleteMultipartUpload>`;
      assert.equal((await fetch(s.json.data.completeURL, { method: 'POST', body: xml })).status, 200);
      assert.equal((await api(emu, 'GET', `/api/v4/callback/s3/${s.json.data.session_id}/${s.json.data.callback_secret}`)).json.code, 0);
      assert.ok(emu.blob('cloudreve://my/s3/enc.bin')!.equals(cipher));
      const url: string = (await fileUrl(emu, tok, { uris: ['cloudreve://my/s3/enc.bin'] })).json.data.urls[0].url;
      assert.match(url, /\/api\/v4\/file\/content\//);
      assert.ok((await get(url)).body.equals(plain));
      assert.ok((await get(url, { range: 'bytes=1001-' })).body.equals(plain.subarray(1001)));
    } finally {
      emu.setPolicy({ encryption: undefined });
    }
  });

  it('a copied object keeps its storage URL', async () => {
    const mv = await api(emu, 'POST', '/api/v4/file/move', { token: tok, body: { uris: ['cloudreve://my/s3/a.bin'], dst: 'cloudreve://my', copy: true } });
    assert.equal(mv.json.code, 0, mv.text);
    const url: string = (await fileUrl(emu, tok, { uris: ['cloudreve://my/a.bin'] })).json.data.urls[0].url;
    assert.match(url, /\/__vendor\/s3like\//);
    assert.ok((await get(url)).body.equals(data));
  });
});

describe('downloads: chunked uploads to the local policy serve what was stored', () => {
  it('a placeholder (upload in progress) has no download URL', async () => {
    const emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 } });
    try {
      const tok = (await login(emu)).access;
      const s = await createSession(emu, tok, { uri: 'cloudreve://my/p.bin', size: 2048 });
      await putChunk(emu, tok, s.json.data.session_id, 0, Buffer.alloc(1024, 1));
      const u = await fileUrl(emu, tok, { uris: ['cloudreve://my/p.bin'] });
      assert.notEqual(u.json.code, 0);
    } finally {
      await emu.close();
    }
  });
});
