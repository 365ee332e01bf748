/**
 * The contract's handlers against the real engine and the emulator: remote folders, share links, the history (kept
 * across clearFinished and a restart), local folder browsing, sync pairs and conflicts, and the events they push.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { createEngine, type Engine, type EngineConfig } from '../../main/engine/index.js';
import { openJournal } from '../../main/engine/journal/journal.js';
import type { EventMap, EventName, MethodName, MethodValue, Result, SettingsDto } from '../../main/ipc/contract.js';
import { createHandlers, dispatch, forwardEngineEvents, type SettingsPort } from '../../main/ipc/server.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const FAST_RETRY = { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 };
const trusted = { sender: null, senderFrame: null };
const settings: SettingsPort = {
  get: () => ({}) as SettingsDto,
  update: async () => ({}) as SettingsDto,
};

function caller(engine: Engine) {
  const opts = { handlers: createHandlers({ engine, settings, app: { mode: 'browser', version: '1.2.3' } }), isTrustedSender: () => true };
  return <K extends MethodName>(name: K, ...args: unknown[]): Promise<Result<MethodValue<K>>> => dispatch(opts, name, trusted, args);
}

async function value<T>(r: Promise<Result<T>>): Promise<T> {
  const res = await r;
  if (!res.ok) assert.fail(`expected a value, got ${res.error.code}: ${res.error.message}`);
  return res.value;
}

async function errorCode(r: Promise<Result<unknown>>): Promise<string> {
  const res = await r;
  assert.equal(res.ok, false, 'expected an error');
  return (res as { error: { code: string } }).error.code;
}

/** Polls `check` every 50 ms for up to `ms` (bounded). */
async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('handlers against the real engine', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let call: ReturnType<typeof caller>;
  let config: EngineConfig;

  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 }, maxPageSize: 3 });
    dir = tmpDir();
    config = { home: join(dir.path, 'home'), retry: FAST_RETRY, settleMs: 200, sync: { settleMs: 200, scanIntervalMs: 3_600_000 } };
    engine = await createEngine(config);
    await engine.login(emu.url, emu.email, emu.password);
    call = caller(engine);
  });
  after(async () => {
    await engine.close();
    await emu.close();
    dir.cleanup();
  });

  test('getAppInfo says who serves the page', async () => {
    const info = await value(call('getAppInfo'));
    assert.equal(info.mode, 'browser');
    assert.equal(info.version, '1.2.3');
    assert.equal(info.platform, process.platform);
    assert.equal(info.homeDir, homedir());
    assert.ok(info.locale.length > 0);
  });

  test('remote folders: every page (cursor), folders only, by name; create one; bad input is refused', async () => {
    for (const name of ['b', 'A', 'c 10', 'c 9', 'd']) await value(call('createRemoteFolder', 'cloudreve://my/pick', name));
    const f = dir.file('loose.txt', 'x');
    await engine.enqueue([f], 'cloudreve://my/pick');
    await engine.idle();
    const listing = await value(call('listRemoteFolders', 'cloudreve://my/pick'));
    assert.equal(listing.uri, 'cloudreve://my/pick');
    assert.equal(listing.parentUri, 'cloudreve://my');
    // maxPageSize 3: five folders and a file come on two pages
    assert.deepEqual(listing.folders.map((x) => x.name), ['A', 'b', 'c 9', 'c 10', 'd']);
    assert.equal(listing.folders[2].uri, 'cloudreve://my/pick/c%209');
    const root = await value(call('listRemoteFolders', 'cloudreve://my/'));
    assert.equal(root.parentUri, null);
    assert.ok(root.folders.some((x) => x.uri === 'cloudreve://my/pick'));
    assert.equal(await errorCode(call('listRemoteFolders', 'cloudreve://my/nope')), 'not-found');
    assert.equal(await errorCode(call('listRemoteFolders', '/etc')), 'invalid-argument');
    assert.equal(await errorCode(call('createRemoteFolder', 'cloudreve://my/pick', 'a/b')), 'usage');
    assert.equal(await errorCode(call('createRemoteFolder', 'cloudreve://my/pick', '..')), 'usage');
  });

  test('createShareLink returns the server\'s link for a file; the root and missing paths are refused', async () => {
    const f = dir.file('share/me.txt', 'share me');
    await engine.enqueue([f], 'cloudreve://my/shared');
    await engine.idle();
    const link = await value(call('createShareLink', 'cloudreve://my/shared/me.txt'));
    const shares = emu.shares();
    assert.equal(shares.length, 1);
    assert.equal(shares[0].uri, 'cloudreve://my/shared/me.txt');
    assert.equal(shares[0].password, '');
    assert.equal(link, `${emu.url}/s/${shares[0].id}`);
    assert.equal(await errorCode(call('createShareLink', 'cloudreve://my/shared/gone.txt')), 'not-found');
    assert.equal(await errorCode(call('createShareLink', 'cloudreve://my/')), 'invalid-argument');
  });

  test('browseLocal: one level, folders first, dot-entries marked, clear errors', async () => {
    const root = join(dir.path, 'browse');
    dir.file('browse/zeta/x', 'x');
    dir.file('browse/Alpha/x', 'x');
    dir.file('browse/.hidden/x', 'x');
    dir.file('browse/b.txt', 'b');
    dir.file('browse/a.txt', 'a');
    symlinkSync(join(root, 'zeta'), join(root, 'link-to-zeta'));
    symlinkSync(join(root, 'missing'), join(root, 'dangling'));
    const l = await value(call('browseLocal', root));
    assert.equal(l.path, root);
    assert.equal(l.parent, dir.path);
    assert.deepEqual(
      l.entries.map((e) => [e.name, e.kind, e.hidden]),
      [
        ['.hidden', 'folder', true],
        ['Alpha', 'folder', false],
        ['link-to-zeta', 'folder', false],
        ['zeta', 'folder', false],
        ['a.txt', 'file', false],
        ['b.txt', 'file', false],
      ],
    );
    assert.equal(l.entries[1].path, join(root, 'Alpha'));
    assert.equal((await value(call('browseLocal', null))).path, homedir());
    assert.equal((await value(call('browseLocal', '/'))).parent, null);
    assert.equal(await errorCode(call('browseLocal', join(root, 'nope'))), 'not-found');
    assert.equal(await errorCode(call('browseLocal', join(root, 'a.txt'))), 'usage');
    assert.equal(await errorCode(call('browseLocal', 'relative/path')), 'invalid-argument');
    if (process.getuid?.() !== 0) {
      mkdirSync(join(root, 'locked'));
      chmodSync(join(root, 'locked'), 0o000);
      try {
        assert.equal(await errorCode(call('browseLocal', join(root, 'locked'))), 'permission');
      } finally {
        chmodSync(join(root, 'locked'), 0o700);
      }
    }
  });

  test('history: written at each terminal state, pushed, searchable, kept across clearFinished and a restart', async () => {
    const events: Array<EventMap['history-added']> = [];
    const stop = forwardEngineEvents(engine, (name: EventName, payload) => {
      if (name === 'history-added') events.push(payload as EventMap['history-added']);
    });
    await value(call('clearHistory'));
    const ok1 = dir.file('hist/100% done.txt', 'one');
    const ok2 = dir.file('hist/second.bin', 'two');
    await engine.enqueue([ok1, ok2], 'cloudreve://my/hist');
    await engine.idle();
    stop();
    assert.equal(events.length, 2);
    assert.ok(events.every((e) => e.state === 'done' && e.pairId === null && e.error === null));
    let list = await value(call('listHistory', {}));
    assert.deepEqual(list.map((e) => e.name).sort(), ['100% done.txt', 'second.bin']);
    assert.equal(list[0].finishedAt >= list[1].finishedAt, true);
    // LIKE wildcards are taken literally: '%' matches only the name containing it
    assert.deepEqual((await value(call('listHistory', { text: '100%' }))).map((e) => e.name), ['100% done.txt']);
    assert.deepEqual((await value(call('listHistory', { text: 'SECOND' }))).map((e) => e.name), ['second.bin']);
    assert.equal((await value(call('listHistory', { state: 'failed' }))).length, 0);
    assert.equal((await value(call('listHistory', { limit: 1 }))).length, 1);
    assert.equal((await value(call('listHistory', { before: Math.min(...list.map((e) => e.finishedAt)) }))).length, 0);
    for (const bad of [{ state: 'running' }, { limit: 0 }, { limit: 5000 }, { colour: 'red' }, 'text', { before: -1 }]) {
      assert.equal(await errorCode(call('listHistory', bad)), 'invalid-argument', JSON.stringify(bad));
    }
    assert.ok((await value(call('clearFinished'))) >= 2);
    assert.equal((await value(call('listHistory', {}))).length, 2, 'clearFinished leaves the history alone');

    await engine.close();
    engine = await createEngine(config);
    call = caller(engine);
    list = await value(call('listHistory', {}));
    assert.deepEqual(list.map((e) => e.name).sort(), ['100% done.txt', 'second.bin'], 'kept across a restart');
    assert.equal(await value(call('clearHistory')), 2);
    assert.equal((await value(call('listHistory', null))).length, 0);
  });

  test('history: a failed upload keeps its reason; retried and done, it has a second entry', async () => {
    await value(call('clearHistory'));
    const f = dir.file('hist2/full.bin', 'x'.repeat(100));
    emu.addFault({ method: 'PUT', path: '^/api/v4/file/upload$', action: { type: 'envelope', code: 40051, msg: 'Insufficient capacity' } });
    const [id] = await engine.enqueue([f], 'cloudreve://my/hist2');
    await engine.idle();
    assert.equal(engine.transfer(id)!.state, 'failed');
    let list = await value(call('listHistory', { state: 'failed' }));
    assert.equal(list.length, 1);
    assert.equal(list[0].transferId, id);
    assert.equal(list[0].error?.code, 'quota');
    await value(call('retry', id));
    await engine.idle();
    list = await value(call('listHistory', {}));
    assert.deepEqual(list.map((e) => [e.transferId, e.state]), [[id, 'done'], [id, 'failed']]);
    assert.notEqual(list[0].id, list[1].id);
  });

  test('pairs: added through the handlers it syncs in the background; pause, update, sync now, remove; events', async () => {
    const events: Array<[EventName, unknown]> = [];
    const stop = forwardEngineEvents(engine, (name, payload) => events.push([name, payload]));
    await engine.sync.start();
    try {
      const local = join(dir.path, 'pair');
      dir.file('pair/first.txt', 'first');
      assert.equal(await errorCode(call('addPair', { localPath: 'rel', remoteUri: 'cloudreve://my/p', mode: 'backup' })), 'invalid-argument');
      assert.equal(await errorCode(call('addPair', { localPath: local, remoteUri: 'cloudreve://my/p', mode: 'both' })), 'invalid-argument');
      assert.equal(await errorCode(call('addPair', { localPath: join(dir.path, 'none'), remoteUri: 'cloudreve://my/p', mode: 'backup' })), 'usage');
      const pair = await value(call('addPair', { localPath: local, remoteUri: 'cloudreve://my/p', mode: 'backup', ignore: ['*.tmp'] }));
      assert.equal(pair.localPath, local);
      assert.deepEqual(pair.ignore, ['*.tmp']);
      await eventually(() => emu.file('cloudreve://my/p/first.txt') !== null, 'the pair to upload first.txt');
      assert.ok(events.some(([n, p]) => n === 'pair-changed' && (p as { id: string }).id === pair.id));
      await eventually(async () => (await value(call('listHistory', {}))).some((e) => e.pairId === pair.id && e.name === 'first.txt'), 'a history entry with the pair');

      assert.deepEqual((await value(call('listPairs'))).map((p) => p.id), [pair.id]);
      const paused = await value(call('pausePair', pair.id));
      assert.equal(paused.paused, true);
      assert.equal(await errorCode(call('syncNow', pair.id)), 'usage');
      const resumed = await value(call('resumePair', pair.id));
      assert.equal(resumed.paused, false);
      const updated = await value(call('updatePair', pair.id, { mode: 'mirror' }));
      assert.equal(updated.mode, 'mirror');
      assert.equal(await errorCode(call('updatePair', pair.id, { mode: 'mirror', extra: 1 })), 'invalid-argument');

      dir.file('pair/second.txt', 'second');
      await value(call('syncNow', pair.id));
      await eventually(() => emu.file('cloudreve://my/p/second.txt') !== null, 'sync now to upload second.txt');
      await value(call('syncNow'));

      assert.deepEqual(await value(call('listConflicts')), []);
      assert.equal(await errorCode(call('dismissConflict', 12345)), 'invalid-argument');
      assert.equal(await errorCode(call('pausePair', 'no-such-pair')), 'invalid-argument');
      assert.equal(await errorCode(call('confirmDeletes', pair.id, 0)), 'invalid-argument');
      // restore (put a gone server folder back from here) is for two-way pairs only
      assert.equal(await errorCode(call('restoreRemote', pair.id)), 'invalid-argument');
      assert.equal(await errorCode(call('restoreRemote', 'no-such-pair')), 'invalid-argument');

      // the pair's data as the window gets it: every file is on the server, a full scan was made
      const listed = (await value(call('listPairs')))[0];
      assert.equal(listed.state === 'idle' || listed.state === 'scanning' || listed.state === 'syncing', true, listed.state);
      assert.equal(typeof listed.lastFullScanAt, 'number');
      assert.equal(listed.confirmMirror === true || listed.confirmMirror === false, true);
      assert.deepEqual(await value(call('listSyncIssues', pair.id)), []);
      assert.deepEqual(await value(call('listSyncIssues')), []);

      await value(call('removePair', pair.id));
      assert.deepEqual(await value(call('listPairs')), []);
      assert.ok(events.some(([n, p]) => n === 'pair-removed' && (p as { id: string }).id === pair.id));
      assert.ok(emu.file('cloudreve://my/p/first.txt'), 'removing a pair deletes nothing');
    } finally {
      stop();
      await engine.sync.stop();
    }
  });

  test('conflicts: resolved through the handlers (keep both, keep mine), keep theirs refused, pushed as conflict-resolved', async () => {
    const events: Array<[EventName, unknown]> = [];
    const stop = forwardEngineEvents(engine, (name, payload) => events.push([name, payload]));
    await engine.sync.start();
    try {
      // another client put different a.txt and b.txt in cloudreve://my/c/ first
      const theirs = join(dir.path, 'theirs');
      dir.file('theirs/a.txt', 'their a');
      dir.file('theirs/b.txt', 'their b');
      await engine.enqueue([join(theirs, 'a.txt'), join(theirs, 'b.txt')], 'cloudreve://my/c/');
      await engine.idle();
      dir.file('mine/a.txt', 'my a, longer');
      dir.file('mine/b.txt', 'my b, longer');
      const pair = await value(call('addPair', { localPath: join(dir.path, 'mine'), remoteUri: 'cloudreve://my/c', mode: 'backup' }));
      await eventually(async () => (await value(call('listConflicts', pair.id))).length === 2, 'two conflicts');
      const conflicts = await value(call('listConflicts', pair.id));
      const a = conflicts.find((c) => c.relPath === 'a.txt')!;
      const b = conflicts.find((c) => c.relPath === 'b.txt')!;
      assert.equal(a.reasonCode, 'exists-different');
      assert.ok(events.some(([n, p]) => n === 'conflict-added' && (p as { id: number }).id === a.id));

      assert.equal(await errorCode(call('resolveConflict', a.id, 'keep-everything')), 'invalid-argument');
      assert.equal(await errorCode(call('resolveConflict', a.id, 'keep-theirs')), 'usage');
      assert.equal(await errorCode(call('resolveConflict', 987654, 'keep-both')), 'not-found');

      const kept = await value(call('resolveConflict', a.id, 'keep-both'));
      assert.equal(kept.id, a.id);
      assert.equal(emu.blob('cloudreve://my/c/a.txt')?.toString(), 'their a');
      assert.equal(emu.blob(a.conflictUri)?.toString(), 'my a, longer', 'keep both: the copy stays');
      const mine = await value(call('resolveConflict', b.id, 'keep-mine'));
      assert.equal(mine.id, b.id);
      await eventually(() => emu.blob('cloudreve://my/c/b.txt')?.toString() === 'my b, longer', 'keep mine: ours is b.txt');
      await eventually(() => emu.blob(b.conflictUri) === null, 'keep mine: the copy went to the trash');
      assert.deepEqual(await value(call('listConflicts', pair.id)), []);
      const resolved = events.filter(([n]) => n === 'conflict-resolved').map(([, p]) => p as EventMap['conflict-resolved']);
      assert.deepEqual(resolved.map((r) => [r.conflict.id, r.choice]), [[a.id, 'keep-both'], [b.id, 'keep-mine']]);
      await value(call('removePair', pair.id));
    } finally {
      stop();
      await engine.sync.stop();
    }
  });
});

test('history is capped to the newest entries', () => {
  const j = openJournal(':memory:', { historyCap: 5 });
  try {
    for (let i = 0; i < 12; i++) {
      j.history.insert({ account: 'a', transferId: `t${i}`, name: `f${i}`, localPath: `/f${i}`, targetUri: `cloudreve://my/f${i}`, size: i, state: 'done', error: null, pairId: null });
    }
    assert.equal(j.history.count(), 5);
    assert.deepEqual(j.history.list('a', {}).map((e) => e.transferId), ['t11', 't10', 't9', 't8', 't7']);
    assert.equal(j.history.list('other', {}).length, 0);
  } finally {
    j.close();
  }
});
