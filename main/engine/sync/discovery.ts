/**
 * Discovery: what is here (the local tree), what is there (the remote listing) and what the journal remembers,
 * merged per relative path for reconcile.
 *
 * - Names are compared in Unicode NFC (macOS hands out NFD); the local name on disk is kept for reading.
 * - Symbolic links to files are read as the file; links to folders are not followed (so loops cannot hang).
 *   Sockets, FIFOs and devices are per-path errors, as are names Cloudreve rejects.
 * - A local folder that cannot be read is reported and its subtree is left out: nothing under it is decided
 *   (no upload, no delete), so an unreadable folder never looks like deleted files.
 * - Remote placeholders (uploads in progress) are marked; the trash is never listed.
 * - The pair's excluded folders (selective sync) are left out like ignored paths, on both sides: neither listed nor
 *   looked into, so nothing under them is decided.
 */
import { lstatSync, readdirSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { FileResponse } from '../api/types.js';
import { joinUri } from '../api/uri.js';
import { checkName } from '../transfer/preflight.js';
import type { SyncIssueCode } from '../types.js';
import type { IgnoreRules } from './ignore-rules.js';
import type { LocalEntry, RemoteEntry, SyncRecord } from './reconcile.js';

/** One relative path with what each side holds. */
export interface PathState {
  /** '/'-separated, NFC, relative to the pair's folder */
  rel: string;
  /** absolute local path (the name as on disk) */
  localPath: string;
  remoteUri: string;
  local: LocalEntry | null;
  remote: RemoteEntry | null;
  record: SyncRecord | null;
}

/** A path that cannot be synced this pass, and why. */
export interface PathProblem {
  rel: string;
  code: SyncIssueCode;
  reason: string;
}

export interface Discovery {
  paths: PathState[];
  /**
   * paths that cannot be synced, with the reason (bad name, special file, unreadable file or folder, …). Such a path
   * is left alone on both sides: it is never planned as "deleted here", whatever the journal remembers of it.
   */
  problems: PathProblem[];
  /** relative folders whose children were looked at this pass (a problem or issue of theirs is current) */
  folders: string[];
  /** relative folders whose local content could not be read (their subtrees were left out) */
  unreadable: string[];
  /** local entries seen (files and folders, ignored ones excluded) */
  localCount: number;
  /** the pair's folder on the server does not exist (deleted on the web page?) while the journal remembers paths */
  remoteRootMissing: boolean;
  /** the pair's folder on the server lists nothing while the journal remembers paths (emptied, or a server reset) */
  remoteRootEmpty?: boolean;
}

export interface DiscoverOptions {
  localRoot: string;
  remoteRoot: string;
  records: ReadonlyMap<string, SyncRecord>;
  ignore: IgnoreRules;
  /** A remote folder's entries, or null when the folder does not exist. Other failures propagate. */
  listRemote(uri: string): Promise<FileResponse[] | null>;
  /** Relative folders to look at ('' = the root); default the root. */
  folders?: string[];
  /** two-way: look into folders that are only on the server too (their files come down) */
  remoteOnlyFolders?: boolean;
  /** Descend into subfolders (a full scan); false looks at the given folders' direct children only. */
  recursive?: boolean;
}

const parentOf = (rel: string): string => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};
const childRel = (folder: string, name: string): string => (folder === '' ? name : `${folder}/${name}`);

/** Entries of the journal grouped by parent folder, so each folder finds its recorded children at once. */
function childrenIndex(records: ReadonlyMap<string, SyncRecord>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rel of records.keys()) {
    const p = parentOf(rel);
    let list = out.get(p);
    if (!list) out.set(p, (list = []));
    list.push(rel.slice(p === '' ? 0 : p.length + 1));
  }
  return out;
}

function toLocal(st: BigIntStats, kind: LocalEntry['kind']): LocalEntry {
  // same arithmetic as fs/file-source.ts fingerprint(), so records and uploads compare equal
  return { kind, size: kind === 'file' ? Number(st.size) : 0, mtimeMs: Number(st.mtimeNs / 1000n) / 1000, inode: st.ino.toString() };
}

/** A remote listing entry as reconcile sees it. */
export function toRemote(f: FileResponse): RemoteEntry {
  const t = Date.parse(f.updated_at);
  return {
    kind: f.type === 1 ? 'folder' : 'file',
    id: f.id,
    size: f.size,
    updatedAtMs: Number.isFinite(t) ? t : 0,
    primaryEntity: f.primary_entity ?? null,
    uploading: !!f.metadata?.['sys:upload_session_id'],
  };
}

/** The local entry at `path` (not following links to folders), or a reason it cannot be synced. */
export function readLocal(path: string): LocalEntry | { problem: string; code: SyncIssueCode } | null {
  let st: BigIntStats;
  try {
    st = lstatSync(path, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    return { problem: `cannot read (${code}); left alone until it can be read`, code: 'unreadable' };
  }
  if (st.isSymbolicLink()) {
    let target: BigIntStats;
    try {
      target = statSync(path, { bigint: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // a link whose target is on an unplugged disk looks like this too: never read as "deleted"
      return code === 'ENOENT' || code === 'ENOTDIR'
        ? { problem: 'broken symbolic link (its target is missing); left alone', code: 'special-file' }
        : { problem: `the link's target cannot be read (${code}); left alone until it can be read`, code: 'unreadable' };
    }
    if (target.isDirectory()) return { problem: 'symbolic link to a folder (links are not followed into folders)', code: 'special-file' };
    st = target;
  }
  if (st.isDirectory()) return toLocal(st, 'folder');
  if (st.isFile()) return toLocal(st, 'file');
  return { problem: 'not a regular file (socket, FIFO or device)', code: 'special-file' };
}

export async function discover(opts: DiscoverOptions): Promise<Discovery> {
  const out: Discovery = { paths: [], problems: [], folders: [], unreadable: [], localCount: 0, remoteRootMissing: false };
  const recorded = childrenIndex(opts.records);
  /** [folder, look at everything under it]: a folder missing on the server is looked at whole even in a hint's pass */
  // a hint inside an excluded folder (the pair's selective sync) is not looked at: neither side of it is listed
  const queue: Array<[string, boolean]> = (opts.folders ?? ['']).filter((f) => f === '' || !opts.ignore.excludes(f)).map((f) => [f, opts.recursive !== false]);
  const seenFolders = new Set<string>();
  /** folders known to be missing on the server (a new local folder): their listing is skipped */
  const remoteAbsent = new Set<string>();
  /** two-way: folders only on the server, looked at for what they hold (nothing of them is here yet) */
  const localAbsent = new Set<string>();
  while (queue.length > 0) {
    const [folder, deep] = queue.shift()!;
    if (seenFolders.has(folder)) continue;
    seenFolders.add(folder);
    const localDir = folder === '' ? opts.localRoot : join(opts.localRoot, ...folder.split('/'));
    const remoteDir = folder === '' ? opts.remoteRoot : joinUri(opts.remoteRoot, ...folder.split('/'));

    // local children, by NFC name
    const local = new Map<string, { diskName: string; entry: LocalEntry }>();
    let localNames: string[] | null;
    try {
      localNames = readdirSync(localDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        if (folder !== '' && !localAbsent.has(folder)) continue; // gone since the hint: its parent's pass decides about it
        localNames = [];
      } else {
        out.unreadable.push(folder);
        out.problems.push({ rel: folder, code: 'unreadable', reason: `folder cannot be read (${code}); nothing under it is synced this time` });
        continue;
      }
    }
    out.folders.push(folder);
    /** names left alone this pass: whatever the journal or the server holds at them is not touched */
    const held = new Set<string>();
    for (const diskName of localNames) {
      const name = diskName.normalize('NFC');
      const rel = childRel(folder, name);
      const read = readLocal(join(localDir, diskName));
      if (read === null) continue; // vanished meanwhile
      if ('problem' in read) {
        if (!opts.ignore.ignores(rel, false)) {
          out.problems.push({ rel, code: read.code, reason: read.problem });
          held.add(name);
        }
        continue;
      }
      if (opts.ignore.ignores(rel, read.kind === 'folder')) continue;
      const bad = checkName(name);
      if (bad) {
        out.problems.push({ rel, code: 'name-refused', reason: bad.message });
        held.add(name);
        continue;
      }
      if (local.has(name) || held.has(name)) {
        // café.txt twice (NFC and NFD): one server name for two files; syncing either would lose the other's content
        if (local.has(name)) out.localCount--;
        local.delete(name);
        held.add(name);
        const reason = 'two local names differ only in Unicode normalisation (one name on the server): neither is synced until one is renamed';
        if (!out.problems.some((p) => p.rel === rel && p.code === 'name-twins')) out.problems.push({ rel, code: 'name-twins', reason });
        continue;
      }
      local.set(name, { diskName, entry: read });
      out.localCount++;
    }

    // remote children
    const remote = new Map<string, RemoteEntry>();
    const listing = remoteAbsent.has(folder) ? null : await opts.listRemote(remoteDir);
    if (folder === '' && listing === null && opts.records.size > 0) out.remoteRootMissing = true;
    if (folder === '' && listing !== null && listing.length === 0 && opts.records.size > 0) out.remoteRootEmpty = true;
    for (const f of listing ?? []) remote.set(f.name.normalize('NFC'), toRemote(f));

    const names = new Set<string>([...local.keys(), ...remote.keys(), ...(recorded.get(folder) ?? [])]);
    for (const name of [...names].sort()) {
      if (held.has(name)) continue; // reported above; neither uploaded nor read as deleted
      const rel = childRel(folder, name);
      const l = local.get(name) ?? null;
      const r = remote.get(name) ?? null;
      const kind = l?.entry.kind ?? r?.kind ?? opts.records.get(rel)?.kind ?? 'file';
      if (opts.ignore.ignores(rel, kind === 'folder')) continue;
      out.paths.push({
        rel,
        localPath: join(localDir, l?.diskName ?? name),
        remoteUri: joinUri(remoteDir, name),
        local: l?.entry ?? null,
        remote: r,
        record: opts.records.get(rel) ?? null,
      });
      if (l?.entry.kind === 'folder' && (deep || !r)) {
        if (!r) remoteAbsent.add(rel);
        queue.push([rel, true]);
      } else if (opts.remoteOnlyFolders && !l && r?.kind === 'folder' && !r.uploading) {
        localAbsent.add(rel);
        queue.push([rel, true]);
      }
    }
  }
  return out;
}
