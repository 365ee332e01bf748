/**
 * The HTTP bridge of `cloudreve-sync ui`: the renderer's contract over HTTP for a browser, through the same
 * `createHandlers` + `dispatch` as Electron's IPC (same argument validation, same Results) and the same
 * `forwardEngineEvents` (progress coalesced the same way). Not a second API.
 *
 *   GET  /, /index.html, /main.js, /styles.css   the bundled renderer (public: it holds no data), with a strict CSP
 *   POST /api/invoke/<method>   body: JSON array of arguments → 200 + the method's Result as JSON
 *   GET  /api/events            Server-Sent Events: `event: <contract event>` + `data: <json>`
 *
 * Every request is checked, in this order:
 *   1. Host must name this server (127.0.0.1:PORT, localhost:PORT, [::1]:PORT; with --listen also the listen address
 *      and this machine's names/addresses): a DNS-rebinding page reaches us under its own host name and is refused.
 *   2. Origin, when sent, must be this server's own origin (no CORS: a foreign page's calls are refused, and no
 *      Access-Control-* header is ever sent, so the browser would not hand it the answer anyway).
 *   3. With --listen: the password, as HTTP Basic auth (the browser asks for it once), on every request.
 *   4. /api/*: the per-launch token (256 random bits), in an `X-Cloudreve-Token` header (or `Authorization: Bearer`
 *      without --listen; or `?token=` on /api/events, which EventSource cannot send headers for), compared in
 *      constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine/index.js';
import { isMethodName, type EventMap, type EventName } from '../ipc/contract.js';
import { dispatch, forwardEngineEvents, type EventSink, type Handlers } from '../ipc/server.js';

/** The Content-Security-Policy of the page: the Electron window's (renderer/index.html), plus no framing. */
export const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Largest invoke body: enqueuePaths may carry 100,000 paths (its own cap); 16 MiB holds them at 160 bytes each. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/main.js': { file: 'main.js', type: 'text/javascript; charset=utf-8' },
  '/styles.css': { file: 'styles.css', type: 'text/css; charset=utf-8' },
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopbackAddress(addr: string): boolean {
  return LOOPBACK.has(addr) || /^127\.\d+\.\d+\.\d+$/.test(addr);
}

export interface BridgeServerOptions {
  engine: Engine;
  handlers: Handlers;
  /** the bundled renderer: index.html, main.js, styles.css */
  staticDir: string;
  /** default 127.0.0.1 */
  host?: string;
  /** 0 = any free port */
  port?: number;
  /** required when host is not a loopback address */
  password?: string;
  /** tests: a fixed token (else 32 random bytes, base64url) */
  token?: string;
  /** SSE heartbeat, so proxies and the browser keep the stream (default 15 s) */
  heartbeatMs?: number;
  onInternalError?: (what: string, err: unknown) => void;
  /**
   * Serve the contract on a Unix socket / Windows named pipe instead of TCP: the control socket of a running engine
   * (control-socket.ts). Only /api/*; no Host, Origin, password or token checks: the socket's owner-only permissions
   * are the check (nothing in a browser can reach a socket file).
   */
  socketPath?: string;
  /**
   * With socketPath: the answer to a client's `X-Cloudreve-Sync-Nonce`, sent back on every response as
   * `X-Cloudreve-Sync-Proof`, so the client knows the server holds the home's key (control-socket.ts).
   */
  socketProof?: (nonce: string) => string;
}

export interface BridgeServer {
  /** the URL to open, with the token: http://127.0.0.1:PORT/#token=… */
  url: string;
  /** Pushes an event to every connected page (what handlers announce themselves: 'browser-login-started'). */
  broadcast: EventSink;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** A clear error for the command line (exit code 2). */
export class BridgeConfigError extends Error {}

function sameSecret(given: string, expected: string): boolean {
  // hash both to a fixed length first: timingSafeEqual needs equal lengths, and the length must not leak either
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The Host header values this server answers to. */
export function allowedHosts(listenHost: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (!isLoopbackAddress(listenHost)) {
    const add = (h: string) => names.add(h.includes(':') ? `[${h}]` : h.toLowerCase());
    if (listenHost !== '0.0.0.0' && listenHost !== '::') add(listenHost);
    else {
      for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) add(i.address.replace(/%.*$/, ''));
    }
    add(hostname());
    add(`${hostname()}.local`);
  }
  return new Set([...names].map((h) => `${h}:${port}`));
}

export async function startBridgeServer(opts: BridgeServerOptions): Promise<BridgeServer> {
  const host = opts.host ?? '127.0.0.1';
  const viaSocket = opts.socketPath !== undefined;
  const remote = !viaSocket && !isLoopbackAddress(host);
  if (remote && !opts.password) {
    throw new BridgeConfigError(`listening on ${host} (not loopback) needs --password: anyone who can reach the port could otherwise drive your uploads`);
  }
  if (opts.password !== undefined && opts.password.length < 8) throw new BridgeConfigError('--password must be at least 8 characters');
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const clients = new Set<ServerResponse>();
  let hosts = new Set<string>();
  let port = 0;

  const send = <K extends EventName>(name: K, payload: EventMap[K]): void => {
    const frame = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const res of clients) res.write(frame);
  };
  const stopEvents = forwardEngineEvents(opts.engine, send);
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, opts.heartbeatMs ?? 15_000);
  heartbeat.unref();

  const refuse = (res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
    res.end(`${message}\n`);
  };

  const passwordOk = (req: IncomingMessage): boolean => {
    if (!opts.password) return true;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const pw = decoded.slice(decoded.indexOf(':') + 1);
    return sameSecret(pw, opts.password);
  };

  const tokenOk = (req: IncomingMessage, url: URL, allowQuery: boolean): boolean => {
    const header = req.headers['x-cloudreve-token'] || /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = typeof header === 'string' ? header : allowQuery ? (url.searchParams.get('token') ?? '') : '';
    return given.length > 0 && sameSecret(given, token);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const nonce = req.headers['x-cloudreve-sync-nonce'];
    if (viaSocket && opts.socketProof && typeof nonce === 'string' && nonce.length <= 256) res.setHeader('X-Cloudreve-Sync-Proof', opts.socketProof(nonce));
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!viaSocket) {
      if (!hosts.has(hostHeader)) return refuse(res, 421, 'Unknown Host: open the address cloudreve-sync ui printed');
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${hostHeader}`) return refuse(res, 403, 'Cross-origin requests are refused');
      if (req.headers['sec-fetch-site'] === 'cross-site') return refuse(res, 403, 'Cross-site requests are refused');
      if (!passwordOk(req)) return refuse(res, 401, 'Password required', { 'WWW-Authenticate': 'Basic realm="cloudreve-sync ui", charset="UTF-8"' });
    }
    const url = new URL(req.url ?? '/', 'http://control');

    if (url.pathname.startsWith('/api/')) {
      if (!viaSocket && !tokenOk(req, url, url.pathname === '/api/events')) return refuse(res, 401, 'Missing or wrong token');
      if (url.pathname === '/api/events') {
        if (req.method !== 'GET') return refuse(res, 405, 'Method not allowed', { Allow: 'GET' });
        res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
        res.write('retry: 2000\n\n');
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }
      const m = /^\/api\/invoke\/([A-Za-z]+)$/.exec(url.pathname);
      if (!m || !isMethodName(m[1])) return refuse(res, 404, 'No such method');
      if (req.method !== 'POST') return refuse(res, 405, 'Method not allowed', { Allow: 'POST' });
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return refuse(res, 415, 'Send application/json');
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === null) return refuse(res, 413, `Request body over ${MAX_BODY_BYTES} bytes`);
      let args: unknown;
      try {
        args = JSON.parse(body.toString('utf8'));
      } catch {
        return refuse(res, 400, 'The body is not JSON');
      }
      if (!Array.isArray(args)) return refuse(res, 400, 'The body must be a JSON array of arguments');
      const result = await dispatch(
        { handlers: opts.handlers, isTrustedSender: () => true, onInternalError: (name, err) => opts.onInternalError?.(name, err) },
        m[1],
        { sender: 'http', senderFrame: null },
        args,
      );
      const json = JSON.stringify(result);
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(json);
      return;
    }

    const asset = viaSocket ? undefined : STATIC[url.pathname];
    if (!asset) return refuse(res, 404, 'Not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    let data: Buffer;
    try {
      data = await readFile(join(opts.staticDir, asset.file));
    } catch {
      return refuse(res, 500, `The renderer bundle is missing (${asset.file}); run \`npm run build\``);
    }
    res.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': String(data.length),
      'Content-Security-Policy': PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : data);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.onInternalError?.('http', err);
      if (!res.headersSent) refuse(res, 500, 'Internal error');
      else res.destroy();
    });
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new BridgeConfigError(`port ${opts.port} is in use (choose another with --port, or 0 for any)`) : err),
    );
    if (opts.socketPath !== undefined) server.listen(opts.socketPath, () => resolve());
    else server.listen(opts.port ?? 0, host, () => resolve());
  });
  if (!viaSocket) {
    port = (server.address() as AddressInfo).port;
    hosts = allowedHosts(host, port);
  }
  const shown = remote ? (host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host) : '127.0.0.1';

  return {
    url: viaSocket ? `unix:${opts.socketPath}` : `http://${shown}:${port}/#token=${token}`,
    broadcast: send,
    port,
    token,
    async close() {
      clearInterval(heartbeat);
      stopEvents();
      for (const res of clients) res.end();
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The whole body, or null once it passes `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}
