/**
 * A pass's plan, pure: every discovered path with its reconcile action, and the mass-delete guard over them.
 *
 * The guard is fail-closed: in mirror mode, when one pass would trash more than `maxDeletes` files, or at least
 * `minDeletesForRatio` files that are more than `maxDeleteRatio` of the pair, or anything at all while the local
 * folder looks empty, no deletion is made (every other action still goes ahead) and the pair waits for the
 * user to confirm. A confirmation covers exactly the number of deletions it was shown.
 */
import type { Discovery, PathState } from './discovery.js';
import { reconcile, type SyncAction, type SyncMode, type SyncRecord } from './reconcile.js';

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
  blocked: { code: 'mass-delete' | 'local-empty'; message: string; pendingDeletes: number } | null;
}

export interface PlanOptions {
  mode: SyncMode;
  records: ReadonlyMap<string, SyncRecord>;
  guard?: DeleteGuard;
  /** deletions the user confirmed (the pendingDeletes of the plan they saw); more than that is held back again */
  confirmedDeletes?: number;
  /** the pair's local folder holds nothing (ignored litter aside): an unmounted disk looks like this */
  rootEmpty: boolean;
  /** relative paths with an upload of ours still running: left alone this pass */
  busy?: ReadonlySet<string>;
}

/** Files recorded at `rel` or under it. */
function recordedFiles(records: ReadonlyMap<string, SyncRecord>, rel: string): number {
  let n = 0;
  const prefix = `${rel}/`;
  for (const [k, r] of records) if (r.kind === 'file' && (k === rel || k.startsWith(prefix))) n++;
  return n;
}

export function planPass(discovery: Discovery, opts: PlanOptions): SyncPlan {
  const guard = opts.guard ?? DEFAULT_GUARD;
  const items: PlannedPath[] = discovery.paths.map((path) => ({
    path,
    action: opts.busy?.has(path.rel) ? { type: 'skip', reason: 'an upload of it is still running' } : reconcile(path.local, path.remote, path.record, opts.mode),
  }));
  const deletes = items
    .filter((i) => i.action.type === 'delete-remote')
    .reduce((n, i) => n + (i.path.record?.kind === 'folder' ? Math.max(1, recordedFiles(opts.records, i.path.rel)) : 1), 0);
  let blocked: SyncPlan['blocked'] = null;
  if (deletes > 0) {
    let total = 0;
    for (const r of opts.records.values()) if (r.kind === 'file') total++;
    if (opts.rootEmpty) {
      blocked = { code: 'local-empty', message: 'the local folder is empty: held back every deletion (is a disk unmounted?)', pendingDeletes: deletes };
    } else if (deletes > guard.maxDeletes || (deletes >= guard.minDeletesForRatio && deletes > guard.maxDeleteRatio * total)) {
      blocked = { code: 'mass-delete', message: `this pass would move ${deletes} of ${total} files to the server's trash: confirm to go ahead`, pendingDeletes: deletes };
    }
    if (blocked && opts.confirmedDeletes !== undefined && deletes <= opts.confirmedDeletes) blocked = null;
    if (blocked) {
      for (const i of items) if (i.action.type === 'delete-remote') i.action = { type: 'skip', reason: 'deletion held back by the guard' };
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
