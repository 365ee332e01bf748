/**
 * Folder sync end to end: real files in temporary folders, the engine's sync passes, the protocol-faithful emulator.
 * Covers new/modified/renamed/deleted files and folders per mode, restart uploading nothing, conflicts kept on
 * both sides, the mirror guard, and the failures that must never delete anything.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { createEngine, type Engine, type EngineConfig } from '../../../main/engine/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { tmpDir, type TmpDir } from '../../helpers/tmp-tree.js';

const FAST_RETRY = { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 };

interface Env {
  emu: Emulator;
  dir: TmpDir;
  home: string;
  local: string;
  engine: Engine;
  /** a second client on the same account: "someone else" changing files on the server */
  other: CloudreveClient;
  reopen(cfg?: Partial<EngineConfig>): Promise<Engine>;
  close(): Promise<void>;
}

async function setup(cfg: Partial<EngineConfig> = {}): Promise<Env> {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  const local = join(dir.path, 'local');
  mkdirSync(local);
  const make = () => createEngine({ home, retry: FAST_RETRY, settleMs: 100, ...cfg });
  const env: Env = {
    emu,
    dir,
    home,
    local,
    engine: await make(),
    other: new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a11' }),
    async reopen(more = {}) {
      await env.engine.close();
      env.engine = await createEngine({ home, retry: FAST_RETRY, settleMs: 100, ...cfg, ...more });
      return env.engine;
    },
    async close() {
      await env.engine.close();
      await emu.close();
      dir.cleanup();
    },
  };
  await env.engine.login(emu.url, emu.email, emu.password);
  await env.other.login(emu.email, emu.password);
  return env;
}

const put = (env: Env, rel: string, content: string | Buffer) => env.dir.file(join('local', rel), content);
const text = (env: Env, uri: string) => env.emu.blob(uri)?.toString('utf8') ?? null;
const R = 'cloudreve://my/backup';

async function trashNames(env: Env): Promise<string[]> {
  return (await env.other.listAll('cloudreve://trash')).map((f) => f.name).sort();
}

describe('backup mode', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('first pass uploads files and creates folders (empty ones too); ignored litter and illegal names stay behind', async () => {
    put(env, 'a.txt', 'alpha');
    put(env, 'docs/b.txt', 'bravo');
    put(env, 'docs/deep/c.txt', 'charlie');
    mkdirSync(join(env.local, 'empty'));
    put(env, '.DS_Store', 'litter');
    put(env, 'docs/~$b.docx', 'owner file');
    put(env, 'bad:name.txt', 'colon');
    put(env, 'skip.log', 'ignored by the pair');
    const r = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
    assert.equal(r.uploads, 3);
    assert.equal(text(env, `${R}/a.txt`), 'alpha');
    assert.equal(text(env, `${R}/docs/deep/c.txt`), 'charlie');
    assert.ok(env.emu.file(`${R}/empty`), 'empty folder created');
    for (const name of ['.DS_Store', 'docs/~$b.docx', 'bad:name.txt', 'skip.log']) {
      assert.equal(env.emu.file(`${R}/${name.split('/').map(encodeURIComponent).join('/')}`), null, `${name} not uploaded`);
    }
    const bad = r.problems.find((p) => p.rel === 'bad:name.txt');
    assert.ok(bad, 'the illegal name is reported');
    assert.match(bad.reason, /does not accept the character :/);
  });

  test('a second pass, and a pass after a restart, upload nothing', async () => {
    const before = env.emu.stats().sessions_created;
    const again = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
    assert.deepEqual(again.actions, []);
    await env.reopen();
    const afterRestart = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
    assert.equal(afterRestart.uploads, 0);
    assert.equal(env.emu.stats().sessions_created, before, 'no upload session at all');
  });

  test('a modified file goes up as a new version over ours (guarded by previous)', async () => {
    const p = put(env, 'a.txt', 'alpha, edited');
    utimesSync(p, new Date(), new Date(Date.now() + 5000));
    const r = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
    assert.deepEqual(r.actions, [{ rel: 'a.txt', action: 'upload', reason: 'changed' }]);
    assert.equal(text(env, `${R}/a.txt`), 'alpha, edited');
  });

  test('rename and delete: the rename is a rename on the server (no byte sent), nothing is deleted', async () => {
    renameSync(join(env.local, 'docs/b.txt'), join(env.local, 'docs/b-renamed.txt'));
    rmSync(join(env.local, 'docs/deep'), { recursive: true });
    const before = env.emu.stats().sessions_created;
    const r = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
    assert.equal(r.deleted, 0);
    assert.equal(r.moved, 1);
    assert.equal(env.emu.stats().sessions_created, before, 'nothing uploaded');
    assert.equal(text(env, `${R}/docs/b-renamed.txt`), 'bravo');
    assert.equal(env.emu.file(`${R}/docs/b.txt`), null, 'moved, not copied');
    assert.equal(text(env, `${R}/docs/deep/c.txt`), 'charlie');
    assert.deepEqual(await trashNames(env), []);
  });

  test('changed here and on the server: both versions kept, ours under a conflict name, and listed', async () => {
    const theirs = Buffer.from('their version');
    const current = await env.other.info(`${R}/docs/b-renamed.txt`);
    await env.other.putContent(`${R}/docs/b-renamed.txt`, theirs, theirs.length, { previous: current.primary_entity });
    const p = put(env, 'docs/b-renamed.txt', 'our version');
    utimesSync(p, new Date(), new Date(Date.now() + 7000));
    const seen: unknown[] = [];
    const off = env.engine.events.on('sync-conflict', (c) => seen.push(c));
    const r = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
    off();
    assert.equal(r.conflicts, 1);
    assert.equal(text(env, `${R}/docs/b-renamed.txt`), 'their version', 'theirs untouched');
    const listing = await env.other.listAll(`${R}/docs`);
    const ours = listing.find((f) => /^b-renamed \(conflict \d{4}-\d\d-\d\d \d{6} .+\)\.txt$/.test(f.name));
    assert.ok(ours, `a conflict copy in ${listing.map((f) => f.name).join(', ')}`);
    assert.equal(text(env, ours.path), 'our version');
    const listed = env.engine.sync.conflicts();
    assert.equal(listed.length, 1);
    assert.equal(listed[0].relPath, 'docs/b-renamed.txt');
    assert.equal(listed[0].conflictUri, ours.path);
    assert.equal(seen.length, 1);
    // the same conflict is not raised again
    const again = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
    assert.deepEqual(again.actions, []);
    assert.equal(readFileSync(p, 'utf8'), 'our version', 'the local file is never touched');
    // theirs stays theirs: later edits here go to the same conflict copy as new versions of it, never over theirs
    for (let i = 2; i <= 4; i++) {
      writeFileSync(p, `our version ${i}`);
      utimesSync(p, new Date(), new Date(Date.now() + 9000 + i * 1000));
      const later = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
      assert.equal(later.conflicts, 1, `save ${i} goes to the open conflict's copy`);
      assert.equal(text(env, `${R}/docs/b-renamed.txt`), 'their version');
      assert.equal(text(env, ours.path), `our version ${i}`);
    }
    assert.equal(env.engine.sync.conflicts().length, 1, 'one conflict, one copy');
    const copies = (await env.other.listAll(`${R}/docs`)).filter((f) => f.name.includes('(conflict '));
    assert.equal(copies.length, 1);
  });

  test('a re-added pair (new home, identical files on the server) uploads nothing', async () => {
    const other = tmpDir();
    try {
      const e2 = await createEngine({ home: other.path, retry: FAST_RETRY });
      try {
        await e2.login(env.emu.url, env.emu.email, env.emu.password);
        const before = env.emu.stats().sessions_created;
        rmSync(join(env.local, 'docs/b-renamed.txt')); // (it differs from the server: that would be a conflict)
        const r = await e2.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'] });
        assert.equal(r.uploads, 0);
        assert.equal(r.conflicts, 0);
        assert.ok(r.recorded >= 2);
        assert.equal(env.emu.stats().sessions_created, before);
      } finally {
        await e2.close();
      }
    } finally {
      other.cleanup();
    }
  });

  test('--dry-run reports and does nothing', async () => {
    put(env, 'new.txt', 'new');
    const before = env.emu.stats().sessions_created;
    const r = await env.engine.sync.syncOnce({ localPath: env.local, remoteUri: R, ignore: ['*.log'], dryRun: true });
    assert.ok(r.actions.some((a) => a.rel === 'new.txt' && a.action === 'upload'));
    assert.equal(env.emu.file(`${R}/new.txt`), null);
    assert.equal(env.emu.stats().sessions_created, before);
  });
});

describe('mirror mode', () => {
  let env: Env;
  const M = 'cloudreve://my/mirror';
  const pass = () => env.engine.sync.syncOnce({ localPath: env.local, remoteUri: M, mode: 'mirror' });
  before(async () => {
    env = await setup({ sync: { guard: { maxDeletes: 50, maxDeleteRatio: 0.25, minDeletesForRatio: 10 } } });
    for (let i = 0; i < 100; i++) put(env, `many/f${String(i).padStart(3, '0')}.txt`, `file ${i}`);
    put(env, 'x.txt', 'x');
    put(env, 'dir/y.txt', 'y');
    await pass();
  });
  after(() => env.close());

  test('a local deletion and rename go to the server trash (never a permanent delete)', async () => {
    rmSync(join(env.local, 'x.txt'));
    renameSync(join(env.local, 'dir/y.txt'), join(env.local, 'dir/z.txt'));
    const r = await pass();
    assert.equal(r.deleted, 1);
    assert.equal(r.moved, 1, 'the rename is a rename on the server');
    assert.equal(env.emu.file(`${M}/x.txt`), null);
    assert.equal(env.emu.file(`${M}/dir/y.txt`), null);
    assert.equal(text(env, `${M}/dir/z.txt`), 'y');
    assert.deepEqual(await trashNames(env), ['x.txt']);
  });

  test('a file someone else put into a deleted folder keeps that folder on the server', async () => {
    const body = Buffer.from('theirs');
    await env.other.putContent(`${M}/dir/theirs.txt`, body, body.length);
    rmSync(join(env.local, 'dir'), { recursive: true });
    const r = await pass();
    assert.equal(r.deleted, 0);
    assert.ok(r.problems.some((p) => p.rel === 'dir' && /not uploaded from here/.test(p.reason)));
    assert.equal(text(env, `${M}/dir/theirs.txt`), 'theirs');
  });

  test('the guard stops a mass delete; confirming lets exactly that go ahead', async () => {
    for (let i = 0; i < 60; i++) rmSync(join(env.local, `many/f${String(i).padStart(3, '0')}.txt`));
    const r = await pass();
    assert.equal(r.deleted, 0);
    assert.equal(r.blocked?.code, 'mass-delete');
    assert.equal(r.blocked?.pendingDeletes, 60);
    assert.ok(env.emu.file(`${M}/many/f000.txt`), 'nothing deleted');
    // as a configured pair, the state says so and a confirmation runs the deletions
    const pair = env.engine.sync.addPair({ localPath: env.local, remoteUri: M, mode: 'mirror' });
    const blocked = await env.engine.sync.syncPair(pair.id);
    assert.equal(blocked.blocked?.code, 'mass-delete');
    assert.equal(env.engine.sync.pair(pair.id)?.state, 'needs-confirmation');
    assert.equal(env.engine.sync.pair(pair.id)?.stateDetail?.pendingDeletes, 60);
    const done = await env.engine.sync.confirmDeletes(pair.id, 60);
    assert.equal(done.deleted, 60);
    assert.equal(env.emu.file(`${M}/many/f000.txt`), null);
    assert.ok(env.emu.file(`${M}/many/f060.txt`));
    assert.equal(env.engine.sync.pair(pair.id)?.state, 'idle');
  });

  test('an emptied folder (an unmounted disk) deletes nothing, not even one file', async () => {
    for (let i = 60; i < 100; i++) rmSync(join(env.local, `many/f${String(i).padStart(3, '0')}.txt`));
    rmSync(join(env.local, 'many'), { recursive: true });
    const r = await pass();
    assert.equal(r.deleted, 0);
    assert.equal(r.blocked?.code, 'local-empty');
    assert.ok(env.emu.file(`${M}/many/f060.txt`));
  });

  test('a missing local folder is "unavailable", never "deleted"', async () => {
    rmSync(env.local, { recursive: true });
    const pair = env.engine.sync.listPairs()[0];
    await assert.rejects(env.engine.sync.syncPair(pair.id), { code: 'local-io', message: /missing/ });
    assert.equal(env.engine.sync.pair(pair.id)?.state, 'unavailable');
    assert.ok(env.emu.file(`${M}/many/f060.txt`));
    mkdirSync(env.local);
  });
});

describe('failures never delete anything', () => {
  let env: Env;
  const M = 'cloudreve://my/fragile';
  before(async () => {
    env = await setup();
    put(env, 'keep.txt', 'keep');
    put(env, 'sub/keep2.txt', 'keep2');
  });
  after(() => env.close());

  test('server errors and an expired login: the pair waits in its state, files and records stay', async () => {
    const pair = env.engine.sync.addPair({ localPath: env.local, remoteUri: M, mode: 'mirror' });
    await env.engine.sync.syncPair(pair.id);
    rmSync(join(env.local, 'keep.txt')); // a real deletion, pending while the server is away
    env.emu.addFault({ method: 'GET', path: '^/api/v4/file$', times: 1000, action: { type: 'status', status: 502 } });
    await assert.rejects(env.engine.sync.syncPair(pair.id));
    assert.equal(env.engine.sync.pair(pair.id)?.state, 'offline');
    env.emu.clearFaults();
    env.emu.addFault({ method: 'GET', path: '^/api/v4/file$', times: 1000, action: { type: 'envelope', code: 401, msg: 'Login required' } });
    await assert.rejects(env.engine.sync.syncPair(pair.id), { code: 'login-required' });
    assert.equal(env.engine.sync.pair(pair.id)?.state, 'login-required');
    env.emu.clearFaults();
    assert.ok(env.emu.file(`${M}/keep.txt`));
    assert.ok(env.emu.file(`${M}/sub/keep2.txt`));
    assert.equal(readFileSync(join(env.local, 'sub/keep2.txt'), 'utf8'), 'keep2');
    assert.ok(statSync(join(env.local, 'sub')).isDirectory());
  });
});

describe('pairs', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('add, list, pause, resume, remove; bad input is refused with a clear error', async () => {
    const p = env.engine.sync.addPair({ localPath: env.local, remoteUri: '/backup', ignore: ['*.iso'] });
    assert.equal(p.remoteUri, 'cloudreve://my/backup');
    assert.equal(p.mode, 'backup');
    assert.deepEqual(env.engine.sync.listPairs().map((x) => x.id), [p.id]);
    assert.throws(() => env.engine.sync.addPair({ localPath: env.local, remoteUri: '/backup' }), /already synced/);
    assert.throws(() => env.engine.sync.addPair({ localPath: join(env.local, 'sub'), remoteUri: '/b2' }), /no such folder/);
    mkdirSync(join(env.local, 'sub'));
    assert.throws(() => env.engine.sync.addPair({ localPath: join(env.local, 'sub'), remoteUri: '/b2' }), /overlaps/);
    assert.throws(() => env.engine.sync.addPair({ localPath: env.dir.path, remoteUri: '/b3', mode: 'sideways' as never }), /backup, mirror or two-way/);
    assert.throws(() => env.engine.sync.pausePair('nope'), { code: 'not-found' });
    assert.equal(env.engine.sync.pausePair(p.id).paused, true);
    assert.equal(env.engine.sync.resumePair(p.id).paused, false);
    writeFileSync(join(env.local, 'f.txt'), 'x');
    await env.engine.sync.syncPair(p.id);
    await env.engine.sync.removePair(p.id);
    assert.deepEqual(env.engine.sync.listPairs(), []);
    assert.ok(env.emu.file('cloudreve://my/backup/f.txt'), 'removing a pair deletes nothing');
    assert.equal(readFileSync(join(env.local, 'f.txt'), 'utf8'), 'x');
  });
});
