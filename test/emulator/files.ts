// Filesystem routes (§4): list with cursor pagination, info, create, rename, move/copy, delete, metadata.
import * as fs from 'node:fs';
import { type Ctx, type Router, bool, int, readJson, requireUser, str, strArray } from './http.js';
import { validateName, validateNewFile, type Core, type FileNode, type UserRec } from './state.js';
import { ApiError, E, HT, buildUri, errMsgOf, hashid, newUuid, parseUri, rfc3339, unhashid } from './util.js';
import { validateMetadata, walk } from './upload.js';

const P = '/api/v4';
const ORDER_BY = ['name', 'size', 'updated_at', 'created_at'];
const MAX_BATCH = 3000;
const TRASH_RETENTION_S = 604800;

interface Listed {
  parent: FileNode;
  items: FileNode[];
}

/** Resolve a URI the caller may list/read: `my` (own) or `trash`. */
function resolveAny(core: Core, user: UserRec, uriStr: string): { fsName: 'my' | 'trash'; node: FileNode | null; segs: string[] } {
  const p = parseUri(uriStr);
  if (p.owner && p.owner !== user.hashid) throw E.noPerm();
  if (p.fs === 'trash') {
    if (p.segs.length === 0) return { fsName: 'trash', node: null, segs: [] };
    const top = user.trash.find((n) => n.trashed?.trashName === p.segs[0]) ?? null;
    let n: FileNode | null = top;
    for (const s of p.segs.slice(1)) n = n?.children?.get(s) ?? null;
    return { fsName: 'trash', node: n, segs: p.segs };
  }
  if (p.fs !== 'my') throw E.noPerm();
  return { fsName: 'my', node: walk(core, user, p.segs), segs: p.segs };
}

function sortKey(n: FileNode, by: string): string | number {
  switch (by) {
    case 'size':
      return n.size;
    case 'updated_at':
      return n.updatedAt.getTime();
    case 'created_at':
      return n.createdAt.getTime();
    default:
      return n.trashed ? n.trashed.trashName : n.name;
  }
}

type Cursor = [number, string | number, number]; // [type (folders first), key, id]

function cursorOf(n: FileNode, by: string): Cursor {
  return [n.type, sortKey(n, by), n.id];
}

function cmpCursor(a: Cursor, b: Cursor, desc: boolean): number {
  if (a[0] !== b[0]) return b[0] - a[0]; // folders (1) first
  let c = 0;
  if (typeof a[1] === 'number' && typeof b[1] === 'number') c = a[1] - b[1];
  else {
    const x = String(a[1]);
    const y = String(b[1]);
    c = x < y ? -1 : x > y ? 1 : 0;
  }
  if (desc) c = -c;
  if (c !== 0) return c;
  return desc ? b[2] - a[2] : a[2] - b[2];
}

function listResponse(ctx: Ctx, listed: Listed): Record<string, unknown> {
  const core = ctx.core;
  const q = ctx.url.searchParams;
  const reqSize = q.get('page_size');
  let pageSize = reqSize && /^-?\d+$/.test(reqSize) ? parseInt(reqSize, 10) : 0;
  if (reqSize !== null && reqSize !== '' && !/^-?\d+$/.test(reqSize)) throw E.param();
  const page = q.get('page');
  if (page !== null && page !== '' && (!/^\d+$/.test(page))) throw E.param();
  const max = core.settings.maxPageSize;
  if (pageSize > max) pageSize = max;
  else if (pageSize <= 0) pageSize = 100;
  const orderBy = ORDER_BY.includes(q.get('order_by') ?? '') ? (q.get('order_by') as string) : 'name';
  const desc = q.get('order_direction') === 'desc';
  const items = listed.items.slice().sort((a, b) => cmpCursor(cursorOf(a, orderBy), cursorOf(b, orderBy), desc));
  let start = 0;
  const tok = q.get('next_page_token');
  if (tok) {
    let last: Cursor;
    try {
      const v = JSON.parse(Buffer.from(tok, 'base64').toString('utf8'));
      if (!Array.isArray(v.c) || v.c.length !== 3 || v.o !== orderBy || v.d !== desc) throw new Error('bad');
      last = v.c as Cursor;
    } catch {
      throw E.param('Invalid page token');
    }
    start = items.findIndex((n) => cmpCursor(cursorOf(n, orderBy), last, desc) > 0);
    if (start < 0) start = items.length;
  }
  const pageItems = items.slice(start, start + pageSize);
  const pagination: Record<string, unknown> = { page: 0, page_size: pageSize };
  if (start + pageSize < items.length && pageItems.length) {
    const lastItem = pageItems[pageItems.length - 1];
    pagination.next_token = Buffer.from(JSON.stringify({ c: cursorOf(lastItem, orderBy), o: orderBy, d: desc })).toString('base64');
  }
  pagination.is_cursor = true;
  const out: Record<string, unknown> = {
    files: pageItems.map((n) => core.fileJson(n)),
    parent: core.fileJson(listed.parent),
    pagination,
    props: {
      capability: '39/3z///Pw==',
      max_page_size: max,
      order_by_options: ORDER_BY,
      order_direction_options: ['asc', 'desc'],
    },
    context_hint: newUuid(),
    mixed_type: false,
    storage_policy: core.policyJson(),
  };
  return out;
}

function listFiles(ctx: Ctx): unknown {
  const core = ctx.core;
  const user = requireUser(ctx);
  const uri = ctx.url.searchParams.get('uri');
  if (!uri) throw E.param("Key: 'ListFileService.Uri' Error:Field validation for 'Uri' failed on the 'required' tag");
  core.sweep();
  const r = resolveAny(core, user, uri);
  if (r.fsName === 'trash' && r.segs.length === 0) {
    const fake = { ...user.root, name: '', trashed: undefined } as FileNode;
    const res = listResponse(ctx, { parent: user.root, items: user.trash });
    res.parent = { ...core.fileJson(fake), path: 'cloudreve://trash' };
    delete res.storage_policy;
    return res;
  }
  if (!r.node) throw E.pathNotExist();
  if (r.node.type !== 1) throw E.pathNotExist();
  return listResponse(ctx, { parent: r.node, items: [...r.node.children!.values()] });
}

function fileInfo(ctx: Ctx): unknown {
  const core = ctx.core;
  const user = requireUser(ctx);
  core.sweep();
  const q = ctx.url.searchParams;
  const id = q.get('id');
  if (id) {
    const nid = unhashid(id, HT.file);
    const n = nid === null ? undefined : core.nodes.get(nid);
    if (!n || n.owner !== user) throw E.pathNotExist();
    return core.fileJson(n);
  }
  const uri = q.get('uri');
  if (!uri) throw E.param();
  const r = resolveAny(core, user, uri);
  if (r.segs.length === 0) throw new ApiError(403, 'cannot operate root file');
  if (!r.node) throw E.pathNotExist();
  const out = core.fileJson(r.node);
  if (q.get('extended') === 'true') {
    const n = r.node;
    out.extended_info = {
      storage_policy: core.policyJson(),
      storage_used: n.entities.filter((e) => !e.placeholder).reduce((a, e) => a + e.size, 0),
      shares: [],
      entities: n.entities.map((e) => {
        const ent: Record<string, unknown> = {
          id: hashid(HT.entity, e.id),
          size: e.size,
          type: 0,
          created_at: rfc3339(e.createdAt),
          storage_policy: core.policyJson(),
        };
        if (e.encrypted) ent.encrypted_with = 'aes-256-ctr';
        return ent;
      }),
    };
  }
  return out;
}

async function createFile(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uri = str(body.uri, 'Uri', true);
  const type = str(body.type, 'Type', true);
  if (type !== 'file' && type !== 'folder') throw E.param("Key: 'CreateFileService.Type' Error:Field validation for 'Type' failed on the 'eq=file|eq=folder' tag");
  const metadata = validateMetadata(body.metadata);
  const errOnConflict = bool(body.err_on_conflict);
  const p = parseUri(uri);
  if (p.fs !== 'my' || (p.owner && p.owner !== user.hashid)) throw E.noPerm();
  core.sweep();
  const want = type === 'folder' ? 1 : 0;
  if (p.segs.length === 0) {
    if (want === 1 && !errOnConflict) return core.fileJson(user.root);
    throw E.exist();
  }
  const existing = walk(core, user, p.segs);
  if (existing) {
    if (existing.type === want && !errOnConflict) return core.fileJson(existing);
    throw E.exist();
  }
  const name = p.segs[p.segs.length - 1];
  if (want === 0) validateNewFile(name, 0, core.policy);
  else validateName(name);
  const parent = core.mkdirp(user, p.segs.slice(0, -1), ctx.clientId);
  const node = core.newNode(user, parent, name, want);
  if (want === 0) {
    const e = core.newEntity(user, 0, { placeholder: false, preAllocate: false });
    node.entities.push(e);
    node.primary = e;
  }
  if (metadata) Object.assign(node.metadata, metadata);
  core.emit(user, 'create', node, core.segsOf(node), undefined, ctx.clientId);
  return core.fileJson(node);
}

async function renameFile(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uri = str(body.uri, 'Uri', true);
  const newName = str(body.new_name, 'NewName', true);
  if (newName.length > 255) throw E.param();
  const p = parseUri(uri);
  if (p.fs !== 'my' || (p.owner && p.owner !== user.hashid)) throw E.noPerm();
  core.sweep();
  if (p.segs.length === 0) throw new ApiError(403, 'Not supported action');
  const node = walk(core, user, p.segs);
  if (!node) throw E.pathNotExist();
  if (node.type === 0) validateNewFile(newName, 0, { ...core.policy, maxSize: 0 });
  else validateName(newName);
  if (newName === node.name) return core.fileJson(node);
  if (node.parent!.children!.has(newName)) throw E.exist();
  const hit = core.lockConflict(node);
  if (hit) throw core.lockError(hit);
  const from = core.segsOf(node);
  node.parent!.children!.delete(node.name);
  node.name = newName;
  node.parent!.children!.set(newName, node);
  core.emit(user, 'rename', node, from, core.segsOf(node), ctx.clientId);
  return core.fileJson(node);
}

/** Run a per-URI batch; failures collected into 40081 + aggregated_error. */
function batch(ctx: Ctx, uris: string[], fn: (uri: string) => void): void {
  if (uris.length > MAX_BATCH) throw new ApiError(40074, 'Maximum allowed batch size: 3000');
  const agg: Record<string, unknown> = {};
  const msgs: string[] = [];
  for (const u of uris) {
    try {
      fn(u);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const env: Record<string, unknown> = { code: err.code };
      if (err.data !== undefined) env.data = err.data;
      env.msg = err.msg;
      env.correlation_id = ctx.correlationId;
      agg[u] = env;
      msgs.push(errMsgOf(err));
    }
  }
  const n = Object.keys(agg).length;
  if (n) throw new ApiError(40081, n === 1 ? msgs[0] : 'One or more operation failed', undefined, agg);
}

function copyTree(core: Core, src: FileNode, parent: FileNode, name: string): FileNode {
  const n = core.newNode(src.owner, parent, name, src.type);
  n.metadata = { ...src.metadata };
  delete n.metadata['sys:upload_session_id'];
  n.createdAt = new Date();
  n.updatedAt = src.updatedAt;
  n.size = src.size;
  if (src.type === 0 && src.primary) {
    const e = core.newEntity(src.owner, src.primary.size, { placeholder: false, preAllocate: false });
    // an object on a real S3 server is shared (as Cloudreve shares the entity); a blob file is copied
    if (!src.primary.object?.s3) fs.copyFileSync(src.primary.blobPath, e.blobPath);
    if (src.primary.object) e.object = { ...src.primary.object };
    e.encrypted = src.primary.encrypted;
    e.key = src.primary.key;
    e.iv = src.primary.iv;
    n.entities.push(e);
    n.primary = e;
  } else if (src.type === 0) n.size = 0;
  if (src.children) for (const c of src.children.values()) copyTree(core, c, n, c.name);
  return n;
}

async function moveFiles(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uris = strArray(body.uris, 'Uris', true);
  const dstUri = str(body.dst, 'Dst', true);
  const copy = bool(body.copy);
  const dp = parseUri(dstUri);
  if (dp.fs !== 'my' || (dp.owner && dp.owner !== user.hashid)) throw E.noPerm();
  core.sweep();
  const dst = walk(core, user, dp.segs);
  if (!dst || dst.type !== 1) throw E.pathNotExist();
  batch(ctx, uris, (u) => {
    const p = parseUri(u);
    if (p.fs !== 'my' || (p.owner && p.owner !== user.hashid)) throw E.noPerm();
    if (p.segs.length === 0) throw new ApiError(403, 'Not supported action');
    const src = walk(core, user, p.segs);
    if (!src) throw E.pathNotExist();
    if (core.isUnder(dst, src)) throw new ApiError(403, 'Cannot move or copy a folder into itself');
    if (!copy && src.parent === dst) return;
    if (dst.children!.has(src.name)) throw E.exist();
    if (copy) {
      const n = copyTree(core, src, dst, src.name);
      core.emit(user, 'create', n, core.segsOf(n), undefined, ctx.clientId);
      return;
    }
    const hit = core.lockConflict(src);
    if (hit) throw core.lockError(hit);
    const from = core.segsOf(src);
    src.parent!.children!.delete(src.name);
    src.parent!.updatedAt = new Date();
    src.parent = dst;
    dst.children!.set(src.name, src);
    core.emit(user, 'rename', src, from, core.segsOf(src), ctx.clientId);
  });
  return undefined;
}

async function deleteFiles(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uris = strArray(body.uris, 'Uris', true);
  bool(body.unlink);
  const skipSoft = bool(body.skip_soft_delete);
  core.sweep();
  batch(ctx, uris, (u) => {
    const r = resolveAny(core, user, u);
    if (r.segs.length === 0) throw new ApiError(403, 'Not supported action');
    const node = r.node;
    if (!node) throw E.pathNotExist();
    const hit = core.lockConflict(node);
    if (hit) throw core.lockError(hit);
    if (r.fsName === 'trash' || node.trashed) {
      // deleting from trash is always permanent
      user.trash = user.trash.filter((x) => x !== node);
      core.purge(node);
      return;
    }
    const segs = core.segsOf(node);
    if (skipSoft) {
      core.purge(node);
    } else {
      const uri = core.uriOf(node);
      node.parent!.children!.delete(node.name);
      node.parent!.updatedAt = new Date();
      node.parent = null;
      let trashName = node.name;
      if (user.trash.some((x) => x.trashed?.trashName === trashName)) trashName = `${node.name}_${node.id}`;
      const collectAt = new Date(Date.now() + TRASH_RETENTION_S * 1000);
      node.trashed = { restoreUri: uri, collectAt, trashName };
      node.metadata['sys:restore_uri'] = uri;
      node.metadata['sys:expected_collect_time'] = String(Math.floor(collectAt.getTime() / 1000));
      user.trash.push(node);
    }
    core.emit(user, 'delete', node, segs, undefined, ctx.clientId);
  });
  return undefined;
}

async function restoreFiles(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uris = strArray(body.uris, 'Uris', true);
  batch(ctx, uris, (u) => {
    const r = resolveAny(core, user, u);
    const node = r.node;
    if (!node || !node.trashed) throw E.pathNotExist();
    const dest = parseUri(node.trashed.restoreUri);
    const parent = core.mkdirp(user, dest.segs.slice(0, -1), ctx.clientId);
    const name = dest.segs[dest.segs.length - 1];
    if (parent.children!.has(name)) throw E.exist();
    user.trash = user.trash.filter((x) => x !== node);
    node.trashed = undefined;
    delete node.metadata['sys:restore_uri'];
    delete node.metadata['sys:expected_collect_time'];
    node.name = name;
    node.parent = parent;
    parent.children!.set(name, node);
    core.emit(user, 'create', node, core.segsOf(node), undefined, ctx.clientId);
  });
  return undefined;
}

async function patchMetadata(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uris = strArray(body.uris, 'Uris', true);
  if (!Array.isArray(body.patches)) throw E.param();
  const patches = body.patches as Array<{ key?: unknown; value?: unknown; remove?: unknown }>;
  const check: Record<string, string> = {};
  for (const p of patches) {
    if (typeof p !== 'object' || p === null || typeof p.key !== 'string') throw E.param();
    check[p.key] = typeof p.value === 'string' ? p.value : '';
  }
  validateMetadata(check);
  batch(ctx, uris, (u) => {
    const r = resolveAny(core, user, u);
    if (!r.node) throw E.pathNotExist();
    for (const p of patches) {
      if (p.remove === true) delete r.node.metadata[p.key as string];
      else r.node.metadata[p.key as string] = typeof p.value === 'string' ? p.value : '';
    }
  });
  return undefined;
}

async function releaseLocks(ctx: Ctx): Promise<unknown> {
  const core = ctx.core;
  requireUser(ctx);
  const body = await readJson(ctx);
  const tokens = strArray(body.tokens, 'Tokens', true);
  for (const n of core.nodes.values()) if (n.lock && tokens.includes(n.lock.token)) n.lock = null;
  return undefined;
}

export function registerFiles(r: Router): void {
  r.add('GET', `${P}/file`, listFiles);
  r.add('GET', `${P}/file/info`, fileInfo);
  r.add('POST', `${P}/file/create`, createFile);
  r.add('POST', `${P}/file/rename`, renameFile);
  r.add('POST', `${P}/file/move`, moveFiles);
  r.add('DELETE', `${P}/file`, deleteFiles);
  r.add('POST', `${P}/file/restore`, restoreFiles);
  r.add('PATCH', `${P}/file/metadata`, patchMetadata);
  r.add('DELETE', `${P}/file/lock`, releaseLocks);
}

export { buildUri, hashid, int };
