/** The one HTTP request everything goes through (main/engine/api/transport.ts), against loopback servers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { open, send, type TransportRequest } from '../../../main/engine/api/transport.js';
import { startServer } from './helpers.js';

const agents = () => ({ http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) });
const base = (a: ReturnType<typeof agents>, over: Partial<TransportRequest> = {}): TransportRequest => ({
  method: 'GET',
  headers: {},
  agents: a,
  timeouts: { connectMs: 2000, idleMs: 2000, responseMs: 2000, totalMs: 5000 },
  ...over,
});

test('sends a Buffer with its length, reads the answer, decodes gzip, keeps the connection for the next request', async () => {
  const seen: Array<{ method: string; length: string | undefined; body: string; enc: string | undefined }> = [];
  const srv = await startServer((req, res, received) => {
    seen.push({ method: req.method!, length: req.headers['content-length'], body: received.toString(), enc: req.headers['accept-encoding'] });
    const body = gzipSync(Buffer.from(`{"code":0,"data":"${'x'.repeat(1000)}"}`));
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length });
    res.end(body);
  });
  const a = agents();
  try {
    const r1 = await send(`${srv.url}/api/v4/x`, base(a, { method: 'POST', body: 'hello' }));
    const r2 = await send(`${srv.url}/api/v4/y`, base(a, { method: 'DELETE' }));
    assert.equal(r1.status, 200);
    assert.equal(JSON.parse(r1.body).data.length, 1000, 'gzip answer decoded');
    assert.equal(r2.status, 200);
    // a body-less DELETE goes with `content-length: 0` (node:http) or none (undici: RFC 9110 asks for none there)
    assert.deepEqual(seen.map((s) => [s.method, s.method === 'DELETE' ? (s.length ?? '0') : s.length, s.body]), [['POST', '5', 'hello'], ['DELETE', '0', '']]);
    assert.match(seen[0].enc ?? '', /gzip/);
    assert.equal(srv.connections(), 1, 'one keep-alive connection served both');
  } finally {
    a.http.destroy();
    await srv.close();
  }
});

test('an answer before the whole streamed body went out counts, and that connection is not reused', async () => {
  const srv = await startServer((req, res) => {
    if (req.url === '/early') {
      // answers at once without reading the body, as a server refusing an unknown session does
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"code":404,"msg":"no such session"}');
      return;
    }
    req.resume();
    req.on('end', () => res.end('ok'));
  }, { readBody: false });
  const a = agents();
  try {
    let pushed = 0;
    const body = new Readable({
      read() {
        if (pushed >= 64) return; // never ends by itself: 64 MiB announced, 4 MiB offered, then it waits
        pushed++;
        this.push(Buffer.alloc(64 * 1024));
      },
    });
    const r = await send(`${srv.url}/early`, base(a, { method: 'POST', body, headers: { 'content-length': String(64 << 20) }, timeouts: { connectMs: 2000, idleMs: 2000, responseMs: 2000 } }));
    assert.equal(r.status, 404);
    assert.match(r.body, /no such session/);
    body.destroy();
    const next = await send(`${srv.url}/fine`, base(a, { method: 'POST', body: 'x' }));
    assert.equal(next.body, 'ok', 'the next request gets a healthy connection');
    // the connection left mid-body is closed, not kept open (and its body held) until the server gives up on it
    const until = Date.now() + 1000;
    while (srv.connections() > 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    // (undici also closes the connection that served the next request once it is done: one reconnect, after a rare event)
    assert.ok(srv.connections() <= 1, `${srv.connections()} connections open`);
  } finally {
    a.http.destroy();
    await srv.close();
  }
});

test('failures come in got’s shape: a body that fails to read, an abort, a late answer, an endless answer, a refused connection', async () => {
  const srv = await startServer((req, res) => {
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1500);
    if (req.url === '/huge') {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 97);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(timer));
      return;
    }
    req.resume();
    req.on('end', () => res.end('ok'));
  }, { readBody: false });
  const a = agents();
  try {
    const failing = new Readable({
      read() {
        this.destroy(Object.assign(new Error('disk gone'), { code: 'EIO' }));
      },
    });
    await assert.rejects(send(`${srv.url}/upload`, base(a, { method: 'POST', body: failing, headers: { 'content-length': '10' } })), (e: { name: string; cause?: { code?: string } }) => {
      assert.equal(e.name, 'UploadError');
      assert.equal(e.cause?.code, 'EIO');
      return true;
    });

    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    await assert.rejects(send(`${srv.url}/slow`, base(a, { signal: ctl.signal })), { name: 'AbortError' });

    await assert.rejects(send(`${srv.url}/slow`, base(a, { timeouts: { connectMs: 1000, idleMs: 5000, responseMs: 300 } })), { name: 'TimeoutError', event: 'response' });
    await assert.rejects(send(`${srv.url}/slow`, base(a, { timeouts: { connectMs: 1000, idleMs: 300, responseMs: 5000 } })), { name: 'TimeoutError', event: 'socket' });
    await assert.rejects(send(`${srv.url}/huge`, base(a, { timeouts: { connectMs: 1000, idleMs: 5000, responseMs: 5000, totalMs: 400 } })), { name: 'TimeoutError', event: 'request' });
    await assert.rejects(send(`${srv.url}/huge`, base(a, { maxResponseBytes: 1 << 20 })), { name: 'ResponseTooLarge' });
  } finally {
    a.http.destroy();
    await srv.close();
  }
  await assert.rejects(send(srv.url + '/gone', base(a)), { code: 'ECONNREFUSED' });
});

test('open(): a streamed answer arrives as it is written; silence longer than idleMs ends it', async () => {
  const srv = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: one\n\n');
    // then nothing
  });
  const a = agents();
  try {
    const r = await open(`${srv.url}/events`, { method: 'GET', headers: {}, agents: a, timeouts: { connectMs: 1000, idleMs: 400, responseMs: 1000 } });
    assert.equal(r.status, 200);
    const got: string[] = [];
    const ended = await new Promise<string>((resolve) => {
      r.stream.on('data', (c: Buffer) => got.push(c.toString()));
      r.stream.on('error', (e: Error & { event?: string }) => resolve(`error ${e.name} ${e.event}`));
      r.stream.on('close', () => resolve('closed'));
    });
    assert.deepEqual(got, ['data: one\n\n']);
    assert.equal(ended, 'error TimeoutError socket');
  } finally {
    a.http.destroy();
    await srv.close();
  }
});
