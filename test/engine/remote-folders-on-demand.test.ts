/**
 * Uploading a tree makes only the remote folders no file goes into (empty ones, or holding only what was left out):
 * the others are made by the server as each file's session is created (spec §5.1). A folder per request before the
 * first byte was a round trip per folder of a deep tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
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
    const c = new CloudreveClient({ baseUrl: emu.url });
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
