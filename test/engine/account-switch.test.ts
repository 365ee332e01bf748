/**
 * Signing out and in again within one engine (the desktop app never restarts for it): uploads after the new login
 * run, and what the old login left unfinished stays in the journal for `resume`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const CHUNK = 64 * 1024;

test('logout then login in the same engine: new uploads run to the end', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK } });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home'), settleMs: 200 });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const a = dir.random('a.bin', 3 * CHUNK);
    const [first] = await engine.enqueue([a.path], 'cloudreve://my/acc');
    await engine.idle();
    assert.equal(engine.transfer(first)!.state, 'done');

    await engine.logout();
    assert.equal(engine.account(), null);
    await assert.rejects(engine.enqueue([a.path], 'cloudreve://my/acc'), { code: 'login-required' });

    await engine.login(emu.url, emu.email, emu.password);
    const b = dir.random('b.bin', 3 * CHUNK + 7);
    const [second] = await engine.enqueue([b.path], 'cloudreve://my/acc');
    const settled = await Promise.race([
      engine.idle().then(() => 'idle'),
      new Promise((r) => setTimeout(() => r('timed out'), 20_000).unref()),
    ]);
    assert.equal(settled, 'idle');
    assert.equal(engine.transfer(second)!.state, 'done', JSON.stringify(engine.transfer(second)));
    assert.ok(emu.blob('cloudreve://my/acc/b.bin')!.equals(b.data));
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});

test('logout mid-upload keeps the transfer for resume after the next login', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK } });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home'), settleMs: 200, bandwidthLimit: 256 * 1024 });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const f = dir.random('slow.bin', 16 * CHUNK);
    const [id] = await engine.enqueue([f.path], 'cloudreve://my/acc');
    await new Promise<void>((resolve) => {
      const off = engine.events.on('transfer-progressed', (p) => {
        if (p.id === id && p.bytesDone > 2 * CHUNK) {
          off();
          resolve();
        }
      });
    });
    await engine.logout();
    assert.deepEqual(engine.listTransfers(), [], 'signed out: nothing of the old account is listed');
    await engine.login(emu.url, emu.email, emu.password);
    assert.notEqual(engine.transfer(id)!.state, 'done');
    engine.setBandwidthLimit(0);
    assert.deepEqual(engine.resumeInterrupted(), [id]);
    await engine.idle();
    assert.equal(engine.transfer(id)!.state, 'done');
    assert.ok(emu.blob('cloudreve://my/acc/slow.bin')!.equals(f.data));
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
