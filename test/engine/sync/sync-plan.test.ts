/** The pass plan: actions per path and the fail-closed mass-delete guard; conflict names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Discovery, PathState } from '../../../main/engine/sync/discovery.js';
import type { SyncRecord } from '../../../main/engine/sync/reconcile.js';
import { conflictName, planPass } from '../../../main/engine/sync/sync-plan.js';

const T = 1_700_000_000_000;
const rec = (kind: 'file' | 'folder' = 'file'): SyncRecord => ({ kind, size: 1, mtimeMs: T, inode: '1', remoteId: 'r', primaryEntity: 'E' });

/** A pair with `total` recorded files of which the first `gone` were deleted locally (still ours remotely). */
function pairWithDeletions(total: number, gone: number): { discovery: Discovery; records: Map<string, SyncRecord> } {
  const records = new Map<string, SyncRecord>();
  const paths: PathState[] = [];
  for (let i = 0; i < total; i++) {
    const rel = `f${String(i).padStart(4, '0')}`;
    const record = rec();
    records.set(rel, record);
    const remote = { kind: 'file' as const, id: 'r', size: 1, updatedAtMs: T, primaryEntity: 'E', uploading: false };
    const local = i < gone ? null : { kind: 'file' as const, size: 1, mtimeMs: T, inode: '1' };
    paths.push({ rel, localPath: `/l/${rel}`, remoteUri: `cloudreve://my/r/${rel}`, local, remote, record });
  }
  return { discovery: { paths, problems: [], folders: [''], remoteRootMissing: false, unreadable: [], localCount: total - gone }, records };
}

const count = (plan: ReturnType<typeof planPass>, type: string) => plan.items.filter((i) => i.action.type === type).length;

test('a few deletions in mirror mode go ahead', () => {
  const { discovery, records } = pairWithDeletions(100, 5);
  const plan = planPass(discovery, { mode: 'mirror', records, rootEmpty: false });
  assert.equal(plan.blocked, null);
  assert.equal(plan.deletes, 5);
  assert.equal(count(plan, 'delete-remote'), 5);
});

test('backup mode plans no deletion at all', () => {
  const { discovery, records } = pairWithDeletions(100, 100);
  const plan = planPass(discovery, { mode: 'backup', records, rootEmpty: true });
  assert.equal(plan.deletes, 0);
  assert.equal(count(plan, 'delete-remote'), 0);
  assert.equal(plan.blocked, null);
});

const GUARD_TABLE: Array<[total: number, gone: number, blocked: string | null]> = [
  [100, 51, 'mass-delete'], // over 50 files
  [1000, 50, null], // 50 of 1000: fine
  [1000, 51, 'mass-delete'],
  [20, 9, null], // 45%, but fewer than 10 files
  [20, 10, 'mass-delete'], // 10 files and 50%
  [40, 10, null], // exactly 25%
  [40, 11, 'mass-delete'],
];
for (const [total, gone, expected] of GUARD_TABLE) {
  test(`guard: ${gone} of ${total} deleted → ${expected ?? 'allowed'}`, () => {
    const { discovery, records } = pairWithDeletions(total, gone);
    const plan = planPass(discovery, { mode: 'mirror', records, rootEmpty: false });
    assert.equal(plan.blocked?.code ?? null, expected);
    assert.equal(count(plan, 'delete-remote'), expected ? 0 : gone, 'held back: nothing deleted; allowed: all');
  });
}

test('an emptied (or unmounted) local folder holds back every deletion, even one', () => {
  const { discovery, records } = pairWithDeletions(3, 3);
  const plan = planPass(discovery, { mode: 'mirror', records, rootEmpty: true });
  assert.equal(plan.blocked?.code, 'local-empty');
  assert.equal(count(plan, 'delete-remote'), 0);
});

test('a confirmation covers the deletions it was shown, not more', () => {
  const { discovery, records } = pairWithDeletions(100, 60);
  assert.equal(planPass(discovery, { mode: 'mirror', records, rootEmpty: false, confirmedDeletes: 60 }).blocked, null);
  const more = pairWithDeletions(100, 70);
  assert.equal(planPass(more.discovery, { mode: 'mirror', records: more.records, rootEmpty: false, confirmedDeletes: 60 }).blocked?.pendingDeletes, 70);
});

test('a deleted folder counts the files recorded under it', () => {
  const records = new Map<string, SyncRecord>([['d', rec('folder')]]);
  for (let i = 0; i < 60; i++) records.set(`d/f${i}`, rec());
  records.set('keep', rec());
  const paths: PathState[] = [
    { rel: 'd', localPath: '/l/d', remoteUri: 'cloudreve://my/r/d', local: null, remote: { kind: 'folder', id: 'd', size: 0, updatedAtMs: T, primaryEntity: null, uploading: false }, record: rec('folder') },
  ];
  const plan = planPass({ paths, problems: [], folders: [''], remoteRootMissing: false, unreadable: [], localCount: 1 }, { mode: 'mirror', records, rootEmpty: false });
  assert.equal(plan.deletes, 60);
  assert.equal(plan.blocked?.code, 'mass-delete');
});

test('a path with our upload still running is left alone', () => {
  const { discovery, records } = pairWithDeletions(3, 1);
  const plan = planPass(discovery, { mode: 'mirror', records, rootEmpty: false, busy: new Set(['f0000']) });
  assert.equal(plan.items[0].action.type, 'skip');
});

test('conflict names keep the extension last and carry date, time and host', () => {
  const when = new Date(2026, 0, 2, 3, 4, 5);
  assert.equal(conflictName('report.docx', when, 'laptop'), 'report (conflict 2026-01-02 030405 laptop).docx');
  assert.equal(conflictName('archive.tar.gz', when, 'pc'), 'archive.tar (conflict 2026-01-02 030405 pc).gz');
  assert.equal(conflictName('.bashrc', when, 'pc'), '.bashrc (conflict 2026-01-02 030405 pc)');
  assert.equal(conflictName('Makefile', when, 'a:b'), 'Makefile (conflict 2026-01-02 030405 a-b)');
});

test('a folder deleted with its files counts its files once (not the folder and each file again); two-way says "the trash"', () => {
  const records = new Map<string, SyncRecord>();
  const paths: PathState[] = [];
  const remoteFile = { kind: 'file' as const, id: 'r', size: 1, updatedAtMs: T, primaryEntity: 'E', uploading: false };
  records.set('d', rec('folder'));
  paths.push({ rel: 'd', localPath: '/l/d', remoteUri: 'cloudreve://my/r/d', local: null, remote: { ...remoteFile, kind: 'folder' as const }, record: rec('folder') });
  for (let i = 0; i < 60; i++) {
    const rel = `d/f${i}`;
    records.set(rel, rec());
    paths.push({ rel, localPath: `/l/${rel}`, remoteUri: `cloudreve://my/r/${rel}`, local: null, remote: remoteFile, record: rec() });
  }
  for (let i = 0; i < 200; i++) {
    records.set(`k${i}`, rec());
    paths.push({ rel: `k${i}`, localPath: `/l/k${i}`, remoteUri: `cloudreve://my/r/k${i}`, local: { kind: 'file' as const, size: 1, mtimeMs: T, inode: '1' }, remote: remoteFile, record: rec() });
  }
  const discovery: Discovery = { paths, problems: [], folders: [''], remoteRootMissing: false, unreadable: [], localCount: 200 };
  const mirror = planPass(discovery, { mode: 'mirror', records, rootEmpty: false });
  assert.equal(mirror.deletes, 60);
  assert.equal(mirror.blocked?.code, 'mass-delete');
  assert.match(mirror.blocked!.message, /60 file\(s\) of the 260 recorded to the server's trash/);
  const twoWay = planPass(discovery, { mode: 'two-way', records, rootEmpty: false });
  assert.equal(twoWay.deletes, 60);
  assert.match(twoWay.blocked!.message, /60 file\(s\) of the 260 recorded to the trash \(here or on the server\)/);
});
