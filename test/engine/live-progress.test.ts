/** Live progress (main/engine/transfer/live-progress.ts): events, snapshots while running and once stopped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedEmitter, type EngineEvents } from '../../main/engine/events.js';
import type { UploadRow } from '../../main/engine/journal/journal.js';
import { LiveProgress } from '../../main/engine/transfer/live-progress.js';

function row(over: Partial<UploadRow>): UploadRow {
  return {
    id: 't1', account: 'a', localPath: '/x/f.bin', targetUri: 'cloudreve://my/f.bin', size: 1000, mtimeMs: 0, inode: '1',
    ifExists: 'rename', priority: 0, state: 'queued', session: null, sessionUri: null, bytesDone: 0, error: null,
    attempts: 0, createdAt: 1, updatedAt: 1, ...over,
  };
}

function setup(intervalMs = 0) {
  const events = new TypedEmitter<EngineEvents>();
  const seen: Array<[string, unknown]> = [];
  for (const name of ['transfer-progressed', 'transfer-state-changed', 'overall-progressed'] as const) {
    events.on(name, (p) => seen.push([name, p]));
  }
  const totals = { bytesDone: 0, bytesTotal: 1000, active: 1, queued: 0 };
  const live = new LiveProgress(events, intervalMs, () => totals);
  return { live, seen, totals };
}

test('progress of a running transfer shows in its snapshot and goes out as events', () => {
  const { live, seen, totals } = setup();
  live.stateChanged(row({ state: 'uploading' }), 'queued');
  totals.bytesDone = 400;
  live.progressed('t1', 400);
  const snap = live.snapshot(row({ state: 'uploading', bytesDone: 0 }));
  assert.equal(snap.bytesDone, 400, 'the live count wins over the journal row while running');
  const progressed = seen.filter(([n]) => n === 'transfer-progressed').map(([, p]) => p as { id: string; bytesDone: number });
  assert.deepEqual(progressed.map((p) => [p.id, p.bytesDone]), [['t1', 400]]);
  const overall = seen.filter(([n]) => n === 'overall-progressed').at(-1)![1] as { bytesDone: number; bytesTotal: number };
  assert.deepEqual([overall.bytesDone, overall.bytesTotal], [400, 1000]);
});

test('once a transfer stops, the held-back progress goes out first and the journal row is the truth again', () => {
  const { live, seen } = setup(60_000); // nothing passes the throttle twice within the test
  live.stateChanged(row({ state: 'uploading' }), 'queued');
  live.progressed('t1', 100); // first one passes
  live.progressed('t1', 700); // held back
  assert.deepEqual(seen.filter(([n]) => n === 'transfer-progressed').length, 1);
  live.stateChanged(row({ state: 'paused', bytesDone: 512 }), 'uploading');
  const names = seen.map(([n]) => n).filter((n) => n !== 'overall-progressed');
  assert.deepEqual(names.slice(-2), ['transfer-progressed', 'transfer-state-changed'], 'last progress before the state change');
  const last = seen.filter(([n]) => n === 'transfer-progressed').at(-1)![1] as { bytesDone: number };
  assert.equal(last.bytesDone, 700);
  const snap = live.snapshot(row({ state: 'paused', bytesDone: 512 }));
  assert.equal(snap.bytesDone, 512);
  assert.equal(snap.speed, 0);
  assert.equal(snap.eta, null);
});

test('a forgotten transfer has no live state left', () => {
  const { live } = setup();
  live.stateChanged(row({ state: 'uploading' }), 'queued');
  live.progressed('t1', 300);
  live.forget('t1');
  assert.equal(live.snapshot(row({ state: 'uploading', bytesDone: 5 })).bytesDone, 5);
});
