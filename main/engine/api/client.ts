/**
 * The typed Cloudreve v4 client (spec: shared/spec/cloudreve-v4-protocol.md, §11 wins).
 *
 * Every call goes to the master through MasterHttp (http.ts): `X-Cr-Client-Id` on each request, the
 * bearer token on each authenticated one, timeouts, no hidden retries. Authenticated calls first run
 * ensureFreshToken(): the access token is refreshed (one request, shared by all concurrent callers)
 * when it expires within the refresh margin. The server never says "token expired" — an expired token
 * just makes the caller anonymous (§2.5) — so a JSON call answered with code 401 while we hold tokens
 * refreshes once and is re-sent once. Streamed bodies (chunks, PUT content) are never re-sent here;
 * the engine owns retries.
 *
 * Refresh margin: min(10 min, half the token's lifetime). With the default 1 h access token this is
 * exactly the 10 minutes of the reference frontend; a server configured with very short tokens still
 * gets working (not per-request) refreshes. The lifetime comes from the JWT (`exp − nbf`), else from
 * when this process received the pair, else 10 min is used.
 */
import type { Readable } from 'node:stream';
import { EngineError, type ErrorCode } from '../errors.js';
import {
  MasterHttp,
  decodeEnvelope,
  envelopeError,
  normalizeBaseUrl,
  readText,
  transportError,
  unwrapAggregated,
  type MasterRequest,
  type RawResponse,
  type RequestContext,
  type Timeouts,
} from './http.js';
import { parseSse } from './sse.js';
import type {
  Capacity,
  CreateUploadSessionRequest,
  DownloadUrlResponse,
  EncryptMetadata,
  Envelope,
  FileResponse,
  ListResponse,
  LoginResult,
  PolicyType,
  StoragePolicy,
  TokenPair,
  UploadSession,
  User,
} from './types.js';
import { POLICY_TYPES } from './types.js';
import { FEATURE_SINCE, detectServer, featuresFor, type Features } from './version.js';

export interface ClientOptions {
  /** site root, e.g. http://127.0.0.1:5212 (trailing slash tolerated) */
  baseUrl: string;
  /** stable per-installation UUID → X-Cr-Client-Id on every master request */
  clientId: string;
  tokens?: TokenPair | null;
  /** called after login/refresh/logout so the caller persists them; must not throw */
  onTokens?: (t: TokenPair | null) => void;
  /**
   * connectMs, responseMs, idleMs (no progress on a transfer body for this long) and totalMs (the whole of a
   * small API call); see api/http.ts Timeouts. Missing values keep their defaults.
   */
  timeouts?: Partial<Timeouts>;
  /** largest API answer read before the call fails with a clear error (default 32 MiB) */
  maxResponseBytes?: number;
  /** known server version (skips a ping for feature gates) */
  version?: string;
}

export type ListOptions = {
  nextToken?: string;
  pageSize?: number;
  orderBy?: string;
  orderDirection?: 'asc' | 'desc';
  /** page number, only for servers with cursor pagination switched off */
  page?: number;
};

export type ChangeEvent = { event: string; data: unknown };

export const REFRESH_MARGIN_MS = 10 * 60_000;
/** Upper bound on pages followed by list() (2000 per page → 200 M entries). */
export const MAX_LIST_PAGES = 100_000;
/** list() page size when the caller gives none (server caps it at its max_page_size, default 2000). */
export const DEFAULT_LIST_PAGE_SIZE = 1000;

type CallOptions = Omit<MasterRequest, 'bearer'> & {
  /** needs the bearer token (default true) */
  auth?: boolean;
  /** envelope codes returned instead of thrown */
  allow?: number[];
  /** engine codes to use instead of codeForServer() for some server codes */
  remap?: Record<number, ErrorCode>;
};

export class CloudreveClient {
  readonly baseUrl: string;
  private readonly http: MasterHttp;
  private readonly opts: ClientOptions;
  private readonly timeoutCfg: Partial<Timeouts>;
  private tok: TokenPair | null;
  /** when this process received `tok` (ms), for the lifetime estimate */
  private tokReceivedAt: number | undefined;
  private version: string | undefined;
  private refreshing: Promise<TokenPair> | null = null;
  private versioning: Promise<string> | null = null;

  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.baseUrl = normalizeBaseUrl(opts.baseUrl);
    this.timeoutCfg = opts.timeouts ?? {};
    this.http = new MasterHttp(this.baseUrl, { clientId: opts.clientId, timeouts: this.timeoutCfg, maxResponseBytes: opts.maxResponseBytes });
    this.tok = opts.tokens ?? null;
    this.version = opts.version || undefined;
  }

  /**
   * GET /api/v4/site/ping (and /api/v3/site/ping when that fails) → version of a v4 server.
   * Throws 'unsupported-version' for 3.x or < 4.0.0, 'not-cloudreve' for anything else that answers.
   */
  static detect(baseUrl: string, opts: { timeouts?: ClientOptions['timeouts'] } = {}): Promise<{ version: string; pro: boolean }> {
    return detectServer(baseUrl, { timeouts: opts.timeouts });
  }

  // ───────────────────────────── version / features ─────────────────────────────

  serverVersion(): string | undefined {
    return this.version;
  }

  /** Feature gates (§0, §9). All false while the version is unknown — see ensureVersion(). */
  features(): Features {
    return featuresFor(this.version);
  }

  /** Pings the server once (single-flight) when the version is not known yet. */
  async ensureVersion(): Promise<string> {
    if (this.version) return this.version;
    if (!this.versioning) {
      this.versioning = detectServer(this.baseUrl, { timeouts: this.timeoutCfg })
        .then((r) => {
          this.version = r.version;
          return r.version;
        })
        .finally(() => {
          this.versioning = null;
        });
    }
    return this.versioning;
  }

  // ───────────────────────────── tokens ─────────────────────────────

  tokens(): TokenPair | null {
    return this.tok;
  }

  /** when the access token of `pair` is due for a refresh (ms) */
  private refreshAt: { pair: TokenPair; at: number } | null = null;

  private setTokens(t: TokenPair | null): void {
    this.tok = t;
    this.tokReceivedAt = t ? Date.now() : undefined;
    try {
      this.opts.onTokens?.(t);
    } catch {
      // The caller's persistence failing must not turn a good login/refresh into a failure.
    }
  }

  private margin(token: string, expires: string): number {
    let lifetime = jwtLifetimeMs(token);
    if (lifetime === undefined && this.tokReceivedAt !== undefined) {
      const exp = Date.parse(expires);
      if (!Number.isNaN(exp)) lifetime = exp - this.tokReceivedAt;
    }
    if (lifetime === undefined || lifetime <= 0) return REFRESH_MARGIN_MS;
    return Math.min(REFRESH_MARGIN_MS, lifetime / 2);
  }

  async login(email: string, password: string): Promise<LoginResult> {
    const { env, raw, ctx } = await this.http.envelope({
      method: 'POST',
      path: '/api/v4/session/token',
      json: { email, password },
      secrets: [password],
      op: 'login',
    });
    return this.finishLogin(env, raw, ctx);
  }

  async login2fa(sessionId: string, otp: string): Promise<LoginResult> {
    const { env, raw, ctx } = await this.http.envelope({
      method: 'POST',
      path: '/api/v4/session/token/2fa',
      json: { otp, session_id: sessionId },
      secrets: [otp],
      op: 'login (two-factor)',
    });
    if (env.code === 404) {
      throw envelopeError({ ...env, msg: 'the two-factor login session expired; log in again' }, ctx, raw, 'login-required');
    }
    return this.finishLogin(env, raw, ctx);
  }

  private finishLogin(env: Envelope, raw: RawResponse, ctx: RequestContext): LoginResult {
    if (env.code === 203) {
      const sessionId = env.data;
      if (typeof sessionId !== 'string' || sessionId === '') {
        throw new EngineError('bad-response', `${ctx.op}: two-factor answer without a session id`);
      }
      throw new EngineError('otp-required', `${ctx.op}: two-factor code required`, { serverCode: 203, data: { sessionId } });
    }
    if (env.code !== 0) throw envelopeError(unwrapAggregated(env), ctx, raw);
    const d = env.data as Record<string, unknown> | undefined;
    if (!isObj(d)) throw bad(ctx, 'login data is missing');
    const user = asUser(d.user, ctx);
    const token = asTokenPair(d.token, ctx);
    this.setTokens(token);
    return { user, token };
  }

  /** Exchanges the refresh token for a new pair. Concurrent callers share one request. */
  refresh(): Promise<TokenPair> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<TokenPair> {
    const t = this.tok;
    if (!t) throw new EngineError('login-required', 'refresh: not logged in');
    const { env, raw, ctx } = await this.http.envelope({
      method: 'POST',
      path: '/api/v4/session/token/refresh',
      json: { refresh_token: t.refresh_token },
      secrets: [t.refresh_token, t.access_token],
      op: 'refresh login',
    });
    if (env.code !== 0) {
      throw envelopeError({ ...env, msg: `${env.msg || 'refused'}; log in again` }, ctx, raw, env.code === 40020 || env.code === 401 ? 'login-required' : undefined);
    }
    const pair = asTokenPair(env.data, ctx);
    this.setTokens(pair);
    return pair;
  }

  /**
   * Refreshes when the access token expires within the margin; throws 'login-required' when there
   * is no login or the refresh token itself is (about to be) expired.
   */
  async ensureFreshToken(): Promise<void> {
    if (this.refreshing) {
      await this.refreshing;
      return;
    }
    const t = this.tok;
    if (!t) throw new EngineError('login-required', 'not logged in');
    const now = Date.now();
    // the pair's refresh time is worked out (two JWT decodes) once per pair, not on every request
    if (this.refreshAt?.pair !== t) this.refreshAt = { pair: t, at: expiryMs(t.access_token, t.access_expires) - this.margin(t.access_token, t.access_expires) };
    if (now < this.refreshAt.at) return;
    const refreshLeft = expiryMs(t.refresh_token, t.refresh_expires) - now;
    if (refreshLeft <= this.margin(t.refresh_token, t.refresh_expires)) {
      throw new EngineError('login-required', 'the saved login has expired; log in again');
    }
    await this.refresh();
  }

  /** Revokes the refresh chain on the server (best effort) and forgets the tokens. */
  async logout(): Promise<void> {
    const t = this.tok;
    try {
      if (t) {
        const { env, raw, ctx } = await this.http.envelope({
          method: 'DELETE',
          path: '/api/v4/session/token',
          json: { refresh_token: t.refresh_token },
          bearer: t.access_token,
          secrets: [t.refresh_token],
          op: 'logout',
          timeouts: { responseMs: Math.min(this.timeoutCfg.responseMs ?? 10_000, 10_000) },
        });
        if (env.code !== 0) throw envelopeError(env, ctx, raw);
      }
    } catch {
      // Signing out locally must work with the server gone.
    } finally {
      this.setTokens(null);
    }
  }

  // ───────────────────────────── core call ─────────────────────────────

  private async call<T = unknown>(req: CallOptions): Promise<{ env: Envelope<T>; ctx: RequestContext }> {
    const auth = req.auth !== false;
    const replayable = req.body === undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      let bearer: string | undefined;
      if (auth) {
        await this.ensureFreshToken();
        bearer = this.tok?.access_token;
      }
      const secrets = [...(req.secrets ?? []), this.tok?.access_token, this.tok?.refresh_token];
      const { env, raw, ctx } = await this.http.envelope<T>({ ...req, bearer, secrets });
      if (env.code === 0 || req.allow?.includes(env.code)) return { env, ctx };
      // An access token the server no longer honours makes us anonymous (§2.5): refresh once, re-send once.
      if (auth && env.code === 401 && attempt === 0 && replayable && this.tok) {
        if (this.tok.access_token === bearer) await this.refresh();
        continue;
      }
      const u = unwrapAggregated(env);
      throw envelopeError(u, ctx, raw, req.remap?.[u.code]);
    }
    throw new EngineError('login-required', `${req.op}: the server keeps treating us as signed out; log in again`);
  }

  // ───────────────────────────── user ─────────────────────────────

  async me(): Promise<User> {
    const { env, ctx } = await this.call({ method: 'GET', path: '/api/v4/user/me', op: 'get user' });
    return asUser(env.data, ctx);
  }

  async capacity(): Promise<Capacity> {
    const { env, ctx } = await this.call({ method: 'GET', path: '/api/v4/user/capacity', op: 'get capacity' });
    const d = env.data;
    if (!isObj(d) || !isNum(d.total) || !isNum(d.used)) throw bad(ctx, 'capacity without numeric total/used');
    return { total: d.total, used: d.used };
  }

  // ───────────────────────────── files ─────────────────────────────

  async listPage(uri: string, opts: ListOptions = {}): Promise<ListResponse> {
    const { env, ctx } = await this.call<ListResponse>({
      method: 'GET',
      path: '/api/v4/file',
      query: {
        uri,
        page: opts.page,
        page_size: opts.pageSize,
        order_by: opts.orderBy,
        order_direction: opts.orderDirection,
        next_page_token: opts.nextToken,
      },
      op: `list ${uri}`,
    });
    return asListResponse(env.data, ctx);
  }

  /** Every entry of a folder, following `next_token` (or page numbers on non-cursor servers). */
  async *list(uri: string, opts: { pageSize?: number } = {}): AsyncIterable<FileResponse> {
    const pageSize = opts.pageSize ?? DEFAULT_LIST_PAGE_SIZE;
    const seen = new Set<string>();
    let nextToken: string | undefined;
    let page = 0;
    for (let i = 0; i < MAX_LIST_PAGES; i++) {
      const res = await this.listPage(uri, { pageSize, nextToken, page: nextToken === undefined && page > 0 ? page : undefined });
      for (const f of res.files) yield f;
      const p = res.pagination;
      const next = typeof p.next_token === 'string' && p.next_token !== '' ? p.next_token : undefined;
      if (next !== undefined) {
        if (seen.has(next)) throw new EngineError('bad-response', `list ${uri}: the server repeated a page token (page ${i + 1}); stopping`);
        seen.add(next);
        nextToken = next;
        continue;
      }
      // Page-number pagination (use_cursor_pagination off): go on while total_items says there is more.
      if (p.is_cursor !== true && isNum(p.total_items) && res.files.length > 0) {
        const size = p.page_size > 0 ? p.page_size : res.files.length;
        if ((page + 1) * size < p.total_items) {
          page++;
          nextToken = undefined;
          continue;
        }
      }
      return;
    }
    throw new EngineError('bad-response', `list ${uri}: more than ${MAX_LIST_PAGES} pages; stopping`);
  }

  async listAll(uri: string, opts: { pageSize?: number } = {}): Promise<FileResponse[]> {
    const out: FileResponse[] = [];
    for await (const f of this.list(uri, opts)) out.push(f);
    return out;
  }

  async info(uri: string, opts: { extended?: boolean } = {}): Promise<FileResponse> {
    const { env, ctx } = await this.call({
      method: 'GET',
      path: '/api/v4/file/info',
      query: { uri, extended: opts.extended ? 'true' : undefined },
      op: `info ${uri}`,
    });
    return asFile(env.data, ctx);
  }

  /** mkdir -p: intermediate folders are created; an existing folder is returned as is. */
  async createFolder(uri: string): Promise<FileResponse> {
    const { env, ctx } = await this.call({
      method: 'POST',
      path: '/api/v4/file/create',
      json: { uri, type: 'folder', err_on_conflict: false },
      op: `create folder ${uri}`,
    });
    return asFile(env.data, ctx);
  }

  /**
   * A public share link for a file or folder (`PUT /api/v4/share`, SERVER `service/share/manage.go`): no password,
   * no expiry, no download limit. The server answers with the link itself (`<site URL>/s/<share id>`); sharing the
   * root (or a missing path) is 404, a group without the share permission 40007.
   */
  async createShareLink(uri: string): Promise<string> {
    const { env, ctx } = await this.call<unknown>({
      method: 'PUT',
      path: '/api/v4/share',
      json: { uri, is_private: false, share_view: true },
      op: `share ${uri}`,
    });
    if (!isStr(env.data) || !/^https?:\/\//i.test(env.data)) throw bad(ctx, 'the share link is not a URL');
    return env.data;
  }

  async rename(uri: string, newName: string): Promise<FileResponse> {
    const { env, ctx } = await this.call({
      method: 'POST',
      path: '/api/v4/file/rename',
      json: { uri, new_name: newName },
      op: `rename ${uri}`,
    });
    return asFile(env.data, ctx);
  }

  async move(uris: string[], dst: string, opts: { copy?: boolean } = {}): Promise<void> {
    await this.call({
      method: 'POST',
      path: '/api/v4/file/move',
      json: { uris, dst, ...(opts.copy ? { copy: true } : {}) },
      op: `${opts.copy ? 'copy' : 'move'} ${describeUris(uris)} to ${dst}`,
    });
  }

  async delete(uris: string[], opts: { skipSoftDelete?: boolean; unlink?: boolean } = {}): Promise<void> {
    await this.call({
      method: 'DELETE',
      path: '/api/v4/file',
      json: {
        uris,
        ...(opts.unlink ? { unlink: true } : {}),
        ...(opts.skipSoftDelete ? { skip_soft_delete: true } : {}),
      },
      op: `delete ${describeUris(uris)}`,
    });
  }

  // ───────────────────────────── upload ─────────────────────────────

  async createUploadSession(req: CreateUploadSessionRequest, opts: { signal?: AbortSignal } = {}): Promise<UploadSession> {
    const { env, ctx } = await this.call({
      method: 'PUT',
      path: '/api/v4/file/upload',
      json: req,
      signal: opts.signal,
      op: `create upload session for ${req.uri}`,
    });
    return asUploadSession(env.data, ctx, req.uri);
  }

  /** Cancels a session (§5.5). A path that is already gone (40016) counts as success. */
  async deleteUploadSession(sessionId: string, uri: string): Promise<void> {
    await this.call({
      method: 'DELETE',
      path: '/api/v4/file/upload',
      json: { id: sessionId, uri },
      allow: [40016],
      op: `cancel upload session for ${uri}`,
    });
  }

  /**
   * One chunk to the master (local policy or relay, §5.3). The body is streamed with an exact
   * Content-Length; nothing is retried or buffered here.
   */
  async uploadChunk(
    sessionId: string,
    index: number,
    body: NodeJS.ReadableStream | Buffer,
    length: number,
    opts: { signal?: AbortSignal; onProgress?: (bytesSentSoFar: number) => void } = {},
  ): Promise<void> {
    if (!Number.isSafeInteger(index) || index < 0) throw new EngineError('usage', `upload chunk: bad index ${index}`);
    await this.call({
      method: 'POST',
      path: `/api/v4/file/upload/${encodeURIComponent(sessionId)}/${index}`,
      body: body as Readable | Buffer,
      length,
      signal: opts.signal,
      onProgress: opts.onProgress,
      op: `upload chunk ${index}`,
    });
  }

  /** PUT /file/content (§5.6): create or replace a small file in one request (≤ 50 MiB by default). */
  async putContent(
    uri: string,
    body: NodeJS.ReadableStream | Buffer,
    length: number,
    opts: { previous?: string; signal?: AbortSignal } = {},
  ): Promise<FileResponse> {
    const { env, ctx } = await this.call({
      method: 'PUT',
      path: '/api/v4/file/content',
      query: { uri, previous: opts.previous },
      body: body as Readable | Buffer,
      length,
      signal: opts.signal,
      op: `upload ${uri}`,
    });
    return asFile(env.data, ctx);
  }

  /**
   * Client-side completion callbacks (§6.4–6.9): GET for s3/ks3/cos, POST for onedrive. Answers come
   * as HTTP 200/400/401 + envelope. A bad secret (40020) means the session cannot complete: it is
   * reported as 'session-expired', not as a login problem.
   */
  async uploadCallback(policy: 's3' | 'ks3' | 'cos' | 'onedrive', sessionId: string, secret: string): Promise<void> {
    if (!['s3', 'ks3', 'cos', 'onedrive'].includes(policy)) throw new EngineError('usage', `no client callback for policy ${policy}`);
    const sid = encodeURIComponent(sessionId);
    const { env, raw, ctx } = await this.http.envelope({
      method: policy === 'onedrive' ? 'POST' : 'GET',
      path: `/api/v4/callback/${policy}/${sid}/${encodeURIComponent(secret)}`,
      displayPath: `/api/v4/callback/${policy}/${sid}/…`,
      bearer: this.tok?.access_token,
      secrets: [secret, this.tok?.refresh_token],
      op: `complete upload (${policy} callback)`,
    });
    if (env.code === 0) return;
    throw envelopeError(env, ctx, raw, env.code === 40020 ? 'session-expired' : undefined);
  }

  // ───────────────────────────── download / events ─────────────────────────────

  /**
   * POST /file/url (§4.8): one URL per URI, valid until `expires`. `entity` asks for that version of the file (an
   * entity the file no longer has fails with 40077, aggregated: the server's answer for one URI is unwrapped).
   */
  async downloadUrl(uris: string[], opts: { download?: boolean; entity?: string; signal?: AbortSignal } = {}): Promise<DownloadUrlResponse> {
    const { env, ctx } = await this.call({
      method: 'POST',
      path: '/api/v4/file/url',
      json: { uris, ...(opts.download ? { download: true } : {}), ...(opts.entity ? { entity: opts.entity } : {}) },
      signal: opts.signal,
      op: `get download URL for ${describeUris(uris)}`,
    });
    const d = env.data;
    if (!isObj(d) || !Array.isArray(d.urls) || !d.urls.every((u) => isObj(u) && typeof u.url === 'string')) {
      throw bad(ctx, 'no urls array');
    }
    return {
      urls: d.urls.map((u) => {
        const o = u as Record<string, unknown>;
        return typeof o.stream_saver_display_name === 'string'
          ? { url: o.url as string, stream_saver_display_name: o.stream_saver_display_name }
          : { url: o.url as string };
      }),
      expires: typeof d.expires === 'string' ? d.expires : null,
    };
  }

  /**
   * Change events of a folder subtree (§4.9, server ≥ 4.11.0): `subscribed` | `resumed` | `event` |
   * `keep-alive`. `data` is parsed JSON when it is JSON, else the raw text. Ends quietly when `signal`
   * aborts or the server closes the stream (reconnect with the same client id to get `resumed`).
   * Throws 'unsupported-feature' on older servers or when the server has events switched off (40019).
   */
  async *events(uri: string, opts: { signal: AbortSignal }): AsyncIterable<ChangeEvent> {
    const version = await this.ensureVersion();
    if (!this.features().events) {
      throw new EngineError('unsupported-feature', `watch ${uri}: change events need Cloudreve ${FEATURE_SINCE.events} or newer (server runs ${version})`);
    }
    await this.ensureFreshToken();
    if (opts.signal.aborted) return;
    const idle = Math.max(this.timeoutCfg.idleMs ?? 0, 75_000); // keep-alive comes every 30 s
    let opened;
    try {
      opened = await this.http.openStream({
        method: 'GET',
        path: '/api/v4/file/events',
        query: { uri },
        bearer: this.tok?.access_token,
        secrets: [this.tok?.refresh_token],
        signal: opts.signal,
        headers: { accept: 'text/event-stream' },
        op: `watch ${uri}`,
        timeouts: { idleMs: idle },
      });
    } catch (err) {
      if (opts.signal.aborted) return;
      throw err;
    }
    const { status, headers, stream, ctx } = opened;
    try {
      const ct = String(headers['content-type'] ?? '');
      if (!/text\/event-stream/i.test(ct)) {
        const body = await readText(stream);
        const raw = { status, headers, body };
        const env = decodeEnvelope(raw, ctx);
        if (env.code !== 0) throw envelopeError(env, ctx, raw, env.code === 40019 ? 'unsupported-feature' : undefined);
        throw bad(ctx, 'answered JSON instead of an event stream');
      }
      for await (const m of parseSse(stream as AsyncIterable<Buffer>)) {
        let data: unknown = m.data;
        try {
          data = JSON.parse(m.data);
        } catch {
          data = m.data;
        }
        yield { event: m.event, data };
      }
    } catch (err) {
      if (opts.signal.aborted) return;
      throw transportError(err, ctx);
    } finally {
      stream.destroy();
    }
  }

  /** Closes pooled connections (the client stays usable; new sockets are opened on demand). */
  close(): void {
    this.http.close();
  }
}

// ───────────────────────────── validation of server data ─────────────────────────────

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isStr(v: unknown): v is string {
  return typeof v === 'string';
}
function bad(ctx: RequestContext, what: string): EngineError {
  return new EngineError('bad-response', `${ctx.op}: unexpected answer from ${ctx.endpoint}: ${what}`);
}

function describeUris(uris: string[]): string {
  if (uris.length === 1) return uris[0];
  return `${uris.length} items`;
}

function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const c = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    return isObj(c) ? c : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When a token stops working: the earlier of the RFC 3339 expiry the server sent and the JWT `exp`
 * (which the server truncates to whole seconds, §11.6).
 */
export function expiryMs(token: string, expires: string): number {
  const a = Date.parse(expires);
  const exp = jwtClaims(token)?.exp;
  const b = isNum(exp) ? exp * 1000 : NaN;
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : b;
  return Number.isNaN(b) ? a : Math.min(a, b);
}

/** exp − nbf (or iat) of a JWT, in ms; undefined for anything else. Never verifies, never logs. */
export function jwtLifetimeMs(token: string): number | undefined {
  const claims = jwtClaims(token);
  if (!claims) return undefined;
  const start = isNum(claims.nbf) ? claims.nbf : isNum(claims.iat) ? claims.iat : undefined;
  if (!isNum(claims.exp) || start === undefined) return undefined;
  return (claims.exp - start) * 1000;
}

function asTokenPair(v: unknown, ctx: RequestContext): TokenPair {
  if (!isObj(v)) throw bad(ctx, 'token data is missing');
  const { access_token, refresh_token, access_expires, refresh_expires } = v;
  if (!isStr(access_token) || access_token === '' || !isStr(refresh_token) || refresh_token === '') {
    throw bad(ctx, 'token pair without access_token/refresh_token');
  }
  if (!isStr(access_expires) || Number.isNaN(Date.parse(access_expires)) || !isStr(refresh_expires) || Number.isNaN(Date.parse(refresh_expires))) {
    throw bad(ctx, 'token pair without valid access_expires/refresh_expires');
  }
  return { access_token, refresh_token, access_expires, refresh_expires };
}

function asUser(v: unknown, ctx: RequestContext): User {
  if (!isObj(v) || !isStr(v.id) || v.id === '') throw bad(ctx, 'user without an id');
  if (v.nickname !== undefined && !isStr(v.nickname)) throw bad(ctx, 'user nickname is not a string');
  if (v.email !== undefined && !isStr(v.email)) throw bad(ctx, 'user email is not a string');
  return { ...v, id: v.id, nickname: (v.nickname as string | undefined) ?? '', created_at: isStr(v.created_at) ? v.created_at : '' } as User;
}

function asFile(v: unknown, ctx: RequestContext): FileResponse {
  if (!isObj(v)) throw bad(ctx, 'file object is missing');
  if (v.type !== 0 && v.type !== 1) throw bad(ctx, 'file type is not 0 or 1');
  if (!isStr(v.name) || !isStr(v.path)) throw bad(ctx, 'file without name/path');
  if (v.size !== undefined && !isNum(v.size)) throw bad(ctx, 'file size is not a number');
  if (v.metadata !== undefined && v.metadata !== null && !isObj(v.metadata)) throw bad(ctx, 'file metadata is not an object');
  return {
    ...v,
    type: v.type,
    id: isStr(v.id) ? v.id : '',
    name: v.name,
    path: v.path,
    size: (v.size as number | undefined) ?? 0,
    created_at: isStr(v.created_at) ? v.created_at : '',
    updated_at: isStr(v.updated_at) ? v.updated_at : '',
    metadata: (v.metadata as Record<string, string> | null | undefined) ?? null,
  } as FileResponse;
}

function asListResponse(v: unknown, ctx: RequestContext): ListResponse {
  if (!isObj(v) || !Array.isArray(v.files)) throw bad(ctx, 'listing without a files array');
  const files = v.files.map((f) => asFile(f, ctx));
  const p = isObj(v.pagination) ? v.pagination : {};
  if (p.next_token !== undefined && p.next_token !== null && !isStr(p.next_token)) throw bad(ctx, 'next_token is not a string');
  const pagination = {
    ...p,
    page: isNum(p.page) ? p.page : 0,
    page_size: isNum(p.page_size) ? p.page_size : 0,
    ...(isNum(p.total_items) ? { total_items: p.total_items } : {}),
    ...(isStr(p.next_token) && p.next_token !== '' ? { next_token: p.next_token } : { next_token: undefined }),
    ...(typeof p.is_cursor === 'boolean' ? { is_cursor: p.is_cursor } : {}),
  };
  const props = isObj(v.props) ? v.props : {};
  return {
    ...v,
    files,
    parent: (isObj(v.parent) ? asFile(v.parent, ctx) : undefined) as FileResponse,
    pagination,
    props: { ...props, max_page_size: isNum(props.max_page_size) ? props.max_page_size : 0 },
    ...(isObj(v.storage_policy) ? { storage_policy: asPolicy(v.storage_policy, ctx) } : {}),
  } as ListResponse;
}

function asPolicy(v: unknown, ctx: RequestContext): StoragePolicy {
  if (!isObj(v)) throw bad(ctx, 'storage policy is missing');
  if (!isStr(v.type) || !(POLICY_TYPES as readonly string[]).includes(v.type)) {
    throw bad(ctx, `unknown storage policy type ${isStr(v.type) ? JSON.stringify(v.type.slice(0, 30)) : typeof v.type}`);
  }
  if (v.chunk_concurrency !== undefined && (!isNum(v.chunk_concurrency) || v.chunk_concurrency < 0)) throw bad(ctx, 'chunk_concurrency is not a number');
  if (v.max_size !== undefined && !isNum(v.max_size)) throw bad(ctx, 'max_size is not a number');
  return {
    ...v,
    id: isStr(v.id) ? v.id : '',
    name: isStr(v.name) ? v.name : '',
    type: v.type as PolicyType,
    max_size: (v.max_size as number | undefined) ?? 0,
  } as StoragePolicy;
}

function asEncryptMetadata(v: unknown, ctx: RequestContext): EncryptMetadata {
  if (!isObj(v)) throw bad(ctx, 'encrypt_metadata is not an object');
  if (v.algorithm !== 'aes-256-ctr') throw bad(ctx, `unsupported encryption algorithm ${JSON.stringify(String(v.algorithm).slice(0, 30))}`);
  const b64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (!isStr(v.key_plain_text) || !b64.test(v.key_plain_text) || Buffer.from(v.key_plain_text, 'base64').length !== 32) {
    throw bad(ctx, 'encryption key is not 32 bytes of base64');
  }
  if (!isStr(v.iv) || !b64.test(v.iv) || Buffer.from(v.iv, 'base64').length !== 16) throw bad(ctx, 'encryption iv is not 16 bytes of base64');
  return { algorithm: 'aes-256-ctr', key: isStr(v.key) ? v.key : null, key_plain_text: v.key_plain_text, iv: v.iv };
}

function asUploadSession(v: unknown, ctx: RequestContext, requestedUri: string): UploadSession {
  if (!isObj(v)) throw bad(ctx, 'upload session is missing');
  if (!isStr(v.session_id) || v.session_id === '') throw bad(ctx, 'upload session without session_id');
  if (!isNum(v.chunk_size) || v.chunk_size < 0 || !Number.isInteger(v.chunk_size)) throw bad(ctx, 'chunk_size is not a non-negative integer');
  if (!isNum(v.expires)) throw bad(ctx, 'expires is not a number');
  if (v.upload_urls !== undefined && v.upload_urls !== null && (!Array.isArray(v.upload_urls) || !v.upload_urls.every(isStr))) {
    throw bad(ctx, 'upload_urls is not a list of strings');
  }
  for (const k of ['credential', 'completeURL', 'mime_type', 'upload_policy', 'upload_id', 'callback_secret', 'uri'] as const) {
    if (v[k] !== undefined && v[k] !== null && !isStr(v[k])) throw bad(ctx, `${k} is not a string`);
  }
  // the storage is reached only over http(s), at the absolute URLs the server hands out (any host: direct-to-storage
  // policies live elsewhere by design); file:, data:, ftp: and relative URLs are malformed answers
  for (const u of [...((v.upload_urls as string[] | null | undefined) ?? []), ...(isStr(v.completeURL) && v.completeURL !== '' ? [v.completeURL] : [])]) {
    if (!/^https?:\/\/[^/?#]/i.test(u)) throw bad(ctx, `a storage URL is not an absolute http(s) URL (${JSON.stringify(u.split(/[?#]/)[0].slice(0, 40))})`);
  }
  const out: UploadSession = {
    ...(v as object),
    session_id: v.session_id,
    upload_id: (v.upload_id as string | undefined) ?? '',
    chunk_size: v.chunk_size,
    expires: v.expires,
    storage_policy: asPolicy(v.storage_policy, ctx),
    uri: isStr(v.uri) && v.uri !== '' ? v.uri : requestedUri,
    callback_secret: (v.callback_secret as string | undefined) ?? '',
  } as UploadSession;
  if (v.upload_urls === null) delete out.upload_urls;
  if (v.encrypt_metadata !== undefined && v.encrypt_metadata !== null) out.encrypt_metadata = asEncryptMetadata(v.encrypt_metadata, ctx);
  else delete out.encrypt_metadata;
  return out;
}
