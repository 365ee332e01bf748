/**
 * The CLI's home directory (config, credentials, journal): `--home DIR`, else `$CLOUDREVE_SYNC_HOME`,
 * else `$XDG_CONFIG_HOME/cloudreve-sync`, else the platform's config dir (`~/.config/cloudreve-sync` on
 * Linux, the same place Electron's userData points at for this app name).
 */
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CloudreveClient } from '../engine/api/client.js';

export const APP_DIR_NAME = 'cloudreve-sync';

export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, APP_DIR_NAME);
  const home = env.HOME || env.USERPROFILE || homedir();
  if (platform === 'win32' && env.APPDATA) return join(env.APPDATA, APP_DIR_NAME);
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', APP_DIR_NAME);
  return join(home, '.config', APP_DIR_NAME);
}

/** `--home` wins, then CLOUDREVE_SYNC_HOME, then defaultHome(). Always absolute. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.CLOUDREVE_SYNC_HOME) return resolve(env.CLOUDREVE_SYNC_HOME);
  return resolve(defaultHome(env));
}

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
