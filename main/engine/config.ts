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
import { DEFAULT_SETTINGS, SETTINGS_SCHEMA, UUID_RE, readSettings, type Settings } from './settings-schema.js';

export { DEFAULT_SETTINGS, readSettings, type Settings } from './settings-schema.js';

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
    schema: SETTINGS_SCHEMA,
  });
  if (!UUID_RE.test(conf.get('clientId'))) conf.set('clientId', randomUUID());
  return conf;
}

/** The per-installation client id (created on first call; later calls only read the file). */
export function clientIdFor(home: string): string {
  return readSettings(home)?.clientId ?? openConfig(home).get('clientId');
}

/** Alias of clientIdFor(): the stable per-installation UUID (X-Cr-Client-Id). */
export const installationId = clientIdFor;
