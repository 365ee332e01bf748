/**
 * Settings of one installation, stored with `conf` as `<home>/config.json`: the one settings store of both the
 * CLI (flags override it) and the desktop app (the window edits it through the IPC contract; main/shell/settings.ts).
 * The engine gets `home` injected (the CLI's --home, Electron's userData); nothing here knows about Electron.
 *
 * `clientId` is the stable per-installation UUID sent as X-Cr-Client-Id (spec §1.1, §4.9): generated
 * once, on first open, and never changed afterwards.
 */
import Conf from 'conf';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const APP_DIR_NAME = 'cloudreve-sync';

/**
 * The home folder the CLI and the desktop app share when nothing else is said: `$XDG_CONFIG_HOME/cloudreve-sync`,
 * else `~/.config/cloudreve-sync` (Linux), `~/Library/Application Support/cloudreve-sync` (macOS),
 * `%APPDATA%\cloudreve-sync` (Windows).
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

export type Settings = {
  clientId: string;
  /** files uploaded at the same time (small files have extra slots on top) */
  maxActiveFiles: number;
  /** upper bound on parallel chunks of one file (the policy's chunk_concurrency may lower it) */
  chunkConcurrencyCap: number;
  /** bytes/s, 0 = unlimited */
  bandwidthLimit: number;
  /** what an upload does when the target exists */
  ifExists: 'skip' | 'overwrite' | 'rename';
  /** where the desktop app uploads what is dropped on it or sent from the shell menu */
  defaultTargetFolderUri: string;
  /** the "Upload to Cloudreve" file-manager entries are installed */
  shellIntegration: boolean;
  timeouts: { connectMs: number; responseMs: number; idleMs: number };
};

export const DEFAULT_SETTINGS: Omit<Settings, 'clientId'> = {
  maxActiveFiles: 3,
  chunkConcurrencyCap: 4,
  bandwidthLimit: 0,
  ifExists: 'rename',
  defaultTargetFolderUri: 'cloudreve://my/',
  shellIntegration: false,
  timeouts: { connectMs: 10_000, responseMs: 30_000, idleMs: 30_000 },
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type SettingsStore = Conf<Settings>;

/** Opens (creating if needed) `<home>/config.json`; makes sure a client id exists. */
export function openConfig(home: string): SettingsStore {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const conf = new Conf<Settings>({
    projectName: 'cloudreve-sync',
    cwd: home,
    configName: 'config',
    configFileMode: 0o600,
    // An unreadable or invalid file must not stop the app or the CLI: it starts again from the defaults
    // (settings only; the login and the journal live in their own files).
    clearInvalidConfig: true,
    defaults: { ...DEFAULT_SETTINGS, clientId: '' },
    schema: {
      clientId: { type: 'string' },
      maxActiveFiles: { type: 'integer', minimum: 1, maximum: 32 },
      chunkConcurrencyCap: { type: 'integer', minimum: 1, maximum: 32 },
      bandwidthLimit: { type: 'integer', minimum: 0 },
      ifExists: { type: 'string', enum: ['skip', 'overwrite', 'rename'] },
      defaultTargetFolderUri: { type: 'string', pattern: '^cloudreve://' },
      shellIntegration: { type: 'boolean' },
      timeouts: {
        type: 'object',
        properties: {
          connectMs: { type: 'integer', minimum: 100 },
          responseMs: { type: 'integer', minimum: 100 },
          idleMs: { type: 'integer', minimum: 100 },
        },
      },
    },
  });
  if (!UUID_RE.test(conf.get('clientId'))) conf.set('clientId', randomUUID());
  return conf;
}

/** The per-installation client id (created on first call). */
export function clientIdFor(home: string): string {
  return openConfig(home).get('clientId');
}

/** Alias of clientIdFor(): the stable per-installation UUID (X-Cr-Client-Id). */
export const installationId = clientIdFor;
