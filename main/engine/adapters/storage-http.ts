/**
 * HTTP to storage endpoints that are not the Cloudreve master (slave nodes, S3-like vendors, OneDrive, Qiniu,
 * Upyun): no bearer token, no X-Cr-* headers, exact Content-Length, streamed bodies, abortable. Errors are built
 * by the same rules as the master's (api/http.ts), with the URL reduced to origin + path (signed queries stay out).
 *
 * Timeouts judge progress, never duration: a part may take as long as the uplink (or the bandwidth limit) needs,
 * as long as bytes keep moving. `idleMs` is the longest time nothing may move on the socket (body going out, or
 * the answer coming in); `responseMs` the longest wait for the answer's headers after the whole body went out
 * (the node may merge or call back first); `connectMs` covers DNS, TCP and TLS. Every adapter gets this by
 * calling storageRequest() (pass `timeouts` to override). The request itself is api/transport.ts.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { USER_AGENT, limitError, type RawResponse, type RequestContext } from '../api/http.js';
import { send } from '../api/transport.js';

export interface TransferTimeouts {
  connectMs: number;
  /** nothing moved on the socket for this long → 'timeout' ("no progress for N s") */
  idleMs: number;
  /** from the end of the body to the answer's headers */
  responseMs: number;
}

export const STORAGE_TIMEOUTS: Readonly<TransferTimeouts> = Object.freeze({ connectMs: 10_000, idleMs: 60_000, responseMs: 120_000 });

const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };

/** Origin and path only: signed query strings never reach a message. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

export function storageContext(op: string, method: string, url: string): RequestContext {
  let host = '<invalid url>';
  try {
    host = new URL(url).host;
  } catch {
    /* keep the placeholder */
  }
  return { op, endpoint: `${method} ${describeUrl(url)}`, host };
}

export async function storageRequest(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  ctx: RequestContext,
  opts: {
    body?: Readable | Buffer | string;
    length?: number;
    headers?: Record<string, string>;
    signal?: AbortSignal;
    /** overrides of STORAGE_TIMEOUTS */
    timeouts?: Partial<TransferTimeouts>;
  },
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  for (const k of Object.keys(headers)) {
    if (/^x-cr-/i.test(k)) throw new Error(`refusing to send ${k} to a storage endpoint`);
  }
  if (opts.length !== undefined) headers['content-length'] = String(opts.length);
  let bodyError: unknown;
  (opts.body as Readable | undefined)?.once?.('error', (e: unknown) => (bodyError = e));
  const idleMs = opts.timeouts?.idleMs ?? STORAGE_TIMEOUTS.idleMs;
  try {
    const t = { ...STORAGE_TIMEOUTS, ...opts.timeouts };
    return await send(url, { method, body: opts.body, headers: { 'user-agent': USER_AGENT, ...headers }, agents, signal: opts.signal, timeouts: t });
  } catch (err) {
    throw limitError(err, ctx, { idleMs }, bodyError);
  }
}
