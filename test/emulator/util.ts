// Shared helpers: API errors, envelope, time formatting, URIs, hashids, Go-compatible JSON.
import { randomUUID } from 'node:crypto';

/** An error that becomes an envelope `{code, msg, data?, aggregated_error?}`. */
export class ApiError extends Error {
  constructor(
    public code: number,
    public msg: string,
    public data?: unknown,
    public aggregated?: Record<string, unknown>,
    /** HTTP status to use (default 200) */
    public httpStatus = 200,
  ) {
    super(`${code}: ${msg}`);
  }
}

export const E = {
  param: (msg = 'Invalid parameters.') => new ApiError(40001, msg),
  login: () => new ApiError(401, 'Login required'),
  noPerm: (msg = 'Permission denied') => new ApiError(403, msg),
  notFound: (msg = 'Not found') => new ApiError(404, msg),
  exist: () => new ApiError(40004, 'Object existed'),
  pathNotExist: () => new ApiError(40016, 'Path not exist'),
  illegalName: () => new ApiError(40052, 'Invalid object name'),
  tooLarge: () => new ApiError(40049, 'File is too large'),
  capacity: () => new ApiError(40051, 'Insufficient capacity'),
  stale: () => new ApiError(40076, 'File is updated during your edit'),
  sessionExpired: (msg = '') => new ApiError(40011, msg),
  credential: (msg = 'Failed to issue token pair') => new ApiError(40020, msg),
  io: (msg = 'Failed to upload file') => new ApiError(50004, msg),
};

/** Text of an error as Go's AppError.Error() would give it (no raw error here). */
export function errMsgOf(err: ApiError): string {
  return err.msg;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string | undefined | null): boolean {
  return typeof s === 'string' && UUID_RE.test(s);
}
export function newUuid(): string {
  return randomUUID();
}

/** Go time.Time JSON form: RFC 3339 with trimmed fractional seconds and the local offset. */
export function rfc3339(d: Date): string {
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  let s = `${local.getUTCFullYear()}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}`;
  const ms = local.getUTCMilliseconds();
  if (ms) s += '.' + p(ms, 3).replace(/0+$/, '');
  if (off === 0) return s + 'Z';
  const sign = off > 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${s}${sign}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

/** Go encoding/json string escaping (HTML-safe): `<`,`>`,`&`,U+2028,U+2029 escaped. */
export function goJsonString(s: string): string {
  return JSON.stringify(s)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

// ---------------------------------------------------------------- URIs

export type FsName = 'my' | 'trash' | 'share' | 'shared_with_me';
export interface ParsedUri {
  fs: FsName;
  /** user hashid in the authority, '' for current user */
  owner: string;
  /** decoded path segments */
  segs: string[];
}

/** Parse a `cloudreve://` URI. Throws 40001 "unknown uri" on garbage. */
export function parseUri(uri: unknown): ParsedUri {
  if (typeof uri !== 'string') throw E.param('unknown uri');
  const m = /^cloudreve:\/\/(?:([^@/?#]*)@)?([A-Za-z_]+)(\/[^?#]*)?(?:\?[^#]*)?$/.exec(uri);
  if (!m) throw E.param('unknown uri');
  const fsName = m[2].toLowerCase();
  if (!['my', 'trash', 'share', 'shared_with_me'].includes(fsName)) throw E.param('unknown uri');
  const rawPath = m[3] ?? '';
  const segs: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let dec: string;
    try {
      dec = decodeURIComponent(raw);
    } catch {
      throw E.param('unknown uri');
    }
    segs.push(dec);
  }
  const owner = (m[1] ?? '').split(':')[0];
  return { fs: fsName as FsName, owner, segs };
}

/** Encode a path segment like JS encodeURIComponent (the server's rule). */
export function encSeg(s: string): string {
  return encodeURIComponent(s);
}

export function buildUri(fs: FsName, segs: string[]): string {
  const base = `cloudreve://${fs}`;
  return segs.length ? `${base}/${segs.map(encSeg).join('/')}` : base;
}

// ---------------------------------------------------------------- hashids

const ALPHA = 'kqZ3mJ8wYpR2xN6vB9tLc4HdF7gS5aTjWuEeVrXn1bPyQ0sMhDiKfCzGoU';
/** id types (kept apart so ids of different kinds never collide) */
export const HT = { user: 0, file: 1, group: 2, policy: 3, entity: 4, node: 5 } as const;

/** Reversible "hashid-like" encoding of (type, id); at least 4 chars. */
export function hashid(type: number, id: number): string {
  let x = BigInt(id) * 8n + BigInt(type);
  x = x * 7919n + 1013n; // a little mixing so consecutive ids don't look consecutive
  const base = BigInt(ALPHA.length);
  let out = '';
  do {
    out = ALPHA[Number(x % base)] + out;
    x /= base;
  } while (x > 0n);
  while (out.length < 4) out = ALPHA[0] + out;
  return out;
}

export function unhashid(s: string, type: number): number | null {
  if (typeof s !== 'string' || !s) return null;
  const base = BigInt(ALPHA.length);
  let x = 0n;
  for (const ch of s) {
    const i = ALPHA.indexOf(ch);
    if (i < 0) return null;
    x = x * base + BigInt(i);
  }
  x -= 1013n;
  if (x < 0n || x % 7919n !== 0n) return null;
  x /= 7919n;
  if (x % 8n !== BigInt(type)) return null;
  return Number(x / 8n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Compare semver-ish strings "4.18.0[-pro]": <0, 0, >0 */
export function cmpVersion(a: string, b: string): number {
  const pa = a.replace(/-.*$/, '').split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.replace(/-.*$/, '').split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}
