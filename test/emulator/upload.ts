// Upload sessions (§5.1–5.5, §6.1–6.3, §11): create, master chunk upload, cancel.
import { randomBytes } from 'node:crypto';
import { HANDLED, type Ctx, type Router, int, readJson, requireUser, str } from './http.js';
import { DEFAULT_CHUNK, validateNewFile, type Core, type FileNode, type UploadSession, type UserRec } from './state.js';
import type { EmulatorPolicy } from './types.js';
import { ApiError, E, HT, buildUri, hashid, newUuid, parseUri, unhashid, type ParsedUri } from './util.js';
import { ClientGone, receiveInto, fileSize } from './blobio.js';
import { ctrAt } from './ctr.js';
import { hmacSign, signContent } from './auth.js';

const META_NS = new Set(['sys', 'dav', 'thumb', 'customize', 'tag', 'props']);
const SYS_ALLOWED = new Set(['sys:shared_owner', 'sys:shared_redirect']);

/** §4.7 metadata key rules → 40001 */
export function validateMetadata(meta: unknown): Record<string, string> | undefined {
  if (meta === undefined || meta === null) return undefined;
  if (typeof meta !== 'object' || Array.isArray(meta)) throw E.param();
  const out: Record<string, string> = {};
  const entries = Object.entries(meta as Record<string, unknown>);
  if (entries.length > 256) throw E.param("Key: 'Metadata' Error:Field validation for 'Metadata' failed on the 'max' tag");
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw E.param();
    const i = k.indexOf(':');
    const ns = i > 0 ? k.slice(0, i) : '';
    if (!META_NS.has(ns) || i === k.length - 1) throw E.param('Invalid metadata key');
    if (ns === 'sys' && !SYS_ALLOWED.has(k)) throw E.param('Invalid metadata key');
    out[k] = v;
  }
  return out;
}

export function randomAlnum(n: number): string {
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const b = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += a[b[i] % a.length];
  return s;
}

/** The `my` filesystem target of a URI for this user; other filesystems → 403. */
export function myTarget(core: Core, user: UserRec, uri: unknown): ParsedUri {
  const p = parseUri(uri);
  if (p.fs !== 'my') throw E.noPerm();
  if (p.owner && p.owner !== user.hashid) throw E.noPerm();
  void core;
  return p;
}

/** Walk a path; returns the node or null. Throws 40016 if a middle component is a file. */
export function walk(core: Core, user: UserRec, segs: string[]): FileNode | null {
  let n = user.root;
  for (let i = 0; i < segs.length; i++) {
    const c = n.children?.get(segs[i]);
    if (!c) return null;
    if (i < segs.length - 1 && c.type !== 1) throw E.pathNotExist();
    n = c;
  }
  return n;
}

function policyChunk(p: EmulatorPolicy): number {
  return p.chunkSize ?? DEFAULT_CHUNK;
}

function preAllocates(p: EmulatorPolicy): boolean {
  return p.preAllocate !== false;
}

export function slaveCredential(core: Core, sessionId: string, expires: number): string {
  const content = signContent(`/api/v4/slave/upload/${sessionId}`, [], '');
  return 'Bearer Cr ' + hmacSign(core.nodeSecret, content, expires);
}

/**
 * Per-policy-type behaviour (the storage driver's part of §5.2/§6). Add new vendor types here
 * (e.g. s3: presigned upload_urls + completeURL), and their callbacks in slave.ts `callbackProcessors`.
 */
export interface PolicyAdapter {
  /** the storage side of a new session (e.g. CreateMultipartUpload on a real S3 server); a failure fails the session */
  prepare?: (core: Core, s: UploadSession) => Promise<void>;
  /** fill driver-specific fields of the session response (upload_urls, credential, completeURL, upload_id…) */
  token?: (core: Core, s: UploadSession, out: Record<string, unknown>) => void;
}

export const policyAdapters: Record<string, PolicyAdapter> = {
  local: {},
  remote: {
    token: (core, s, out) => {
      out.upload_urls = [`${core.baseUrl}/api/v4/slave/upload/${s.id}`];
      out.credential = slaveCredential(core, s.id, s.expires);
    },
  },
};

export function sessionResponse(core: Core, s: UploadSession): Record<string, unknown> {
  const out: Record<string, unknown> = {
    session_id: s.id,
    upload_id: '',
    chunk_size: s.chunkSize,
    expires: s.expires,
  };
  // Relay sessions always upload to the master; otherwise the policy type decides (driver Token()).
  if (!s.policy.relay) policyAdapters[s.policy.type]?.token?.(core, s, out);
  out.storage_policy = core.policyJson(s.policy);
  out.uri = s.uri;
  out.callback_secret = s.callbackSecret;
  if (s.clientEncrypt) {
    out.encrypt_metadata = {
      algorithm: 'aes-256-ctr',
      key: null,
      key_plain_text: s.clientEncrypt.key.toString('base64'),
      iv: s.clientEncrypt.iv.toString('base64'),
    };
  }
  return out;
}

async function createSession(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uriStr = str(body.uri, 'Uri', true);
  const size = int(body.size, 0);
  if (size < 0) throw E.param("Key: 'CreateUploadSessionService.Size' Error:Field validation for 'Size' failed on the 'min' tag");
  const lastModified = int(body.last_modified, 0);
  str(body.mime_type, 'MimeType');
  const policyId = str(body.policy_id, 'PolicyID');
  const metadata = validateMetadata(body.metadata);
  const entityType = str(body.entity_type, 'EntityType');
  if (!['', 'version', 'live_photo'].includes(entityType))
    throw E.param("Key: 'CreateUploadSessionService.EntityType' Error:Field validation for 'EntityType' failed on the 'eq=|eq=live_photo|eq=version' tag");
  let supported: string[] = [];
  if (body.encryption_supported !== undefined && body.encryption_supported !== null) {
    if (!Array.isArray(body.encryption_supported) || body.encryption_supported.some((x) => typeof x !== 'string')) throw E.param();
    supported = body.encryption_supported as string[];
  }
  const previous = str(body.previous ?? body.Previous, 'Previous');
  const p = (() => {
    try {
      return parseUri(uriStr);
    } catch {
      throw E.param('unknown uri');
    }
  })();
  if (policyId !== '' && unhashid(policyId, HT.policy) === null) throw E.param('unknown policy id');
  if (p.fs !== 'my' || (p.owner && p.owner !== user.hashid)) throw E.noPerm();

  core.sweep();
  const segs = p.segs;
  const target = segs.length === 0 ? user.root : walk(core, user, segs);
  const existed = !!target;
  if (existed && (entityType === '' || target!.type !== 0)) throw E.exist();
  if (!existed && entityType !== '' && entityType !== 'version') throw E.pathNotExist();
  if (target) {
    const hit = core.lockConflict(target);
    if (hit) throw core.lockError(hit);
  }
  const policy: EmulatorPolicy = JSON.parse(JSON.stringify(core.policy));
  const relay = !!policy.relay;
  let clientEncrypt: UploadSession['clientEncrypt'];
  let serverEncrypt: UploadSession['serverEncrypt'];
  // Before 4.10.0 there is no encryption: the request field is an unknown one (ignored) and nothing is encrypted.
  if (policy.encryption && core.supports('encryption') && supported.length > 0 && (supported[0] === 'aes-256-ctr' || relay)) {
    const meta = { key: randomBytes(32), iv: randomBytes(16) };
    if (relay) serverEncrypt = meta;
    else clientEncrypt = meta;
  }
  const name = segs[segs.length - 1];
  validateNewFile(name, size, policy);
  if (user.used + size > core.settings.quota) throw E.capacity();
  if (existed && previous !== '' && previous !== hashid(HT.entity, target!.primary ? target!.primary.id : 0)) throw E.stale();

  const sid = newUuid();
  const now = Date.now();
  const expiresMs = now + core.settings.sessionTtl * 1000;
  let node: FileNode;
  if (target) {
    node = target;
    // WithRemoveStaleEntities: leftover placeholder entities of dead sessions go away
    for (const e of [...node.entities]) if (e.placeholder && e !== node.primary) core.dropEntity(node, e);
  } else {
    const parent = core.mkdirp(user, segs.slice(0, -1), ctx.clientId);
    node = core.newNode(user, parent, name, 0);
  }
  const entity = core.newEntity(user, size, { placeholder: true, preAllocate: preAllocates(policy), uploadSessionId: sid });
  node.entities.push(entity);
  if (clientEncrypt || serverEncrypt) {
    const m = (clientEncrypt ?? serverEncrypt)!;
    entity.encrypted = true;
    entity.key = m.key;
    entity.iv = m.iv;
  }
  node.metadata['sys:upload_session_id'] = sid;
  node.lock = { token: `opaquelocktoken:${newUuid()}`, app: 'upload', sessionId: sid, expiresMs };

  const s: UploadSession = {
    id: sid,
    user,
    node,
    entity,
    uri: buildUri('my', segs),
    size,
    chunkSize: relay ? 0 : policyChunk(policy),
    createdMs: now,
    expiresMs,
    expires: Math.floor(expiresMs / 1000),
    received: new Set(),
    slaveReceived: new Set(),
    callbackSecret: randomAlnum(32),
    policy,
    lastModified: lastModified > 0 ? lastModified : undefined,
    metadata,
    isNew: !existed,
    clientEncrypt,
    serverEncrypt,
    clientId: ctx.clientId,
    done: false,
  };
  core.sessions.set(sid, s);
  const prepare = relay ? undefined : policyAdapters[policy.type]?.prepare;
  if (prepare) {
    try {
      await prepare(core, s);
    } catch (err) {
      core.expireSession(s);
      delete node.metadata['sys:upload_session_id'];
      if (s.isNew) core.purge(node);
      else core.dropEntity(node, entity);
      console.error('[emulator] storage refused the new upload:', (err as Error).message);
      throw E.io('Failed to create upload session on the storage');
    }
  }
  core.stats.sessions_created++;
  if (s.isNew) core.emit(user, 'create', node, segs, undefined, ctx.clientId);
  return sessionResponse(core, s);
}

/** Length the client declared: Content-Length, else X-Expected-Entity-Length, else 0. NaN when unparsable. */
export function declaredLength(ctx: Ctx): number {
  for (const h of ['content-length', 'x-expected-entity-length']) {
    const v = ctx.req.headers[h];
    if (typeof v === 'string' && v !== '') return /^[+-]?\d+$/.test(v.trim()) ? parseInt(v.trim(), 10) : NaN;
  }
  return 0;
}

/** processChunkUpload (shared by master and slave) — returns after the data is stored and completion ran. */
export async function processChunk(
  ctx: Ctx,
  s: UploadSession,
  index: number,
  opts: { slave: boolean; complete: (s: UploadSession) => Promise<void> | void },
): Promise<void> {
  const core = ctx.core;
  const chunkSize = s.chunkSize;
  const isLast = chunkSize === 0 || (index + 1) * chunkSize >= s.size;
  const expected = isLast ? s.size - index * chunkSize : chunkSize;
  const got = declaredLength(ctx);
  if (Number.isNaN(got) || got !== expected) throw new ApiError(40013, `Invalid Content-Length (expected: ${expected})`);
  const offset = chunkSize * index;
  const e = s.entity;
  if (!preAllocates(s.policy) && fileSize(e.blobPath) < offset) throw E.io('Failed to upload file');
  const leave = enterPart(core, s);
  try {
    await receiveChunk(ctx, s, index, offset, expected, isLast, opts);
  } finally {
    leave();
  }
}

/**
 * Counts the parts of `s` being received and records (test hook stats) a session that has more in flight than
 * its policy allows. The server itself does not refuse them (Cloudreve does not check either); the tests do.
 */
function enterPart(core: Core, s: UploadSession): () => void {
  s.inFlight = (s.inFlight ?? 0) + 1;
  const limit = core.chunkConcurrencyLimit(s);
  const st = core.stats;
  st.max_parts_in_flight = Math.max(st.max_parts_in_flight, s.inFlight);
  if (s.inFlight > limit && st.chunk_concurrency_violations.length < 100) {
    st.chunk_concurrency_violations.push({ session: s.id, uri: s.uri, in_flight: s.inFlight, limit });
  }
  return () => {
    s.inFlight = (s.inFlight ?? 1) - 1;
  };
}

async function receiveChunk(
  ctx: Ctx,
  s: UploadSession,
  index: number,
  offset: number,
  expected: number,
  isLast: boolean,
  opts: { slave: boolean; complete: (s: UploadSession) => Promise<void> | void },
): Promise<void> {
  const core = ctx.core;
  const e = s.entity;
  // The slave never encrypts; the master encrypts only for relay+encryption sessions.
  const enc = !opts.slave && s.serverEncrypt ? s.serverEncrypt : undefined;
  let n: number;
  try {
    n = await receiveInto(ctx.req, {
      file: e.blobPath,
      offset,
      length: expected,
      cipher: enc ? ctrAt(enc.key, enc.iv, offset) : undefined,
      onBytes: (k) => {
        core.stats.bytes_received += k;
      },
    });
  } catch (err) {
    if (err instanceof ClientGone) throw err;
    // storage errors (e.g. the placeholder was removed while the chunk streamed) → driver Put failure
    throw E.io('Failed to upload file');
  }
  if (n !== expected) throw E.io('Uploaded data does not match purposed size');

  const set = opts.slave ? s.slaveReceived : s.received;
  if (core.supports('setCompletion')) {
    // MarkChunkUploaded: only the request that makes the set complete triggers completion
    if (s.done || (!opts.slave && !core.sessions.has(s.id))) return;
    const total = core.expectedChunks(s);
    const already = set.size >= total;
    set.add(index);
    core.partAccepted(s, index, n);
    if (!already && set.size >= total) await opts.complete(s);
  } else {
    set.add(index);
    core.partAccepted(s, index, n);
    if (isLast) {
      if (s.done || (!opts.slave && !core.sessions.has(s.id))) throw E.sessionExpired();
      await opts.complete(s);
    }
  }
}

async function uploadChunk(ctx: Ctx, [id, idx]: string[]): Promise<unknown> {
  const core = ctx.core;
  core.stats.chunk_requests++;
  if (!/^\d+$/.test(idx)) throw E.param();
  const index = parseInt(idx, 10);
  const s = core.session(id);
  if (!s) throw E.sessionExpired();
  if (!ctx.user || s.user !== ctx.user) throw E.sessionExpired();
  // ConfirmUploadSession
  if (!core.nodes.has(s.node.id) || s.node.trashed) throw E.pathNotExist();
  if (s.node.lock?.sessionId !== s.id || s.node.lock.expiresMs <= Date.now()) throw new ApiError(40073, 'Lock expired');
  if (s.policy.type !== 'local' && !s.policy.relay) throw new ApiError(40006, '');
  const start = index * s.chunkSize;
  if (policyChunk(s.policy) === 0 && index > 0) throw new ApiError(40012, 'Chunk index cannot be greater than 0');
  if (start > 0 && start >= s.size) throw new ApiError(40012, 'Chunk offset cannot be greater than file size');
  await processChunk(ctx, s, index, { slave: false, complete: (x) => void core.complete(x, ctx.clientId) });
  return undefined;
}

async function cancelSession(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const id = str(body.id, 'ID', true);
  const uriStr = str(body.uri, 'Uri', true);
  const p = myTarget(core, user, uriStr);
  core.sweep();
  if (p.segs.length === 0) throw new ApiError(403, 'Not supported action');
  const node = walk(core, user, p.segs);
  if (!node) throw E.pathNotExist();
  const s = core.sessions.get(id);
  if (s && (s.user !== user || s.node !== node)) throw new ApiError(404, 'Upload session not found');
  if (node.lock && node.lock.expiresMs > Date.now() && node.lock.sessionId !== id) throw core.lockError({ node, lock: node.lock });
  delete node.metadata['sys:upload_session_id'];
  const entity = node.entities.find((e) => e.uploadSessionId === id);
  if (s) {
    core.sessions.delete(s.id);
    s.done = true;
  }
  if (!entity) return undefined;
  if (node.lock?.sessionId === id) node.lock = null;
  core.stats.sessions_cancelled++;
  if (node.entities.length === 1) {
    const segs = core.segsOf(node);
    core.purge(node);
    core.emit(user, 'delete', node, segs, undefined, ctx.clientId);
  } else {
    core.dropEntity(node, entity);
  }
  return undefined;
}

export function registerUpload(r: Router): void {
  const P = '/api/v4';
  r.add('PUT', `${P}/file/upload`, createSession);
  r.add('POST', `${P}/file/upload/([^/]+)/([^/]+)`, uploadChunk);
  r.add('DELETE', `${P}/file/upload`, cancelSession);
}

export { HANDLED };
