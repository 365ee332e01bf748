/**
 * Our Watcher: a folder watched recursively, its changes settled and coalesced (write-settle.ts) and handed on as
 * relative paths ('/'-separated, NFC).
 *
 * It watches **folders only**. A folder's watch reports changes to the files directly in it, so one watch per folder
 * is enough (Linux: one inotify watch per folder; macOS and Windows: one recursive `fs.watch` on the root, backed by
 * FSEvents / ReadDirectoryChangesW). chokidar, which this replaced, also holds an `fs.watch` per file: on a tree of
 * 100,000 files that took 34–94 s to start and kept V8 busy compacting its heap (3.8–4.9% of a core while idle);
 * see README "Folder sync".
 *
 * - Symbolic links are not followed (a link loop cannot hang anything); ignored folders are not even watched.
 * - A folder that appears (created, moved in) is watched at once and everything in it is reported, so the pass that
 *   follows looks inside it; a folder that disappears has its watches dropped.
 * - When the OS refuses more watches (inotify ENOSPC, EMFILE/ENFILE), the watcher closes and reports a fallback:
 *   the caller then scans the folder periodically and says so, rather than silently missing changes.
 * - Folders on network shares (NFS, SMB/CIFS) get no change events from the server side: `isNetworkFolder` tells
 *   the caller to scan them periodically instead of watching.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, opendir, statfs } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { WriteSettle } from './write-settle.js';

export interface Watcher {
  close(): Promise<void>;
  /** A new quiet period (the settle delay setting changed); applies to changes already pending too. */
  setSettleMs?(ms: number): void;
}

export interface WatchOptions {
  root: string;
  /** quiet period before a changed path is handed on (ms) */
  settleMs: number;
  /** a path that never goes quiet is handed on at most this long after its first event (ms) */
  maxWaitMs: number;
  /** relative path ('/'-separated, NFC) → ignored? */
  ignored(rel: string, isFolder: boolean): boolean;
  /** settled changed paths, relative */
  onChanges(rels: string[]): void;
  /** watching stopped working (watch limit, …): scan periodically from now on */
  onFallback(reason: string): void;
  /** tests: force one watch per folder (what Linux does) or one recursive watch (macOS, Windows) */
  strategy?: 'per-folder' | 'recursive';
}

/** Errors that mean "the OS will not give us more watches". */
const LIMIT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);

const limitReason = (code: string) => `the system's file-watch limit was reached (${code}); scanning periodically instead`;
const childRel = (folder: string, name: string): string => (folder === '' ? name : `${folder}/${name}`);
const toRel = (name: string): string => name.split(sep).join('/').normalize('NFC');

export async function watchFolder(opts: WatchOptions): Promise<Watcher> {
  const strategy = opts.strategy ?? (process.platform === 'linux' ? 'per-folder' : 'recursive');
  const tree = strategy === 'per-folder' ? new FolderTree(opts) : new RecursiveWatch(opts);
  try {
    await tree.start();
  } catch (err) {
    await tree.close();
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (LIMIT_CODES.has(code)) {
      opts.onFallback(limitReason(code));
      return { close: async () => {} };
    }
    throw err;
  }
  return tree;
}

/**
 * Breadth-first over `start` and the folders under it (links to folders are not followed, ignored entries skipped):
 * `enter` before a folder is listed (false skips it), `visit` for each entry in it.
 */
async function walkFolders(
  opts: Pick<WatchOptions, 'root' | 'ignored'>,
  start: string,
  stopped: () => boolean,
  on: { enter(rel: string, abs: string): boolean; visit(rel: string, isFolder: boolean): void },
): Promise<void> {
  const queue = [start];
  while (queue.length > 0 && !stopped()) {
    const rel = queue.shift()!;
    const abs = rel === '' ? opts.root : join(opts.root, ...rel.split('/'));
    if (!on.enter(rel, abs)) continue;
    let dir;
    try {
      dir = await opendir(abs);
    } catch {
      continue;
    }
    for await (const d of dir) {
      const child = childRel(rel, d.name.normalize('NFC'));
      const isFolder = d.isDirectory();
      if (opts.ignored(child, isFolder)) continue;
      on.visit(child, isFolder);
      if (isFolder) queue.push(child);
    }
  }
}

/** Shared by both strategies: settling, the ignore check over a path's folders, the limit fallback. */
abstract class TreeWatchBase implements Watcher {
  protected closed = false;
  protected readonly settle: WriteSettle;

  constructor(protected readonly opts: WatchOptions) {
    this.settle = new WriteSettle({ settleMs: opts.settleMs, maxWaitMs: opts.maxWaitMs, onSettled: (rels) => opts.onChanges(rels) });
  }

  abstract start(): Promise<void>;
  protected abstract stopWatching(): void;

  setSettleMs(ms: number): void {
    this.settle.setSettleMs(ms);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.settle.clear();
    this.stopWatching();
  }

  protected touch(rel: string): void {
    if (!this.closed && rel !== '') this.settle.touch(rel);
  }

  /** True when a folder on the way to `rel` is ignored (then nothing under it is watched or reported). */
  protected underIgnoredFolder(rel: string): boolean {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) if (this.opts.ignored(parts.slice(0, i).join('/'), true)) return true;
    return false;
  }

  protected failed(err: unknown): boolean {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!LIMIT_CODES.has(code) || this.closed) return false;
    void this.close().then(() => this.opts.onFallback(limitReason(code)));
    return true;
  }
}

/** Linux: one non-recursive watch per folder, added and dropped as folders come and go. */
class FolderTree extends TreeWatchBase {
  /** relative folder ('' = root) → its watch */
  private readonly watches = new Map<string, FSWatcher>();

  async start(): Promise<void> {
    await this.addTree('', false);
  }

  protected stopWatching(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  /** Watches `folder` and every folder under it; `report`: also report what is inside (a folder that just appeared). */
  private async addTree(folder: string, report: boolean): Promise<void> {
    await walkFolders(this.opts, folder, () => this.closed, {
      enter: (rel, abs) => {
        if (this.watches.has(rel)) return false;
        // watch before listing, so nothing created in between is missed
        try {
          this.watch(rel, abs);
          return true;
        } catch (err) {
          if (rel === '') throw err;
          this.failed(err);
          return false; // gone or unreadable meanwhile: its parent's pass decides about it
        }
      },
      visit: (child) => {
        if (report) this.touch(child);
      },
    });
  }

  private watch(rel: string, abs: string): void {
    const w = watch(abs, { persistent: true }, (event, name) => this.onEvent(rel, event, name));
    w.on('error', (err) => {
      if (this.failed(err)) return;
      this.drop(rel); // the folder went away under its watch
    });
    this.watches.set(rel, w);
  }

  private onEvent(folder: string, event: string, name: string | Buffer | null): void {
    if (this.closed) return;
    if (name === null) {
      // the OS lost track (queue overflow): have the folder looked at
      this.touch(childRel(folder, '.'));
      return;
    }
    const rel = childRel(folder, toRel(name.toString()));
    // 'change' is a write to a file in the folder; 'rename' is something appearing, disappearing or moving
    if (event !== 'rename') {
      if (!this.opts.ignored(rel, false)) this.touch(rel);
      return;
    }
    void lstat(join(this.opts.root, ...rel.split('/'))).then(
      (st) => {
        if (this.closed) return;
        const isFolder = st.isDirectory();
        if (this.opts.ignored(rel, isFolder)) return;
        this.touch(rel);
        if (isFolder && !this.watches.has(rel)) void this.addTree(rel, true);
      },
      () => {
        if (this.closed) return;
        this.drop(rel);
        if (!this.opts.ignored(rel, false) || !this.opts.ignored(rel, true)) this.touch(rel);
      },
    );
  }

  /** Stops watching `rel` and every folder under it. */
  private drop(rel: string): void {
    const prefix = `${rel}/`;
    for (const [k, w] of this.watches) {
      if (k === rel || (rel === '' ? true : k.startsWith(prefix))) {
        w.close();
        this.watches.delete(k);
      }
    }
  }
}

/** macOS and Windows: one recursive watch on the root (FSEvents / ReadDirectoryChangesW). */
class RecursiveWatch extends TreeWatchBase {
  private w: FSWatcher | null = null;

  async start(): Promise<void> {
    this.w = watch(this.opts.root, { persistent: true, recursive: true }, (event, name) => {
      if (this.closed) return;
      if (name === null) {
        this.touch('.');
        return;
      }
      const rel = toRel(name.toString());
      if (this.underIgnoredFolder(rel) || (this.opts.ignored(rel, false) && this.opts.ignored(rel, true))) return;
      this.touch(rel);
      if (event === 'rename') void this.reportIfFolder(rel);
    });
    this.w.on('error', (err) => {
      this.failed(err);
    });
  }

  protected stopWatching(): void {
    this.w?.close();
    this.w = null;
  }

  /** A folder that appeared (moved in, say) may report only itself: report what is inside it too. */
  private async reportIfFolder(folder: string): Promise<void> {
    try {
      if (!(await lstat(join(this.opts.root, ...folder.split('/')))).isDirectory()) return;
    } catch {
      return;
    }
    await walkFolders(this.opts, folder, () => this.closed, { enter: () => true, visit: (child) => this.touch(child) });
  }
}

/** Linux statfs magic numbers of network file systems (NFS, SMB/CIFS, SMB2, AFS, Coda, NCP, 9p). */
const NETWORK_FS = new Set([0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x5346414f, 0x73757245, 0x564c, 0x01021997]);

/** macOS file-system type names (as `mount` prints them) of network shares. */
const MAC_NETWORK_FS = new Set(['smbfs', 'nfs', 'afpfs', 'webdav', 'cifs', 'ftp']);

/**
 * PURE: the file-system type of the mount holding `path`, from macOS `mount` output
 * (`//user@nas/share on /Volumes/share (smbfs, nodev, nosuid, mounted by me)`), or null.
 */
export function macMountType(mountOutput: string, path: string): string | null {
  let best: { point: string; type: string } | null = null;
  for (const line of mountOutput.split('\n')) {
    const m = / on (.+) \(([^,)]+)/.exec(line);
    if (!m) continue;
    const point = m[1];
    const inside = path === point || path.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && (!best || point.length > best.point.length)) best = { point, type: m[2].trim() };
  }
  return best?.type ?? null;
}

/** PURE: a Windows UNC path (\\server\share\…) is on a network share; \\?\C:\… and \\.\… are local device paths. */
export function isUncPath(path: string): boolean {
  return /^\\\\(?![?.]\\)[^\\]+\\[^\\]+/.test(path) || /^\\\\\?\\UNC\\/i.test(path);
}

/**
 * Whether `path` is on a network share, where change events do not arrive. Linux: by file-system type (statfs);
 * macOS: by the type `mount` reports for the mount holding it (smbfs, nfs, afpfs, webdav); Windows: UNC paths
 * (a mapped drive letter is not detected: there the hourly full scan is the safety net).
 */
export async function isNetworkFolder(path: string): Promise<boolean> {
  try {
    if (process.platform === 'linux') return NETWORK_FS.has(Number((await statfs(path)).type));
    if (process.platform === 'win32') return isUncPath(path);
    if (process.platform === 'darwin') {
      const { execFile } = await import('node:child_process');
      const out = await new Promise<string>((resolve) => execFile('/sbin/mount', { timeout: 5000 }, (err, stdout) => resolve(err ? '' : stdout)));
      const type = macMountType(out, path);
      return type !== null && MAC_NETWORK_FS.has(type);
    }
    return false;
  } catch {
    return false;
  }
}
