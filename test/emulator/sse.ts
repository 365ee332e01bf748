// Filesystem change events over SSE (§4.9): GET /api/v4/file/events?uri=<folder>.
import type { ServerResponse } from 'node:http';
import { HANDLED, type Ctx, type Router, requireUser } from './http.js';
import type { Core, EventKind, FileNode, UserRec } from './state.js';
import { ApiError, E, goJsonString, isUuid, parseUri } from './util.js';
import { walk } from './upload.js';

export interface FsEvent {
  type: EventKind;
  file_id: string;
  from: string;
  to: string;
}

const MAX_OFFLINE_MS = 1209600 * 1000;

/** Merge rules of the server's DebounceEvents (pkg/filemanager/eventhub/event.go). */
export function debounceEvents(input: FsEvent[]): FsEvent[] {
  interface St {
    base: EventKind;
    src: string;
    dst: string;
  }
  const states = new Map<string, St>();
  const order: string[] = [];
  const drop = (id: string) => {
    states.delete(id);
    const i = order.indexOf(id);
    if (i >= 0) order.splice(i, 1);
  };
  for (const e of input) {
    const st = states.get(e.file_id);
    if (!st) {
      order.push(e.file_id);
      states.set(e.file_id, { base: e.type, src: e.from, dst: e.to });
      continue;
    }
    switch (e.type) {
      case 'create':
        if (st.base === 'delete') {
          st.base = 'create';
          st.src = e.from;
          st.dst = '';
        }
        break;
      case 'modify':
        break;
      case 'rename':
        if (st.base === 'create') {
          st.src = e.to;
          st.dst = '';
        } else if (st.base === 'modify') {
          st.base = 'rename';
          st.dst = e.to;
          st.src = e.from;
        } else if (st.base === 'rename') {
          if (st.src === e.to) drop(e.file_id);
          else st.dst = e.to;
        }
        break;
      case 'delete':
        if (st.base === 'create') drop(e.file_id);
        else if (st.base === 'modify' || st.base === 'rename') {
          st.base = 'delete';
          st.src = e.from;
          st.dst = '';
        }
        break;
    }
  }
  const out: FsEvent[] = [];
  for (const id of order) {
    const st = states.get(id);
    if (!st) continue;
    out.push({ type: st.base, file_id: id, from: st.src, to: st.base === 'rename' ? st.dst : '' });
  }
  return out;
}

/** gin-contrib/sse framing: `event:<name>\ndata:<payload>\n\n` (nil data renders as `<nil>`). */
function frame(name: string, data?: FsEvent): string {
  if (!data) return `event:${name}\ndata:<nil>\n\n`;
  const json = `{"type":${goJsonString(data.type)},"file_id":${goJsonString(data.file_id)},"from":${goJsonString(data.from)},"to":${goJsonString(data.to)}}`;
  return `event:${name}\ndata:${json}\n\n`;
}

class Subscriber {
  res: ServerResponse | null = null;
  buffer: FsEvent[] = [];
  /** debounced events produced while offline (the server's channel), delivered on resume */
  ready: FsEvent[] = [];
  timer: NodeJS.Timeout | null = null;
  keepAlive: NodeJS.Timeout | null = null;
  offlineSince = 0;
  constructor(
    readonly hub: EventHub,
    readonly topic: FileNode,
    readonly user: UserRec,
    readonly clientId: string,
  ) {}

  publish(ev: FsEvent): void {
    this.buffer.push(ev);
    if (!this.res) return; // offline: kept until the client resumes
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.hub.core.settings.eventDebounceMs);
    this.timer.unref();
  }

  flush(): void {
    this.timer = null;
    if (!this.buffer.length) return;
    const evs = debounceEvents(this.buffer);
    this.buffer = [];
    if (!this.res) {
      this.ready.push(...evs);
      return;
    }
    for (const e of evs) this.res.write(frame('event', e));
  }

  attach(res: ServerResponse, resumed: boolean): void {
    if (this.res && this.res !== res) this.res.end();
    this.res = res;
    this.offlineSince = 0;
    res.write(frame(resumed ? 'resumed' : 'subscribed'));
    const ready = this.ready;
    this.ready = [];
    for (const e of ready) res.write(frame('event', e));
    if (this.buffer.length) {
      this.timer = setTimeout(() => this.flush(), this.hub.core.settings.eventDebounceMs);
      this.timer.unref();
    }
    this.keepAlive = setInterval(() => {
      if (this.res === res) res.write(frame('keep-alive'));
    }, this.hub.core.settings.keepAliveMs);
    this.keepAlive.unref();
  }

  detach(res: ServerResponse): void {
    if (this.res !== res) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.res = null;
    // Stop(): flush pending events into the channel, then go offline
    if (this.buffer.length) {
      this.ready.push(...debounceEvents(this.buffer));
      this.buffer = [];
    }
    this.offlineSince = Date.now();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.timer = null;
    this.keepAlive = null;
    const r = this.res;
    this.res = null;
    r?.end();
  }
}

export class EventHub {
  /** key: `${topic.id}:${clientId}` */
  private subs = new Map<string, Subscriber>();

  constructor(readonly core: Core) {
    core.onEvent((user, kind, fileId, from, to, clientId) => this.publish(user, kind, fileId, from, to, clientId));
  }

  private publish(user: UserRec, kind: EventKind, fileId: string, from: string[], to: string[] | undefined, clientId: string | undefined): void {
    const now = Date.now();
    for (const [key, sub] of this.subs) {
      if (sub.user !== user) continue;
      if (!sub.res && sub.offlineSince && now - sub.offlineSince > MAX_OFFLINE_MS) {
        this.subs.delete(key);
        continue;
      }
      if (clientId && sub.clientId === clientId) continue; // no echo to the originating client
      const root = this.rootSegs(sub.topic);
      if (!root) continue;
      const under = (segs: string[]) => segs.length > root.length && root.every((s, i) => segs[i] === s);
      const rel = (segs: string[]) => '/' + segs.slice(root.length).join('/');
      if (kind === 'rename' && to) {
        const src = under(from);
        const dst = under(to);
        if (src && dst) sub.publish({ type: 'rename', file_id: fileId, from: rel(from), to: rel(to) });
        else if (src) sub.publish({ type: 'delete', file_id: fileId, from: rel(from), to: '' });
        else if (dst) sub.publish({ type: 'create', file_id: fileId, from: rel(to), to: '' });
      } else if (under(from)) {
        sub.publish({ type: kind, file_id: fileId, from: rel(from), to: '' });
      }
    }
  }

  /** Current path of a subscribed folder, or null when it is no longer in the user's tree. */
  private rootSegs(node: FileNode): string[] | null {
    let n: FileNode | null = node;
    while (n && n.parent) n = n.parent;
    if (n !== node.owner.root || !this.core.nodes.has(node.id)) return null;
    return this.core.segsOf(node);
  }

  subscribe(topic: FileNode, user: UserRec, clientId: string, res: ServerResponse): void {
    const key = `${topic.id}:${clientId}`;
    let sub = this.subs.get(key);
    const resumed = !!sub && (sub.res !== null || Date.now() - sub.offlineSince <= MAX_OFFLINE_MS);
    if (!sub || !resumed) {
      sub = new Subscriber(this, topic, user, clientId);
      this.subs.set(key, sub);
    }
    const s = sub;
    s.attach(res, resumed);
    res.on('close', () => s.detach(res));
  }

  closeAll(): void {
    for (const s of this.subs.values()) s.close();
    this.subs.clear();
  }
}

export function registerEvents(r: Router, hub: EventHub): void {
  r.add('GET', '/api/v4/file/events', (ctx: Ctx) => {
    const core = ctx.core;
    const user = requireUser(ctx);
    const uri = ctx.url.searchParams.get('uri');
    if (!uri) throw E.param("Key: 'ExplorerEventService.Uri' Error:Field validation for 'Uri' failed on the 'required' tag");
    let p;
    try {
      p = parseUri(uri);
    } catch {
      throw E.param('Unknown uri');
    }
    let node: FileNode | null = null;
    try {
      if (p.fs === 'my' && (!p.owner || p.owner === user.hashid)) node = walk(core, user, p.segs);
    } catch {
      node = null;
    }
    if (!node || node.type !== 1) throw new ApiError(40001, 'Requested uri not available');
    const clientId = ctx.req.headers['x-cr-client-id'];
    if (typeof clientId !== 'string' || clientId === '') throw E.param('Client ID is required');
    if (!isUuid(clientId)) throw E.param('Invalid client ID');
    ctx.res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    ctx.res.flushHeaders();
    hub.subscribe(node, user, clientId, ctx.res);
    return HANDLED;
  });
}
