// In-memory server state: users, file trees, entities (blobs on disk), upload sessions, locks, quota.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadable } from 'node:stream/web';
import { presign, type S3Target } from './sigv4.js';
import type { EmulatorOptions, EmulatorPolicy, EmulatorStats, PartAccepted } from './types.js';
import { ApiError, E, HT, buildUri, cmpVersion, hashid, rfc3339, newUuid, type FsName } from './util.js';

export interface UserRec {
  id: number;
  hashid: string;
  email: string;
  password: string;
  totpSecret?: string;
  nickname: string;
  createdAt: Date;
  root: FileNode;
  trash: FileNode[];
  /** bytes counted against the quota (entities incl. upload placeholders) */
  used: number;
}

export interface EntityRec {
  id: number;
  size: number;
  blobPath: string;
  encrypted: boolean;
  key?: Buffer;
  iv?: Buffer;
  uploadSessionId?: string;
  /** whether `size` is currently counted in owner.used */
  counted: boolean;
  placeholder: boolean;
  createdAt: Date;
  owner: UserRec;
  /**
   * An object an S3-like storage holds (vendor-s3.ts), set when the upload committed: its download URL is that storage's
   * pre-signed GET (§4.8). With `s3` the bytes are on that real S3 server and `blobPath` is unused (empty); without, the
   * emulated vendor's object is the blob file.
   */
  object?: { type: string; key: string; s3?: S3Target };
}

export interface LockRec {
  token: string;
  app: 'upload' | 'create' | 'rename' | 'moveCopy' | 'delete' | 'softDelete' | 'versionControl';
  sessionId?: string;
  expiresMs: number;
}

export interface FileNode {
  id: number;
  type: 0 | 1;
  name: string;
  parent: FileNode | null;
  children: Map<string, FileNode> | null;
  owner: UserRec;
  createdAt: Date;
  updatedAt: Date;
  size: number;
  metadata: Record<string, string>;
  primary: EntityRec | null;
  /** all entities incl. upload placeholder entities */
  entities: EntityRec[];
  lock: LockRec | null;
  /** set while in trash */
  trashed?: { restoreUri: string; collectAt: Date; trashName: string };
}

export interface UploadSession {
  id: string;
  user: UserRec;
  node: FileNode;
  entity: EntityRec;
  uri: string;
  size: number;
  chunkSize: number;
  createdMs: number;
  expiresMs: number;
  /** Unix seconds, as returned to the client */
  expires: number;
  received: Set<number>;
  callbackSecret: string;
  policy: EmulatorPolicy;
  lastModified?: number;
  metadata?: Record<string, string>;
  /** entity was created for a brand-new file (placeholder file) */
  isNew: boolean;
  /** client-side encryption metadata handed out in the response */
  clientEncrypt?: { key: Buffer; iv: Buffer };
  /** relay + encryption: the server encrypts what it stores */
  serverEncrypt?: { key: Buffer; iv: Buffer };
  clientId?: string;
  done: boolean;
  /** remote: slave-side bookkeeping */
  slaveReceived: Set<number>;
  /** parts of this session being received right now (master and slave) */
  inFlight?: number;
  /** direct-to-storage policies: the storage provider's side of the upload (vendor-*.ts) */
  vendor?: VendorUpload;
}

/** What a storage provider knows about one upload. */
export interface VendorUpload {
  uploadId: string;
  /** object key on the storage */
  key: string;
  /** parts received (1-based part number → ETag, size, file holding the bytes) */
  parts: Map<number, { etag: string; size: number; file: string }>;
  /** bytes held in order from the start (OneDrive) */
  next: number;
  /** the whole object is on the storage */
  stored: boolean;
}

/** Version where each optional server feature arrived (spec §0, §9). */
export const FEATURE_SINCE = {
  chunkConcurrency: '4.7.0',
  encryption: '4.10.0',
  events: '4.11.0',
  oauth: '4.12.0',
  setCompletion: '4.18.0',
} as const;

export type ServerFeature = keyof typeof FEATURE_SINCE;

export type EventKind = 'create' | 'modify' | 'rename' | 'delete';
export type EventListener = (user: UserRec, kind: EventKind, fileId: string, from: string[], to: string[] | undefined, clientId: string | undefined) => void;

export const DEFAULT_CHUNK = 26214400;

export function emptyStats(): EmulatorStats {
  return {
    bytes_received: 0,
    requests: 0,
    chunk_requests: 0,
    sessions_created: 0,
    sessions_completed: 0,
    sessions_cancelled: 0,
    max_parts_in_flight: 0,
    chunk_concurrency_violations: [],
    bytes_sent: 0,
    download_requests: 0,
  };
}

/** Effective settings derived from EmulatorOptions. */
export interface Settings {
  host: string;
  version: string;
  quota: number;
  accessTtl: number;
  refreshTtl: number;
  sessionTtl: number;
  maxPageSize: number;
  keepAliveMs: number;
  eventDebounceMs: number;
  maxEditSize: number;
  /** ms ahead of Date.now() the emulated Upyun's clock is (EmulatorTuning.upyunClockOffsetMs) */
  upyunClockOffsetMs: number;
}

export class Core {
  readonly settings: Settings;
  policy: EmulatorPolicy;
  readonly users: UserRec[] = [];
  readonly nodes = new Map<number, FileNode>();
  readonly entities = new Map<number, EntityRec>();
  readonly sessions = new Map<string, UploadSession>();
  stats: EmulatorStats = emptyStats();
  /** JWT signing secret */
  readonly jwtSecret = randomBytes(32);
  /** slave node secret (HMAC key shared by master and node) */
  readonly nodeSecret = randomBytes(32).toString('hex');
  /** key for signed download URLs */
  readonly urlSecret = randomBytes(32);
  /** key of the emulated storage vendors (their URL signatures and their callbacks to the master) */
  readonly vendorSecret = randomBytes(32);
  readonly siteId = newUuid();
  /** revoked refresh-token chains: root_token_id → expiry ms */
  readonly revoked = new Map<string, number>();
  /** pending 2FA logins */
  readonly twoFa = new Map<string, { user: UserRec; expiresMs: number }>();
  /** server base URL, filled once listening */
  baseUrl = '';
  readonly blobDir: string;
  private nextNodeId = 1;
  private nextEntityId = 1;
  private listeners: EventListener[] = [];
  /** test hook: told of every accepted upload part (Emulator.onPart) */
  readonly partListeners = new Set<(p: PartAccepted) => void>();

  constructor(opts: EmulatorOptions, readonly dataDir: string) {
    this.settings = {
      host: opts.host ?? '127.0.0.1',
      version: opts.version ?? '4.18.0',
      quota: opts.quota ?? 1024 ** 4,
      accessTtl: opts.accessTtl ?? 3600,
      refreshTtl: opts.refreshTtl ?? 1209600,
      sessionTtl: opts.sessionTtl ?? 86400,
      maxPageSize: opts.maxPageSize ?? 2000,
      keepAliveMs: opts.keepAliveMs ?? 30000,
      eventDebounceMs: opts.eventDebounceMs ?? 200,
      maxEditSize: opts.maxEditSize ?? 52428800,
      upyunClockOffsetMs: 0,
    };
    this.policy = { ...(opts.policy ?? { type: 'local' }) };
    this.blobDir = path.join(dataDir, 'blobs');
    fs.mkdirSync(this.blobDir, { recursive: true });
    const users = opts.users?.length ? opts.users : [{ email: 'admin@cloudreve.org', password: 'password123' }];
    for (const u of users) this.addUser(u.email, u.password, u.totpSecret);
  }

  onEvent(l: EventListener): void {
    this.listeners.push(l);
  }

  emit(user: UserRec, kind: EventKind, node: FileNode, from: string[], to: string[] | undefined, clientId: string | undefined): void {
    const fileId = hashid(HT.file, node.id);
    for (const l of this.listeners) l(user, kind, fileId, from, to, clientId);
  }

  // ------------------------------------------------------------ users

  addUser(email: string, password: string, totpSecret?: string): UserRec {
    const id = this.users.length + 1;
    const now = new Date();
    const user = {
      id,
      hashid: hashid(HT.user, id),
      email,
      password,
      totpSecret,
      nickname: email.split('@')[0],
      createdAt: now,
      trash: [],
      used: 0,
    } as unknown as UserRec;
    user.root = this.newNode(user, null, '', 1);
    this.users.push(user);
    return user;
  }

  userByEmail(email: string): UserRec | undefined {
    const e = email.toLowerCase();
    return this.users.find((u) => u.email.toLowerCase() === e);
  }

  userByHashid(h: string): UserRec | undefined {
    return this.users.find((u) => u.hashid === h);
  }

  userJson(u: UserRec): Record<string, unknown> {
    return {
      id: u.hashid,
      email: u.email,
      nickname: u.nickname,
      created_at: rfc3339(u.createdAt),
      preferred_theme: '',
      group: { id: hashid(HT.group, 1), name: 'Admin', permission: '/3+H', direct_link_batch_size: 10, trash_retention: 604800 },
    };
  }

  capacity(u: UserRec): { total: number; used: number } {
    return { total: this.settings.quota, used: u.used };
  }

  // ------------------------------------------------------------ tree

  newNode(owner: UserRec, parent: FileNode | null, name: string, type: 0 | 1): FileNode {
    const now = new Date();
    const node: FileNode = {
      id: this.nextNodeId++,
      type,
      name,
      parent,
      children: type === 1 ? new Map() : null,
      owner,
      createdAt: now,
      updatedAt: now,
      size: 0,
      metadata: {},
      primary: null,
      entities: [],
      lock: null,
    };
    this.nodes.set(node.id, node);
    if (parent) {
      parent.children!.set(name, node);
      parent.updatedAt = now;
    }
    return node;
  }

  /** Resolve decoded path segments under the user's root. */
  resolve(user: UserRec, segs: string[]): FileNode | null {
    let n: FileNode = user.root;
    for (const s of segs) {
      const c = n.children?.get(s);
      if (!c) return null;
      n = c;
    }
    return n;
  }

  segsOf(node: FileNode): string[] {
    const out: string[] = [];
    for (let n: FileNode | null = node; n && n.parent; n = n.parent) out.unshift(n.name);
    return out;
  }

  isUnder(node: FileNode, ancestor: FileNode): boolean {
    for (let n: FileNode | null = node; n; n = n.parent) if (n === ancestor) return true;
    return false;
  }

  uriOf(node: FileNode): string {
    if (node.trashed) return buildUri('trash', [node.trashed.trashName]);
    return buildUri('my', this.segsOf(node));
  }

  /** mkdir -p; throws 40004 when a path component is a file. */
  mkdirp(user: UserRec, segs: string[], clientId?: string): FileNode {
    let n = user.root;
    for (const s of segs) {
      let c = n.children!.get(s);
      if (!c) {
        validateName(s);
        c = this.newNode(user, n, s, 1);
        this.emit(user, 'create', c, this.segsOf(c), undefined, clientId);
      } else if (c.type !== 1) throw E.exist();
      n = c;
    }
    return n;
  }

  fileJson(node: FileNode): Record<string, unknown> {
    const out: Record<string, unknown> = {
      type: node.type,
      id: hashid(HT.file, node.id),
      name: node.trashed ? node.trashed.trashName : node.name,
      created_at: rfc3339(node.createdAt),
      updated_at: rfc3339(node.updatedAt),
      size: node.size,
      metadata: Object.keys(node.metadata).length ? { ...node.metadata } : null,
      path: this.uriOf(node),
      capability: node.type === 1 ? '39/3z///Pw==' : '39/3z///Pw==',
      owned: true,
      primary_entity: hashid(HT.entity, node.primary ? node.primary.id : 0),
    };
    return out;
  }

  // ------------------------------------------------------------ entities & quota

  newEntity(owner: UserRec, size: number, opts: { placeholder: boolean; preAllocate: boolean; uploadSessionId?: string }): EntityRec {
    const id = this.nextEntityId++;
    const blobPath = path.join(this.blobDir, String(id));
    const fd = fs.openSync(blobPath, 'w');
    try {
      if (opts.preAllocate && size > 0) fs.ftruncateSync(fd, size);
    } finally {
      fs.closeSync(fd);
    }
    const e: EntityRec = {
      id,
      size,
      blobPath,
      encrypted: false,
      counted: true,
      placeholder: opts.placeholder,
      uploadSessionId: opts.uploadSessionId,
      createdAt: new Date(),
      owner,
    };
    owner.used += size;
    this.entities.set(id, e);
    return e;
  }

  uncount(e: EntityRec): void {
    if (e.counted) {
      e.owner.used -= e.size;
      e.counted = false;
    }
  }

  dropEntity(node: FileNode | null, e: EntityRec): void {
    this.uncount(e);
    this.entities.delete(e.id);
    if (node) node.entities = node.entities.filter((x) => x !== e);
    try {
      fs.unlinkSync(e.blobPath);
    } catch {
      /* already gone */
    }
  }

  /** Remove a node (and its subtree) for good, releasing quota. */
  purge(node: FileNode): void {
    if (node.children) for (const c of [...node.children.values()]) this.purge(c);
    for (const e of [...node.entities]) this.dropEntity(node, e);
    for (const s of this.sessions.values()) if (s.node === node) this.sessions.delete(s.id);
    this.nodes.delete(node.id);
    if (node.parent && node.parent.children!.get(node.name) === node) node.parent.children!.delete(node.name);
  }

  // ------------------------------------------------------------ locks

  /** Active lock on node or any descendant. */
  lockConflict(node: FileNode, now = Date.now()): { node: FileNode; lock: LockRec } | null {
    if (node.lock && node.lock.expiresMs > now) return { node, lock: node.lock };
    if (node.children) {
      for (const c of node.children.values()) {
        const r = this.lockConflict(c, now);
        if (r) return r;
      }
    }
    return null;
  }

  lockError(hit: { node: FileNode; lock: LockRec }): ApiError {
    return new ApiError(40073, 'Lock conflict', [
      { path: this.uriOf(hit.node), token: hit.lock.token, owner: { application: { type: hit.lock.app } }, type: hit.node.type },
    ]);
  }

  // ------------------------------------------------------------ sessions

  /** Expire sessions whose TTL passed: release lock + reserved quota; the placeholder stays. */
  sweep(now = Date.now()): void {
    for (const s of [...this.sessions.values()]) {
      if (s.expiresMs <= now) this.expireSession(s);
    }
    for (const [k, v] of this.twoFa) if (v.expiresMs <= now) this.twoFa.delete(k);
    for (const [k, v] of this.revoked) if (v <= now) this.revoked.delete(k);
  }

  /** Test hook: one part of `s` was accepted (0-based index). */
  /** `of`: how many parts the session has, when the storage's parts are not the session's chunks (Upyun's 1 MiB). */
  partAccepted(s: UploadSession, index: number, bytes: number, of = this.expectedChunks(s)): void {
    for (const fn of this.partListeners) fn({ session: s.id, uri: s.uri, index, of, bytes, at: Date.now() });
  }

  expireSession(s: UploadSession): void {
    this.sessions.delete(s.id);
    if (s.node.lock?.sessionId === s.id) s.node.lock = null;
    this.uncount(s.entity);
  }

  /** Active session (not expired). */
  session(id: string): UploadSession | undefined {
    this.sweep();
    return this.sessions.get(id);
  }

  /** True when the emulated server version has `feature` (older versions behave as if it did not exist). */
  supports(feature: ServerFeature): boolean {
    return cmpVersion(this.settings.version, FEATURE_SINCE[feature]) >= 0;
  }

  /** Parts of one session the server accepts in flight: the policy's chunk_concurrency (absent, or before 4.7.0: 1). */
  chunkConcurrencyLimit(s: UploadSession): number {
    return this.supports('chunkConcurrency') ? Math.max(1, s.policy.chunkConcurrency ?? 1) : 1;
  }

  expectedChunks(s: UploadSession): number {
    if (s.chunkSize <= 0 || s.size === 0) return 1;
    return Math.ceil(s.size / s.chunkSize);
  }

  /** Commit an upload session (§5.4 completion). */
  complete(s: UploadSession, clientId?: string, internal = false): FileNode {
    const node = s.node;
    const e = s.entity;
    e.placeholder = false;
    e.uploadSessionId = undefined;
    if (!e.counted) {
      e.counted = true;
      e.owner.used += e.size;
    }
    const old = node.primary;
    node.primary = e;
    // No version retention: the previous content and stale placeholders go away.
    for (const x of [...node.entities]) if (x !== e) this.dropEntity(node, x);
    void old;
    node.size = s.size;
    delete node.metadata['sys:upload_session_id'];
    if (s.metadata) Object.assign(node.metadata, s.metadata);
    node.updatedAt = s.lastModified ? new Date(s.lastModified) : new Date();
    if (node.lock?.sessionId === s.id) node.lock = null;
    s.done = true;
    this.sessions.delete(s.id);
    if (!internal) this.stats.sessions_completed++;
    if (!node.trashed) this.emit(s.user, 'modify', node, this.segsOf(node), undefined, clientId ?? s.clientId);
    return node;
  }

  policyJson(p: EmulatorPolicy = this.policy): Record<string, unknown> {
    const out: Record<string, unknown> = {
      id: hashid(HT.policy, 1),
      name: 'Default storage policy',
      type: p.type,
      max_size: p.maxSize ?? 0,
    };
    if (p.allowedSuffix?.length) out.allowed_suffix = p.allowedSuffix;
    else if (p.deniedSuffix?.length) out.denied_suffix = p.deniedSuffix;
    if (p.allowedNameRegexp) out.allowed_name_regexp = p.allowedNameRegexp;
    else if (p.deniedNameRegexp) out.denied_name_regexp = p.deniedNameRegexp;
    if (p.relay) out.relay = true;
    // Go omitempty; fields a server of that version does not have are never sent
    if (p.chunkConcurrency && this.supports('chunkConcurrency')) out.chunk_concurrency = p.chunkConcurrency;
    if (p.encryption && this.supports('encryption')) out.encryption = true;
    return out;
  }

  /** The stored bytes (ciphertext when encrypted), read through from the real S3 server when they are there. */
  readBlob(e: EntityRec): Buffer {
    const s3 = e.object?.s3;
    if (!s3) return fs.readFileSync(e.blobPath);
    // a synchronous read for the test hooks: a plain node child fetches the object (no loader, no shared state)
    const script =
      'fetch(process.argv[1]).then(async (r) => { if (!r.ok) { process.stderr.write(`storage answered ${r.status}`); process.exit(2); } ' +
      'process.stdout.write(Buffer.from(await r.arrayBuffer())); }, (e) => { process.stderr.write(String(e)); process.exit(3); })';
    return execFileSync(process.execPath, ['-e', script, presign(s3, 'GET', e.object!.key, {}, 300)], { maxBuffer: 2 ** 31 - 1, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** The stored bytes [start, end] (inclusive) as a stream: the blob file, or a Range GET of the real S3 object. */
  async openBlob(e: EntityRec, start: number, end: number): Promise<Readable> {
    const s3 = e.object?.s3;
    if (!s3) return fs.createReadStream(e.blobPath, { start, end, highWaterMark: 1024 * 1024 });
    const r = await fetch(presign(s3, 'GET', e.object!.key, {}, 300), { headers: { range: `bytes=${start}-${end}` } });
    if ((r.status !== 206 && r.status !== 200) || !r.body) throw new Error(`storage answered ${r.status}`);
    return Readable.fromWeb(r.body as WebReadable);
  }

  fsOf(node: FileNode): FsName {
    return node.trashed ? 'trash' : 'my';
  }
}

/** §4.1 name rules → 40052 */
export function validateName(name: string): void {
  const len = Buffer.byteLength(name, 'utf8');
  if (len === 0 || len >= 256 || /[\\/:*?"<>|]/.test(name) || name === '.' || name === '..') throw E.illegalName();
}

/** Extension as Cloudreve's util.Ext: lower-cased text after the last dot, '' if none. */
export function extOf(name: string): string {
  const i = name.lastIndexOf('.');
  if (i < 0) return '';
  return name.slice(i + 1).toLowerCase();
}

/** validateNewFile: name, suffix list, regexp (40052), then max size (40049). */
export function validateNewFile(name: string, size: number, p: EmulatorPolicy): void {
  validateName(name);
  const list = p.allowedSuffix?.length ? p.allowedSuffix : p.deniedSuffix?.length ? p.deniedSuffix : null;
  if (list) {
    const ext = extOf(name);
    const inList = ext !== '' && list.includes(ext);
    const deny = !p.allowedSuffix?.length;
    if ((deny && inList) || (!deny && !inList)) throw E.illegalName();
  }
  const re = p.allowedNameRegexp || p.deniedNameRegexp;
  if (re) {
    let match: boolean;
    try {
      match = new RegExp(re).test(name);
    } catch {
      throw E.illegalName();
    }
    const deny = !p.allowedNameRegexp;
    if ((deny && match) || (!deny && !match)) throw E.illegalName();
  }
  if ((p.maxSize ?? 0) > 0 && size > (p.maxSize ?? 0)) throw E.tooLarge();
}
