import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransferDto, TransferStateDto } from '../../main/ipc/contract.js';
import { createTranslator } from '../../renderer/i18n/translator.js';
import { transferDto } from './dto.js';
import {
  connectivityNotice,
  deriveOverall,
  percentOf,
  rowActions,
  toOverallVm,
  toRowVm,
  toToolbarVm,
  TransfersStore,
  type StoreAction,
} from '../../renderer/state/transfers-store.js';

const en = createTranslator('en');
const zh = createTranslator('zh-CN');

function dto(over: Partial<TransferDto> = {}): TransferDto {
  return transferDto({ id: 'a', name: 'a.bin', localPath: '/x/a.bin', targetUri: 'cloudreve://my/a.bin', size: 1000, createdAt: 10, updatedAt: 10, ...over });
}

function storeWith(actions: StoreAction[], store = new TransfersStore()): TransfersStore {
  for (const a of actions) store.apply(a);
  return store;
}

test('added, progressed, state-changed, removed', () => {
  const s = storeWith([{ type: 'transfer-added', payload: dto({ state: 'queued' }) }]);
  assert.deepEqual(s.ids(), ['a']);
  assert.equal(s.apply({ type: 'transfer-progressed', payload: { id: 'a', bytesDone: 500, speed: 250, eta: 2 } }), true);
  assert.equal(s.get('a')!.bytesDone, 500);
  assert.equal(s.get('a')!.speed, 250);
  // the same value again changes nothing (no redraw)
  const v = s.version;
  assert.equal(s.apply({ type: 'transfer-progressed', payload: { id: 'a', bytesDone: 500, speed: 250, eta: 2 } }), false);
  assert.equal(s.version, v);
  s.apply({ type: 'transfer-state-changed', payload: { transfer: dto({ state: 'done', bytesDone: 1000 }), from: 'uploading' } });
  assert.equal(s.get('a')!.state, 'done');
  // late progress never un-finishes a transfer; progress for an unknown transfer is ignored
  assert.equal(s.apply({ type: 'transfer-progressed', payload: { id: 'a', bytesDone: 600, speed: 1, eta: 1 } }), false);
  assert.equal(s.get('a')!.bytesDone, 1000);
  assert.equal(s.apply({ type: 'transfer-progressed', payload: { id: 'zz', bytesDone: 1, speed: 1, eta: 1 } }), false);
  s.apply({ type: 'transfer-removed', payload: { id: 'a' } });
  assert.deepEqual(s.ids(), []);
  assert.equal(s.size, 0);
  assert.equal(s.apply({ type: 'transfer-removed', payload: { id: 'a' } }), false);
});

test('the store takes the DTOs it is given and updates them in place (no copy per event)', () => {
  const given = dto();
  const s = storeWith([{ type: 'snapshot', transfers: [given] }]);
  s.apply({ type: 'transfer-progressed', payload: { id: 'a', bytesDone: 5, speed: 1, eta: 1 } });
  assert.equal(s.get('a'), given);
  assert.equal(given.bytesDone, 5);
});

test('progress updates in place: the display order is not rebuilt and no list is copied', () => {
  const s = storeWith([{ type: 'snapshot', transfers: Array.from({ length: 10_000 }, (_, i) => dto({ id: `t${i}`, createdAt: i })) }]);
  const order = s.ids();
  for (let i = 0; i < 1000; i++) s.apply({ type: 'transfer-progressed', payload: { id: `t${i % 50}`, bytesDone: i, speed: 1, eta: 1 } });
  assert.equal(s.ids(), order, 'the same array: progress never re-sorts');
  s.apply({ type: 'transfer-added', payload: dto({ id: 'new', createdAt: 99_999 }) });
  assert.notEqual(s.ids(), order);
  assert.equal(s.ids().at(-1), 'new');
});

test('rows are in run order: priority first, then creation time, then id; a snapshot replaces everything', () => {
  const s = storeWith([
    { type: 'transfer-added', payload: dto({ id: 'late', createdAt: 30 }) },
    { type: 'transfer-added', payload: dto({ id: 'b', createdAt: 20 }) },
    { type: 'transfer-added', payload: dto({ id: 'a', createdAt: 20 }) },
    { type: 'transfer-added', payload: dto({ id: 'urgent', createdAt: 40, priority: 5 }) },
  ]);
  assert.deepEqual(s.ids(), ['urgent', 'a', 'b', 'late']);
  assert.equal(s.loaded, false);
  assert.equal(s.topPriority(), 6);
  s.setPriority('late', s.topPriority());
  assert.deepEqual(s.ids(), ['late', 'urgent', 'a', 'b']);
  assert.equal(s.at(0)!.id, 'late');
  s.apply({ type: 'snapshot', transfers: [dto({ id: 'x' })] });
  assert.deepEqual(s.ids(), ['x']);
  assert.equal(s.loaded, true);
  assert.equal(s.topPriority(), 1);
});

test('signing out clears the queue; signing in keeps it until the next snapshot', () => {
  const s = storeWith([{ type: 'snapshot', transfers: [dto()] }]);
  const account = { server: 's', email: 'e', userId: 'u', nickname: 'n', serverVersion: '4' };
  assert.equal(s.apply({ type: 'account-changed', payload: { account } }), false);
  assert.equal(s.size, 1);
  s.apply({ type: 'account-changed', payload: { account: null } });
  assert.equal(s.size, 0);
  assert.equal(s.loaded, false);
});

test('per-state counts follow every change (the toolbar never scans the list)', () => {
  const s = storeWith([
    { type: 'snapshot', transfers: [dto({ id: 'a' }), dto({ id: 'b', state: 'paused' }), dto({ id: 'c', state: 'done' })] },
  ]);
  assert.deepEqual(toToolbarVm(s), { canPauseAll: true, canResumeAll: true, canClearFinished: true });
  s.apply({ type: 'transfer-state-changed', payload: { transfer: dto({ id: 'b', state: 'uploading' }), from: 'paused' } });
  s.apply({ type: 'transfer-removed', payload: { id: 'c' } });
  assert.equal(s.countOf('paused'), 0);
  assert.equal(s.countOf('uploading'), 2);
  assert.deepEqual(toToolbarVm(s), { canPauseAll: true, canResumeAll: false, canClearFinished: false });
});

test('row view model: percent, texts and available actions by state, in both languages', () => {
  const t = dto({ bytesDone: 512 * 1024, size: 1024 * 1024, speed: 128 * 1024, eta: 4 });
  const row = toRowVm(t, en);
  assert.equal(row.percent, 50);
  assert.equal(row.percentText, '50%');
  assert.equal(row.bytesText, '512 KB of 1.0 MB');
  assert.equal(row.speedText, '128 KB/s');
  assert.equal(row.etaText, '4s left');
  assert.equal(row.stateLabel, 'Uploading');
  assert.equal(row.tone, 'active');
  assert.deepEqual(row.actions, ['pause', 'cancel']);
  const zhRow = toRowVm(t, zh);
  assert.equal(zhRow.bytesText, '512 KB / 1.0 MB');
  assert.equal(zhRow.etaText, '剩余 4 秒');
  assert.equal(zhRow.stateLabel, '上传中');

  assert.equal(toRowVm(dto({ state: 'done', bytesDone: 999 }), en).percent, 100);
  assert.equal(toRowVm(dto({ state: 'done' }), en).bytesText, '1,000 B');
  assert.equal(toRowVm(dto({ state: 'paused', speed: 50, eta: 3 }), en).speedText, '', 'no speed when not running');
  assert.equal(toRowVm(dto({ state: 'failed', error: { code: 'quota', message: 'Quota exceeded' } }), en).errorText, 'Quota exceeded');
  assert.equal(toRowVm(dto({ state: 'waiting-retry', error: { code: 'network', message: 'cannot reach h' } }), en).errorText, 'cannot reach h');
  // a busy server: the reason and the next try
  const busy = dto({ state: 'waiting-retry', error: { code: 'http-status', message: 'HTTP 503' }, retryAt: 62_000 });
  assert.equal(toRowVm(busy, en, 50_000).errorText, 'HTTP 503 — next try in 12s');
  assert.equal(toRowVm(busy, zh, 50_000).errorText, 'HTTP 503 — 12 秒后重试');
  assert.equal(toRowVm({ ...busy, state: 'failed' }, en, 50_000).errorText, 'HTTP 503', 'no next try once failed');
  assert.equal(toRowVm(dto({ size: 0 }), en).percent, 0);

  const table: Array<[TransferStateDto, string[]]> = [
    ['queued', ['pause', 'top', 'cancel']],
    ['preflight', ['pause', 'cancel']],
    ['creating-session', ['pause', 'cancel']],
    ['uploading', ['pause', 'cancel']],
    ['completing', ['cancel']],
    ['paused', ['resume', 'top', 'cancel']],
    ['waiting-retry', ['pause', 'top', 'cancel']],
    ['waiting-file', ['pause', 'top', 'cancel']],
    ['failed', ['retry']],
    ['done', []],
    ['skipped', []],
    ['cancelled', []],
  ];
  for (const [state, actions] of table) assert.deepEqual(rowActions(state), actions, state);
});

test('overall view model: from the engine when present, derived before that', () => {
  const s = storeWith([
    { type: 'snapshot', transfers: [dto({ id: 'a', bytesDone: 250, speed: 100 }), dto({ id: 'b', state: 'queued', createdAt: 11 }), dto({ id: 'c', state: 'cancelled', createdAt: 12 })] },
  ]);
  assert.deepEqual(deriveOverall(s.list()), { bytesDone: 250, bytesTotal: 2000, speed: 100, eta: 17.5, active: 1, queued: 1 });
  let vm = toOverallVm(s, en);
  assert.equal(vm.percentText, '12%');
  assert.equal(vm.summary, 'Uploading 1 file');
  assert.equal(vm.detail, '250 B of 2.0 KB · 100 B/s · 18s left');
  assert.equal(toOverallVm(s, zh).summary, '正在上传 1 个文件');

  s.apply({ type: 'overall-progressed', payload: { bytesDone: 1500, bytesTotal: 2000, speed: 500, eta: 1, active: 2, queued: 0 } });
  vm = toOverallVm(s, en);
  assert.equal(vm.percent, 75, 'bytes from the engine while something runs');
  assert.equal(vm.summary, 'Uploading 1 file', 'what runs from the store, not from a throttled aggregate');
  // the engine's last aggregate said something was running; the store knows better once it finished
  s.apply({ type: 'transfer-state-changed', payload: { transfer: dto({ id: 'a', state: 'done', bytesDone: 1000 }), from: 'uploading' } });
  s.apply({ type: 'transfer-state-changed', payload: { transfer: dto({ id: 'b', state: 'done', bytesDone: 1000, createdAt: 11 }), from: 'uploading' } });
  vm = toOverallVm(s, en);
  assert.equal(vm.summary, 'All uploads finished');
  assert.equal(vm.percent, 100);
  assert.equal(vm.busy, false);

  const table: Array<[TransferDto[], string]> = [
    [[], 'Nothing to upload'],
    [[dto({ state: 'done', bytesDone: 1000 })], 'All uploads finished'],
    [[dto({ state: 'failed' })], 'Finished with errors'],
    [[dto({ state: 'paused' })], 'Paused'],
    [[dto({ state: 'queued' }), dto({ id: 'b', state: 'queued' })], '2 waiting'],
  ];
  for (const [transfers, summary] of table) assert.equal(toOverallVm(storeWith([{ type: 'snapshot', transfers }]), en).summary, summary);
  assert.equal(toOverallVm(storeWith([{ type: 'snapshot', transfers: [] }]), en).busy, false);
});

test('percentOf never reaches 100 before the last byte', () => {
  const table: Array<[number, number, number]> = [
    [999, 1000, 99],
    [1000, 1000, 100],
    [2000, 1000, 100],
    [5, 0, 0],
    [-5, 10, 0],
  ];
  for (const [done, total, p] of table) assert.equal(percentOf(done, total), p, `${done}/${total}`);
});

test('connectivityNotice: offline with its reason and the next try; nothing while online', () => {
  const off = { online: false, reason: 'upload chunk 2: cannot reach h:5212: ECONNREFUSED', since: 0, nextProbeAt: 12_400 };
  assert.equal(
    connectivityNotice(off, 2_000, en),
    'Offline: upload chunk 2: cannot reach h:5212: ECONNREFUSED. Uploads and downloads wait and continue by themselves (next try in 10 s).',
  );
  assert.match(connectivityNotice({ ...off, nextProbeAt: null }, 2_000, en), /\(trying again now\)\.$/);
  assert.equal(connectivityNotice({ ...off, reason: null, nextProbeAt: null }, 2_000, zh), '离线：无法连接到服务器。上传和下载会等待，并在恢复后自动继续（正在重试）。');
  assert.equal(connectivityNotice({ online: true, reason: null, since: null, nextProbeAt: null }, 2_000, en), '');
  const s = new TransfersStore();
  assert.equal(s.apply({ type: 'connectivity-changed', payload: off }), false);
});

test('the running totals equal the aggregate recomputed from scratch, after any sequence of events', () => {
  const states: TransferStateDto[] = ['queued', 'uploading', 'paused', 'done', 'failed', 'cancelled', 'skipped', 'waiting-retry', 'completing', 'downloading', 'conflict'];
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const s = new TransfersStore();
  s.apply({ type: 'snapshot', transfers: Array.from({ length: 50 }, (_, i) => dto({ id: `t${i}`, size: 1000 + i, state: states[i % states.length], bytesDone: i * 10, speed: i })) });
  for (let step = 0; step < 5000; step++) {
    const id = `t${rnd(60)}`;
    switch (rnd(4)) {
      case 0:
        s.apply({ type: 'transfer-progressed', payload: { id, bytesDone: rnd(2000), speed: rnd(500), eta: rnd(10) } });
        break;
      case 1:
        s.apply({ type: 'transfer-state-changed', payload: { transfer: dto({ id, size: 1000 + rnd(50), state: states[rnd(states.length)], bytesDone: rnd(1500), speed: rnd(300) }), from: 'queued' } });
        break;
      case 2:
        s.apply({ type: 'transfer-removed', payload: { id } });
        break;
      default:
        s.apply({ type: 'transfer-added', payload: dto({ id, size: rnd(5000), state: states[rnd(states.length)], bytesDone: rnd(100), speed: rnd(100) }) });
    }
    if (step % 97 === 0 || step === 4999) {
      const want = deriveOverall(s.list());
      const got = s.derivedOverall();
      assert.deepEqual({ ...got, speed: Math.round(got.speed), eta: got.eta === null ? null : Math.round(got.eta) }, { ...want, speed: Math.round(want.speed), eta: want.eta === null ? null : Math.round(want.eta) }, `step ${step}`);
    }
  }
});

test('downloads are rows of the same queue: direction (arrow and word, both languages), states, buttons, order, counts', () => {
  const down = (over: Partial<TransferDto> = {}): TransferDto =>
    dto({ id: 'd', direction: 'download', name: 'report.pdf', localPath: '/home/ann/report.pdf', targetUri: 'cloudreve://my/Docs/report.pdf', ...over });
  // a row: ↓ and the word, in either language; the title reads server → here
  const vm = toRowVm(down({ state: 'downloading', bytesDone: 400, speed: 200, eta: 3 }), en);
  assert.equal(vm.direction, 'download');
  assert.equal(vm.directionIcon, '↓');
  assert.equal(vm.directionLabel, 'Download');
  assert.equal(vm.stateLabel, 'Downloading');
  assert.equal(vm.tone, 'active');
  assert.equal(vm.percentText, '40%');
  assert.equal(vm.speedText, '200 B/s');
  assert.equal(vm.etaText, '3s left');
  assert.deepEqual(vm.actions, ['pause', 'cancel']);
  const zhVm = toRowVm(down({ state: 'downloading' }), zh);
  assert.equal(zhVm.directionLabel, '下载');
  assert.equal(zhVm.stateLabel, '下载中');
  const up = toRowVm(dto({ state: 'uploading' }), en);
  assert.deepEqual([up.direction, up.directionIcon, up.directionLabel], ['upload', '↑', 'Upload']);
  assert.equal(toRowVm(dto({ state: 'uploading' }), zh).directionLabel, '上传');
  // a conflict copy: finished, complete, says where the server's version went
  const conflict = toRowVm(down({ state: 'conflict', bytesDone: 1000, name: 'report (conflict 2026-01-02 030405 server).pdf' }), en);
  assert.equal(conflict.tone, 'done');
  assert.equal(conflict.percent, 100);
  assert.deepEqual(conflict.actions, []);
  assert.equal(conflict.stateLabel, 'Kept as a conflict copy');
  assert.match(conflict.errorText, /server’s version is kept beside it as report \(conflict 2026-01-02 030405 server\)\.pdf/);
  assert.equal(toRowVm(down({ state: 'conflict' }), zh).stateLabel, '已存为冲突副本');
  // offline or a busy server: waiting with the reason and the next try; failed: the reason and Retry
  assert.equal(toRowVm(down({ state: 'waiting-retry', error: { code: 'network', message: 'cannot reach h' }, retryAt: 62_000 }), en, 50_000).errorText, 'cannot reach h — next try in 12s');
  const failed = toRowVm(down({ state: 'failed', error: { code: 'local-io', message: 'not enough free space on the disk' } }), en);
  assert.equal(failed.errorText, 'not enough free space on the disk');
  assert.deepEqual(failed.actions, ['retry']);
  assert.deepEqual(toRowVm(down({ state: 'paused' }), en).actions, ['resume', 'top', 'cancel']);
  assert.deepEqual(toRowVm(down({ state: 'queued' }), en).actions, ['pause', 'top', 'cancel']);

  // one list, one order (priority, then age) across both directions; moved to the top above either kind
  const s = storeWith([
    {
      type: 'snapshot',
      transfers: [dto({ id: 'u1', state: 'queued', createdAt: 1 }), down({ id: 'd1', state: 'queued', createdAt: 2 }), dto({ id: 'u2', state: 'queued', createdAt: 3 })],
    },
  ]);
  assert.deepEqual(s.ids(), ['u1', 'd1', 'u2']);
  assert.equal(s.downloadCount, 1);
  s.setPriority('d1', s.topPriority());
  assert.deepEqual(s.ids(), ['d1', 'u1', 'u2']);
  // a download arrives by transfer-state-changed (no transfer-added): upserted
  s.apply({ type: 'transfer-state-changed', payload: { transfer: down({ id: 'd2', state: 'downloading', bytesDone: 500, speed: 100, createdAt: 4 }), from: 'queued' } });
  assert.equal(s.downloadCount, 2);
  assert.equal(s.size, 4);
  // the overall line: a download runs, so the store's figures (both directions), not the engine's upload aggregate
  s.apply({ type: 'overall-progressed', payload: { bytesDone: 0, bytesTotal: 3000, speed: 0, eta: null, active: 0, queued: 2 } });
  const o = toOverallVm(s, en);
  assert.equal(o.summary, 'Downloading 1 file');
  assert.equal(o.detail, '500 B of 3.9 KB · 100 B/s · 35s left');
  s.apply({ type: 'transfer-state-changed', payload: { transfer: dto({ id: 'u1', state: 'uploading', speed: 50, createdAt: 1 }), from: 'queued' } });
  assert.equal(toOverallVm(s, en).summary, 'Transferring 2 files');
  assert.equal(toOverallVm(s, zh).summary, '正在传输 2 个文件');
  // a conflict copy counts as finished: Clear finished is offered; removal keeps the download count right
  s.apply({ type: 'transfer-state-changed', payload: { transfer: down({ id: 'd2', state: 'conflict', bytesDone: 1000, createdAt: 4 }), from: 'downloading' } });
  assert.equal(toToolbarVm(s).canClearFinished, true);
  s.apply({ type: 'transfer-removed', payload: { id: 'd2' } });
  assert.equal(s.downloadCount, 1);
  assert.equal(toOverallVm(storeWith([{ type: 'snapshot', transfers: [dto({ state: 'done' }), down({ state: 'conflict' })] }]), en).summary, 'All transfers finished');
  assert.equal(toOverallVm(storeWith([{ type: 'snapshot', transfers: [down({ state: 'done' })] }]), zh).summary, '全部传输完成');
  s.apply({ type: 'snapshot', transfers: [] });
  assert.equal(s.downloadCount, 0);
});
