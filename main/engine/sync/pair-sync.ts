/**
 * One pass of one pair: check the local folder is there, discover, carry out local renames and moves as moves on
 * the server (moves.ts; then look again), plan, then carry the plan out — folders created, identical files
 * recorded, uploads queued on the engine's transfer queue, remote deletions (mirror, guarded) moved to the server's
 * trash. The client never writes, moves or deletes a local file.
 *
 * A pass owns its outcome:
 * - with `waitUploads` (a one-off `sync`, a confirmation) it waits for the uploads it queued and reports what each
 *   became: uploaded, failed (with its reason), conflict kept, or waiting (paused);
 * - every path that is not on the server afterwards is on the pair's list (sync_issues) with a reason code: what
 *   discovery could not sync (names, special or unreadable files) here, what failed to upload in the tracker;
 * - a file that failed for a reason of its own waits (action 'wait') until it changes or its cause may have gone;
 * - mirror deletions run only after the pass's uploads ended, and one that an upload replaces (a rename we could
 *   not carry out as a move) only once that upload is on the server: the trash never holds the only complete copy.
 */
import { lstatSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import type { CloudreveClient } from '../api/client.js';
import type { FileResponse } from '../api/types.js';
import { baseName, joinUri, parentUri } from '../api/uri.js';
import { EngineError } from '../errors.js';
import type { Journal, SyncEntryRow } from '../journal/journal.js';
import type { SyncConflict, SyncIssue, SyncIssueCode, SyncPair } from '../types.js';
import { join } from 'node:path';
import type { DownloadOutcome, DownloadRequest } from '../download-types.js';
import { discover, readLocal, toRemote, type Discovery, type PathState } from './discovery.js';
import { IgnoreRules, isUnderFolder } from './ignore-rules.js';
import { findMoves, findRemoteMoves, type PlannedMove } from './moves.js';
import { remoteIsOurs, unchangedSince, type SyncAction, type SyncRecord } from './reconcile.js';
import { UPLOAD_RUNNING, conflictName, planPass, type DeleteGuard, type SyncPlan } from './sync-plan.js';
import type { FileOutcome, UploadRequest } from './sync-tracker.js';

export type { FileOutcome, UploadRequest } from './sync-tracker.js';

export interface PassOptions {
  /** Relative folders to look at (watcher hints); default the whole tree. */
  folders?: string[];
  /** Print what would be done, do nothing. */
  dryRun?: boolean;
  /** Deletions the user confirmed (see SyncPlan.blocked.pendingDeletes). */
  confirmedDeletes?: number;
  /** Wait for the uploads this pass queues and report each one's outcome (a one-off `sync`). */
  waitUploads?: boolean;
}

export interface PassReport {
  pairId: string;
  dryRun: boolean;
  /** every path with something to do (skips left out), in path order */
  actions: Array<{ rel: string; action: SyncAction['type']; reason?: string; from?: string }>;
  /** uploads queued by this pass */
  queued: number;
  /** files that reached the server (counted once their upload ended; 0 for a pass that did not wait) */
  uploads: number;
  /** files that did not reach the server, with the reason (also in problems) */
  failed: number;
  conflicts: number;
  /** uploads still waiting (paused, login lost) when the pass ended */
  waiting: number;
  foldersCreated: number;
  recorded: number;
  deleted: number;
  /** local renames and moves carried out on the server (no byte sent) */
  moved: number;
  /** two-way: files brought down from the server (and local folders made for the server's) */
  downloaded: number;
  /** two-way: local paths moved to this computer's trash (deleted on the server, unchanged here) */
  trashedLocal: string[];
  problems: Array<{ rel: string; code?: SyncIssueCode; reason: string }>;
  /** paths of the pair not on the server after this pass (its sync_issues), the ones waiting for a retry included */
  notSynced: number;
  /** the pair's folder on the server was gone: everything is uploaded again (nothing is deleted anywhere) */
  remoteRootMissing: boolean;
  /** the paths moved to the server's trash (the audit trail) */
  trashed: string[];
  /**
   * mirror: paths whose trashing waits because their content is still on its way under another name (an upload
   * of an earlier pass still running, or waiting for a retry); the pass after those uploads decides again
   */
  held: string[];
  /** those of `held` that wait for an upload still running (not for a retry time): the pass after it decides */
  heldForUploads: string[];
  blocked: SyncPlan['blocked'];
  /** every outcome, when the pass waited for its uploads */
  outcomes: FileOutcome[];
  durationMs: number;
}

export interface PairSyncDeps {
  journal: Journal;
  client: () => CloudreveClient;
  /** queues the uploads; returns the per-file errors (a file that vanished meanwhile, …) */
  upload(pair: SyncPair, requests: UploadRequest[]): Promise<Array<{ rel: string; code: SyncIssueCode; reason: string }>>;
  /** relative paths of this pair with an upload still running */
  busy(pairId: string): ReadonlySet<string>;
  guard?: DeleteGuard;
  now?: () => number;
  /** two-way: the engine's downloader (transfer/downloader.ts) */
  download?: (reqs: DownloadRequest[]) => Promise<DownloadOutcome[]>;
  /** a conflict was listed (the service tells the screens) */
  onConflict?: (c: SyncConflict) => void;
  /** two-way: moves local paths to this computer's trash (default: the `trash` package: freedesktop trash, macOS Trash, Recycle Bin) */
  trashLocal?: (paths: string[]) => Promise<void>;
}

/** The OS trash, loaded on first use (a two-way pair's server deletions; never unlink). */
export async function osTrash(paths: string[]): Promise<void> {
  const { default: trash } = await import('trash');
  await trash(paths, { glob: false });
}

/** Every file under a local folder is recorded and unchanged since (nothing in it exists only here). */
function folderUnchanged(abs: string, rel: string, entries: ReadonlyMap<string, SyncRecord>, ignore: IgnoreRules): boolean {
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return false;
  }
  for (const diskName of names) {
    const name = diskName.normalize('NFC');
    const childRel = `${rel}/${name}`;
    const l = readLocal(join(abs, diskName));
    if (l === null) continue;
    if ('problem' in l) return false;
    if (ignore.ignores(childRel, l.kind === 'folder')) continue;
    const rec = entries.get(childRel);
    if (!rec || !unchangedSince(l, rec)) return false;
    if (l.kind === 'folder' && !folderUnchanged(join(abs, diskName), childRel, entries, ignore)) return false;
  }
  return true;
}

/** The local folder is missing, not a folder, or unreadable: nothing is decided, the pair waits. */
export class FolderUnavailable extends EngineError {
  constructor(path: string, why: string) {
    super('local-io', `${path}: ${why}; the pair waits for it to come back (nothing is deleted)`);
  }
}

function checkRoot(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new FolderUnavailable(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the folder is missing (unmounted?)' : `cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  if (!st.isDirectory()) throw new FolderUnavailable(path, 'not a folder');
}

/** Lists a remote folder; null when it does not exist. */
export async function listOrNull(client: CloudreveClient, uri: string): Promise<FileResponse[] | null> {
  try {
    return await client.listAll(uri);
  } catch (err) {
    if (err instanceof EngineError && err.code === 'not-found') return null;
    throw err;
  }
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof EngineError) || err.code !== 'not-found') throw err;
}

/**
 * Whether a folder above `rel` is gone here: the nearest of them whose parent this pass looked at did not hold it
 * (deleted, renamed away or ignored now). What was not on the server under it went with it.
 */
export function folderGoneHere(rel: string, looked: ReadonlySet<string>, present: ReadonlySet<string>): boolean {
  for (let f = parentOf(rel); f !== ''; f = parentOf(f)) {
    if (looked.has(parentOf(f))) return !present.has(f);
  }
  return false;
}

function isFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folders holding the other side of a move this (folder-scoped) discovery sees one side of:
 * - a new path (nothing recorded, nothing on the server) whose inode the records hold under another path: that
 *   path's folder, or the nearest folder above it that is still here (the records are in memory);
 * - with `findGone` (mirror, two-way: where a path gone here would be trashed on the server), a recorded path gone
 *   here that is still ours on the server: the folder where its inode is now, found by a walk of the local tree
 *   (names and inodes only; stops once every one is found; an inode in `searched` is not looked for again).
 */
export function otherSides(
  discovery: Discovery,
  records: ReadonlyMap<string, SyncRecord>,
  localRoot: string,
  ignore: IgnoreRules,
  findGone: boolean,
  searched: Set<string> = new Set(),
): string[] {
  const seen = new Set(discovery.paths.map((p) => p.rel));
  const out = new Set<string>();
  const byInode = new Map<string, string[]>();
  for (const [rel, r] of records) if (r.inode !== '' && r.inode !== '0') byInode.set(`${r.kind}:${r.inode}`, [...(byInode.get(`${r.kind}:${r.inode}`) ?? []), rel]);
  const wanted = new Map<string, string>(); // kind:inode → the gone path
  for (const p of discovery.paths) {
    if (p.local && !p.record && !p.remote) {
      for (const rel of byInode.get(`${p.local.kind}:${p.local.inode}`) ?? []) {
        if (seen.has(rel)) continue;
        // its folder, or the nearest one above it still here (its folder may have been renamed meanwhile: the
        // folder's own move, seen there, shows the path where its record will be)
        let f = parentOf(rel);
        while (f !== '' && !isFolder(join(localRoot, ...f.split('/')))) f = parentOf(f);
        out.add(f);
      }
    } else if (findGone && p.record && !p.local && p.remote && !p.remote.uploading && p.record.inode !== '' && p.record.inode !== '0') {
      const key = `${p.record.kind}:${p.record.inode}`;
      if (!searched.has(key)) {
        searched.add(key);
        wanted.set(key, p.rel);
      }
    }
  }
  if (wanted.size > 0) {
    const queue: string[] = [''];
    while (queue.length > 0 && wanted.size > 0) {
      const folder = queue.shift()!;
      let names: string[];
      try {
        names = readdirSync(folder === '' ? localRoot : join(localRoot, ...folder.split('/')));
      } catch {
        continue;
      }
      for (const diskName of names) {
        const rel = folder === '' ? diskName.normalize('NFC') : `${folder}/${diskName.normalize('NFC')}`;
        let st;
        try {
          st = lstatSync(join(localRoot, ...rel.split('/')), { bigint: true });
        } catch {
          continue;
        }
        const kind = st.isDirectory() ? 'folder' : 'file';
        if (ignore.ignores(rel, kind === 'folder')) continue;
        const key = `${kind}:${st.ino.toString()}`;
        if (wanted.has(key) && wanted.get(key) !== rel) {
          wanted.delete(key);
          if (!seen.has(rel)) out.add(parentOf(rel));
        }
        if (kind === 'folder') queue.push(rel);
      }
    }
  }
  return [...out].sort();
}

/**
 * The records (and not-on-the-server issues) under the pair's excluded folders are forgotten: excluding a folder
 * takes it out of the pair, so taking it back in later is a fresh look at both sides (what matches is recorded,
 * what differs is a conflict with both kept) and never reads a file removed meanwhile as deleted. A dry run only
 * leaves them out of what it looks at.
 */
function forgetExcluded(pair: SyncPair, entries: Map<string, SyncEntryRow>, ignore: IgnoreRules, deps: PairSyncDeps, dryRun: boolean): Map<string, SyncEntryRow> {
  const gone = [...entries.keys()].filter((rel) => ignore.excludes(rel));
  const issues = dryRun ? [] : deps.journal.syncIssues.list(pair.id).filter((i) => ignore.excludes(i.relPath));
  if (gone.length === 0 && issues.length === 0) return entries;
  if (!dryRun) {
    deps.journal.transaction(() => {
      for (const rel of gone) deps.journal.syncEntries.delete(pair.id, rel);
      for (const i of issues) deps.journal.syncIssues.delete(pair.id, i.relPath);
    });
  }
  for (const rel of gone) entries.delete(rel);
  return entries;
}

const parentOf = (rel: string): string => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};

export async function runPass(pair: SyncPair, deps: PairSyncDeps, opts: PassOptions = {}): Promise<PassReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const dryRun = opts.dryRun === true;
  checkRoot(pair.localPath);
  const client = deps.client();
  const ignore = new IgnoreRules(pair.ignore, { excluded: pair.excludeRemote });
  // an upload that ends while we look is ours: whatever was busy at any time during this pass is left to the next
  const busy = new Set(deps.busy(pair.id));
  let entries = deps.journal.syncEntries.map(pair.id);
  if (ignore.excluded.length > 0) entries = forgetExcluded(pair, entries, ignore, deps, dryRun);
  // the records as they are now (moves rewrite them), the given folders or the whole tree
  const look = (folders: string[] | undefined, recursive = folders === undefined) =>
    discover({
      localRoot: pair.localPath,
      remoteRoot: pair.remoteUri,
      records: entries,
      ignore,
      listRemote: (uri) => listOrNull(client, uri),
      folders,
      recursive,
      remoteOnlyFolders: pair.mode === 'two-way',
    });
  let discovery = await look(opts.folders);
  checkRoot(pair.localPath); // vanished while we looked: decide nothing

  const movedActions: PassReport['actions'] = [];
  let moved = 0;
  // a folder moved with excluded folders inside (on either side): the exclusions follow it, the pair's list too
  const followExcluded = (m: PlannedMove): void => {
    if (m.kind !== 'folder') return;
    const next = ignore.follow(m.from.rel, m.to.rel);
    if (next) deps.journal.pairs.update(pair.id, { excludeRemote: next });
  };
  let scope = opts.folders;
  const searched = new Set<string>(); // gone inodes looked for in the local tree already (one walk each per pass)
  // a move can show another: a file renamed inside a folder that moved too is seen only once the folder's move is
  // carried out and its new place looked at (a few rounds at most: each one moves what the one before uncovered)
  for (let round = 0; round < 4; round++) {
    if (scope) {
      // a watcher's pass looks at the folders it was told about, and the two sides of a move across folders can
      // reach it apart (each path settles on its own): look at the other side's folder too, so the move is seen here
      // instead of a delete (mirror: the only copy trashed) and an upload (the bytes sent again)
      const others = otherSides(discovery, entries, pair.localPath, ignore, pair.mode !== 'backup', searched).filter((f) => !scope!.includes(f));
      if (others.length > 0) {
        scope = [...scope, ...others];
        discovery = await look(scope, false);
        checkRoot(pair.localPath);
      }
    }
    const candidates = discovery.paths.filter((p) => !busy.has(p.rel));
    const moves = findMoves(candidates);
    // two-way: the server's renames and moves, done here
    const remoteMoves = pair.mode === 'two-way' ? findRemoteMoves(candidates) : [];
    if (moves.length === 0 && remoteMoves.length === 0) break;
    if (dryRun) {
      moves.push(...remoteMoves);
      const consumed = new Set(moves.flatMap((m) => [m.from.rel, m.to.rel]));
      discovery = { ...discovery, paths: discovery.paths.filter((p) => !consumed.has(p.rel) && !moves.some((m) => m.kind === 'folder' && isUnderFolder(p.rel, m.to.rel))) };
      for (const m of moves) movedActions.push({ rel: m.to.rel, action: 'move', from: m.from.rel });
      break;
    }
    let movedNow = 0;
    for (const m of moves) {
      const ok = await carryOutMove(pair, m, entries, deps, client);
      if (ok) {
        followExcluded(m);
        moved++;
        movedNow++;
        movedActions.push({ rel: m.to.rel, action: 'move', from: m.from.rel });
      }
    }
    for (const m of remoteMoves) {
      if (moveHere(pair, m, entries, deps)) {
        followExcluded(m);
        moved++;
        movedNow++;
        movedActions.push({ rel: m.to.rel, action: 'move', from: m.from.rel, reason: 'renamed or moved on the server' });
      }
    }
    moves.push(...remoteMoves);
    if (movedNow === 0) break;
    // the records follow the moves: look again, so what moved is "in sync" and only real changes remain (a moved
    // folder's own content included, where a rename inside it may wait)
    entries = deps.journal.syncEntries.map(pair.id);
    scope = scope ? [...new Set([...scope, ...moves.map((m) => parentOf(m.to.rel)), ...moves.filter((m) => m.kind === 'folder').map((m) => m.to.rel)])] : undefined;
    discovery = await look(scope);
    checkRoot(pair.localPath);
  }

  const rootEmpty = readdirSync(pair.localPath).filter((n) => !ignore.ignores(n.normalize('NFC'), false)).length === 0;
  for (const rel of deps.busy(pair.id)) busy.add(rel);
  const issues = deps.journal.syncIssues.map(pair.id);
  const free = [...issues.values()].some((i) => i.code === 'quota' && i.freeAtFailure !== null) ? await freeSpace(client) : null;
  const plan = planPass(discovery, {
    mode: pair.mode,
    records: entries,
    guard: deps.guard,
    rootEmpty,
    confirmedDeletes: opts.confirmedDeletes,
    confirmEvery: pair.confirmMirror,
    busy,
    issues,
    now: now(),
    freeSpace: free,
    remoteGone: discovery.remoteRootMissing || discovery.remoteRootEmpty === true,
  });
  const report: PassReport = {
    pairId: pair.id,
    dryRun,
    actions: [
      ...movedActions,
      ...plan.items
        .filter((i) => i.action.type !== 'skip' || i.action.reason === 'deletion held back by the guard')
        .map((i) => ({ rel: i.path.rel, action: i.action.type, reason: 'reason' in i.action ? i.action.reason : undefined })),
    ],
    queued: 0,
    uploads: 0,
    failed: 0,
    conflicts: 0,
    waiting: 0,
    foldersCreated: 0,
    recorded: 0,
    deleted: 0,
    moved,
    downloaded: 0,
    trashedLocal: [],
    problems: [...discovery.problems],
    notSynced: 0,
    remoteRootMissing: discovery.remoteRootMissing,
    trashed: [],
    held: [],
    heldForUploads: [],
    blocked: plan.blocked,
    outcomes: [],
    durationMs: 0,
  };
  if (!dryRun) {
    await execute(pair, plan, discovery, issues, entries, deps, client, report, opts, now, ignore);
    report.notSynced = deps.journal.syncIssues.list(pair.id).length;
  } else {
    report.notSynced = issues.size;
  }
  report.durationMs = now() - started;
  return report;
}

async function freeSpace(client: CloudreveClient): Promise<number | null> {
  try {
    const c = await client.capacity();
    return Math.max(0, c.total - c.used);
  } catch {
    return null;
  }
}

/**
 * A local rename or move, on the server: rename in place, move to the new folder (made first when new), or both.
 * Anything refused (a name taken there meanwhile, a lock) leaves the ordinary plan to it: upload + the mode's rule.
 */
async function carryOutMove(pair: SyncPair, m: PlannedMove, entries: Map<string, SyncEntryRow>, deps: PairSyncDeps, client: CloudreveClient): Promise<boolean> {
  const fromName = baseName(m.from.remoteUri);
  const toName = baseName(m.to.remoteUri);
  const fromParent = parentUri(m.from.remoteUri);
  const toParent = parentUri(m.to.remoteUri);
  let at = m.from.remoteUri;
  try {
    if (fromParent !== toParent) {
      // a name free in the source folder first, so the move does not clash with the old name at the destination
      if (fromName !== toName) {
        await client.rename(at, toName);
        at = joinUri(fromParent, toName);
      }
      if (toParent !== pair.remoteUri) await client.createFolder(toParent);
      await client.move([at], toParent);
      at = m.to.remoteUri;
    } else if (fromName !== toName) {
      await client.rename(at, toName);
      at = m.to.remoteUri;
    }
  } catch (err) {
    if (at !== m.from.remoteUri) {
      // renamed but not moved: put the name back, so the journal's record still describes the server
      const back = await client.rename(at, fromName).then(
        () => true,
        () => false,
      );
      if (!back) deps.journal.syncEntries.delete(pair.id, m.from.rel); // the server's copy is no longer where we recorded it: theirs now
    }
    if (!(err instanceof EngineError)) throw err;
    if (err.code === 'network' || err.code === 'timeout' || err.code === 'login-required') throw err;
    return false;
  }
  deps.journal.transaction(() => {
    for (const [rel, row] of entries) {
      if (!isUnderFolder(rel, m.from.rel)) continue;
      const next = m.to.rel + rel.slice(m.from.rel.length);
      deps.journal.syncEntries.delete(pair.id, rel);
      const local = rel === m.from.rel ? m.to.local! : null;
      deps.journal.syncEntries.upsert({
        ...row,
        relPath: next,
        // the moved entry's own fingerprint as it is now (a folder's mtime changes when it is renamed)
        mtimeMs: local ? local.mtimeMs : row.mtimeMs,
        inode: local ? local.inode : row.inode,
      });
      deps.journal.syncIssues.delete(pair.id, rel);
    }
  });
  return true;
}

/**
 * Two-way: the server's rename or move, done here. Only onto a free name (checked right before: a rename never
 * replaces anything), the new folder made first; the records follow.
 */
function moveHere(pair: SyncPair, m: PlannedMove, entries: Map<string, SyncEntryRow>, deps: PairSyncDeps): boolean {
  const target = join(pair.localPath, ...m.to.rel.split('/'));
  try {
    lstatSync(target);
    return false; // something is there: the ordinary plan decides (download next to it, never over it)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
  }
  try {
    mkdirSync(join(target, '..'), { recursive: true });
    renameSync(m.from.localPath, target);
  } catch {
    return false;
  }
  const now = readLocal(target);
  deps.journal.transaction(() => {
    for (const [rel, row] of entries) {
      if (!isUnderFolder(rel, m.from.rel)) continue;
      deps.journal.syncEntries.delete(pair.id, rel);
      const own = rel === m.from.rel && now && !('problem' in now) ? now : null;
      deps.journal.syncEntries.upsert({ ...row, relPath: m.to.rel + rel.slice(m.from.rel.length), mtimeMs: own ? own.mtimeMs : row.mtimeMs, inode: own ? own.inode : row.inode });
    }
  });
  return true;
}

async function execute(
  pair: SyncPair,
  plan: SyncPlan,
  discovery: Discovery,
  issues: Map<string, SyncIssue>,
  entries: Map<string, SyncEntryRow>,
  deps: PairSyncDeps,
  client: CloudreveClient,
  report: PassReport,
  opts: PassOptions,
  now: () => number,
  ignore: IgnoreRules,
): Promise<void> {
  const { journal } = deps;
  const downloads: Array<{ p: PathState; req: DownloadRequest; conflict: boolean }> = [];
  const trashHere: PathState[] = [];
  const record = (p: PathState, remote: { id: string; primaryEntity: string | null } | null) => {
    const l = p.local!;
    journal.syncEntries.upsert({
      pairId: pair.id,
      relPath: p.rel,
      kind: l.kind,
      size: l.size,
      mtimeMs: l.mtimeMs,
      inode: l.inode,
      remoteId: remote?.id ?? null,
      primaryEntity: remote?.primaryEntity ?? null,
    });
  };
  const uploads: UploadRequest[] = [];
  const uploadInodes = new Map<string, string>(); // inode → rel of a file this pass uploads
  const deletes: PathState[] = [];
  const onTheServer = new Set<string>(); // paths known to be on the server after this pass (their issues end)
  // the plan is in path order: a folder comes before what is inside it
  for (const { path: p, action } of plan.items) {
    switch (action.type) {
      case 'create-folder': {
        try {
          const f = await client.createFolder(p.remoteUri);
          record(p, { id: f.id, primaryEntity: null });
          report.foldersCreated++;
          onTheServer.add(p.rel);
        } catch (err) {
          if (!(err instanceof EngineError) || !['exists', 'name-rejected', 'permission', 'api'].includes(err.code)) throw err;
          report.problems.push({ rel: p.rel, code: err.code === 'exists' ? 'type-clash' : err.code === 'name-rejected' ? 'name-refused' : 'failed', reason: err.message });
        }
        break;
      }
      case 'record':
        record(p, p.remote);
        report.recorded++;
        onTheServer.add(p.rel);
        break;
      case 'forget':
        journal.syncEntries.delete(pair.id, p.rel);
        break;
      case 'upload': {
        const open = journal.conflicts.forPath(pair.id, p.rel);
        if (open && p.record && p.record.remoteId !== null && p.remote && p.remote.id !== p.record.remoteId) {
          // the file at the path is theirs and our record is our conflict copy: the save goes to that copy
          uploads.push({ rel: p.rel, localPath: p.localPath, remoteUri: open.conflictUri, kind: 'conflict-update', previous: p.record.primaryEntity });
        } else {
          uploads.push({ rel: p.rel, localPath: p.localPath, remoteUri: p.remoteUri, kind: 'sync', previous: action.previous, fp: p.local ?? undefined });
        }
        if (p.local) uploadInodes.set(p.local.inode, p.rel);
        break;
      }
      case 'conflict': {
        const open = journal.conflicts.forPath(pair.id, p.rel);
        if (open && p.record) {
          // a conflict is open for this file: later saves are new versions of the same conflict copy, not new copies
          uploads.push({ rel: p.rel, localPath: p.localPath, remoteUri: open.conflictUri, kind: 'conflict-update', previous: p.record.primaryEntity });
        } else {
          uploads.push({
            rel: p.rel,
            localPath: p.localPath,
            remoteUri: p.remoteUri,
            kind: 'conflict',
            previous: null,
            reason: action.reason,
            reasonCode: p.record ? 'changed-both' : 'exists-different',
          });
        }
        break;
      }
      case 'delete-remote':
        deletes.push(p);
        break;
      case 'error':
        report.problems.push({ rel: p.rel, code: action.code, reason: action.reason });
        break;
      case 'skip':
        if (!action.reason && p.local && p.remote) {
          onTheServer.add(p.rel);
          // an upload of ours recorded without the server's ids (no request per file): the listing has them
          if (p.record && p.record.primaryEntity === null && p.remote.primaryEntity !== null) record(p, p.remote);
        } else if (p.local?.kind === 'file' && p.remote?.uploading && action.reason !== UPLOAD_RUNNING && !deps.busy(pair.id).has(p.rel)) {
          // (an upload of ours busy at some moment of the pass may have ended since: its placeholder in the listing
          // is ours, not someone else's — reporting it "locked" left the pair incomplete with nothing to send; found
          // by the two-way soak, seed 2)
          // an upload placeholder we are not driving (someone else's upload, or a session of ours lost and carried
          // off by a folder move): ours is not on the server, and the pair must say so, not "up to date"
          report.problems.push({ rel: p.rel, code: 'locked', reason: 'an unfinished upload holds this path on the server (a placeholder); it is looked at again on every pass' });
        }
        break;
      case 'create-local-folder': {
        try {
          mkdirSync(p.localPath); // never recursive, never over anything: the parent came first in path order
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
            report.problems.push({ rel: p.rel, code: 'unreadable', reason: `cannot make the folder here (${(err as NodeJS.ErrnoException).code})` });
            break;
          }
        }
        const made = readLocal(p.localPath);
        if (made && !('problem' in made) && made.kind === 'folder') {
          record({ ...p, local: made }, p.remote);
          report.downloaded++;
          onTheServer.add(p.rel);
        }
        break;
      }
      case 'download':
        downloads.push({
          p,
          conflict: false,
          req: {
            uri: p.remoteUri,
            target: p.localPath,
            size: p.remote!.size,
            entity: p.remote!.primaryEntity,
            updatedAtMs: p.remote!.updatedAtMs,
            // what the pass saw here: anything else at rename time is never overwritten (a conflict copy instead)
            expectLocal: p.local ? { size: p.local.size, mtimeMs: p.local.mtimeMs, inode: p.local.inode } : null,
            pairId: pair.id,
            onExists: 'conflict',
            // its folder deleted here meanwhile: made again (their edit wins over our deletion; the pair's root was
            // found present by this pass, so nothing outside it is made)
            createFolders: true,
          },
        });
        break;
      case 'conflict-download': {
        if (journal.conflicts.forPath(pair.id, p.rel)) break; // open: both versions stay as they are until resolved
        const dir = p.localPath.slice(0, p.localPath.length - baseNameOf(p.localPath).length);
        downloads.push({
          p,
          conflict: true,
          req: {
            uri: p.remoteUri,
            // theirs comes down next to ours; ours stays where it is
            target: join(dir, serverConflict(baseNameOf(p.localPath), new Date(now()))),
            size: p.remote!.size,
            entity: p.remote!.primaryEntity,
            updatedAtMs: p.remote!.updatedAtMs,
            expectLocal: null,
            pairId: pair.id,
            onExists: 'rename',
          },
        });
        break;
      }
      case 'trash-local':
        trashHere.push(p);
        break;
      case 'wait':
      case 'move':
        break;
    }
  }

  // what this pass knows of the pair's paths: problems it saw, paths now on the server, files gone here
  const problemRels = new Set(report.problems.map((p) => p.rel));
  const looked = new Set(discovery.folders);
  const present = new Set(discovery.paths.filter((p) => p.local).map((p) => p.rel));
  journal.transaction(() => {
    for (const p of report.problems) {
      journal.syncIssues.put({ pairId: pair.id, relPath: p.rel, code: p.code ?? 'failed', message: p.reason, size: null, mtimeMs: null, retryAt: null, freeAtFailure: null });
    }
    for (const [rel, issue] of issues) {
      if (problemRels.has(rel)) continue;
      if (onTheServer.has(rel)) journal.syncIssues.delete(pair.id, rel);
      else if (looked.has(parentOf(rel)) && (issue.size === null || !present.has(rel))) journal.syncIssues.delete(pair.id, rel); // solved, or gone here
      else if (folderGoneHere(rel, looked, present)) journal.syncIssues.delete(pair.id, rel); // its folder is gone here
    }
  });

  const outcomes: Promise<FileOutcome>[] = [];
  if (uploads.length > 0) {
    const wait = opts.waitUploads === true || deletes.length > 0;
    if (wait) for (const u of uploads) outcomes.push(new Promise<FileOutcome>((resolve) => (u.onOutcome = resolve)));
    const failed = await deps.upload(pair, uploads);
    for (const f of failed) {
      report.problems.push(f);
      journal.syncIssues.put({ pairId: pair.id, relPath: f.rel, code: f.code, message: f.reason, size: null, mtimeMs: null, retryAt: null, freeAtFailure: null });
    }
    report.queued = uploads.length - failed.length;
  }
  const results = await Promise.all(outcomes);
  report.outcomes = results;
  for (const o of results) {
    if (o.result === 'uploaded') report.uploads++;
    else if (o.result === 'conflict') report.conflicts++;
    else if (o.result === 'waiting') report.waiting++;
    else if (!report.problems.some((p) => p.rel === o.rel)) {
      report.failed++;
      report.problems.push({ rel: o.rel, code: o.code, reason: o.reason ?? 'the upload failed' });
    } else report.failed++;
  }
  if (deletes.length > 0) {
    const byRel = new Map(results.map((o) => [o.rel, o]));
    // the same file under another name that is not on the server yet: an upload of an earlier pass still running,
    // or one waiting for its retry time (its inode, read here for what this pass did not look at)
    const pending = new Map<string, string>();
    const busyNow = deps.busy(pair.id);
    for (const i of plan.items) {
      if (i.path.local && (i.action.type === 'wait' || busyNow.has(i.path.rel))) pending.set(i.path.local.inode, i.path.rel);
    }
    const seen = new Set(discovery.paths.map((p) => p.rel));
    for (const rel of busyNow) {
      if (seen.has(rel)) continue;
      try {
        pending.set(lstatSync(join(pair.localPath, ...rel.split('/')), { bigint: true }).ino.toString(), rel);
      } catch {
        /* gone meanwhile */
      }
    }
    // two-way: a folder deleted here while something in it changed on the server stays there (their edit wins over
    // our deletion: the file comes down, its folder made here again)
    const comingDown = downloads.filter((d) => !d.conflict).map((d) => d.p.rel);
    const ready = deletes.filter((p) => {
      if (p.record?.kind === 'folder' && comingDown.some((rel) => rel.startsWith(`${p.rel}/`))) return false;
      // a deletion an upload of this pass replaces (the same file under a new name) waits for that upload
      const replacement = p.record ? uploadInodes.get(p.record.inode) : undefined;
      if (replacement !== undefined) return byRel.get(replacement)?.result === 'uploaded';
      // and one whose content is still on its way under a name an earlier pass sent waits for the pass after it
      const other = p.record && p.record.inode !== '' ? pending.get(p.record.inode) : undefined;
      if (other !== undefined && other !== p.rel) {
        report.held.push(p.rel);
        if (busyNow.has(other)) report.heldForUploads.push(p.rel);
        return false;
      }
      return true;
    });
    await trash(pair, ready, entries, deps, client, report);
  }
  if (downloads.length > 0) await bringDown(pair, downloads, deps, report);
  if (trashHere.length > 0) await trashLocally(pair, trashHere, entries, deps, report, ignore);
  const full = opts.folders === undefined;
  journal.pairs.update(pair.id, full ? { lastScanAt: now(), lastFullScanAt: now() } : { lastScanAt: now() });
}

const baseNameOf = (path: string): string => path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);

/** `name (conflict YYYY-MM-DD HHMMSS server).ext`: the server's version of a file changed on both sides. */
function serverConflict(name: string, when: Date): string {
  return conflictName(name, when, 'server');
}

/** Two-way: the server's new and changed files come down (downloader: temp file, checked, renamed into place). */
async function bringDown(pair: SyncPair, items: Array<{ p: PathState; req: DownloadRequest; conflict: boolean }>, deps: PairSyncDeps, report: PassReport): Promise<void> {
  if (!deps.download) {
    for (const { p } of items) report.problems.push({ rel: p.rel, code: 'failed', reason: 'downloads are not available in this process' });
    return;
  }
  const outcomes = await deps.download(items.map((i) => i.req));
  const { journal } = deps;
  journal.transaction(() => {
    items.forEach(({ p, conflict }, i) => {
      const o = outcomes[i];
      if (o.result === 'done' || o.result === 'conflict') {
        report.downloaded++;
        const copyName = baseNameOf(o.path);
        const copyUri = joinUri(parentUri(p.remoteUri), copyName);
        if (!conflict && o.result === 'done') {
          // ours now on both sides: the record is the file as written here and the entity it came from
          journal.syncEntries.upsert({
            pairId: pair.id,
            relPath: p.rel,
            kind: 'file',
            size: o.fp.size,
            mtimeMs: o.fp.mtimeMs,
            inode: o.fp.inode,
            remoteId: p.remote!.id,
            primaryEntity: o.remote.entity,
          });
          journal.syncIssues.delete(pair.id, p.rel);
          return;
        }
        // both kept: theirs is next to ours (the next pass uploads that copy as a new file)
        const c = journal.conflicts.insert({
          pairId: pair.id,
          relPath: p.rel,
          remoteUri: p.remoteUri,
          conflictUri: copyUri,
          reason: conflict ? 'changed here and on the server since our last sync: theirs came down next to ours' : 'changed here while the server\'s version came down: theirs is next to ours',
          reasonCode: 'changed-both',
        });
        report.conflicts++;
        deps.onConflict?.(c);
      } else if (o.result === 'failed') {
        report.failed++;
        report.problems.push({ rel: p.rel, code: 'failed', reason: `download: ${o.message}` });
        // recorded like an upload's failure, so the pair reads incomplete (not idle) until the file is here; the
        // next pass tries it again
        journal.syncIssues.put({ pairId: pair.id, relPath: p.rel, code: 'failed', message: `download: ${o.message}`, size: null, mtimeMs: null, retryAt: null, freeAtFailure: null });
      } else if (o.result === 'waiting') report.waiting++;
    });
  });
}

/** Two-way: what the server deleted goes to this computer's trash, only when ours is still what we recorded. */
async function trashLocally(pair: SyncPair, items: PathState[], entries: Map<string, SyncEntryRow>, deps: PairSyncDeps, report: PassReport, ignore: IgnoreRules): Promise<void> {
  const go: PathState[] = [];
  for (const p of items) {
    const now = readLocal(p.localPath);
    if (now === null) continue; // gone already
    if ('problem' in now || !p.record || !unchangedSince(now, p.record)) {
      report.problems.push({ rel: p.rel, code: 'failed', reason: 'deleted on the server, but changed here since: kept (it goes up again)' });
      continue;
    }
    const within = now.kind === 'folder' ? ignore.excludedWithin(p.rel) : [];
    if (within.length > 0) {
      // an excluded folder is never trashed here, nor the folder holding it: kept, and no longer ours (the next pass
      // makes it on the server again, empty of what is excluded)
      deps.journal.syncEntries.delete(pair.id, p.rel);
      report.problems.push({ rel: p.rel, code: 'failed', reason: `deleted on the server, but it holds ${within.map((f) => `"${f}"`).join(', ')}, excluded from this pair: kept` });
      continue;
    }
    if (now.kind === 'folder' && !folderUnchanged(p.localPath, p.rel, entries, ignore)) {
      report.problems.push({ rel: p.rel, code: 'failed', reason: 'deleted on the server, but it holds files that are only here: kept' });
      continue;
    }
    go.push(p);
  }
  if (go.length === 0) return;
  await (deps.trashLocal ?? osTrash)(go.map((p) => p.localPath));
  deps.journal.transaction(() => {
    for (const p of go) {
      for (const k of entries.keys()) if (isUnderFolder(k, p.rel)) deps.journal.syncEntries.delete(pair.id, k);
      report.trashedLocal.push(p.rel);
    }
  });
}

/** Mirror: moves what was deleted here to the server's trash, but only what is still ours there. */
async function trash(
  pair: SyncPair,
  deletes: PathState[],
  entries: Map<string, SyncEntryRow>,
  deps: PairSyncDeps,
  client: CloudreveClient,
  report: PassReport,
): Promise<void> {
  const uris: string[] = [];
  const rels: string[] = [];
  const forget: string[] = [];
  for (const p of deletes) {
    const within = p.record?.kind === 'folder' ? (pair.excludeRemote ?? []).filter((f) => f.startsWith(`${p.rel}/`)) : [];
    if (within.length > 0) {
      // an excluded folder is never trashed on the server, nor the folder holding it: kept, and no longer ours
      report.problems.push({ rel: p.rel, reason: `kept on the server: it holds ${within.map((f) => `"${f}"`).join(', ')}, excluded from this pair` });
      forget.push(p.rel);
      continue;
    }
    if (p.record?.kind === 'folder') {
      const foreign = await foreignEntry(client, p.remoteUri, p.rel, entries);
      if (foreign) {
        // theirs now: forgotten, so it is neither deleted nor asked about again
        report.problems.push({ rel: p.rel, reason: `kept on the server: it holds ${foreign}, which was not uploaded from here` });
        forget.push(p.rel);
        continue;
      }
    }
    uris.push(p.remoteUri);
    rels.push(p.rel);
    forget.push(p.rel);
    report.deleted++;
  }
  for (let i = 0; i < uris.length; i += 500) {
    const batch = uris.slice(i, i + 500);
    // soft delete: the server's trash, never a permanent delete
    await client.delete(batch).catch(async (err) => {
      if (!(err instanceof EngineError) || (err.code !== 'not-found' && err.code !== 'api')) throw err;
      for (const uri of batch) await client.delete([uri]).catch(ignoreNotFound); // one of them was gone already
    });
  }
  report.trashed.push(...rels);
  deps.journal.transaction(() => {
    for (const rel of forget) {
      for (const k of entries.keys()) if (isUnderFolder(k, rel)) deps.journal.syncEntries.delete(pair.id, k);
    }
  });
}

/** The first entry under a remote folder that is not ours as recorded (or null when all of it is ours). */
async function foreignEntry(client: CloudreveClient, uri: string, rel: string, entries: Map<string, SyncEntryRow>): Promise<string | null> {
  const listing = (await listOrNull(client, uri)) ?? [];
  for (const f of listing) {
    const childRel = `${rel}/${f.name.normalize('NFC')}`;
    const rec: SyncRecord | undefined = entries.get(childRel);
    const remote = toRemote(f);
    if (!rec || remote.uploading || !remoteIsOurs(remote, rec)) return `"${childRel}"`;
    if (remote.kind === 'folder') {
      const inner = await foreignEntry(client, joinUri(uri, f.name), childRel, entries);
      if (inner) return inner;
    }
  }
  return null;
}
