/** The files and folders an upload of local paths covers, walked recursively (symbolic links to folders are not followed). */
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import { joinUri } from '../api/uri.js';
import { EngineError } from '../errors.js';

export interface UploadTree {
  /** Files with their remote target URI, in walk order (names sorted). */
  files: Array<{ path: string; uri: string }>;
  /** Remote folders to create (parents before children), empty ones included. */
  folders: string[];
}

/** Adds `path` (a file or a folder, recursively) under the remote folder `folderUri` to `out`. */
export async function collectUploads(path: string, folderUri: string, out: UploadTree, warn: (message: string) => void): Promise<void> {
  const st = await fsp.lstat(path).catch((err: NodeJS.ErrnoException) => {
    throw new EngineError('local-io', `${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code}`);
  });
  const name = basename(path);
  if (st.isSymbolicLink()) {
    const target = await fsp.stat(path).catch(() => null);
    if (!target) {
      warn(`${path}: broken symbolic link, skipped`);
      return;
    }
    if (target.isDirectory()) {
      warn(`${path}: symbolic link to a folder, skipped (links are not followed into folders)`);
      return;
    }
  }
  if (st.isDirectory()) {
    const uri = joinUri(folderUri, name);
    out.folders.push(uri);
    const entries = (await fsp.readdir(path)).sort();
    for (const e of entries) await collectUploads(join(path, e), uri, out, warn);
    return;
  }
  out.files.push({ path, uri: joinUri(folderUri, name) });
}
