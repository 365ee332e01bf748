// Plain-HTTP helpers for the emulator's own tests (no client code involved).
import * as http from 'node:http';
import type { Emulator } from './index.js';

export interface Resp {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  headers: Headers;
}

export async function api(
  emu: Emulator | string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: Buffer | string } = {},
): Promise<Resp> {
  const base = typeof emu === 'string' ? emu : emu.url;
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Buffer | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const r = await fetch(base + path, { method, headers, body: body as unknown as BodyInit | undefined });
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, text, json, headers: r.headers };
}

export async function login(emu: Emulator, email = emu.email, password = emu.password): Promise<{ access: string; refresh: string }> {
  const r = await api(emu, 'POST', '/api/v4/session/token', { body: { email, password } });
  if (r.json?.code !== 0) throw new Error(`login failed: ${r.text}`);
  return { access: r.json.data.token.access_token, refresh: r.json.data.token.refresh_token };
}

/** A raw request via node:http, so headers are exactly what we say (fetch adds its own; this also allows chunked bodies). */
export function rawRequest(
  method: string,
  url: string,
  headers: Record<string, string | number>,
  body: Buffer | Buffer[],
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    for (const b of Array.isArray(body) ? body : [body]) req.write(b);
    req.end();
  });
}

/** rawRequest() with POST. */
export function rawPost(url: string, headers: Record<string, string | number>, body: Buffer | Buffer[]) {
  return rawRequest('POST', url, headers, body);
}

export async function createSession(emu: Emulator, token: string, body: Record<string, unknown>): Promise<Resp> {
  return api(emu, 'PUT', '/api/v4/file/upload', { token, body });
}

export async function putChunk(emu: Emulator, token: string | undefined, sid: string, index: number, data: Buffer | string, headers: Record<string, string> = {}): Promise<Resp> {
  return api(emu, 'POST', `/api/v4/file/upload/${sid}/${index}`, {
    token,
    raw: typeof data === 'string' ? Buffer.from(data) : data,
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
}

/** Create a session and upload `data` in order; returns the session response data. */
export async function uploadFile(emu: Emulator, token: string, uri: string, data: Buffer, extra: Record<string, unknown> = {}): Promise<any> {
  const s = await createSession(emu, token, { uri, size: data.length, ...extra });
  if (s.json?.code !== 0) throw new Error(`session failed: ${s.text}`);
  const cs: number = s.json.data.chunk_size;
  const n = cs === 0 || data.length === 0 ? 1 : Math.ceil(data.length / cs);
  for (let i = 0; i < n; i++) {
    const part = cs === 0 ? data : data.subarray(i * cs, Math.min(data.length, (i + 1) * cs));
    const r = await putChunk(emu, token, s.json.data.session_id, i, part);
    if (r.json?.code !== 0) throw new Error(`chunk ${i} failed: ${r.text}`);
  }
  return s.json.data;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
