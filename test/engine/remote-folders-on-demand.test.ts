/**
 * Uploading a tree makes only the remote folders no file goes into (empty ones, or holding only what was left out):
 * the others are made by the server as each file's session is created (spec §5.1). A folder per request before the
 * first byte was a round trip per folder of a deep tree. And the files' fingerprints are taken a slice at a time as
 * they are queued, so the first files upload while the rest are still being looked at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine, type SkippedEntry } from '../../main/engine/index.js';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { tmpDir } from '../helpers/tmp-tree.js';

test('a tree: folders holding files come with their files, empty ones are made explicitly, all exist afterwards', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home') });
  const made: string[] = [];
  const createFolder = CloudreveClient.prototype.createFolder;
  CloudreveClient.prototype.createFolder = function (this: CloudreveClient, uri: string) {
    made.push(uri);
    return createFolder.call(this, uri);
  };
  try {
    await engine.login(emu.url, emu.email, emu.password);
    dir.file('t/a/b/c/deep.txt', 'deep');
    dir.file('t/a/top.txt', 'top');
    mkdirSync(join(dir.path, 't/a/empty/inner'), { recursive: true });
    dir.file('t/a/litter/.DS_Store', 'x'); // left out by the default ignore rules: the folder is still made
    const ids = await engine.enqueue([join(dir.path, 't')], 'cloudreve://my/up');
    await engine.idle();
    assert.equal(ids.length, 2);
    assert.deepEqual(ids.map((id) => engine.transfer(id)!.state), ['done', 'done']);
    assert.deepEqual(made.sort(), ['cloudreve://my/up/t/a/empty', 'cloudreve://my/up/t/a/empty/inner', 'cloudreve://my/up/t/a/litter']);
    const c = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a11' });
    await c.login(emu.email, emu.password);
    const names = async (uri: string) => (await c.listAll(uri)).map((f) => f.name).sort();
    assert.deepEqual(await names('cloudreve://my/up/t/a'), ['b', 'empty', 'litter', 'top.txt']);
    assert.deepEqual(await names('cloudreve://my/up/t/a/b/c'), ['deep.txt']);
    assert.deepEqual(await names('cloudreve://my/up/t/a/empty'), ['inner']);
  } finally {
    CloudreveClient.prototype.createFolder = createFolder;
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});

test('files are fingerprinted a slice at a time while the first ones upload: one that vanishes meanwhile is skipped with its reason', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home') });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const N = 200; // more than one slice
    for (let i = 0; i < N; i++) dir.file(`many/f${String(i).padStart(3, '0')}.txt`, `file ${i}`);
    const last = join(dir.path, `many/f${N - 1}.txt`);
    // the first slice is queued (and starts) before the last file was even looked at again: remove it then
    let removed = false;
    const off = engine.events.on('transfer-added', () => {
      if (!removed) {
        removed = true;
        rmSync(last);
      }
    });
    const skipped: SkippedEntry[] = [];
    const warnings: string[] = [];
    const offLog = engine.events.on('log', (l) => l.level === 'warn' && warnings.push(l.message));
    const ids = await engine.enqueue([join(dir.path, 'many')], 'cloudreve://my/slices', { onSkipped: (s) => skipped.push(s) });
    off();
    offLog();
    await engine.idle();
    assert.equal(ids.length, N - 1);
    assert.ok(ids.every((id) => engine.transfer(id)!.state === 'done'));
    assert.deepEqual(skipped, [{ path: last, reason: 'skipped: no such file or directory', failure: true }]);
    assert.deepEqual(warnings, [`${last}: skipped: no such file or directory`]);
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});

test('a file where a folder of the tree should be: that file fails with the likely cause named, the rest uploads', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home') });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const [blocker] = await engine.enqueue([dir.file('a', 'a file named like the folder')], 'cloudreve://my/in-the-way');
    await engine.idle();
    assert.equal(engine.transfer(blocker)!.state, 'done');
    dir.file('t/a/x.txt', 'x');
    dir.file('t/ok.txt', 'ok');
    const ids = await engine.enqueue([join(dir.path, 't', 'a'), join(dir.path, 't', 'ok.txt')], 'cloudreve://my/in-the-way');
    await engine.idle();
    const [x, ok] = ids.map((id) => engine.transfer(id)!);
    assert.equal(ok.state, 'done');
    assert.equal(x.state, 'failed');
    assert.match(x.error!.message, /a folder on the way to cloudreve:\/\/my\/in-the-way\/a\/x\.txt cannot be made \(is one of them a file\?\)/);
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
