/**
 * Settings of one installation, stored with `conf` as `<home>/config.json`. The engine gets `home`
 * injected (the CLI's --home, Electron's userData); nothing here knows about Electron.
 *
 * `clientId` is the stable per-installation UUID sent as X-Cr-Client-Id (spec §1.1, §4.9): generated
 * once, on first open, and never changed afterwards.
 */
import Conf from 'conf';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';

export type Settings = {
  clientId: string;
  /** files uploaded at the same time */
  transferConcurrency: number;
  /** upper bound on parallel chunks of one file (the policy's chunk_concurrency may lower it) */
  chunkConcurrencyMax: number;
  /** bytes/s, 0 = unlimited */
  bandwidthLimit: number;
  timeouts: { connectMs: number; responseMs: number; idleMs: number };
};

export const DEFAULT_SETTINGS: Omit<Settings, 'clientId'> = {
  transferConcurrency: 3,
  chunkConcurrencyMax: 4,
  bandwidthLimit: 0,
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
    defaults: { ...DEFAULT_SETTINGS, clientId: '' },
    schema: {
      clientId: { type: 'string' },
      transferConcurrency: { type: 'integer', minimum: 1, maximum: 32 },
      chunkConcurrencyMax: { type: 'integer', minimum: 1, maximum: 32 },
      bandwidthLimit: { type: 'integer', minimum: 0 },
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
