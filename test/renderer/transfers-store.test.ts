import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransferDto, TransferStateDto } from '../../main/ipc/contract.js';
import { formatBytes, formatEta, formatSpeed, percentOf } from '../../renderer/state/format.js';
import {
  connectivityNotice,
  deriveOverall,
  initialTransfersState,
  reduceTransfers,
  rowActions,
  toQueueVm,
  toRowVm,
  type StoreAction,
  type TransfersState,
} from '../../renderer/state/transfers-store.js';

function dto(over: Partial<TransferDto> = {}): TransferDto {
  return {
    id: 'a',
    name: 'a.bin',
    localPath: '/x/a.bin',
    targetUri: 'cloudreve://my/a.bin',
    size: 1000,
    state: 'uploading',
    priority: 0,
    bytesDone: 0,
    speed: 0,
    eta: null,
    encrypted: false,
    error: null,
    createdAt: 10,
    updatedAt: 10,
    ...over,
  };
}

const run = (actions: StoreAction[], from: TransfersState = initialTransfersState) => actions.reduce(reduceTransfers, from);

test('added, progressed, state-changed, removed', () => {
  let s = run([{ type: 'transfer-added', payload: dto({ state: 'queued' }) }]);
  assert.deepEqual(s.order, ['a']);
  s = run([{ type: 'transfer-progressed', payload: { id: 'a', bytesDone: 500, speed: 250, eta: 2 } }], s);
  assert.equal(s.byId.a.bytesDone, 500);
  assert.equal(s.byId.a.speed, 250);
  s = run([{ type: 'transfer-state-changed', payload: { transfer: dto({ state: 'done', bytesDone: 1000 }), from: 'uploading' } }], s);
  assert.equal(s.byId.a.state, 'done');
  // late progress never un-finishes a transfer
  const late = run([{ type: 'transfer-progressed', payload: { id: 'a', bytesDone: 600, speed: 1, eta: 1 } }], s);
  assert.equal(late, s);
  // progress for an unknown transfer is ignored
  assert.equal(run([{ type: 'transfer-progressed', payload: { id: 'zz', bytesDone: 1, speed: 1, eta: 1 } }], s), s);
  s = run([{ type: 'transfer-removed', payload: { id: 'a' } }], s);
  assert.deepEqual(s.order, []);
  assert.deepEqual(s.byId, {});
});

test('reducer never mutates its input', () => {
  const s0 = run([{ type: 'transfer-added', payload: dto() }]);
  const frozen = JSON.stringify(s0);
  run(
    [
      { type: 'transfer-progressed', payload: { id: 'a', bytesDone: 5, speed: 1, eta: 1 } },
      { type: 'transfer-added', payload: dto({ id: 'b' }) },
      { type: 'transfer-removed', payload: { id: 'a' } },
      { type: 'overall-progressed', payload: { bytesDone: 1, bytesTotal: 2, speed: 0, eta: null, active: 0, queued: 0 } },
    ],
    s0,
  );
  assert.equal(JSON.stringify(s0), frozen);
});

test('rows are ordered by creation time, then id; a snapshot replaces everything', () => {
  let s = run([
    { type: 'transfer-added', payload: dto({ id: 'late', createdAt: 30 }) },
    { type: 'transfer-added', payload: dto({ id: 'b', createdAt: 20 }) },
    { type: 'transfer-added', payload: dto({ id: 'a', createdAt: 20 }) },
  ]);
  assert.deepEqual(s.order, ['a', 'b', 'late']);
  assert.equal(s.loaded, false);
  s = run([{ type: 'snapshot', transfers: [dto({ id: 'x' })] }], s);
  assert.deepEqual(s.order, ['x']);
  assert.equal(s.loaded, true);
});

test('signing out clears the queue; signing in keeps it until the next snapshot', () => {
  const s = run([{ type: 'snapshot', transfers: [dto()] }]);
  const account = { server: 's', email: 'e', userId: 'u', nickname: 'n', serverVersion: '4' };
  assert.equal(run([{ type: 'account-changed', payload: { account } }], s), s);
  assert.equal(run([{ type: 'account-changed', payload: { account: null } }], s), initialTransfersState);
});

test('row view model: percent, texts and available actions by state', () => {
  const row = toRowVm(dto({ bytesDone: 512 * 1024, size: 1024 * 1024, speed: 128 * 1024, eta: 4 }));
  assert.equal(row.percent, 50);
  assert.equal(row.percentText, '50%');
  assert.equal(row.bytesText, '512 KB of 1.0 MB');
  assert.equal(row.speedText, '128 KB/s');
  assert.equal(row.etaText, '4s left');
  assert.equal(row.stateLabel, 'Uploading');
  assert.equal(row.tone, 'active');
  assert.deepEqual(row.actions, ['pause', 'cancel']);

  assert.equal(toRowVm(dto({ state: 'done', bytesDone: 999 })).percent, 100);
  assert.equal(toRowVm(dto({ state: 'done' })).bytesText, '1000 B');
  assert.equal(toRowVm(dto({ state: 'paused', speed: 50, eta: 3 })).speedText, '', 'no speed when not running');
  assert.equal(toRowVm(dto({ state: 'failed', error: { code: 'quota', message: 'Quota exceeded' } })).errorText, 'Quota exceeded');
  assert.equal(toRowVm(dto({ size: 0 })).percent, 0);

  const table: Array<[TransferStateDto, string[]]> = [
    ['queued', ['pause', 'cancel']],
    ['preflight', ['pause', 'cancel']],
    ['creating-session', ['pause', 'cancel']],
    ['uploading', ['pause', 'cancel']],
    ['completing', ['cancel']],
    ['paused', ['resume', 'cancel']],
    ['waiting-retry', ['pause', 'cancel']],
    ['waiting-file', ['pause', 'cancel']],
    ['failed', ['retry']],
    ['done', []],
    ['skipped', []],
    ['cancelled', []],
  ];
  for (const [state, actions] of table) assert.deepEqual(rowActions(state), actions, state);
});

test('queue view model: overall from the engine when present, derived before that', () => {
  let s = run([
    { type: 'snapshot', transfers: [dto({ id: 'a', bytesDone: 250, speed: 100 }), dto({ id: 'b', state: 'queued', createdAt: 11 }), dto({ id: 'c', state: 'cancelled', createdAt: 12 })] },
  ]);
  let vm = toQueueVm(s);
  assert.deepEqual(deriveOverall(Object.values(s.byId)), { bytesDone: 250, bytesTotal: 2000, speed: 100, eta: 17.5, active: 1, queued: 1 });
  assert.equal(vm.overall.percentText, '12%');
  assert.equal(vm.overall.summary, 'Uploading 1 file');
  assert.equal(vm.overall.detail, '250 B of 2.0 KB · 100 B/s · 18s left');
  assert.ok(vm.canPauseAll);
  assert.ok(!vm.canResumeAll);
  assert.ok(vm.canClearFinished, 'a cancelled row can be cleared');

  s = run([{ type: 'overall-progressed', payload: { bytesDone: 1500, bytesTotal: 2000, speed: 500, eta: 1, active: 2, queued: 0 } }], s);
  vm = toQueueVm(s);
  assert.equal(vm.overall.percent, 75);
  assert.equal(vm.overall.summary, 'Uploading 2 files');

  const idle = toQueueVm(run([{ type: 'snapshot', transfers: [] }]));
  assert.equal(idle.overall.summary, 'Nothing to upload');
  assert.equal(idle.overall.busy, false);
  const finished = toQueueVm(run([{ type: 'snapshot', transfers: [dto({ state: 'done', bytesDone: 1000 })] }]));
  assert.equal(finished.overall.summary, 'All uploads finished');
  assert.equal(finished.overall.percent, 100);
  const withErrors = toQueueVm(run([{ type: 'snapshot', transfers: [dto({ state: 'failed' })] }]));
  assert.equal(withErrors.overall.summary, 'Finished with errors');
});

test('format helpers', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(150 * 1024 * 1024), '150 MB');
  assert.equal(formatBytes(-5), '0 B');
  assert.equal(formatSpeed(2048), '2.0 KB/s');
  assert.equal(formatEta(null), '');
  assert.equal(formatEta(Infinity), '');
  assert.equal(formatEta(4.2), '5s');
  assert.equal(formatEta(125), '2m 05s');
  assert.equal(formatEta(3720), '1h 02m');
  assert.equal(formatEta(500 * 3600), '21d');
  assert.equal(percentOf(999, 1000), 99);
  assert.equal(percentOf(2000, 1000), 100);
  assert.equal(percentOf(5, 0), 0);
});

test('connectivityNotice: offline with its reason and the next try; nothing while online', () => {
  const off = { online: false, reason: 'upload chunk 2: cannot reach h:5212: ECONNREFUSED', since: 0, nextProbeAt: 12_400 };
  assert.equal(
    connectivityNotice(off, 2_000),
    'Offline: upload chunk 2: cannot reach h:5212: ECONNREFUSED. Uploads wait and continue by themselves (next try in 10 s).',
  );
  assert.match(connectivityNotice({ ...off, nextProbeAt: null }, 2_000), /\(trying again now\)\.$/);
  assert.equal(connectivityNotice({ online: true, reason: null, since: null, nextProbeAt: null }, 2_000), '');
  assert.equal(reduceTransfers(initialTransfersState, { type: 'connectivity-changed', payload: off }), initialTransfersState);
});
