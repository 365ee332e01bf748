/**
 * A hostile Cloudreve: a loopback proxy in front of the emulator that answers chosen requests badly (truncated or
 * non-JSON bodies, wrong types, absurd sizes, upload URLs that point elsewhere, redirect loops, enormous answers,
 * slow-loris answers) and passes everything else through. Plus a canary: an "elsewhere" server that records what
 * reached it.
 */
import * as http from 'node:http';
import { listenLoopback } from '../helpers/loopback-server.js';

export interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HostileCtx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  body: Buffer;
  /** the emulator's answer to this request */
  upstream(): Promise<Upstream>;
}

export interface HostileRule {
  method?: string;
  path: RegExp;
  /** how many matching requests it answers (default: all) */
  times?: number;
  answer(ctx: HostileCtx): Promise<void> | void;
}

export interface HostileServer {
  url: string;
  /** requests answered by a rule, by rule index */
  hits: number[];
  close(): Promise<void>;
}

function readAll(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function forward(target: URL, req: http.IncomingMessage, body: Buffer | null): Promise<Upstream & { stream?: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    // identity: the rules read and rewrite the emulator's answers as plain bytes
    const headers = { ...req.headers, host: target.host, 'accept-encoding': 'identity' };
    const out = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    out.on('error', reject);
    if (body) out.end(body);
    else req.pipe(out);
  });
}

/** Starts the proxy in front of `emulatorUrl`; requests not matched by a rule go through unchanged. */
export async function startHostile(emulatorUrl: string, rules: HostileRule[]): Promise<HostileServer> {
  const target = new URL(emulatorUrl);
  const left = rules.map((r) => r.times ?? Infinity);
  const hits = rules.map(() => 0);
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://hostile.invalid');
    const i = rules.findIndex((r, k) => left[k] > 0 && (!r.method || r.method === req.method) && r.path.test(url.pathname));
    try {
      if (i < 0) {
        const up = await forward(target, req, null);
        const headers = { ...up.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(up.body.length);
        res.writeHead(up.status, headers);
        res.end(up.body);
        return;
      }
      left[i]--;
      hits[i]++;
      const body = await readAll(req);
      await rules[i].answer({ req, res, url, body, upstream: () => forward(target, req, body) });
    } catch (err) {
      if (process.env.HOSTILE_DEBUG) console.error('[hostile]', err);
      res.destroy();
    }
  });
  const { url, close } = await listenLoopback(server);
  return { url, hits, close };
}

/** Answers with the emulator's envelope, edited by `edit` when it is a success (code 0). */
export function editJson(edit: (envelope: any) => unknown): HostileRule['answer'] {
  return async (ctx) => {
    const up = await ctx.upstream();
    const env = JSON.parse(up.body.toString('utf8'));
    // only successful answers are edited; the server's refusals go through as they are
    const text = JSON.stringify(env.code === 0 ? edit(env) : env);
    ctx.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    ctx.res.end(text);
  };
}

/** Answers exactly these bytes with HTTP 200 (and a Content-Length that matches them, unless `claim` says otherwise). */
export function rawAnswer(body: string | Buffer, opts: { contentType?: string; claim?: number; status?: number } = {}): HostileRule['answer'] {
  return (ctx) => {
    const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
    ctx.res.writeHead(opts.status ?? 200, { 'content-type': opts.contentType ?? 'application/json', 'content-length': String(opts.claim ?? b.length) });
    if (opts.claim !== undefined && opts.claim > b.length) {
      // a body cut short: the connection ends before the promised length
      ctx.res.write(b);
      setTimeout(() => ctx.res.socket?.destroy(), 20);
      return;
    }
    ctx.res.end(b);
  };
}

export interface Canary {
  url: string;
  requests: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders; bytes: number }>;
  close(): Promise<void>;
}

/** "Elsewhere": a server that records every request and answers 403 AccessDenied as a storage would to a stranger. */
export async function startCanary(): Promise<Canary> {
  const requests: Canary['requests'] = [];
  const server = http.createServer(async (req, res) => {
    const body = await readAll(req);
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, bytes: body.length });
    const xml = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
    res.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  });
  const { url, close } = await listenLoopback(server);
  return { url, requests, close };
}
