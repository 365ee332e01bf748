// OAuth 2.0 for third-party apps (§2.6; server ≥ 4.12.0, SERVER service/oauth/oauth.go, routers/controllers/oauth.go):
// app registrations, consent (POST /session/oauth/consent), the form-encoded token exchange with PKCE, userinfo,
// and — standing in for the web app's `/session/authorize` page — a tiny HTML sign-in-and-consent form.
import { createHash, randomBytes } from 'node:crypto';
import { HANDLED, type Ctx, type Router, readBody, readJson, requireUser, sendJson, str } from './http.js';
import type { Core, UserRec } from './state.js';
import { issueToken } from './session.js';
import { ApiError, E } from './util.js';
import type { EmulatorOAuthClient } from './types.js';

/** Registered unless EmulatorOptions.oauthClients says otherwise: what the demo and the README use. */
export const DEMO_OAUTH_CLIENT: EmulatorOAuthClient = {
  id: '6b0e4d6e-3f8a-4c55-9d3e-2a7c0f1b9e21',
  secret: 'cloudreve-sync-demo-secret',
  name: 'Cloudreve Sync (demo)',
  redirectUris: ['http://127.0.0.1:47821/callback'],
  scopes: ['openid', 'offline_access', 'profile', 'email', 'UserInfo.Read', 'Files.Write', 'Shares.Write'],
};

const CODE_TTL_MS = 600_000;

interface AuthCode {
  clientId: string;
  user: UserRec;
  scopes: string[];
  redirectUri: string;
  challenge: string;
  expiresMs: number;
}

interface OAuthState {
  clients: EmulatorOAuthClient[];
  codes: Map<string, AuthCode>;
}

const states = new WeakMap<Core, OAuthState>();

/** The OAuth state of one emulator; `clients` is fixed when the emulator is built (configureOAuth). */
function stateOf(core: Core): OAuthState {
  let s = states.get(core);
  if (!s) {
    s = { clients: [DEMO_OAUTH_CLIENT], codes: new Map() };
    states.set(core, s);
  }
  return s;
}

export function configureOAuth(core: Core, clients: EmulatorOAuthClient[] | undefined): void {
  stateOf(core).clients = clients ?? [DEMO_OAUTH_CLIENT];
}

/** `X.Write` implies `X.Read` (SERVER pkg/auth ValidateScopes). */
function scopesAllowed(requested: string[], allowed: string[]): boolean {
  const ok = new Set(allowed);
  for (const a of allowed) if (a.endsWith('.Write')) ok.add(a.replace(/\.Write$/, '.Read'));
  return requested.every((s) => ok.has(s));
}

/** The consent step (SERVER GrantService.Get); returns the one-time code. */
function grant(core: Core, user: UserRec, p: { clientId: string; redirectUri: string; scope: string; challenge: string; method: string }): string {
  const app = stateOf(core).clients.find((c) => c.id === p.clientId);
  if (!app) throw new ApiError(404, 'App not found');
  if (p.method !== '' && p.method !== 'S256') throw E.param("Key: 'GrantService.CodeChallengeMethod' Error:Field validation for 'CodeChallengeMethod' failed on the 'eq' tag");
  if (!app.redirectUris.includes(p.redirectUri)) throw E.param('Invalid redirect URI');
  const scopes = p.scope.split(' ');
  if (!scopesAllowed(scopes, app.scopes)) throw E.param('Invalid scope requested');
  if (!scopes.includes('openid')) throw E.param('openid scope required');
  const code = randomBytes(96).toString('base64url'); // 128 characters, like the server's RandStringRunesCrypto(128)
  const codes = stateOf(core).codes;
  const now = Date.now();
  for (const [k, v] of codes) if (v.expiresMs <= now) codes.delete(k);
  codes.set(code, { clientId: app.id, user, scopes, redirectUri: p.redirectUri, challenge: p.challenge, expiresMs: now + CODE_TTL_MS });
  return code;
}

/** HTTP 400 in the token endpoint's own (non-envelope) error shape. */
function tokenError(ctx: Ctx, err: ApiError): typeof HANDLED {
  sendJson(ctx.res, 400, { error: err.msg, error_description: '', error_codes: [err.code], correlation_id: ctx.correlationId });
  return HANDLED;
}

function required(form: URLSearchParams, key: string, field: string): string {
  const v = form.get(key) ?? '';
  if (v === '') throw E.param(`Key: 'ExchangeTokenService.${field}' Error:Field validation for '${field}' failed on the 'required' tag`);
  return v;
}

function exchange(core: Core, form: URLSearchParams): Record<string, unknown> {
  const clientId = required(form, 'client_id', 'ClientID');
  const secret = required(form, 'client_secret', 'ClientSecret');
  const grantType = required(form, 'grant_type', 'GrantType');
  if (grantType !== 'authorization_code') throw E.param("Key: 'ExchangeTokenService.GrantType' Error:Field validation for 'GrantType' failed on the 'eq' tag");
  const code = required(form, 'code', 'Code');
  const verifier = form.get('code_verifier') ?? '';
  const codes = stateOf(core).codes;
  const auth = codes.get(code);
  if (!auth || auth.expiresMs <= Date.now()) {
    codes.delete(code);
    throw E.credential('Invalid or expired authorization code');
  }
  codes.delete(code); // single use, deleted before any other check (as the server does)
  if (auth.clientId !== clientId) throw E.credential('Client ID mismatch');
  if (auth.challenge !== '' && createHash('sha256').update(verifier).digest('base64url') !== auth.challenge) {
    throw E.credential('Invalid code verifier');
  }
  const app = stateOf(core).clients.find((c) => c.id === clientId);
  if (!app) throw new ApiError(404, 'App not found');
  if (app.secret !== secret) throw E.credential('Invalid client secret');
  if (!scopesAllowed(auth.scopes, app.scopes)) throw E.param('Invalid scope');
  const t = issueToken(core, auth.user);
  const now = Date.now();
  const out: Record<string, unknown> = {
    access_token: t.access_token,
    token_type: 'Bearer',
    expires_in: Math.floor((Date.parse(t.access_expires) - now) / 1000),
    refresh_token_expires_in: Math.floor((Date.parse(t.refresh_expires) - now) / 1000),
    scope: auth.scopes.join(' '),
  };
  if (auth.scopes.includes('offline_access')) out.refresh_token = t.refresh_token;
  return out;
}

function html(ctx: Ctx, status: number, body: string): typeof HANDLED {
  const page = `<!doctype html><meta charset="utf-8"><title>Cloudreve (emulator)</title>${body}`;
  ctx.res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(page) });
  ctx.res.end(page);
  return HANDLED;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const AUTHORIZE_FIELDS = ['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'] as const;

export function registerOAuth(r: Router): void {
  const P = '/api/v4/session/oauth';

  r.add('GET', `${P}/app/([^/]+)`, (ctx, [id]) => {
    const app = stateOf(ctx.core).clients.find((c) => c.id === id);
    if (!app) throw new ApiError(404, 'App not found');
    return { id: app.id, name: app.name ?? app.id };
  });

  r.add('POST', `${P}/consent`, async (ctx) => {
    const user = requireUser(ctx);
    const body = await readJson(ctx);
    const responseType = str(body.response_type, 'ResponseType', true);
    if (responseType !== 'code') throw E.param("Key: 'GrantService.ResponseType' Error:Field validation for 'ResponseType' failed on the 'eq' tag");
    const state = str(body.state, 'State');
    const challenge = str(body.code_challenge, 'CodeChallenge');
    const method = str(body.code_challenge_method, 'CodeChallengeMethod');
    const code = grant(ctx.core, user, {
      clientId: str(body.client_id, 'ClientID', true),
      redirectUri: str(body.redirect_uri, 'RedirectURI', true),
      scope: str(body.scope, 'Scope', true),
      challenge,
      method: challenge !== '' && method === '' ? 'S256' : method,
    });
    return { code, state };
  });

  r.add('POST', `${P}/token`, async (ctx) => {
    const form = new URLSearchParams((await readBody(ctx.req, 64 * 1024)).toString('utf8'));
    try {
      sendJson(ctx.res, 200, exchange(ctx.core, form)); // not enveloped
      return HANDLED;
    } catch (err) {
      if (err instanceof ApiError) return tokenError(ctx, err);
      throw err;
    }
  });

  r.add('GET', `${P}/userinfo`, (ctx) => {
    const u = requireUser(ctx);
    sendJson(ctx.res, 200, { sub: u.hashid, name: u.nickname, preferred_username: u.nickname, email: u.email, email_verified: true });
    return HANDLED;
  });

  // The web app's consent page. The real one is the SPA (the user is signed in there, by any means); here a
  // form asks for the email and password, consents, and redirects like the SPA does.
  r.add('GET', '/session/authorize', (ctx) => {
    const q = ctx.url.searchParams;
    const app = stateOf(ctx.core).clients.find((c) => c.id === q.get('client_id'));
    if (!app) return html(ctx, 404, '<p>App not found</p>');
    const hidden = AUTHORIZE_FIELDS.map((k) => `<input type="hidden" name="${k}" value="${esc(q.get(k) ?? '')}">`).join('');
    return html(
      ctx,
      200,
      `<h1>Sign in to allow ${esc(app.name ?? app.id)}</h1><p>Scopes: ${esc(q.get('scope') ?? '')}</p>` +
        `<form method="post" action="/session/authorize">${hidden}` +
        `<label>Email <input name="email" type="email"></label><label>Password <input name="password" type="password"></label>` +
        `<button name="decision" value="allow">Allow</button><button name="decision" value="deny">Deny</button></form>`,
    );
  });

  r.add('POST', '/session/authorize', async (ctx) => {
    const form = new URLSearchParams((await readBody(ctx.req, 64 * 1024)).toString('utf8'));
    const redirectUri = form.get('redirect_uri') ?? '';
    const app = stateOf(ctx.core).clients.find((c) => c.id === form.get('client_id'));
    if (!app || !app.redirectUris.includes(redirectUri)) return html(ctx, 400, '<p>Invalid app or redirect URI</p>');
    const back = new URL(redirectUri);
    back.searchParams.set('state', form.get('state') ?? '');
    if (form.get('decision') === 'deny') {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user refused the request');
    } else {
      const user = ctx.core.userByEmail(form.get('email') ?? '');
      if (!user || user.password !== form.get('password')) return html(ctx, 403, '<p>Incorrect password or email address</p>');
      try {
        const code = grant(ctx.core, user, {
          clientId: app.id,
          redirectUri,
          scope: form.get('scope') ?? '',
          challenge: form.get('code_challenge') ?? '',
          method: form.get('code_challenge_method') ?? '',
        });
        back.searchParams.set('code', code);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        return html(ctx, 400, `<p>${esc(err.msg)}</p>`);
      }
    }
    ctx.res.writeHead(302, { Location: back.href, 'Content-Length': 0 });
    ctx.res.end();
    return HANDLED;
  });
}
