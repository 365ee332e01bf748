/**
 * setExcludedFolders over the contract (the window's tick boxes, the browser UI, `pairs exclude|include` through the
 * control socket): validated, handed to engine.sync, answered with the pair (excludeRemote in the DTO); the folders
 * in addPair's spec and previewSync's too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Engine } from '../../main/engine/index.js';
import { TypedEmitter, type EngineEvents } from '../../main/engine/events.js';
import type { SyncPair } from '../../main/engine/types.js';
import { METHOD_NAMES, type MethodName, type MethodValue, type Result } from '../../main/ipc/contract.js';
import { createHandlers, dispatch, type SettingsPort } from '../../main/ipc/server.js';
import { normalizeExcluded } from '../../main/engine/sync/ignore-rules.js';

const base: SyncPair = {
  id: 'p1', account: 'a', localPath: '/home/ann/Photos', remoteUri: 'cloudreve://my/Photos', mode: 'two-way', ignore: [], excludeRemote: [],
  paused: false, watched: true, state: 'idle', stateDetail: null, lastScanAt: null, lastScanMs: null, lastFullScanAt: null, lastChangeAt: null,
  confirmMirror: false, createdAt: 1, updatedAt: 2,
};

function setup() {
  let pair = { ...base };
  const calls: unknown[][] = [];
  const sync: Partial<Engine['sync']> = {
    pair: (id) => (id === pair.id ? pair : null),
    listPairs: () => [pair],
    setExcludedFolders: (id, folders) => {
      calls.push(['setExcludedFolders', id, folders]);
      pair = { ...pair, excludeRemote: normalizeExcluded(folders) };
      return pair;
    },
    addPair: (spec) => {
      calls.push(['addPair', spec]);
      return { ...base, id: 'p2', excludeRemote: normalizeExcluded(spec.excludeRemote ?? []) };
    },
  };
  const engine = { events: new TypedEmitter<EngineEvents>(), account: () => null, sync: sync as Engine['sync'] } as unknown as Engine;
  const settings: SettingsPort = { get: () => { throw new Error('no settings here'); }, update: async () => { throw new Error('no settings here'); } };
  const opts = { handlers: createHandlers({ engine, settings, app: { mode: 'desktop', version: '1' } }), isTrustedSender: () => true };
  const call = <K extends MethodName>(name: K, ...args: unknown[]): Promise<Result<MethodValue<K>>> => dispatch(opts, name, { sender: null, senderFrame: null }, args);
  return { call, calls };
}

test('setExcludedFolders: in the contract, validated, answered with the pair', async () => {
  assert.ok(METHOD_NAMES.includes('setExcludedFolders'));
  const { call, calls } = setup();
  const r = await call('setExcludedFolders', 'p1', ['/Videos/', 'a/b']);
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value.excludeRemote, ['Videos', 'a/b']);
  assert.deepEqual(calls, [['setExcludedFolders', 'p1', ['/Videos/', 'a/b']]]);
  for (const bad of [[], ['p1', 'Videos'], ['p1', [1]], ['nope', []]]) {
    const e = await call('setExcludedFolders', ...bad);
    assert.equal(e.ok, false, JSON.stringify(bad));
    if (!e.ok) assert.equal(e.error.code, 'invalid-argument', JSON.stringify(e.error));
  }
  assert.equal(calls.length, 1, 'nothing invalid reached the engine');
});

test('addPair takes excludeRemote; an engine refusal (the root) comes back as a usage error', async () => {
  const { call, calls } = setup();
  const r = await call('addPair', { localPath: '/home/ann/Docs', remoteUri: 'cloudreve://my/Docs', mode: 'backup', excludeRemote: ['old'] });
  assert.ok(r.ok && r.value.excludeRemote[0] === 'old', JSON.stringify(r));
  assert.deepEqual((calls[0][1] as { excludeRemote: string[] }).excludeRemote, ['old']);
  const root = await call('setExcludedFolders', 'p1', ['/']);
  assert.equal(root.ok, false);
  if (!root.ok) assert.equal(root.error.code, 'usage');
});
