// S3-like storage policies (spec §6.4–6.8): s3, ks3, oss, cos, obs.
//  - s3/ks3 with `policy.s3` set: a real S3 server (Swift). The emulator creates the multipart upload there and hands
//    out SigV4 pre-signed UploadPart and CompleteMultipartUpload URLs; the client callback HEADs the object and checks
//    its size, as Cloudreve does. The object stays there: downloads get its pre-signed GET, and the master's content
//    route and the test hooks read it from there (state.ts openBlob/readBlob).
//  - otherwise the emulator is the vendor: `/__vendor/s3like/{type}/{bucket}/{key}` takes pre-signed part PUTs and the
//    complete POST with each vendor's signed headers, XML errors (InvalidPart, InvalidPartOrder, EntityTooSmall,
//    NoSuchUpload, SignatureDoesNotMatch, AccessDenied "Request has expired"), and OSS/OBS's own callback to the master;
//    its pre-signed GET serves the object (the entity's blob) with Range.
//  - a committed object's download URL (POST /file/url) is the storage's pre-signed GET unless the entity is encrypted
//    (then the master decrypts: its signed content route), as Cloudreve's entitysource.Url decides (§4.8).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { serveRange } from './ranges.js';
import { XMLParser } from 'fast-xml-parser';
import { HANDLED, type Ctx, type Router, readBody } from './http.js';
import type { Core, EntityRec, UploadSession, VendorUpload } from './state.js';
import { presign, type S3Target } from './sigv4.js';
import type { EmulatorPolicy } from './types.js';
import { policyAdapters } from './upload.js';
import { callbackProcessors } from './slave.js';
import { checkSize, readVendorCallback, sendVendorCallback } from './vendor-callback.js';
import { ApiError } from './util.js';

export type S3LikeType = 's3' | 'ks3' | 'oss' | 'cos' | 'obs';
const TYPES: readonly S3LikeType[] = ['s3', 'ks3', 'oss', 'cos', 'obs'];
const OCTET = 'application/octet-stream';
const BUCKET = 'cloudreve';
const MiB = 1024 * 1024;

/** Headers each vendor's pre-signed URLs are signed with (their values are fixed when the URL is made). */
const SIGNED: Record<S3LikeType, { part: string[]; complete: string[]; get: string[] }> = {
  s3: { part: [], complete: [], get: [] },
  ks3: { part: ['content-type'], complete: ['content-type'], get: [] },
  oss: { part: ['content-type'], complete: ['content-type', 'x-oss-complete-all', 'x-oss-forbid-overwrite'], get: [] },
  cos: { part: ['content-type', 'content-length'], complete: ['content-type', 'x-cos-forbid-overwrite'], get: [] },
  obs: { part: ['content-type', 'content-length'], complete: ['content-type'], get: [] },
};
type Op = 'part' | 'complete' | 'get';
const FIXED: Record<string, string> = { 'content-type': OCTET, 'x-oss-complete-all': 'yes', 'x-oss-forbid-overwrite': 'true', 'x-cos-forbid-overwrite': 'true' };
/** The vendors' documented smallest non-last part. */
const MIN_PART: Record<S3LikeType, number> = { s3: 5 * MiB, ks3: 5 * MiB, oss: 100 * 1024, cos: MiB, obs: 100 * 1024 };

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: (name) => name === 'Part' });

function target(p: EmulatorPolicy): S3Target | null {
  if (!p.s3 || (p.type !== 's3' && p.type !== 'ks3')) return null;
  return { ...p.s3, region: p.s3.region ?? 'us-east-1' };
}

function partCount(s: UploadSession): number {
  return s.chunkSize === 0 || s.size === 0 ? 1 : Math.max(1, Math.ceil(s.size / s.chunkSize));
}

function partLength(s: UploadSession, n: number): number {
  if (s.chunkSize === 0) return s.size;
  return Math.max(0, Math.min(s.chunkSize, s.size - (n - 1) * s.chunkSize));
}

function newVendor(s: UploadSession): VendorUpload {
  return { uploadId: randomBytes(16).toString('hex'), key: `uploads/${s.id}`, parts: new Map(), next: 0, stored: false };
}

// ------------------------------------------------------------ the real S3 server

const bucketsMade = new WeakMap<Core, Set<string>>();

async function ensureBucket(core: Core, t: S3Target): Promise<void> {
  const made = bucketsMade.get(core) ?? new Set<string>();
  bucketsMade.set(core, made);
  if (made.has(t.bucket)) return;
  const r = await fetch(presign(t, 'PUT', '', {}, 300), { method: 'PUT' });
  const text = await r.text();
  if (r.status !== 200 && !/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(text)) throw new Error(`CreateBucket answered ${r.status}: ${text.slice(0, 200)}`);
  made.add(t.bucket);
}

async function prepareReal(core: Core, s: UploadSession, t: S3Target): Promise<void> {
  await ensureBucket(core, t);
  const v = newVendor(s);
  const r = await fetch(presign(t, 'POST', v.key, { uploads: '' }, 300), { method: 'POST', headers: { 'content-type': OCTET } });
  const text = await r.text();
  const id = (xml.parse(text) as { InitiateMultipartUploadResult?: { UploadId?: string } }).InitiateMultipartUploadResult?.UploadId;
  if (r.status !== 200 || !id) throw new Error(`CreateMultipartUpload answered ${r.status}: ${text.slice(0, 200)}`);
  v.uploadId = id;
  s.vendor = v;
}

/** The client's GET callback against a real server: HEAD the object and compare sizes; the object stays there. */
async function commitReal(s: UploadSession, t: S3Target): Promise<void> {
  const v = s.vendor!;
  const head = await fetch(presign(t, 'HEAD', v.key, {}, 300), { method: 'HEAD' });
  if (head.status === 404) throw new ApiError(40016, 'Object not found on the storage', undefined, undefined, 400);
  if (!head.ok) throw new ApiError(50002, `Storage answered ${head.status}`, undefined, undefined, 400);
  checkSize(s, head.headers.get('content-length'));
  v.stored = true;
  s.entity.object = { type: s.policy.type, key: v.key, s3: t };
  // the placeholder's (sparse) blob file is not where the bytes are
  fs.truncateSync(s.entity.blobPath, 0);
}

// ------------------------------------------------------------ the emulated vendors

function canonical(method: string, pathname: string, params: URLSearchParams, headerValues: string[]): string {
  const q = [...params.entries()].filter(([k]) => k !== 'Signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [method, pathname, q.map(([k, v]) => `${k}=${v}`).join('&'), ...headerValues].join('\n');
}

function signedUrl(core: Core, s: UploadSession, method: string, op: Op, params: Record<string, string>, length?: number): string {
  return vendorUrl(core, s.policy.type as S3LikeType, s.vendor!.key, method, op, params, s.expires, length);
}

function vendorUrl(core: Core, type: S3LikeType, key: string, method: string, op: Op, params: Record<string, string>, expires: number, length?: number): string {
  const pathname = `/__vendor/s3like/${type}/${BUCKET}/${key}`;
  const headers = SIGNED[type][op];
  const q = new URLSearchParams({ ...params, Expires: String(expires), 'X-Signed-Headers': headers.join(';') });
  const values = headers.map((h) => `${h}:${h === 'content-length' ? String(length) : FIXED[h]}`);
  const sig = createHmac('sha256', core.vendorSecret).update(canonical(method, pathname, q, values)).digest('hex');
  q.set('Signature', sig);
  return `${core.baseUrl}${pathname}?${q.toString()}`;
}

function xmlError(ctx: Ctx, status: number, code: string, message: string): typeof HANDLED {
  if (!ctx.req.complete) ctx.req.resume();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
  if (!ctx.res.headersSent) {
    ctx.res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: status >= 400 ? 'close' : 'keep-alive' });
    ctx.res.end(body);
  }
  return HANDLED;
}

class VendorError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Checks expiry and signature of a request to an emulated vendor URL. */
function verify(ctx: Ctx, type: S3LikeType, op: Op): void {
  const q = ctx.url.searchParams;
  const expires = Number(q.get('Expires'));
  if (!Number.isFinite(expires) || expires * 1000 < Date.now()) throw new VendorError(403, 'AccessDenied', 'Request has expired');
  const headers = (q.get('X-Signed-Headers') ?? '').split(';').filter(Boolean);
  if (headers.join(';') !== SIGNED[type][op].join(';')) throw new VendorError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  const values = headers.map((h) => `${h}:${String(ctx.req.headers[h] ?? '')}`);
  const want = Buffer.from(createHmac('sha256', ctx.core.vendorSecret).update(canonical(ctx.req.method ?? '', ctx.url.pathname, q, values)).digest('hex'));
  const got = Buffer.from(q.get('Signature') ?? '');
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new VendorError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
}

function sessionByUpload(core: Core, uploadId: string | null): UploadSession {
  for (const s of core.sessions.values()) if (s.vendor && s.vendor.uploadId === uploadId && !s.vendor.stored) return s;
  throw new VendorError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
}

function partsDir(core: Core, s: UploadSession): string {
  const d = path.join(core.dataDir, 'vendor', s.id);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** Streams a request body into `file`; resolves with its length and MD5 (hex). Never buffers the body. */
export async function receiveHashed(ctx: Ctx, file: string, limit: number): Promise<{ size: number; md5: string }> {
  const md5 = createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _e, cb) {
      size += chunk.length;
      if (size > limit) return cb(new VendorError(400, 'IncompleteBody', 'more data than Content-Length'));
      ctx.core.stats.bytes_received += chunk.length;
      md5.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(ctx.req, count, fs.createWriteStream(file));
  return { size, md5: md5.digest('hex') };
}

function declared(ctx: Ctx): number {
  const v = ctx.req.headers['content-length'];
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new VendorError(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  return parseInt(v, 10);
}

async function vendorRoute(ctx: Ctx, fn: () => Promise<void>): Promise<typeof HANDLED> {
  ctx.core.stats.chunk_requests++;
  try {
    await fn();
  } catch (err) {
    if (err instanceof VendorError) return xmlError(ctx, err.status, err.code, err.message);
    throw err;
  }
  return HANDLED;
}

async function partPut(ctx: Ctx, [type]: string[]): Promise<unknown> {
  return vendorRoute(ctx, async () => {
    const t = type as S3LikeType;
    verify(ctx, t, 'part');
    const s = sessionByUpload(ctx.core, ctx.url.searchParams.get('uploadId'));
    const n = Number(ctx.url.searchParams.get('partNumber'));
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw new VendorError(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
    const len = declared(ctx);
    const file = path.join(partsDir(ctx.core, s), `${n}.part`);
    const got = await receiveHashed(ctx, file, len);
    if (got.size !== len) throw new VendorError(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    const etag = `"${got.md5}"`;
    s.vendor!.parts.set(n, { etag, size: got.size, file });
    ctx.core.partAccepted(s, n - 1, got.size);
    ctx.res.writeHead(200, { etag, 'content-length': 0 });
    ctx.res.end();
  });
}

/** The part list of a complete request, checked as S3 checks it. */
type StoredPart = { etag: string; size: number; file: string };

function completedParts(s: UploadSession, list: Array<{ PartNumber?: unknown; ETag?: unknown }>): StoredPart[] {
  const v = s.vendor!;
  const min = s.policy.minPartSize ?? MIN_PART[s.policy.type as S3LikeType];
  const out: StoredPart[] = [];
  let prev = 0;
  for (let i = 0; i < list.length; i++) {
    const n = Number(list[i].PartNumber);
    if (!Number.isInteger(n) || n <= prev) throw new VendorError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
    prev = n;
    const p = v.parts.get(n);
    const etag = String(list[i].ETag ?? '').replace(/&quot;/g, '"');
    if (!p || etag.replace(/"/g, '') !== p.etag.replace(/"/g, '')) {
      throw new VendorError(400, 'InvalidPart', 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.');
    }
    if (i < list.length - 1 && p.size < min) throw new VendorError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
    out.push(p);
  }
  if (out.length === 0) throw new VendorError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  return out;
}

/** Concatenates the parts into the entity's blob (the object now exists on the "storage"). */
export async function assemble(s: UploadSession, parts: Array<{ file: string }>): Promise<void> {
  const ws = fs.createWriteStream(s.entity.blobPath);
  await pipeline(
    Readable.from(
      (async function* () {
        for (const p of parts) for await (const c of fs.createReadStream(p.file, { highWaterMark: MiB })) yield c as Buffer;
      })(),
    ),
    ws,
  );
  for (const p of parts) fs.rmSync(p.file, { force: true });
  s.vendor!.stored = true;
  s.entity.object = { type: s.policy.type, key: s.vendor!.key };
}

/**
 * The download URL of an object an S3-like storage holds (POST /file/url without the internal proxy): a pre-signed GET
 * of the real S3 server, or of the emulated vendor. Null when the entity is not such an object.
 */
export function objectUrl(core: Core, e: EntityRec, ttlS: number): { url: string; expires: Date } | null {
  const o = e.object;
  if (!o || !(TYPES as readonly string[]).includes(o.type)) return null;
  const expires = new Date(Date.now() + ttlS * 1000);
  if (o.s3) return { url: presign(o.s3, 'GET', o.key, {}, ttlS), expires };
  return { url: vendorUrl(core, o.type as S3LikeType, o.key, 'GET', 'get', {}, Math.floor(expires.getTime() / 1000)), expires };
}

/** GET/HEAD of an emulated vendor's object by its pre-signed URL: Range, ETag, XML errors as S3 answers them. */
async function objectGet(ctx: Ctx, [type, key]: string[]): Promise<unknown> {
  try {
    verify(ctx, type as S3LikeType, 'get');
  } catch (err) {
    if (err instanceof VendorError) return xmlError(ctx, err.status, err.code, err.message);
    throw err;
  }
  let e: EntityRec | undefined;
  for (const x of ctx.core.entities.values()) if (x.object && !x.object.s3 && x.object.key === key && !x.placeholder) e = x;
  if (!e) return xmlError(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
  const found = e;
  return serveRange(ctx, {
    size: found.size,
    etag: `"${createHash('md5').update(`${found.id}:${key}`).digest('hex')}"`,
    open: async (start, end) => fs.createReadStream(found.blobPath, { start, end, highWaterMark: MiB }),
    unsatisfiable: (c) => void xmlError(c, 416, 'InvalidRange', 'The requested range is not satisfiable'),
  });
}

async function completePost(ctx: Ctx, [type]: string[]): Promise<unknown> {
  return vendorRoute(ctx, async () => {
    const t = type as S3LikeType;
    verify(ctx, t, 'complete');
    const s = sessionByUpload(ctx.core, ctx.url.searchParams.get('uploadId'));
    const body = (await readBody(ctx.req, 4 * MiB)).toString('utf8');
    let list: Array<{ PartNumber?: unknown; ETag?: unknown }>;
    if (t === 'oss' && ctx.req.headers['x-oss-complete-all'] === 'yes') {
      if (body.trim()) throw new VendorError(400, 'InvalidArgument', 'x-oss-complete-all requires an empty body');
      const all = [...s.vendor!.parts.entries()].sort(([a], [b]) => a - b);
      list = all.map(([n, p]) => ({ PartNumber: n, ETag: p.etag }));
    } else {
      let doc: { CompleteMultipartUpload?: { Part?: Array<{ PartNumber?: unknown; ETag?: unknown }> } };
      try {
        doc = xml.parse(body) as typeof doc;
      } catch {
        throw new VendorError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
      }
      list = doc.CompleteMultipartUpload?.Part ?? [];
    }
    const parts = completedParts(s, list);
    await assemble(s, parts);
    const stored = parts.reduce((n, p) => n + p.size, 0);
    if (t === 'oss' || t === 'obs') {
      // the vendor calls Cloudreve back and relays its answer
      const payload = t === 'oss' ? { name: s.node.name, source_name: s.vendor!.key, size: stored, pic_info: ',' } : { name: s.vendor!.key, source_name: s.node.name, size: stored };
      const cb = await sendVendorCallback(ctx.core, t, s, payload);
      if (cb.status !== 200) throw new VendorError(203, 'CallbackFailed', `Error status : ${cb.status}. ${cb.text.slice(0, 200)}`);
      ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(cb.text) });
      ctx.res.end(cb.text);
      return;
    }
    const out = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Bucket>${BUCKET}</Bucket><Key>${s.vendor!.key}</Key><ETag>"${createHash('md5').update(parts.map((p) => p.etag).join('')).digest('hex')}-${parts.length}"</ETag></CompleteMultipartUploadResult>`;
    ctx.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(out) });
    ctx.res.end(out);
  });
}

// ------------------------------------------------------------ registration

export function registerS3Like(r: Router): void {
  r.add('PUT', '/__vendor/s3like/(s3|ks3|oss|cos|obs)/[^/]+/(?:.+)', partPut);
  r.add('POST', '/__vendor/s3like/(s3|ks3|oss|cos|obs)/[^/]+/(?:.+)', completePost);
  r.add('GET', '/__vendor/s3like/(s3|ks3|oss|cos|obs)/[^/]+/(.+)', objectGet);
  r.add('HEAD', '/__vendor/s3like/(s3|ks3|oss|cos|obs)/[^/]+/(.+)', objectGet);
  for (const type of TYPES) {
    policyAdapters[type] = {
      prepare: async (core, s) => {
        const t = target(s.policy);
        if (t) return prepareReal(core, s, t);
        s.vendor = newVendor(s);
      },
      token: (core, s, out) => {
        const v = s.vendor!;
        const t = target(s.policy);
        const n = partCount(s);
        const ttl = s.expires - Math.floor(Date.now() / 1000);
        out.upload_id = v.uploadId;
        out.upload_urls = Array.from({ length: n }, (_, i) =>
          t
            ? presign(t, 'PUT', v.key, { partNumber: String(i + 1), uploadId: v.uploadId }, ttl)
            : signedUrl(core, s, 'PUT', 'part', { partNumber: String(i + 1), uploadId: v.uploadId }, partLength(s, i + 1)),
        );
        const extra: Record<string, string> = {};
        const cbUrl = `${core.baseUrl}/api/v4/callback/${type}/${s.id}/${s.callbackSecret}`;
        if (type === 'oss') extra.callback = Buffer.from(JSON.stringify({ callbackUrl: cbUrl, callbackBodyType: 'application/json' })).toString('base64');
        if (type === 'obs') extra['x-obs-callback'] = Buffer.from(JSON.stringify({ callbackUrl: cbUrl })).toString('base64');
        out.completeURL = t ? presign(t, 'POST', v.key, { uploadId: v.uploadId }, ttl) : signedUrl(core, s, 'POST', 'complete', { uploadId: v.uploadId, ...extra });
      },
    };
  }
  // The client's GET callback (s3, ks3, cos): the object must be there with the declared size.
  for (const type of ['s3', 'ks3', 'cos'] as const) {
    callbackProcessors[type] = async (ctx, s) => {
      const t = target(s.policy);
      if (t) await commitReal(s, t);
      else {
        if (!s.vendor?.stored) throw new ApiError(40016, 'Object not found on the storage', undefined, undefined, 400);
        checkSize(s, fs.statSync(s.entity.blobPath).size);
      }
      ctx.core.complete(s, undefined);
      return undefined;
    };
  }
  // OSS and OBS call back themselves (OSS with the size, which the master checks; OBS unchecked, as the server).
  callbackProcessors.oss = async (ctx, s) => {
    const body = await readVendorCallback(ctx, 'oss');
    checkSize(s, body.size);
    ctx.core.complete(s, undefined);
    return undefined;
  };
  callbackProcessors.obs = async (ctx, s) => {
    await readVendorCallback(ctx, 'obs');
    ctx.core.complete(s, undefined);
    return undefined;
  };
}
