// Storage vendors that tell Cloudreve themselves (OSS, OBS, Qiniu, Upyun; spec §6.12): a real HTTP POST to the master's
// callback route, signed by the vendor, and the master's side that checks that signature. Real vendors sign with RSA
// (OSS), QBox (Qiniu) or their own HMAC (Upyun, OBS); the emulator signs every one with HMAC-SHA256 under its vendor key
// in the same Authorization header slot, which is what the master's checks depend on.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Ctx } from './http.js';
import { readBody } from './http.js';
import type { Core, UploadSession } from './state.js';
import { ApiError } from './util.js';

export function vendorSignature(core: Core, path: string, body: string): string {
  return createHmac('sha256', core.vendorSecret).update(`${path}\n${body}`).digest('base64');
}

/** POSTs the callback; resolves with the master's answer (status and body), or status 0 when it could not be reached. */
export async function sendVendorCallback(core: Core, vendor: string, s: UploadSession, payload: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const path = `/api/v4/callback/${vendor}/${s.id}/${s.callbackSecret}`;
  const body = JSON.stringify(payload);
  try {
    const r = await fetch(core.baseUrl + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `${vendor.toUpperCase()} ${vendorSignature(core, path, body)}` },
      body,
      signal: AbortSignal.timeout(20_000),
    });
    return { status: r.status, text: await r.text() };
  } catch {
    return { status: 0, text: '' };
  }
}

/** The master's check of a vendor callback: signature, then the JSON body. A bad signature → HTTP 401 + 40020. */
export async function readVendorCallback(ctx: Ctx, vendor: string): Promise<Record<string, unknown>> {
  const body = (await readBody(ctx.req)).toString('utf8');
  const auth = ctx.req.headers.authorization ?? '';
  const want = Buffer.from(`${vendor.toUpperCase()} ${vendorSignature(ctx.core, ctx.url.pathname, body)}`);
  const got = Buffer.from(auth);
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new ApiError(40020, 'Invalid callback signature', undefined, undefined, 401);
  try {
    const v = JSON.parse(body) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* below */
  }
  throw new ApiError(40001, 'Invalid callback body', undefined, undefined, 400);
}

/** Size check of the callbacks that carry one (40055 as the server's). */
export function checkSize(s: UploadSession, size: unknown): void {
  if (Number(size) !== s.size) throw new ApiError(40055, `File size not match (expected ${s.size}, got ${String(size)})`, undefined, undefined, 400);
}
