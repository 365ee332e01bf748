/**
 * One pass of one pair: check the local folder is there, discover, plan, then carry the plan out — folders
 * created, identical files recorded, uploads queued on the engine's transfer queue, remote deletions (mirror,
 * guarded) moved to the server's trash. The client never writes, moves or deletes a local file.
 *
 * Uploads finish later: SyncTracker (sync-tracker.ts) records them when they are done and turns a refused
 * overwrite (40076: the server moved on) into a conflict.
 */
import { readdirSync, statSync } from 'node:fs';
import type { CloudreveClient } from '../api/client.js';
import type { FileResponse } from '../api/types.js';
import { joinUri } from '../api/uri.js';
import { EngineError } from '../errors.js';
import type { Journal, SyncEntryRow } from '../journal/journal.js';
import type { SyncPair } from '../types.js';
import { discover, toRemote, type PathState } from './discovery.js';
import { IgnoreRules } from './ignore-rules.js';
import { remoteIsOurs, type SyncAction, type SyncRecord } from './reconcile.js';
import { planPass, type DeleteGuard, type SyncPlan } from './sync-plan.js';

export interface PassOptions {
  /** Relative folders to look at (watcher hints); default the whole tree. */
  folders?: string[];
  /** Print what would be done, do nothing. */
  dryRun?: boolean;
  /** Deletions the user confirmed (see SyncPlan.blocked.pendingDeletes). */
  confirmedDeletes?: number;
}

export interface PassReport {
  pairId: string;
  dryRun: boolean;
  /** every path with something to do (skips left out), in path order */
  actions: Array<{ rel: string; action: SyncAction['type']; reason?: string }>;
  uploads: number;
  conflicts: number;
  foldersCreated: number;
  recorded: number;
  deleted: number;
  problems: Array<{ rel: string; reason: string }>;
  blocked: SyncPlan['blocked'];
  durationMs: number;
}

/** What a pass hands to the upload side: queue these files (the tracker follows them). */
export interface UploadRequest {
  rel: string;
  localPath: string;
  remoteUri: string;
  kind: 'sync' | 'conflict';
  previous: string | null;
  reason?: string;
}

export interface PairSyncDeps {
  journal: Journal;
  client: () => CloudreveClient;
  /** queues the uploads; returns the per-file errors (a file that vanished meanwhile, …) */
  upload(pair: SyncPair, requests: UploadRequest[]): Promise<Array<{ rel: string; reason: string }>>;
  /** relative paths of this pair with an upload still running */
  busy(pairId: string): ReadonlySet<string>;
  guard?: DeleteGuard;
  now?: () => number;
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

function isUnder(rel: string, folder: string): boolean {
  return rel === folder || rel.startsWith(`${folder}/`);
}

export async function runPass(pair: SyncPair, deps: PairSyncDeps, opts: PassOptions = {}): Promise<PassReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const dryRun = opts.dryRun === true;
  checkRoot(pair.localPath);
  const client = deps.client();
  const ignore = new IgnoreRules(pair.ignore);
  const entries = deps.journal.syncEntries.map(pair.id);
  const records: ReadonlyMap<string, SyncRecord> = entries;
  const discovery = await discover({
    localRoot: pair.localPath,
    remoteRoot: pair.remoteUri,
    records,
    ignore,
    listRemote: (uri) => listOrNull(client, uri),
    folders: opts.folders,
    recursive: opts.folders === undefined,
  });
  checkRoot(pair.localPath); // vanished while we looked: decide nothing
  const rootEmpty = readdirSync(pair.localPath).filter((n) => !ignore.ignores(n.normalize('NFC'), false)).length === 0;
  const plan = planPass(discovery, {
    mode: pair.mode,
    records,
    guard: deps.guard,
    rootEmpty,
    confirmedDeletes: opts.confirmedDeletes,
    busy: deps.busy(pair.id),
  });
  const report: PassReport = {
    pairId: pair.id,
    dryRun,
    actions: plan.items
      .filter((i) => i.action.type !== 'skip' || i.action.reason === 'deletion held back by the guard')
      .map((i) => ({ rel: i.path.rel, action: i.action.type, reason: 'reason' in i.action ? i.action.reason : undefined })),
    uploads: 0,
    conflicts: 0,
    foldersCreated: 0,
    recorded: 0,
    deleted: 0,
    problems: [...discovery.problems],
    blocked: plan.blocked,
    durationMs: 0,
  };
  if (!dryRun) await execute(pair, plan, entries, deps, client, report, now);
  report.durationMs = now() - started;
  return report;
}

async function execute(
  pair: SyncPair,
  plan: SyncPlan,
  entries: Map<string, SyncEntryRow>,
  deps: PairSyncDeps,
  client: CloudreveClient,
  report: PassReport,
  now: () => number,
): Promise<void> {
  const { journal } = deps;
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
  const deletes: PathState[] = [];
  // the plan is in path order: a folder comes before what is inside it
  for (const { path: p, action } of plan.items) {
    switch (action.type) {
      case 'create-folder': {
        const f = await client.createFolder(p.remoteUri);
        record(p, { id: f.id, primaryEntity: null });
        report.foldersCreated++;
        break;
      }
      case 'record':
        record(p, p.remote);
        report.recorded++;
        break;
      case 'forget':
        journal.syncEntries.delete(pair.id, p.rel);
        break;
      case 'upload':
        uploads.push({ rel: p.rel, localPath: p.localPath, remoteUri: p.remoteUri, kind: 'sync', previous: action.previous });
        break;
      case 'conflict':
        uploads.push({
          rel: p.rel,
          localPath: p.localPath,
          remoteUri: p.remoteUri,
          kind: 'conflict',
          previous: null,
          reason: action.reason,
        });
        break;
      case 'delete-remote':
        deletes.push(p);
        break;
      case 'error':
        report.problems.push({ rel: p.rel, reason: action.reason });
        break;
      case 'skip':
        break;
    }
  }
  if (uploads.length > 0) {
    const failed = await deps.upload(pair, uploads);
    report.problems.push(...failed);
    report.uploads = uploads.filter((u) => u.kind === 'sync').length - failed.length;
    report.conflicts = uploads.filter((u) => u.kind === 'conflict').length;
  }
  if (deletes.length > 0) await trash(pair, deletes, entries, deps, client, report);
  journal.pairs.update(pair.id, { lastScanAt: now() });
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
  const forget: string[] = [];
  for (const p of deletes) {
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
  deps.journal.transaction(() => {
    for (const rel of forget) {
      for (const k of entries.keys()) if (isUnder(k, rel)) deps.journal.syncEntries.delete(pair.id, k);
    }
  });
}

/** The first entry under a remote folder that is not ours as recorded (or null when all of it is ours). */
async function foreignEntry(client: CloudreveClient, uri: string, rel: string, entries: Map<string, SyncEntryRow>): Promise<string | null> {
  const listing = (await listOrNull(client, uri)) ?? [];
  for (const f of listing) {
    const childRel = `${rel}/${f.name.normalize('NFC')}`;
    const rec = entries.get(childRel);
    const remote = toRemote(f);
    if (!rec || remote.uploading || !remoteIsOurs(remote, rec)) return `"${childRel}"`;
    if (remote.kind === 'folder') {
      const inner = await foreignEntry(client, joinUri(uri, f.name), childRel, entries);
      if (inner) return inner;
    }
  }
  return null;
}
