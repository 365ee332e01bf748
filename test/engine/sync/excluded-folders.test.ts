/**
 * Per-pair excluded folders (selective sync, issue 17): the stored form of the list, discovery leaving an excluded
 * folder unlisted on both sides, and end to end (real folders, the engine, the emulator, the freedesktop trash under
 * a temporary XDG_DATA_HOME) in two-way and mirror: an excluded folder is neither downloaded, uploaded, trashed here
 * nor deleted on the server; taking it back in brings it down and deletes nothing.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import type { FileResponse } from '../../../main/engine/api/types.js';
import { createEngine, type Engine } from '../../../main/engine/index.js';
import { openJournal } from '../../../main/engine/journal/journal.js';
import { MIGRATIONS } from '../../../main/engine/journal/migrations/index.js';
import { readPairsBackup } from '../../../main/engine/journal/pairs-backup.js';
import { discover } from '../../../main/engine/sync/discovery.js';
import { IgnoreRules, normalizeExcluded } from '../../../main/engine/sync/ignore-rules.js';
import { EngineError } from '../../../main/engine/errors.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { tmpDir, type TmpDir } from '../../helpers/tmp-tree.js';
import { startTwoWayEnv, type TwoWayEnv } from '../../helpers/two-way-env.js';

const FAST_RETRY = { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 };

describe('excluded folders: the list', () => {
  test('normalized: NFC, "/"-separated, trimmed, deduplicated, nested ones dropped, sorted', () => {
    assert.deepEqual(normalizeExcluded(['/Photos/', 'Cafe\u0301', './a//b/', 'a', 'Photos', 'x\\y']), ['Café', 'Photos', 'a', 'x/y']);
    assert.deepEqual(normalizeExcluded([]), []);
  });
  test('the root, ".." and URIs are usage errors', () => {
    for (const bad of ['', '/', '.', 'a/../b', 'cloudreve://my/a']) {
      assert.throws(() => normalizeExcluded([bad]), (e: unknown) => e instanceof EngineError && e.code === 'usage', bad);
    }
  });
  test('an excluded folder and everything under it is left out; its neighbours are not', () => {
    const r = new IgnoreRules([], { excluded: ['big', 'a/b'] });
    for (const p of ['big', 'big/x.txt', 'big/deep/y', 'a/b', 'a/b/c']) assert.ok(r.ignores(p, false), p);
    for (const p of ['bigger', 'a', 'a/bc', 'b']) assert.ok(!r.ignores(p, true), p);
    assert.deepEqual(r.excludedWithin('a'), ['a/b']);
    assert.deepEqual(r.follow('a', 'z'), ['big', 'z/b']);
    assert.equal(r.follow('nothing', 'else'), null);
  });
});

describe('excluded folders: discovery', () => {
  let dir: TmpDir;
  before(() => {
    dir = tmpDir();
    dir.file('local/big/mine.txt', 'only here');
    dir.file('local/keep/k.txt', 'k');
  });
  after(() => dir.cleanup());

  const file = (name: string, type: 0 | 1 = 0): FileResponse =>
    ({ type, id: name, name, size: 1, updated_at: new Date(0).toISOString(), created_at: new Date(0).toISOString(), path: name, metadata: {} }) as unknown as FileResponse;

  test('an excluded folder is never listed, nor any hint inside it', async () => {
    const listed: string[] = [];
    const tree: Record<string, FileResponse[]> = {
      'cloudreve://my/r': [file('big', 1), file('keep', 1)],
      'cloudreve://my/r/big': [file('huge.bin')],
      'cloudreve://my/r/keep': [file('k.txt')],
    };
    const opts = {
      localRoot: join(dir.path, 'local'),
      remoteRoot: 'cloudreve://my/r',
      records: new Map(),
      ignore: new IgnoreRules([], { excluded: ['big'] }),
      listRemote: async (uri: string) => (listed.push(uri), tree[uri] ?? null),
      remoteOnlyFolders: true,
    };
    const d = await discover(opts);
    assert.deepEqual(listed.sort(), ['cloudreve://my/r', 'cloudreve://my/r/keep']);
    assert.deepEqual(d.paths.map((p) => p.rel), ['keep', 'keep/k.txt']);
    listed.length = 0;
    const hinted = await discover({ ...opts, folders: ['big', 'big/sub'], recursive: false });
    assert.deepEqual(listed, [], 'a change inside the excluded folder lists nothing');
    assert.deepEqual(hinted.paths, []);
  });
});

describe('excluded folders: the journal', () => {
  let dir: TmpDir;
  before(() => (dir = tmpDir()));
  after(() => dir.cleanup());

  test('migration 0008 adds the column; the pairs repository and pairs-backup.json keep the list', () => {
    assert.equal(MIGRATIONS.find((m) => m.name === 'excluded-folders')?.version, 8);
    const path = join(dir.path, 'journal.db');
    const backup = join(dir.path, 'pairs-backup.json');
    const j = openJournal(path, { pairsBackup: backup });
    const base = { account: 'a', remoteUri: 'cloudreve://my/r', mode: 'two-way' as const, ignore: [] };
    j.pairs.insert({ ...base, id: 'p1', localPath: '/l1', excludeRemote: ['big', 'a/b'] });
    j.pairs.insert({ ...base, id: 'p2', localPath: '/l2' });
    assert.deepEqual(j.pairs.get('p1')!.excludeRemote, ['big', 'a/b']);
    assert.deepEqual(j.pairs.get('p2')!.excludeRemote, []);
    j.pairs.update('p2', { excludeRemote: ['x'] });
    assert.deepEqual(j.pairs.get('p2')!.excludeRemote, ['x']);
    j.close();
    const saved = readPairsBackup(backup);
    assert.equal(saved.problem, null);
    assert.deepEqual(
      saved.pairs.map((p) => [p.id, p.mode, p.excludeRemote]),
      [
        ['p1', 'two-way', ['big', 'a/b']],
        ['p2', 'two-way', ['x']],
      ],
    );
    // a journal rebuilt from the backup keeps them
    rmSync(path);
    const j2 = openJournal(path, { pairsBackup: backup });
    assert.deepEqual(j2.pairs.get('p1')?.excludeRemote, ['big', 'a/b']);
    assert.equal(j2.pairs.get('p1')?.mode, 'two-way');
    j2.close();
    // a backup written before the list existed reads as "nothing excluded"
    const old = JSON.parse(readFileSync(backup, 'utf8')) as { pairs: Array<Record<string, unknown>> };
    for (const p of old.pairs) delete p.excludeRemote;
    writeFileSync(backup, JSON.stringify(old));
    assert.deepEqual(readPairsBackup(backup).pairs.map((p) => p.excludeRemote), [[], []]);
  });
});

describe('excluded folders: end to end', () => {
  let env: TwoWayEnv;
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let other: CloudreveClient;
  const trashed = (): string[] => env.trashedFiles();
  const put = (uri: string, body: string) => env.put(uri, body);

  before(async () => {
    env = await startTwoWayEnv();
    ({ emu, dir, engine, other } = env);
  });
  after(() => env.close());

  test('two-way: an excluded folder is neither downloaded, uploaded, trashed here nor deleted there; taken back in, it comes down', async () => {
    const R = 'cloudreve://my/tw';
    const local = join(dir.path, 'tw');
    mkdirSync(local);
    const pass = (excludeRemote?: string[]) => engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'two-way', excludeRemote });
    await other.createFolder(`${R}/big/sub`);
    await put(`${R}/big/huge.txt`, 'huge');
    await put(`${R}/big/sub/x.txt`, 'x');
    await put(`${R}/keep/a.txt`, 'a');
    const first = await pass();
    assert.equal(readFileSync(join(local, 'big/huge.txt'), 'utf8'), 'huge', JSON.stringify(first.actions));
    assert.equal(readFileSync(join(local, 'big/sub/x.txt'), 'utf8'), 'x');

    // excluded: the local copy of big freed (huge.txt removed here), the server's x.txt deleted, both sides add a file
    rmSync(join(local, 'big/huge.txt'));
    await other.delete([`${R}/big/sub/x.txt`]);
    await put(`${R}/big/new.txt`, 'new there');
    writeFileSync(join(local, 'big/local-only.txt'), 'only here');
    await put(`${R}/keep/b.txt`, 'b');
    const r = await pass(['big']);
    assert.deepEqual(r.actions.filter((a) => a.rel === 'big' || a.rel.startsWith('big/')), [], JSON.stringify(r.actions));
    assert.equal(readFileSync(join(local, 'keep/b.txt'), 'utf8'), 'b', 'the rest of the pair syncs');
    assert.equal(emu.blob(`${R}/big/huge.txt`)?.toString(), 'huge', 'not deleted on the server');
    assert.ok(existsSync(join(local, 'big/sub/x.txt')), 'not trashed here');
    assert.deepEqual(trashed(), []);
    assert.ok(!existsSync(join(local, 'big/new.txt')), 'not downloaded');
    assert.ok(!emu.blob(`${R}/big/local-only.txt`), 'not uploaded');
    assert.deepEqual(engine.sync.issues(r.pairId), []);
    const again = await pass(['big']);
    assert.deepEqual(again.actions, []);

    // taken back in: a fresh look at both sides, nothing deleted anywhere
    const back = await pass([]);
    assert.equal(readFileSync(join(local, 'big/huge.txt'), 'utf8'), 'huge', JSON.stringify(back.actions));
    assert.equal(readFileSync(join(local, 'big/new.txt'), 'utf8'), 'new there');
    assert.equal(emu.blob(`${R}/big/local-only.txt`)?.toString(), 'only here');
    assert.equal(emu.blob(`${R}/big/sub/x.txt`)?.toString(), 'x', 'what is only here goes up (no record says it was deleted there)');
    assert.deepEqual(trashed(), []);
    assert.deepEqual((await pass([])).actions, [], 'in sync');
  });

  test('mirror: a deleted excluded folder is not trashed on the server, nor the folder holding one; taking it back in deletes nothing', async () => {
    const R = 'cloudreve://my/mi';
    const local = join(dir.path, 'mi');
    mkdirSync(local);
    for (const f of ['stay.txt', 'keep.txt', 'big/b.txt', 'big/deep/c.txt', 'outer/o.txt', 'outer/inner/i.txt']) {
      mkdirSync(join(local, f, '..'), { recursive: true });
      writeFileSync(join(local, f), f);
    }
    const pair = engine.sync.addPair({ localPath: local, remoteUri: R, mode: 'mirror', excludeRemote: [] });
    assert.equal((await engine.sync.syncPair(pair.id)).uploads, 6);
    assert.deepEqual(engine.sync.setExcludedFolders(pair.id, ['big/', 'outer/inner']).excludeRemote, ['big', 'outer/inner']);
    rmSync(join(local, 'big'), { recursive: true });
    rmSync(join(local, 'outer'), { recursive: true });
    rmSync(join(local, 'keep.txt'));
    const r = await engine.sync.syncPair(pair.id);
    assert.deepEqual(r.trashed, ['keep.txt'], 'only the included file goes to the trash');
    assert.equal(emu.blob(`${R}/big/b.txt`)?.toString(), 'big/b.txt');
    assert.equal(emu.blob(`${R}/big/deep/c.txt`)?.toString(), 'big/deep/c.txt');
    assert.equal(emu.blob(`${R}/outer/inner/i.txt`)?.toString(), 'outer/inner/i.txt');
    assert.equal(emu.blob(`${R}/outer/o.txt`)?.toString(), 'outer/o.txt', 'the folder holding an excluded one is kept whole');
    assert.ok(r.problems.some((p) => p.rel === 'outer' && /excluded/.test(p.reason)), JSON.stringify(r.problems));
    // back in: its local copy is gone, and that is not read as a deletion (its records went with the exclusion)
    engine.sync.setExcludedFolders(pair.id, []);
    const back = await engine.sync.syncPair(pair.id);
    assert.deepEqual(back.trashed, [], JSON.stringify(back.actions));
    assert.equal(emu.blob(`${R}/big/b.txt`)?.toString(), 'big/b.txt');
    assert.deepEqual(engine.sync.listPairs().find((p) => p.id === pair.id)?.excludeRemote, []);
  });

  test('two-way: a folder deleted on the server that holds an excluded one stays here with it; the rest of it goes to the trash', async () => {
    const R = 'cloudreve://my/tw2';
    const local = join(dir.path, 'tw2');
    mkdirSync(local);
    const pass = (excludeRemote: string[]) => engine.sync.syncOnce({ localPath: local, remoteUri: R, mode: 'two-way', excludeRemote });
    await other.createFolder(`${R}/outer/inner`);
    await put(`${R}/outer/o.txt`, 'o');
    await put(`${R}/outer/inner/i.txt`, 'i');
    await put(`${R}/top.txt`, 't');
    await pass([]);
    assert.equal(readFileSync(join(local, 'outer/inner/i.txt'), 'utf8'), 'i');
    await other.delete([`${R}/outer`]);
    const r = await pass(['outer/inner']);
    assert.deepEqual(r.trashedLocal, ['outer/o.txt'], JSON.stringify(r.actions));
    assert.equal(readFileSync(join(local, 'outer/inner/i.txt'), 'utf8'), 'i', 'the excluded folder is never trashed here');
    assert.ok(r.problems.some((p) => p.rel === 'outer' && /excluded/.test(p.reason)), JSON.stringify(r.problems));
    assert.equal(trashed().length, 1, 'o.txt only');
    // the folder is the pair's again (made on the server, empty of what is excluded); nothing more is deleted
    await pass(['outer/inner']);
    assert.equal((await other.info(`${R}/outer`)).type, 1);
    assert.ok(!emu.blob(`${R}/outer/inner/i.txt`));
    assert.equal(trashed().length, 1, 'o.txt only');
  });
});

describe('excluded folders: a running pair', () => {
  test('a server change inside an excluded folder asks for no pass; taking the folder back in brings it down by itself', async () => {
    const emu = await startEmulator({ eventDebounceMs: 100, keepAliveMs: 1000 });
    const dir = tmpDir();
    const local = join(dir.path, 'local');
    mkdirSync(local);
    const engine = await createEngine({ home: join(dir.path, 'home'), settleMs: 100, retry: FAST_RETRY, sync: { scanIntervalMs: 3_600_000, remoteHintRetry: { baseMs: 100, maxMs: 400 } } });
    try {
      await engine.login(emu.url, emu.email, emu.password);
      const other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a19' });
      await other.login(emu.email, emu.password);
      const R = 'cloudreve://my/run';
      const put = async (uri: string, body: string) => other.putContent(uri, Buffer.from(body), body.length, {});
      await put(`${R}/big/huge.txt`, 'huge');
      await put(`${R}/keep/a.txt`, 'a');
      const pair = engine.sync.addPair({ localPath: local, remoteUri: R, mode: 'two-way', excludeRemote: ['big'] });
      let scans = 0;
      engine.events.on('pair-changed', (p) => {
        if (p.id === pair.id && p.state === 'scanning') scans++;
      });
      const until = async (what: string, ok: () => boolean, ms = 15_000) => {
        for (let t = 0; t < ms && !ok(); t += 100) await new Promise((r) => setTimeout(r, 100));
        assert.ok(ok(), what);
      };
      await engine.sync.start();
      await until('the first pass brings keep/ down', () => existsSync(join(local, 'keep/a.txt')));
      await engine.idle();
      await new Promise((r) => setTimeout(r, 800)); // the change stream subscribed, the first pass over
      assert.ok(!existsSync(join(local, 'big')), 'the excluded folder is not made here');
      const before = scans;
      await put(`${R}/big/more.txt`, 'more');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(scans, before, 'no pass for a change inside the excluded folder');
      await put(`${R}/keep/b.txt`, 'b');
      await until('a change elsewhere is brought down', () => existsSync(join(local, 'keep/b.txt')));
      engine.sync.setExcludedFolders(pair.id, []);
      await until('taken back in, the folder comes down', () => existsSync(join(local, 'big/huge.txt')) && existsSync(join(local, 'big/more.txt')));
      assert.equal(readFileSync(join(local, 'big/huge.txt'), 'utf8'), 'huge');
    } finally {
      await engine.close();
      await emu.close();
      dir.cleanup();
    }
  });
});
