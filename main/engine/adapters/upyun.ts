/**
 * Upyun (spec §6.11), two protocols; the session decides which.
 *
 * Form upload (what every Cloudreve 4.x server hands out: `chunk_size` 0): the whole (possibly encrypted) file in one
 * HTML-form POST to `upload_urls[0]`, fields in order `policy`, `authorization`, `content-type` (when the session has a
 * MIME type), then `file`. The form is streamed: its framing is computed up front so the request has an exact
 * Content-Length, and the file is never held in memory. One request: nothing to continue after a restart.
 *
 * Multi-stage upload (Upyun REST "断点续传"), for a server that hands out a chunked session. Cloudreve 4.x never does,
 * so the session's shape is this client's documented assumption (README, "Storage policies"): `chunk_size` > 0 and a
 * multiple of Upyun's fixed 1 MiB part; `upload_urls[0]` the object's REST URL `https://v0.api.upyun.com/{bucket}/{key}`;
 * `credential` the REST `Authorization` value `UPYUN {operator}:{base64(HMAC-SHA1(md5hex(password),
 * "PUT&/{bucket}/{key}&{date}"))}`; `upload_policy` base64 JSON `{"date", "expiration"}`, `date` being the RFC 1123
 * date that was signed. Every request is a PUT of that URL with the credential and that `Date`:
 *   initiate (`X-Upyun-Multi-Length`, `X-Upyun-Multi-Type`, empty body) → 204 + `X-Upyun-Multi-Uuid`;
 *   upload part n from 0, strictly in order, 1 MiB each but the last (`X-Upyun-Multi-Uuid`, `X-Upyun-Part-Id`) → 204;
 *   complete (`X-Upyun-Multi-Uuid`) → 201 or 204.
 * An engine part (chunk_size) is chunk_size / 1 MiB Upyun parts sent one after the other, each read into a buffer of
 * at most 1 MiB first, so that a part Upyun turns away as already held is skipped exactly (below). Parts never go in
 * parallel: Upyun takes them in order only.
 * The uuid rides in the receipt of every part (the journal's etag column; no migration), so a later process continues
 * the same upload from the parts the journal acknowledged. Part 0 starts the upload: a retried or re-sent part 0 starts
 * a new one (Upyun drops an unfinished one after 24 h).
 * A part Upyun already holds (its answer was lost, or the process died before the journal recorded it) is answered
 * 40011061 "part id error" with `X-Upyun-Next-Part-Id`, or 40011062 "part already complete": the parts it holds are
 * skipped. A `Next-Part-Id` below the part sent means Upyun lost parts it had accepted: a new session. Upyun accepts a
 * signed date for 30 minutes; after that it answers 401 (40100002 "date offset error") and the engine makes a new
 * session, as for an expired S3 URL (provider-error.ts).
 * An empty file: initiate with length 0, then complete; Upyun's doc sets no minimum length, and the form upload is not
 * open to a chunked session (its credential signs the PUT of the REST API, not a form policy).
 *
 * Both: Upyun notifies Cloudreve asynchronously (`notify-url`); completion is confirmed by polling the file until its
 * upload placeholder (`sys:upload_session_id`) is gone.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { headerValue, type RawResponse } from '../api/http.js';
import type { UploadSession } from '../api/types.js';
import { EngineError } from '../errors.js';
import { sleep } from '../transfer/retry.js';
import type { AdapterCapabilities, AdapterContext, PartReceipt, PartUpload, PolicyAdapter } from './adapter.js';
import { upyunCode, upyunError } from './provider-error.js';
import { storageContext, storageRequest } from './storage-http.js';

/** How long Upyun's asynchronous notification may take before the upload counts as failed. */
const COMMIT_WAIT_MS = 120_000;
/** Upyun's multi-stage part: fixed at 1 MiB, except the last one. */
export const UPYUN_PART = 1024 * 1024;

const FORM: AdapterCapabilities = { chunked: false, parallelParts: false, resumable: false, needsComplete: true, emptyFiles: true, partMultiple: 0 };
const MULTI_STAGE: AdapterCapabilities = { chunked: true, parallelParts: false, resumable: true, needsComplete: true, emptyFiles: true, partMultiple: UPYUN_PART };
const EMPTY = Buffer.alloc(0);

function formField(boundary: string, name: string, value: string): string {
  return `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
}

/** The multipart/form-data framing around a file of `length` bytes. */
export function uploadForm(session: UploadSession, fileName: string): { boundary: string; head: Buffer; tail: Buffer } {
  if (!session.upload_policy || !session.credential) throw new EngineError('bad-response', 'upyun upload session has no upload policy or credential');
  const boundary = `----CloudreveSync${randomBytes(12).toString('hex')}`;
  let head = formField(boundary, 'policy', session.upload_policy) + formField(boundary, 'authorization', session.credential);
  if (session.mime_type) head += formField(boundary, 'content-type', session.mime_type);
  const safeName = fileName.replace(/["\r\n\\]/g, '_');
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { boundary, head: Buffer.from(head, 'utf8'), tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
}

function framed(head: Buffer, body: Readable | Buffer, tail: Buffer): Readable | Buffer {
  if (Buffer.isBuffer(body)) return Buffer.concat([head, body, tail]);
  const out = Readable.from(
    (async function* () {
      yield head;
      for await (const chunk of body) yield chunk as Buffer;
      yield tail;
    })(),
    { objectMode: false },
  );
  out.once('close', () => body.destroy());
  return out;
}

/** What a chunked session gives the multi-stage upload. */
export interface MultiStage {
  url: string;
  credential: string;
  /** the RFC 1123 date the credential signed, sent as `Date` */
  date: string;
}

function badSession(message: string): EngineError {
  return new EngineError('bad-response', `upyun chunked upload session: ${message}`);
}

/**
 * The multi-stage upload of a chunked session, or null for a form-upload session (`chunk_size` 0). A chunked session
 * of another shape than the documented one is refused here, before any request ('bad-response').
 */
export function multiStage(session: UploadSession): MultiStage | null {
  if (!(session.chunk_size > 0)) return null;
  if (!Number.isSafeInteger(session.chunk_size) || session.chunk_size % UPYUN_PART !== 0) {
    throw badSession(`chunk size ${session.chunk_size} is not a multiple of Upyun's 1 MiB (1048576-byte) part`);
  }
  const url = session.upload_urls?.[0];
  if (!url || !session.credential || !session.upload_policy) throw badSession('no upload URL, credential or upload policy');
  let date: unknown;
  try {
    date = (JSON.parse(Buffer.from(session.upload_policy, 'base64').toString('utf8')) as { date?: unknown } | null)?.date;
  } catch {
    /* checked below */
  }
  if (typeof date !== 'string' || !/^[\x20-\x7e]+$/.test(date) || Number.isNaN(Date.parse(date))) throw badSession('the upload policy has no signed date');
  return { url, credential: session.credential, date };
}

/** One PUT of the multi-stage API. */
async function put(m: MultiStage, op: string, headers: Record<string, string>, body: Buffer, signal: AbortSignal) {
  const rctx = { ...storageContext(`${op} (upyun)`, 'PUT', m.url), secrets: [m.credential] };
  const raw = await storageRequest('PUT', m.url, rctx, {
    body,
    length: body.length,
    headers: { authorization: m.credential, date: m.date, 'content-type': 'application/octet-stream', ...headers },
    signal,
  });
  return { raw, rctx };
}

async function initiate(m: MultiStage, session: UploadSession, size: number, signal: AbortSignal): Promise<string> {
  const { raw, rctx } = await put(
    m,
    'start multi-stage upload',
    { 'x-upyun-multi-stage': 'initiate', 'x-upyun-multi-length': String(size), 'x-upyun-multi-type': session.mime_type || 'application/octet-stream' },
    EMPTY,
    signal,
  );
  if (raw.status !== 204) throw upyunError(raw, rctx);
  const uuid = headerValue(raw.headers, 'x-upyun-multi-uuid');
  if (!uuid || !/^[\x21-\x7e]+$/.test(uuid)) throw new EngineError('bad-response', `${rctx.op}: ${rctx.endpoint} answered without an X-Upyun-Multi-Uuid`, { httpStatus: raw.status });
  return uuid;
}

/** The upload's uuid: part 0 started it and its receipt keeps it. */
function uploadIdOf(first: PartReceipt | undefined): string {
  // without it nothing sent so far can be continued or completed: start over
  if (!first?.etag) throw new EngineError('session-expired', 'upyun: the multi-stage upload id (kept with part 1) is missing');
  return first.etag;
}

/**
 * Upyun's answer when it already holds part `n`: its next part id (Infinity: it holds every part), or null when the
 * answer is another error. 40011061 comes with `X-Upyun-Next-Part-Id`; 40011062 means part `n` itself is there.
 */
function heldFrom(raw: RawResponse, n: number): number | null {
  const code = upyunCode(raw.body);
  if (code === 40011062) return n + 1;
  if (code !== 40011061) return null;
  const v = headerValue(raw.headers, 'x-upyun-next-part-id');
  const next = v !== undefined && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (next === -1) return Infinity;
  if (!Number.isSafeInteger(next) || next === n) return null;
  if (next < n) throw new EngineError('session-expired', `upyun lost parts it had accepted (it expects part ${next + 1}, part ${n + 1} was next)`, { httpStatus: raw.status });
  return next;
}

/** Reads a part's body in pieces of exact sizes (a Buffer body is sliced, a stream is read as it comes). */
class PieceReader {
  private pending: Buffer[] = [];
  private have = 0;
  private offset = 0;
  private readonly it: AsyncIterator<Buffer> | null;

  constructor(private readonly body: Readable | Buffer) {
    this.it = Buffer.isBuffer(body) ? null : (body[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  }

  async read(n: number): Promise<Buffer> {
    if (Buffer.isBuffer(this.body)) {
      const out = this.body.subarray(this.offset, this.offset + n);
      this.offset += out.length;
      if (out.length !== n) throw new EngineError('local-io', 'upyun: a part ended before its last piece');
      return out;
    }
    while (this.have < n) {
      const r = await this.it!.next();
      if (r.done) throw new EngineError('local-io', 'upyun: a part ended before its last piece');
      this.pending.push(r.value);
      this.have += r.value.length;
    }
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.have);
    const out = all.subarray(0, n);
    this.pending = all.length > n ? [all.subarray(n)] : [];
    this.have -= n;
    return out;
  }

  /** Reads the stream to its end (which runs the file-change check behind it); nothing may be left. */
  async end(): Promise<void> {
    if (this.it) for (let r = await this.it.next(); !r.done; r = await this.it.next()) this.have += r.value.length;
    const left = Buffer.isBuffer(this.body) ? this.body.length - this.offset : this.have;
    if (left !== 0) throw new EngineError('local-io', `upyun: a part had ${left} bytes more than its length`);
  }
}

async function uploadMultiStage(m: MultiStage, { session, part, size, body, signal, receipts }: PartUpload): Promise<PartReceipt> {
  if (part.start % UPYUN_PART !== 0) throw new EngineError('storage-protocol', `upyun: part ${part.index + 1} starts at ${part.start}, not at a 1 MiB boundary`);
  const uuid = part.index === 0 ? await initiate(m, session, size, signal) : uploadIdOf(receipts?.get(0));
  const reader = new PieceReader(body);
  // Upyun's next part id when it turned a part away as held already; parts below it are read past, not sent
  let heldUpTo = 0;
  for (let n = part.start / UPYUN_PART; n * UPYUN_PART < part.end; n++) {
    const piece = await reader.read(Math.min(UPYUN_PART, part.end - n * UPYUN_PART));
    if (n < heldUpTo) continue;
    const { raw, rctx } = await put(m, `upload part ${n + 1}`, { 'x-upyun-multi-stage': 'upload', 'x-upyun-multi-uuid': uuid, 'x-upyun-part-id': String(n) }, piece, signal);
    if (raw.status === 204) {
      const next = headerValue(raw.headers, 'x-upyun-next-part-id');
      const isLast = (n + 1) * UPYUN_PART >= size;
      if (next !== undefined && next !== String(n + 1) && !(isLast && next === '-1')) {
        throw new EngineError('bad-response', `${rctx.op}: ${rctx.endpoint} answered next part ${next} after part ${n + 1}`, { httpStatus: raw.status });
      }
      continue;
    }
    const held = heldFrom(raw, n);
    if (held === null) throw upyunError(raw, rctx);
    heldUpTo = held;
  }
  await reader.end();
  return { index: part.index, etag: uuid };
}

async function completeMultiStage(m: MultiStage, receipts: PartReceipt[], signal: AbortSignal): Promise<void> {
  const uuid = uploadIdOf(receipts.find((r) => r.index === 0));
  const { raw, rctx } = await put(m, 'complete multi-stage upload', { 'x-upyun-multi-stage': 'complete', 'x-upyun-multi-uuid': uuid }, EMPTY, signal);
  if (raw.status === 201 || raw.status === 204) return;
  // 40011059 "file already upload": an earlier complete went through and only its answer was lost
  if (upyunCode(raw.body) === 40011059) return;
  throw upyunError(raw, rctx);
}

async function uploadWholeForm({ session, part, body, signal }: PartUpload): Promise<PartReceipt> {
  const url = session.upload_urls?.[0];
  if (!url) throw new EngineError('bad-response', 'upyun upload session has no upload URL');
  const name = decodeURIComponent(session.uri.split('/').pop() ?? 'file');
  const { boundary, head, tail } = uploadForm(session, name);
  const rctx = { ...storageContext('upload file (upyun)', 'POST', url), secrets: [session.credential!, session.upload_policy!] };
  const raw = await storageRequest('POST', url, rctx, {
    body: framed(head, body, tail),
    length: head.length + part.length + tail.length,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    signal,
  });
  if (raw.status !== 200) throw upyunError(raw, rctx);
  return { index: part.index, etag: null };
}

/** Upyun tells Cloudreve itself: wait until the file is committed (its placeholder of this session is gone). */
async function awaitCommit(ctx: AdapterContext, session: UploadSession, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + COMMIT_WAIT_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    const file = await ctx.client.info(session.uri).catch((err: unknown) => {
      if (err instanceof EngineError && err.code === 'not-found') return null;
      throw err;
    });
    if (file && file.metadata?.['sys:upload_session_id'] !== session.session_id) return;
    if (Date.now() + delay > deadline) {
      throw new EngineError('timeout', `upyun: Cloudreve did not confirm ${session.uri} within ${COMMIT_WAIT_MS / 1000} s after the upload`);
    }
    await sleep(delay, signal);
  }
}

export function upyunAdapter(ctx: AdapterContext): PolicyAdapter {
  // the capabilities of the session's protocol (a chunked session of another shape is refused here)
  const chunked = ctx.session ? multiStage(ctx.session) !== null : false;
  return {
    kind: 'upyun',
    capabilities: chunked ? MULTI_STAGE : FORM,

    async uploadPart(req: PartUpload): Promise<PartReceipt> {
      const m = multiStage(req.session);
      return m ? uploadMultiStage(m, req) : uploadWholeForm(req);
    },

    async complete(session: UploadSession, receipts: PartReceipt[], signal: AbortSignal): Promise<void> {
      const m = multiStage(session);
      if (m) await completeMultiStage(m, receipts, signal);
      await awaitCommit(ctx, session, signal);
    },
  };
}
