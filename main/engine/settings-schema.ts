/**
 * The settings of one installation (`<home>/config.json`): their shape, defaults and JSON schema, and a
 * read-only look at the file that needs no `conf` (config.ts owns the store that writes it). Loading conf
 * and compiling its validator costs more than a CLI command like `whoami` takes in all, so reads that find
 * a complete, valid file take this path; anything else (missing file, no client id yet, an invalid value)
 * goes through openConfig(), which creates, repairs and writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Settings = {
  clientId: string;
  /** files uploaded at the same time (small files have extra slots on top) */
  maxActiveFiles: number;
  /** upper bound on parallel chunks of one file (the policy's chunk_concurrency may lower it) */
  chunkConcurrencyCap: number;
  /** bytes/s, 0 = unlimited */
  bandwidthLimit: number;
  /** the downloads' own limit, bytes/s, 0 = unlimited */
  downloadBandwidthLimit: number;
  /** what an upload does when the target exists */
  ifExists: 'skip' | 'overwrite' | 'rename';
  /** where the desktop app uploads what is dropped on it or sent from the shell menu */
  defaultTargetFolderUri: string;
  /** the "Upload to Cloudreve" file-manager entries are installed */
  shellIntegration: boolean;
  /** shell-menu uploads go straight to defaultTargetFolderUri instead of asking with the destination picker */
  uploadWithoutAsking: boolean;
  /** the desktop app starts (to the tray) when the user logs in to the OS */
  launchAtLogin: boolean;
  /** how long a changed file must stay still before it is uploaded (ms) */
  settleDelayMs: number;
  /** the app's language; 'system' follows the OS */
  language: 'system' | 'en' | 'zh-CN';
  /** light/dark; 'system' follows the OS */
  theme: 'system' | 'light' | 'dark';
  /**
   * How long (minutes) an upload waits out a busy server (HTTP 429/502/503/504) before the file fails; 0: busy answers
   * count like any other failed attempt. A sync pair's uploads wait for ever.
   */
  busyRetryMinutes: number;
  /** API client timeouts (api/http.ts Timeouts); `totalMs` (a small API call's whole exchange) is optional */
  timeouts: { connectMs: number; responseMs: number; idleMs: number; totalMs?: number };
  /**
   * Sign-in through the browser (api/oauth.ts): the OAuth app the server's admin registered for this client, with the
   * redirect URI http://127.0.0.1:<redirectPort>/callback.
   */
  oauth: { clientId: string; clientSecret: string; redirectPort: number };
};

export const DEFAULT_SETTINGS: Omit<Settings, 'clientId'> = {
  maxActiveFiles: 3,
  chunkConcurrencyCap: 4,
  bandwidthLimit: 0,
  downloadBandwidthLimit: 0,
  ifExists: 'rename',
  defaultTargetFolderUri: 'cloudreve://my/',
  shellIntegration: false,
  uploadWithoutAsking: false,
  launchAtLogin: true,
  settleDelayMs: 2000,
  language: 'system',
  theme: 'system',
  busyRetryMinutes: 15,
  timeouts: { connectMs: 10_000, responseMs: 30_000, idleMs: 30_000 },
  oauth: { clientId: '', clientSecret: '', redirectPort: 47821 },
};

export const CONFIG_FILE = 'config.json';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The subset of JSON schema the settings use (conf validates with it; readSettings() checks with it). */
export interface SchemaRule {
  type: 'string' | 'integer' | 'boolean' | 'object';
  minimum?: number;
  maximum?: number;
  enum?: string[];
  pattern?: string;
  properties?: Record<string, SchemaRule>;
}

export const SETTINGS_SCHEMA: Record<keyof Settings, SchemaRule> = {
  clientId: { type: 'string' },
  maxActiveFiles: { type: 'integer', minimum: 1, maximum: 32 },
  chunkConcurrencyCap: { type: 'integer', minimum: 1, maximum: 32 },
  bandwidthLimit: { type: 'integer', minimum: 0 },
  downloadBandwidthLimit: { type: 'integer', minimum: 0 },
  ifExists: { type: 'string', enum: ['skip', 'overwrite', 'rename'] },
  defaultTargetFolderUri: { type: 'string', pattern: '^cloudreve://' },
  shellIntegration: { type: 'boolean' },
  uploadWithoutAsking: { type: 'boolean' },
  launchAtLogin: { type: 'boolean' },
  settleDelayMs: { type: 'integer', minimum: 200, maximum: 600_000 },
  language: { type: 'string', enum: ['system', 'en', 'zh-CN'] },
  theme: { type: 'string', enum: ['system', 'light', 'dark'] },
  busyRetryMinutes: { type: 'integer', minimum: 0, maximum: 1440 },
  timeouts: {
    type: 'object',
    properties: {
      connectMs: { type: 'integer', minimum: 100 },
      responseMs: { type: 'integer', minimum: 100 },
      idleMs: { type: 'integer', minimum: 100 },
      totalMs: { type: 'integer', minimum: 100 },
    },
  },
  oauth: {
    type: 'object',
    properties: {
      clientId: { type: 'string' },
      clientSecret: { type: 'string' },
      redirectPort: { type: 'integer', minimum: 1, maximum: 65535 },
    },
  },
};

export function conforms(v: unknown, rule: SchemaRule): boolean {
  switch (rule.type) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string' && (!rule.enum || rule.enum.includes(v)) && (!rule.pattern || new RegExp(rule.pattern).test(v));
    case 'integer':
      return Number.isInteger(v) && (rule.minimum === undefined || (v as number) >= rule.minimum) && (rule.maximum === undefined || (v as number) <= rule.maximum);
    case 'object':
      return (
        typeof v === 'object' &&
        v !== null &&
        !Array.isArray(v) &&
        Object.entries(rule.properties ?? {}).every(([k, r]) => (v as Record<string, unknown>)[k] === undefined || conforms((v as Record<string, unknown>)[k], r))
      );
  }
}

/**
 * The settings as openConfig(home).store would return them (stored values over the defaults, shallowly),
 * or null when the file is missing, unreadable, invalid or has no client id yet: then use openConfig().
 */
export function readSettings(home: string): Settings | null {
  let stored: unknown;
  try {
    stored = JSON.parse(readFileSync(join(home, CONFIG_FILE), 'utf8'));
  } catch {
    return null;
  }
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return null;
  const s = { ...DEFAULT_SETTINGS, clientId: '', ...(stored as Partial<Settings>) };
  for (const [key, rule] of Object.entries(SETTINGS_SCHEMA)) {
    if (!conforms(s[key as keyof Settings], rule)) return null;
  }
  return UUID_RE.test(s.clientId) ? s : null;
}
