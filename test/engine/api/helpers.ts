/** Throwaway loopback servers for the API client tests (odd servers, counting proxies). */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { listenLoopback } from '../../helpers/loopback-server.js';

export interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface TestServer {
  url: string;
  port: number;
  seen: Seen[];
  /** connections open now */
  connections(): number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, seen: Seen) => void | Promise<void>;

/** A loopback server that records every request (with its body) and hands it to `handler`. */
export async function startServer(handler: Handler, opts: { readBody?: boolean } = {}): Promise<TestServer> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const rec: Seen = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.alloc(0) };
    seen.push(rec);
    if (opts.readBody === false) {
      void Promise.resolve(handler(req, res, rec.body, rec)).catch(() => res.destroy());
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      rec.body = Buffer.concat(parts);
      void Promise.resolve(handler(req, res, rec.body, rec)).catch(() => res.destroy());
    });
  });
  return { ...(await listenLoopback(server)), seen };
}

/** Runs `fn` against a loopback server with `handler`, closing it afterwards. */
export async function withServer(handler: Handler, fn: (s: TestServer) => Promise<void>, opts: { readBody?: boolean } = {}): Promise<void> {
  const s = await startServer(handler, opts);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

export function sendJson(res: ServerResponse, obj: unknown, status = 200, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

export function sendText(res: ServerResponse, text: string, status = 200, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** A port nothing listens on (bound once, then closed). */
export async function refusedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A loopback port that was free a moment ago and that the kernel will not hand out on its own in the meantime: it
 * lies below the ephemeral range (where `listen(0)` and every outgoing connection take their ports), so a port
 * reserved now and bound seconds later (an OAuth redirect port, registered with the server before the client
 * listens on it) cannot be taken by the connections of tests running beside it.
 */
export async function reservablePort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    /* not Linux: 32768 is the common start of the range elsewhere too (macOS starts at 49152) */
  }
  const floor = Math.max(1025, Math.min(20_000, low - 4096));
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    const s = http.createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => s.close(() => r()));
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range after 100 tries');
}

/**
 * A transparent proxy in front of `target` that records method, path and headers of every request
 * (bodies are streamed through untouched). Used to count refresh/list requests against the emulator.
 */
export async function startCountingProxy(target: string): Promise<Omit<TestServer, 'connections'> & { count(method: string, path: string | RegExp): number }> {
  const t = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push({ method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.alloc(0) });
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host }, agent },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const { url, port, close } = await listenLoopback(server);
  return {
    url,
    port,
    seen,
    count: (method, path) => seen.filter((s) => s.method === method && (typeof path === 'string' ? s.path === path : path.test(s.path))).length,
    close: () => {
      agent.destroy();
      return close();
    },
  };
}

export const CLIENT_ID = '3f1d2c4b-5a69-4e7d-8c0b-9a1e2f3d4c5b';

/**
 * A JWT-looking token that expires `ttlSec` from now and was issued `lifetimeSec` before its expiry
 * (default: just now). Not signed for real.
 */
export function fakeJwt(kind: 'access' | 'refresh', ttlSec: number, lifetimeSec = ttlSec, nonce = Math.random().toString(36).slice(2)): string {
  const now = Math.floor(Date.now() / 1000);
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const exp = now + ttlSec;
  return `${b({ alg: 'HS256', typ: 'JWT' })}.${b({ token_type: kind, sub: 'lUpa', nbf: exp - lifetimeSec, exp, n: nonce })}.${Buffer.from('sig-' + nonce).toString('base64url')}`;
}

/** A token pair with `accessTtlSec`/`refreshTtlSec` left; lifetimes default to the server defaults (1 h / 14 d). */
export function tokenPair(accessTtlSec: number, refreshTtlSec: number, lifetimes: { access?: number; refresh?: number } = {}) {
  return {
    access_token: fakeJwt('access', accessTtlSec, lifetimes.access ?? Math.max(accessTtlSec, 3600)),
    refresh_token: fakeJwt('refresh', refreshTtlSec, lifetimes.refresh ?? Math.max(refreshTtlSec, 14 * 86400)),
    access_expires: new Date(Date.now() + accessTtlSec * 1000).toISOString(),
    refresh_expires: new Date(Date.now() + refreshTtlSec * 1000).toISOString(),
  };
}

export const USER = { id: 'lUpa', email: 'a@b.c', nickname: 'alice', created_at: '2025-01-01T00:00:00Z' };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
