/**
 * The chokidar watcher on real files: a file written slowly is reported once after its last write, ignored
 * paths are not reported; and through the engine, a slowly written file is uploaded once, whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine } from '../../../main/engine/index.js';
import { IgnoreRules } from '../../../main/engine/sync/ignore-rules.js';
import { watchFolder } from '../../../main/engine/watcher/watcher.js';
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
