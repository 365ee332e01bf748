/**
 * A pass's plan, pure: every discovered path with its reconcile action, and the mass-delete guard over them.
 *
 * The guard is fail-closed: in mirror mode, when one pass would trash more than `maxDeletes` files, or at least
 * `minDeletesForRatio` files that are more than `maxDeleteRatio` of the pair, or anything at all while the local
 * folder looks empty, no deletion is made (every other action still goes ahead) and the pair waits for the
 * user to confirm. A confirmation covers exactly the number of deletions it was shown.
 */
import type { SyncIssue } from '../types.js';
import type { Discovery, PathState } from './discovery.js';
import { reconcile, type ReconcileMode, type SyncAction, type SyncRecord } from './reconcile.js';

export interface DeleteGuard {
  maxDeletes: number;
  maxDeleteRatio: number;
  minDeletesForRatio: number;
}

export const DEFAULT_GUARD: DeleteGuard = { maxDeletes: 50, maxDeleteRatio: 0.25, minDeletesForRatio: 10 };

export interface PlannedPath {
  path: PathState;
  action: SyncAction;
}

export interface SyncPlan {
  items: PlannedPath[];
  /** files the planned deletions would trash (a folder counts the files recorded under it) */
  deletes: number;
  /** set when the guard held the deletions back */
  blocked: { code: 'mass-delete' | 'local-empty' | 'mirror-switch' | 'remote-gone'; message: string; pendingDeletes: number; paths: string[] } | null;
}

export interface PlanOptions {
  mode: ReconcileMode;
  records: ReadonlyMap<string, SyncRecord>;
  guard?: DeleteGuard;
  /** deletions the user confirmed (the pendingDeletes of the plan they saw); more than that is held back again */
  confirmedDeletes?: number;
  /** the pair's local folder holds nothing (ignored litter aside): an unmounted disk looks like this */
  rootEmpty: boolean;
  /** relative paths with an upload of ours still running: left alone this pass */
  busy?: ReadonlySet<string>;
  /** the pair just became a mirror: every deletion waits for the user's confirmation of the list */
  confirmEvery?: boolean;
  /** paths that failed before (sync_issues): a failed file is not sent again until it changes or its cause may be gone */
  issues?: ReadonlyMap<string, SyncIssue>;
  now?: number;
  /** the account's free space now (only looked up when a file waits on a full quota) */
  freeSpace?: number | null;
  /**
   * two-way: the pair's folder on the server is gone or emptied while we have records (a server reset, a wrong account,
   * the folder deleted on the web page): nothing here is touched or sent until the user confirms
   */
  remoteGone?: boolean;
}

const destructive = (t: SyncAction['type']): boolean => t === 'delete-remote' || t === 'trash-local';

/** How many paths a blocked plan lists (the count is always whole). */
const LISTED_PATHS = 200;

/** A failed file waits when it is as it was when it failed, its retry time has not come and its cause stays. */
export function waitingIssue(path: PathState, issue: SyncIssue | undefined, now: number, freeSpace: number | null | undefined): SyncIssue | null {
  if (!issue || issue.size === null || !path.local || path.local.kind !== 'file') return null;
  if (path.local.size !== issue.size || path.local.mtimeMs !== issue.mtimeMs) return null; // changed: try at once
  if (issue.retryAt === null || issue.retryAt <= now) return null;
  if (issue.code === 'quota' && freeSpace != null && issue.freeAtFailure !== null && freeSpace > issue.freeAtFailure) return null; // space was freed
  return issue;
}

const when = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);

/** Files recorded at `rel` or under it. */
function recordedFiles(records: ReadonlyMap<string, SyncRecord>, rel: string): number {
  let n = 0;
  const prefix = `${rel}/`;
  for (const [k, r] of records) if (r.kind === 'file' && (k === rel || k.startsWith(prefix))) n++;
  return n;
}

/** Why a path is left alone by a pass: an upload of it was running at some moment of the pass (it is ours). */
export const UPLOAD_RUNNING = 'an upload of it is still running';

export function planPass(discovery: Discovery, opts: PlanOptions): SyncPlan {
  const guard = opts.guard ?? DEFAULT_GUARD;
  const now = opts.now ?? Date.now();
  const items: PlannedPath[] = discovery.paths.map((path) => {
    if (opts.busy?.has(path.rel)) return { path, action: { type: 'skip', reason: UPLOAD_RUNNING } };
    const action = reconcile(path.local, path.remote, path.record, opts.mode);
    if (action.type === 'upload' || action.type === 'conflict') {
      const waiting = waitingIssue(path, opts.issues?.get(path.rel), now, opts.freeSpace);
      if (waiting) {
        const cause = waiting.code === 'quota' ? 'or when the free space grows' : 'or when the file changes';
        return { path, action: { type: 'wait', reason: `not on the server: ${waiting.message}; tried again at ${when(waiting.retryAt!)} ${cause}` } };
      }
    }
    return { path, action };
  });
  // a folder counts the files recorded under it, so what lies under a folder that goes too is not counted again
  const doomed = items.filter((i) => destructive(i.action.type));
  const doomedFolders = new Set(doomed.filter((i) => i.path.record?.kind === 'folder').map((i) => i.path.rel));
  const underDoomed = (rel: string): boolean => {
    for (let k = rel.lastIndexOf('/'); k > 0; k = rel.lastIndexOf('/', k - 1)) if (doomedFolders.has(rel.slice(0, k))) return true;
    return false;
  };
  const deletes = doomed
    .filter((i) => !underDoomed(i.path.rel))
    .reduce((n, i) => n + (i.path.record?.kind === 'folder' ? Math.max(1, recordedFiles(opts.records, i.path.rel)) : 1), 0);
  let blocked: SyncPlan['blocked'] = null;
  if (opts.remoteGone && opts.mode === 'two-way') {
    const paths = items.filter((i) => destructive(i.action.type)).map((i) => i.path.rel).slice(0, LISTED_PATHS);
    blocked = {
      code: 'remote-gone',
      message: `the pair's folder on the server is gone or emptied: nothing here is moved to the trash or sent until you confirm (${deletes} local file(s) would go to this computer's trash)`,
      pendingDeletes: deletes,
      paths,
    };
    if (opts.confirmedDeletes !== undefined && deletes <= opts.confirmedDeletes) blocked = null;
    if (blocked) {
      for (const i of items) {
        if (destructive(i.action.type) || i.action.type === 'upload') i.action = { type: 'skip', reason: 'deletion held back by the guard' };
      }
    }
    return { items, deletes, blocked };
  }
  if (deletes > 0) {
    let total = 0;
    for (const r of opts.records.values()) if (r.kind === 'file') total++;
    const paths = items.filter((i) => destructive(i.action.type)).map((i) => i.path.rel).slice(0, LISTED_PATHS);
    if (opts.rootEmpty) {
      blocked = { code: 'local-empty', message: 'the local folder is empty: held back every deletion (is a disk unmounted?)', pendingDeletes: deletes, paths };
    } else if (opts.confirmEvery) {
      blocked = {
        code: 'mirror-switch',
        message: `the pair became a mirror: its first pass would move ${deletes} file(s) deleted here while it was a backup to the server's trash: confirm to go ahead`,
        pendingDeletes: deletes,
        paths,
      };
    } else if (deletes > guard.maxDeletes || (deletes >= guard.minDeletesForRatio && deletes > guard.maxDeleteRatio * total)) {
      const where = opts.mode === 'two-way' ? 'the trash (here or on the server)' : "the server's trash";
      blocked = { code: 'mass-delete', message: `this pass would move ${deletes} file(s) of the ${total} recorded to ${where}: confirm to go ahead`, pendingDeletes: deletes, paths };
    }
    if (blocked && opts.confirmedDeletes !== undefined && deletes <= opts.confirmedDeletes) blocked = null;
    if (blocked) {
      for (const i of items) if (destructive(i.action.type)) i.action = { type: 'skip', reason: 'deletion held back by the guard' };
    }
  }
  return { items, deletes, blocked };
}

/** `name (conflict YYYY-MM-DD HHMMSS host).ext`, local time; the extension stays last so the file still opens. */
export function conflictName(name: string, when: Date, host: string): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${when.getFullYear()}-${p(when.getMonth() + 1)}-${p(when.getDate())} ${p(when.getHours())}${p(when.getMinutes())}${p(when.getSeconds())}`;
  const safeHost = host.replace(/[\\/:*?"<>|]/g, '-').slice(0, 40) || 'host';
  const tag = ` (conflict ${stamp} ${safeHost})`;
  const i = name.lastIndexOf('.');
  return i <= 0 ? `${name}${tag}` : `${name.slice(0, i)}${tag}${name.slice(i)}`;
}
