/** The reconcile decision as a table: (local, remote, record, mode) → action. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcile, type LocalEntry, type ReconcileMode, type RemoteEntry, type SyncAction, type SyncRecord } from '../../../main/engine/sync/reconcile.js';

const T = 1_700_000_000_123;
const file = (size = 10, mtimeMs = T + 0.25, inode = '7'): LocalEntry => ({ kind: 'file', size, mtimeMs, inode });
const dir: LocalEntry = { kind: 'folder', size: 0, mtimeMs: T, inode: '9' };
const remote = (over: Partial<RemoteEntry> = {}): RemoteEntry => ({
  kind: 'file', id: 'f1', size: 10, updatedAtMs: T, primaryEntity: 'E1', uploading: false, ...over,
});
const rdir = remote({ kind: 'folder', size: 0, primaryEntity: null });
const rec = (over: Partial<SyncRecord> = {}): SyncRecord => ({
  kind: 'file', size: 10, mtimeMs: T + 0.25, inode: '7', remoteId: 'f1', primaryEntity: 'E1', ...over,
});

type Row = [name: string, local: LocalEntry | null, remote: RemoteEntry | null, record: SyncRecord | null, backup: SyncAction['type'], mirror?: SyncAction['type'], twoWay?: SyncAction['type']];

const TABLE: Row[] = [
  // new things
  ['new local file', file(), null, null, 'upload', 'upload', 'upload'],
  ['new local folder', dir, null, null, 'create-folder'],
  ['same file already on the server (re-added pair)', file(), remote(), null, 'record'],
  ['same folder already on the server', dir, rdir, null, 'record'],
  ['different file of that name on the server, never ours', file(20), remote(), null, 'conflict', 'conflict', 'conflict-download'],
  // nothing changed
  ['unchanged everywhere', file(), remote(), rec(), 'skip'],
  ['folder known on both sides', dir, rdir, rec({ kind: 'folder' }), 'skip'],
  // local changes
  ['changed locally, server still ours → upload guarded by previous', file(20, T + 5000), remote(), rec(), 'upload'],
  ['touched (mtime only), server still ours', file(10, T + 5000), remote(), rec(), 'upload'],
  ['replaced by another file (new inode, same size and mtime)', file(10, T + 0.25, '8'), remote(), rec(), 'record'],
  // remote changes
  ['changed on the server only: theirs is kept, nothing sent (two-way: it comes down)', file(), remote({ primaryEntity: 'E2', size: 99, updatedAtMs: T + 9 }), rec(), 'skip', 'skip', 'download'],
  ['changed on both sides → conflict', file(20, T + 5000), remote({ primaryEntity: 'E2', size: 99, updatedAtMs: T + 9 }), rec(), 'conflict', 'conflict', 'conflict-download'],
  ['changed on both sides to the same content', file(99, T + 9), remote({ primaryEntity: 'E2', size: 99, updatedAtMs: T + 9 }), rec(), 'record'],
  ['deleted on the server, unchanged here → backed up again (two-way: to the local trash)', file(), null, rec(), 'upload', 'upload', 'trash-local'],
  ['deleted on the server, changed here', file(20, T + 5000), null, rec(), 'upload'],
  ['upload in progress on the server', file(), remote({ uploading: true, size: 0, primaryEntity: null }), null, 'skip'],
  ['upload in progress on the server, even when ours is gone locally', null, remote({ uploading: true }), rec(), 'skip'],
  // local deletions
  ['deleted locally, ours on the server', null, remote(), rec(), 'skip', 'delete-remote', 'delete-remote'],
  ['folder deleted locally', null, rdir, rec({ kind: 'folder' }), 'skip', 'delete-remote', 'delete-remote'],
  ['deleted locally, but changed on the server since (two-way: their edit comes down)', null, remote({ primaryEntity: 'E2' }), rec(), 'skip', 'forget', 'download'],
  ['deleted on both sides', null, null, rec(), 'forget'],
  ['only on the server, never ours (two-way: comes down)', null, remote(), null, 'skip', 'skip', 'download'],
  // kinds that do not match
  ['local file, remote folder', file(), rdir, null, 'error'],
  ['local folder, remote file', dir, remote(), null, 'error'],
  ['local folder, remote file, known', dir, remote(), rec({ kind: 'folder' }), 'error'],
  ['local file replaced by a folder, nothing on the server', dir, null, rec(), 'create-folder', 'create-folder', 'trash-local'],
  ['a folder only on the server', null, rdir, null, 'skip', 'skip', 'create-local-folder'],
  ['a folder deleted on the server, known here', dir, null, rec({ kind: 'folder' }), 'create-folder', 'create-folder', 'trash-local'],
];

for (const [name, local, rem, record, backup, mirror = backup, twoWay = mirror] of TABLE) {
  test(name, () => {
    const byMode: Record<ReconcileMode, SyncAction['type']> = { backup, mirror, 'two-way': twoWay };
    for (const mode of ['backup', 'mirror', 'two-way'] as const) {
      assert.equal(reconcile(local, rem, record, mode).type, byMode[mode], mode);
    }
  });
}

test('an upload over our last version carries that version as previous; a new one carries none', () => {
  assert.deepEqual(reconcile(file(20, T + 5000), remote(), rec(), 'backup'), { type: 'upload', reason: 'changed', previous: 'E1' });
  assert.deepEqual(reconcile(file(), null, null, 'backup'), { type: 'upload', reason: 'new', previous: null });
  assert.deepEqual(reconcile(file(), null, rec(), 'backup'), { type: 'upload', reason: 'missing-remote', previous: null });
});

test('backup never deletes or forgets a path whose local file is gone but whose remote is ours', () => {
  for (const r of [remote(), rdir]) {
    assert.equal(reconcile(null, r, rec({ kind: r.kind }), 'backup').type, 'skip');
  }
});

test('without an entity id, "ours" falls back to size and time', () => {
  const noEntity = rec({ primaryEntity: null });
  assert.equal(reconcile(null, remote(), noEntity, 'mirror').type, 'delete-remote');
  assert.equal(reconcile(null, remote({ size: 11 }), noEntity, 'mirror').type, 'forget');
});
