/**
 * The HTTP bridge of `cloudreve-sync ui` in-process, on loopback, with a real engine (not signed in): the page and
 * its headers, the contract over HTTP (the same validation as IPC), the event stream, and every security check.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { createEngine, type Engine } from '../../main/engine/index.js';
import { BridgeConfigError, MAX_BODY_BYTES, PAGE_CSP, startBridgeServer, type BridgeServer } from '../../main/bridge/bridge-server.js';
import type { SettingsDto } from '../../main/ipc/contract.js';
import { createHandlers, type SettingsPort } from '../../main/ipc/server.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timed out')));
    req.end(opts.body);
  });
}

const settings: SettingsPort = { get: () => ({ language: 'en' }) as SettingsDto, update: async () => ({}) as SettingsDto };

describe('bridge server', () => {
  let dir: TmpDir;
  let engine: Engine;
  let server: BridgeServer;
  let host: string;

  const invoke = (method: string, args: unknown, headers: Record<string, string> = {}) =>
    send(server.port, {
      method: 'POST',
      path: `/api/invoke/${method}`,
      headers: { Host: host, 'Content-Type': 'application/json', 'X-Cloudreve-Token': server.token, ...headers },
      body: typeof args === 'string' ? args : JSON.stringify(args),
    });

  before(async () => {
    dir = tmpDir();
    dir.file('static/index.html', '<!doctype html><title>t</title>');
    dir.file('static/main.js', 'console.log(1)');
    dir.file('static/styles.css', 'body{}');
    engine = await createEngine({ home: join(dir.path, 'home') });
    const handlers = createHandlers({ engine, settings, app: { mode: 'browser', version: '0.0.1' } });
    server = await startBridgeServer({ engine, handlers, staticDir: join(dir.path, 'static'), heartbeatMs: 100 });
    host = `127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    await engine.close();
    dir.cleanup();
  });

  test('the URL carries a 256-bit token in its fragment, on 127.0.0.1', () => {
    assert.match(server.url, new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/#token=[A-Za-z0-9_-]{43}$`));
    assert.ok(Buffer.from(server.token, 'base64url').length >= 16);
  });

  test('the page: public, strict CSP (the Electron one + no framing), no CORS, only the bundle files', async () => {
    const page = await send(server.port, { path: '/', headers: { Host: host } });
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-security-policy'], PAGE_CSP);
    assert.match(PAGE_CSP, /script-src 'self';/);
    assert.match(PAGE_CSP, /frame-ancestors 'none'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    for (const h of Object.keys(page.headers)) assert.ok(!h.startsWith('access-control-'), h);
    assert.equal((await send(server.port, { path: '/main.js', headers: { Host: host } })).headers['content-type'], 'text/javascript; charset=utf-8');
    for (const path of ['/../package.json', '/inputs.json', '/%2e%2e/x', '/etc/passwd']) {
      assert.equal((await send(server.port, { path, headers: { Host: host } })).status, 404, path);
    }
  });

  test('invoke: the contract through the same handlers (values, engine errors, argument validation)', async () => {
    const info = await invoke('getAppInfo', []);
    assert.equal(info.status, 200);
    assert.equal(JSON.parse(info.body).value.mode, 'browser');
    assert.deepEqual(JSON.parse((await invoke('getAccount', [])).body), { ok: true, value: null });
    const bad = JSON.parse((await invoke('enqueuePaths', [['relative'], 'cloudreve://my/'])).body);
    assert.equal(bad.error.code, 'invalid-argument');
    const notSignedIn = JSON.parse((await invoke('listRemoteFolders', ['cloudreve://my/'])).body);
    assert.equal(notSignedIn.error.code, 'login-required');
    // Bearer works too (loopback, no password)
    const bearer = await invoke('getAccount', [], { 'X-Cloudreve-Token': '', Authorization: `Bearer ${server.token}` });
    assert.equal(bearer.status, 200);
  });

  test('invoke: the sync methods the browser UI uses (files not backed up, resolving a conflict) answer like IPC', async () => {
    assert.deepEqual(JSON.parse((await invoke('listSyncIssues', [null])).body), { ok: true, value: [] });
    assert.equal(JSON.parse((await invoke('resolveConflict', [1, 'keep-both'])).body).error.code, 'not-found');
    assert.equal(JSON.parse((await invoke('resolveConflict', [1, 'keep-all'])).body).error.code, 'invalid-argument');
  });

  test('invoke: wrong, missing or query-string tokens are refused with 401', async () => {
    assert.equal((await invoke('getAccount', [], { 'X-Cloudreve-Token': 'x'.repeat(43) })).status, 401);
    assert.equal((await invoke('getAccount', [], { 'X-Cloudreve-Token': server.token.slice(0, -1) })).status, 401);
    assert.equal((await invoke('getAccount', [], { 'X-Cloudreve-Token': '' })).status, 401);
    const viaQuery = await send(server.port, {
      method: 'POST',
      path: `/api/invoke/getAccount?token=${server.token}`,
      headers: { Host: host, 'Content-Type': 'application/json' },
      body: '[]',
    });
    assert.equal(viaQuery.status, 401);
    const events = await send(server.port, { path: '/api/events?token=nope', headers: { Host: host } });
    assert.equal(events.status, 401);
  });

  test('Host must name this server (DNS rebinding): loopback names with our port only', async () => {
    for (const h of [`localhost:${server.port}`, `[::1]:${server.port}`, `LOCALHOST:${server.port}`]) {
      assert.equal((await invoke('getAccount', [], { Host: h })).status, 200, h);
    }
    for (const h of [`evil.example:${server.port}`, '127.0.0.1', `127.0.0.1:${server.port + 1}`, `192.168.1.2:${server.port}`]) {
      assert.equal((await invoke('getAccount', [], { Host: h })).status, 421, h);
      assert.equal((await send(server.port, { path: '/', headers: { Host: h } })).status, 421, h);
    }
  });

  test('a foreign Origin is refused, even with the token; the own origin is fine', async () => {
    assert.equal((await invoke('getAccount', [], { Origin: `http://${host}` })).status, 200);
    for (const o of ['http://evil.example', `http://localhost:${server.port + 1}`, 'null', `https://${host}`]) {
      const r = await invoke('getAccount', [], { Origin: o });
      assert.equal(r.status, 403, o);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    assert.equal((await invoke('getAccount', [], { 'Sec-Fetch-Site': 'cross-site' })).status, 403);
  });

  test('malformed calls: unknown method, wrong verb, not JSON, not an array, too large', async () => {
    assert.equal((await invoke('constructor', [])).status, 404);
    assert.equal((await invoke('noSuchMethod', [])).status, 404);
    assert.equal((await send(server.port, { path: '/api/invoke/getAccount', headers: { Host: host, 'X-Cloudreve-Token': server.token } })).status, 405);
    assert.equal((await invoke('getAccount', '[]', { 'Content-Type': 'text/plain' })).status, 415);
    assert.equal((await invoke('getAccount', '{nope')).status, 400);
    assert.equal((await invoke('getAccount', '{"a":1}')).status, 400);
    const huge = await invoke('enqueuePaths', Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20).toString());
    assert.equal(huge.status, 413);
  });

  test('events: a Server-Sent Events stream of contract events', async () => {
    const frames = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${server.token}`, headers: { Host: host } }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.includes('event: pair-removed')) {
            req.destroy();
            resolve(text);
          }
        });
        const conflict = { id: 3, pairId: 'p1', relPath: 'a.txt', remoteUri: 'cloudreve://my/a.txt', conflictUri: 'cloudreve://my/a%20(conflict).txt', reason: 'r', reasonCode: 'changed-both', createdAt: 1 } as const;
        setTimeout(() => {
          engine.events.emit('sync-conflict-resolved', { conflict, choice: 'keep-mine' });
          engine.events.emit('pair-removed', { id: 'p1' });
        }, 50);
      });
      req.on('error', reject);
      req.setTimeout(20_000, () => req.destroy(new Error('no event within 20 s')));
      req.end();
    });
    assert.match(frames, /^retry: \d+\n\n/);
    assert.match(frames, /event: pair-removed\ndata: \{"id":"p1"\}\n\n/);
    assert.match(frames, /event: conflict-resolved\ndata: \{"conflict":\{"id":3,.*"reasonCode":"changed-both".*\},"choice":"keep-mine"\}\n\n/);
  });
});

describe('bridge server: password and non-loopback addresses', () => {
  test('binding a non-loopback address without a password is refused before anything listens', async () => {
    const dir = tmpDir();
    const engine = await createEngine({ home: join(dir.path, 'home') });
    try {
      const handlers = createHandlers({ engine, settings, app: { mode: 'browser', version: '0' } });
      for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
        await assert.rejects(startBridgeServer({ engine, handlers, staticDir: dir.path, host }), (e: unknown) => e instanceof BridgeConfigError && /--password/.test(e.message));
      }
      await assert.rejects(startBridgeServer({ engine, handlers, staticDir: dir.path, host: '0.0.0.0', password: 'short' }), /at least 8/);
    } finally {
      await engine.close();
      dir.cleanup();
    }
  });

  test('with a password, every request needs it (HTTP Basic) as well as the token', async () => {
    const dir = tmpDir();
    dir.file('static/index.html', 'x');
    const engine = await createEngine({ home: join(dir.path, 'home') });
    const handlers = createHandlers({ engine, settings, app: { mode: 'browser', version: '0' } });
    const server = await startBridgeServer({ engine, handlers, staticDir: join(dir.path, 'static'), password: 'correct horse' });
    try {
      const host = `127.0.0.1:${server.port}`;
      const basic = (pw: string) => `Basic ${Buffer.from(`any:${pw}`).toString('base64')}`;
      const page = await send(server.port, { path: '/', headers: { Host: host } });
      assert.equal(page.status, 401);
      assert.match(String(page.headers['www-authenticate']), /^Basic realm=/);
      assert.equal((await send(server.port, { path: '/', headers: { Host: host, Authorization: basic('wrong horse') } })).status, 401);
      assert.equal((await send(server.port, { path: '/', headers: { Host: host, Authorization: basic('correct horse') } })).status, 200);
      const call = (headers: Record<string, string>) =>
        send(server.port, { method: 'POST', path: '/api/invoke/getAccount', headers: { Host: host, 'Content-Type': 'application/json', ...headers }, body: '[]' });
      assert.equal((await call({ Authorization: basic('correct horse') })).status, 401, 'the token is still needed');
      assert.equal((await call({ 'X-Cloudreve-Token': server.token })).status, 401, 'the password is still needed');
      assert.equal((await call({ Authorization: basic('correct horse'), 'X-Cloudreve-Token': server.token })).status, 200);
    } finally {
      await server.close();
      await engine.close();
      dir.cleanup();
    }
  });
});
