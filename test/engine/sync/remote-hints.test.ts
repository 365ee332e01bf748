/**
 * The server's change stream as a rescan hint: a file deleted on the server by someone else is restored by the next
 * pass of its folder within seconds (backup re-uploads what is still here), with no local change and the hourly scan
 * far away; the stream reconnects after a server restart; old servers are left to the periodic scans.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { createEngine } from '../../../main/engine/index.js';
import { hintFolders } from '../../../main/engine/sync/remote-hints.js';
import { startEmulator } from '../../emulator/index.js';
import { tmpDir } from '../../helpers/tmp-tree.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('hintFolders: the parents of from and to, relative to the pair; anything unplaceable means the root', () => {
  assert.deepEqual(hintFolders({ type: 'create', from: '/a.txt', to: '' }), ['']);
  assert.deepEqual(hintFolders({ type: 'modify', from: '/sub/deep/a.txt', to: '' }), ['sub/deep']);
  assert.deepEqual(hintFolders({ type: 'rename', from: '/x/a.txt', to: '/y/b.txt' }), ['x', 'y']);
  assert.deepEqual(hintFolders({ type: 'delete', from: '/../../etc/passwd', to: '' }), ['etc']);
  assert.deepEqual(hintFolders('not json'), ['']);
  assert.deepEqual(hintFolders({ type: 'create' }), ['']);
});

async function setup(version?: string) {
  const emu = await startEmulator({ eventDebounceMs: 100, keepAliveMs: 1000, ...(version ? { version } : {}) });
  const dir = tmpDir();
  const local = join(dir.path, 'local');
  mkdirSync(join(local, 'docs'), { recursive: true });
  writeFileSync(join(local, 'docs', 'keep.txt'), 'precious');
  const logs: string[] = [];
  const engine = await createEngine({
    home: join(dir.path, 'home'),
    settleMs: 100,
    sync: { scanIntervalMs: 3_600_000, remoteHintRetry: { baseMs: 100, maxMs: 400 } },
  });
  engine.events.on('log', (l) => logs.push(l.message));
  await engine.login(emu.url, emu.email, emu.password);
  const other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a11' });
  await other.login(emu.email, emu.password);
  const pair = engine.sync.addPair({ localPath: local, remoteUri: '/hinted' });
  await engine.sync.syncPair(pair.id);
  return {
    emu,
    engine,
    other,
    logs,
    close: async () => {
      await engine.close();
      await emu.close();
      dir.cleanup();
    },
  };
}

const URI = 'cloudreve://my/hinted/docs/keep.txt';

async function restoredWithin(env: Awaited<ReturnType<typeof setup>>, ms: number): Promise<boolean> {
  for (let i = 0; i < ms / 100; i++) {
    if (env.emu.blob(URI)?.toString() === 'precious') return true;
    await sleep(100);
  }
  return false;
}

test('a file deleted on the server is restored by a pass of its folder, prompted by the change stream', async () => {
  const env = await setup();
  try {
    await env.engine.sync.start();
    await sleep(500); // subscribed
    await env.other.delete([URI], { skipSoftDelete: true });
    assert.equal(env.emu.blob(URI), null);
    assert.ok(await restoredWithin(env, 15_000), `restored (logs: ${env.logs.join(' | ')})`);

    // the server restarts (the stream breaks): it is opened again and still works
    await env.emu.stop();
    await sleep(300);
    await env.emu.start();
    await sleep(1500);
    await env.other.login(env.emu.email, env.emu.password);
    await env.other.delete([URI], { skipSoftDelete: true });
    assert.ok(await restoredWithin(env, 15_000), `restored after the restart (logs: ${env.logs.join(' | ')})`);
  } finally {
    await env.close();
  }
});

test('a server without the change stream (4.10) is left to the periodic scans, quietly', async () => {
  const env = await setup('4.10.0');
  try {
    await env.engine.sync.start();
    await sleep(800);
    await env.other.delete([URI], { skipSoftDelete: true });
    assert.equal(await restoredWithin(env, 2000), false, 'no hint, no pass before the hourly scan');
    assert.ok(env.logs.some((l) => /change events need Cloudreve/.test(l)), env.logs.join(' | '));
  } finally {
    await env.close();
  }
});
