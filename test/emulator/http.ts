// Request context, routing table and envelope helpers shared by the route modules.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Core, UserRec } from './state.js';
import { ApiError, E } from './util.js';

export interface Ctx {
  core: Core;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  correlationId: string;
  /** authenticated user or null (anonymous) */
  user: UserRec | null;
  clientId?: string;
}

/** Returned by a handler that wrote the response itself. */
export const HANDLED = Symbol('handled');

export type Handler = (ctx: Ctx, params: string[]) => Promise<unknown> | unknown;

export interface Route {
  method: string;
  re: RegExp;
  handler: Handler;
}

export class Router {
  readonly routes: Route[] = [];
  add(method: string, pattern: string, handler: Handler): void {
    this.routes.push({ method, re: new RegExp(`^${pattern}$`), handler });
  }
  match(method: string, pathname: string): { route: Route; params: string[] } | null {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.re.exec(pathname);
      if (m) return { route, params: m.slice(1).map((x) => x ?? '') };
    }
    return null;
  }
}

export function sendJson(res: ServerResponse, status: number, obj: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

/** Success envelope; `data` omitted when undefined/null (Go omitempty). */
export function okEnvelope(data: unknown): Record<string, unknown> {
  return data === undefined || data === null ? { code: 0, msg: '' } : { code: 0, data, msg: '' };
}

export function errEnvelope(err: ApiError, correlationId: string): Record<string, unknown> {
  const out: Record<string, unknown> = { code: err.code };
  if (err.data !== undefined && err.data !== null) out.data = err.data;
  if (err.aggregated && Object.keys(err.aggregated).length) out.aggregated_error = err.aggregated;
  out.msg = err.msg;
  if (correlationId) out.correlation_id = correlationId;
  return out;
}

export function requireUser(ctx: Ctx): UserRec {
  if (!ctx.user) throw E.login();
  return ctx.user;
}

/** Read the whole body (bounded). */
export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw E.param('request body too large');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/** Parse a JSON object body; any failure → 40001. */
export async function readJson(ctx: Ctx): Promise<Record<string, unknown>> {
  const buf = await readBody(ctx.req);
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw E.param('Invalid parameters.');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw E.param('Invalid parameters.');
  return v as Record<string, unknown>;
}

// Small validators (mirroring gin binding failures → 40001)
export function str(v: unknown, name: string, required = false): string {
  if (v === undefined || v === null) {
    if (required) throw E.param(`Key: '${name}' Error:Field validation for '${name}' failed on the 'required' tag`);
    return '';
  }
  if (typeof v !== 'string') throw E.param();
  if (required && v === '') throw E.param(`Key: '${name}' Error:Field validation for '${name}' failed on the 'required' tag`);
  return v;
}
export function int(v: unknown, dflt = 0): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw E.param();
  return v;
}
export function bool(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw E.param();
  return v;
}
export function strArray(v: unknown, name: string, required = false): string[] {
  if (v === undefined || v === null) {
    if (required) throw E.param(`Key: '${name}' Error:Field validation for '${name}' failed on the 'required' tag`);
    return [];
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw E.param();
  if (required && v.length === 0) throw E.param(`Key: '${name}' Error:Field validation for '${name}' failed on the 'min' tag`);
  return v as string[];
}
