// Upyun (spec §6.11), two protocols.
// Form upload (what Cloudreve 4.x hands out): one HTML-form POST to `upload_urls[0]` = `/__vendor/upyun/{bucket}` with the
// fields `policy`, `authorization` (`UPYUN operator:base64(HMAC-SHA1(md5(password), "POST&/{bucket}&{policy}"))`),
// optional `content-type`, then `file` last. The file part is streamed to disk (never buffered). Errors are
// `{message, code}`: 401 bad signature or expired policy, 400 malformed form, 403 size outside content-length-range.
// Multi-stage upload (REST "断点续传", `policy.upyunChunked`): a chunked session whose `upload_urls[0]` is the object's
// REST URL `/__vendor/upyun/{bucket}/{key}`, `credential` the REST Authorization
// `UPYUN operator:base64(HMAC-SHA1(md5(password), "PUT&/{bucket}/{key}&{date}"))` and `upload_policy` base64 JSON
// `{"date", "expiration"}`. Every stage is a PUT of that URL with `Date` (or `X-Date`): `X-Upyun-Multi-Stage` initiate
// (`X-Upyun-Multi-Length`, `X-Upyun-Multi-Type`) → 204 + `X-Upyun-Multi-Uuid`, `X-Upyun-Next-Part-Id: 0`; upload
// (`X-Upyun-Multi-Uuid`, `X-Upyun-Part-Id` = the next id, 1 MiB parts but the last) → 204 + the next id (-1 after the
// last), each part streamed to disk at its offset; complete → 201, then the notify. Errors are the REST API's
// `{msg, code, id}` with Upyun's errno: 401 40100001/40100016/40100002/40100005 (no date, bad date, date outside its
// 30 minutes on the emulated Upyun clock, bad signature), 400 40011061 "part id error" (+ `X-Upyun-Next-Part-Id`),
// 40011058 unknown uuid (or older than 24 h), 40011059 already completed, 40001027 a part of the wrong size, 40001033
// a part past the end, 40001037 complete before every byte arrived, 40011051/40011052/40011055/40011056 bad headers.
// An error answer is sent after the request body was read (drained), so the client always reads it.
// Completion is asynchronous, as with Upyun: after answering, the emulator POSTs the master's notify URL a moment later.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { HANDLED, type Ctx, type Router, sendJson } from './http.js';
import type { Core, UploadSession } from './state.js';
import { policyAdapters } from './upload.js';
import { callbackProcessors } from './slave.js';
import { checkSize, readVendorCallback, sendVendorCallback } from './vendor-callback.js';
import { ClientGone, receiveInto } from './blobio.js';

const BUCKET = 'cloudreve';
const OPERATOR = 'emulator';
const HEAD_LIMIT = 64 * 1024;
/** how long after the upload Upyun's notification reaches the master */
const NOTIFY_DELAY_MS = 150;
/** the multi-stage upload's part: 1 MiB, except the last */
const PART = 1024 * 1024;
/** how long Upyun accepts a signed date (either way) */
const DATE_WINDOW_MS = 30 * 60_000;
/** how long Upyun keeps an unfinished multi-stage upload */
const MULTI_TTL_MS = 24 * 3600_000;

function password(core: Core): string {
  return core.vendorSecret.toString('hex');
}

function signed(core: Core, message: string): string {
  const key = createHash('md5').update(password(core)).digest('hex');
  return `UPYUN ${OPERATOR}:${createHmac('sha1', key).update(message).digest('base64')}`;
}

function sign(core: Core, policy: string): string {
  return signed(core, `POST&/${BUCKET}&${policy}`);
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

// ---------------------------------------------------------------- multi-stage (REST) upload

/** One multi-stage upload (an `X-Upyun-Multi-Uuid`). */
interface MultiUpload {
  length: number;
  type: string;
  /** the part id it expects next; -1 once every byte arrived */
  next: number;
  received: number;
  /** the parts so far, at their offsets */
  file: string;
  /** on the Upyun clock */
  createdMs: number;
  completed: boolean;
}

/** A chunked session's Upyun side: the date the server signed, and the multi-stage uploads started on its key. */
interface ChunkedUpyun {
  date: string;
  uploads: Map<string, MultiUpload>;
}

const chunked = new WeakMap<UploadSession, ChunkedUpyun>();
/** chunked sessions by object key: Upyun keeps answering for an upload after the master is done with its session */
const byKey = new WeakMap<Core, Map<string, UploadSession>>();

function upyunNow(core: Core): number {
  return Date.now() + core.settings.upyunClockOffsetMs;
}

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Reads whatever is left of the request body and drops it (an error answer comes after the body, as Upyun's does). */
function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded || req.destroyed) return resolve();
    req.once('end', resolve);
    req.once('close', resolve);
    req.once('error', () => resolve());
    req.resume();
  });
}

function header(ctx: Ctx, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Date window and signature of a REST request on `/{bucket}/{key}`. */
function checkAuth(ctx: Ctx, bucket: string, key: string): void {
  const date = header(ctx, 'x-date') ?? header(ctx, 'date');
  if (!date) throw new RestError(401, 40100001, 'need date header');
  const at = Date.parse(date);
  if (Number.isNaN(at)) throw new RestError(401, 40100016, 'invalid date value in header');
  if (Math.abs(upyunNow(ctx.core) - at) > DATE_WINDOW_MS) throw new RestError(401, 40100002, 'date offset error');
  const want = Buffer.from(signed(ctx.core, `PUT&/${bucket}/${key}&${date}`));
  const got = Buffer.from(header(ctx, 'authorization') ?? '');
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new RestError(401, 40100005, 'signature error');
}

function uploadOf(ctx: Ctx, c: ChunkedUpyun): MultiUpload {
  const uuid = header(ctx, 'x-upyun-multi-uuid');
  if (!uuid || !/^[0-9a-f-]{36}$/i.test(uuid)) throw new RestError(400, 40011056, 'invalid x-upyun-multi-uuid');
  const u = c.uploads.get(uuid.toLowerCase());
  if (!u || upyunNow(ctx.core) - u.createdMs > MULTI_TTL_MS) throw new RestError(400, 40011058, 'x-upyun-multi-uuid not found');
  if (u.completed) throw new RestError(400, 40011059, 'file already upload');
  return u;
}

function uuidHeaders(ctx: Ctx, extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-upyun-multi-uuid': (header(ctx, 'x-upyun-multi-uuid') ?? '').toLowerCase(), ...extra };
}

async function initiate(ctx: Ctx, s: UploadSession, c: ChunkedUpyun): Promise<void> {
  const length = header(ctx, 'x-upyun-multi-length') ?? '';
  if (!/^\d+$/.test(length) || !Number.isSafeInteger(Number(length))) throw new RestError(400, 40011052, 'invalid x-upyun-multi-length');
  await drain(ctx.req);
  const uuid = randomUUID();
  const dir = path.join(ctx.core.dataDir, 'vendor', s.id);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${uuid}.upyun`);
  fs.writeFileSync(file, '');
  c.uploads.set(uuid, {
    length: Number(length),
    type: header(ctx, 'x-upyun-multi-type') || 'application/octet-stream',
    next: 0,
    received: 0,
    file,
    createdMs: upyunNow(ctx.core),
    completed: false,
  });
  ctx.res.writeHead(204, { 'x-upyun-multi-uuid': uuid, 'x-upyun-next-part-id': '0' });
  ctx.res.end();
}

async function uploadPart(ctx: Ctx, s: UploadSession, c: ChunkedUpyun): Promise<void> {
  ctx.core.stats.chunk_requests++;
  const u = uploadOf(ctx, c);
  const idText = header(ctx, 'x-upyun-part-id') ?? '';
  if (!/^\d+$/.test(idText)) throw new RestError(400, 40011051, 'invalid x-upyun-part-id');
  const id = Number(idText);
  // strictly in order: anything but the next id (a part sent again included) is refused with the id it expects
  if (id !== u.next) throw new RestError(400, 40011061, 'part id error', uuidHeaders(ctx, { 'x-upyun-next-part-id': String(u.next) }));
  const start = id * PART;
  if (start >= u.length) throw new RestError(400, 40001033, 'overflow multipart part');
  const expected = Math.min(PART, u.length - start);
  const declared = header(ctx, 'content-length');
  if (declared !== String(expected)) throw new RestError(400, 40001027, `wrong multipart size: part ${id} must be ${expected} bytes`);
  const n = await receiveInto(ctx.req, {
    file: u.file,
    offset: start,
    length: expected,
    onBytes: (k) => {
      ctx.core.stats.bytes_received += k;
    },
  });
  if (n !== expected) throw new ClientGone();
  // the same part may have come twice at once (a retry racing a lost attempt): only one of them moves on
  if (u.next !== id) throw new RestError(400, 40011061, 'part id error', uuidHeaders(ctx, { 'x-upyun-next-part-id': String(u.next) }));
  u.received = start + n;
  u.next = u.received >= u.length ? -1 : id + 1;
  ctx.core.partAccepted(s, id, n, Math.max(1, Math.ceil(u.length / PART)));
  ctx.res.writeHead(204, uuidHeaders(ctx, { 'x-upyun-next-part-id': String(u.next) }));
  ctx.res.end();
}

async function completeUpload(ctx: Ctx, s: UploadSession, c: ChunkedUpyun): Promise<void> {
  const u = uploadOf(ctx, c);
  await drain(ctx.req);
  ctx.core.sweep();
  // an upload of a session the master dropped (cancelled, expired) is one the emulator forgets
  if (!ctx.core.sessions.has(s.id) || s.vendor!.stored) throw new RestError(400, 40011058, 'x-upyun-multi-uuid not found');
  if (u.received !== u.length) throw new RestError(400, 40001037, `incomplete multipart parts: ${u.received} of ${u.length} bytes`);
  fs.renameSync(u.file, s.entity.blobPath);
  u.completed = true;
  s.vendor!.stored = true;
  for (const other of c.uploads.values()) if (other !== u && !other.completed) fs.rmSync(other.file, { force: true });
  ctx.res.writeHead(201, uuidHeaders(ctx, { 'x-upyun-multi-type': u.type, 'x-upyun-multi-length': String(u.length) }));
  ctx.res.end();
  // Upyun notifies the master asynchronously
  const key = s.vendor!.key;
  setTimeout(() => void sendVendorCallback(ctx.core, 'upyun', s, { code: 200, url: `/${key}`, size: u.length }), NOTIFY_DELAY_MS).unref();
}

async function restPut(ctx: Ctx, [bucket, key]: string[]): Promise<unknown> {
  try {
    checkAuth(ctx, bucket, key);
    const s = bucket === BUCKET ? byKey.get(ctx.core)?.get(key) : undefined;
    const c = s && chunked.get(s);
    if (!s || !c) throw new RestError(401, 40100005, 'signature error');
    const stage = header(ctx, 'x-upyun-multi-stage');
    if (stage === 'initiate') {
      ctx.core.sweep();
      // the emulator stores only objects an upload session of the master still waits for
      if (s.vendor!.stored || !ctx.core.sessions.has(s.id)) throw new RestError(401, 40100005, 'signature error');
      await initiate(ctx, s, c);
    } else if (stage === 'upload') await uploadPart(ctx, s, c);
    else if (stage === 'complete') await completeUpload(ctx, s, c);
    else throw new RestError(400, 40011055, 'invalid multipart stage');
  } catch (err) {
    if (!(err instanceof RestError)) throw err;
    await drain(ctx.req);
    sendJson(ctx.res, err.status, { msg: err.message, code: err.code, id: randomBytes(16).toString('hex') }, err.headers);
  }
  return HANDLED;
}

export function registerUpyun(r: Router): void {
  r.add('POST', '/__vendor/upyun/([^/]+)', formPost);
  r.add('PUT', '/__vendor/upyun/([^/]+)/(.+)', restPut);
  policyAdapters.upyun = {
    prepare: async (core, s) => {
      s.vendor = { uploadId: randomBytes(8).toString('hex'), key: `uploads/${s.id}`, parts: new Map(), next: 0, stored: false };
      if (s.policy.upyunChunked) {
        // the server signs the REST request with the date of now; the chunk size is the policy's
        chunked.set(s, { date: new Date(upyunNow(core)).toUTCString(), uploads: new Map() });
        let keys = byKey.get(core);
        if (!keys) byKey.set(core, (keys = new Map()));
        keys.set(s.vendor.key, s);
        return;
      }
      s.chunkSize = 0; // no chunking: the whole file in one form
    },
    token: (core, s, out) => {
      const c = chunked.get(s);
      if (c) {
        const key = s.vendor!.key;
        out.upload_urls = [`${core.baseUrl}/__vendor/upyun/${BUCKET}/${key}`];
        out.credential = signed(core, `PUT&/${BUCKET}/${key}&${c.date}`);
        out.upload_policy = Buffer.from(JSON.stringify({ date: c.date, expiration: Math.floor((Date.parse(c.date) + DATE_WINDOW_MS) / 1000) })).toString('base64');
        out.mime_type = 'application/octet-stream';
        out.chunk_size = s.chunkSize;
        return;
      }
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
    const body = await readVendorCallback(ctx, 'upyun');
    // the REST upload has no content-length-range: the server checks the size Upyun reports
    if (chunked.has(s)) checkSize(s, body.size);
    ctx.core.complete(s, undefined);
    return undefined;
  };
}
