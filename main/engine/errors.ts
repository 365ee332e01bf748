/**
 * Engine errors. Every failure that leaves the engine is an EngineError with a stable `code`
 * (a string, see ErrorCode), the Cloudreve envelope `serverCode` when the server produced it,
 * and a `cause`. `classify()` is the one place that decides what to do about an error:
 *   - 'retry'      transient: network, timeout, 5xx, server faults → back off and try again
 *   - 'fail-file'  this file cannot go (exists, too large, quota, bad name, lock, stale version…)
 *   - 'stop'       nothing can go until the user acts (re-login needed, wrong server, …)
 *
 * Messages never contain tokens, passwords, keys or signed URLs: build them from codes, paths and
 * server `msg` texts only (see redact()).
 */

export type Classification = 'retry' | 'fail-file' | 'stop';

/** Stable engine error codes (strings, so they survive JSON/IPC and read well in logs). */
export type ErrorCode =
  // transport
  | 'network' // connection refused/reset, DNS, TLS
  | 'timeout'
  | 'http-status' // unexpected HTTP status (e.g. 5xx, 404 page)
  | 'bad-response' // not JSON / not an envelope / malformed payload (e.g. an HTML page from a proxy)
  // server identity
  | 'not-cloudreve'
  | 'unsupported-version' // v3 or < 4.0.0
  // auth
  | 'login-required' // 401 / 40020 / refresh expired → user must log in again
  | 'invalid-password' // 40080
  | 'otp-required' // 203: 2FA step needed
  | 'otp-invalid' // 40022
  | 'account-disabled' // 40017 / 40018
  | 'captcha-required' // 40026 / 40027
  // per-file upload states
  | 'exists' // 40004
  | 'too-large' // 40049
  | 'quota' // 40051
  | 'name-rejected' // 40052
  | 'lock-conflict' // 40073
  | 'stale-version' // 40076
  | 'session-expired' // 40011
  | 'invalid-chunk' // 40012 / 40013
  | 'not-found' // 40016 / 404
  | 'unsupported-feature' // 40019, or the server version predates the feature (e.g. events < 4.11)
  | 'permission' // 403 / 40082
  | 'size-mismatch' // 40055
  | 'file-changed' // the local file changed/vanished during upload
  | 'local-io' // reading the local file failed
  | 'disk-full' // no room on the local disk for a download (checked before it starts; ENOSPC while writing)
  | 'server' // 5xxxx codes
  | 'throttled' // a storage provider asks to slow down (SlowDown, 429, retryAfterSeconds): retry after its hint
  | 'storage-protocol' // a storage provider refused what we sent as malformed (InvalidPart, EntityTooSmall…): a client bug
  | 'api' // any other non-zero envelope code
  | 'cancelled'
  | 'busy' // another process drives the same home folder
  | 'usage';

export interface EngineErrorOptions {
  serverCode?: number;
  correlationId?: string;
  httpStatus?: number;
  retryAfterMs?: number;
  data?: unknown;
  cause?: unknown;
}

export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly serverCode?: number;
  readonly correlationId?: string;
  readonly httpStatus?: number;
  /** From a Retry-After header, when the server sent one. */
  readonly retryAfterMs?: number;
  readonly data?: unknown;

  constructor(code: ErrorCode, message: string, opts: EngineErrorOptions = {}) {
    super(redact(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'EngineError';
    this.code = code;
    this.serverCode = opts.serverCode;
    this.correlationId = opts.correlationId;
    this.httpStatus = opts.httpStatus;
    this.retryAfterMs = opts.retryAfterMs;
    this.data = opts.data;
  }

  /** A plain, log-safe description. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      serverCode: this.serverCode,
      correlationId: this.correlationId,
      httpStatus: this.httpStatus,
    };
  }
}

/** Map a Cloudreve envelope code to an engine error code. */
export function codeForServer(serverCode: number): ErrorCode {
  switch (serverCode) {
    case 401:
    case 40020:
      return 'login-required';
    case 403:
    case 40082:
    case 40006:
      return 'permission';
    case 404:
    case 40016:
      return 'not-found';
    case 40004:
    case 409:
      return 'exists';
    case 40005:
    case 40071:
      return 'session-expired';
    case 40011:
      return 'session-expired';
    case 40012:
    case 40013:
      return 'invalid-chunk';
    case 40017:
    case 40018:
      return 'account-disabled';
    case 40019:
      return 'unsupported-feature';
    case 40022:
      return 'otp-invalid';
    case 40026:
    case 40027:
      return 'captcha-required';
    case 40049:
      return 'too-large';
    case 40051:
      return 'quota';
    case 40052:
      return 'name-rejected';
    case 40055:
      return 'size-mismatch';
    case 40073:
      return 'lock-conflict';
    case 40076:
      return 'stale-version';
    case 40080:
      return 'invalid-password';
    default:
      return serverCode >= 50000 && serverCode < 60000 ? 'server' : 'api';
  }
}

const RETRY_CODES: ReadonlySet<ErrorCode> = new Set(['network', 'timeout', 'server', 'bad-response', 'throttled']);
const STOP_CODES: ReadonlySet<ErrorCode> = new Set([
  'login-required',
  'invalid-password',
  'otp-required',
  'otp-invalid',
  'account-disabled',
  'captcha-required',
  'not-cloudreve',
  'unsupported-version',
  'usage',
  'busy',
]);

/**
 * What to do about an error. Unknown (non-Engine) errors are treated as transient network
 * trouble only when they look like Node socket errors; everything else fails the file.
 */
export function classify(err: unknown): Classification {
  if (err instanceof EngineError) {
    if (STOP_CODES.has(err.code)) return 'stop';
    if (RETRY_CODES.has(err.code)) return 'retry';
    if (err.code === 'http-status') {
      const s = err.httpStatus ?? 0;
      return s >= 500 || s === 429 || s === 408 ? 'retry' : 'fail-file';
    }
    return 'fail-file';
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_|ERR_STREAM_PREMATURE_CLOSE)/.test(code)) {
    return code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' ? 'fail-file' : 'retry';
  }
  return 'fail-file';
}

/** HTTP statuses that mean "busy, come back later" by definition (the server's or a proxy's answer). */
export const BUSY_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * A busy server: a retryable answer that says "temporarily unable, come back later" (HTTP 429/502/503/504, a storage
 * provider's SlowDown or throttling). Transfers wait those out for minutes (RetryPolicy.busyMs), not for a number of
 * attempts: a server under maintenance or load is not a broken file.
 */
export function isBusy(err: unknown): boolean {
  if (!(err instanceof EngineError) || classify(err) !== 'retry') return false;
  return err.code === 'throttled' || BUSY_STATUS.has(err.httpStatus ?? 0);
}

/** What the journal keeps of an error: enough to classify it again after a restart, nothing secret. */
export function errorRecord(err: EngineError): { code: string; message: string; serverCode?: number; httpStatus?: number } {
  return { code: err.code, message: err.message, serverCode: err.serverCode, httpStatus: err.httpStatus };
}

/** The error a journal record stands for (the inverse of errorRecord()). */
export function errorFromRecord(rec: { code: string; message: string; serverCode?: number; httpStatus?: number }): EngineError {
  return new EngineError(rec.code as ErrorCode, rec.message, { serverCode: rec.serverCode, httpStatus: rec.httpStatus });
}

/** True if the error is an AbortError from an AbortSignal. */
export function isAbort(err: unknown): boolean {
  return (
    (err instanceof EngineError && err.code === 'cancelled') ||
    (err as { name?: string } | null)?.name === 'AbortError' ||
    (err as { code?: string } | null)?.code === 'ABORT_ERR' ||
    (err as { code?: string } | null)?.code === 'ERR_CANCELED'
  );
}

/**
 * Removes secrets that could ride along in a message: bearer tokens, JWTs, `sign=` query values,
 * S3-style signatures and credentials, `key_plain_text`, passwords in JSON.
 */
export function redact(text: string): string {
  return text
    .replace(/(Bearer\s+(?:Cr\s+)?)[^\s"']+/gi, '$1[redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, '[redacted-jwt]')
    .replace(/([?&](?:sign|X-Amz-Signature|X-Amz-Credential|Signature|token|access_token|refresh_token)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/("(?:password|key_plain_text|iv|access_token|refresh_token|credential|callback_secret|otp)"\s*:\s*")[^"]*"/gi, '$1[redacted]"')
    // share passwords in cloudreve://<id>:<password>@share/...
    .replace(/(cloudreve:\/\/[^:@/\s"']*:)[^@/\s"']+@/gi, '$1[redacted]@')
    // callback secrets: /api/v4/callback/<type>/<session>/<secret>
    .replace(/(\/api\/v4\/callback\/[a-z0-9]+\/[^/\s"'?]+\/)[^/\s"'?]+/gi, '$1[redacted]');
}
