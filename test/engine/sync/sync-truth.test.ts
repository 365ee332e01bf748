/**
 * A pass owns its outcome (issue "Sync you can trust"): real folders, the engine, the emulator.
 * - a quota failure is a failure: reported, counted, the pair not "up to date", not re-sent every pass, sent when
 *   space was freed;
 * - renames and moves are moves on the server: a folder of 30 renamed in mirror mode sends nothing, trashes nothing
 *   and asks nothing;
 * - an unreadable recorded path is never trashed;
 * - conflicts end: keep-mine and keep-both;
 * - one pass of a pair at a time; a paused pair's uploads stop and resume with it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { createEngine, type Engine, type EngineConfig } from '../../../main/engine/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { tmpDir, type TmpDir } from '../../helpers/tmp-tree.js';

const FAST_RETRY = { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 };

interface Env {
  emu: Emulator;
  dir: TmpDir;
  local: string;
  engine: Engine;
  other: CloudreveClient;
  close(): Promise<void>;
}

async function setup(cfg: Partial<EngineConfig> = {}): Promise<Env> {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  const local = join(dir.path, 'local');
  mkdirSync(local);
  const engine = await createEngine({ home: join(dir.path, 'home'), retry: FAST_RETRY, settleMs: 100, ...cfg });
  const other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a12' });
  await engine.login(emu.url, emu.email, emu.password);
  await other.login(emu.email, emu.password);
  return {
    emu,
    dir,
    local,
    engine,
    other,
    async close() {
      await engine.close();
      await emu.close();
      dir.cleanup();
    },
  };
}

const text = (env: Env, uri: string) => env.emu.blob(uri)?.toString('utf8') ?? null;
const trashNames = async (env: Env) => (await env.other.listAll('cloudreve://trash')).map((f) => f.name).sort();

describe('a pass reports what happened, not what it queued', () => {
  let env: Env;
  const R = 'cloudreve://my/q';
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('a quota failure: exit-worthy, counted, the pair incomplete, not re-sent, sent once space is freed', async () => {
    const cap = await env.other.capacity();
    env.emu.tune({ quota: cap.used + 250_000 });
    env.dir.file('local/a.bin', Buffer.alloc(100_000, 1));
    env.dir.file('local/b.bin', Buffer.alloc(100_000, 2));
    env.dir.file('local/c.bin', Buffer.alloc(200_000, 3));
    const r = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R });
    assert.equal(r.uploads, 2, JSON.stringify(r.outcomes));
    assert.equal(r.failed, 1);
    assert.equal(r.notSynced, 1);
    assert.deepEqual(r.problems.map((p) => [p.rel, p.code]), [['c.bin', 'quota']]);
    assert.equal(env.emu.file(`${R}/c.bin`), null);
    const pair = env.engine.sync.pair(r.pairId)!;
    assert.equal(pair.state, 'incomplete');
    assert.equal(pair.stateDetail?.notSynced?.count, 1);
    assert.deepEqual(pair.stateDetail?.notSynced?.byCode, { quota: 1 });
    assert.match(pair.stateDetail!.message, /1 path not on the server: quota full/);
    assert.deepEqual(env.engine.sync.issues(r.pairId).map((i) => [i.relPath, i.code]), [['c.bin', 'quota']]);

    // the next pass does not send it again while nothing changed, and still says it is missing
    const sessions = env.emu.stats().sessions_created;
    const again = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R });
    assert.deepEqual(again.actions.map((a) => [a.rel, a.action]), [['c.bin', 'wait']]);
    assert.equal(again.notSynced, 1);
    assert.equal(env.emu.stats().sessions_created, sessions, 'not re-sent');
    assert.equal(env.engine.sync.pair(r.pairId)!.state, 'incomplete');

    // space freed: the next pass sends it, and the pair is whole again
    env.emu.tune({ quota: cap.used + 10_000_000 });
    await new Promise((r) => setTimeout(r, 1100)); // the engine's capacity reading reads again a "no" a second old
    const third = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R });
    assert.equal(third.uploads, 1, JSON.stringify({ third, issues: env.engine.sync.issues() }));
    assert.equal(third.notSynced, 0);
    assert.equal(text(env, `${R}/c.bin`)?.length, 200_000);
    assert.equal(env.engine.sync.pair(r.pairId)!.state, 'idle');
    assert.deepEqual(env.engine.sync.issues(r.pairId), []);
  });

  test('a file that cannot be read as recorded (a link whose target went away) is left alone, never trashed', async () => {
    const M = 'cloudreve://my/unreadable';
    const target = env.dir.file('outside/target.txt', 'on a disk that gets unplugged');
    mkdirSync(join(env.dir.path, 'u'));
    symlinkSync(target, join(env.dir.path, 'u', 'link.txt'));
    env.dir.file('u/plain.txt', 'plain');
    const first = await env.engine.sync.syncOnce({ localPath: join(env.dir.path, 'u'), remoteUri: M, mode: 'mirror' });
    assert.equal(first.uploads, 2);
    rmSync(target);
    const r = await env.engine.sync.syncOnce({ localPath: join(env.dir.path, 'u'), remoteUri: M, mode: 'mirror' });
    assert.equal(r.deleted, 0);
    assert.equal(text(env, `${M}/link.txt`), 'on a disk that gets unplugged');
    assert.deepEqual(r.problems.map((p) => [p.rel, p.code]), [['link.txt', 'special-file']]);
    assert.ok(!(await trashNames(env)).includes('link.txt'));
  });
});

describe('renames and moves are moves on the server', () => {
  let env: Env;
  const M = 'cloudreve://my/m';
  const pass = () => env.engine.sync.syncOnce({ localPath: env.local, remoteUri: M, mode: 'mirror' });
  before(async () => {
    env = await setup({ sync: { guard: { maxDeletes: 10, maxDeleteRatio: 0.25, minDeletesForRatio: 5 } } });
    for (let i = 0; i < 30; i++) env.dir.file(`local/album/p${String(i).padStart(2, '0')}.jpg`, Buffer.alloc(150_000, i));
    env.dir.file('local/report.txt', 'report');
    env.dir.file('local/notes/todo.txt', 'todo');
    mkdirSync(join(env.local, 'archive'));
    const r = await pass();
    assert.equal(r.uploads, 32);
  });
  after(() => env.close());

  test('a folder of 30 renamed in mirror mode: one move, no byte sent, nothing trashed, no confirmation asked', async () => {
    const sessions = env.emu.stats().sessions_created;
    renameSync(join(env.local, 'album'), join(env.local, 'Album 2026'));
    const r = await pass();
    assert.equal(r.blocked, null, 'a rename is not a mass delete');
    assert.equal(r.moved, 1);
    assert.equal(r.deleted, 0);
    assert.equal(r.uploads, 0);
    assert.equal(env.emu.stats().sessions_created, sessions, 'no upload session');
    assert.deepEqual(await trashNames(env), []);
    assert.equal(env.emu.file(`${M}/album`), null);
    assert.equal(env.emu.blob(`${M}/Album%202026/p29.jpg`)?.length, 150_000);
    const again = await pass();
    assert.deepEqual(again.actions, [], 'in sync afterwards');
  });

  test('a case-only rename and a move into another folder are renames and moves', async () => {
    const sessions = env.emu.stats().sessions_created;
    renameSync(join(env.local, 'report.txt'), join(env.local, 'Report.txt'));
    renameSync(join(env.local, 'notes/todo.txt'), join(env.local, 'archive/todo-2026.txt'));
    const r = await pass();
    assert.equal(r.moved, 2, JSON.stringify(r.actions));
    assert.equal(r.deleted, 0);
    assert.equal(env.emu.stats().sessions_created, sessions);
    assert.equal(text(env, `${M}/Report.txt`), 'report');
    assert.equal(env.emu.file(`${M}/report.txt`), null);
    assert.equal(text(env, `${M}/archive/todo-2026.txt`), 'todo');
    assert.equal(env.emu.file(`${M}/notes/todo.txt`), null);
    assert.deepEqual(await trashNames(env), []);
  });

  test('a rename that cannot be a move (its copy changed on the server) is uploaded, and the old one is kept', async () => {
    const body = Buffer.from('changed on the server');
    const current = await env.other.info(`${M}/Report.txt`);
    await env.other.putContent(`${M}/Report.txt`, body, body.length, { previous: current.primary_entity });
    renameSync(join(env.local, 'Report.txt'), join(env.local, 'Report final.txt'));
    const r = await pass();
    assert.equal(r.moved, 0);
    assert.equal(r.uploads, 1);
    assert.equal(text(env, `${M}/Report%20final.txt`), 'report');
    assert.equal(text(env, `${M}/Report.txt`), 'changed on the server', 'theirs is never trashed');
  });
});

describe('conflicts end', () => {
  let env: Env;
  const R = 'cloudreve://my/c';
  const pass = () => env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R });
  const conflictOn = async (name: string) => {
    const p = env.dir.file(`local/${name}`, 'v1');
    await pass();
    const cur = await env.other.info(`${R}/${name}`);
    const theirs = Buffer.from(`theirs of ${name}`);
    await env.other.putContent(`${R}/${name}`, theirs, theirs.length, { previous: cur.primary_entity });
    writeFileSync(p, `ours of ${name}`);
    utimesSync(p, new Date(), new Date(Date.now() + 5000));
    const r = await pass();
    assert.equal(r.conflicts, 1);
    const c = env.engine.sync.conflicts().find((x) => x.relPath === name)!;
    assert.equal(c.reasonCode, 'changed-both');
    return { p, c };
  };
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('keep mine: ours becomes the file, the conflict copy goes to the trash, the conflict leaves the list', async () => {
    const { c } = await conflictOn('mine.txt');
    const resolved: unknown[] = [];
    const off = env.engine.events.on('sync-conflict-resolved', (e) => resolved.push(e.choice));
    await env.engine.sync.resolveConflict(c.id, 'keep-mine');
    await env.engine.idle();
    await new Promise((r) => setTimeout(r, 50));
    off();
    assert.equal(text(env, `${R}/mine.txt`), 'ours of mine.txt');
    assert.equal(env.emu.file(c.conflictUri), null, 'the copy left its place');
    assert.ok((await trashNames(env)).some((n) => n.startsWith('mine (conflict ')), 'the copy is in the trash, not deleted for good');
    assert.deepEqual(env.engine.sync.conflicts().filter((x) => x.relPath === 'mine.txt'), []);
    assert.deepEqual(resolved, ['keep-mine']);
    assert.deepEqual((await pass()).actions, []);
  });

  test('keep both: the copy stays, the pair tracks the original (the next save goes over it, guarded)', async () => {
    const { p, c } = await conflictOn('both.txt');
    await env.engine.sync.resolveConflict(c.id, 'keep-both');
    assert.deepEqual(env.engine.sync.conflicts().filter((x) => x.relPath === 'both.txt'), []);
    assert.equal(text(env, c.conflictUri), 'ours of both.txt');
    assert.equal(text(env, `${R}/both.txt`), 'theirs of both.txt');
    writeFileSync(p, 'ours, later');
    utimesSync(p, new Date(), new Date(Date.now() + 9000));
    const r = await pass();
    assert.equal(r.uploads, 1);
    assert.equal(r.conflicts, 0);
    assert.equal(text(env, `${R}/both.txt`), 'ours, later');
    assert.equal(text(env, c.conflictUri), 'ours of both.txt', 'the copy stays');
  });

  test('keep theirs waits for two-way sync: refused with the reason', async () => {
    const { c } = await conflictOn('theirs.txt');
    await assert.rejects(env.engine.sync.resolveConflict(c.id, 'keep-theirs'), /two-way/);
    assert.equal(env.engine.sync.conflicts().filter((x) => x.relPath === 'theirs.txt').length, 1);
  });
});

describe('one pass at a time; pause means pause', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('overlapping pass requests never run two passes of a pair', async () => {
    for (let i = 0; i < 40; i++) env.dir.file(`local/o/f${i}.txt`, `file ${i}`);
    const pair = env.engine.sync.addPair({ localPath: join(env.local, 'o'), remoteUri: 'cloudreve://my/o' });
    const states: string[] = [];
    const off = env.engine.events.on('pair-changed', (p) => {
      if (p.id === pair.id) states.push(p.state);
    });
    await Promise.all([env.engine.sync.syncPair(pair.id), env.engine.sync.syncPair(pair.id), env.engine.sync.confirmDeletes(pair.id, 1)]);
    off();
    const scans = states.filter((s) => s === 'scanning').length;
    assert.equal(scans, 3);
    for (let i = 1; i < states.length; i++) assert.ok(!(states[i] === 'scanning' && states[i - 1] === 'scanning'), `a pass started while one ran: ${states.join(' ')}`);
    assert.equal(env.emu.stats().sessions_created >= 40, true);
    assert.equal(text(env, 'cloudreve://my/o/f39.txt'), 'file 39');
  });

  test("pausing a pair pauses its uploads; resuming continues them", async () => {
    env.dir.file('local/big/large.bin', Buffer.alloc(4 * 1024 * 1024, 7));
    env.engine.setBandwidthLimit(512 * 1024);
    const pair = env.engine.sync.addPair({ localPath: join(env.local, 'big'), remoteUri: 'cloudreve://my/big' });
    const stop = await env.engine.sync.follow(pair.id);
    try {
      const deadline = Date.now() + 20_000;
      let t = env.engine.listTransfers().find((x) => x.localPath.endsWith('large.bin'));
      while ((!t || t.state !== 'uploading' || t.bytesDone === 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        t = env.engine.listTransfers().find((x) => x.localPath.endsWith('large.bin'));
      }
      assert.equal(t?.state, 'uploading');
      env.engine.sync.pausePair(pair.id);
      await new Promise((r) => setTimeout(r, 300));
      const paused = env.engine.transfer(t!.id)!;
      assert.equal(paused.state, 'paused');
      const done = paused.bytesDone;
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(env.engine.transfer(t!.id)!.bytesDone, done, 'no byte sent while paused');
      env.engine.setBandwidthLimit(0);
      env.engine.sync.resumePair(pair.id);
      const until = Date.now() + 20_000;
      while (env.engine.transfer(t!.id)!.state !== 'done' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.equal(env.engine.transfer(t!.id)!.state, 'done');
    } finally {
      await stop();
    }
  });
});

describe('the pair tells the truth after a restart, a mode switch and a lost server folder', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('uploads a pass queued before a restart are followed: their outcome lands in the pair records', async () => {
    env.dir.file('local/r/big.bin', Buffer.alloc(3 * 1024 * 1024, 9));
    const pair = env.engine.sync.addPair({ localPath: join(env.local, 'r'), remoteUri: 'cloudreve://my/r' });
    env.engine.setBandwidthLimit(256 * 1024);
    const pass = env.engine.sync.syncPair(pair.id).catch(() => null);
    const deadline = Date.now() + 20_000;
    while (!env.engine.listTransfers().some((t) => t.state === 'uploading' && t.bytesDone > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const home = join(env.dir.path, 'home');
    await env.engine.close();
    await pass;
    env.engine = await createEngine({ home, retry: FAST_RETRY, settleMs: 100 });
    env.engine.resumeInterrupted();
    const until = Date.now() + 30_000;
    while (!env.emu.file('cloudreve://my/r/big.bin') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await env.engine.idle();
    await new Promise((r) => setTimeout(r, 100));
    const sessions = env.emu.stats().sessions_created;
    const again = await env.engine.sync.syncPair(pair.id);
    assert.deepEqual(again.actions, [], 'recorded by the restarted engine: nothing to upload, nothing to adopt');
    assert.equal(env.emu.stats().sessions_created, sessions);
    assert.equal(env.engine.sync.pair(pair.id)!.state, 'idle');
  });

  test('backup → mirror: the first mirror pass lists what it would trash and waits for the confirmation', async () => {
    env.dir.file('local/b/keep.txt', 'keep');
    env.dir.file('local/b/gone.txt', 'gone');
    const pair = env.engine.sync.addPair({ localPath: join(env.local, 'b'), remoteUri: 'cloudreve://my/b' });
    await env.engine.sync.syncPair(pair.id);
    rmSync(join(env.local, 'b', 'gone.txt'));
    await env.engine.sync.syncPair(pair.id); // backup: nothing deleted
    env.engine.sync.updatePair(pair.id, { mode: 'mirror' });
    const r = await env.engine.sync.syncPair(pair.id);
    assert.equal(r.blocked?.code, 'mirror-switch');
    assert.deepEqual(r.blocked?.paths, ['gone.txt']);
    assert.equal(text(env, 'cloudreve://my/b/gone.txt'), 'gone');
    const p = env.engine.sync.pair(pair.id)!;
    assert.equal(p.state, 'needs-confirmation');
    assert.deepEqual(p.stateDetail?.paths, ['gone.txt']);
    const c = await env.engine.sync.confirmDeletes(pair.id, 1);
    assert.equal(c.deleted, 1);
    assert.deepEqual(c.trashed, ['gone.txt']);
    assert.equal(env.engine.sync.pair(pair.id)!.confirmMirror, false);
    assert.ok((await trashNames(env)).includes('gone.txt'));
  });

  test("the pair's server folder deleted on the web page: shown, and everything under it goes up again", async () => {
    env.dir.file('local/w/top.txt', 'top');
    env.dir.file('local/w/sub/deep/inner.txt', 'inner');
    const pair = env.engine.sync.addPair({ localPath: join(env.local, 'w'), remoteUri: 'cloudreve://my/w' });
    await env.engine.sync.syncPair(pair.id);
    await env.other.delete(['cloudreve://my/w']);
    const states: string[] = [];
    const off = env.engine.events.on('pair-changed', (p) => p.id === pair.id && states.push(p.state));
    const r = await env.engine.sync.syncPair(pair.id);
    off();
    assert.equal(r.remoteRootMissing, true);
    assert.equal(text(env, 'cloudreve://my/w/top.txt'), 'top');
    assert.equal(text(env, 'cloudreve://my/w/sub/deep/inner.txt'), 'inner');
    assert.equal(env.engine.sync.pair(pair.id)!.state, 'idle');
  });
});

test("a hint's pass (one folder, not recursive) looks at every folder the server lacks in full", async () => {
  const { discover } = await import('../../../main/engine/sync/discovery.js');
  const { IgnoreRules } = await import('../../../main/engine/sync/ignore-rules.js');
  const dir = tmpDir();
  try {
    dir.file('top.txt', 'top');
    dir.file('sub/deep/inner.txt', 'inner');
    const rec = { kind: 'file' as const, size: 3, mtimeMs: 1, inode: '1', remoteId: 'x', primaryEntity: 'e' };
    const d = await discover({
      localRoot: dir.path,
      remoteRoot: 'cloudreve://my/w',
      records: new Map([['top.txt', rec]]),
      ignore: new IgnoreRules([]),
      listRemote: async () => null, // the pair's folder is gone on the server
      folders: [''],
      recursive: false,
    });
    assert.equal(d.remoteRootMissing, true);
    assert.deepEqual(d.paths.map((p) => p.rel), ['sub', 'top.txt', 'sub/deep', 'sub/deep/inner.txt']);
  } finally {
    dir.cleanup();
  }
});

test("a pair's folder moved away and back is watched again: a file written after it returned goes up", async () => {
  const env = await setup({ sync: { remoteHints: false } });
  try {
    const root = join(env.local, 'moving');
    env.dir.file('local/moving/first.txt', 'first');
    const pair = env.engine.sync.addPair({ localPath: root, remoteUri: 'cloudreve://my/moving' });
    const stop = await env.engine.sync.follow(pair.id);
    const waitFor = async (what: string, ok: () => boolean, ms = 20_000) => {
      const until = Date.now() + ms;
      while (!ok() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(ok(), `timed out waiting for ${what}`);
    };
    try {
      await waitFor('the first upload', () => text(env, 'cloudreve://my/moving/first.txt') === 'first');
      renameSync(root, join(env.dir.path, 'away'));
      await waitFor('the pair to see its folder gone', () => env.engine.sync.pair(pair.id)!.state === 'unavailable');
      renameSync(join(env.dir.path, 'away'), root);
      await waitFor('the pair to come back', () => env.engine.sync.pair(pair.id)!.state !== 'unavailable');
      writeFileSync(join(root, 'after.txt'), 'after');
      await waitFor('the file written after the return', () => text(env, 'cloudreve://my/moving/after.txt') === 'after');
      assert.equal(text(env, 'cloudreve://my/moving/first.txt'), 'first', 'nothing was deleted');
    } finally {
      await stop();
    }
  } finally {
    await env.close();
  }
});

test('a path held on the server by an upload we do not drive is not on the server: the pair says so, never idle', async () => {
  const env = await setup();
  try {
    env.dir.file('local/held.txt', 'ours');
    env.dir.file('local/free.txt', 'free');
    await env.other.createUploadSession({ uri: 'cloudreve://my/h/held.txt', size: 4 });
    const r = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: 'cloudreve://my/h' });
    assert.deepEqual(r.problems.map((p) => [p.rel, p.code]), [['held.txt', 'locked']]);
    assert.equal(r.uploads, 1);
    assert.equal(env.engine.sync.pair(r.pairId)!.state, 'incomplete');
  } finally {
    await env.close();
  }
});
