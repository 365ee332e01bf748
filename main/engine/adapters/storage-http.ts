/**
 * HTTP to storage endpoints that are not the Cloudreve master (slave nodes, later S3-like vendors):
 * no bearer token, no X-Cr-* headers, exact Content-Length, streamed bodies, abortable. Errors are built by the
 * same rules as the master's (api/http.ts), with the URL reduced to origin + path (signed queries stay out).
 */
import got from 'got';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { transportError, type RawResponse, type RequestContext } from '../api/http.js';

const storage = got.extend({
  retry: { limit: 0 },
  throwHttpErrors: false,
  followRedirect: false,
  agent: { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) },
  timeout: { lookup: 10_000, connect: 10_000, secureConnect: 10_000, send: 120_000, response: 120_000 },
});

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
  opts: { body?: Readable | Buffer | string; length?: number; headers?: Record<string, string>; signal?: AbortSignal },
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  for (const k of Object.keys(headers)) {
    if (/^x-cr-/i.test(k)) throw new Error(`refusing to send ${k} to a storage endpoint`);
  }
  if (opts.length !== undefined) headers['content-length'] = String(opts.length);
  let bodyError: unknown;
  (opts.body as Readable | undefined)?.once?.('error', (e: unknown) => (bodyError = e));
  try {
    const res = await storage(url, { method, body: opts.body, headers, signal: opts.signal });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  } catch (err) {
    throw transportError(err, ctx, bodyError);
  }
}
