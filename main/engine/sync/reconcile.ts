/**
 * The decision per path, as a pure function: (local, remote, record, mode) → action.
 *
 * Local is the source of truth and is never touched. What we know of a path:
 * - local: what is on disk now (null: not there);
 * - remote: what the server lists now (null: not there);
 * - record: what we last uploaded or adopted (the journal's sync entry; null: never).
 *
 * "The same content" without a server-side hash means: same size and the server's updated_at equal to the local
 * mtime in whole milliseconds (we upload with last_modified = mtime, so it round-trips), or the remote's primary
 * entity equal to the one our last upload produced.
 *
 * Safety rules encoded here (see the table in test/engine/sync/reconcile.test.ts):
 * - backup never deletes anything; mirror only trashes a remote file we uploaded ourselves and that nobody
 *   changed since (its primary entity is still ours); the mass-delete guard (sync-pass.ts) sits on top.
 * - a remote change is never overwritten: a changed local file whose remote changed too is a conflict
 *   (both kept), and an upload over our last version carries `previous` so the server refuses if it moved on.
 * - a remote upload in progress (placeholder) is left alone until it settles.
 */

import type { SyncMode } from '../types.js';

/**
 * The modes reconcile decides for. `two-way` also brings the server's changes down (new and changed files
 * downloaded, server deletions to this computer's trash, guarded like mirror); its decisions are table-tested here
 * ahead of the download side (issue 17): pairs cannot be set to it yet.
 */
export type ReconcileMode = SyncMode | 'two-way';
export type EntryKind = 'file' | 'folder';

export interface LocalEntry {
  kind: EntryKind;
  size: number;
  mtimeMs: number;
  /** decimal string */
  inode: string;
}

export interface RemoteEntry {
  kind: EntryKind;
  id: string;
  size: number;
  /** ms since the epoch (the server's updated_at) */
  updatedAtMs: number;
  primaryEntity: string | null;
  /** a placeholder of an upload in progress (metadata sys:upload_session_id) */
  uploading: boolean;
}

export interface SyncRecord {
  kind: EntryKind;
  size: number;
  mtimeMs: number;
  inode: string;
  remoteId: string | null;
  /** the primary entity our upload produced (or the one we adopted) */
  primaryEntity: string | null;
}

export type SyncAction =
  | { type: 'skip'; reason?: string }
  /** upload the local file; `previous` guards an overwrite of the version we last uploaded */
  | { type: 'upload'; reason: 'new' | 'changed' | 'missing-remote'; previous: string | null }
  | { type: 'create-folder' }
  /** both sides hold the same thing already: write the record, transfer nothing */
  | { type: 'record' }
  /** both sides changed: upload ours under a conflict name, keep theirs */
  | { type: 'conflict'; reason: string }
  /** mirror only: move the remote file or folder to the server's trash */
  | { type: 'delete-remote' }
  /** drop the record (the path is gone on both sides, or the remote one is no longer ours) */
  | { type: 'forget' }
  /** two-way: bring the server's file down (new there, or changed there while ours stayed as recorded) */
  | { type: 'download'; reason: 'new' | 'changed' }
  /** two-way: a folder made on the server is made here */
  | { type: 'create-local-folder' }
  /** two-way: deleted on the server and unchanged here since our record: to this computer's trash (guarded) */
  | { type: 'trash-local' }
  /** two-way: changed on both sides: theirs comes down next to ours as a conflict copy, then ours goes up over it */
  | { type: 'conflict-download'; reason: string }
  /** a server-side move or rename of what we uploaded (a local rename or move; pair-sync.ts plans these) */
  | { type: 'move'; from: string }
  /** failed before for a reason of its own (sync_issues): not sent again until the file changes or the cause may be gone */
  | { type: 'wait'; reason: string }
  | { type: 'error'; code: 'type-clash'; reason: string };

/** Local and remote hold the same content, judged by size and time (no content hash exists in v4). */
export function sameContent(local: LocalEntry, remote: RemoteEntry): boolean {
  if (local.kind !== remote.kind) return false;
  if (local.kind === 'folder') return true;
  return local.size === remote.size && Math.abs(remote.updatedAtMs - Math.floor(local.mtimeMs)) < 1;
}

/** The local file is still what we recorded (same size, mtime and inode). */
export function unchangedSince(local: LocalEntry, record: SyncRecord): boolean {
  return local.kind === record.kind && (local.kind === 'folder' || (local.size === record.size && local.mtimeMs === record.mtimeMs && local.inode === record.inode));
}

/** The remote is still what our last upload (or adoption) left there. */
export function remoteIsOurs(remote: RemoteEntry, record: SyncRecord): boolean {
  if (remote.kind !== record.kind) return false;
  if (remote.kind === 'folder') return true;
  if (record.primaryEntity !== null && remote.primaryEntity !== null) return remote.primaryEntity === record.primaryEntity;
  return remote.size === record.size && Math.abs(remote.updatedAtMs - Math.floor(record.mtimeMs)) < 1;
}

export function reconcile(local: LocalEntry | null, remote: RemoteEntry | null, record: SyncRecord | null, mode: ReconcileMode): SyncAction {
  if (remote?.uploading) return { type: 'skip', reason: 'an upload to this path is in progress on the server' };
  if (mode === 'two-way') return reconcileTwoWay(local, remote, record);

  if (!local) {
    if (!record) return { type: 'skip' }; // only on the server: not ours to touch
    if (!remote) return { type: 'forget' };
    if (mode === 'backup') return { type: 'skip' }; // backup never deletes; the record stays for a file that comes back
    if (!remoteIsOurs(remote, record)) return { type: 'forget' }; // changed on the server since: keep it, it is theirs now
    return { type: 'delete-remote' };
  }

  if (local.kind === 'folder') {
    if (!remote) return { type: 'create-folder' };
    if (remote.kind !== 'folder') return { type: 'error', code: 'type-clash', reason: 'a file of the same name is on the server' };
    return record ? { type: 'skip' } : { type: 'record' };
  }

  // a local file
  if (remote && remote.kind === 'folder') return { type: 'error', code: 'type-clash', reason: 'a folder of the same name is on the server' };
  if (!remote) {
    if (!record) return { type: 'upload', reason: 'new', previous: null };
    return { type: 'upload', reason: unchangedSince(local, record) ? 'missing-remote' : 'changed', previous: null };
  }
  if (sameContent(local, remote)) {
    // identical already (a re-added pair, a restart after an upload whose answer was lost): nothing to send
    return record && unchangedSince(local, record) && remoteIsOurs(remote, record) ? { type: 'skip' } : { type: 'record' };
  }
  if (!record) return { type: 'conflict', reason: 'a different file of the same name is already on the server' };
  const ours = remoteIsOurs(remote, record);
  if (unchangedSince(local, record)) {
    // local is what we uploaded; if the server has a newer version, that one is theirs to keep
    return { type: 'skip', reason: ours ? undefined : 'changed on the server since our upload' };
  }
  if (!ours) return { type: 'conflict', reason: 'changed here and on the server since our last upload' };
  return { type: 'upload', reason: 'changed', previous: remote.primaryEntity };
}

/**
 * Two-way: each side's change goes to the other; a change on both sides keeps both; a deletion on one side is
 * carried out on the other only when the other side is still exactly what we recorded (an edit wins over a
 * deletion); local deletions of the server's changes never happen (the changed file comes down instead).
 */
function reconcileTwoWay(local: LocalEntry | null, remote: RemoteEntry | null, record: SyncRecord | null): SyncAction {
  if (!local) {
    if (!remote) return record ? { type: 'forget' } : { type: 'skip' };
    if (!record) return remote.kind === 'folder' ? { type: 'create-local-folder' } : { type: 'download', reason: 'new' };
    // deleted here since our record
    if (remote.kind !== record.kind) return { type: 'forget' };
    if (remoteIsOurs(remote, record)) return { type: 'delete-remote' };
    return remote.kind === 'folder' ? { type: 'create-local-folder' } : { type: 'download', reason: 'changed' }; // their edit wins over our deletion
  }
  if (local.kind === 'folder') {
    if (!remote) {
      if (!record) return { type: 'create-folder' };
      return { type: 'trash-local' }; // only when everything under it is unchanged (checked when carried out)
    }
    if (remote.kind !== 'folder') return { type: 'error', code: 'type-clash', reason: 'a file of the same name is on the server' };
    return record ? { type: 'skip' } : { type: 'record' };
  }
  if (remote && remote.kind === 'folder') return { type: 'error', code: 'type-clash', reason: 'a folder of the same name is on the server' };
  if (!remote) {
    if (!record) return { type: 'upload', reason: 'new', previous: null };
    // deleted on the server: to the trash here when ours is what we recorded, else our edit goes up again
    return unchangedSince(local, record) ? { type: 'trash-local' } : { type: 'upload', reason: 'changed', previous: null };
  }
  if (sameContent(local, remote)) {
    return record && unchangedSince(local, record) && remoteIsOurs(remote, record) ? { type: 'skip' } : { type: 'record' };
  }
  if (!record) return { type: 'conflict-download', reason: 'a different file of the same name is already on the server' };
  const ours = remoteIsOurs(remote, record);
  const same = unchangedSince(local, record);
  if (same && ours) return { type: 'skip' };
  if (same) return { type: 'download', reason: 'changed' };
  if (ours) return { type: 'upload', reason: 'changed', previous: remote.primaryEntity };
  return { type: 'conflict-download', reason: 'changed here and on the server since our last sync' };
}
