/**
 * Local renames and moves inside a pair, found in one pass's discovery (pure): a recorded path that is gone here
 * and a new path holding the same inode is the same file or folder under another name, so the server's copy is
 * renamed or moved too (spec §4.6) instead of being sent again and the old one trashed.
 *
 * A candidate is taken only when it is certain and safe:
 * - the gone path's server copy is still ours as recorded (a file: its primary entity; a folder: its id), so the
 *   move never carries someone else's newer version away;
 * - nothing is at the new path on the server;
 * - a file kept its size and mtime (a rename does not change them; an edit after it goes up as a change next pass);
 * - the inode matches exactly one new path (a hard link made meanwhile is left to the ordinary upload + the mode's
 *   rule) and a gone path with the file's size and time (a reused inode is not a move); backup mode keeps the
 *   records of a file's earlier names, so several may: the one recorded last is where the file was until now.
 * A folder's move carries everything under it: one request for the folder, not one per file. Case-only renames
 * (report.txt → Report.txt) are renames like any other; NFC/NFD-only renames keep their path (names are compared
 * in NFC) and need nothing at all.
 */
import type { PathState } from './discovery.js';
import { isUnderFolder } from './ignore-rules.js';
import { remoteIsOurs } from './reconcile.js';

export interface PlannedMove {
  from: PathState;
  to: PathState;
  kind: 'file' | 'folder';
}

/** When a record was last written (the journal's rows carry it; 0 when unknown). */
const recordedAt = (p: PathState): number => (p.record as { updatedAt?: number } | null)?.updatedAt ?? 0;

export function findMoves(paths: readonly PathState[]): PlannedMove[] {
  const gone = new Map<string, PathState[]>();
  const fresh = new Map<string, PathState[]>();
  const key = (kind: string, inode: string) => `${kind}:${inode}`;
  for (const p of paths) {
    if (p.record && !p.local && p.remote && !p.remote.uploading && p.record.inode !== '' && p.record.inode !== '0') {
      const ours = p.record.kind === 'folder' ? p.remote.kind === 'folder' && (p.record.remoteId === null || p.record.remoteId === p.remote.id) : remoteIsOurs(p.remote, p.record);
      if (!ours) continue;
      const k = key(p.record.kind, p.record.inode);
      gone.set(k, [...(gone.get(k) ?? []), p]);
    } else if (p.local && !p.record && !p.remote) {
      const k = key(p.local.kind, p.local.inode);
      fresh.set(k, [...(fresh.get(k) ?? []), p]);
    }
  }
  const out: PlannedMove[] = [];
  for (const [k, all] of gone) {
    const tos = fresh.get(k);
    if (!tos || tos.length !== 1) continue;
    const [to] = tos;
    const same = (p: PathState) => p.record!.kind !== 'file' || (p.record!.size === to.local!.size && p.record!.mtimeMs === to.local!.mtimeMs);
    // backup mode keeps the records of a file's earlier names (their server copies stay): of the gone paths holding
    // the inode, the one(s) still with the file's size and time; of several (all our copies of this very content),
    // the one recorded last, where the file was until now
    const froms = all.filter(same);
    if (froms.length === 0) continue;
    const from = froms.reduce((a, b) => (recordedAt(b) > recordedAt(a) ? b : a));
    if (isUnderFolder(to.rel, from.rel)) continue; // into itself: impossible locally, never asked of the server
    out.push({ from, to, kind: from.record!.kind });
  }
  // a move inside a folder that moves too is carried by the folder's move
  return out.filter((m) => !out.some((o) => o !== m && o.kind === 'folder' && (isUnderFolder(m.from.rel, o.from.rel) || isUnderFolder(m.to.rel, o.to.rel))));
}

/**
 * Two-way: the server renamed or moved what we have here (the same file id at a new path, nothing here at the new
 * path, ours at the old path still exactly as recorded): the local file or folder is renamed too, never downloaded
 * again and trashed. Matched by the server's id, once the records carry it.
 */
export function findRemoteMoves(paths: readonly PathState[]): PlannedMove[] {
  const gone = new Map<string, PathState[]>();
  const fresh = new Map<string, PathState[]>();
  for (const p of paths) {
    if (p.record && p.local && !p.remote && p.record.remoteId !== null && p.local.kind === p.record.kind) {
      const same = p.local.kind === 'folder' || (p.local.size === p.record.size && p.local.mtimeMs === p.record.mtimeMs && p.local.inode === p.record.inode);
      if (same) gone.set(p.record.remoteId, [...(gone.get(p.record.remoteId) ?? []), p]);
    } else if (p.remote && !p.local && !p.record && !p.remote.uploading) {
      fresh.set(p.remote.id, [...(fresh.get(p.remote.id) ?? []), p]);
    }
  }
  const out: PlannedMove[] = [];
  for (const [id, froms] of gone) {
    const tos = fresh.get(id);
    if (froms.length !== 1 || !tos || tos.length !== 1) continue;
    if (froms[0].record!.kind !== tos[0].remote!.kind) continue;
    if (isUnderFolder(tos[0].rel, froms[0].rel)) continue;
    out.push({ from: froms[0], to: tos[0], kind: froms[0].record!.kind });
  }
  return out.filter((m) => !out.some((o) => o !== m && o.kind === 'folder' && (isUnderFolder(m.from.rel, o.from.rel) || isUnderFolder(m.to.rel, o.to.rel))));
}
