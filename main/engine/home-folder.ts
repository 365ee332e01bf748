/**
 * Where a home folder (config, login, journal) is when nothing else is said: the same place for the CLI and the
 * desktop app, so one installation has one login, one journal and one set of settings.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const APP_DIR_NAME = 'cloudreve-sync';

/**
 * `$XDG_CONFIG_HOME/cloudreve-sync`, else `~/.config/cloudreve-sync` (Linux), `~/Library/Application Support/
 * cloudreve-sync` (macOS), `%APPDATA%\cloudreve-sync` (Windows).
 */
export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, APP_DIR_NAME);
  const home = env.HOME || env.USERPROFILE || homedir();
  if (platform === 'win32' && env.APPDATA) return join(env.APPDATA, APP_DIR_NAME);
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', APP_DIR_NAME);
  return join(home, '.config', APP_DIR_NAME);
}

/** `flag` (the CLI's --home) wins, then $CLOUDREVE_SYNC_HOME, then defaultHome(). Always absolute. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.CLOUDREVE_SYNC_HOME) return resolve(env.CLOUDREVE_SYNC_HOME);
  return resolve(defaultHome(env));
}
