// The emulated Upyun's multi-stage REST upload (`policy.upyunChunked`, `--upyun-chunked`), on the wire, with no client
// code: the chunked session's shape, the signature and its 30-minute date window, initiate / upload / complete with
// Upyun's errno answers, the notify that commits the file, and downloads of what was stored.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { createInterface } from 'node:readline';
import { startEmulator, type Emulator } from './index.js';
import { api, createSession, login, rawRequest, sleep } from './helpers.js';

const MiB = 1024 * 1024;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** A PUT through node:http, so that `Date` and every other header go exactly as given. */
function put(url: string, headers: Record<string, string>, body: Buffer = Buffer.alloc(0)): Promise<Answer> {
  return rawRequest('PUT', url, { ...headers, 'content-length': String(body.length) }, body);
}

interface Chunked {
  sid: string;
  url: string;
  credential: string;
  date: string;
  chunkSize: number;
}

async function chunkedSession(emu: Emulator, token: string, uri: string, size: number): Promise<Chunked> {
  const r = await createSession(emu, token, { uri, size });
  assert.equal(r.json?.code, 0, r.text);
  const d = r.json.data;
  const policy = JSON.parse(Buffer.from(d.upload_policy, 'base64').toString('utf8')) as { date: string; expiration: number };
  assert.equal(policy.expiration, Math.floor(Date.parse(policy.date) / 1000) + 1800, 'the policy says when the date runs out');
  return { sid: d.session_id, url: d.upload_urls[0], credential: d.credential, date: policy.date, chunkSize: d.chunk_size };
}

describe('emulated Upyun: multi-stage upload', () => {
  let emu: Emulator;
  let token: string;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'upyun', upyunChunked: true, chunkSize: 2 * MiB } });
    token = (await login(emu)).access;
  });
  after(async () => {
    await emu.close();
  });

  const auth = (s: Chunked, extra: Record<string, string> = {}) => ({ authorization: s.credential, date: s.date, ...extra });
  const initiate = (s: Chunked, length: number) => put(s.url, auth(s, { 'x-upyun-multi-stage': 'initiate', 'x-upyun-multi-length': String(length), 'x-upyun-multi-type': 'application/octet-stream' }));
  const upload = (s: Chunked, uuid: string, id: number | string, body: Buffer) =>
    put(s.url, auth(s, { 'x-upyun-multi-stage': 'upload', 'x-upyun-multi-uuid': uuid, 'x-upyun-part-id': String(id) }), body);
  const complete = (s: Chunked, uuid: string) => put(s.url, auth(s, { 'x-upyun-multi-stage': 'complete', 'x-upyun-multi-uuid': uuid }));
  const refused = (a: Answer, status: number, code: number) => {
    assert.equal(a.status, status, JSON.stringify(a.json));
    assert.equal(a.json?.code, code, JSON.stringify(a.json));
    assert.equal(typeof a.json?.msg, 'string');
  };
  /** bounded: the notify comes 150 ms after complete */
  const committed = async (uri: string) => {
    for (let i = 0; i < 100; i++) {
      const r = await api(emu, 'GET', `/api/v4/file/info?uri=${encodeURIComponent(uri)}`, { token });
      if (r.json?.code === 0 && !r.json.data.metadata?.['sys:upload_session_id']) return r.json.data;
      await sleep(30);
    }
    assert.fail(`${uri} was not committed`);
  };

  test('the chunked session: the REST URL of the object, the REST credential, the signed date; the form is not open to it', async () => {
    const s = await chunkedSession(emu, token, 'cloudreve://my/shape/a.bin', 10);
    assert.equal(s.chunkSize, 2 * MiB);
    assert.match(s.url, new RegExp(`^${emu.url}/__vendor/upyun/cloudreve/uploads/${s.sid}$`));
    assert.match(s.credential, /^UPYUN emulator:[A-Za-z0-9+/]{27}=$/);
    assert.ok(Math.abs(Date.parse(s.date) - Date.now()) < 5000, 'signed now');
    // the form upload of the same bucket does not take this credential and policy (they sign the REST PUT)
    const r = await createSession(emu, token, { uri: 'cloudreve://my/shape/a.bin', size: 10 });
    assert.equal(r.json?.code, 40004, 'the path is held by the upload above');
    const field = (name: string, value: string) => `--b\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const policy = Buffer.from(JSON.stringify({ date: s.date, expiration: 1 })).toString('base64');
    const body = field('policy', policy) + field('authorization', s.credential) + '--b\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n0123456789\r\n--b--\r\n';
    const form = await api(emu, 'POST', '/__vendor/upyun/cloudreve', { raw: body, headers: { 'content-type': 'multipart/form-data; boundary=b' } });
    assert.equal(form.status, 401, form.text);
    assert.equal(form.json?.code, 40100005);
  });

  test('signature and date: none, unreadable, signed otherwise, past 30 minutes on the Upyun clock', async () => {
    const s = await chunkedSession(emu, token, 'cloudreve://my/auth/a.bin', 10);
    const h = { 'x-upyun-multi-stage': 'initiate', 'x-upyun-multi-length': '10' };
    refused(await put(s.url, { authorization: s.credential, ...h }), 401, 40100001);
    refused(await put(s.url, { authorization: s.credential, date: 'yesterday-ish', ...h }), 401, 40100016);
    const other = new Date(Date.parse(s.date) - 1000).toUTCString();
    refused(await put(s.url, { authorization: s.credential, date: other, ...h }), 401, 40100005);
    refused(await put(s.url, { authorization: s.credential.replace(/.=$/, (m) => (m[0] === 'A' ? 'B=' : 'A=')), date: s.date, ...h }), 401, 40100005);
    try {
      emu.tune({ upyunClockOffsetMs: 31 * 60_000 });
      refused(await initiate(s, 10), 401, 40100002);
      emu.tune({ upyunClockOffsetMs: 29 * 60_000 });
      assert.equal((await initiate(s, 10)).status, 204, '29 minutes later the date is still good');
    } finally {
      emu.tune({ upyunClockOffsetMs: 0 });
    }
    // X-Date stands for Date
    const xd = await put(s.url, { authorization: s.credential, 'x-date': s.date, ...h });
    assert.equal(xd.status, 204);
  });

  test('initiate, 1 MiB parts strictly in order, complete; the notify commits the file; downloads read it', async () => {
    const data = Buffer.alloc(2 * MiB + 10);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 12)) & 0xff;
    const uri = 'cloudreve://my/flow/f.bin';
    const s = await chunkedSession(emu, token, uri, data.length);
    refused(await initiate(s, -1), 400, 40011052);
    const init = await initiate(s, data.length);
    assert.equal(init.status, 204);
    const uuid = String(init.headers['x-upyun-multi-uuid']);
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.equal(init.headers['x-upyun-next-part-id'], '0');

    const part = (n: number) => data.subarray(n * MiB, Math.min(data.length, (n + 1) * MiB));
    refused(await upload(s, '', 0, part(0)), 400, 40011056);
    refused(await upload(s, randomUUID(), 0, part(0)), 400, 40011058);
    refused(await upload(s, uuid, 'x', part(0)), 400, 40011051);
    const early = await upload(s, uuid, 1, part(1));
    refused(early, 400, 40011061);
    assert.equal(early.headers['x-upyun-next-part-id'], '0', 'the id it expects comes with the refusal');
    refused(await upload(s, uuid, 0, part(0).subarray(0, 1000)), 400, 40001027);
    refused(await complete(s, uuid), 400, 40001037);

    const p0 = await upload(s, uuid, 0, part(0));
    assert.equal(p0.status, 204);
    assert.equal(p0.headers['x-upyun-next-part-id'], '1');
    const again = await upload(s, uuid, 0, part(0));
    refused(again, 400, 40011061);
    assert.equal(again.headers['x-upyun-next-part-id'], '1', 'a part sent again is turned away with the next id');
    assert.equal((await upload(s, uuid, 1, part(1))).headers['x-upyun-next-part-id'], '2');
    refused(await upload(s, uuid, 2, Buffer.concat([part(2), Buffer.from('x')])), 400, 40001027);
    const last = await upload(s, uuid, 2, part(2));
    assert.equal(last.status, 204);
    assert.equal(last.headers['x-upyun-next-part-id'], '-1', 'every part is in');
    refused(await upload(s, uuid, 3, Buffer.from('x')), 400, 40011061);
    // nothing is committed before complete
    const before = await api(emu, 'GET', `/api/v4/file/info?uri=${encodeURIComponent(uri)}`, { token });
    assert.ok(before.json.data.metadata?.['sys:upload_session_id'], 'still an upload placeholder');

    const done = await complete(s, uuid);
    assert.equal(done.status, 201);
    assert.equal(done.headers['x-upyun-multi-length'], String(data.length));
    refused(await complete(s, uuid), 400, 40011059);
    const info = await committed(uri);
    assert.equal(info.size, data.length);
    assert.ok(emu.blob(uri)!.equals(data), 'stored byte for byte');
    const link = await api(emu, 'POST', '/api/v4/file/url', { token, body: { uris: [uri] } });
    assert.equal(link.json?.code, 0, link.text);
    const got = Buffer.from(await (await fetch(link.json.data.urls[0].url)).arrayBuffer());
    assert.ok(got.equals(data), 'downloaded byte for byte');
  });

  test('an empty file: initiate with length 0, then complete; a part of it overflows', async () => {
    const uri = 'cloudreve://my/empty/e.bin';
    const s = await chunkedSession(emu, token, uri, 0);
    const init = await initiate(s, 0);
    assert.equal(init.status, 204);
    const uuid = String(init.headers['x-upyun-multi-uuid']);
    refused(await upload(s, uuid, 0, Buffer.from('x')), 400, 40001033);
    assert.equal((await complete(s, uuid)).status, 201);
    assert.equal((await committed(uri)).size, 0);
    assert.equal(emu.blob(uri)!.length, 0);
  });
});

describe('emulator CLI: --upyun-chunked', () => {
  const cli = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', 'test/emulator/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

  test('with --policy upyun it hands out the chunked session', async () => {
    const child = cli(['--port', '0', '--policy', 'upyun', '--upyun-chunked', '--chunk-size', String(MiB)]);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
      });
      const { url, email, password } = JSON.parse(line) as { url: string; email: string; password: string };
      const t = await api(url, 'POST', '/api/v4/session/token', { body: { email, password } });
      const s = await api(url, 'PUT', '/api/v4/file/upload', { token: t.json.data.token.access_token, body: { uri: 'cloudreve://my/c.bin', size: 5 } });
      assert.equal(s.json?.code, 0, s.text);
      assert.equal(s.json.data.chunk_size, MiB);
      assert.match(s.json.data.credential, /^UPYUN /);
      assert.match(s.json.data.upload_urls[0], /\/__vendor\/upyun\/cloudreve\/uploads\//);
    } finally {
      clearTimeout(timer);
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    }
  });

  test('with another policy it is a usage error', async () => {
    const child = cli(['--policy', 'local', '--upyun-chunked']);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise((r) => child.once('exit', r));
    clearTimeout(timer);
    assert.equal(code, 2);
    assert.match(err, /--upyun-chunked needs --policy upyun/);
  });
});
