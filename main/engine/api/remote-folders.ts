/**
 * Remote folders as the destination picker and the pair form browse them: one level, folders only, by name.
 */
import { EngineError } from '../errors.js';
import type { CloudreveClient } from './client.js';
import { joinUri, normalizeUri, parentUri, toUri } from './uri.js';

export interface RemoteFolderListing {
  uri: string;
  /** null at the root of a file system (cloudreve://my) */
  parentUri: string | null;
  folders: { name: string; uri: string }[];
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The folders directly inside `uri` (every page, following the cursor), sorted by name. */
export async function listRemoteFolders(client: CloudreveClient, uri: string): Promise<RemoteFolderListing> {
  const folder = toUri(uri);
  const folders: RemoteFolderListing['folders'] = [];
  for await (const f of client.list(folder)) {
    if (f.type === 1) folders.push({ name: f.name, uri: joinUri(folder, f.name) });
  }
  folders.sort((a, b) => collator.compare(a.name, b.name) || (a.name < b.name ? -1 : 1));
  const up = parentUri(folder);
  return { uri: normalizeUri(folder), parentUri: up === normalizeUri(folder) ? null : up, folders };
}

/** Creates the folder `name` inside `parent` (an existing one is fine) and returns the parent's new listing. */
export async function createRemoteFolder(client: CloudreveClient, parent: string, name: string): Promise<RemoteFolderListing> {
  const trimmed = name.trim();
  if (!trimmed || trimmed === '.' || trimmed === '..' || /[/\\\0]/.test(trimmed)) {
    throw new EngineError('usage', `"${name}" is not a folder name (no slashes, not . or ..)`);
  }
  const folder = toUri(parent);
  await client.createFolder(joinUri(folder, trimmed));
  return listRemoteFolders(client, folder);
}
