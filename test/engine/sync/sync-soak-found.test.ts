/**
 * What the chaos soak found in the sync passes (README "Reliability"), each reproduced without the soak:
 * - a file waiting for its retry time (a lock: "tried again at 12:05") was tried again only at the next hourly scan
 *   or a change in its folder: the pair's scheduler now wakes when the first retry time comes;
 * - a not-synced path under a folder deleted here stayed on the pair's list for ever (the pass never looks inside a
 *   folder that is gone), so the pair read "incomplete" with nothing left to send;
 * - a file renamed inside a folder that was renamed too (one pass sees both) was sent again (and, in mirror mode,
 *   its old name trashed): the folder's move was carried out, the file's rename inside it never looked for;
 * - a file moved to another folder whose two sides reached the watcher's passes apart (each path settles on its
 *   own) was no move: the pass that saw the old folder trashed the old copy (mirror) while the new path was still
 *   to be sent, and the pass that saw the new folder sent it again;
 * - backup mode keeps the record of a path gone here (its server copy stays): after one rename that could not be a
 *   move (the file was also edited), every later rename of the file found two gone paths with its inode and was
 *   sent again (and left one more record behind).
 * - two-way (the soak's `--mode two-way`, seed 1): keep-mine of a conflict the download side found sent ours up and
 *   trashed the copy on the server, but left the copy here (theirs, `name (conflict … server).ext`): the pair read
 *   `idle` with a file here that the server no longer had, until some later full pass trashed it.
 * - an upload of ours that ended while a pass looked (busy when the pass began, its placeholder in the pass's
 *   listing) was reported "locked: an unfinished upload holds this path" (the rule for uploads we do not drive): the
 *   pair stayed `incomplete` with nothing to send and nothing to wake it (two-way soak, seed 2: the settle never
 *   came).
 * - the CLI's bundle could not move a file to this computer's trash on Linux (the `trash` package reads the mount
 *   table through a computed require() the bundler cannot follow: "Module not found in bundle"): every local trash
 *   of a two-way pair run by `cloudreve-sync` failed (two-way soak, seeds 2 and 3: nothing ever in the local trash).
 * - a pass over some folders (the watcher's) right after a pass that held a mass delete back set the pair to `idle`:
 *   the hold was still in force but nothing asked for the confirmation any more (two-way soak, seed 4).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { createEngine, type Engine } from '../../../main/engine/index.js';
import { folderGoneHere } from '../../../main/engine/sync/pair-sync.js';
import { findMoves } from '../../../main/engine/sync/moves.js';
import type { PathState } from '../../../main/engine/sync/discovery.js';
import { appendFileSync } from 'node:fs';
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { PairScheduler, retryBackoff, type PassScope } from '../../../main/engine/sync/scheduler.js';
import { nextRetryAt } from '../../../main/engine/sync/sync-service.js';
import type { WatchOptions } from '../../../main/engine/watcher/watcher.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { tmpDir, type TmpDir } from '../../helpers/tmp-tree.js';
import { startTwoWayEnv, type TwoWayEnv } from '../../helpers/two-way-env.js';

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

describe('a file renamed inside a folder renamed in the same pass: both are moves, nothing is sent', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let other: CloudreveClient;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    engine = await createEngine({ home: join(dir.path, 'home'), retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 }, settleMs: 100, sync: { remoteHints: false } });
    await engine.login(emu.url, emu.email, emu.password);
    other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a13' });
    await other.login(emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });
  const text = (uri: string) => emu.blob(uri)?.toString('utf8') ?? null;

  test('a one-off pass (mirror): the folder is moved, then the file renamed in it; no session, nothing trashed', async () => {
    const R = 'cloudreve://my/nested';
    const local = join(dir.path, 'nested');
    dir.file('nested/d/a.txt', 'alpha');
    dir.file('nested/d/keep.txt', 'kept');
    const first = await engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'mirror' });
    assert.equal(first.uploads, 2);
    renameSync(join(local, 'd', 'a.txt'), join(local, 'd', 'b.txt'));
    renameSync(join(local, 'd'), join(local, 'e'));
    const sessions = emu.stats().sessions_created;
    const r = await engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'mirror' });
    assert.equal(emu.stats().sessions_created, sessions, `nothing sent: ${JSON.stringify(r.actions)}`);
    assert.equal(r.moved, 2, JSON.stringify(r.actions));
    assert.deepEqual(r.trashed, []);
    assert.equal(text(`${R}/e/b.txt`), 'alpha');
    assert.equal(text(`${R}/e/keep.txt`), 'kept');
    assert.equal(emu.file(`${R}/e/a.txt`), null);
    assert.equal(emu.file(`${R}/d`), null);
    assert.deepEqual((await other.listAll('cloudreve://trash')).map((f) => f.name), []);
  });

  test("a watched pair (the watcher's folders only): the same, carried out by the pass its events start", async () => {
    const R = 'cloudreve://my/nested-watched';
    const local = join(dir.path, 'watched');
    dir.file('watched/top/d/a.txt', 'alpha');
    dir.file('watched/top/d/keep.txt', 'kept');
    const pair = engine.sync.addPair({ localPath: local, remoteUri: R, mode: 'mirror' });
    const stop = await engine.sync.follow(pair.id);
    const waitFor = async (what: string, ok: () => boolean, ms = 20_000) => {
      const until = Date.now() + ms;
      while (!ok() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(ok(), `timed out waiting for ${what}`);
    };
    try {
      await waitFor('the first uploads', () => text(`${R}/top/d/a.txt`) === 'alpha' && text(`${R}/top/d/keep.txt`) === 'kept' && engine.sync.pair(pair.id)!.state === 'idle');
      const sessions = emu.stats().sessions_created;
      renameSync(join(local, 'top', 'd', 'a.txt'), join(local, 'top', 'd', 'b.txt'));
      renameSync(join(local, 'top', 'd'), join(local, 'top', 'e'));
      await waitFor('the moves on the server', () => text(`${R}/top/e/b.txt`) === 'alpha' && emu.file(`${R}/top/e/a.txt`) === null && emu.file(`${R}/top/d`) === null);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(emu.stats().sessions_created, sessions, 'nothing sent');
      assert.equal(text(`${R}/top/e/keep.txt`), 'kept');
      assert.deepEqual((await other.listAll('cloudreve://trash')).map((f) => f.name), []);
    } finally {
      await stop();
    }
  });
});

describe('a move whose two sides reach the passes apart is still a move', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let other: CloudreveClient;
  /** the pair's watcher, driven by the test: onChanges as the real one calls it */
  let watched: WatchOptions | null = null;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    engine = await createEngine({
      home: join(dir.path, 'home'),
      retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 },
      settleMs: 100,
      sync: {
        remoteHints: false,
        watch: async (opts) => {
          watched = opts;
          return { close: async () => {} };
        },
      },
    });
    await engine.login(emu.url, emu.email, emu.password);
    other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a14' });
    await other.login(emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });
  const text = (uri: string) => emu.blob(uri)?.toString('utf8') ?? null;
  const waitFor = async (what: string, ok: () => boolean, ms = 20_000) => {
    const until = Date.now() + ms;
    while (!ok() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(ok(), `timed out waiting for ${what}`);
  };
  /** a pass for these folders, run to its end */
  const hint = async (pairId: string, rels: string[]) => {
    let passes = 0;
    const off = engine.events.on('pair-changed', (p) => {
      if (p.id === pairId && p.state === 'scanning') passes++;
    });
    watched!.onChanges(rels);
    await waitFor('the pass', () => passes > 0 && engine.sync.pair(pairId)!.state === 'idle');
    off();
  };

  for (const [mode, order, first, second] of [
    ['mirror', 'the old folder first', 'a/x.txt', 'b/y.txt'],
    ['mirror', 'the new folder first', 'b/y.txt', 'a/x.txt'],
    ['backup', 'the old folder first', 'a/x.txt', 'b/y.txt'],
  ] as const) {
    test(`${mode}, ${order}: moved on the server, nothing sent, nothing trashed`, async () => {
      const name = `${mode}-${order.startsWith('the old') ? 'old-first' : 'new-first'}`;
      const R = `cloudreve://my/apart-${name}`;
      const local = join(dir.path, name);
      dir.file(`${name}/a/x.txt`, 'the content');
      dir.file(`${name}/a/stay.txt`, 'stays');
      dir.file(`${name}/b/other.txt`, 'other');
      const pair = engine.sync.addPair({ localPath: local, remoteUri: R, mode });
      const stop = await engine.sync.follow(pair.id);
      try {
        await waitFor('the first pass', () => text(`${R}/a/x.txt`) === 'the content' && text(`${R}/b/other.txt`) === 'other' && engine.sync.pair(pair.id)!.state === 'idle');
        const sessions = emu.stats().sessions_created;
        renameSync(join(local, 'a', 'x.txt'), join(local, 'b', 'y.txt'));
        await hint(pair.id, [first]);
        await hint(pair.id, [second]);
        assert.equal(text(`${R}/b/y.txt`), 'the content');
        assert.equal(emu.file(`${R}/a/x.txt`), null);
        assert.equal(emu.stats().sessions_created, sessions, 'nothing sent');
        assert.deepEqual((await other.listAll('cloudreve://trash')).map((f) => f.name), [], 'nothing trashed');
        assert.equal(text(`${R}/a/stay.txt`), 'stays');
      } finally {
        await stop();
      }
    });
  }
});

describe('a file moved out of a folder that then moves too (the pass sees the folder move first)', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let other: CloudreveClient;
  let watched: WatchOptions | null = null;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    engine = await createEngine({
      home: join(dir.path, 'home'),
      retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 },
      settleMs: 100,
      sync: {
        remoteHints: false,
        watch: async (opts) => {
          watched = opts;
          return { close: async () => {} };
        },
      },
    });
    await engine.login(emu.url, emu.email, emu.password);
    other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a15' });
    await other.login(emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });

  test('mirror: the folder moves, then the file found at its new place moves too; nothing sent, nothing trashed', async () => {
    const R = 'cloudreve://my/out-of-moving';
    const local = join(dir.path, 'oom');
    dir.file('oom/f/x.txt', 'the content');
    dir.file('oom/f/stay.txt', 'stays');
    dir.file('oom/g/other.txt', 'other');
    mkdirSync(join(local, 'h'));
    const pair = engine.sync.addPair({ localPath: local, remoteUri: R, mode: 'mirror' });
    const stop = await engine.sync.follow(pair.id);
    const text = (uri: string) => emu.blob(uri)?.toString('utf8') ?? null;
    const waitFor = async (what: string, ok: () => boolean, ms = 20_000) => {
      const until = Date.now() + ms;
      while (!ok() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(ok(), `timed out waiting for ${what}`);
    };
    try {
      await waitFor('the first pass', () => text(`${R}/f/x.txt`) === 'the content' && emu.file(`${R}/h`) !== null && engine.sync.pair(pair.id)!.state === 'idle');
      const sessions = emu.stats().sessions_created;
      renameSync(join(local, 'f', 'x.txt'), join(local, 'g', 'y.txt'));
      renameSync(join(local, 'f'), join(local, 'h', 'f'));
      let passes = 0;
      const off = engine.events.on('pair-changed', (p) => {
        if (p.id === pair.id && p.state === 'scanning') passes++;
      });
      watched!.onChanges(['f', 'h/f']); // the folder's move only: g's event comes later
      await waitFor('the pass', () => passes > 0 && engine.sync.pair(pair.id)!.state === 'idle');
      off();
      assert.equal(text(`${R}/h/f/stay.txt`), 'stays');
      assert.equal(text(`${R}/g/y.txt`), 'the content', 'the file moved in the same pass');
      assert.equal(emu.stats().sessions_created, sessions, 'nothing sent');
      assert.deepEqual((await other.listAll('cloudreve://trash')).map((f) => f.name), [], 'nothing trashed');
    } finally {
      await stop();
    }
  });
});

describe('a folder moved out of its parent, whose parent was then renamed (the pass sees the new place first)', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let other: CloudreveClient;
  let watched: WatchOptions | null = null;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    engine = await createEngine({
      home: join(dir.path, 'home'),
      retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 },
      settleMs: 100,
      sync: {
        remoteHints: false,
        watch: async (opts) => {
          watched = opts;
          return { close: async () => {} };
        },
      },
    });
    await engine.login(emu.url, emu.email, emu.password);
    other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a17' });
    await other.login(emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });

  for (const mode of ['mirror', 'backup'] as const) {
    test(`${mode}: both are moves on the server, nothing sent, nothing trashed`, async () => {
      const R = `cloudreve://my/out-and-renamed-${mode}`;
      const local = join(dir.path, `oar-${mode}`);
      dir.file(`oar-${mode}/r/c/s/one.txt`, 'one');
      dir.file(`oar-${mode}/r/c/s/two.txt`, 'two');
      dir.file(`oar-${mode}/r/c/keep.txt`, 'kept');
      const pair = engine.sync.addPair({ localPath: local, remoteUri: R, mode });
      const stop = await engine.sync.follow(pair.id);
      const text = (uri: string) => emu.blob(uri)?.toString('utf8') ?? null;
      const waitFor = async (what: string, ok: () => boolean, ms = 20_000) => {
        const until = Date.now() + ms;
        while (!ok() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        assert.ok(ok(), `timed out waiting for ${what}`);
      };
      try {
        await waitFor('the first pass', () => text(`${R}/r/c/s/two.txt`) === 'two' && text(`${R}/r/c/keep.txt`) === 'kept' && engine.sync.pair(pair.id)!.state === 'idle');
        const sessions = emu.stats().sessions_created;
        renameSync(join(local, 'r', 'c', 's'), join(local, 's'));
        renameSync(join(local, 'r', 'c'), join(local, 'r', 'd'));
        let passes = 0;
        const off = engine.events.on('pair-changed', (p) => {
          if (p.id === pair.id && p.state === 'scanning') passes++;
        });
        watched!.onChanges(['s']); // the new place first; r's own change comes in a later batch
        await waitFor('the pass', () => passes > 0 && engine.sync.pair(pair.id)!.state === 'idle');
        watched!.onChanges(['r/c', 'r/d']);
        await waitFor('the second pass', () => passes > 1 && engine.sync.pair(pair.id)!.state === 'idle');
        off();
        assert.equal(text(`${R}/s/one.txt`), 'one');
        assert.equal(text(`${R}/r/d/keep.txt`), 'kept');
        assert.equal(emu.file(`${R}/r/d/s`), null, 'no copy left behind');
        assert.equal(emu.stats().sessions_created, sessions, 'nothing sent');
        assert.deepEqual((await other.listAll('cloudreve://trash')).map((f) => f.name), [], 'nothing trashed');
      } finally {
        await stop();
      }
    });
  }
});

describe('mirror: an old path is trashed only once its content is on the server again, whichever pass sent it', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let other: CloudreveClient;
  let watched: WatchOptions | null = null;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    engine = await createEngine({
      home: join(dir.path, 'home'),
      retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 },
      settleMs: 100,
      sync: {
        remoteHints: false,
        watch: async (opts) => {
          watched = opts;
          return { close: async () => {} };
        },
      },
    });
    await engine.login(emu.url, emu.email, emu.password);
    other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a16' });
    await other.login(emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });

  test('renamed and edited (so sent again) out of a folder then renamed too: the old copy waits for that upload, then goes', async () => {
    const R = 'cloudreve://my/replacement';
    const local = join(dir.path, 'repl');
    dir.file('repl/a/x.txt', 'version one');
    dir.file('repl/a/stay.txt', 'stays');
    dir.file('repl/b/other.txt', 'other');
    const pair = engine.sync.addPair({ localPath: local, remoteUri: R, mode: 'mirror' });
    const stop = await engine.sync.follow(pair.id);
    const text = (uri: string) => emu.blob(uri)?.toString('utf8') ?? null;
    const trash = async () => (await other.listAll('cloudreve://trash')).map((f) => f.name);
    const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 20_000) => {
      const until = Date.now() + ms;
      while (!(await ok()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(await ok(), `timed out waiting for ${what}`);
    };
    const order: string[] = [];
    const off = emu.onFileEvent((e) => {
      if (e.kind === 'delete' || e.kind === 'modify') order.push(`${e.kind} ${e.from}`);
    });
    try {
      await waitFor('the first pass', () => text(`${R}/a/x.txt`) === 'version one' && text(`${R}/b/other.txt`) === 'other' && engine.sync.pair(pair.id)!.state === 'idle');
      order.length = 0;
      renameSync(join(local, 'a', 'x.txt'), join(local, 'b', 'y.txt'));
      appendFileSync(join(local, 'b', 'y.txt'), ', edited'); // not a move: its content goes up again
      renameSync(join(local, 'a'), join(local, 'c')); // and its old folder renamed: the new path's pass cannot see the old one
      // its part takes a while (a slow link): the upload is still on its way when the old path's pass runs
      emu.addFault({ path: '^/api/v4/file/upload/[^/]+/\\d+$', action: { type: 'stall', ms: 2500, afterBytes: 0 } });
      watched!.onChanges(['b/y.txt']);
      await waitFor('the upload to start', () => emu.sessions().length > 0);
      watched!.onChanges(['a', 'c']);
      await waitFor('the folder moved on the server', () => text(`${R}/c/stay.txt`) === 'stays');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(text(`${R}/b/y.txt`), null, 'the new copy is still on its way');
      assert.deepEqual(await trash(), [], 'so the old one is not trashed yet');
      assert.equal(text(`${R}/c/x.txt`), 'version one');
      await waitFor('the new copy, then the old one in the trash', async () => text(`${R}/b/y.txt`) === 'version one, edited' && (await trash()).includes('x.txt'));
      assert.deepEqual(order, ['modify replacement/b/y.txt', 'delete replacement/c/x.txt']);
    } finally {
      off();
      await stop();
    }
  });
});

describe('earlier names of a file kept by backup mode do not stop its next rename from being a move', () => {
  const rec = (rel: string, over: Partial<PathState['record'] & { updatedAt: number }> = {}): PathState => ({
    rel,
    localPath: `/l/${rel}`,
    remoteUri: `cloudreve://my/p/${rel}`,
    local: null,
    remote: { kind: 'file', id: `id-${rel}`, size: 5, updatedAtMs: 1000, primaryEntity: `e-${rel}`, uploading: false },
    record: { kind: 'file', size: 5, mtimeMs: 1000, inode: '42', remoteId: `id-${rel}`, primaryEntity: `e-${rel}`, updatedAt: 1, ...over } as PathState['record'],
  });
  const fresh = (rel: string, over: Partial<NonNullable<PathState['local']>> = {}): PathState => ({
    rel,
    localPath: `/l/${rel}`,
    remoteUri: `cloudreve://my/p/${rel}`,
    local: { kind: 'file', size: 5, mtimeMs: 1000, inode: '42', ...over },
    remote: null,
    record: null,
  });

  test('findMoves: of the gone paths holding the inode, the one with the same size and time; of several, the latest recorded', () => {
    // an older name with another size (edited, then renamed: not a move then) is no candidate
    const a = findMoves([rec('old.txt', { size: 3, mtimeMs: 900, updatedAt: 5 }), rec('now.txt', { updatedAt: 10 }), fresh('next.txt')]);
    assert.deepEqual(a.map((m) => [m.from.rel, m.to.rel]), [['now.txt', 'next.txt']]);
    // two earlier names with the same content (both still ours on the server): the latest recorded moves
    const b = findMoves([rec('first.txt', { updatedAt: 5 }), rec('second.txt', { updatedAt: 10 }), fresh('third.txt')]);
    assert.deepEqual(b.map((m) => [m.from.rel, m.to.rel]), [['second.txt', 'third.txt']]);
    // two new paths with one inode (a hard link made meanwhile): still left to the uploads
    assert.deepEqual(findMoves([rec('now.txt'), fresh('x.txt'), fresh('y.txt')]), []);
  });

  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    engine = await createEngine({ home: join(dir.path, 'home'), retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 }, settleMs: 100 });
    await engine.login(emu.url, emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });

  test('backup: edited and renamed (an upload), then renamed twice more: each a move, nothing sent', async () => {
    const R = 'cloudreve://my/earlier-names';
    const local = join(dir.path, 'names');
    dir.file('names/a/x.txt', 'version one');
    await engine.sync.syncOnce({ localPath: local, remoteUri: R });
    appendFileSync(join(local, 'a', 'x.txt'), ' and more');
    renameSync(join(local, 'a', 'x.txt'), join(local, 'a', 'y.txt'));
    const edited = await engine.sync.syncOnce({ localPath: local, remoteUri: R });
    assert.equal(edited.uploads, 1, 'edited: sent');
    await new Promise((r) => setTimeout(r, 20));
    const sessions = emu.stats().sessions_created;
    renameSync(join(local, 'a', 'y.txt'), join(local, 'a', 'z.txt'));
    const second = await engine.sync.syncOnce({ localPath: local, remoteUri: R });
    assert.equal(second.moved, 1, JSON.stringify(second.actions));
    renameSync(join(local, 'a', 'z.txt'), join(local, 'w.txt'));
    const third = await engine.sync.syncOnce({ localPath: local, remoteUri: R });
    assert.equal(third.moved, 1, JSON.stringify(third.actions));
    assert.equal(emu.stats().sessions_created, sessions, 'nothing sent');
    assert.equal(emu.blob(`${R}/w.txt`)?.toString(), 'version one and more');
    assert.equal(emu.blob(`${R}/a/x.txt`)?.toString(), 'version one', 'backup keeps the old version');
  });
});

describe('two-way: keep-mine of a conflict found by the download side trashes the copy here too', () => {
  const R = 'cloudreve://my/tw-keep-mine';
  let env: TwoWayEnv;
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let other: CloudreveClient;
  let local: string;
  before(async () => {
    env = await startTwoWayEnv();
    ({ emu, dir, engine, other } = env);
    local = join(dir.path, 'local');
    mkdirSync(local);
  });
  after(() => env.close());

  test('ours at the path on the server, the copy (theirs) in this computer\'s trash, nothing left to do', async () => {
    const pass = () => engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'two-way' });
    writeFileSync(join(local, 'doc.txt'), 'first');
    await pass();
    const info = await other.info(`${R}/doc.txt`);
    const theirs = Buffer.from('their edit, from another computer');
    await other.putContent(`${R}/doc.txt`, theirs, theirs.length, { previous: info.primary_entity! });
    writeFileSync(join(local, 'doc.txt'), 'our edit');
    utimesSync(join(local, 'doc.txt'), new Date(), new Date(Date.now() + 9000));
    const r = await pass();
    assert.equal(r.conflicts, 1, JSON.stringify(r.actions));
    const copy = readdirSync(local).find((n) => /^doc \(conflict \d{4}-\d\d-\d\d \d{6} server\)\.txt$/.test(n));
    assert.ok(copy, readdirSync(local).join(', '));
    await pass(); // the copy is a new file here: it goes up like any other
    assert.equal(emu.blob(`${R}/${copy}`)?.toString(), 'their edit, from another computer');
    const [c] = engine.sync.conflicts();
    await engine.sync.resolveConflict(c.id, 'keep-mine');
    assert.equal(emu.blob(`${R}/doc.txt`)?.toString(), 'our edit');
    assert.equal(emu.blob(`${R}/${copy}`), null, 'the copy on the server went to its trash');
    assert.ok(!existsSync(join(local, copy)), 'the copy here went to this computer\'s trash');
    // the trash's info files say where each entry came from
    const infoDir = join(dir.path, 'xdg', 'Trash', 'info');
    const entry = readdirSync(infoDir).find((f) => decodeURIComponent(/^Path=(.*)$/m.exec(readFileSync(join(infoDir, f), 'utf8'))?.[1] ?? '').endsWith(`/${copy}`));
    assert.ok(entry, 'in this computer\'s trash');
    const trashed = join(dir.path, 'xdg', 'Trash', 'files', entry.replace(/\.trashinfo$/, ''));
    assert.equal(readFileSync(trashed, 'utf8'), 'their edit, from another computer', 'not deleted for good');
    assert.equal(engine.sync.conflicts().length, 0);
    const settled = await pass();
    assert.deepEqual(settled.actions.filter((a) => a.action !== 'skip'), [], 'nothing left to do either way');
  });
});

describe('an upload of ours that ends while the pass looks is not "someone else\'s upload"', () => {
  let env: TwoWayEnv;
  let dir: TmpDir;
  let engine: Engine;
  let other: CloudreveClient;
  before(async () => {
    env = await startTwoWayEnv();
    ({ dir, engine, other } = env);
  });
  after(() => env.close());

  test('busy when the pass began, ended before it executed: left to the next pass, not reported locked', async () => {
    const local = join(dir.path, 'busy');
    dir.file('busy/ours.txt', 'ours');
    // the placeholder our upload in flight leaves in the listing (made here by another client: same listing)
    await other.createUploadSession({ uri: 'cloudreve://my/busy/ours.txt', size: 4 });
    // the tracker: the upload runs when the pass begins, and has ended by the time the pass carries out its plan
    const tracker = (engine.sync as unknown as { tracker: { busy: (id: string) => Set<string> } }).tracker;
    const real = tracker.busy.bind(tracker);
    let calls = 0;
    tracker.busy = (id: string) => (calls++ < 2 ? new Set(['ours.txt']) : real(id));
    try {
      const r = await engine.sync.syncOnce({ localPath: local, remoteUri: 'cloudreve://my/busy' });
      assert.ok(calls >= 2, `busy asked ${calls} times`);
      assert.deepEqual(r.problems.map((p) => [p.rel, p.code]), [], 'ours, not someone else\'s: no "locked" issue');
    } finally {
      tracker.busy = real;
    }
  });
});

describe('the CLI (its bundle) moves a two-way pair\'s server deletions to this computer\'s trash', () => {
  test('sync --mode two-way: a file deleted on the server is in the freedesktop trash, the pass exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const run = (cmd: string[], args: string[], env: NodeJS.ProcessEnv, stdin = '') =>
      new Promise<{ code: number | null; out: string; err: string }>((resolveRun) => {
        const c = spawn(cmd[0], [...cmd.slice(1), ...args], { env, cwd: root });
        let out = '';
        let err = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (err += d));
        c.on('close', (code) => resolveRun({ code, out, err }));
        c.stdin.end(stdin);
      });
    // the bundle as `npm run cli` makes it (a no-op when fresh)
    const built = await run([process.execPath, join(root, 'scripts', 'bundle.mjs'), '--cli'], [], process.env);
    assert.equal(built.code, 0, built.err);
    const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    const dir = tmpDir();
    try {
      const userHome = join(dir.path, 'user');
      mkdirSync(userHome);
      // the trash under XDG_DATA_HOME, on the same disk as the pair (HOME there too: the trash package compares mounts)
      const env = { PATH: process.env.PATH, HOME: userHome, XDG_DATA_HOME: join(dir.path, 'xdg'), LANG: 'C.UTF-8' };
      const cli = (args: string[], stdin = '') => run([process.execPath, join(root, 'bin', 'cloudreve-sync.js'), '--home', join(dir.path, 'home')], args, env, stdin);
      const login = await cli(['login', '--server', emu.url, '--email', emu.email, '--password-stdin'], emu.password + '\n');
      assert.equal(login.code, 0, login.err);
      const local = join(dir.path, 'local');
      dir.file('local/gone.txt', 'deleted on the web page');
      dir.file('local/kept.txt', 'stays');
      const first = await cli(['sync', local, 'cloudreve://my/cli-trash', '--mode', 'two-way']);
      assert.equal(first.code, 0, first.err);
      const other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a13' });
      await other.login(emu.email, emu.password);
      await other.delete(['cloudreve://my/cli-trash/gone.txt']);
      const second = await cli(['sync', local, 'cloudreve://my/cli-trash', '--mode', 'two-way']);
      assert.equal(second.code, 0, `${second.out}\n${second.err}`);
      assert.ok(!existsSync(join(local, 'gone.txt')), 'gone here too');
      const files = join(dir.path, 'xdg', 'Trash', 'files');
      const inTrash = existsSync(files) ? readdirSync(files).map((f) => readFileSync(join(files, f), 'utf8')) : [];
      assert.deepEqual(inTrash, ['deleted on the web page'], 'in this computer\'s trash');
      assert.equal(readFileSync(join(local, 'kept.txt'), 'utf8'), 'stays');
    } finally {
      await emu.close();
      dir.cleanup();
    }
  });
});

describe('two-way: an upload committed on the server whose answer was lost, its file deleted here meanwhile', () => {
  const R = 'cloudreve://my/tw-lost-end';
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  const savedXdg = process.env.XDG_DATA_HOME;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    process.env.XDG_DATA_HOME = join(dir.path, 'xdg');
    engine = await createEngine({ home: join(dir.path, 'home'), retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 }, settleMs: 100 });
    await engine.login(emu.url, emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
    if (savedXdg === undefined) delete process.env.XDG_DATA_HOME;
    else process.env.XDG_DATA_HOME = savedXdg;
  });

  test('the file deleted here is not brought back down: the upload is ours, and its deletion here follows it', async () => {
    const local = join(dir.path, 'lost-end');
    dir.file('lost-end/kept.txt', 'kept');
    const pass = () => engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'two-way' });
    await pass();
    dir.file('lost-end/gone.txt', 'deleted here while its last part was answered');
    // the server commits the file, the answer never arrives (a kill -9 in the soak), and the file is deleted here
    emu.addFault({ path: '^/api/v4/file/upload/[^/]+/\\d+$', action: { type: 'cut', afterBytes: 0 } });
    const off = emu.onFileEvent((e) => {
      if (e.kind === 'modify' && e.from.endsWith('gone.txt')) rmSync(join(local, 'gone.txt'), { force: true });
    });
    try {
      await pass();
    } finally {
      off();
    }
    assert.ok(!existsSync(join(local, 'gone.txt')));
    const again = await pass();
    assert.ok(!existsSync(join(local, 'gone.txt')), `deleted here, brought back: ${JSON.stringify(again.actions)}`);
    assert.equal(emu.blob(`${R}/gone.txt`), null, 'its deletion here reaches the server (to its trash)');
    assert.equal(readFileSync(join(local, 'kept.txt'), 'utf8'), 'kept');
  });
});

describe('a pass over some folders does not lift a hold on deletions it did not look at', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    dir = tmpDir();
    engine = await createEngine({ home: join(dir.path, 'home'), retry: { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 }, settleMs: 100 });
    await engine.login(emu.url, emu.email, emu.password);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });

  test('mirror: a mass delete held back, then a pass of another folder: the pair still asks for the confirmation', async () => {
    const local = join(dir.path, 'held');
    for (let i = 0; i < 12; i++) dir.file(`held/many/f${i}.txt`, `file ${i}`);
    dir.file('held/other/x.txt', 'x');
    const R = 'cloudreve://my/held';
    await engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'mirror' });
    rmSync(join(local, 'many'), { recursive: true });
    const blocked = await engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'mirror' });
    assert.ok(blocked.blocked, 'the guard holds the mass delete');
    assert.equal(engine.sync.pair(blocked.pairId)!.state, 'needs-confirmation');
    // the watcher's pass of another folder (the scheduler's scoped pass)
    appendFileSync(join(local, 'other', 'x.txt'), ' and more');
    const pass = (engine.sync as unknown as { pass: (p: unknown, o: { folders: string[] }) => Promise<unknown> }).pass.bind(engine.sync);
    await pass(engine.sync.pair(blocked.pairId)!, { folders: ['other'] });
    assert.equal(engine.sync.pair(blocked.pairId)!.state, 'needs-confirmation', 'the hold is still in force: the pair must still ask');
    assert.ok(emu.blob(`${R}/many/f0.txt`), 'nothing of the mass delete trashed');
  });
});
