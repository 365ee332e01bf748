// OneDrive (spec §6.9): a Microsoft Graph upload session. `upload_urls[0]` = `/__vendor/onedrive/{session}?tempauth=…`
// (pre-authenticated). PUT with `Content-Range: bytes a-b/size`, strictly in order: a fragment that does not start at
// the next expected byte is refused (416 with innererror fragmentOverlap when it overlaps what is there, 416
// invalidRange past it), fragments are multiples of 320 KiB except the last, at most 60 MiB; 202 with
// `nextExpectedRanges` in between, 201 with the drive item at the end. GET answers the session status; a gone session
// is 404 itemNotFound. Commit: the client POSTs the Cloudreve callback, which checks the size.
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { HANDLED, type Ctx, type Router, sendJson } from './http.js';
import type { UploadSession } from './state.js';
import { policyAdapters } from './upload.js';
import { callbackProcessors } from './slave.js';
import { receiveInto, ClientGone } from './blobio.js';
import { checkSize } from './vendor-callback.js';
import { ApiError } from './util.js';

const FRAGMENT = 320 * 1024;
const MAX_FRAGMENT = 60 * 1024 * 1024;

function graphError(ctx: Ctx, status: number, code: string, message: string, inner?: string): typeof HANDLED {
  if (!ctx.req.complete) ctx.req.resume();
  sendJson(ctx.res, status, { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } }, status >= 400 ? { connection: 'close' } : {});
  return HANDLED;
}

function tempauth(ctx: { core: { vendorSecret: Buffer } }, sid: string): string {
  return createHmac('sha256', ctx.core.vendorSecret).update(`onedrive:${sid}`).digest('hex');
}

function status(s: UploadSession): Record<string, unknown> {
  return { expirationDateTime: new Date(s.expiresMs).toISOString(), nextExpectedRanges: s.vendor!.next < s.size ? [`${s.vendor!.next}-${s.size - 1}`] : [] };
}

function sessionFor(ctx: Ctx, sid: string): UploadSession | null {
  const want = Buffer.from(tempauth(ctx, sid));
  const got = Buffer.from(ctx.url.searchParams.get('tempauth') ?? '');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  const s = ctx.core.session(sid);
  return s && s.vendor && s.policy.type === 'onedrive' && !s.vendor.stored ? s : null;
}

async function put(ctx: Ctx, [sid]: string[]): Promise<unknown> {
  ctx.core.stats.chunk_requests++;
  const s = sessionFor(ctx, sid);
  if (!s) return graphError(ctx, 404, 'itemNotFound', 'The upload session was not found.');
  const v = s.vendor!;
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(ctx.req.headers['content-range'] ?? ''));
  if (!m) return graphError(ctx, 400, 'invalidRequest', 'Content-Range header is missing or malformed.');
  const [a, b, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const len = b - a + 1;
  if (total !== s.size || b < a || b >= total) return graphError(ctx, 400, 'invalidRequest', 'The Content-Range header is invalid.', 'invalidRange');
  if (String(ctx.req.headers['content-length'] ?? '') !== String(len)) return graphError(ctx, 400, 'invalidRequest', 'Content-Length does not match Content-Range.');
  if (len > MAX_FRAGMENT) return graphError(ctx, 413, 'requestTooLarge', 'The fragment is larger than 60 MiB.');
  if (b + 1 < total && len % FRAGMENT !== 0) return graphError(ctx, 400, 'invalidRequest', 'Fragments must be multiples of 320 KiB.', 'invalidRange');
  if (a < v.next) return graphError(ctx, 416, 'invalidRange', 'The uploaded fragment overlaps with data that has already been received.', 'fragmentOverlap');
  if (a > v.next) return graphError(ctx, 416, 'invalidRange', `Expected the fragment to start at ${v.next}.`, 'invalidRange');
  let n: number;
  try {
    n = await receiveInto(ctx.req, { file: s.entity.blobPath, offset: a, length: len, onBytes: (k) => (ctx.core.stats.bytes_received += k) });
  } catch (err) {
    if (err instanceof ClientGone) throw err;
    return graphError(ctx, 500, 'generalException', 'Storage write failed.');
  }
  if (n !== len) return graphError(ctx, 400, 'invalidRequest', 'The request body was shorter than Content-Length.');
  v.next = b + 1;
  if (v.next < s.size) {
    sendJson(ctx.res, 202, status(s));
    return HANDLED;
  }
  v.stored = true;
  sendJson(ctx.res, 201, { id: v.uploadId, name: s.node.name, size: s.size, file: {} });
  return HANDLED;
}

async function get(ctx: Ctx, [sid]: string[]): Promise<unknown> {
  const s = sessionFor(ctx, sid);
  if (!s) return graphError(ctx, 404, 'itemNotFound', 'The upload session was not found.');
  sendJson(ctx.res, 200, status(s));
  return HANDLED;
}

async function del(ctx: Ctx, [sid]: string[]): Promise<unknown> {
  const s = sessionFor(ctx, sid);
  if (!s) return graphError(ctx, 404, 'itemNotFound', 'The upload session was not found.');
  s.vendor!.next = 0;
  ctx.res.writeHead(204);
  ctx.res.end();
  return HANDLED;
}

export function registerOneDrive(r: Router): void {
  r.add('PUT', '/__vendor/onedrive/([^/]+)', put);
  r.add('GET', '/__vendor/onedrive/([^/]+)', get);
  r.add('DELETE', '/__vendor/onedrive/([^/]+)', del);
  policyAdapters.onedrive = {
    prepare: async (_core, s) => {
      if (s.size === 0) throw new Error('OneDrive cannot store empty files');
      s.vendor = { uploadId: s.id, key: s.node.name, parts: new Map(), next: 0, stored: false };
    },
    token: (core, s, out) => {
      out.upload_urls = [`${core.baseUrl}/__vendor/onedrive/${s.id}?tempauth=${tempauth({ core }, s.id)}`];
    },
  };
  callbackProcessors.onedrive = async (ctx, s) => {
    if (!s.vendor?.stored) throw new ApiError(40016, 'Object not found on the storage', undefined, undefined, 400);
    checkSize(s, fs.statSync(s.entity.blobPath).size);
    ctx.core.complete(s, undefined);
    return undefined;
  };
}
