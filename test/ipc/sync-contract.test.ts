/**
 * The sync part of the contract against a fake SyncApi: pairs with their new states and data (files not backed up by
 * reason, the paths a mirror pass would trash, freshness), conflicts with their reason codes, resolveConflict and
 * listSyncIssues (validation, engine errors passed on with their codes), and the events they push.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Engine } from '../../main/engine/index.js';
import { EngineError } from '../../main/engine/errors.js';
import { TypedEmitter, type EngineEvents } from '../../main/engine/events.js';
import type { ConflictChoice, SyncConflict, SyncIssue, SyncPair } from '../../main/engine/types.js';
import { METHOD_NAMES, type EventName, type MethodName, type MethodValue, type PairDto, type Result } from '../../main/ipc/contract.js';
import { toConflictDto, toPairDto, toSyncIssueDto } from '../../main/ipc/serialize.js';
import { createHandlers, dispatch, forwardEngineEvents, type SettingsPort } from '../../main/ipc/server.js';

function pair(over: Partial<SyncPair> = {}): SyncPair {
  return {
    id: 'p1',
    account: 'a',
    localPath: '/home/ann/Photos',
    remoteUri: 'cloudreve://my/Photos',
    mode: 'backup',
    ignore: [],
    excludeRemote: [],
    paused: false,
    watched: true,
    state: 'idle',
    stateDetail: null,
    lastScanAt: 1000,
    lastScanMs: 20,
    lastFullScanAt: 900,
    lastChangeAt: 950,
    confirmMirror: false,
    createdAt: 1,
    updatedAt: 2,
    ...over,
  };
}

function conflict(over: Partial<SyncConflict> = {}): SyncConflict {
  return {
    id: 7,
    pairId: 'p1',
    relPath: 'notes/doc.txt',
    remoteUri: 'cloudreve://my/Photos/notes/doc.txt',
    conflictUri: 'cloudreve://my/Photos/notes/doc%20(conflict%202026-11-25%20161311%20vm).txt',
    reason: 'changed here and on the server since our last upload',
    reasonCode: 'changed-both',
    createdAt: 5,
    ...over,
  };
}

function issue(over: Partial<SyncIssue> = {}): SyncIssue {
  return {
    pairId: 'p1',
    relPath: 'raw/IMG_0001.CR3',
    code: 'quota',
    message: 'the account\'s storage is full (https://s3.example/x?X-Amz-Signature=secret)',
    size: 10,
    mtimeMs: 20,
    retryAt: 5000,
    freeAtFailure: 0,
    attempts: 2,
    since: 4000,
    ...over,
  };
}

/** An engine whose sync answers from these lists; anything else it is asked fails the test. */
function fakeEngine(state: { pairs: SyncPair[]; conflicts: SyncConflict[]; issues: SyncIssue[] }) {
  const events = new TypedEmitter<EngineEvents>();
  const resolved: Array<[number, ConflictChoice]> = [];
  const sync: Partial<Engine['sync']> = {
    listPairs: () => state.pairs,
    pair: (id) => state.pairs.find((p) => p.id === id) ?? null,
    conflicts: (pairId) => state.conflicts.filter((c) => pairId === undefined || c.pairId === pairId),
    issues: (pairId) => state.issues.filter((i) => pairId === undefined || i.pairId === pairId),
    resolveConflict: async (id, choice) => {
      resolved.push([id, choice]);
      const c = state.conflicts.find((x) => x.id === id);
      if (!c) throw new EngineError('not-found', `no conflict ${id}`);
      if (choice === 'keep-theirs') throw new EngineError('usage', 'keep theirs needs two-way sync');
      state.conflicts = state.conflicts.filter((x) => x !== c);
      events.emit('sync-conflict-resolved', { conflict: c, choice });
      return c;
    },
  };
  const engine = {
    events,
    account: () => null,
    sync: new Proxy(sync as Engine['sync'], {
      get: (t, name) => {
        const v = (t as unknown as Record<string | symbol, unknown>)[name];
        if (v === undefined) throw new Error(`IPC touched engine.sync.${String(name)}`);
        return v;
      },
    }),
  } as unknown as Engine;
  return { engine, events, resolved };
}

const settings: SettingsPort = { get: () => { throw new Error('no settings here'); }, update: async () => { throw new Error('no settings here'); } };
const trusted = { sender: null, senderFrame: null };

function caller(engine: Engine) {
  const opts = { handlers: createHandlers({ engine, settings, app: { mode: 'desktop', version: '1' } }), isTrustedSender: () => true };
  return <K extends MethodName>(name: K, ...args: unknown[]): Promise<Result<MethodValue<K>>> => dispatch(opts, name, trusted, args);
}

test('the new methods are in the contract', () => {
  for (const name of ['resolveConflict', 'listSyncIssues'] as const) assert.ok(METHOD_NAMES.includes(name), name);
});

test('toPairDto: the new states, files not backed up by reason, the held paths, freshness; plain data', () => {
  const incomplete = toPairDto(
    pair({
      state: 'incomplete',
      stateDetail: { code: 'quota', message: '12 paths not on the server: quota (and 2 unreadable)', notSynced: { count: 12, byCode: { quota: 10, unreadable: 2 } } },
    }),
  );
  assert.deepEqual(incomplete, {
    id: 'p1',
    localPath: '/home/ann/Photos',
    remoteUri: 'cloudreve://my/Photos',
    mode: 'backup',
    ignore: [],
    excludeRemote: [],
    paused: false,
    state: 'incomplete',
    stateDetail: {
      code: 'quota',
      message: '12 paths not on the server: quota (and 2 unreadable)',
      pendingDeletes: null,
      paths: null,
      notSynced: { count: 12, byCode: { quota: 10, unreadable: 2 } },
    },
    lastScanAt: 1000,
    lastFullScanAt: 900,
    lastChangeAt: 950,
    confirmMirror: false,
    createdAt: 1,
  } satisfies PairDto);
  const held = toPairDto(
    pair({ mode: 'mirror', state: 'needs-confirmation', confirmMirror: true, stateDetail: { code: 'mirror-switch', message: 'held', pendingDeletes: 3, paths: ['a.txt', 'b/c.txt', 'd.txt'] } }),
  );
  assert.deepEqual(held.stateDetail, { code: 'mirror-switch', message: 'held', pendingDeletes: 3, paths: ['a.txt', 'b/c.txt', 'd.txt'], notSynced: null });
  assert.equal(held.confirmMirror, true);
  const gone = toPairDto(pair({ state: 'remote-missing', stateDetail: { code: 'remote-missing', message: 'cloudreve://my/Photos is gone' }, lastFullScanAt: null, lastChangeAt: null }));
  assert.equal(gone.state, 'remote-missing');
  assert.equal(gone.lastFullScanAt, null);
  assert.equal(gone.lastChangeAt, null);
  for (const dto of [incomplete, held, gone]) {
    assert.deepEqual(structuredClone(dto), dto);
    assert.deepEqual(JSON.parse(JSON.stringify(dto)), dto);
    assert.ok(!JSON.stringify(dto).includes('undefined'));
  }
  // copies, not the engine's own arrays and objects
  const p = pair({ state: 'needs-confirmation', stateDetail: { code: 'x', message: '', pendingDeletes: 1, paths: ['a'], notSynced: { count: 1, byCode: { failed: 1 } } } });
  const dto = toPairDto(p);
  assert.notEqual(dto.stateDetail?.paths, p.stateDetail?.paths);
  assert.notEqual(dto.stateDetail?.notSynced?.byCode, p.stateDetail?.notSynced?.byCode);
});

test('toConflictDto carries the reason code (and the English reason, for logs); toSyncIssueDto redacts the message', () => {
  assert.deepEqual(toConflictDto(conflict()), {
    id: 7,
    pairId: 'p1',
    relPath: 'notes/doc.txt',
    remoteUri: 'cloudreve://my/Photos/notes/doc.txt',
    conflictUri: 'cloudreve://my/Photos/notes/doc%20(conflict%202026-11-25%20161311%20vm).txt',
    reasonCode: 'changed-both',
    reason: 'changed here and on the server since our last upload',
    createdAt: 5,
  });
  const dto = toSyncIssueDto(issue());
  assert.deepEqual(Object.keys(dto).sort(), ['attempts', 'code', 'message', 'pairId', 'relPath', 'retryAt', 'since']);
  assert.equal(dto.code, 'quota');
  assert.equal(dto.retryAt, 5000);
  assert.ok(!dto.message.includes('secret'), dto.message);
  assert.equal(toSyncIssueDto(issue({ retryAt: null })).retryAt, null);
});

test('resolveConflict: keep-mine and keep-both reach the engine; keep-theirs comes back refused with its code; bad input is refused first', async () => {
  const state = { pairs: [pair()], conflicts: [conflict(), conflict({ id: 8, relPath: 'b.txt' })], issues: [] };
  const { engine, resolved } = fakeEngine(state);
  const call = caller(engine);
  assert.deepEqual(await call('resolveConflict', 7, 'keep-both'), { ok: true, value: toConflictDto(conflict()) });
  const theirs = await call('resolveConflict', 8, 'keep-theirs');
  assert.equal(theirs.ok, false);
  if (!theirs.ok) assert.deepEqual(theirs.error, { code: 'usage', message: 'keep theirs needs two-way sync', retryable: false });
  const mine = await call('resolveConflict', 8, 'keep-mine');
  assert.ok(mine.ok && mine.value.id === 8);
  const gone = await call('resolveConflict', 7, 'keep-mine');
  assert.ok(!gone.ok && gone.error.code === 'not-found');
  for (const args of [[], [0, 'keep-mine'], ['7', 'keep-mine'], [7], [7, 'keep-all'], [7, null], [1.5, 'keep-both']]) {
    const r = await call('resolveConflict', ...args);
    assert.ok(!r.ok && r.error.code === 'invalid-argument', JSON.stringify(args));
  }
  assert.deepEqual(resolved, [[7, 'keep-both'], [8, 'keep-theirs'], [8, 'keep-mine'], [7, 'keep-mine']]);
});

test('listSyncIssues: every pair, or one', async () => {
  const state = { pairs: [pair(), pair({ id: 'p2' })], conflicts: [], issues: [issue(), issue({ pairId: 'p2', relPath: 'x', code: 'unreadable', retryAt: null })] };
  const call = caller(fakeEngine(state).engine);
  const all = await call('listSyncIssues');
  assert.ok(all.ok);
  if (all.ok) assert.deepEqual(all.value, state.issues.map(toSyncIssueDto));
  const one = await call('listSyncIssues', 'p2');
  assert.ok(one.ok && one.value.length === 1 && one.value[0].code === 'unreadable');
  const bad = await call('listSyncIssues', 42);
  assert.ok(!bad.ok && bad.error.code === 'invalid-argument');
});

test('events: a resolved conflict goes out as conflict-resolved; a changed pair with its new data as pair-changed', async () => {
  const state = { pairs: [pair()], conflicts: [conflict()], issues: [] };
  const { engine, events } = fakeEngine(state);
  const sent: Array<{ name: EventName; payload: unknown }> = [];
  const stop = forwardEngineEvents(engine, (name, payload) => void sent.push({ name, payload }));
  try {
    await caller(engine)('resolveConflict', 7, 'keep-mine');
    const incomplete = pair({ state: 'incomplete', stateDetail: { code: 'quota', message: 'm', notSynced: { count: 3, byCode: { quota: 3 } } } });
    events.emit('pair-changed', incomplete);
    events.emit('sync-trashed', { pairId: 'p1', paths: ['old.txt'] }); // the audit trail is the log's, not the window's
    assert.deepEqual(sent, [
      { name: 'conflict-resolved', payload: { conflict: toConflictDto(conflict()), choice: 'keep-mine' } },
      { name: 'pair-changed', payload: toPairDto(incomplete) },
    ]);
    for (const s of sent) assert.deepEqual(structuredClone(s.payload), s.payload);
  } finally {
    stop();
  }
});
