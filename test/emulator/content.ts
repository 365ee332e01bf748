// PUT /file/content (§5.6), POST /file/url and the signed content (download) route (§4.8). A download URL is the
// master's signed content route, or for an object an S3-like storage holds (unencrypted) that storage's pre-signed GET
// (SERVER entitysource.Url: no internal proxy); `redirect: true` answers 302 to it.
import { randomBytes } from 'node:crypto';
import { HANDLED, type Ctx, type Router, bool, readJson, requireUser, sendJson, str, strArray } from './http.js';
import { validateNewFile, type UploadSession } from './state.js';
import { ApiError, E, HT, buildUri, hashid, newUuid, parseUri, rfc3339, unhashid } from './util.js';
import { declaredLength, walk } from './upload.js';
import { receiveInto } from './blobio.js';
import { ctrAt } from './ctr.js';
import { hmacCheck, hmacSign } from './auth.js';
import { serveRange } from './ranges.js';
import { objectUrl } from './vendor-s3.js';

const P = '/api/v4';
const URL_TTL_S = 3600;

async function putContent(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const q = ctx.url.searchParams;
  const uriStr = q.get('uri');
  if (!uriStr) throw E.param("Key: 'FileUpdateService.Uri' Error:Field validation for 'Uri' failed on the 'required' tag");
  const previous = q.get('previous') ?? '';
  const p = parseUri(uriStr);
  if (p.fs !== 'my' || (p.owner && p.owner !== user.hashid)) throw E.noPerm();
  let len = declaredLength(ctx);
  if (Number.isNaN(len) || len < 0) len = 0;
  if (len > core.settings.maxEditSize) throw E.tooLarge();
  core.sweep();
  if (p.segs.length === 0) throw E.exist();
  const target = walk(core, user, p.segs);
  if (target && target.type !== 0) throw E.exist();
  if (target) {
    const hit = core.lockConflict(target);
    if (hit) throw core.lockError(hit);
  }
  const policy = JSON.parse(JSON.stringify(core.policy));
  const name = p.segs[p.segs.length - 1];
  validateNewFile(name, len, policy);
  if (user.used + len > core.settings.quota) throw E.capacity();
  if (target && previous !== '' && previous !== hashid(HT.entity, target.primary ? target.primary.id : 0)) throw E.stale();

  const sid = newUuid();
  const now = Date.now();
  const expiresMs = now + core.settings.sessionTtl * 1000;
  const node = target ?? core.newNode(user, core.mkdirp(user, p.segs.slice(0, -1), ctx.clientId), name, 0);
  const entity = core.newEntity(user, len, { placeholder: true, preAllocate: true, uploadSessionId: sid });
  node.entities.push(entity);
  const enc = policy.encryption ? { key: randomBytes(32), iv: randomBytes(16) } : undefined;
  if (enc) {
    entity.encrypted = true;
    entity.key = enc.key;
    entity.iv = enc.iv;
  }
  node.lock = { token: `opaquelocktoken:${newUuid()}`, app: 'upload', sessionId: sid, expiresMs };
  if (!target) core.emit(user, 'create', node, p.segs, undefined, ctx.clientId);
  const s: UploadSession = {
    id: sid,
    user,
    node,
    entity,
    uri: buildUri('my', p.segs),
    size: len,
    chunkSize: 0,
    createdMs: now,
    expiresMs,
    expires: Math.floor(expiresMs / 1000),
    received: new Set(),
    slaveReceived: new Set(),
    callbackSecret: '',
    policy,
    isNew: !target,
    serverEncrypt: enc,
    clientId: ctx.clientId,
    done: false,
  };
  let n = 0;
  try {
    n = await receiveInto(ctx.req, {
      file: entity.blobPath,
      offset: 0,
      length: len,
      cipher: enc ? ctrAt(enc.key, enc.iv, 0) : undefined,
      onBytes: (k) => {
        core.stats.bytes_received += k;
      },
    });
  } finally {
    if (n !== len) {
      // OnUploadFailed: drop the new entity, release the lock; a brand-new file disappears
      if (node.lock?.sessionId === sid) node.lock = null;
      if (target) core.dropEntity(node, entity);
      else core.purge(node);
    }
  }
  if (n !== len) throw E.io('Failed to upload file');
  core.complete(s, ctx.clientId, true);
  return core.fileJson(node);
}

/** Sign a content path the way SignURI does (path only). */
export function signedContentUrl(ctx: Ctx, entityHash: string, name: string, download: boolean): { url: string; expires: Date } {
  const expires = new Date(Date.now() + URL_TTL_S * 1000);
  const path = `${P}/file/content/${entityHash}/0/${encodeURIComponent(name)}`;
  const sign = hmacSign(ctx.core.urlSecret, path, Math.floor(expires.getTime() / 1000));
  const qs = new URLSearchParams();
  if (download) qs.set('download', 'true');
  qs.set('sign', sign);
  return { url: `${ctx.core.baseUrl}${path}?${qs.toString()}`, expires };
}

async function fileUrl(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uris = strArray(body.uris, 'Uris', true);
  const download = bool(body.download);
  const redirect = bool(body.redirect);
  const skipError = bool(body.skip_error);
  const entity = str(body.entity, 'Entity');
  core.sweep();
  const urls: Array<Record<string, unknown>> = [];
  const agg: Record<string, unknown> = {};
  let lastMsg = '';
  let expires: Date | null = null;
  for (const u of uris) {
    try {
      const p = parseUri(u);
      if (p.fs !== 'my' || (p.owner && p.owner !== user.hashid)) throw E.noPerm();
      const node = walk(core, user, p.segs);
      if (!node || node.type !== 0 || p.segs.length === 0) throw E.pathNotExist();
      let e = node.primary;
      if (entity) {
        const eid = unhashid(entity, HT.entity);
        e = node.entities.find((x) => x.id === eid) ?? null;
        if (!e) throw new ApiError(40077, 'Entity not exist');
      }
      if (!e || e.placeholder) throw new ApiError(40077, 'Entity not exist');
      // an object of an S3-like storage: that storage's pre-signed GET, unless the server must decrypt (internal proxy)
      const su = (!e.encrypted && objectUrl(core, e, URL_TTL_S)) || signedContentUrl(ctx, hashid(HT.entity, e.id), node.name, download);
      expires = su.expires;
      urls.push(download ? { url: su.url, stream_saver_display_name: node.name } : { url: su.url });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      agg[u] = { code: err.code, msg: err.msg, correlation_id: ctx.correlationId };
      lastMsg = err.msg;
    }
  }
  const nErr = Object.keys(agg).length;
  if (nErr && !skipError) throw new ApiError(40081, nErr === 1 ? lastMsg : 'One or more operation failed', undefined, agg);
  if (redirect && urls.length === 1) {
    ctx.res.writeHead(302, { Location: String(urls[0].url) });
    ctx.res.end();
    return HANDLED;
  }
  return { urls, expires: expires ? rfc3339(expires) : null };
}

/**
 * The signed content route (SERVER entitysource.Serve): Range, If-Range against the ETag `"<entity hashid>"`, HEAD,
 * decrypted when the entity is encrypted; an object on a real S3 server is read from there (Cloudreve's internal proxy).
 */
async function serveContent(ctx: Ctx, params: string[]): Promise<unknown> {
  const core = ctx.core;
  const [entityHash] = params;
  const sign = ctx.url.searchParams.get('sign') ?? '';
  const chk = hmacCheck(core.urlSecret, ctx.url.pathname, sign);
  if (chk) throw new ApiError(chk.code, chk.msg);
  const eid = unhashid(entityHash, HT.entity);
  const e = eid === null ? undefined : core.entities.get(eid);
  if (!e || e.placeholder) throw new ApiError(40077, 'Entity not exist');
  const name = decodeURIComponent(params[params.length - 1]);
  return serveRange(ctx, {
    size: e.size,
    etag: `"${hashid(HT.entity, e.id)}"`,
    open: (start, end) => core.openBlob(e, start, end),
    decrypt: e.encrypted && e.key && e.iv ? { key: e.key, iv: e.iv } : undefined,
    headers: { 'Content-Disposition': `${ctx.url.searchParams.get('download') ? 'attachment' : 'inline'}; filename*=UTF-8''${encodeURIComponent(name)}` },
  });
}

export function registerContent(r: Router): void {
  r.add('PUT', `${P}/file/content`, putContent);
  r.add('POST', `${P}/file/url`, fileUrl);
  r.add('GET', `${P}/file/content/([^/]+)/([^/]+)/([^/]+)`, serveContent);
  r.add('HEAD', `${P}/file/content/([^/]+)/([^/]+)/([^/]+)`, serveContent);
  r.add('GET', `${P}/file/content/([^/]+)/([^/]+)/([^/]+)/([^/]+)`, serveContent);
  r.add('HEAD', `${P}/file/content/([^/]+)/([^/]+)/([^/]+)/([^/]+)`, serveContent);
}

export { sendJson };
