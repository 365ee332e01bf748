// Remote storage node ("slave") upload endpoint and the master's upload callbacks (§6.3, §6.12).
import { HANDLED, type Ctx, type Router, sendJson } from './http.js';
import type { UploadSession } from './state.js';
import { hmacCheck, hmacSign, rawHeaderPairs, signContent } from './auth.js';
import { ApiError, E, newUuid } from './util.js';
import { processChunk } from './upload.js';

/** Node-internal request signature TTL (slave → master callback). */
const SIGNATURE_TTL_S = 600;
const CALLBACK_TIMEOUT_MS = 20_000;

/** Verify a `Bearer Cr` signed request with the node key; throws the promoted inner error. */
function checkSignedRequest(ctx: Ctx, body: string, httpStatus = 200): void {
  const auth = ctx.req.headers.authorization;
  if (auth === undefined) throw new ApiError(403, 'authorization header is missing', undefined, undefined, httpStatus);
  const sign = auth.startsWith('Bearer Cr ') ? auth.slice('Bearer Cr '.length) : auth;
  const content = signContent(ctx.url.pathname, rawHeaderPairs(ctx.req.rawHeaders), body);
  const r = hmacCheck(ctx.core.nodeSecret, content, sign);
  if (r) throw new ApiError(r.code, r.msg, undefined, undefined, httpStatus);
}

/** Slave → master: POST {site}/api/v4/callback/remote/{id}/{secret}, HMAC-signed with the node key. */
async function sendRemoteCallback(ctx: Ctx, s: UploadSession): Promise<void> {
  const core = ctx.core;
  const path = `/api/v4/callback/remote/${s.id}/${s.callbackSecret}`;
  const headers: Record<string, string> = { 'X-Cr-Correlation-Id': newUuid() };
  const expires = Math.floor(Date.now() / 1000) + SIGNATURE_TTL_S;
  const content = signContent(path, Object.entries(headers), '');
  headers.Authorization = 'Bearer Cr ' + hmacSign(core.nodeSecret, content, expires);
  let text: string;
  let status: number;
  try {
    const r = await fetch(core.baseUrl + path, { method: 'POST', headers, signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS) });
    status = r.status;
    text = await r.text();
  } catch {
    throw new ApiError(50007, 'Slave cannot send callback request');
  }
  let res: { code?: unknown; msg?: unknown };
  try {
    res = JSON.parse(text);
    if (typeof res !== 'object' || res === null) throw new Error('not an object');
  } catch {
    throw new ApiError(50007, `Slave cannot parse callback response from master (StatusCode=${status}).`);
  }
  const code = typeof res.code === 'number' ? res.code : 0;
  if (code !== 0) throw new ApiError(code, typeof res.msg === 'string' ? res.msg : '');
}

async function slaveUpload(ctx: Ctx, [id]: string[]): Promise<unknown> {
  const core = ctx.core;
  core.stats.chunk_requests++;
  // SignRequired middleware: body of non-PUT slave upload requests is not signed
  checkSignedRequest(ctx, '');
  const s = core.session(id);
  if (!s || s.policy.type !== 'remote' || s.policy.relay) throw E.sessionExpired();
  const q = ctx.url.searchParams.get('chunk') ?? '';
  const index = /^[+-]?\d+$/.test(q) ? parseInt(q, 10) : 0; // strconv.Atoi, errors ignored
  await processChunk(ctx, s, index, {
    slave: true,
    complete: async (x) => {
      await sendRemoteCallback(ctx, x);
    },
  });
  return undefined;
}

type CallbackType = 'remote' | 'oss' | 'upyun' | 'onedrive' | 'cos' | 's3' | 'ks3' | 'obs' | 'qiniu';

/** Per-vendor callback processing once session/secret/type are verified. Later vendors plug in here. */
export const callbackProcessors: Partial<Record<CallbackType, (ctx: Ctx, s: UploadSession) => Promise<unknown>>> = {
  remote: async (ctx, s) => {
    checkSignedRequest(ctx, '', 401); // RemoteCallbackAuth: POST body is signed (empty here)
    ctx.core.complete(s, undefined);
    return undefined;
  },
};

function callbackRoute(type: CallbackType) {
  return async (ctx: Ctx, [id, key]: string[]): Promise<unknown> => {
    const core = ctx.core;
    const s = core.session(id);
    // uploadCallbackCheck → HTTP 401
    if (!s || s.done) throw new ApiError(40011, 'Upload session does not exist or expired', undefined, undefined, 401);
    if (s.callbackSecret !== key) throw new ApiError(40020, 'Invalid callback secret', undefined, undefined, 401);
    if (s.policy.type !== type) throw new ApiError(40006, '', undefined, undefined, 401);
    const proc = callbackProcessors[type];
    if (!proc) throw new ApiError(40006, '', undefined, undefined, 401);
    const out = await proc(ctx, s);
    if (out === HANDLED) return HANDLED;
    sendJson(ctx.res, 200, { code: 0, msg: '' });
    return HANDLED;
  };
}

export function registerSlave(r: Router): void {
  r.add('POST', '/api/v4/slave/upload/([^/]+)', slaveUpload);
  const P = '/api/v4/callback';
  for (const t of ['remote', 'oss', 'upyun', 'onedrive', 'obs', 'qiniu'] as const) r.add('POST', `${P}/${t}/([^/]+)/([^/]+)`, callbackRoute(t));
  for (const t of ['cos', 's3', 'ks3'] as const) r.add('GET', `${P}/${t}/([^/]+)/([^/]+)`, callbackRoute(t));
}
