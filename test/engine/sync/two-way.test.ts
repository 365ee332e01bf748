/**
 * Two-way pairs end to end: real folders, the engine with its real downloader, the OS trash (the `trash` package,
 * freedesktop trash under a temporary XDG_DATA_HOME), the emulator. Another client on the same account plays "the
 * web page / another computer".
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { createEngine, type Engine } from '../../../main/engine/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { tmpDir } from '../../helpers/tmp-tree.js';
import { FAST_RETRY, startTwoWayEnv, type TwoWayEnv } from '../../helpers/two-way-env.js';
const R = 'cloudreve://my/tw';

describe('two-way sync', () => {
  let env: TwoWayEnv;
  let emu: Emulator;
  let engine: Engine;
  let other: CloudreveClient;
  let local: string;
  const pass = () => engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'two-way' });
  const put = (name: string, body: string) => env.put(`${R}/${name}`, body);
  const read = (rel: string) => readFileSync(join(local, rel), 'utf8');
  const trashedPaths = () => env.trashedPaths();
  const trashed = () => [...trashedPaths().keys()].sort();

  before(async () => {
    env = await startTwoWayEnv();
    ({ emu, engine, other } = env);
    local = join(env.dir.path, 'local');
    mkdirSync(local);
    env.dir.file('local/mine.txt', 'mine');
    await other.createFolder(`${R}/theirs`);
    await put('theirs/a.txt', 'from the web page');
    const first = await pass();
    assert.equal(first.uploads, 1);
    assert.equal(first.downloaded, 2, JSON.stringify(first)); // the folder and its file
  });
  after(() => env.close());

  test('a file added and changed on the server comes down; our own download is not sent back up', async () => {
    assert.equal(read('theirs/a.txt'), 'from the web page');
    await put('theirs/a.txt', 'changed on the web page');
    await put('new.txt', 'new on the server');
    const sessions = emu.stats().sessions_created;
    const r = await pass();
    assert.equal(r.downloaded, 2);
    assert.equal(read('theirs/a.txt'), 'changed on the web page');
    assert.equal(read('new.txt'), 'new on the server');
    const again = await pass();
    assert.deepEqual(again.actions, [], 'in sync: nothing echoed either way');
    assert.equal(emu.stats().sessions_created, sessions, 'our downloads are not uploaded');
    assert.ok(!readdirSync(local).some((n) => n.endsWith('.part')), 'no temp file left');
  });

  test('a rename on the server is a rename here, not a download and a delete', async () => {
    await other.rename(`${R}/new.txt`, 'renamed.txt');
    const before = emu.stats();
    const r = await pass();
    assert.equal(r.moved, 1, JSON.stringify(r.actions));
    assert.equal(r.downloaded, 0);
    assert.equal(read('renamed.txt'), 'new on the server');
    assert.ok(!existsSync(join(local, 'new.txt')));
    assert.deepEqual(trashed(), []);
    assert.equal(emu.stats().sessions_created, before.sessions_created);
  });

  test('a file deleted on the server goes to this computer\'s trash (unchanged here); a changed one goes up again', async () => {
    await other.delete([`${R}/renamed.txt`]);
    await other.delete([`${R}/mine.txt`]);
    writeFileSync(join(local, 'mine.txt'), 'mine, edited here');
    utimesSync(join(local, 'mine.txt'), new Date(), new Date(Date.now() + 5000));
    const r = await pass();
    assert.deepEqual(r.trashedLocal, ['renamed.txt']);
    assert.ok(!existsSync(join(local, 'renamed.txt')));
    assert.ok(trashed().includes('renamed.txt'), `in the trash: ${trashed().join(', ')}`);
    assert.equal(readFileSync(trashedPaths().get('renamed.txt')!, 'utf8'), 'new on the server');
    assert.equal(emu.blob(`${R}/mine.txt`)?.toString(), 'mine, edited here', 'an edit wins over a deletion');
  });

  test('an edit on both sides keeps both; keep theirs puts the server\'s version in place, ours in the trash', async () => {
    await put('theirs/a.txt', 'their edit');
    writeFileSync(join(local, 'theirs/a.txt'), 'our edit');
    utimesSync(join(local, 'theirs/a.txt'), new Date(), new Date(Date.now() + 9000));
    const r = await pass();
    assert.equal(r.conflicts, 1, JSON.stringify(r));
    assert.equal(read('theirs/a.txt'), 'our edit', 'ours stays');
    const copy = readdirSync(join(local, 'theirs')).find((n) => /^a \(conflict \d{4}-\d\d-\d\d \d{6} server\)\.txt$/.test(n));
    assert.ok(copy, readdirSync(join(local, 'theirs')).join(', '));
    assert.equal(read(`theirs/${copy}`), 'their edit');
    assert.equal(emu.blob(`${R}/theirs/a.txt`)?.toString(), 'their edit', 'theirs stays on the server');
    const again = await pass();
    assert.equal(again.conflicts, 0, 'no new copy while the conflict is open');
    const [c] = engine.sync.conflicts();
    await engine.sync.resolveConflict(c.id, 'keep-theirs');
    assert.equal(read('theirs/a.txt'), 'their edit');
    assert.ok(trashed().includes('a.txt'), 'ours is in the trash');
    assert.equal(readFileSync(trashedPaths().get('a.txt')!, 'utf8'), 'our edit');
    assert.equal(engine.sync.conflicts().length, 0);
    assert.ok(!existsSync(join(local, 'theirs', copy)), 'the copy went to the trash');
    const settled = await pass();
    assert.deepEqual(settled.actions.filter((a) => a.action !== 'skip'), []);
  });

  test("the pair's folder deleted on the server: nothing here is touched until confirmed", async () => {
    await other.delete([R]);
    const r = await pass();
    assert.equal(r.blocked?.code, 'remote-gone', JSON.stringify(r.blocked));
    assert.equal(r.trashedLocal.length, 0);
    assert.equal(read('theirs/a.txt'), 'their edit');
    assert.equal(read('mine.txt'), 'mine, edited here');
    assert.equal(emu.file(`${R}/mine.txt`), null, 'nothing sent either: the user decides');
  });

  test('restore puts the server folder back from here (one backup pass); the pair is two-way again and quiet', async () => {
    const held = await pass();
    assert.equal(held.blocked?.code, 'remote-gone');
    const before = trashed();
    const r = await engine.sync.restoreRemote(held.pairId);
    assert.equal(r.blocked, null, JSON.stringify(r.blocked));
    assert.equal(r.failed, 0, JSON.stringify(r.problems));
    assert.deepEqual(r.trashedLocal, []);
    assert.deepEqual(trashed(), before, 'nothing went to the trash');
    assert.equal(emu.blob(`${R}/mine.txt`)?.toString(), "mine, edited here");
    assert.equal(emu.blob(`${R}/theirs/a.txt`)?.toString(), "their edit");
    assert.equal(engine.sync.pair(held.pairId)?.mode, 'two-way');
    const next = await pass();
    assert.equal(next.blocked, null);
    assert.deepEqual([next.queued, next.downloaded, next.trashedLocal.length, next.deleted], [0, 0, 0, 0], JSON.stringify(next.actions));
    await assert.rejects(() => engine.sync.restoreRemote('nope'));
  });
});

test('two local folders paired two-way with one server folder converge', async () => {
  const emu = await startEmulator();
  const dir = tmpDir();
  const savedXdg = process.env.XDG_DATA_HOME;
  process.env.XDG_DATA_HOME = join(dir.path, 'xdg');
  const engines: Engine[] = [];
  try {
    for (const n of ['a', 'b']) {
      const e = await createEngine({ home: join(dir.path, `home-${n}`), retry: FAST_RETRY, settleMs: 100 });
      await e.login(emu.url, emu.email, emu.password);
      engines.push(e);
      mkdirSync(join(dir.path, n));
    }
    const [A, B] = engines;
    const a = join(dir.path, 'a');
    const b = join(dir.path, 'b');
    const sync = (e: Engine, p: string) => e.sync.syncOnce({ localPath: p, remoteUri: 'cloudreve://my/shared', mode: 'two-way' });
    writeFileSync(join(a, 'from-a.txt'), 'A');
    mkdirSync(join(b, 'docs'));
    writeFileSync(join(b, 'docs', 'from-b.txt'), 'B');
    for (let round = 0; round < 2; round++) {
      await sync(A, a);
      await sync(B, b);
    }
    writeFileSync(join(b, 'from-a.txt'), 'A, edited on b');
    utimesSync(join(b, 'from-a.txt'), new Date(), new Date(Date.now() + 5000));
    await sync(B, b);
    await sync(A, a);
    const tree = (root: string): string[] => {
      const out: string[] = [];
      const walk = (d: string, rel: string) => {
        for (const name of readdirSync(d).sort()) {
          const r = rel ? `${rel}/${name}` : name;
          const abs = join(d, name);
          if (existsSync(abs) && readdirSync(d, { withFileTypes: true }).find((x) => x.name === name)!.isDirectory()) walk(abs, r);
          else out.push(`${r}=${readFileSync(abs, 'utf8')}`);
        }
      };
      walk(root, '');
      return out;
    };
    assert.deepEqual(tree(a), tree(b));
    assert.deepEqual(tree(a), ['docs/from-b.txt=B', 'from-a.txt=A, edited on b']);
  } finally {
    for (const e of engines) await e.close();
    await emu.close();
    dir.cleanup();
    if (savedXdg === undefined) delete process.env.XDG_DATA_HOME;
    else process.env.XDG_DATA_HOME = savedXdg;
  }
});

test('a folder deleted here while a file in it changed on the server: the edit comes down (the folder made again), the pair is not idle while it is missing', async () => {
  const env = await startTwoWayEnv();
  try {
    const R2 = 'cloudreve://my/tw2';
    const local = join(env.dir.path, 'tw2');
    mkdirSync(local);
    env.dir.file('tw2/f/a.txt', 'a, first');
    env.dir.file('tw2/f/b.txt', 'b');
    const pass = () => env.engine.sync.syncOnce({ localPath: local, remoteUri: R2, mode: 'two-way' });
    const first = await pass();
    assert.equal(first.uploads, 2, JSON.stringify(first.problems));
    rmSync(join(local, 'f'), { recursive: true });
    await env.put(`${R2}/f/a.txt`, 'a, edited on another computer');
    const r = await pass();
    assert.equal(r.failed, 0, JSON.stringify(r.problems));
    assert.equal(readFileSync(join(local, 'f', 'a.txt'), 'utf8'), 'a, edited on another computer', 'their edit wins over our deletion');
    assert.equal(env.emu.blob(`${R2}/f/a.txt`)?.toString(), 'a, edited on another computer', 'the folder holding it stays on the server');
    // b.txt, unchanged there, follows our deletion (to the server's trash) or stays: never lost
    const b = env.emu.blob(`${R2}/f/b.txt`);
    if (b !== null) assert.equal(b.toString(), 'b');
    const again = await pass();
    assert.deepEqual([again.failed, again.downloaded, again.trashedLocal.length], [0, 0, 0], JSON.stringify(again.actions));
    assert.deepEqual(env.engine.sync.issues(r.pairId), []);
  } finally {
    await env.close();
  }
});

test('keep mine of a conflict whose file is gone here says so and leaves it open; keep both ends it', async () => {
  const env = await startTwoWayEnv();
  try {
    const R3 = 'cloudreve://my/tw3';
    const local = join(env.dir.path, 'tw3');
    mkdirSync(local);
    env.dir.file('tw3/doc.txt', 'first');
    const pass = () => env.engine.sync.syncOnce({ localPath: local, remoteUri: R3, mode: 'two-way' });
    await pass();
    await env.put(`${R3}/doc.txt`, 'their edit');
    writeFileSync(join(local, 'doc.txt'), 'my edit, longer');
    const r = await pass();
    assert.equal(r.conflicts, 1, JSON.stringify(r.actions));
    const [c] = env.engine.sync.conflicts(r.pairId);
    rmSync(join(local, 'doc.txt'));
    await assert.rejects(() => env.engine.sync.resolveConflict(c.id, 'keep-mine'), (e: Error & { code?: string }) => e.code === 'usage' && /no longer at/.test(e.message));
    assert.equal(env.engine.sync.conflicts(r.pairId).length, 1, 'still open');
    await env.engine.sync.resolveConflict(c.id, 'keep-both');
    assert.equal(env.engine.sync.conflicts(r.pairId).length, 0);
  } finally {
    await env.close();
  }
});
