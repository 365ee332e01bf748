// Qiniu (spec §6.10), multipart upload v2: `upload_urls[0]` = `/__vendor/qiniu/buckets/{bucket}/objects/{b64 key}/uploads/{id}`,
// `credential` = an upload token `{ak}:{sign}:{b64 put-policy}` (the policy names the key, fsizeLimit and the deadline).
// `PUT …/{n}` with `Authorization: UpToken …` → `{etag, md5}`; `POST …` with the JSON part list assembles the object,
// calls the master back (as Qiniu does) and relays its answer; 579 when that callback failed. Errors are `{error}`:
// 401 bad or expired token, 612 no such upload, 400 bad part list, 413 part too large.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { HANDLED, type Ctx, type Router, readBody, sendJson } from './http.js';
import type { Core, UploadSession } from './state.js';
import { policyAdapters } from './upload.js';
import { callbackProcessors } from './slave.js';
import { checkSize, readVendorCallback, sendVendorCallback } from './vendor-callback.js';
import { assemble, receiveHashed } from './vendor-s3.js';

const BUCKET = 'cloudreve';
const MAX_PART = 1024 * 1024 * 1024;
const MIN_PART = 1024 * 1024;

function b64url(s: string): string {
  return Buffer.from(s).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function upToken(core: Core, s: UploadSession): string {
  const policy = b64url(JSON.stringify({ scope: `${BUCKET}:${s.vendor!.key}`, deadline: s.expires, fsizeLimit: s.size, callbackUrl: `${core.baseUrl}/api/v4/callback/qiniu/${s.id}/${s.callbackSecret}` }));
  const sign = createHmac('sha1', core.vendorSecret).update(policy).digest('base64').replace(/\+/g, '-').replace(/\//g, '_');
  return `emulator-ak:${sign}:${policy}`;
}

function fail(ctx: Ctx, status: number, error: string): typeof HANDLED {
  if (!ctx.req.complete) ctx.req.resume();
  sendJson(ctx.res, status, { error }, { connection: 'close' });
  return HANDLED;
}

/** The session of a request, or the error answer already sent. */
function authorized(ctx: Ctx, uploadId: string): UploadSession | typeof HANDLED {
  const auth = String(ctx.req.headers.authorization ?? '');
  const s = [...ctx.core.sessions.values()].find((x) => x.vendor?.uploadId === uploadId && x.policy.type === 'qiniu');
  if (!auth.startsWith('UpToken ')) return fail(ctx, 401, 'bad token');
  const [ak, sign, policy] = auth.slice('UpToken '.length).split(':');
  const want = createHmac('sha1', ctx.core.vendorSecret).update(policy ?? '').digest('base64').replace(/\+/g, '-').replace(/\//g, '_');
  if (ak !== 'emulator-ak' || !sign || sign.length !== want.length || !timingSafeEqual(Buffer.from(sign), Buffer.from(want))) return fail(ctx, 401, 'bad token');
  let p: { deadline?: number; scope?: string };
  try {
    p = JSON.parse(Buffer.from(policy, 'base64').toString('utf8')) as typeof p;
  } catch {
    return fail(ctx, 401, 'bad token');
  }
  if (!p.deadline || p.deadline * 1000 < Date.now()) return fail(ctx, 401, 'token out of date');
  ctx.core.sweep();
  if (!s || s.vendor!.stored || !ctx.core.sessions.has(s.id) || p.scope !== `${BUCKET}:${s.vendor!.key}`) return fail(ctx, 612, 'no such uploadId');
  return s;
}

async function putPart(ctx: Ctx, [, id, n]: string[]): Promise<unknown> {
  ctx.core.stats.chunk_requests++;
  const s = authorized(ctx, id);
  if (s === HANDLED) return HANDLED;
  const num = Number(n);
  if (!Number.isInteger(num) || num < 1 || num > 10000) return fail(ctx, 400, 'invalid partNumber');
  const len = Number(ctx.req.headers['content-length']);
  if (!Number.isInteger(len)) return fail(ctx, 411, 'Content-Length required');
  if (len > MAX_PART) return fail(ctx, 413, 'part too large');
  const dir = path.join(ctx.core.dataDir, 'vendor', s.id);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${num}.part`);
  const got = await receiveHashed(ctx, file, len);
  if (got.size !== len) return fail(ctx, 400, 'incomplete body');
  // Qiniu's part etag is its own hash; the MD5 stands in for it
  const etag = Buffer.from(got.md5, 'hex').toString('base64url');
  s.vendor!.parts.set(num, { etag, size: got.size, file });
  ctx.core.partAccepted(s, num - 1, got.size);
  sendJson(ctx.res, 200, { etag, md5: got.md5 });
  return HANDLED;
}

async function complete(ctx: Ctx, [, id]: string[]): Promise<unknown> {
  const s = authorized(ctx, id);
  if (s === HANDLED) return HANDLED;
  let body: { parts?: Array<{ etag?: unknown; partNumber?: unknown }> };
  try {
    body = JSON.parse((await readBody(ctx.req, 4 << 20)).toString('utf8')) as typeof body;
  } catch {
    return fail(ctx, 400, 'invalid JSON');
  }
  const list = Array.isArray(body.parts) ? body.parts : [];
  if (list.length === 0) return fail(ctx, 400, 'empty parts');
  const min = s.policy.minPartSize ?? MIN_PART;
  const parts = [];
  let prev = 0;
  for (let i = 0; i < list.length; i++) {
    const num = Number(list[i].partNumber);
    const p = s.vendor!.parts.get(num);
    if (!Number.isInteger(num) || num <= prev) return fail(ctx, 400, 'parts not in ascending order');
    prev = num;
    if (!p || p.etag !== list[i].etag) return fail(ctx, 400, `part ${num}: etag does not match`);
    if (i < list.length - 1 && p.size < min) return fail(ctx, 400, `part ${num} is smaller than ${min} bytes`);
    parts.push(p);
  }
  const size = parts.reduce((n, p) => n + p.size, 0);
  if (size > s.size) return fail(ctx, 413, 'file size exceeds fsizeLimit');
  await assemble(s, parts);
  const cb = await sendVendorCallback(ctx.core, 'qiniu', s, { size, pic_info: ',' });
  if (cb.status !== 200) return fail(ctx, 579, `callback failed: ${cb.status} ${cb.text.slice(0, 200)}`);
  ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(cb.text) });
  ctx.res.end(cb.text);
  return HANDLED;
}

export function registerQiniu(r: Router): void {
  const base = '/__vendor/qiniu/buckets/[^/]+/objects/([^/]+)/uploads/([^/]+)';
  r.add('PUT', `${base}/(\\d+)`, putPart);
  r.add('POST', base, complete);
  policyAdapters.qiniu = {
    prepare: async (_core, s) => {
      s.vendor = { uploadId: randomBytes(12).toString('hex'), key: `uploads/${s.id}`, parts: new Map(), next: 0, stored: false };
    },
    token: (core, s, out) => {
      const v = s.vendor!;
      out.upload_id = v.uploadId;
      out.upload_urls = [`${core.baseUrl}/__vendor/qiniu/buckets/${BUCKET}/objects/${Buffer.from(v.key).toString('base64url')}=/uploads/${v.uploadId}`];
      out.credential = upToken(core, s);
      out.mime_type = 'application/octet-stream';
    },
  };
  callbackProcessors.qiniu = async (ctx, s) => {
    const body = await readVendorCallback(ctx, 'qiniu');
    checkSize(s, body.size);
    ctx.core.complete(s, undefined);
    return undefined;
  };
}
