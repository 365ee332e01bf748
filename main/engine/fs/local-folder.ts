/**
 * Folders on the engine's machine as a person browses them: one level at a time, folders first, by name. Used by the
 * folder browser of `cloudreve-sync ui` (the browser's own file picker cannot name paths on the engine's machine) and
 * the pair form. Symbolic links are followed to tell folders from files; dangling ones are left out.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, win32 } from 'node:path';
import { EngineError } from '../errors.js';

export interface LocalFolderEntry {
  name: string;
  path: string;
  kind: 'folder' | 'file';
  /** a dot-entry (hidden by convention on Unix-likes); listed, so that a pair can be made of ~/.config, but marked */
  hidden: boolean;
}

export interface LocalFolderListing {
  path: string;
  /** null at a filesystem root */
  parent: string | null;
  entries: LocalFolderEntry[];
}

/** The last path segment, for POSIX and Windows paths alike (the whole path for a root). */
export function displayName(localPath: string): string {
  const name = localPath.includes('\\') ? win32.basename(localPath) : basename(localPath);
  return name || localPath;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** One level of `folder` (absolute). Missing, not a folder, unreadable: an EngineError naming the path and why. */
export async function listLocalFolder(folder: string): Promise<LocalFolderListing> {
  if (!isAbsolute(folder)) throw new EngineError('usage', `${folder}: not an absolute path`);
  const path = resolve(folder);
  let dirents;
  try {
    dirents = await readdir(path, { withFileTypes: true });
  } catch (err) {
    throw describeFsError(path, err);
  }
  const entries: LocalFolderEntry[] = [];
  await Promise.all(
    dirents.map(async (d) => {
      const full = join(path, d.name);
      let isFolder = d.isDirectory();
      if (d.isSymbolicLink()) {
        try {
          isFolder = (await stat(full)).isDirectory();
        } catch {
          return; // dangling link: nothing to open or upload
        }
      } else if (!isFolder && !d.isFile()) {
        return; // FIFOs, sockets, devices: never uploaded
      }
      entries.push({ name: d.name, path: full, kind: isFolder ? 'folder' : 'file', hidden: d.name.startsWith('.') });
    }),
  );
  entries.sort((a, b) => (a.kind === b.kind ? collator.compare(a.name, b.name) || (a.name < b.name ? -1 : 1) : a.kind === 'folder' ? -1 : 1));
  const up = dirname(path);
  return { path, parent: up === path ? null : up, entries };
}

function describeFsError(path: string, err: unknown): EngineError {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new EngineError('not-found', `${path}: no such folder`, { cause: err });
    case 'ENOTDIR':
      return new EngineError('usage', `${path}: not a folder`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new EngineError('permission', `${path}: permission denied (the engine runs as a user who may not read it)`, { cause: err });
    default:
      return new EngineError('local-io', `${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
