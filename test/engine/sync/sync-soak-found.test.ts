/**
 * What the chaos soak found in the sync passes (README "Reliability"), each reproduced without the soak:
 * - a file waiting for its retry time (a lock: "tried again at 12:05") was tried again only at the next hourly scan
 *   or a change in its folder: the pair's scheduler now wakes when the first retry time comes;
 * - a not-synced path under a folder deleted here stayed on the pair's list for ever (the pass never looks inside a
 *   folder that is gone), so the pair read "incomplete" with nothing left to send.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { createEngine, type Engine } from '../../../main/engine/index.js';
import { folderGoneHere } from '../../../main/engine/sync/pair-sync.js';
import { PairScheduler, retryBackoff, type PassScope } from '../../../main/engine/sync/scheduler.js';
import { nextRetryAt } from '../../../main/engine/sync/sync-service.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { tmpDir, type TmpDir } from '../../helpers/tmp-tree.js';

function scheduler(now: { t: number }) {
  const timers: Array<{ fn: () => void; ms: number; id: number }> = [];
  let next = 1;
  const runs: PassScope[] = [];
  let release: (() => void) | null = null;
  const sched = new PairScheduler(
    async (scope) => {
      runs.push(scope);
      await new Promise<void>((r) => (release = r));
      return 'ok';
    },
    {
      scanIntervalMs: 3_600_000,
      pollIntervalMs: 300_000,
      retryDelayMs: retryBackoff,
      now: () => now.t,
      setTimer: (fn, ms) => {
        const id = next++;
        timers.push({ fn, ms, id });
        return id;
      },
      clearTimer: (id) => {
        const i = timers.findIndex((t) => t.id === id);
        if (i >= 0) timers.splice(i, 1);
      },
    },
  );
  const finish = async () => {
    const r = release!;
    release = null;
    r();
    await new Promise((r2) => setImmediate(r2));
  };
  return { sched, runs, timers, finish };
}

describe('a failed file is tried again when its retry time comes', () => {
  test('wakeAt arms the timer for the retry time (a little after it) instead of the hourly scan, once', async () => {
    const now = { t: 1_000_000 };
    const { sched, runs, timers, finish } = scheduler(now);
    sched.start();
    sched.wakeAt(now.t + 300_000); // asked during the pass: applies after it
    assert.equal(timers.length, 0);
    await finish();
    assert.deepEqual(timers.map((t) => t.ms), [300_050]);
    sched.wakeAt(now.t + 400_000); // later than the armed one: changes nothing
    assert.deepEqual(timers.map((t) => t.ms), [300_050]);
    now.t += 300_050;
    timers.pop()!.fn();
    assert.deepEqual(runs, [{}, {}], 'a full pass at the retry time');
    await finish();
    assert.deepEqual(timers.map((t) => t.ms), [3_600_000], 'the wake is spent: back to the hourly scan');
    // asked while idle: the armed timer is replaced by a sooner one
    sched.wakeAt(now.t + 60_000);
    assert.deepEqual(timers.map((t) => t.ms), [60_050]);
    await sched.stop();
  });

  test('a retry time that passed while a pass ran: the next pass right after it', async () => {
    const now = { t: 5_000 };
    const { sched, timers, finish } = scheduler(now);
    sched.start();
    sched.wakeAt(now.t + 1000);
    now.t += 10_000;
    await finish();
    assert.deepEqual(timers.map((t) => t.ms), [50]);
    await sched.stop();
  });

  test('nextRetryAt: the first retry time still to come', () => {
    assert.equal(nextRetryAt([], 10), null);
    assert.equal(nextRetryAt([{ retryAt: null }, { retryAt: 5 }], 10), null, 'past ones are not waited for');
    assert.equal(nextRetryAt([{ retryAt: 50 }, { retryAt: 20 }, { retryAt: null }, { retryAt: 5 }], 10), 20);
  });
});

describe('a not-synced path under a folder deleted here leaves the list', () => {
  test('folderGoneHere: the nearest looked-at parent decides', () => {
    const looked = new Set(['', 'a']);
    assert.equal(folderGoneHere('d/x.bin', looked, new Set(['a'])), true, 'd is gone from the root');
    assert.equal(folderGoneHere('d/e/x.bin', looked, new Set(['a'])), true, 'd, above e, is gone');
    assert.equal(folderGoneHere('a/b/x.bin', looked, new Set(['a'])), true, 'a was looked at and holds no b');
    assert.equal(folderGoneHere('a/b/x.bin', looked, new Set(['a', 'a/b'])), false, 'b is there but was not looked into');
    assert.equal(folderGoneHere('x.bin', looked, new Set()), false, 'no folder above it');
    assert.equal(folderGoneHere('d/x.bin', new Set(['a']), new Set()), false, 'the root was not looked at');
  });

  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    mkdirSync(join(dir.path, 'local'));
    engine = await createEngine({ home: join(dir.path, 'home'), retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 }, settleMs: 100 });
    await engine.login(emu.url, emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });

  test('a file that failed (quota) in a folder then deleted here: the next pass clears it, the pair is idle', async () => {
    const R = 'cloudreve://my/gone';
    const local = join(dir.path, 'local');
    const other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a12' });
    await other.login(emu.email, emu.password);
    const cap = await other.capacity();
    emu.tune({ quota: cap.used + 150_000 });
    dir.file('local/keep.bin', Buffer.alloc(100_000, 1));
    dir.file('local/d/e/big.bin', Buffer.alloc(200_000, 2));
    const first = await engine.sync.syncOnce({ localPath: local, remoteUri: R });
    assert.deepEqual(first.problems.map((p) => [p.rel, p.code]), [['d/e/big.bin', 'quota']]);
    assert.equal(engine.sync.pair(first.pairId)!.state, 'incomplete');
    rmSync(join(local, 'd'), { recursive: true });
    const second = await engine.sync.syncOnce({ localPath: local, remoteUri: R });
    assert.deepEqual(engine.sync.issues(second.pairId), [], 'nothing is missing any more: the file went with its folder');
    assert.equal(second.notSynced, 0);
    assert.equal(engine.sync.pair(second.pairId)!.state, 'idle');
    emu.tune({ quota: cap.used + 100_000_000 });
  });
});
