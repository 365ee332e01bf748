/**
 * Settings of one installation, stored with `conf` as `<home>/config.json`: the one settings store of both the
 * CLI (flags override it) and the desktop app (the window edits it through the IPC contract; main/shell/settings.ts).
 * The engine gets `home` injected (the CLI's --home, Electron's userData); nothing here knows about Electron.
 *
 * `clientId` is the stable per-installation UUID sent as X-Cr-Client-Id (spec §1.1, §4.9): generated
 * once, on first open, and never changed afterwards.
 *
 * A file that cannot be used as it is (hand-edited: conf itself writes atomically, so a crash cannot leave half a
 * file) is never silently replaced, and never stops the app or the CLI: the desktop app starts at login with nobody
 * watching, and a backup tool that stops backing up over a typo in a settings file does more harm than one that runs
 * on defaults for a while. So, before conf reads it (repairSettingsFile):
 * - not JSON at all (a syntax error, named with its line and column), or not an object: the file is moved aside as
 *   `config.broken-<UTC time>.json`, byte for byte, and a new config.json starts from the defaults, keeping the
 *   client id when the broken text still holds one (so the server sees the same installation);
 * - JSON whose values break the rules (a bandwidth limit of "10M", a negative count): a copy is kept as
 *   `config.invalid-<UTC time>.json` and only the offending values are dropped (each falls back to its default),
 *   every other setting is kept;
 * and the user is told once, with the file, the line and column or the settings, and where the original is kept
 * (notices.ts: stderr for the CLI and the app's log).
 */
import Conf from 'conf';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { notice } from './notices.js';
import { asideName, writeFileAtomic } from './set-aside.js';
import { CONFIG_FILE, DEFAULT_SETTINGS, SETTINGS_SCHEMA, UUID_RE, conforms, readSettings, type SchemaRule, type Settings } from './settings-schema.js';

export { DEFAULT_SETTINGS, readSettings, type Settings } from './settings-schema.js';

export type SettingsStore = Conf<Settings>;

/** Opens (creating if needed) `<home>/config.json`; makes sure a client id exists. */
export function openConfig(home: string): SettingsStore {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  repairSettingsFile(home);
  const conf = new Conf<Settings>({
    projectName: 'cloudreve-sync',
    cwd: home,
    configName: 'config',
    configFileMode: 0o600,
    // repairSettingsFile() left a file conf accepts (or none); should it still find one it does not, it must say so
    // rather than silently start from the defaults
    clearInvalidConfig: false,
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

/** `position 42` of a JSON.parse message → line and column (1-based) in `text`. */
export function jsonErrorLocation(text: string, message: string): { line: number; column: number } {
  const m = /at position (\d+)/.exec(message);
  const pos = m ? Math.min(Number(m[1]), text.length) : text.length; // "Unexpected end of JSON input": at the end
  const before = text.slice(0, pos).split(/\r\n|\r|\n/);
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function describeRule(rule: SchemaRule): string {
  switch (rule.type) {
    case 'boolean':
      return 'true or false';
    case 'string':
      return rule.enum ? `one of ${rule.enum.map((e) => JSON.stringify(e)).join(', ')}` : rule.pattern ? `a string matching ${rule.pattern}` : 'a string';
    case 'integer':
      if (rule.minimum !== undefined && rule.maximum !== undefined) return `a whole number from ${rule.minimum} to ${rule.maximum}`;
      if (rule.minimum !== undefined) return `a whole number, at least ${rule.minimum}`;
      return 'a whole number';
    case 'object':
      return `an object (${Object.entries(rule.properties ?? {})
        .map(([k, r]) => `${k}: ${describeRule(r)}`)
        .join('; ')})`;
  }
}

const shown = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

/**
 * Makes `<home>/config.json` something conf reads without clearing it (see the header): moves a broken file aside,
 * drops invalid values after keeping a copy, and says so. A missing file, or one that is fine, is left alone.
 * Returns what it did (null: nothing), for tests.
 */
export function repairSettingsFile(home: string): { kept: string; message: string } | null {
  const file = join(home, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null; // missing (conf creates it) or unreadable (conf reports that itself)
  }
  let data: unknown;
  let syntax: string | null = null;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const why = (err as Error).message.replace(/\s*\(line \d+ column \d+\)\s*$/, '').replace(/ in JSON at position \d+$/, '');
    const { line, column } = jsonErrorLocation(text, (err as Error).message);
    syntax = `is not valid JSON: line ${line}, column ${column}: ${why}`;
  }
  if (syntax === null && (typeof data !== 'object' || data === null || Array.isArray(data))) syntax = `does not hold a JSON object (it holds ${Array.isArray(data) ? 'an array' : shown(data)})`;

  if (syntax !== null) {
    const kept = asideName(file, 'broken');
    try {
      renameSync(file, kept);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // another process got there first
      throw err;
    }
    // the installation's identity, when the text still shows it unambiguously
    const ids = [...text.matchAll(/"clientId"\s*:\s*"([0-9a-fA-F-]{36})"/g)].map((m) => m[1]).filter((id) => UUID_RE.test(id));
    const clientId = ids.length > 0 && ids.every((id) => id === ids[0]) ? ids[0] : null;
    if (clientId) writeFileAtomic(file, JSON.stringify({ clientId }, null, '\t'));
    const message =
      `${file} ${syntax}. It is kept as ${basename(kept)} beside it, and the settings start again from the defaults` +
      `${clientId ? ' (the client id kept)' : ''}: fix that file and move it back to ${CONFIG_FILE}, or set the settings again`;
    notice(message);
    return { kept, message };
  }

  const stored = data as Record<string, unknown>;
  const bad = Object.entries(SETTINGS_SCHEMA).filter(([key, rule]) => key in stored && !conforms(stored[key], rule));
  if (bad.length === 0) return null;
  const kept = asideName(file, 'invalid');
  copyFileSync(file, kept);
  const cleaned = { ...stored };
  for (const [key] of bad) delete cleaned[key];
  writeFileAtomic(file, JSON.stringify(cleaned, null, '\t'));
  const what = bad.map(([key, rule]) => `${key} (${shown(stored[key])}: must be ${describeRule(rule)})`).join(', ');
  const message =
    `${file}: ${bad.length === 1 ? 'a setting breaks its rule and was' : 'settings break their rules and were'} set back to the default: ${what}; ` +
    `the other settings are kept, and the file as it was is kept as ${basename(kept)} beside it`;
  notice(message);
  return { kept, message };
}
