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
 * - The root folder itself is checked every `rootCheckMs` (one stat: its device and inode) and at once when its own
 *   watch reports it moved, deleted or unmounted. Gone: every watch is dropped (`onRootLost`) and the check goes on;
 *   back, or replaced by another folder (a disk mounted over the mount point, a link retargeted): the tree is
 *   watched anew (`onRootBack`) and a full scan asked for (`onFullRescan`).
 * - Changes the OS may have dropped ask for a full scan (`onFullRescan`), not a look at one folder. Linux: libuv
 *   drops inotify's IN_Q_OVERFLOW without a word (its wd is -1, no watcher matches, `uv__inotify_read` skips it),
 *   but libuv reads the whole queue in one go, so an overflow shows as at least `max_queued_events` (16384 by
 *   default) events in one turn of the event loop: that many is taken as an overflow, and the tree is walked again
 *   for folders whose creation was lost. Windows: a ReadDirectoryChangesW buffer overflow arrives as an event
 *   without a file name. macOS: libuv drops FSEvents' UserDropped/KernelDropped/RootChanged events, undetectable
 *   here (the root check and the hourly scan cover them); MustScanSubDirs on a subfolder arrives as a change of
 *   that folder, and what is inside it is reported.
 * - Folders on network shares (NFS, SMB/CIFS, FUSE mounts such as sshfs, rclone and gvfs) get no change events from
 *   the other side: `isNetworkFolder` tells the caller to scan them periodically instead of watching.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { lstat, opendir, readFile, realpath, stat, statfs } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { WriteSettle } from './write-settle.js';

export interface Watcher {
  close(): Promise<void>;
  /** A new quiet period (the settle delay setting changed); applies to changes already pending too. */
  setSettleMs?(ms: number): void;
  /** When the watcher last saw a change under the root (ms since the epoch), null before the first. */
  readonly lastChangeAt?: number | null;
  /** 'lost' while the root folder is gone (nothing is watched until it is back). */
  readonly rootState?: 'watching' | 'lost';
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
  /**
   * Changes may have been missed anywhere in the tree (event queue overflow, the root folder back or replaced):
   * scan the whole pair now. Without it, only the root folder is reported changed.
   */
  onFullRescan?(reason: string): void;
  /** The root folder is gone (moved away, deleted, its disk unmounted): nothing is watched until it is back. */
  onRootLost?(reason: string): void;
  /** The root folder is back and watched again; `onFullRescan` follows. */
  onRootBack?(): void;
  /** how often the root folder is checked (ms, default 3000) */
  rootCheckMs?: number;
  /** events in one turn of the event loop taken as an overflow (Linux; default: the system's inotify max_queued_events) */
  overflowBurst?: number;
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

const DEFAULT_ROOT_CHECK_MS = 3000;
const LOST_REASON = 'the folder is gone (moved, deleted, or its disk unmounted); it is watched again when it is back';

let queueLimit: number | undefined;
/** inotify's event queue length per instance (fs.inotify.max_queued_events; 16384 when it cannot be read). */
function inotifyQueueLimit(): number {
  if (queueLimit === undefined) {
    try {
      const n = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
      queueLimit = Number.isInteger(n) && n > 0 ? n : 16384;
    } catch {
      queueLimit = 16384;
    }
  }
  return queueLimit;
}

/** A folder's identity (device and inode, a link followed as the watch follows it), or null when it is not a folder. */
async function folderIdentity(path: string): Promise<string | null> {
  try {
    const st = await stat(path, { bigint: true });
    return st.isDirectory() ? `${st.dev}:${st.ino}` : null;
  } catch {
    return null;
  }
}

/**
 * Shared by both strategies: settling, the ignore check over a path's folders, the limit fallback, the root check
 * (gone, back, replaced) and full-rescan requests.
 */
abstract class TreeWatchBase implements Watcher {
  protected closed = false;
  protected lost = false;
  protected readonly settle: WriteSettle;
  /** identity of the root folder being watched */
  private rootId: string | null = null;
  private rootTimer: ReturnType<typeof setTimeout> | null = null;
  private checking: Promise<void> | null = null;
  private recheck = false;
  /** the root's own watch failed: watch it anew even when it is the same folder */
  private rootWatchFailed = false;

  constructor(protected readonly opts: WatchOptions) {
    this.settle = new WriteSettle({ settleMs: opts.settleMs, maxWaitMs: opts.maxWaitMs, onSettled: (rels) => opts.onChanges(rels) });
  }

  /** Watches the tree under the root; throws when the root cannot be watched. */
  protected abstract startWatching(): Promise<void>;
  /** Drops every watch (the watcher stays open). */
  protected abstract stopWatching(): void;

  async start(): Promise<void> {
    this.rootId = await folderIdentity(this.opts.root);
    await this.startWatching();
    this.armRootCheck();
  }

  get lastChangeAt(): number | null {
    return this.settle.lastTouchAt;
  }

  get rootState(): 'watching' | 'lost' {
    return this.lost ? 'lost' : 'watching';
  }

  setSettleMs(ms: number): void {
    this.settle.setSettleMs(ms);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.settle.clear();
    if (this.rootTimer !== null) clearTimeout(this.rootTimer);
    this.rootTimer = null;
    this.stopWatching();
  }

  protected touch(rel: string): void {
    if (!this.closed && rel !== '') this.settle.touch(rel);
  }

  /** Changes may have been missed anywhere: ask for a full scan (without a taker, the root folder is looked at). */
  protected rescan(reason: string): void {
    if (this.closed) return;
    if (this.opts.onFullRescan) this.opts.onFullRescan(reason);
    else this.touch('.');
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

  /** The root's own watch failed (it closes itself then): watch the root anew, or wait for it if it is gone. */
  protected rootFailed(): void {
    this.rootWatchFailed = true;
    void this.checkRoot();
  }

  /** Looks at the root folder now (its watch reported it moved or deleted, or the timer): gone, back, or replaced. */
  protected checkRoot(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return this.checking;
    }
    this.checking = this.checkRootOnce().finally(() => {
      this.checking = null;
      if (this.recheck && !this.closed) {
        this.recheck = false;
        void this.checkRoot();
      }
    });
    return this.checking;
  }

  private async checkRootOnce(): Promise<void> {
    const id = await folderIdentity(this.opts.root);
    if (this.closed) return;
    if (id === null) {
      if (this.lost) return;
      this.lost = true;
      this.stopWatching();
      this.opts.onRootLost?.(LOST_REASON);
      return;
    }
    if (!this.lost && id === this.rootId && !this.rootWatchFailed) return;
    const wasLost = this.lost;
    const why = wasLost
      ? 'the folder is back'
      : id !== this.rootId
        ? 'the folder was replaced (a disk mounted or unmounted there, a link retargeted)'
        : 'the watch on the folder failed';
    this.stopWatching();
    this.rootId = id;
    this.rootWatchFailed = false;
    this.lost = false; // events from the new watches are handled while the tree is walked
    try {
      await this.startWatching();
    } catch (err) {
      if (this.failed(err)) return;
      this.stopWatching();
      this.lost = true; // gone again meanwhile
      if (!wasLost) this.opts.onRootLost?.(LOST_REASON);
      return;
    }
    if (this.closed || this.lost) return;
    if (wasLost) this.opts.onRootBack?.();
    this.rescan(why);
  }

  private armRootCheck(): void {
    if (this.closed) return;
    this.rootTimer = setTimeout(() => {
      this.rootTimer = null;
      void this.checkRoot().finally(() => this.armRootCheck());
    }, this.opts.rootCheckMs ?? DEFAULT_ROOT_CHECK_MS);
  }
}

/** Linux: one non-recursive watch per folder, added and dropped as folders come and go. */
class FolderTree extends TreeWatchBase {
  /** relative folder ('' = root) → its watch */
  private readonly watches = new Map<string, FSWatcher>();
  /** the name under which the root's own watch reports the root itself (moved, deleted, unmounted) */
  private readonly rootName = basename(this.opts.root);
  /** events in this turn of the event loop */
  private burst = 0;
  private readonly burstLimit = this.opts.overflowBurst ?? inotifyQueueLimit();

  protected async startWatching(): Promise<void> {
    await this.addTree('', false);
  }

  protected stopWatching(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  /** Watches `folder` and every folder under it; `report`: also report what is inside (a folder that just appeared). */
  private async addTree(folder: string, report: boolean): Promise<void> {
    await walkFolders(this.opts, folder, () => this.closed || this.lost, {
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

  /**
   * After an overflow: watches every folder not watched yet (the event of its making may be among those lost) and
   * reports what is in those, as for a folder that appears.
   */
  private async watchMissing(): Promise<void> {
    const added = new Set<string>();
    await walkFolders(this.opts, '', () => this.closed || this.lost, {
      enter: (rel, abs) => {
        if (this.watches.has(rel)) return true;
        try {
          this.watch(rel, abs);
          added.add(rel);
          return true;
        } catch (err) {
          this.failed(err);
          return false;
        }
      },
      visit: (child) => {
        const i = child.lastIndexOf('/');
        if (added.has(i < 0 ? '' : child.slice(0, i))) this.touch(child);
      },
    });
  }

  private watch(rel: string, abs: string): void {
    const w = watch(abs, { persistent: true }, (event, name) => this.onEvent(rel, event, name));
    w.on('error', (err) => {
      if (this.failed(err)) return;
      if (rel === '') this.rootFailed();
      else this.drop(rel); // the folder went away under its watch
    });
    this.watches.set(rel, w);
  }

  /**
   * libuv reads the whole inotify queue in one go, so a queue that overflowed (IN_Q_OVERFLOW, which libuv drops)
   * shows as at least max_queued_events events before the next turn of the event loop.
   */
  private countEvent(): void {
    if (this.burst++ === 0) setImmediate(() => (this.burst = 0));
    if (this.burst !== this.burstLimit) return;
    this.rescan(`the system's change queue overflowed (${this.burstLimit} events at once): changes may have been missed`);
    void this.watchMissing();
  }

  private onEvent(folder: string, event: string, name: string | Buffer | null): void {
    if (this.closed) return;
    this.countEvent();
    if (name === null) {
      this.rescan('the system lost track of changes');
      return;
    }
    const plain = name.toString();
    if (folder === '' && (plain === '' || plain === this.rootName)) {
      // the root's own watch names the root itself when it is moved, deleted or unmounted (or a child of that name changed)
      void this.checkRoot();
      if (plain === '') return;
    }
    const rel = childRel(folder, toRel(plain));
    // 'change' is a write to a file in the folder; 'rename' is something appearing, disappearing or moving
    if (event !== 'rename') {
      if (!this.opts.ignored(rel, false)) this.touch(rel);
      return;
    }
    void lstat(join(this.opts.root, ...rel.split('/'))).then(
      (st) => {
        if (this.closed || this.lost) return;
        const isFolder = st.isDirectory();
        if (this.opts.ignored(rel, isFolder)) return;
        this.touch(rel);
        if (isFolder && !this.watches.has(rel)) void this.addTree(rel, true);
      },
      () => {
        if (this.closed || this.lost) return;
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

  protected async startWatching(): Promise<void> {
    const w = watch(this.opts.root, { persistent: true, recursive: true }, (event, name) => {
      if (this.closed || this.w !== w) return;
      if (name === null) {
        // Windows: ReadDirectoryChangesW's buffer overflowed (libuv reports it without a name)
        this.rescan("the system's change buffer overflowed: changes may have been missed");
        return;
      }
      const rel = toRel(name.toString());
      if (rel === '') {
        // the root itself (Node's own recursive watch on Linux; its watches are dead after that): watch it anew
        this.rootFailed();
        return;
      }
      if (this.underIgnoredFolder(rel) || (this.opts.ignored(rel, false) && this.opts.ignored(rel, true))) return;
      this.touch(rel);
      if (event === 'rename') void this.reportIfFolder(rel);
    });
    w.on('error', (err) => {
      if (this.failed(err) || this.w !== w) return;
      this.rootFailed(); // Windows: the root deleted under its watch
    });
    this.w = w;
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
    await walkFolders(this.opts, folder, () => this.closed || this.lost, { enter: () => true, visit: (child) => this.touch(child) });
  }
}

/** Linux statfs magic numbers of network file systems (NFS, SMB/CIFS, SMB2, AFS, Coda, NCP, 9p, Ceph). */
const NETWORK_FS = new Set([0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x5346414f, 0x73757245, 0x564c, 0x01021997, 0x00c36400]);

/** Linux statfs magic number of every FUSE mount (fuse.sshfs, fuse.rclone, fuseblk, …): the sub-type is in mountinfo. */
const FUSE_SUPER_MAGIC = 0x65735546;

/** File-system type names (Linux mountinfo, macOS `mount`) of network shares. */
const NETWORK_TYPES = new Set([
  'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ncpfs', 'afs', 'coda', '9p', 'ceph', 'glusterfs', 'lustre', 'davfs', // Linux
  'afpfs', 'webdav', 'ftp', // macOS (nfs, smbfs, cifs as above)
]);

/**
 * PURE: whether a file-system type name (Linux `/proc/self/mountinfo`, macOS `mount`) is one whose changes may not
 * reach the watcher, so it is scanned periodically: network shares, and FUSE mounts (Linux `fuse` and `fuse.*`:
 * sshfs, rclone, gvfs's SMB/MTP/SFTP, s3fs, also views of another folder such as bindfs, mergerfs or gocryptfs,
 * whose underlying folder can change without an event through the mount; macOS macFUSE, osxfuse). Not `fuseblk`:
 * that is a FUSE driver for a block device on this machine (ntfs-3g, exfat-fuse on a USB disk), written only
 * through this mount, so inotify sees every change like on any local disk.
 */
export function isNetworkFsType(type: string): boolean {
  const t = type.trim().toLowerCase();
  if (NETWORK_TYPES.has(t)) return true;
  if (t === 'fuseblk') return false;
  return /fuse/.test(t); // fuse, fuse.sshfs, fuse.rclone, fuse.gvfsd-fuse…; macfuse, osxfuse, osxfusefs
}

const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * PURE: the file-system type of the mount holding `path`, from Linux `/proc/self/mountinfo` text
 * (`36 35 0:52 / /home/me/nas rw,nosuid - fuse.sshfs me@nas:/ rw,user_id=1000`), or null. With `dev` (the
 * path's device, major:minor) the mount of that device is meant; otherwise, or when none matches, the longest
 * mount point holding `path` (the last mounted where several share one).
 */
export function linuxMountType(mountinfo: string, path: string, dev?: { major: number; minor: number }): string | null {
  let byDev: { point: string; type: string } | null = null;
  let byPath: { point: string; type: string } | null = null;
  const holds = (point: string) => point === '/' || path === point || path.startsWith(`${point}/`);
  for (const line of mountinfo.split('\n')) {
    const fields = line.trim().split(' ');
    const sepAt = fields.indexOf('-', 6);
    if (fields.length < 7 || sepAt < 0 || sepAt + 1 >= fields.length) continue;
    const point = unescapeMount(fields[4]);
    const type = fields[sepAt + 1];
    if (dev && fields[2] === `${dev.major}:${dev.minor}`) {
      // several mounts of one device (bind mounts): prefer the one holding the path
      if (!byDev || (holds(point) && (!holds(byDev.point) || point.length >= byDev.point.length))) byDev = { point, type };
    }
    if (holds(point) && (!byPath || point.length >= byPath.point.length)) byPath = { point, type };
  }
  return (byDev ?? byPath)?.type ?? null;
}

/** major:minor of a Linux device number (glibc's encoding). */
function devParts(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

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
 * Whether `path` is on a network share or a FUSE mount, where change events do not all arrive (see
 * `isNetworkFsType`). Linux: by file-system type (statfs; for FUSE, the sub-type from /proc/self/mountinfo, and a
 * FUSE mount whose sub-type cannot be read counts as network); macOS: by the type `mount` reports for the mount
 * holding it (smbfs, nfs, afpfs, webdav, macfuse); Windows: UNC paths (a mapped drive letter is not detected: there
 * the hourly full scan is the safety net).
 */
export async function isNetworkFolder(path: string): Promise<boolean> {
  try {
    if (process.platform === 'linux') {
      const type = Number((await statfs(path)).type);
      if (NETWORK_FS.has(type)) return true;
      if (type !== FUSE_SUPER_MAGIC) return false;
      try {
        const [info, real, st] = await Promise.all([readFile('/proc/self/mountinfo', 'utf8'), realpath(path), stat(path, { bigint: true })]);
        const fsType = linuxMountType(info, real, devParts(st.dev));
        return fsType === null || isNetworkFsType(fsType);
      } catch {
        return true;
      }
    }
    if (process.platform === 'win32') return isUncPath(path);
    if (process.platform === 'darwin') {
      const { execFile } = await import('node:child_process');
      const out = await new Promise<string>((resolve) => execFile('/sbin/mount', { timeout: 5000 }, (err, stdout) => resolve(err ? '' : stdout)));
      const type = macMountType(out, path);
      return type !== null && isNetworkFsType(type);
    }
    return false;
  } catch {
    return false;
  }
}
