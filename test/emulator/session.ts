// Site, session (login/2FA/refresh/sign-out) and user routes (§2, §3).
import { HANDLED, type Ctx, type Router, readJson, requireUser, sendJson, str } from './http.js';
import type { Core, UserRec } from './state.js';
import { jwtSign, jwtVerify, stateHash, totpValidate } from './auth.js';
import { ApiError, E, HT, newUuid, rfc3339, unhashid } from './util.js';

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

export function issueToken(core: Core, user: UserRec, rootTokenId?: string): Record<string, string> {
  const now = Date.now();
  const nbf = Math.floor(now / 1000);
  const accessExp = new Date(now + core.settings.accessTtl * 1000);
  const refreshExp = new Date(now + core.settings.refreshTtl * 1000);
  const root = rootTokenId ?? newUuid();
  const access = jwtSign(
    { token_type: 'access', sub: user.hashid, exp: Math.floor(accessExp.getTime() / 1000), nbf },
    core.jwtSecret,
  );
  const refresh = jwtSign(
    {
      token_type: 'refresh',
      root_token_id: root,
      sub: user.hashid,
      exp: Math.floor(refreshExp.getTime() / 1000),
      nbf,
      state_hash: stateHash(user.email, user.password, core.siteId),
    },
    core.jwtSecret,
  );
  return {
    access_token: access,
    refresh_token: refresh,
    access_expires: rfc3339(accessExp),
    refresh_expires: rfc3339(refreshExp),
  };
}

/**
 * Resolve the caller from `Authorization` (§2.4/2.5). Invalid/expired JWT → anonymous (null).
 * A valid JWT of the wrong type (refresh token as bearer) → 40020 "Invalid token type" (SERVER jwt.go).
 */
export function authenticate(core: Core, header: string | undefined): UserRec | null {
  const h = header ?? '';
  if (h.startsWith('Bearer Cr ')) return null;
  const tok = h.startsWith('Bearer ') ? h.slice(7) : h;
  if (!tok) return null;
  const claims = jwtVerify(tok, core.jwtSecret);
  if (!claims) return null;
  if (claims.token_type !== 'access') throw new ApiError(40020, 'Invalid token type');
  const uid = unhashid(String(claims.sub ?? ''), HT.user);
  const user = uid === null ? undefined : core.users.find((u) => u.id === uid);
  if (!user) throw new ApiError(404, 'User not found');
  return user;
}

function loginPayload(core: Core, user: UserRec): Record<string, unknown> {
  return { user: core.userJson(user), token: issueToken(core, user) };
}

export function registerSession(r: Router): void {
  const P = '/api/v4';

  r.add('GET', `${P}/site/ping`, (ctx) => ctx.core.settings.version);

  r.add('GET', `${P}/site/config/([^/]+)`, (ctx, [section]) => {
    switch (section) {
      case 'login':
        return { register_enabled: false };
      case 'explorer':
        return { max_batch_size: 3000, thumbnail_width: 400, thumbnail_height: 300 };
      case 'emojis':
        return { emoji_preset: '' };
      case 'app':
        return {};
      case 'thumb':
        return { thumb_exts: [] };
      default:
        return {
          instance_id: ctx.core.siteId,
          title: 'Cloudreve',
          themes: '{}',
          default_theme: '#1976d2',
          user: ctx.user ? ctx.core.userJson(ctx.user) : { id: '', nickname: '', created_at: rfc3339(new Date(0)), anonymous: true },
          captcha_type: 'normal',
        };
    }
  });

  r.add('GET', `${P}/session/prepare`, (ctx) => {
    const email = ctx.url.searchParams.get('email') ?? '';
    if (!EMAIL_RE.test(email)) throw E.param();
    const u = ctx.core.userByEmail(email);
    if (!u) throw new ApiError(404, 'User not found');
    return { webauthn_enabled: false, password_enabled: true };
  });

  r.add('POST', `${P}/session/token`, async (ctx) => {
    const body = await readJson(ctx);
    const email = str(body.email, 'Email', true);
    const password = str(body.password, 'Password', true);
    if (!EMAIL_RE.test(email)) throw E.param("Key: 'UserLoginService.UserName' Error:Field validation for 'UserName' failed on the 'email' tag");
    if (password.length < 4 || password.length > 128)
      throw E.param("Key: 'UserLoginService.Password' Error:Field validation for 'Password' failed on the 'min' tag");
    const u = ctx.core.userByEmail(email);
    if (!u || u.password !== password) throw new ApiError(40080, 'Incorrect password or email address');
    if (u.totpSecret) {
      const sid = newUuid();
      ctx.core.twoFa.set(sid, { user: u, expiresMs: Date.now() + 600_000 });
      sendJson(ctx.res, 200, { code: 203, data: sid, msg: '' });
      return HANDLED;
    }
    return loginPayload(ctx.core, u);
  });

  r.add('POST', `${P}/session/token/2fa`, async (ctx) => {
    const body = await readJson(ctx);
    const otp = str(body.otp, 'OTP', true);
    const sid = str(body.session_id, 'SessionID', true);
    ctx.core.sweep();
    const s = ctx.core.twoFa.get(sid);
    if (!s) throw new ApiError(404, 'Session not found');
    if (s.user.totpSecret && !totpValidate(s.user.totpSecret, otp)) throw new ApiError(40022, 'Incorrect 2FA code');
    ctx.core.twoFa.delete(sid);
    return loginPayload(ctx.core, s.user);
  });

  r.add('POST', `${P}/session/token/refresh`, async (ctx) => {
    const body = await readJson(ctx);
    const tok = str(body.refresh_token, 'RefreshToken', true);
    const core = ctx.core;
    core.sweep();
    const claims = jwtVerify(tok, core.jwtSecret);
    const fail = () => E.credential('Failed to issue token pair');
    if (!claims || claims.token_type !== 'refresh') throw fail();
    const uid = unhashid(String(claims.sub ?? ''), HT.user);
    const user = uid === null ? undefined : core.users.find((u) => u.id === uid);
    if (!user) throw fail();
    if (claims.state_hash !== stateHash(user.email, user.password, core.siteId)) throw fail();
    const root = typeof claims.root_token_id === 'string' ? claims.root_token_id : '';
    if (!root || core.revoked.has(root)) throw fail();
    return issueToken(core, user, root);
  });

  r.add('DELETE', `${P}/session/token`, async (ctx) => {
    const body = await readJson(ctx);
    const tok = str(body.refresh_token, 'RefreshToken', true);
    const claims = jwtVerify(tok, ctx.core.jwtSecret);
    if (!claims) throw new ApiError(40020, 'Failed to parse token');
    if (typeof claims.root_token_id === 'string') {
      ctx.core.revoked.set(claims.root_token_id, Date.now() + (ctx.core.settings.refreshTtl + 10) * 1000);
    }
    return '';
  });

  r.add('GET', `${P}/user/me`, (ctx) => ctx.core.userJson(requireUser(ctx)));
  r.add('GET', `${P}/user/capacity`, (ctx) => {
    ctx.core.sweep();
    return ctx.core.capacity(requireUser(ctx));
  });
  r.add('GET', `${P}/user/setting`, (ctx) => {
    const u = requireUser(ctx);
    return {
      version_retention_enabled: false,
      version_retention_ext: [],
      version_retention_max: 0,
      two_fa_enabled: !!u.totpSecret,
      passwordless: false,
      oauth_grants: [],
    };
  });
}

export type { Ctx };
