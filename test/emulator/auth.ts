// JWT (HS256) token pairs, TOTP (RFC 6238) and HMAC "Bearer Cr" signatures (§2, §6.3).
import { createHmac, timingSafeEqual, createHash } from 'node:crypto';
import { goJsonString } from './util.js';

// ---------------------------------------------------------------- TOTP

export function base32Decode(s: string): Buffer {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = s.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const i = alpha.indexOf(ch);
    if (i < 0) throw new Error(`invalid base32 character ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function hotp(key: Buffer, counter: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

/** RFC 6238 TOTP: SHA1, 6 digits, 30 s period. */
export function totp(secretBase32: string, timeMs: number = Date.now()): string {
  return hotp(base32Decode(secretBase32), Math.floor(timeMs / 1000 / 30));
}

/** Validate like pquerna/otp totp.Validate (skew 1 period either side). */
export function totpValidate(secretBase32: string, code: string, timeMs: number = Date.now()): boolean {
  if (!/^\d{6}$/.test(code)) return false;
  const key = base32Decode(secretBase32);
  const c = Math.floor(timeMs / 1000 / 30);
  for (const d of [0, -1, 1]) if (hotp(key, c + d) === code) return true;
  return false;
}

// ---------------------------------------------------------------- JWT HS256

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function jwtSign(payload: Record<string, unknown>, secret: Buffer): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(payload));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  return `${head}.${body}.${b64url(sig)}`;
}

/** Verify signature + exp/nbf (jwt/v5 semantics: valid iff nbf <= now < exp). Returns claims or null. */
export function jwtVerify(token: string, secret: Buffer, nowMs = Date.now()): Record<string, unknown> | null {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  let head: { alg?: string };
  let claims: Record<string, unknown>;
  try {
    head = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (head.alg !== 'HS256' || typeof claims !== 'object' || claims === null) return null;
  const expect = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  let got: Buffer;
  try {
    got = Buffer.from(parts[2], 'base64url');
  } catch {
    return null;
  }
  if (got.length !== expect.length || !timingSafeEqual(got, expect)) return null;
  const now = nowMs / 1000;
  if (typeof claims.exp === 'number' && !(now < claims.exp)) return null;
  if (typeof claims.nbf === 'number' && now < claims.nbf) return null;
  return claims;
}

export function stateHash(email: string, password: string, siteId: string): string {
  return createHash('sha256').update(`${email}|${password}|${siteId}`).digest('base64');
}

// ---------------------------------------------------------------- HMAC (Bearer Cr)

/** `base64url(HMAC-SHA256(key, content + ":" + expires)) + ":" + expires` (Go URLEncoding, padded). */
export function hmacSign(key: Buffer | string, content: string, expires: number): string {
  const sig = createHmac('sha256', key).update(`${content}:${expires}`).digest('base64');
  return sig.replace(/\+/g, '-').replace(/\//g, '_') + ':' + expires;
}

/** Result of a signature check: null = OK, else an error code/message pair. */
export type SignCheck = null | { code: number; msg: string };

export function hmacCheck(key: Buffer | string, content: string, sign: string, nowMs = Date.now()): SignCheck {
  const parts = sign.split(':');
  const last = parts[parts.length - 1];
  if (last === '') return { code: 403, msg: 'expire timestamp is missing' };
  if (!/^[+-]?\d+$/.test(last)) return { code: 40071, msg: 'sign expired' };
  const expires = parseInt(last, 10);
  if (expires !== 0 && expires < Math.floor(nowMs / 1000)) return { code: 40005, msg: 'signature expired' };
  const want = Buffer.from(hmacSign(key, content, expires));
  const got = Buffer.from(sign);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { code: 40071, msg: 'invalid sign' };
  return null;
}

/** Canonical MIME header key as Go's textproto does it: "x-cr-foo" → "X-Cr-Foo". */
export function canonicalHeaderKey(k: string): string {
  return k
    .split('-')
    .map((p) => (p ? p[0].toUpperCase() + p.slice(1).toLowerCase() : p))
    .join('-');
}

/**
 * Signed content of a request (§6.3): compact JSON {"Path","Header","Body"}.
 * headers: raw header pairs (name, value); only X-Cr-* except X-Cr-Filename are signed.
 */
export function signContent(path: string, headers: Array<[string, string]>, body: string): string {
  const first = new Map<string, string>();
  for (const [k, v] of headers) {
    const ck = canonicalHeaderKey(k);
    if (!ck.startsWith('X-Cr-') || ck === 'X-Cr-Filename') continue;
    if (!first.has(ck)) first.set(ck, v); // Header.Get returns the first value
  }
  const signed = [...first.entries()].map(([k, v]) => `${k}=${v}`).sort();
  return `{"Path":${goJsonString(path || '/')},"Header":${goJsonString(signed.join('&'))},"Body":${goJsonString(body)}}`;
}

export function rawHeaderPairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}
