/**
 * OneDrive (spec §6.9): a Microsoft Graph upload session at `upload_urls[0]` (pre-authenticated: no Authorization).
 * Parts strictly in order, `PUT` with `Content-Range: bytes start-end/size`; 202 `{nextExpectedRanges}` in between,
 * 200/201 with the drive item for the last. Fragments are multiples of 320 KiB except the last; empty files are
 * impossible. What OneDrive holds is asked with `GET upload_urls[0]` (`nextExpectedRanges[0]`), after a failed
 * fragment (416 fragmentOverlap included) and when a later process continues the session. Finish: POST the
 * Cloudreve OneDrive callback.
 */
import type { UploadSession } from '../api/types.js';
import { EngineError } from '../errors.js';
import type { AdapterContext, PartReceipt, PartUpload, PolicyAdapter } from './adapter.js';
import { onedriveError } from './provider-error.js';
import { storageContext, storageRequest } from './storage-http.js';

export const ONEDRIVE_FRAGMENT = 320 * 1024;

function sessionUrl(session: UploadSession): string {
  const url = session.upload_urls?.[0];
  if (!url) throw new EngineError('bad-response', 'onedrive upload session has no upload URL');
  return url;
}

/** The start of `nextExpectedRanges[0]` ("12345-" or "12345-67890"); the file size when nothing more is expected. */
export function nextExpectedOffset(body: string, size: number): number {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new EngineError('bad-response', 'onedrive upload session status is not JSON');
  }
  const ranges = (v as { nextExpectedRanges?: unknown } | null)?.nextExpectedRanges;
  if (!Array.isArray(ranges)) throw new EngineError('bad-response', 'onedrive upload session status has no nextExpectedRanges');
  if (ranges.length === 0) return size;
  const m = /^(\d+)-(\d*)$/.exec(String(ranges[0]));
  if (!m) throw new EngineError('bad-response', `onedrive nextExpectedRanges entry ${JSON.stringify(ranges[0]).slice(0, 40)} is not a range`);
  return Number(m[1]);
}

export function onedriveAdapter(ctx: AdapterContext): PolicyAdapter {
  return {
    kind: 'onedrive',
    capabilities: { chunked: true, parallelParts: false, resumable: true, needsComplete: true, emptyFiles: false, partMultiple: ONEDRIVE_FRAGMENT },

    async uploadPart({ session, part, body, signal, size }: PartUpload): Promise<PartReceipt> {
      const url = sessionUrl(session);
      const rctx = storageContext(`upload fragment ${part.index + 1} (onedrive)`, 'PUT', url);
      const raw = await storageRequest('PUT', url, rctx, {
        body,
        length: part.length,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${part.start}-${part.end - 1}/${size}` },
        signal,
      });
      if (raw.status !== 202 && raw.status !== 200 && raw.status !== 201) throw onedriveError(raw, rctx);
      return { index: part.index, etag: null };
    },

    async queryProgress(session: UploadSession, signal: AbortSignal): Promise<number> {
      const url = sessionUrl(session);
      const rctx = storageContext('ask onedrive what it has', 'GET', url);
      const raw = await storageRequest('GET', url, rctx, { signal });
      if (raw.status !== 200) throw onedriveError(raw, rctx);
      return nextExpectedOffset(raw.body, Number.MAX_SAFE_INTEGER);
    },

    async complete(session: UploadSession): Promise<void> {
      await ctx.client.uploadCallback('onedrive', session.session_id, session.callback_secret);
    },
  };
}
