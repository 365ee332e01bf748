/**
 * HTTP to the Cloudreve master: one connection pool per client (keep-alive agents; requests through
 * transport.ts: no retries, no thrown HTTP errors, no redirects), the HTTP-200-with-`code` envelope, and the
 * mapping of every transport failure to an EngineError.
 *
 * Master-only headers (`Authorization: Bearer <jwt>`, `X-Cr-*`) are attached in exactly one place,
 * MasterHttp.send(), which only accepts a *path* under `/api/` and checks that the URL it builds is
 * on the master. There is no way to hand it a foreign URL. Code that talks to storage/slave URLs
 * uses foreignHeaders() to prove that no master header rides along.
 */
import { Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { closeAgents, open, send } from './transport.js';
import { EngineError, codeForServer, redact, type ErrorCode } from '../errors.js';
import type { Envelope } from './types.js';

export interface Timeouts {
  /** DNS + TCP (+TLS) connect */
  connectMs: number;
  /** from the end of the request body to the response headers */
  responseMs: number;
  /** no byte moving on the socket for this long (the only limit on a transfer body: progress, never its duration) */
  idleMs: number;
  /**
   * The whole exchange of a small API call (no streamed body): connect, send, headers and the complete answer. A
   * server or proxy that trickles its answer one byte at a time ends here with a clear error instead of hanging.
   */
  totalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, responseMs: 30_000, idleMs: 30_000, totalMs: 60_000 };

/** Largest API answer read (a 2000-entry listing page is about 2 MB); more is refused with a clear error. */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export function resolveTimeouts(t?: Partial<Timeouts>): Timeouts {
  return {
    connectMs: t?.connectMs ?? DEFAULT_TIMEOUTS.connectMs,
    responseMs: t?.responseMs ?? DEFAULT_TIMEOUTS.responseMs,
    idleMs: t?.idleMs ?? DEFAULT_TIMEOUTS.idleMs,
    totalMs: t?.totalMs ?? DEFAULT_TIMEOUTS.totalMs,
  };
}

export const USER_AGENT = 'cloudreve-sync/0.1';

/**
 * `http://host:5212/` → `http://host:5212`. Keeps a sub-path (`https://h/cloud/` → `https://h/cloud`),
 * drops query and fragment. Throws EngineError('usage') for anything that is not an http(s) URL.
 */
export function normalizeBaseUrl(input: string): string {
  let u: URL;
  try {
    u = new URL(input.trim());
  } catch {
    throw new EngineError('usage', `not a server address: "${redact(input).slice(0, 100)}" (expected http://host[:port] or https://host)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new EngineError('usage', `server address must start with http:// or https:// (got ${u.protocol}//)`);
  }
  if (u.username || u.password) throw new EngineError('usage', 'server address must not contain a user name or password');
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

/** True when `url` points at the master (same origin, under its base path). */
export function isMasterUrl(baseUrl: string, url: string): boolean {
  try {
    const base = new URL(normalizeBaseUrl(baseUrl));
    return underBase(base.origin, base.pathname.replace(/\/+$/, ''), new URL(url, base.href + '/'));
  } catch {
    return false;
  }
}

/** `u` is at `origin`, at or under the path `prefix` ('' for the root). */
function underBase(origin: string, prefix: string, u: URL): boolean {
  if (u.origin !== origin) return false;
  return prefix === '' || u.pathname === prefix || u.pathname.startsWith(prefix + '/');
}

/** `GET /cloud/api/v4/site/ping` for a site at `https://h/cloud`: the request line as it went out (no query). */
export function requestLine(baseUrl: string, method: string, path: string): string {
  let prefix = '';
  try {
    prefix = new URL(baseUrl).pathname.replace(/\/+$/, '');
  } catch {
    /* not a URL: the path alone */
  }
  return `${method} ${prefix}${path}`;
}

/**
 * Headers for a request to anything that is not the master (slave node, S3, OneDrive…): throws if an
 * `X-Cr-*` header or a Cloudreve JWT bearer is present. A slave credential (`Bearer Cr …`) and
 * vendor authorizations (`UpToken …`) are allowed. Returns a copy.
 */
export function foreignHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (/^x-cr-/i.test(k)) throw new EngineError('usage', `refusing to send ${k} to a non-master URL`);
    if (/^authorization$/i.test(k) && /^bearer\s+(?!cr\s)/i.test(v)) {
      throw new EngineError('usage', 'refusing to send the Cloudreve access token to a non-master URL');
    }
    out[k] = v;
  }
  return out;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export type QueryValue = string | number | boolean | undefined | null;

export interface MasterRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Always a path under the site, e.g. `/api/v4/file`; never a full URL. */
  path: string;
  query?: Record<string, QueryValue>;
  json?: unknown;
  /** raw body (streamed); `length` is then required and sent as Content-Length */
  body?: Readable | Buffer;
  length?: number;
  contentType?: string;
  bearer?: string | null;
  /** send X-Cr-Client-Id (default true) */
  clientId?: boolean;
  signal?: AbortSignal;
  onProgress?: (bytesSent: number) => void;
  /** log-safe operation name for messages, e.g. `list cloudreve://my/docs` */
  op: string;
  /** log-safe endpoint for messages when the path holds a secret (callbacks) */
  displayPath?: string;
  timeouts?: Partial<Timeouts>;
  headers?: Record<string, string>;
  /** values that must never appear in a message (password, tokens, callback secret); scrubbed from server text */
  secrets?: (string | undefined | null)[];
}

/** Context for building messages. */
export interface RequestContext {
  op: string;
  /** `GET /api/v4/file`, with the site's base path when it has one (no query, no secrets) */
  endpoint: string;
  host: string;
  /** known secrets of this request, replaced in any server text quoted in a message */
  secrets?: string[];
}

/** Replaces every known secret (≥ 4 chars) of the request in `text`. */
export function scrub(text: string, ctx: Pick<RequestContext, 'secrets'>): string {
  let out = text;
  for (const s of ctx.secrets ?? []) {
    if (s.length >= 4) out = out.split(s).join('[redacted]');
  }
  return out;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EHOSTDOWN']);

/** Turns whatever the transport/node threw into an EngineError (or passes an EngineError through). */
export function transportError(err: unknown, ctx: RequestContext, bodyError?: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (bodyError instanceof EngineError) return bodyError;
  const e = err as { name?: string; code?: string; event?: string; cause?: unknown } | null;
  if (e?.name === 'AbortError' || e?.code === 'ERR_ABORTED' || e?.code === 'ABORT_ERR') {
    return new EngineError('cancelled', `${ctx.op}: cancelled`, { cause: err });
  }
  if (bodyError !== undefined || e?.name === 'UploadError') {
    const inner = (bodyError ?? e?.cause) as { code?: string; message?: string } | undefined;
    if (inner instanceof EngineError) return inner;
    return new EngineError('local-io', `${ctx.op}: reading the data to send failed: ${inner?.code ?? inner?.message ?? 'error'}`, {
      cause: err,
    });
  }
  if (e?.name === 'TimeoutError' || e?.code === 'ETIMEDOUT') {
    const what = e?.event === 'connect' || e?.event === 'lookup' || e?.event === 'secureConnect' ? 'connecting to' : 'waiting for';
    return new EngineError('timeout', `${ctx.op}: timed out ${what} ${ctx.host}${e?.event ? ` (${e.event})` : ''}`, { cause: err });
  }
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && CONNECT_CODES.has(code)) {
    return new EngineError('network', `${ctx.op}: cannot reach ${ctx.host}: ${code}`, { cause: err });
  }
  if (code === 'EPROTO' || code?.startsWith('ERR_SSL_')) {
    return new EngineError('network', `${ctx.op}: the TLS handshake with ${ctx.host} failed (${code}): is it an https:// server, or should the address start with http://?`, { cause: err });
  }
  if (code && /(CERT|SELF_SIGNED)/.test(code)) {
    return new EngineError('network', `${ctx.op}: ${ctx.host}'s certificate is not trusted (${code}); a private CA can be added with NODE_EXTRA_CA_CERTS`, { cause: err });
  }
  if (code && /^(E[A-Z]+|ERR_[A-Z_]+|UND_ERR_[A-Z_]+)$/.test(code)) {
    return new EngineError('network', `${ctx.op}: connection to ${ctx.host} failed: ${code}`, { cause: err });
  }
  return new EngineError('network', `${ctx.op}: request to ${ctx.host} failed`, { cause: err });
}

/**
 * transportError() with the limits in the message: a transfer that stalled says for how long nothing moved, a
 * small call that ran out of time says its deadline.
 */
export function limitError(err: unknown, ctx: RequestContext, limits: { idleMs?: number; totalMs?: number }, bodyError?: unknown): EngineError {
  const e = err as { name?: string; event?: string } | null;
  if (e?.name === 'TimeoutError' && bodyError === undefined) {
    if (e.event === 'socket' && limits.idleMs !== undefined) {
      return new EngineError('timeout', `${ctx.op}: no progress for ${limits.idleMs / 1000} s on ${ctx.endpoint} (${ctx.host})`, { cause: err });
    }
    if (e.event === 'request' && limits.totalMs !== undefined) {
      return new EngineError('timeout', `${ctx.op}: ${ctx.endpoint} on ${ctx.host} did not answer completely within ${limits.totalMs / 1000} s`, {
        cause: err,
      });
    }
  }
  return transportError(err, ctx, bodyError);
}

/** The first value of a header (node gives a repeated header as an array). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Retry-After: 120` or an HTTP date → milliseconds from now. */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const s = headerValue(headers, 'retry-after');
  if (!s) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

function contentTypeOf(raw: RawResponse): string {
  return headerValue(raw.headers, 'content-type') ?? '';
}

/** An envelope error as an EngineError (see codeForServer). */
export function envelopeError(env: Envelope, ctx: RequestContext, raw?: RawResponse, codeOverride?: ErrorCode): EngineError {
  const msg = scrub(typeof env.msg === 'string' && env.msg ? env.msg : 'request failed', ctx);
  return new EngineError(codeOverride ?? codeForServer(env.code), `${ctx.op}: ${msg} (code ${env.code})`, {
    serverCode: env.code,
    correlationId: typeof env.correlation_id === 'string' ? env.correlation_id : undefined,
    data: env.data,
    httpStatus: raw?.status,
    retryAfterMs: raw ? retryAfterMs(raw.headers) : undefined,
  });
}

/** True when `v` has the envelope shape (`code` is an integer). */
export function isEnvelope(v: unknown): v is Envelope {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Number.isInteger((v as Envelope).code);
}

/**
 * Reads an answer of the master as an envelope. Throws:
 *  - 'http-status' for a non-2xx answer without an envelope (gin 404 text, empty 500, proxy 502 page…)
 *  - 'bad-response' for a 2xx answer that is not JSON or not an envelope (HTML from a proxy…)
 * A JSON envelope is returned whatever the HTTP status (callbacks answer 401/400 + envelope).
 */
export function decodeEnvelope<T = unknown>(raw: RawResponse, ctx: RequestContext): Envelope<T> {
  let parsed: unknown;
  let ok = false;
  if (raw.body.length > 0) {
    try {
      parsed = JSON.parse(raw.body);
      ok = true;
    } catch {
      ok = false;
    }
  }
  if (ok && isEnvelope(parsed)) return parsed as Envelope<T>;
  const what = describeBody(raw.status, contentTypeOf(raw), scrub(raw.body, ctx));
  const opts = { httpStatus: raw.status, retryAfterMs: retryAfterMs(raw.headers) };
  if (raw.status < 200 || raw.status >= 300) {
    return throwLocal(new EngineError('http-status', `${ctx.op}: ${ctx.endpoint} answered ${what}`, opts));
  }
  const kind = ok ? 'JSON that is not a Cloudreve envelope' : 'a body that is not JSON';
  return throwLocal(new EngineError('bad-response', `${ctx.op}: ${ctx.endpoint} answered ${kind}: ${what}`, opts));
}

function throwLocal(e: EngineError): never {
  throw e;
}

/**
 * For batch calls: code 40081 with `aggregated_error`. With exactly one failing URI (or when every
 * failure has the same code) the inner code decides the engine code; `data.errors` lists them all.
 */
export function unwrapAggregated(env: Envelope): Envelope {
  if (env.code !== 40081 || !env.aggregated_error || typeof env.aggregated_error !== 'object') return env;
  const entries = Object.entries(env.aggregated_error).filter(([, v]) => isEnvelope(v));
  if (entries.length === 0) return env;
  const errors = entries.map(([uri, v]) => ({ uri, code: v.code, msg: typeof v.msg === 'string' ? v.msg : '' }));
  const codes = new Set(errors.map((e) => e.code));
  if (entries.length === 1 || codes.size === 1) {
    const [uri, inner] = entries[0];
    const msg = entries.length === 1 ? `${uri}: ${inner.msg || env.msg}` : `${entries.length} items failed: ${inner.msg || env.msg}`;
    return {
      code: inner.code,
      msg,
      correlation_id: env.correlation_id ?? inner.correlation_id,
      data: { errors, ...(inner.data !== undefined ? { inner: inner.data } : {}) },
    };
  }
  return { ...env, data: { errors } };
}

/** Short, printable description of a body that is not what we expected (for error messages). */
export function describeBody(status: number, contentType: string, body: string): string {
  const type = contentType ? contentType.split(';')[0].trim() : 'no content type';
  const snippet = body.replace(/\s+/g, ' ').trim();
  if (!snippet) return `HTTP ${status} (${type}) with an empty body`;
  const cut = snippet.length > 80 ? snippet.slice(0, 80) + '…' : snippet;
  return `HTTP ${status} (${type}): "${cut}"`;
}

/** One master connection pool + the rules above. */
export class MasterHttp {
  readonly baseUrl: string;
  readonly host: string;
  /** the base URL's origin and path (no trailing slash), parsed once: urlFor() checks every request against them */
  private readonly baseOrigin: string;
  private readonly basePath: string;
  private readonly clientId: string | undefined;
  private readonly timeouts: Timeouts;
  private readonly maxResponseBytes: number;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(baseUrl: string, opts: { clientId?: string; timeouts?: Partial<Timeouts>; maxResponseBytes?: number } = {}) {
    this.baseUrl = normalizeBaseUrl(baseUrl);
    const base = new URL(this.baseUrl);
    this.host = base.host;
    this.baseOrigin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.clientId = opts.clientId;
    this.timeouts = resolveTimeouts(opts.timeouts);
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: 32 }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: 32 }),
    };
  }

  /** Builds a master URL from a site path. Throws for anything that could leave the master. */
  urlFor(path: string, query?: Record<string, QueryValue>): string {
    return this.masterUrl(path, query).href;
  }

  /** urlFor() as the parsed URL the request is made with (parsed once per request). */
  private masterUrl(path: string, query?: Record<string, QueryValue>): URL {
    if (!path.startsWith('/api/') || path.includes('://') || path.includes('..') || path.includes('?') || path.includes('#')) {
      throw new EngineError('usage', `not a master API path: ${path.slice(0, 60)}`);
    }
    const url = new URL(this.baseUrl + path);
    if (query) {
      for (const [k, v] of Object.entries(query)) {
        if (v === undefined || v === null) continue;
        url.searchParams.set(k, String(v));
      }
    }
    if (!underBase(this.baseOrigin, this.basePath, url)) throw new EngineError('usage', `not a master URL: ${path.slice(0, 60)}`);
    return url;
  }

  context(req: Pick<MasterRequest, 'op' | 'method' | 'path' | 'displayPath' | 'secrets' | 'bearer'>): RequestContext {
    const secrets = [...(req.secrets ?? []), req.bearer].filter((x): x is string => typeof x === 'string' && x.length > 0);
    // requestLine() for this site, without parsing its address again
    return { op: req.op, endpoint: `${req.method} ${this.basePath}${req.displayPath ?? req.path}`, host: this.host, secrets };
  }

  private headersFor(req: MasterRequest): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json', ...(req.headers ?? {}) };
    if (req.clientId !== false && this.clientId) h['x-cr-client-id'] = this.clientId;
    if (req.bearer) h.authorization = `Bearer ${req.bearer}`;
    return h;
  }

  private effectiveTimeouts(t?: Partial<Timeouts>): Timeouts {
    return { ...this.timeouts, ...(t ?? {}) };
  }

  /** One request; resolves with the raw answer whatever its status, rejects with an EngineError. */
  async send(req: MasterRequest): Promise<RawResponse> {
    const url = this.masterUrl(req.path, req.query);
    const headers = this.headersFor(req);
    let body: Readable | Buffer | string | undefined;
    let bodyError: unknown;
    let stream: Readable | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    } else if (req.body !== undefined) {
      if (req.length === undefined || !Number.isSafeInteger(req.length) || req.length < 0) {
        throw new EngineError('usage', `${req.op}: a raw body needs an exact length`);
      }
      if (Buffer.isBuffer(req.body)) {
        if (req.body.length !== req.length) {
          throw new EngineError('usage', `${req.op}: body is ${req.body.length} bytes but length says ${req.length}`);
        }
      } else {
        stream = req.body;
        stream.once('error', (e) => {
          bodyError ??= e;
        });
      }
      body = req.body;
      headers['content-type'] = req.contentType ?? 'application/octet-stream';
      headers['content-length'] = String(req.length);
    }
    if (req.signal?.aborted) {
      if (stream) release(stream);
      throw new EngineError('cancelled', `${req.op}: cancelled`);
    }
    // A raw body is a transfer: judged by progress only. Anything else is a small call with a total deadline.
    const transfer = req.body !== undefined;
    const limits = this.effectiveTimeouts(req.timeouts);
    const cap = this.maxResponseBytes;
    try {
      const res = await send(url, {
        method: req.method,
        headers,
        body,
        agents: this.agents,
        signal: req.signal,
        timeouts: transfer ? { connectMs: limits.connectMs, idleMs: limits.idleMs, responseMs: limits.responseMs } : limits,
        maxResponseBytes: cap,
        onUploadProgress: req.onProgress,
      });
      // The server may answer before it read the whole body (an unknown session…): release the rest.
      if (stream && !stream.readableEnded) release(stream);
      return res;
    } catch (err) {
      if (stream) release(stream);
      const ctx = this.context(req);
      if ((err as { name?: string }).name === 'ResponseTooLarge') {
        throw new EngineError('bad-response', `${ctx.op}: ${ctx.endpoint} on ${ctx.host} answered more than ${cap} bytes (the limit for an API answer); not reading further`, {
          cause: err,
        });
      }
      throw limitError(err, ctx, transfer ? { idleMs: limits.idleMs } : { totalMs: limits.totalMs }, bodyError);
    }
  }

  /** send() + decodeEnvelope(). */
  async envelope<T = unknown>(req: MasterRequest): Promise<{ env: Envelope<T>; raw: RawResponse; ctx: RequestContext }> {
    const raw = await this.send(req);
    const ctx = this.context(req);
    return { env: decodeEnvelope<T>(raw, ctx), raw, ctx };
  }

  /**
   * A streamed GET (Server-Sent Events). Resolves once the response headers arrived; the caller reads
   * `stream` and must destroy it when done.
   */
  async openStream(req: MasterRequest): Promise<{ status: number; headers: IncomingHttpHeaders; stream: Readable; ctx: RequestContext }> {
    const url = this.masterUrl(req.path, req.query);
    const ctx = this.context(req);
    const headers = this.headersFor(req);
    if (req.signal?.aborted) throw new EngineError('cancelled', `${req.op}: cancelled`);
    try {
      const res = await open(url, { method: req.method, headers, agents: this.agents, signal: req.signal, timeouts: this.effectiveTimeouts(req.timeouts) });
      return { ...res, ctx };
    } catch (err) {
      throw transportError(err, ctx);
    }
  }

  /** Closes pooled sockets. */
  close(): void {
    closeAgents(this.agents);
  }
}

function release(stream: Readable): void {
  if (!stream.destroyed && typeof stream.destroy === 'function') stream.destroy();
}

/** Reads a whole stream as UTF-8 text, up to `limit` bytes. */
export async function readText(stream: Readable, limit = 1 << 20): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    n += b.length;
    if (n > limit) break;
    parts.push(b);
  }
  return Buffer.concat(parts).toString('utf8');
}
