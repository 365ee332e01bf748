/**
 * Storage providers' error bodies → typed EngineErrors that classify() understands:
 *   - throttling ('throttled', retried after the provider's hint: Retry-After or OneDrive's retryAfterSeconds)
 *   - an expired, refused or forgotten URL/upload ('session-expired': the engine makes a new Cloudreve session)
 *   - a malformed request of ours (wrong ETag, part too small, bad order: 'storage-protocol', fails loudly)
 *   - anything else by HTTP status ('http-status': 5xx/408/429 retried, the rest fails the file)
 * Formats: S3-family XML `<Error><Code/><Message/></Error>` (also inside an HTTP 200), OneDrive/Graph JSON
 * `{error: {code, message, innererror: {code}, retryAfterSeconds}}`, Qiniu `{error}`, Upyun `{message, code}` (form) or
 * `{msg, code, id}` (REST: the multi-stage upload).
 */
import { XMLParser } from 'fast-xml-parser';
import { retryAfterMs, scrub, type RawResponse, type RequestContext } from '../api/http.js';
import { EngineError, type ErrorCode } from '../errors.js';

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });

/** Parses an XML body; null when it is not XML. */
export function parseXml(body: string): Record<string, unknown> | null {
  if (!/^\s*</.test(body)) return null;
  try {
    return xml.parse(body) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The S3-family `<Error>` of a body, if it has one (S3 may send it with HTTP 200). */
export function s3ErrorOf(body: string): { code: string; message: string } | null {
  const doc = parseXml(body);
  const e = doc?.Error as Record<string, unknown> | undefined;
  if (!e || typeof e !== 'object') return null;
  return { code: String(e.Code ?? ''), message: String(e.Message ?? '') };
}

const S3_EXPIRED = new Set(['ExpiredToken', 'TokenRefreshRequired', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'NoSuchUpload', 'InvalidToken']);
const S3_THROTTLED = new Set(['SlowDown', 'RequestTimeout', 'ServiceUnavailable', 'InternalError', 'RequestTimeTooSkewed', 'Throttling']);
const S3_PROTOCOL = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'EntityTooLarge', 'BadDigest', 'InvalidDigest', 'MalformedXML', 'IncompleteBody', 'InvalidArgument']);

function s3Code(code: string, message: string, status: number): ErrorCode {
  if (S3_EXPIRED.has(code)) return 'session-expired';
  // pre-signed URL past X-Amz-Expires: 403 AccessDenied "Request has expired"
  if (code === 'AccessDenied' && /expire/i.test(message)) return 'session-expired';
  if (S3_THROTTLED.has(code)) return 'throttled';
  if (S3_PROTOCOL.has(code)) return 'storage-protocol';
  if (code === 'AccessDenied') return 'permission';
  return byStatus(status);
}

function byStatus(status: number): ErrorCode {
  if (status === 429 || status === 503) return 'throttled';
  if (status === 404 || status === 410) return 'session-expired';
  return 'http-status';
}

function jsonOf(body: string): Record<string, unknown> | null {
  if (!/^\s*\{/.test(body)) return null;
  try {
    const v = JSON.parse(body) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function make(code: ErrorCode, ctx: RequestContext, raw: RawResponse, detail: string, retryMs?: number): EngineError {
  return new EngineError(code, `${ctx.op}: ${ctx.endpoint} answered HTTP ${raw.status}: ${scrub(detail, ctx).slice(0, 300)}`, {
    httpStatus: raw.status,
    retryAfterMs: retryMs ?? retryAfterMs(raw.headers),
  });
}

/** An S3-family (S3, KS3, OSS, COS, OBS) error answer. */
export function s3Error(raw: RawResponse, ctx: RequestContext): EngineError {
  const e = s3ErrorOf(raw.body);
  if (e) return make(s3Code(e.code, e.message, raw.status), ctx, raw, `${e.code}${e.message ? `: ${e.message}` : ''}`);
  // OBS may answer in JSON {code, message}
  const j = jsonOf(raw.body);
  if (j && typeof j.code === 'string') return make(s3Code(j.code, String(j.message ?? ''), raw.status), ctx, raw, `${j.code}: ${String(j.message ?? '')}`);
  return make(byStatus(raw.status), ctx, raw, raw.body ? 'non-XML body' : 'empty body');
}

/** A Microsoft Graph (OneDrive) error answer. */
export function onedriveError(raw: RawResponse, ctx: RequestContext): EngineError {
  const j = jsonOf(raw.body);
  const err = (j?.error ?? null) as Record<string, unknown> | null;
  const inner = (err?.innererror ?? null) as Record<string, unknown> | null;
  const code = String(inner?.code ?? err?.code ?? '');
  const message = String(err?.message ?? '');
  const retrySec = Number(err?.retryAfterSeconds ?? j?.retryAfterSeconds);
  const retryMs = Number.isFinite(retrySec) && retrySec > 0 ? retrySec * 1000 : undefined;
  let kind: ErrorCode;
  if (retryMs !== undefined || raw.status === 429 || code === 'activityLimitReached' || code === 'throttledRequest') kind = 'throttled';
  else if (raw.status === 404 || code === 'itemNotFound' || code === 'uploadSessionNotFound' || code === 'unauthenticated' || raw.status === 401)
    kind = 'session-expired';
  else if (code === 'fragmentOverlap' || raw.status === 416) kind = 'http-status'; // the engine asks nextExpectedRanges and carries on
  else if (code === 'invalidRange' || code === 'invalidRequest') kind = 'storage-protocol';
  else kind = byStatus(raw.status);
  return make(kind, ctx, raw, code ? `${code}${message ? `: ${message}` : ''}` : raw.body ? 'unexpected body' : 'empty body', retryMs);
}

/** A Qiniu error answer `{error}` (401 bad token, 612 no such upload, 579 callback failed, 573 rate limit). */
export function qiniuError(raw: RawResponse, ctx: RequestContext): EngineError {
  const j = jsonOf(raw.body);
  const text = typeof j?.error === 'string' ? j.error : raw.body ? 'unexpected body' : 'empty body';
  let kind: ErrorCode;
  if (raw.status === 401 || raw.status === 612 || /expired/i.test(text)) kind = 'session-expired';
  else if (raw.status === 573 || raw.status === 429) kind = 'throttled';
  else if (raw.status === 400 || raw.status === 413) kind = 'storage-protocol';
  else if (raw.status === 579) kind = 'api'; // Cloudreve refused Qiniu's callback: retrying cannot help
  else kind = raw.status >= 500 ? 'server' : byStatus(raw.status);
  return make(kind, ctx, raw, text);
}

/** The Upyun errno (`code`) of an error body, or null. */
export function upyunCode(body: string): number | null {
  const c = jsonOf(body)?.code;
  const n = typeof c === 'number' || typeof c === 'string' ? Number(c) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

// Upyun's errno table (its REST docs, "API 错误码表"), for the multi-stage upload ("断点续传"):
/** the upload (or its signature) is gone: a new Cloudreve session. 401xxxxx (40100002 "date offset error": the signed
 *  date is past its 30 minutes; 40100005 "signature error") are caught by status; these are 400/403. */
const UPYUN_GONE = new Set([
  40011058, // x-upyun-multi-uuid not found (unknown, or older than 24 h)
  40001035, // notfound multipart uuid
  40001023, // wrong multipart uuid
  40011061, // part id error, when the adapter could not continue from the X-Upyun-Next-Part-Id it came with
  40300006, // authorization has expired
  40300028, // request has expired
]);
/** a request of ours the multi-stage API calls malformed: a client bug, fails the file loudly */
const UPYUN_PROTOCOL = new Set([
  40011051, // invalid x-upyun-part-id
  40011052, // invalid x-upyun-multi-length
  40011053, // invalid x-upyun-multi-type
  40011054, // invalid x-upyun-part-size
  40011055, // invalid multipart stage
  40011056, // invalid x-upyun-multi-uuid
  40001022, // wrong multipart action
  40001025, // wrong multipart length
  40001027, // wrong multipart size
  40001032, // oversize multipart part
  40001033, // overflow multipart part
  40001034, // unexpect multipart length
  40001037, // incomplete multipart parts
]);

/**
 * An Upyun error answer: the form API's `{message, code}` or the REST API's `{msg, code, id}`. 401 (bad signature, a
 * signed date or policy past its time) and the codes of a forgotten multi-stage upload mean a new session; 429 and
 * 503 throttle; the multi-stage API's "malformed request" codes are client bugs.
 */
export function upyunError(raw: RawResponse, ctx: RequestContext): EngineError {
  const j = jsonOf(raw.body);
  const msg = typeof j?.msg === 'string' ? j.msg : typeof j?.message === 'string' ? j.message : null;
  const code = upyunCode(raw.body);
  const text = msg !== null ? `${msg}${j?.code !== undefined ? ` (${String(j.code)})` : ''}` : raw.body ? 'unexpected body' : 'empty body';
  let kind: ErrorCode;
  if (raw.status === 401 || (code !== null && UPYUN_GONE.has(code)) || /expired|signature/i.test(text)) kind = 'session-expired';
  else if (code !== null && UPYUN_PROTOCOL.has(code)) kind = 'storage-protocol';
  else kind = byStatus(raw.status);
  return make(kind, ctx, raw, text);
}
