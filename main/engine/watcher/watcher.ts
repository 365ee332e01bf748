/**
 * Our Watcher interface over chokidar: a folder watched recursively, its changes settled and coalesced
 * (write-settle.ts) and handed on as relative paths ('/'-separated, NFC).
 *
 * - Symbolic links are not followed (a link loop cannot hang anything); ignored paths are not even watched.
 * - When the OS refuses more watches (inotify ENOSPC, EMFILE/ENFILE), the watcher closes and reports a fallback:
 *   the caller then scans the folder periodically and says so, rather than silently missing changes.
 * - Folders on network shares (NFS, SMB/CIFS) get no change events from the server side: `isNetworkFolder` tells
 *   the caller to scan them periodically instead of watching.
 */
import { statfs } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { FSWatcher } from 'chokidar';
import { WriteSettle } from './write-settle.js';

export interface Watcher {
  close(): Promise<void>;
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
}

/** Errors that mean "the OS will not give us more watches". */
const LIMIT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);

export async function watchFolder(opts: WatchOptions): Promise<Watcher> {
  const settle = new WriteSettle({ settleMs: opts.settleMs, maxWaitMs: opts.maxWaitMs, onSettled: (rels) => opts.onChanges(rels) });
  const relOf = (p: string): string => relative(opts.root, p).split(sep).join('/').normalize('NFC');
  const w = new FSWatcher({
    ignoreInitial: true,
    followSymlinks: false,
    persistent: true,
    ignored: (p, stats) => {
      const rel = relOf(p);
      if (rel === '' || rel.startsWith('..')) return false;
      return opts.ignored(rel, stats?.isDirectory() ?? false);
    },
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    settle.clear();
    await w.close();
  };
  w.on('all', (_event, path) => {
    if (!closed) settle.touch(relOf(path));
  });
  w.on('error', (err) => {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (closed) return;
    if (LIMIT_CODES.has(code)) {
      void close().then(() => opts.onFallback(`the system's file-watch limit was reached (${code}); scanning periodically instead`));
    }
  });
  await new Promise<void>((resolve, reject) => {
    w.once('ready', resolve);
    w.once('error', reject);
    w.add(opts.root);
  }).catch(async (err) => {
    await close();
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (LIMIT_CODES.has(code)) {
      opts.onFallback(`the system's file-watch limit was reached (${code}); scanning periodically instead`);
      return;
    }
    throw err;
  });
  return { close };
}

/** Linux statfs magic numbers of network file systems (NFS, SMB/CIFS, SMB2, AFS, Coda, NCP, 9p). */
const NETWORK_FS = new Set([0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x5346414f, 0x73757245, 0x564c, 0x01021997]);

/**
 * Whether `path` is on a network share, where change events do not arrive. Linux: by file-system type; other
 * systems: not detected yet (there, the hourly full scan is the safety net).
 */
export async function isNetworkFolder(path: string): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  try {
    const st = await statfs(path);
    return NETWORK_FS.has(Number(st.type));
  } catch {
    return false;
  }
}
