// HTTP server: dispatch, envelope, fault injection and the /__emulator/ test hooks.
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { emptyStats, type Core, type FileNode, type ServerFeature, type UserRec } from './state.js';
import { Faults, shapeLink } from './faults.js';
import { HANDLED, Router, type Ctx, errEnvelope, okEnvelope, readBody, sendJson } from './http.js';
import { ApiError, isUuid, newUuid, parseUri, sleep } from './util.js';
import { ClientGone } from './blobio.js';
import { authenticate, registerSession } from './session.js';
import { registerUpload } from './upload.js';
import { registerFiles } from './files.js';
import { registerSlave } from './slave.js';
import { registerContent } from './content.js';
import { EventHub, registerEvents } from './sse.js';
import { registerVendors } from './vendors.js';
import { registerOAuth } from './oauth.js';
import { registerShare, sharesOf, type ShareRec } from './share.js';
import type { EmulatorPolicy, EmulatorTuning, EntityInfo, FaultRule } from './types.js';

/** Endpoints that arrived with a server version (spec §0): older versions answer them like any unknown path. */
const GATED: ReadonlyArray<[RegExp, ServerFeature]> = [
  [/^\/api\/v4\/file\/events$/, 'events'],
  [/^\/api\/v4\/session\/oauth\//, 'oauth'],
  [/^\/session\/authorize$/, 'oauth'],
];

/** The `cut` fault: the answer's body stops after `after` bytes and the connection is dropped (an outage mid-answer). */
function cutAnswer(res: ServerResponse, after: number): void {
  let sent = 0;
  let cut = false;
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  const drop = () => {
    cut = true;
    const socket = res.socket;
    setImmediate(() => socket?.destroy());
  };
  res.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
    if (cut) return false;
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const room = after - sent;
    if (b.length >= room) {
      if (room > 0) write(b.subarray(0, room));
      sent = after;
      drop();
      return false;
    }
    sent += b.length;
    return write(b, ...rest);
  }) as typeof res.write;
  // the handler ending its answer early must not finish it (the socket would be kept for the next request)
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (cut) return res;
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
      res.write(chunk as Buffer | string);
      return cut ? res : end(...rest);
    }
    return end(...(chunk === undefined ? rest : [chunk, ...rest]));
  }) as typeof res.end;
}

export class EmulatorServer {
  readonly router = new Router();
  readonly faults = new Faults();
  readonly hub: EventHub;
  readonly http: http.Server;

  constructor(readonly core: Core) {
    this.hub = new EventHub(core);
    registerSession(this.router);
    registerUpload(this.router);
    registerFiles(this.router);
    registerSlave(this.router);
    registerContent(this.router);
    registerEvents(this.router, this.hub);
    registerVendors(this.router);
    registerOAuth(this.router);
    registerShare(this.router);
    this.http = http.createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => {
      this.handle(req, res).catch((err) => {
        console.error('[emulator] unhandled', err);
        if (!res.headersSent) {
          res.writeHead(500);
          res.end();
        } else res.destroy();
      });
    });
  }

  // ------------------------------------------------------------ test-hook lookups

  userFor(p: { owner: string }): UserRec {
    if (p.owner) {
      const u = this.core.userByHashid(p.owner) ?? this.core.userByEmail(p.owner);
      if (u) return u;
    }
    return this.core.users[0];
  }

  nodeFor(uri: string): FileNode | null {
    let p;
    try {
      p = parseUri(uri);
    } catch {
      return null;
    }
    const user = this.userFor(p);
    if (p.fs === 'trash') {
      // cloudreve://trash/<name>[/inside/a/trashed/folder]
      let n: FileNode | null = user.trash.find((x) => x.trashed?.trashName === p.segs[0]) ?? null;
      for (const s of p.segs.slice(1)) n = n?.children?.get(s) ?? null;
      return n;
    }
    if (p.fs !== 'my') return null;
    return this.core.resolve(user, p.segs);
  }

  blob(uri: string): Buffer | null {
    this.core.sweep();
    const n = this.nodeFor(uri);
    if (!n || n.type !== 0 || !n.primary) return null;
    return this.core.readBlob(n.primary);
  }

  entity(uri: string): EntityInfo | null {
    const n = this.nodeFor(uri);
    if (!n || n.type !== 0 || !n.primary) return null;
    const e = n.primary;
    const out: EntityInfo = { size: e.size, encrypted: e.encrypted };
    if (e.key) out.key = e.key.toString('base64');
    if (e.iv) out.iv = e.iv.toString('base64');
    return out;
  }

  file(uri: string): unknown | null {
    this.core.sweep();
    const n = this.nodeFor(uri);
    return n ? this.core.fileJson(n) : null;
  }

  shares(): ShareRec[] {
    return structuredClone(sharesOf(this.core));
  }

  sessions(): Array<{ id: string; uri: string; expires: number; received: number[] }> {
    this.core.sweep();
    return [...this.core.sessions.values()].map((s) => ({
      id: s.id,
      uri: s.uri,
      expires: s.expires,
      received: [...new Set([...s.received, ...s.slaveReceived])].sort((a, b) => a - b),
    }));
  }

  expireSessions(ids?: string[]): number {
    let n = 0;
    for (const s of [...this.core.sessions.values()]) {
      if (ids && !ids.includes(s.id)) continue;
      this.core.expireSession(s);
      n++;
    }
    return n;
  }

  tune(t: EmulatorTuning): void {
    const st = this.core.settings;
    if (t.quota !== undefined) st.quota = t.quota;
    if (t.accessTtl !== undefined) st.accessTtl = t.accessTtl;
    if (t.sessionTtl !== undefined) st.sessionTtl = t.sessionTtl;
    if (t.upyunClockOffsetMs !== undefined) st.upyunClockOffsetMs = t.upyunClockOffsetMs;
  }

  partsInFlight(): number {
    let n = 0;
    for (const s of this.core.sessions.values()) n += s.inFlight ?? 0;
    return n;
  }

  setPolicy(p: Partial<EmulatorPolicy>): void {
    const next: EmulatorPolicy = { ...this.core.policy };
    for (const [k, v] of Object.entries(p)) {
      if (v === undefined || v === null) delete (next as unknown as Record<string, unknown>)[k];
      else (next as unknown as Record<string, unknown>)[k] = v;
    }
    this.core.policy = next;
  }

  // ------------------------------------------------------------ dispatch

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname.startsWith('/__emulator/')) return this.hook(method, url, req, res);

    const core = this.core;
    core.stats.requests++;
    const hdrCorr = req.headers['x-cr-correlation-id'];
    const correlationId = typeof hdrCorr === 'string' && isUuid(hdrCorr) ? hdrCorr : newUuid();

    const fault = this.faults.take(method, url.pathname);
    if (fault) {
      const a = fault.action;
      if (a.type === 'delay') await sleep(a.ms);
      else if (a.type === 'stall' || a.type === 'slow') await shapeLink(req, a);
      else if (a.type === 'cut') cutAnswer(res, a.afterBytes);
      else return this.applyFault(fault, req, res, correlationId);
    }

    const gated = GATED.some(([re, feature]) => re.test(url.pathname) && !core.supports(feature));
    const m = gated ? null : this.router.match(method, url.pathname);
    if (!m) {
      req.resume();
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found');
      return;
    }
    const clientIdHdr = req.headers['x-cr-client-id'];
    const ctx: Ctx = {
      core,
      req,
      res,
      url,
      correlationId,
      user: null,
      clientId: typeof clientIdHdr === 'string' ? clientIdHdr : undefined,
    };
    try {
      if (url.pathname.startsWith('/api/v4/') && !url.pathname.startsWith('/api/v4/slave/')) {
        ctx.user = authenticate(core, req.headers.authorization);
      }
      const out = await m.route.handler(ctx, m.params);
      if (out === HANDLED) return;
      sendJson(res, 200, okEnvelope(out));
    } catch (err) {
      if (err instanceof ClientGone) {
        res.destroy();
        return;
      }
      if (err instanceof ApiError) {
        if (!req.complete) req.resume();
        sendJson(res, err.httpStatus, errEnvelope(err, correlationId));
        return;
      }
      console.error('[emulator] handler error', err);
      if (!res.headersSent) {
        res.writeHead(500);
        res.end();
      } else res.destroy();
    }
  }

  private applyFault(rule: FaultRule, req: IncomingMessage, res: ServerResponse, correlationId: string): void {
    const a = rule.action;
    switch (a.type) {
      case 'reset': {
        let n = 0;
        const kill = () => {
          req.socket.destroy();
        };
        if (a.afterBytes <= 0) return kill();
        req.on('data', (c: Buffer) => {
          n += c.length;
          this.core.stats.bytes_received += c.length;
          if (n >= a.afterBytes) kill();
        });
        req.on('end', kill);
        return;
      }
      case 'status': {
        req.resume();
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
        return;
      }
      case 'envelope': {
        req.resume();
        sendJson(res, 200, { code: a.code, msg: a.msg ?? '', correlation_id: correlationId });
        return;
      }
      default:
        req.resume();
        res.writeHead(500);
        res.end();
    }
  }

  private async hook(method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = url.pathname.slice('/__emulator/'.length);
    const uri = url.searchParams.get('uri') ?? '';
    const bodyJson = async (): Promise<unknown> => {
      const b = await readBody(req);
      return b.length ? JSON.parse(b.toString('utf8')) : {};
    };
    try {
      if (method === 'GET' && route === 'stats') return sendJson(res, 200, this.core.stats);
      if (method === 'POST' && route === 'stats/reset') {
        req.resume();
        this.core.stats = emptyStats();
        return sendJson(res, 200, { ok: true });
      }
      if (method === 'GET' && route === 'blob') {
        const b = this.blob(uri);
        if (!b) {
          res.writeHead(404, { 'Content-Type': 'text/plain' });
          res.end('no blob');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': b.length });
        res.end(b);
        return;
      }
      if (method === 'GET' && route === 'entity') {
        const e = this.entity(uri);
        return e ? sendJson(res, 200, e) : sendJson(res, 404, { error: 'no entity' });
      }
      if (method === 'GET' && route === 'file') {
        const f = this.file(uri);
        return f ? sendJson(res, 200, f) : sendJson(res, 404, { error: 'no file' });
      }
      if (method === 'POST' && route === 'faults') {
        const v = await bodyJson();
        for (const r of Array.isArray(v) ? v : [v]) this.faults.add(r as FaultRule);
        return sendJson(res, 200, { ok: true });
      }
      if (method === 'GET' && route === 'faults') return sendJson(res, 200, this.faults.list());
      if (method === 'DELETE' && route === 'faults') {
        req.resume();
        this.faults.clear();
        return sendJson(res, 200, { ok: true });
      }
      if (method === 'POST' && route === 'policy') {
        this.setPolicy((await bodyJson()) as Partial<EmulatorPolicy>);
        return sendJson(res, 200, this.core.policy);
      }
      if (method === 'GET' && route === 'policy') return sendJson(res, 200, this.core.policy);
      if (method === 'POST' && route === 'version') {
        const v = (await bodyJson()) as { version?: string };
        if (typeof v.version === 'string') this.core.settings.version = v.version;
        return sendJson(res, 200, { version: this.core.settings.version });
      }
      if (method === 'GET' && route === 'sessions') return sendJson(res, 200, this.sessions());
      if (method === 'POST' && route === 'sessions/expire') {
        const v = (await bodyJson()) as { ids?: unknown };
        const ids = Array.isArray(v.ids) ? v.ids.map(String) : undefined;
        return sendJson(res, 200, { expired: this.expireSessions(ids) });
      }
      if (method === 'POST' && route === 'tune') {
        const v = (await bodyJson()) as Record<string, unknown>;
        const t: EmulatorTuning = {};
        for (const k of ['quota', 'accessTtl', 'sessionTtl'] as const) {
          if (v[k] === undefined) continue;
          if (typeof v[k] !== 'number' || !Number.isFinite(v[k]) || (v[k] as number) < 0) throw new Error(`${k} must be a non-negative number`);
          t[k] = v[k] as number;
        }
        if (v.upyunClockOffsetMs !== undefined) {
          if (typeof v.upyunClockOffsetMs !== 'number' || !Number.isFinite(v.upyunClockOffsetMs)) throw new Error('upyunClockOffsetMs must be a number');
          t.upyunClockOffsetMs = v.upyunClockOffsetMs;
        }
        this.tune(t);
        const st = this.core.settings;
        return sendJson(res, 200, { quota: st.quota, accessTtl: st.accessTtl, sessionTtl: st.sessionTtl, upyunClockOffsetMs: st.upyunClockOffsetMs });
      }
    } catch (err) {
      return sendJson(res, 400, { error: String((err as Error).message ?? err) });
    }
    req.resume();
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('404 page not found');
  }
}
