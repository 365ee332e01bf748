// AWS Signature Version 4 query-string pre-signing (what Cloudreve's S3 driver hands out), Node built-ins only.
import { createHash, createHmac } from 'node:crypto';

export interface S3Target {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, '/' kept in paths when asked). */
function enc(s: string, keepSlash = false): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + ch.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const hmac = (k: Buffer | string, m: string): Buffer => createHmac('sha256', k).update(m).digest();

/**
 * A pre-signed path-style URL for `method` on `/{bucket}/{key}` (key '' = the bucket itself) with the operation's
 * query parameters, valid `expiresS` seconds; only `host` is signed, the payload is UNSIGNED-PAYLOAD.
 */
export function presign(t: S3Target, method: string, key: string, params: Record<string, string>, expiresS: number, now = new Date()): string {
  const u = new URL(t.endpoint);
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${t.region}/s3/aws4_request`;
  const path = `/${t.bucket}${key ? `/${key}` : ''}`;
  const q: Record<string, string> = {
    ...params,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${t.accessKey}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(Math.max(1, Math.min(604800, Math.floor(expiresS)))),
    'X-Amz-SignedHeaders': 'host',
  };
  const query = Object.keys(q)
    .sort()
    .map((k) => `${enc(k)}=${enc(q[k])}`)
    .join('&');
  const canonical = [method, enc(path, true), query, `host:${u.host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const kDate = hmac(`AWS4${t.secretKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, t.region), 's3'), 'aws4_request');
  const sig = createHmac('sha256', kSigning).update(toSign).digest('hex');
  return `${u.protocol}//${u.host}${enc(path, true)}?${query}&X-Amz-Signature=${sig}`;
}
