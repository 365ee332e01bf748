/**
 * The signed-in account of one installation: `<home>/credentials.json`, mode 0600 in a 0700 dir,
 * always written atomically (temp file in the same dir + fsync + rename), so a crash never leaves a
 * half-written file and a concurrent reader sees either the old or the new record.
 *
 * The desktop app seals the tokens with the OS keychain (Electron safeStorage, main/shell/secrets.ts) through a
 * CredentialCodec handed to the engine: the file then holds `sealedTokens: {by, data}` and `tokens: null`. Only the
 * app can open them; the CLI sees an account it cannot use and says so (openClient).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { readSettings } from '../settings-schema.js';
import { CloudreveClient } from './client.js';
import type { TokenPair } from './types.js';

export interface AccountRecord {
  /** normalized site root */
  server: string;
  email: string;
  userId: string;
  nickname: string;
  serverVersion: string;
  tokens: TokenPair | null;
  /** the tokens sealed by a CredentialCodec (the desktop app); `tokens` is then null in the file */
  sealedTokens?: SealedTokens;
}

export interface SealedTokens {
  /** the codec's name, e.g. 'electron-safeStorage' */
  by: string;
  data: string;
}

/** How a host keeps the tokens out of plain files (the engine stays free of Electron: the shell injects this). */
export interface CredentialCodec {
  readonly name: string;
  /**
   * Seals the tokens' JSON: `sealed` = store `data`; `plain` = the user agreed to store them unencrypted (no secure
   * storage on this machine); `memory` = keep them for this session only (the user refused plain storage).
   */
  seal(json: string): Promise<{ store: 'sealed'; data: string } | { store: 'plain' } | { store: 'memory' }>;
  /** Opens what seal() produced; throws when it cannot (another OS user, a reset keychain). */
  open(data: string): Promise<string>;
}

export const DESKTOP_SEALED_MESSAGE =
  'signed in through the desktop app, whose login is encrypted with the OS keychain and cannot be read here; sign in here too with `cloudreve-sync login`, or use the app';

export const CREDENTIALS_FILE = 'credentials.json';

export function credentialsPath(home: string): string {
  return join(home, CREDENTIALS_FILE);
}

function isTokenPair(v: unknown): v is TokenPair {
  const t = v as Record<string, unknown> | null;
  return (
    t !== null &&
    typeof t === 'object' &&
    typeof t.access_token === 'string' &&
    typeof t.refresh_token === 'string' &&
    typeof t.access_expires === 'string' &&
    typeof t.refresh_expires === 'string'
  );
}

/** The stored account, or null when nobody is signed in. A damaged file throws 'local-io'. */
export function loadAccount(home: string): AccountRecord | null {
  const path = credentialsPath(home);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new EngineError('local-io', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new EngineError('local-io', `${path} is damaged (not JSON); log in again`);
  }
  if (!v || typeof v !== 'object' || typeof v.server !== 'string' || typeof v.email !== 'string') {
    throw new EngineError('local-io', `${path} is damaged (no server/email); log in again`);
  }
  return {
    server: v.server,
    email: v.email,
    userId: typeof v.userId === 'string' ? v.userId : '',
    nickname: typeof v.nickname === 'string' ? v.nickname : '',
    serverVersion: typeof v.serverVersion === 'string' ? v.serverVersion : '',
    tokens: isTokenPair(v.tokens) ? v.tokens : null,
    ...(isSealed(v.sealedTokens) ? { sealedTokens: v.sealedTokens } : {}),
  };
}

function isSealed(v: unknown): v is SealedTokens {
  const t = v as Record<string, unknown> | null;
  return t !== null && typeof t === 'object' && typeof t.by === 'string' && typeof t.data === 'string';
}

/** The record with its tokens opened by `codec` (tokens stay null when they are sealed by another codec or cannot be opened). */
export async function openSealed(rec: AccountRecord, codec: CredentialCodec | undefined): Promise<AccountRecord> {
  if (rec.tokens || !rec.sealedTokens || !codec || rec.sealedTokens.by !== codec.name) return rec;
  try {
    const t = JSON.parse(await codec.open(rec.sealedTokens.data)) as unknown;
    return isTokenPair(t) ? { ...rec, tokens: t } : rec;
  } catch {
    return rec;
  }
}

/** What to write for `rec` through `codec`: its tokens sealed, plain (agreed), or left out (session only). */
export async function sealRecord(rec: AccountRecord, codec: CredentialCodec | undefined): Promise<AccountRecord> {
  const { sealedTokens: _old, ...plain } = rec;
  if (!codec || !rec.tokens) return plain;
  const sealed = await codec.seal(JSON.stringify(rec.tokens));
  if (sealed.store === 'plain') return plain;
  if (sealed.store === 'memory') return { ...plain, tokens: null };
  return { ...plain, tokens: null, sealedTokens: { by: codec.name, data: sealed.data } };
}

/** Writes the record atomically with mode 0600 (the directory is created 0700 when missing). */
export function saveAccount(home: string, rec: AccountRecord): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = credentialsPath(home);
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const data = JSON.stringify(rec, null, 2) + '\n';
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    writeSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new EngineError('local-io', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
}

/** Forgets the account (no error when there is none). */
export function clearAccount(home: string): void {
  rmSync(credentialsPath(home), { force: true });
}

/**
 * A client for the stored account. Refreshed tokens are written back at once (onTokens); a logout
 * through this client stores `tokens: null` (clearAccount() removes the record entirely).
 * Throws 'login-required' when nobody is signed in.
 */
export async function openClient(home: string): Promise<CloudreveClient> {
  const rec = loadAccount(home);
  if (rec && !rec.tokens && rec.sealedTokens) throw new EngineError('login-required', DESKTOP_SEALED_MESSAGE);
  if (!rec || !rec.tokens) throw new EngineError('login-required', 'not logged in: run `cloudreve-sync login` first');
  // conf (and its validator) is loaded only when the settings file needs creating or repairing
  const settings = readSettings(home) ?? (await import('../config.js')).openConfig(home).store;
  return new CloudreveClient({
    baseUrl: rec.server,
    clientId: settings.clientId,
    tokens: rec.tokens,
    version: rec.serverVersion || undefined,
    timeouts: settings.timeouts,
    onTokens: (t) => {
      const { sealedTokens: _sealed, ...cur } = loadAccount(home) ?? rec;
      saveAccount(home, { ...cur, tokens: t });
    },
  });
}
