/**
 * Engine.downloads against the emulator with real folders: a file and a folder come down exact (mtime = the server's
 * updated_at, no temp file left); a local edit made while the same file downloads is never overwritten (the download
 * becomes a conflict copy); a new version on the server while a download is half done starts it over; an outage
 * mid-download continues with a Range request (only the missing bytes are sent); a server that ignores Range makes
 * it start over; a full disk fails the file with a clear reason and leaves nothing behind; a redirect is followed;
 * encrypted entities come down decrypted; interrupted downloads continue at the next start.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { createEngine, type Engine, type DownloadRequest } from '../../main/engine/index.js';
import { fingerprintSync } from '../../main/engine/fs/file-source.js';
import { TEMP_NAME_RE, sameMtime } from '../../main/engine/transfer/downloader.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';
import { CLIENT_ID } from './api/helpers.js';

const FAST_RETRY = { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 8 };

interface Ctx {
  emu: Emulator;
  dir: TmpDir;
  engine: Engine;
  api: CloudreveClient;
}

async function setup(opts: { policy?: Parameters<typeof startEmulator>[0]; engine?: Record<string, unknown> } = {}): Promise<Ctx> {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 }, ...opts.policy });
  const dir = tmpDir('crs-dl-');
  const engine = await createEngine({ home: join(dir.path, 'home'), retry: FAST_RETRY, ...opts.engine });
  await engine.login(emu.url, emu.email, emu.password);
  const api = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
  await api.login(emu.email, emu.password);
  return { emu, dir, engine, api };
}

async function teardown(c: Ctx): Promise<void> {
  await c.engine.close();
  c.api.close();
  await c.emu.close();
  c.dir.cleanup();
}

/** Puts `data` on the server at `uri` (PUT /file/content) and returns what a pass would have seen of it. */
async function put(c: Ctx, uri: string, data: Buffer): Promise<Omit<DownloadRequest, 'target' | 'expectLocal'>> {
  const f = await c.api.putContent(uri, data, data.length);
  return { uri, size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at) };
}

function temps(folder: string): string[] {
  return readdirSync(folder).filter((n) => TEMP_NAME_RE.test(n));
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('downloads', () => {
  let c: Ctx;
  before(async () => {
    c = await setup();
  });
  after(() => teardown(c));

  test('a file: exact bytes, mtime = updated_at, the fingerprint returned is the file, no temp file left', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const seen = await put(c, 'cloudreve://my/one/a.bin', data);
    const target = join(c.dir.path, 'one', 'a.bin');
    mkdirSync(join(c.dir.path, 'one'));
    const [o] = await c.engine.downloads.download([{ ...seen, target, expectLocal: null }]);
    assert.equal(o.result, 'done', JSON.stringify(o));
    if (o.result !== 'done') return;
    assert.equal(o.path, target);
    assert.ok(readFileSync(target).equals(data));
    assert.deepEqual(o.fp, fingerprintSync(target));
    assert.ok(sameMtime(o.fp.mtimeMs, seen.updatedAtMs), `${o.fp.mtimeMs} vs ${seen.updatedAtMs}`);
    assert.deepEqual(o.remote, { entity: seen.entity, size: data.length, updatedAtMs: seen.updatedAtMs });
    assert.deepEqual(temps(join(c.dir.path, 'one')), []);
    const snap = c.engine.downloads.get(o.id)!;
    assert.equal(snap.state, 'done');
    assert.equal(snap.resultPath, target);
  });

  test('a folder (collect → download): nested files, an empty folder, an empty file', async () => {
    const a = randomBytes(5000);
    const b = randomBytes(70_000);
    await put(c, 'cloudreve://my/tree/a.txt', a);
    await put(c, 'cloudreve://my/tree/sub/deeper/b.bin', b);
    await put(c, 'cloudreve://my/tree/empty.txt', Buffer.alloc(0));
    await c.api.createFolder('cloudreve://my/tree/nothing');
    const to = join(c.dir.path, 'got');
    const got = await c.engine.downloads.collect(['cloudreve://my/tree'], to);
    assert.equal(got.files.length, 3);
    assert.ok(got.folders.includes(join(to, 'tree', 'nothing')));
    for (const f of got.folders) mkdirSync(f, { recursive: true });
    const out = await c.engine.downloads.download(got.files);
    assert.deepEqual(out.map((o) => o.result), ['done', 'done', 'done']);
    assert.ok(readFileSync(join(to, 'tree', 'a.txt')).equals(a));
    assert.ok(readFileSync(join(to, 'tree', 'sub', 'deeper', 'b.bin')).equals(b));
    assert.equal(statSync(join(to, 'tree', 'empty.txt')).size, 0);
    assert.ok(statSync(join(to, 'tree', 'nothing')).isDirectory());
  });

  test('a local edit made while the same file downloads is never overwritten: the download becomes the conflict copy', async () => {
    const server = randomBytes(1024 * 1024);
    const seen = await put(c, 'cloudreve://my/edit/notes.txt', server);
    const folder = join(c.dir.path, 'edit');
    const target = join(folder, 'notes.txt');
    mkdirSync(folder);
    writeFileSync(target, 'my old version\n');
    const before = fingerprintSync(target);
    c.engine.downloads.setBandwidthLimit(1024 * 1024); // about a second
    try {
      const [h] = c.engine.downloads.enqueue([{ ...seen, target, expectLocal: before, conflictName: (n) => `${n}.server-copy` }]);
      await until('the download to start', () => (c.engine.downloads.get(h.id)?.bytesDone ?? 0) > 100_000);
      appendFileSync(target, 'an edit made meanwhile\n');
      const o = await h.outcome;
      assert.equal(o.result, 'conflict', JSON.stringify(o));
      if (o.result !== 'conflict') return;
      assert.equal(o.path, join(folder, 'notes.txt.server-copy'));
      assert.ok(readFileSync(o.path).equals(server));
      assert.equal(readFileSync(target, 'utf8'), 'my old version\nan edit made meanwhile\n');
      assert.deepEqual(temps(folder), []);
    } finally {
      c.engine.downloads.setBandwidthLimit(0);
    }
  });

  test('a file that appeared locally meanwhile (expected absent) is kept; the default conflict name is the server one', async () => {
    const server = randomBytes(2000);
    const seen = await put(c, 'cloudreve://my/new/report.pdf', server);
    const folder = join(c.dir.path, 'new');
    mkdirSync(folder);
    writeFileSync(join(folder, 'report.pdf'), 'made locally');
    const [o] = await c.engine.downloads.download([{ ...seen, target: join(folder, 'report.pdf'), expectLocal: null }]);
    assert.equal(o.result, 'conflict');
    if (o.result !== 'conflict') return;
    assert.match(o.path, /report \(conflict \d{4}-\d\d-\d\d \d{6} server\)\.pdf$/);
    assert.ok(readFileSync(o.path).equals(server));
    assert.equal(readFileSync(join(folder, 'report.pdf'), 'utf8'), 'made locally');
  });

  test('the expected local file unchanged: replaced atomically (same path, new inode)', async () => {
    const folder = join(c.dir.path, 'replace');
    mkdirSync(folder);
    const target = join(folder, 'r.txt');
    writeFileSync(target, 'old');
    const fp = fingerprintSync(target);
    const seen = await put(c, 'cloudreve://my/replace/r.txt', Buffer.from('new content'));
    const [o] = await c.engine.downloads.download([{ ...seen, target, expectLocal: fp }]);
    assert.equal(o.result, 'done');
    assert.equal(readFileSync(target, 'utf8'), 'new content');
    assert.notEqual(fingerprintSync(target).inode, fp.inode);
    assert.deepEqual(readdirSync(folder), ['r.txt']);
  });

  test('a new version on the server while a download is half done: it starts over with the new one', async () => {
    const v1 = randomBytes(2 * 1024 * 1024);
    const seen = await put(c, 'cloudreve://my/ver/v.bin', v1);
    const folder = join(c.dir.path, 'ver');
    mkdirSync(folder);
    const target = join(folder, 'v.bin');
    c.engine.downloads.setBandwidthLimit(1024 * 1024);
    const [h] = c.engine.downloads.enqueue([{ ...seen, target, expectLocal: null }]);
    await until('half of it', () => (c.engine.downloads.get(h.id)?.bytesDone ?? 0) > 512 * 1024);
    c.engine.downloads.pause(h.id);
    const paused = await h.outcome;
    assert.deepEqual(paused, { result: 'waiting', id: h.id, reason: 'paused' });
    assert.equal(c.engine.downloads.get(h.id)!.state, 'paused');
    assert.equal(temps(folder).length, 1, 'the partial download is kept');
    const v2 = randomBytes(1536 * 1024);
    await put(c, 'cloudreve://my/ver/v.bin', v2);
    c.engine.downloads.setBandwidthLimit(0);
    c.emu.resetStats();
    const [again] = c.engine.downloads.resume(h.id);
    const o = await again.outcome;
    assert.equal(o.result, 'done', JSON.stringify(o));
    assert.ok(readFileSync(target).equals(v2), 'the new version');
    assert.equal(c.emu.stats().bytes_sent, v2.length, 'the whole new version, once');
    if (o.result === 'done') assert.equal(o.remote.size, v2.length);
    assert.deepEqual(temps(folder), []);
  });

  test('paused, then resumed as soon as its outcome is told: continues with Range', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const seen = await put(c, 'cloudreve://my/pr/p.bin', data);
    mkdirSync(join(c.dir.path, 'pr'));
    c.engine.downloads.setBandwidthLimit(1024 * 1024);
    const [h] = c.engine.downloads.enqueue([{ ...seen, target: join(c.dir.path, 'pr', 'p.bin'), expectLocal: null }]);
    await until('some of it', () => (c.engine.downloads.get(h.id)?.bytesDone ?? 0) > 300_000);
    c.engine.downloads.pause(h.id);
    assert.equal((await h.outcome).result, 'waiting');
    const [temp] = temps(join(c.dir.path, 'pr'));
    const have = statSync(join(c.dir.path, 'pr', temp)).size;
    assert.ok(have > 0);
    c.engine.downloads.setBandwidthLimit(0);
    c.emu.resetStats();
    const [again] = c.engine.downloads.resume(h.id);
    assert.equal(again.id, h.id);
    const o = await again.outcome;
    assert.equal(o.result, 'done', JSON.stringify(o));
    assert.ok(readFileSync(join(c.dir.path, 'pr', 'p.bin')).equals(data));
    assert.equal(c.emu.stats().bytes_sent, data.length - have, 'from what the temp file held');
  });

  test('an outage mid-download: the next try sends only the missing bytes (Range)', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const seen = await put(c, 'cloudreve://my/cut/c.bin', data);
    const folder = join(c.dir.path, 'cut');
    mkdirSync(folder);
    c.emu.resetStats();
    c.emu.addFault({ method: 'GET', path: '^/api/v4/file/content/', times: 1, action: { type: 'cut', afterBytes: 1_500_000 } });
    const [o] = await c.engine.downloads.download([{ ...seen, target: join(folder, 'c.bin'), expectLocal: null }]);
    assert.equal(o.result, 'done', JSON.stringify(o));
    assert.ok(readFileSync(join(folder, 'c.bin')).equals(data));
    const sent = c.emu.stats().bytes_sent;
    assert.ok(sent <= data.length + 1_500_000 && sent >= data.length, `${sent} bytes sent for ${data.length}`);
    assert.equal(c.emu.stats().download_requests, 2);
  });

  test('a busy or failing server (503, 500) is retried; the file comes down', async () => {
    const data = randomBytes(50_000);
    const seen = await put(c, 'cloudreve://my/busy/b.bin', data);
    mkdirSync(join(c.dir.path, 'busy'));
    c.emu.addFault({ method: 'GET', path: '^/api/v4/file/content/', times: 2, action: { type: 'status', status: 503, headers: { 'retry-after': '0' } } });
    c.emu.addFault({ method: 'POST', path: '^/api/v4/file/url$', times: 1, action: { type: 'status', status: 500 } });
    const [o] = await c.engine.downloads.download([{ ...seen, target: join(c.dir.path, 'busy', 'b.bin'), expectLocal: null }]);
    assert.equal(o.result, 'done', JSON.stringify(o));
    assert.ok(readFileSync(join(c.dir.path, 'busy', 'b.bin')).equals(data));
  });

  test('at most maxActiveDownloads run at once (setConcurrency), the rest wait their turn', async () => {
    const files = await Promise.all([0, 1, 2, 3, 4].map((i) => put(c, `cloudreve://my/pool/f${i}.bin`, randomBytes(300_000))));
    mkdirSync(join(c.dir.path, 'pool'));
    let now = 0;
    let most = 0;
    const states = new Map<string, string>();
    const off = c.engine.events.on('download-changed', ({ download: d }) => {
      const was = states.get(d.id);
      states.set(d.id, d.state);
      if (d.state === 'downloading' && was !== 'downloading') now++;
      else if (was === 'downloading' && d.state !== 'downloading') now--;
      most = Math.max(most, now);
    });
    c.engine.downloads.setConcurrency(2);
    c.engine.downloads.setBandwidthLimit(2 * 1024 * 1024);
    try {
      const out = await c.engine.downloads.download(files.map((f, i) => ({ ...f, target: join(c.dir.path, 'pool', `f${i}.bin`), expectLocal: null })));
      assert.deepEqual(out.map((o) => o.result), ['done', 'done', 'done', 'done', 'done']);
      assert.equal(most, 2);
    } finally {
      off();
      c.engine.downloads.setConcurrency(3);
      c.engine.downloads.setBandwidthLimit(0);
    }
  });

  test('a redirect is followed', async () => {
    const data = randomBytes(10_000);
    const seen = await put(c, 'cloudreve://my/redir/r.bin', data);
    const url = (await c.api.downloadUrl(['cloudreve://my/redir/r.bin'])).urls[0].url;
    c.emu.addFault({ method: 'GET', path: '^/api/v4/file/content/', times: 1, action: { type: 'status', status: 302, headers: { location: url } } });
    mkdirSync(join(c.dir.path, 'redir'));
    const [o] = await c.engine.downloads.download([{ ...seen, target: join(c.dir.path, 'redir', 'r.bin'), expectLocal: null }]);
    assert.equal(o.result, 'done', JSON.stringify(o));
    assert.ok(readFileSync(join(c.dir.path, 'redir', 'r.bin')).equals(data));
  });

  test('a missing folder fails the file unless createFolders; a file gone from the server fails with not-found', async () => {
    const seen = await put(c, 'cloudreve://my/nofolder/x.txt', Buffer.from('x'));
    const target = join(c.dir.path, 'absent', 'x.txt');
    const [o] = await c.engine.downloads.download([{ ...seen, target, expectLocal: null }]);
    assert.equal(o.result, 'failed');
    if (o.result === 'failed') assert.match(o.message, /does not exist/);
    const [made] = await c.engine.downloads.download([{ ...seen, target, expectLocal: null, createFolders: true }]);
    assert.equal(made.result, 'done');
    await c.api.delete(['cloudreve://my/nofolder/x.txt']);
    const [gone] = await c.engine.downloads.download([{ ...seen, target: join(c.dir.path, 'gone.txt'), expectLocal: null }]);
    assert.equal(gone.result, 'failed');
    if (gone.result === 'failed') assert.equal(gone.code, 'not-found');
  });
});

describe('downloads: a server that ignores Range', () => {
  let c: Ctx;
  let srv: Server;
  const data = randomBytes(1024 * 1024);
  const ranges: Array<string | undefined> = [];
  before(async () => {
    c = await setup();
    let first = true;
    srv = createServer((req, res) => {
      ranges.push(req.headers.range);
      res.writeHead(200, { 'content-length': data.length, 'content-type': 'application/octet-stream' });
      if (first) {
        first = false;
        res.write(data.subarray(0, 300_000));
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      res.end(data);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
    await teardown(c);
  });

  test('a 200 to a Range request starts the file over; the result is exact', async () => {
    const seen = await put(c, 'cloudreve://my/norange.bin', data);
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/object`;
    const envelope = JSON.stringify({ code: 0, data: { urls: [{ url }], expires: null }, msg: '' });
    c.emu.addFault({ method: 'POST', path: '^/api/v4/file/url$', times: 2, action: { type: 'status', status: 200, body: envelope, headers: { 'content-type': 'application/json' } } });
    const [o] = await c.engine.downloads.download([{ ...seen, target: join(c.dir.path, 'norange.bin'), expectLocal: null }]);
    assert.equal(o.result, 'done', JSON.stringify(o));
    assert.ok(readFileSync(join(c.dir.path, 'norange.bin')).equals(data));
    assert.deepEqual(ranges, [undefined, 'bytes=300000-']);
  });
});

describe('downloads: a full disk', () => {
  let c: Ctx;
  before(async () => {
    c = await setup({ engine: { statfs: async () => ({ bavail: 100, bsize: 4096 }) } });
  });
  after(() => teardown(c));

  test('fails the file before any byte is fetched, with the reason; nothing is left at the target', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const seen = await put(c, 'cloudreve://my/big.bin', data);
    c.emu.resetStats();
    const target = join(c.dir.path, 'big.bin');
    const [o] = await c.engine.downloads.download([{ ...seen, target, expectLocal: null }]);
    assert.equal(o.result, 'failed');
    if (o.result !== 'failed') return;
    assert.equal(o.code, 'disk-full');
    assert.match(o.message, /not enough free space on the disk: the download needs 2\.0 MiB, 400\.0 KiB are free/);
    assert.equal(existsSync(target), false);
    assert.deepEqual(temps(c.dir.path), []);
    assert.equal(c.emu.stats().bytes_sent, 0);
    const snap = c.engine.downloads.get(o.id)!;
    assert.equal(snap.state, 'failed');
    assert.equal(snap.error?.code, 'disk-full');
  });
});

describe('downloads: encrypted entities and S3-like storage', () => {
  test('an encrypted entity (client-side encryption policy) comes down decrypted', async () => {
    const c = await setup({ policy: { policy: { type: 'local', chunkSize: 256 * 1024, encryption: true } } });
    try {
      const data = randomBytes(700_000);
      const src = c.dir.file('up/secret.bin', data);
      const [id] = await c.engine.enqueue([src], 'cloudreve://my/enc');
      await c.engine.idle();
      assert.equal(c.engine.transfer(id)!.state, 'done');
      assert.equal(c.emu.entity('cloudreve://my/enc/secret.bin')!.encrypted, true);
      assert.ok(!c.emu.blob('cloudreve://my/enc/secret.bin')!.equals(data), 'stored encrypted');
      const got = await c.engine.downloads.collect(['cloudreve://my/enc/secret.bin'], join(c.dir.path, 'down'));
      const [o] = await c.engine.downloads.download(got.files);
      assert.equal(o.result, 'done', JSON.stringify(o));
      assert.ok(readFileSync(join(c.dir.path, 'down', 'secret.bin')).equals(data));
    } finally {
      await teardown(c);
    }
  });

  test('an S3 policy: the storage pre-signed URL, with Range after an outage', async () => {
    const c = await setup({ policy: { policy: { type: 's3', chunkSize: 5 * 1024 * 1024 } } });
    try {
      const data = randomBytes(3 * 1024 * 1024);
      const src = c.dir.file('up/s3.bin', data);
      await c.engine.enqueue([src], 'cloudreve://my/s3');
      await c.engine.idle();
      const got = await c.engine.downloads.collect(['cloudreve://my/s3'], join(c.dir.path, 'down'));
      c.emu.resetStats();
      c.emu.addFault({ method: 'GET', path: '^/__vendor/s3like/', times: 1, action: { type: 'cut', afterBytes: 1_000_000 } });
      const [o] = await c.engine.downloads.download(got.files);
      assert.equal(o.result, 'done', JSON.stringify(o));
      assert.ok(readFileSync(join(c.dir.path, 'down', 's3', 's3.bin')).equals(data));
      assert.ok(c.emu.stats().bytes_sent <= data.length + 1_000_000);
    } finally {
      await teardown(c);
    }
  });
});

describe('downloads: continued at the next start', () => {
  test('an engine closed mid-download; the next one (autoResume) finishes it from where it was', async () => {
    const emu = await startEmulator({ policy: { type: 'local' } });
    const dir = tmpDir('crs-dl-');
    const home = join(dir.path, 'home');
    try {
      const api = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
      await api.login(emu.email, emu.password);
      const data = randomBytes(3 * 1024 * 1024);
      const f = await api.putContent('cloudreve://my/later.bin', data, data.length);
      api.close();
      const first = await createEngine({ home, retry: FAST_RETRY, downloadBandwidthLimit: 1024 * 1024 });
      await first.login(emu.url, emu.email, emu.password);
      const target = join(dir.path, 'later.bin');
      const [h] = first.downloads.enqueue([{ uri: 'cloudreve://my/later.bin', target, size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null }]);
      await until('a part of it', () => (first.downloads.get(h.id)?.bytesDone ?? 0) > 700_000);
      await first.close();
      const o1 = await h.outcome;
      assert.equal(o1.result, 'waiting');
      assert.equal(existsSync(target), false);
      emu.resetStats();
      const second = await createEngine({ home, retry: FAST_RETRY, autoResume: true });
      try {
        await until('it to end', () => second.downloads.get(h.id)?.state === 'done');
        assert.ok(readFileSync(target).equals(data));
        const sent = emu.stats().bytes_sent;
        assert.ok(sent < data.length - 600_000, `only the rest was sent (${sent})`);
        assert.deepEqual(temps(dir.path), []);
      } finally {
        await second.close();
      }
    } finally {
      await emu.close();
      dir.cleanup();
    }
  });
});
