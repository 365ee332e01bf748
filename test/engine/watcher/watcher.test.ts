/**
 * The folder watcher on real files (both strategies): a file written slowly is reported once after its last write, ignored
 * paths are not reported; and through the engine, a slowly written file is uploaded once, whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine } from '../../../main/engine/index.js';
import { IgnoreRules } from '../../../main/engine/sync/ignore-rules.js';
import { isUncPath, macMountType, watchFolder } from '../../../main/engine/watcher/watcher.js';
import { startEmulator } from '../../emulator/index.js';
import { tmpDir } from '../../helpers/tmp-tree.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a slowly written file is reported once, after its last write; ignored litter is not reported', async () => {
  const d = tmpDir();
  const batches: Array<{ at: number; rels: string[] }> = [];
  const ignore = new IgnoreRules([]);
  const w = await watchFolder({
    root: d.path,
    settleMs: 600,
    maxWaitMs: 60_000,
    ignored: (rel, isFolder) => ignore.ignores(rel, isFolder),
    onChanges: (rels) => batches.push({ at: Date.now(), rels }),
    onFallback: (reason) => assert.fail(reason),
  });
  try {
    mkdirSync(join(d.path, 'sub'));
    const p = join(d.path, 'sub', 'slow.bin');
    writeFileSync(p, 'x');
    for (let i = 0; i < 8; i++) {
      await sleep(200);
      appendFileSync(p, 'y'.repeat(1000));
    }
    const lastWrite = Date.now();
    writeFileSync(join(d.path, '.DS_Store'), 'litter');
    for (let i = 0; i < 100 && !batches.some((b) => b.rels.includes('sub/slow.bin')); i++) await sleep(100);
    await sleep(800); // anything else would have arrived by now
    const reports = batches.filter((b) => b.rels.includes('sub/slow.bin'));
    assert.equal(reports.length, 1, JSON.stringify(batches));
    assert.ok(reports[0].at >= lastWrite + 500, 'not before the writes stopped');
    assert.ok(!batches.some((b) => b.rels.includes('.DS_Store')));
  } finally {
    await w.close();
    d.cleanup();
  }
});

test('through the engine: a file written over several seconds is uploaded once, whole', async () => {
  const emu = await startEmulator();
  const d = tmpDir();
  const local = join(d.path, 'local');
  mkdirSync(local);
  const engine = await createEngine({ home: join(d.path, 'home'), settleMs: 700 });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const pair = engine.sync.addPair({ localPath: local, remoteUri: '/w' });
    await engine.sync.syncPair(pair.id);
    await engine.sync.start();
    const before = emu.stats().sessions_created;
    const p = join(local, 'video.bin');
    const parts: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      const chunk = Buffer.alloc(50_000, i);
      parts.push(chunk);
      appendFileSync(p, chunk);
      await sleep(300);
    }
    const whole = Buffer.concat(parts);
    for (let i = 0; i < 150 && emu.blob('cloudreve://my/w/video.bin')?.length !== whole.length; i++) await sleep(100);
    await engine.idle();
    assert.ok(emu.blob('cloudreve://my/w/video.bin')?.equals(whole), 'the whole file, not a half-written one');
    assert.equal(emu.stats().sessions_created - before, 1, 'uploaded once');
  } finally {
    await engine.close();
    await emu.close();
    d.cleanup();
  }
});

test('through the engine: a new settle delay applies to a running sync at once, to a change already waiting', async () => {
  const emu = await startEmulator();
  const d = tmpDir();
  const local = join(d.path, 'local');
  mkdirSync(local);
  // started with a minute of settling: without the live change the file would wait that long
  const engine = await createEngine({ home: join(d.path, 'home'), settleMs: 60_000 });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const pair = engine.sync.addPair({ localPath: local, remoteUri: '/s' });
    await engine.sync.syncPair(pair.id);
    await engine.sync.start();
    writeFileSync(join(local, 'note.txt'), 'settled sooner');
    await sleep(500); // the watcher saw it; it now waits for a quiet minute
    assert.equal(emu.blob('cloudreve://my/s/note.txt'), null);
    engine.setSettleDelay(200);
    for (let i = 0; i < 100 && !emu.blob('cloudreve://my/s/note.txt'); i++) await sleep(100);
    assert.equal(emu.blob('cloudreve://my/s/note.txt')?.toString(), 'settled sooner', 'uploaded within 10 s, not after a minute');
  } finally {
    await engine.close();
    await emu.close();
    d.cleanup();
  }
});

/** Starts a watcher on a fresh folder and collects every reported path. */
async function collecting(strategy: 'per-folder' | 'recursive', setup?: (root: string) => void) {
  const d = tmpDir();
  setup?.(d.path);
  const seen = new Set<string>();
  const ignore = new IgnoreRules(['node_modules/']);
  const w = await watchFolder({
    root: d.path,
    settleMs: 150,
    maxWaitMs: 10_000,
    strategy,
    ignored: (rel, isFolder) => ignore.ignores(rel, isFolder),
    onChanges: (rels) => rels.forEach((r) => seen.add(r)),
    onFallback: (reason) => assert.fail(reason),
  });
  const waitFor = async (rel: string) => {
    for (let i = 0; i < 100 && !seen.has(rel); i++) await sleep(100);
    assert.ok(seen.has(rel), `${rel} reported (saw ${JSON.stringify([...seen])})`);
  };
  return { root: d.path, seen, waitFor, close: async () => (await w.close(), d.cleanup()) };
}

for (const strategy of ['per-folder', 'recursive'] as const) {
  test(`${strategy}: a folder moved in is watched and everything in it is reported; new subfolders are watched`, async () => {
    const outside = tmpDir();
    mkdirSync(join(outside.path, 'album', 'day1'), { recursive: true });
    writeFileSync(join(outside.path, 'album', 'day1', 'a.jpg'), 'a');
    writeFileSync(join(outside.path, 'album', 'b.jpg'), 'b');
    const c = await collecting(strategy, (root) => mkdirSync(join(root, 'existing')));
    try {
      renameSync(join(outside.path, 'album'), join(c.root, 'album'));
      await c.waitFor('album/day1/a.jpg');
      await c.waitFor('album/b.jpg');
      // the moved-in tree is watched now: a write deep inside it is seen
      await sleep(300);
      writeFileSync(join(c.root, 'album', 'day1', 'later.jpg'), 'l');
      await c.waitFor('album/day1/later.jpg');
      // a folder made after the start, then a file in it
      mkdirSync(join(c.root, 'existing', 'new'));
      await sleep(300);
      writeFileSync(join(c.root, 'existing', 'new', 'n.txt'), 'n');
      await c.waitFor('existing/new/n.txt');
    } finally {
      await c.close();
      outside.cleanup();
    }
  });

  test(`${strategy}: ignored folders are neither watched nor reported; a folder deleted and made again is watched again`, async () => {
    const c = await collecting(strategy, (root) => {
      mkdirSync(join(root, 'node_modules', 'x'), { recursive: true });
      mkdirSync(join(root, 'gone'));
    });
    try {
      writeFileSync(join(c.root, 'node_modules', 'x', 'index.js'), '1');
      rmSync(join(c.root, 'gone'), { recursive: true });
      await c.waitFor('gone');
      mkdirSync(join(c.root, 'gone'));
      await sleep(300);
      writeFileSync(join(c.root, 'gone', 'back.txt'), 'b');
      await c.waitFor('gone/back.txt');
      assert.ok(![...c.seen].some((r) => r.startsWith('node_modules')), JSON.stringify([...c.seen]));
    } finally {
      await c.close();
    }
  });
}

test('network shares: macOS mount types and Windows UNC paths are recognised', () => {
  const mount = [
    '/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)',
    '/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse)',
    '//me@nas._smb._tcp.local/Photos on /Volumes/Photos (smbfs, nodev, nosuid, mounted by me)',
    'nas:/export/backup on /Volumes/backup (nfs, nodev, nosuid, mounted by me)',
    '/dev/disk4s1 on /Volumes/Photos Archive (exfat, local, nodev, nosuid)',
  ].join('\n');
  assert.equal(macMountType(mount, '/Volumes/Photos/2024'), 'smbfs');
  assert.equal(macMountType(mount, '/Volumes/Photos'), 'smbfs');
  assert.equal(macMountType(mount, '/Volumes/Photos Archive/x'), 'exfat', 'a longer mount point with the same prefix wins');
  assert.equal(macMountType(mount, '/Volumes/backup/a'), 'nfs');
  assert.equal(macMountType(mount, '/Users/me/Documents'), 'apfs');
  assert.equal(macMountType('', '/x'), null);
  assert.equal(isUncPath('\\\\nas\\share\\docs'), true);
  assert.equal(isUncPath('\\\\?\\UNC\\nas\\share'), true);
  assert.equal(isUncPath('\\\\?\\C:\\Users\\me'), false);
  assert.equal(isUncPath('\\\\.\\pipe\\x'), false);
  assert.equal(isUncPath('C:\\Users\\me'), false);
});
