/**
 * What an upload of some local paths consists of, decided entirely on the local disk before anything is asked of the
 * server: the files (with their fingerprints), the folders to create (empty ones too) and what is left out and why.
 *
 * - Paths given by the caller are followed when they are symbolic links (to a file or a folder), like `cp -H`.
 * - Inside folders, links to files are followed; links to folders are not (no loops, no escaping the tree).
 * - FIFOs, sockets and devices are left out: "skipped: not a regular file".
 * - A left-out entry is a `failure` when data the caller asked for cannot be read (a given path that does not
 *   exist or is not uploadable, an unreadable folder, a file that vanished); the rest are plain warnings.
 * - Entries inside a given folder that `ignored` matches (path relative to that folder, '/'-separated) are left out
 *   as warnings, "skipped: ignored (…)"; a path given directly is never ignored.
 */
import { promises as fsp, type Dirent, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { joinUri } from '../api/uri.js';
import { fingerprintSync, type Fingerprint } from './file-source.js';

export interface TreeFile {
  path: string;
  uri: string;
  /** absent when collected with `fingerprint: false` (see fingerprintOrSkip) */
  fp?: Fingerprint;
}

export interface SkippedEntry {
  path: string;
  /** e.g. "skipped: not a regular file (a FIFO)" */
  reason: string;
  /** true when something the caller wanted cannot be uploaded (counts as failed), false for a warning */
  failure: boolean;
}

export interface LocalTree {
  files: TreeFile[];
  /** remote folders to create, parents before children */
  folders: string[];
  skipped: SkippedEntry[];
}

export interface CollectOptions {
  /** whether an entry inside a given folder is left out (e.g. the default ignore rules of sync pairs) */
  ignored?: (relPath: string, isFolder: boolean) => boolean;
  /** the reason given for an ignored entry, after "skipped: " */
  ignoredReason?: string;
  /**
   * Fingerprint each file here (default). False leaves it to the caller (fingerprintOrSkip), which can then take
   * the fingerprints a few at a time while the first files already upload.
   */
  fingerprint?: boolean;
}

interface Walk {
  tree: LocalTree;
  found: Array<{ path: string; uri: string }>;
  opts: CollectOptions;
}

/** Walks `paths` (absolute) for an upload under the remote folder `targetUri`. Never throws for a bad entry. */
export async function collectTree(paths: string[], targetUri: string, opts: CollectOptions = {}): Promise<LocalTree> {
  const tree: LocalTree = { files: [], folders: [], skipped: [] };
  const found: Array<{ path: string; uri: string }> = [];
  for (const p of paths) await visit(p, targetUri, null, { tree, found, opts });
  if (opts.fingerprint === false) {
    tree.files = found;
    return tree;
  }
  for (const f of found) {
    const fp = fingerprintOrSkip(f.path);
    if ('reason' in fp) tree.skipped.push(fp);
    else tree.files.push({ path: f.path, uri: f.uri, fp });
  }
  return tree;
}

/** A collected file's fingerprint, or why it cannot be uploaded after all (it vanished, it is no longer a file…). */
export function fingerprintOrSkip(path: string): Fingerprint | SkippedEntry {
  try {
    return fingerprintSync(path);
  } catch (err) {
    return { path, reason: `skipped: ${describeFsError(err)}`, failure: true };
  }
}

/** The entry's type as its folder listing gave it, when that is enough (not a link, not unknown to the file system). */
function knownType(entry: Dirent | undefined): Dirent | null {
  if (!entry || entry.isSymbolicLink()) return null;
  const known = entry.isFile() || entry.isDirectory() || entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice();
  return known ? entry : null;
}

/**
 * `rel` is the path relative to the given folder it was found in, null for a given path. `entry`: its folder
 * listing's entry, whose type spares an lstat (one thread-pool round trip per file) unless it is a link or unknown.
 * A file's type is checked again by the fingerprint's stat.
 */
async function visit(path: string, folderUri: string, rel: string | null, walk: Walk, entry?: Dirent): Promise<void> {
  const { tree, found, opts } = walk;
  const given = rel === null;
  const skip = (reason: string, failure: boolean): void => {
    tree.skipped.push({ path, reason: `skipped: ${reason}`, failure });
  };
  let st: Stats | Dirent;
  const known = knownType(entry);
  if (known) st = known;
  else {
    try {
      st = await fsp.lstat(path);
    } catch (err) {
      return skip(describeFsError(err), true);
    }
  }
  if (st.isSymbolicLink()) {
    let target: Stats;
    try {
      target = await fsp.stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ELOOP' ? 'symbolic link loop' : code === 'ENOENT' || code === 'ENOTDIR' ? 'broken symbolic link (its target does not exist)' : `symbolic link: ${describeFsError(err)}`;
      return skip(why, given);
    }
    if (target.isDirectory() && !given) return skip('symbolic link to a folder (links are not followed into folders)', false);
    st = target;
  }
  if (rel !== null && opts.ignored?.(rel.normalize('NFC'), st.isDirectory())) {
    tree.skipped.push(ignoredEntry(path, opts));
    return;
  }
  const uri = joinUri(folderUri, basename(path));
  if (st.isDirectory()) {
    let entries: Dirent[];
    try {
      entries = (await fsp.readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      return skip(`cannot read the folder: ${describeFsError(err)}`, true);
    }
    tree.folders.push(uri);
    for (const e of entries) {
      const child = join(path, e.name);
      const childRel = rel === null ? e.name : `${rel}/${e.name}`;
      // the common case, a plain file, without a call (and a promise) of its own: thousands of them start a run cold
      if (e.isFile() && !e.isSymbolicLink()) {
        if (opts.ignored?.(childRel.normalize('NFC'), false)) tree.skipped.push(ignoredEntry(child, opts));
        else found.push({ path: child, uri: joinUri(uri, e.name) });
        continue;
      }
      await visit(child, uri, childRel, walk, e);
    }
    return;
  }
  if (!st.isFile()) return skip(`not a regular file (${kindOf(st)})`, given);
  found.push({ path, uri });
}

/** An entry inside a given folder that an ignore rule leaves out: a warning. */
function ignoredEntry(path: string, opts: CollectOptions): SkippedEntry {
  return { path, reason: `skipped: ignored (${opts.ignoredReason ?? 'an ignore rule'})`, failure: false };
}

function kindOf(st: Stats | Dirent): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a file or a folder';
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'symbolic link loop';
    default:
      if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
      return String(e?.message ?? err).replace(/^.*: (?=[^:]+$)/, '');
  }
}
