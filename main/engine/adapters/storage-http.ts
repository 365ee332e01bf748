/**
 * HTTP to storage endpoints that are not the Cloudreve master (slave nodes, later S3-like vendors):
 * no bearer token, no X-Cr-* headers, exact Content-Length, streamed bodies, abortable.
 */
import got, { RequestError } from 'got';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { EngineError, redact } from '../errors.js';

const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
};

const storage = got.extend({
  retry: { limit: 0 },
  throwHttpErrors: false,
  followRedirect: false,
  decompress: true,
  agent: agents,
  timeout: { lookup: 10_000, connect: 10_000, secureConnect: 10_000, send: 120_000, response: 120_000 },
});

export interface StorageResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Origin and path only: signed query strings never reach a message. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

export async function storageRequest(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  opts: { body?: Readable | Buffer | string; length?: number; headers?: Record<string, string>; signal?: AbortSignal },
): Promise<StorageResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  for (const k of Object.keys(headers)) {
    if (/^x-cr-/i.test(k)) throw new Error(`refusing to send ${k} to a storage endpoint`);
  }
  if (opts.length !== undefined) headers['content-length'] = String(opts.length);
  try {
    const res = await storage(url, { method, body: opts.body, headers, signal: opts.signal });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  } catch (err) {
    throw transportError(err, `${method} ${describeUrl(url)}`);
  }
}

export function transportError(err: unknown, what: string): unknown {
  if (err instanceof EngineError) return err;
  if ((err as { name?: string }).name === 'AbortError') return err;
  if (err instanceof RequestError) {
    const inner = (err.cause as EngineError | undefined) ?? undefined;
    if (inner instanceof EngineError) return inner; // e.g. the body stream saw the file change
    if (err.code === 'ETIMEDOUT' || err.name === 'TimeoutError') return new EngineError('timeout', `${what}: timed out`, { cause: err });
    return new EngineError('network', redact(`${what}: ${err.code ?? err.message}`), { cause: err });
  }
  return err;
}
