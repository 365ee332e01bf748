/**
 * Sign-in through the browser: OAuth 2.0 authorization code with PKCE (RFC 7636, S256) and a loopback redirect
 * (RFC 8252), as Cloudreve ≥ 4.12 implements it (spec §2.6; checked against the server's service/oauth/oauth.go).
 *
 *   1. PKCE verifier + S256 challenge and a random `state`;
 *   2. a listener on http://127.0.0.1:<port>/callback — the port is FIXED: Cloudreve compares the redirect URI
 *      byte for byte with the ones the admin registered, so the app's registration carries exactly this URI;
 *   3. the caller opens `{site}/session/authorize?…` in the user's browser; the site's page asks the user (already
 *      signed in there, by password, passkey or an external login) to consent, and sends the browser back to the
 *      listener with `?code&state`;
 *   4. `POST /api/v4/session/oauth/token` (form-encoded; answered WITHOUT the usual envelope; errors are HTTP 400
 *      `{error, error_description, error_codes}`) turns the code into tokens. Absolute expiries are computed here
 *      from `expires_in`/`refresh_token_expires_in`, so the pair looks exactly like a password login's and is
 *      refreshed by the normal refresh endpoint (`offline_access` is what makes the server hand out a refresh token);
 *   5. `GET /api/v4/user/me` with the new token says who signed in.
 *
 * The listener answers only `GET /callback`, and closes as soon as the flow ends either way. A callback whose `state` is
 * not ours is answered with an error page and otherwise ignored (any web page can send one): only our own state, the
 * timeout (5 minutes) or the caller's signal end the wait.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EngineError } from '../errors.js';
import { CloudreveClient } from './client.js';
import { MasterHttp, normalizeBaseUrl, scrub, type Timeouts } from './http.js';
import type { TokenPair, User } from './types.js';
import { atLeast, detectServer, FEATURE_SINCE } from './version.js';

/** What the app asks for: who the user is, a refresh token, uploads/listing, share links. */
export const OAUTH_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'UserInfo.Read', 'Files.Write', 'Shares.Write'] as const;

export const OAUTH_CALLBACK_PATH = '/callback';
/** The default loopback port (settings `oauth.redirectPort`). */
export const DEFAULT_OAUTH_PORT = 47821;
export const BROWSER_LOGIN_TIMEOUT_MS = 5 * 60_000;

/** The loopback redirect URI for a port: what the admin registers for the app. */
export function redirectUriFor(port: number): string {
  return `http://127.0.0.1:${port}${OAUTH_CALLBACK_PATH}`;
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A 43-character verifier (32 random bytes, base64url) and its S256 challenge. */
export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier) };
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export interface AuthorizeParams {
  site: string;
  clientId: string;
  redirectUri: string;
  state: string;
  challenge: string;
  scopes?: readonly string[];
}

/** `{site}/session/authorize?…`: the page of the site's web app that asks for consent. */
export function authorizeUrl(p: AuthorizeParams): string {
  const u = new URL(`${normalizeBaseUrl(p.site)}/session/authorize`);
  u.searchParams.set('client_id', p.clientId);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('redirect_uri', p.redirectUri);
  u.searchParams.set('scope', (p.scopes ?? OAUTH_SCOPES).join(' '));
  u.searchParams.set('state', p.state);
  u.searchParams.set('code_challenge', p.challenge);
  u.searchParams.set('code_challenge_method', 'S256');
  return u.href;
}

export interface OAuthAppConfig {
  /** the id the admin got when registering the app (dashboard → OAuth apps) */
  clientId: string;
  /** its secret: Cloudreve's token endpoint requires one for every app */
  clientSecret: string;
  /** the loopback port of the registered redirect URI http://127.0.0.1:<port>/callback */
  redirectPort: number;
}

export interface BrowserLoginOptions extends OAuthAppConfig {
  server: string;
  /** X-Cr-Client-Id of this installation */
  installationId: string;
  /** Called once with the URL the user must open (the shell opens it; the CLI prints it). */
  onUrl: (url: string) => void;
  /** give up after this long without the browser coming back (default 5 min) */
  timeoutMs?: number;
  signal?: AbortSignal;
  timeouts?: Partial<Timeouts>;
  scopes?: readonly string[];
}

export interface BrowserLoginResult {
  server: string;
  version: string;
  user: User;
  token: TokenPair;
}

/** The whole flow; resolves once the user consented in the browser and the tokens were obtained. */
export async function loginWithBrowser(opts: BrowserLoginOptions): Promise<BrowserLoginResult> {
  checkApp(opts);
  const site = normalizeBaseUrl(opts.server);
  const { version } = await detectServer(site, { timeouts: opts.timeouts });
  if (!atLeast(version, FEATURE_SINCE.oauth)) {
    throw new EngineError(
      'unsupported-feature',
      `${site} runs Cloudreve ${version}: this server has no browser sign-in (needs Cloudreve ${FEATURE_SINCE.oauth}+); sign in with email and password instead`,
    );
  }
  const pkce = createPkce();
  const state = randomBytes(24).toString('base64url');
  const redirectUri = redirectUriFor(opts.redirectPort);
  const listener = await listenForCallback(opts.redirectPort);
  let code: string;
  try {
    opts.onUrl(authorizeUrl({ site, clientId: opts.clientId, redirectUri, state, challenge: pkce.challenge, scopes: opts.scopes }));
    code = await listener.waitForCode(state, opts.timeoutMs ?? BROWSER_LOGIN_TIMEOUT_MS, opts.signal);
  } finally {
    listener.close();
  }
  const token = await exchangeCode({ site, clientId: opts.clientId, clientSecret: opts.clientSecret, code, verifier: pkce.verifier, timeouts: opts.timeouts });
  const client = new CloudreveClient({ baseUrl: site, clientId: opts.installationId, tokens: token, version, timeouts: opts.timeouts });
  try {
    const user = await client.me();
    return { server: site, version, user, token: client.tokens() ?? token };
  } finally {
    client.close();
  }
}

function checkApp(a: OAuthAppConfig): void {
  const missing = !a.clientId ? 'client id' : !a.clientSecret ? 'client secret' : '';
  if (missing) {
    throw new EngineError(
      'usage',
      `browser sign-in needs the ${missing} of an OAuth app registered on the server: ask its admin to register one ` +
        `(redirect URI ${redirectUriFor(a.redirectPort || DEFAULT_OAUTH_PORT)}, scopes ${OAUTH_SCOPES.join(' ')}) and set oauth.clientId/oauth.clientSecret (CLI: --client-id/--client-secret)`,
    );
  }
  if (!Number.isInteger(a.redirectPort) || a.redirectPort < 1 || a.redirectPort > 65535) {
    throw new EngineError('usage', `oauth.redirectPort must be a port number (1–65535), not ${a.redirectPort}`);
  }
}

// ---------------------------------------------------------------- the loopback listener

export interface CallbackListener {
  /**
   * Resolves with the code of the first callback carrying our state; rejects on an error answer carrying our state,
   * the timeout or the signal. A callback with another state (or none) is answered with an error page and ignored.
   */
  waitForCode(state: string, timeoutMs: number, signal?: AbortSignal): Promise<string>;
  close(): void;
}

/** Listens on 127.0.0.1:<port> (fails clearly when the port is taken). */
export async function listenForCallback(port: number): Promise<CallbackListener> {
  let onRequest: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server: Server = createServer((req, res) => {
    if (onRequest) onRequest(req, res);
    else page(res, 503, 'Cloudreve Sync is not waiting for a sign-in right now.');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new EngineError(
          'local-io',
          err.code === 'EADDRINUSE'
            ? `cannot wait for the browser on 127.0.0.1:${port}: the port is in use (another sign-in running?). Close it, or register another port and set oauth.redirectPort`
            : `cannot listen on 127.0.0.1:${port} for the browser: ${err.code ?? err.message}`,
          { cause: err },
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let closed = false;
  return {
    waitForCode(state, timeoutMs, signal) {
      return new Promise<string>((resolve, reject) => {
        const done = (err: Error | null, code?: string) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          onRequest = null;
          if (err) reject(err);
          else resolve(code!);
        };
        const timer = setTimeout(
          () => done(new EngineError('timeout', `the browser did not come back within ${Math.round(timeoutMs / 1000)} s; sign in again`)),
          timeoutMs,
        );
        const onAbort = () => done(new EngineError('cancelled', 'browser sign-in cancelled'));
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        onRequest = (req, res) => {
          const url = new URL(req.url ?? '/', 'http://127.0.0.1');
          if (req.method !== 'GET' || url.pathname !== OAUTH_CALLBACK_PATH) return page(res, 404, 'Not found.');
          const q = url.searchParams;
          if (q.get('state') !== state) {
            // Not ours: an old tab, another attempt, or any web page the user has open (a page can make the browser
            // request a loopback URL). Ignored: answering it must not end the sign-in, or a page could abort every
            // attempt. The wait goes on until our own state arrives or the timeout/signal ends it.
            return page(res, 400, 'This sign-in link does not belong to the sign-in Cloudreve Sync is waiting for; it was ignored. Finish the sign-in in the tab Cloudreve Sync opened.');
          }
          const error = q.get('error');
          if (error) {
            const why = q.get('error_description') || error;
            page(res, 400, `The server refused the sign-in: ${why}`);
            return done(new EngineError('login-required', `the server refused the browser sign-in: ${why}`));
          }
          const code = q.get('code');
          if (!code) {
            page(res, 400, 'The server sent no authorization code.');
            return done(new EngineError('bad-response', 'the browser came back without an authorization code'));
          }
          page(res, 200, 'Signed in. You can close this tab and return to Cloudreve Sync.');
          done(null, code);
        };
      });
    },
    close() {
      if (closed) return;
      closed = true;
      server.close();
      server.closeAllConnections();
    },
  };
}

function page(res: ServerResponse, status: number, text: string): void {
  const body = `<!doctype html><meta charset="utf-8"><title>Cloudreve Sync</title><p>${escapeHtml(text)}</p>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Content-Security-Policy': "default-src 'none'",
    'Cache-Control': 'no-store',
    Connection: 'close',
  });
  res.end(body);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---------------------------------------------------------------- the token exchange

export interface ExchangeParams {
  site: string;
  clientId: string;
  clientSecret: string;
  code: string;
  verifier: string;
  timeouts?: Partial<Timeouts>;
  /** the time the answer's relative expiries count from (tests) */
  now?: () => number;
}

/** `POST /api/v4/session/oauth/token` → a TokenPair with absolute expiries. */
export async function exchangeCode(p: ExchangeParams): Promise<TokenPair> {
  const http = new MasterHttp(p.site, { timeouts: p.timeouts });
  const body = Buffer.from(
    new URLSearchParams({
      client_id: p.clientId,
      client_secret: p.clientSecret,
      grant_type: 'authorization_code',
      code: p.code,
      code_verifier: p.verifier,
    }).toString(),
  );
  const secrets = [p.clientSecret, p.code, p.verifier];
  let raw;
  try {
    raw = await http.send({
      method: 'POST',
      path: '/api/v4/session/oauth/token',
      body,
      length: body.length,
      contentType: 'application/x-www-form-urlencoded',
      op: 'browser sign-in (token exchange)',
      secrets,
    });
  } finally {
    http.close();
  }
  const sent = (p.now ?? Date.now)();
  let v: Record<string, unknown> | null = null;
  try {
    const parsed = JSON.parse(raw.body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) v = parsed as Record<string, unknown>;
  } catch {
    v = null;
  }
  if (raw.status === 404 && !v) {
    throw new EngineError('unsupported-feature', `${p.site} has no OAuth token endpoint: this server has no browser sign-in (needs Cloudreve ${FEATURE_SINCE.oauth}+)`, { httpStatus: 404 });
  }
  if (raw.status !== 200 || !v) {
    const err = v && typeof v.error === 'string' ? v.error : `HTTP ${raw.status}`;
    const serverCode = v && Array.isArray(v.error_codes) && typeof v.error_codes[0] === 'number' ? v.error_codes[0] : undefined;
    const message = scrub(`the server refused the sign-in code: ${err}${serverCode ? ` (code ${serverCode})` : ''}; sign in again`, { secrets });
    throw new EngineError(serverCode === 40020 || raw.status === 400 ? 'login-required' : 'bad-response', message, { httpStatus: raw.status, serverCode });
  }
  const access = v.access_token;
  const refresh = v.refresh_token;
  const expiresIn = v.expires_in;
  const refreshIn = v.refresh_token_expires_in;
  if (typeof access !== 'string' || access === '' || typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) {
    throw new EngineError('bad-response', 'browser sign-in: the token answer has no access_token/expires_in');
  }
  if (typeof refresh !== 'string' || refresh === '') {
    throw new EngineError(
      'bad-response',
      'browser sign-in: the server gave no refresh token; the app registration must allow the offline_access scope (ask the admin)',
    );
  }
  const refreshSecs = typeof refreshIn === 'number' && Number.isFinite(refreshIn) ? refreshIn : expiresIn;
  return {
    access_token: access,
    refresh_token: refresh,
    access_expires: new Date(sent + expiresIn * 1000).toISOString(),
    refresh_expires: new Date(sent + refreshSecs * 1000).toISOString(),
  };
}
