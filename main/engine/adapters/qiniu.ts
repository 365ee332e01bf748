/**
 * Qiniu (spec §6.10), multipart upload v2: part i is `PUT {upload_urls[0]}/{i+1}` with `Authorization: UpToken
 * {credential}`, answered `{"etag", "md5"}`; keep the etag. Finish: `POST {upload_urls[0]}` with the JSON part list and
 * the MIME type. Qiniu calls Cloudreve back itself and relays Cloudreve's answer as its own.
 */
import { decodeEnvelope, envelopeError } from '../api/http.js';
import type { UploadSession } from '../api/types.js';
import { EngineError } from '../errors.js';
import type { PartReceipt, PartUpload, PolicyAdapter } from './adapter.js';
import { qiniuError } from './provider-error.js';
import { storageContext, storageRequest } from './storage-http.js';

function endpoint(session: UploadSession): { base: string; auth: string } {
  const base = session.upload_urls?.[0];
  if (!base || !session.credential) throw new EngineError('bad-response', 'qiniu upload session has no upload URL or upload token');
  return { base: base.replace(/\/+$/, ''), auth: `UpToken ${session.credential}` };
}

export function qiniuAdapter(): PolicyAdapter {
  return {
    kind: 'qiniu',
    capabilities: { chunked: true, parallelParts: true, resumable: true, needsComplete: true, emptyFiles: true, partMultiple: 0 },

    async uploadPart({ session, part, body, signal }: PartUpload): Promise<PartReceipt> {
      const { base, auth } = endpoint(session);
      const url = `${base}/${part.index + 1}`;
      const rctx = { ...storageContext(`upload part ${part.index + 1} (qiniu)`, 'PUT', url), secrets: [session.credential!] };
      const raw = await storageRequest('PUT', url, rctx, {
        body,
        length: part.length,
        headers: { authorization: auth, 'content-type': 'application/octet-stream' },
        signal,
      });
      if (raw.status !== 200) throw qiniuError(raw, rctx);
      let etag: unknown;
      try {
        etag = (JSON.parse(raw.body) as { etag?: unknown }).etag;
      } catch {
        /* checked below */
      }
      if (typeof etag !== 'string' || !etag) throw new EngineError('bad-response', `${rctx.op}: ${rctx.endpoint} answered without an etag`);
      return { index: part.index, etag };
    },

    async complete(session: UploadSession, receipts: PartReceipt[], signal: AbortSignal): Promise<void> {
      const { base, auth } = endpoint(session);
      const parts = [...receipts].sort((a, b) => a.index - b.index).map((r) => ({ etag: r.etag, partNumber: r.index + 1 }));
      const body = JSON.stringify({ parts, ...(session.mime_type ? { mimeType: session.mime_type } : {}) });
      const rctx = { ...storageContext('complete upload (qiniu)', 'POST', base), secrets: [session.credential!] };
      const raw = await storageRequest('POST', base, rctx, {
        body,
        length: Buffer.byteLength(body),
        headers: { authorization: auth, 'content-type': 'application/json' },
        signal,
      });
      if (raw.status !== 200) throw qiniuError(raw, rctx);
      // Qiniu relays Cloudreve's answer to its callback
      const env = decodeEnvelope(raw, rctx);
      if (env.code !== 0) throw envelopeError(env, rctx, raw);
    },
  };
}
