// Upyun (spec §6.11): one HTML-form POST to `upload_urls[0]` = `/__vendor/upyun/{bucket}` with the fields `policy`,
// `authorization` (`UPYUN operator:base64(HMAC-SHA1(md5(password), "POST&/{bucket}&{policy}"))`), optional
// `content-type`, then `file` last. The file part is streamed to disk (never buffered). Errors are `{message, code}`:
// 401 bad signature or expired policy, 400 malformed form, 403 size outside content-length-range.
// Completion is asynchronous, as with Upyun: after answering, the emulator POSTs the master's notify URL a moment later.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { HANDLED, type Ctx, type Router, sendJson } from './http.js';
import type { Core, UploadSession } from './state.js';
import { policyAdapters } from './upload.js';
import { callbackProcessors } from './slave.js';
import { readVendorCallback, sendVendorCallback } from './vendor-callback.js';

const BUCKET = 'cloudreve';
const OPERATOR = 'emulator';
const HEAD_LIMIT = 64 * 1024;
/** how long after the upload Upyun's notification reaches the master */
const NOTIFY_DELAY_MS = 150;

function password(core: Core): string {
  return core.vendorSecret.toString('hex');
}

function sign(core: Core, policy: string): string {
  const key = createHash('md5').update(password(core)).digest('hex');
  return `UPYUN ${OPERATOR}:${createHmac('sha1', key).update(`POST&/${BUCKET}&${policy}`).digest('base64')}`;
}

function fail(ctx: Ctx, status: number, code: number, message: string): typeof HANDLED {
  if (!ctx.req.complete) ctx.req.resume();
  sendJson(ctx.res, status, { message, code }, { connection: 'close' });
  return HANDLED;
}

class FormError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the form's leading fields (bounded) up to the file part's headers; resolves with them and the bytes of the
 * file already read. The caller streams the rest.
 */
function readHead(ctx: Ctx, boundary: string): Promise<{ fields: Record<string, string>; rest: Buffer; consumed: number }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const fileHdr = buf.indexOf('name="file"');
      const end = fileHdr >= 0 ? buf.indexOf('\r\n\r\n', fileHdr) : -1;
      if (end < 0) {
        if (buf.length > HEAD_LIMIT) done(new FormError(400, 40000001, 'form fields before the file are too large or the file field is missing'));
        return;
      }
      const headText = buf.subarray(0, end + 4).toString('utf8');
      const fields: Record<string, string> = {};
      for (const part of headText.split(`--${boundary}\r\n`)) {
        const m = /^Content-Disposition: form-data; name="([^"]+)"(?:; filename="[^"]*")?\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)(?:\r\n)?$/i.exec(part);
        if (m && m[1] !== 'file') fields[m[1]] = m[2];
      }
      done(null, { fields, rest: buf.subarray(end + 4), consumed: end + 4 });
    };
    const done = (err: Error | null, v?: { fields: Record<string, string>; rest: Buffer; consumed: number }) => {
      ctx.req.off('data', onData);
      ctx.req.off('end', onEnd);
      ctx.req.pause();
      if (err) reject(err);
      else resolve(v!);
    };
    const onEnd = () => done(new FormError(400, 40000001, 'form ended before the file field'));
    ctx.req.on('data', onData);
    ctx.req.on('end', onEnd);
  });
}

/** Streams `length` file bytes (the first of them in `first`) into `file`, then checks the closing boundary. */
function streamFile(ctx: Ctx, file: string, first: Buffer, length: number, tail: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = fs.createWriteStream(file);
    let written = 0;
    let after = Buffer.alloc(0);
    const take = (c: Buffer) => {
      const room = length - written;
      const body = c.subarray(0, Math.max(0, room));
      if (body.length) {
        written += body.length;
        ctx.core.stats.bytes_received += body.length;
        if (!ws.write(body)) {
          ctx.req.pause();
          ws.once('drain', () => ctx.req.resume());
        }
      }
      if (c.length > body.length) after = Buffer.concat([after, c.subarray(body.length)]);
    };
    take(first);
    ctx.req.on('data', take);
    ctx.req.once('end', () => {
      ws.end(() => {
        if (written !== length || !after.equals(tail)) reject(new FormError(400, 40000001, 'malformed multipart body'));
        else resolve();
      });
    });
    ctx.req.once('error', (e) => reject(e));
    ctx.req.resume();
  });
}

async function formPost(ctx: Ctx): Promise<unknown> {
  ctx.core.stats.chunk_requests++;
  const ct = String(ctx.req.headers['content-type'] ?? '');
  const bm = /^multipart\/form-data;\s*boundary=(.+)$/i.exec(ct);
  const total = Number(ctx.req.headers['content-length']);
  if (!bm || !Number.isInteger(total)) return fail(ctx, 400, 40000001, 'multipart/form-data with Content-Length expected');
  const boundary = bm[1].replace(/^"|"$/g, '');
  try {
    const { fields, rest, consumed } = await readHead(ctx, boundary);
    if (fields.authorization !== sign(ctx.core, fields.policy ?? '')) throw new FormError(401, 40100005, 'signature error');
    let policy: Record<string, unknown>;
    try {
      policy = JSON.parse(Buffer.from(fields.policy, 'base64').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new FormError(400, 40000002, 'policy is not base64 JSON');
    }
    if (Number(policy.expiration) * 1000 < Date.now()) throw new FormError(401, 40100007, 'policy expired');
    const s = [...ctx.core.sessions.values()].find((x) => x.vendor?.key === policy['save-key'] && x.policy.type === 'upyun');
    if (!s || s.vendor!.stored) throw new FormError(401, 40100007, 'policy expired');
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const length = total - consumed - tail.length;
    const [lo, hi] = String(policy['content-length-range'] ?? '0,0').split(',').map(Number);
    if (length < lo || length > hi) throw new FormError(403, 40300011, 'file size not in content-length-range');
    await streamFile(ctx, s.entity.blobPath, rest, length, tail);
    s.vendor!.stored = true;
    sendJson(ctx.res, 200, { code: 200, message: 'ok', url: `/${s.vendor!.key}`, time: Math.floor(Date.now() / 1000) });
    // Upyun notifies the master asynchronously
    setTimeout(() => void sendVendorCallback(ctx.core, 'upyun', s, { code: 200, url: `/${s.vendor!.key}`, size: length }), NOTIFY_DELAY_MS).unref();
    return HANDLED;
  } catch (err) {
    if (err instanceof FormError) return fail(ctx, err.status, err.code, err.message);
    throw err;
  }
}

export function registerUpyun(r: Router): void {
  r.add('POST', '/__vendor/upyun/([^/]+)', formPost);
  policyAdapters.upyun = {
    prepare: async (_core, s) => {
      s.chunkSize = 0; // no chunking: the whole file in one form
      s.vendor = { uploadId: randomBytes(8).toString('hex'), key: `uploads/${s.id}`, parts: new Map(), next: 0, stored: false };
    },
    token: (core, s, out) => {
      const policy = Buffer.from(
        JSON.stringify({
          bucket: BUCKET,
          'save-key': s.vendor!.key,
          expiration: s.expires,
          'notify-url': `${core.baseUrl}/api/v4/callback/upyun/${s.id}/${s.callbackSecret}`,
          'content-length': s.size,
          'content-length-range': `0,${s.size}`,
        }),
      ).toString('base64');
      out.upload_urls = [`${core.baseUrl}/__vendor/upyun/${BUCKET}`];
      out.upload_policy = policy;
      out.credential = sign(core, policy);
      out.mime_type = 'application/octet-stream';
      out.chunk_size = 0;
    },
  };
  callbackProcessors.upyun = async (ctx, s) => {
    await readVendorCallback(ctx, 'upyun');
    ctx.core.complete(s, undefined);
    return undefined;
  };
}
