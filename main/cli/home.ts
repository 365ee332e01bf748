/**
 * The CLI's home directory (config, credentials, journal): `--home DIR`, else the home the desktop app uses too
 * (`$CLOUDREVE_SYNC_HOME`, else `$XDG_CONFIG_HOME/cloudreve-sync`, else the platform's config dir; engine/home-folder.ts).
 */
import { mkdirSync, statSync } from 'node:fs';
import type { CloudreveClient } from '../engine/api/client.js';

/** Creates the home directory (mode 0700) when missing; an existing directory is left as it is. */
export function ensureHome(home: string): string {
  try {
    const st = statSync(home);
    if (!st.isDirectory()) throw new Error(`${home} exists and is not a directory`);
    return home;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return home;
}

/**
 * A client for the stored account (see credentials.ts); throws 'login-required' when there is none.
 * Imported on use: the HTTP client is loaded only by the commands that talk to the server.
 */
export async function openClient(home: string): Promise<CloudreveClient> {
  const { openClient: openClientFromCredentials } = await import('../engine/api/credentials.js');
  return openClientFromCredentials(home);
}
