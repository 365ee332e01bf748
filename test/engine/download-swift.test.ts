/**
 * Downloads from a real S3 server (Swift with s3api, scripts/s3-server.mjs) behind the emulator's s3 policy: the
 * upload's callback leaves the object on Swift (checked with a HEAD, nothing copied), `/file/url` hands out Swift's
 * own SigV4 pre-signed GET, which the downloader follows (a paused download continues with Range), and an encrypted
 * object comes through the master, which reads it from Swift and decrypts.
 * Without Swift the file skips with a message; with CLOUDREVE_REQUIRE_SWIFT=1 (CI) that is a failure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createEngine, type Engine } from '../../main/engine/index.js';
import { startEmulator, type Emulator, type EmulatorS3Server } from '../emulator/index.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const haveSwift = spawnSync('sh', ['-c', 'command -v swift-proxy-server && command -v memcached'], { stdio: 'ignore' }).status === 0;
const required = process.env.CLOUDREVE_REQUIRE_SWIFT === '1';
const skip = haveSwift ? false : 'Swift is not installed (apt-get install swift-proxy swift-object swift-container swift-account memcached): downloads from S3 skipped';
if (!haveSwift && required) {
  test('Swift is installed (CLOUDREVE_REQUIRE_SWIFT=1)', () => assert.fail('CLOUDREVE_REQUIRE_SWIFT=1 but swift-proxy-server/memcached are not on PATH'));
}

const MiB = 1024 * 1024;

describe('downloads from S3 (Swift)', { skip }, () => {
  const server: EmulatorS3Server = { endpoint: '', accessKey: '', secretKey: '', bucket: 'downloads' };
  let swift: ChildProcess | null = null;
  let swiftDir: TmpDir | null = null;
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;

  before(async () => {
    swiftDir = tmpDir('crs-swift-');
    swift = spawn(process.execPath, ['scripts/s3-server.mjs', '--data', swiftDir.path, '--no-install'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    swift.stderr!.on('data', (d) => (err += d));
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3-server did not start within 200 s: ${err}`)), 200_000);
      createInterface({ input: swift!.stdout! }).once('line', (l) => {
        clearTimeout(timer);
        resolve(l);
      });
      swift!.once('exit', (code) => reject(new Error(`s3-server exited (${code}): ${err}`)));
    });
    const j = JSON.parse(line) as { endpoint: string; accessKey: string; secretKey: string; region: string };
    Object.assign(server, { endpoint: j.endpoint, accessKey: j.accessKey, secretKey: j.secretKey, region: j.region });
    emu = await startEmulator({ policy: { type: 's3', s3: server, chunkSize: 5 * MiB } });
    dir = tmpDir('crs-dl-s3-');
    engine = await createEngine({ home: join(dir.path, 'home'), retry: { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 8 } });
    await engine.login(emu.url, emu.email, emu.password);
  });
  after(async () => {
    await engine?.close();
    await emu?.close();
    dir?.cleanup();
    if (swift && swift.exitCode === null) {
      swift.kill('SIGTERM');
      await new Promise((r) => swift!.once('exit', r));
    }
    swiftDir?.cleanup();
  });

  test('the object stays on Swift; the download is its pre-signed GET; a paused download continues with Range', async () => {
    const data = randomBytes(12 * MiB + 123);
    const src = dir.file('up/big.bin', data);
    const [id] = await engine.enqueue([src], 'cloudreve://my/s3');
    await engine.idle();
    assert.equal(engine.transfer(id)!.state, 'done', JSON.stringify(engine.transfer(id)!.error));
    // nothing was copied out of the store: the emulator's blob file is empty, the hook reads Swift
    const blobs = join(emu.dataDir, 'blobs');
    const sizes = (await import('node:fs')).readdirSync(blobs).map((n) => statSync(join(blobs, n)).size);
    assert.ok(sizes.every((n) => n === 0), `blob files: ${sizes.join(', ')}`);
    assert.ok(emu.blob('cloudreve://my/s3/big.bin')!.equals(data));

    const got = await engine.downloads.collect(['cloudreve://my/s3/big.bin'], join(dir.path, 'down'));
    engine.downloads.setBandwidthLimit(4 * MiB);
    const [h] = engine.downloads.enqueue(got.files);
    for (let i = 0; i < 400 && (engine.downloads.get(h.id)?.bytesDone ?? 0) < 3 * MiB; i++) await new Promise((r) => setTimeout(r, 25));
    engine.downloads.pause(h.id);
    assert.equal((await h.outcome).result, 'waiting');
    const partial = engine.downloads.get(h.id)!.bytesDone;
    assert.ok(partial > 0 && partial < data.length, String(partial));
    engine.downloads.setBandwidthLimit(0);
    const [again] = engine.downloads.resume(h.id);
    const o = await again.outcome;
    assert.equal(o.result, 'done', JSON.stringify(o));
    assert.ok(readFileSync(join(dir.path, 'down', 'big.bin')).equals(data));
  });

  test('an encrypted object comes through the master, read from Swift and decrypted', async () => {
    emu.setPolicy({ encryption: true });
    // a new engine: the first one keeps the storage policy it saw (without encryption) in its cache
    const fresh = await createEngine({ home: join(dir.path, 'home2') });
    try {
      await fresh.login(emu.url, emu.email, emu.password);
      const data = randomBytes(6 * MiB + 7);
      const src = dir.file('up/enc.bin', data);
      await fresh.enqueue([src], 'cloudreve://my/s3enc');
      await fresh.idle();
      assert.equal(emu.entity('cloudreve://my/s3enc/enc.bin')!.encrypted, true);
      const got = await engine.downloads.collect(['cloudreve://my/s3enc'], join(dir.path, 'down'));
      const [o] = await engine.downloads.download(got.files);
      assert.equal(o.result, 'done', JSON.stringify(o));
      assert.ok(readFileSync(join(dir.path, 'down', 's3enc', 'enc.bin')).equals(data));
    } finally {
      await fresh.close();
      emu.setPolicy({ encryption: undefined });
    }
  });
});
