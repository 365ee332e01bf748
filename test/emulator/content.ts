// PUT /file/content (§5.6), POST /file/url and the signed content (download) route (§4.8).
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { HANDLED, type Ctx, type Router, bool, readJson, requireUser, sendJson, str, strArray } from './http.js';
import { validateNewFile, type UploadSession } from './state.js';
import { ApiError, E, HT, buildUri, hashid, newUuid, parseUri, rfc3339, unhashid } from './util.js';
import { declaredLength, walk } from './upload.js';
import { receiveInto } from './blobio.js';
import { ctrAt } from './ctr.js';
import { hmacCheck, hmacSign } from './auth.js';

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
      if (!e) throw new ApiError(40077, 'Entity not exist');
      const su = signedContentUrl(ctx, hashid(HT.entity, e.id), node.name, download);
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

async function serveContent(ctx: Ctx, params: string[]): Promise<unknown> {
  const core = ctx.core;
  const [entityHash] = params;
  const sign = ctx.url.searchParams.get('sign') ?? '';
  const chk = hmacCheck(core.urlSecret, ctx.url.pathname, sign);
  if (chk) throw new ApiError(chk.code, chk.msg);
  const eid = unhashid(entityHash, HT.entity);
  const e = eid === null ? undefined : core.entities.get(eid);
  if (!e) throw new ApiError(40077, 'Entity not exist');
  const total = e.size;
  let start = 0;
  let end = total - 1;
  let status = 200;
  const range = ctx.req.headers.range;
  const m = typeof range === 'string' ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  if (m && (m[1] !== '' || m[2] !== '')) {
    if (m[1] === '') {
      start = Math.max(0, total - parseInt(m[2], 10));
    } else {
      start = parseInt(m[1], 10);
      if (m[2] !== '') end = Math.min(end, parseInt(m[2], 10));
    }
    if (start >= total || start > end) {
      ctx.res.writeHead(416, { 'Content-Range': `bytes */${total}` });
      ctx.res.end();
      return HANDLED;
    }
    status = 206;
  }
  const len = total === 0 ? 0 : end - start + 1;
  const name = decodeURIComponent(params[params.length - 1]);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': len,
    'Accept-Ranges': 'bytes',
    'Content-Disposition': `${ctx.url.searchParams.get('download') ? 'attachment' : 'inline'}; filename*=UTF-8''${encodeURIComponent(name)}`,
  };
  if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
  ctx.res.writeHead(status, headers);
  if (ctx.req.method === 'HEAD' || len === 0) {
    ctx.res.end();
    return HANDLED;
  }
  const rs = fs.createReadStream(e.blobPath, { start, end, highWaterMark: 1024 * 1024 });
  const dec = e.encrypted && e.key && e.iv ? ctrAt(e.key, e.iv, start) : null;
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    rs.on('error', () => {
      ctx.res.destroy();
      done();
    });
    ctx.res.on('close', () => {
      rs.destroy();
      done();
    });
    rs.on('data', (c) => {
      const out = dec ? dec.update(c as Buffer) : (c as Buffer);
      if (!ctx.res.write(out)) {
        rs.pause();
        ctx.res.once('drain', () => rs.resume());
      }
    });
    rs.on('end', () => {
      ctx.res.end();
      done();
    });
  });
  return HANDLED;
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
