/**
 * S3, KS3, OSS, COS and OBS (spec §6.4–6.8): one adapter, the vendors differ only in a table of quirks.
 * Part i: PUT the pre-signed `upload_urls[i]` with `Content-Type: application/octet-stream` and the exact length
 * (some vendors sign both), keep the ETag verbatim. Finish: POST the pre-signed `completeURL` (the
 * CompleteMultipartUpload XML, or OSS's empty body with `x-oss-complete-all`); an `<Error>` body is a failure even
 * with HTTP 200. Then, where the vendor does not call Cloudreve back itself, the client GETs the Cloudreve callback.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { decodeEnvelope, envelopeError, headerValue, type RawResponse, type RequestContext } from '../api/http.js';
import type { UploadSession } from '../api/types.js';
import { classify, EngineError } from '../errors.js';
import type { AdapterContext, PartReceipt, PartUpload, PolicyAdapter } from './adapter.js';
import { s3Error, s3ErrorOf } from './provider-error.js';
import { storageContext, storageRequest } from './storage-http.js';

export type S3LikeKind = 's3' | 'ks3' | 'oss' | 'cos' | 'obs';

export interface S3Quirks {
  /** the complete request's body: the part list as XML, or nothing (OSS completes every uploaded part) */
  completeBody: 'xml' | 'empty';
  /** headers the complete URL was signed with */
  completeHeaders: Record<string, string>;
  /** who tells Cloudreve: the client (GET callback after completing) or the vendor (its answer relays Cloudreve's) */
  callback: 'client' | 'vendor';
  /** success statuses of the complete request (OSS: 203 means its callback to Cloudreve failed) */
  completeOk: readonly number[];
}

export const S3_QUIRKS: Record<S3LikeKind, S3Quirks> = {
  s3: { completeBody: 'xml', completeHeaders: {}, callback: 'client', completeOk: [200] },
  ks3: { completeBody: 'xml', completeHeaders: {}, callback: 'client', completeOk: [200] },
  cos: { completeBody: 'xml', completeHeaders: { 'x-cos-forbid-overwrite': 'true' }, callback: 'client', completeOk: [200] },
  oss: { completeBody: 'empty', completeHeaders: { 'x-oss-complete-all': 'yes', 'x-oss-forbid-overwrite': 'true' }, callback: 'vendor', completeOk: [200] },
  obs: { completeBody: 'xml', completeHeaders: {}, callback: 'vendor', completeOk: [200] },
};

const OCTET = 'application/octet-stream';
const builder = new XMLBuilder({ ignoreAttributes: true, suppressEmptyNode: false });

/** `<CompleteMultipartUpload>` with every part, ascending, ETags as received (quoted). */
export function completeXml(receipts: PartReceipt[]): string {
  const parts = [...receipts]
    .sort((a, b) => a.index - b.index)
    .map((r) => {
      if (!r.etag) throw new EngineError('storage-protocol', `part ${r.index + 1} has no ETag to complete with`);
      return { PartNumber: r.index + 1, ETag: r.etag };
    });
  return builder.build({ CompleteMultipartUpload: { Part: parts } }) as string;
}

/** A vendor that called Cloudreve itself relays its JSON answer: a non-zero code there is the upload's failure. */
function checkRelayedCallback(raw: RawResponse, ctx: RequestContext): void {
  if (!/^\s*\{/.test(raw.body)) return;
  const env = decodeEnvelope(raw, ctx);
  if (env.code !== 0) throw envelopeError(env, ctx, raw);
}

export function s3LikeAdapter(kind: S3LikeKind) {
  const quirks = S3_QUIRKS[kind];
  return (ctx: AdapterContext): PolicyAdapter => ({
    kind,
    capabilities: { chunked: true, parallelParts: true, resumable: true, needsComplete: true, emptyFiles: true, partMultiple: 0 },

    async uploadPart({ session, part, body, signal }: PartUpload): Promise<PartReceipt> {
      const url = session.upload_urls?.[part.index];
      if (!url) throw new EngineError('bad-response', `${kind} upload session has no URL for part ${part.index + 1}`);
      const rctx = storageContext(`upload part ${part.index + 1} (${kind})`, 'PUT', url);
      const raw = await storageRequest('PUT', url, rctx, { body, length: part.length, headers: { 'content-type': OCTET }, signal });
      if (raw.status !== 200) throw s3Error(raw, rctx);
      const etag = headerValue(raw.headers, 'etag');
      if (!etag) throw new EngineError('bad-response', `${rctx.op}: ${rctx.endpoint} answered without an ETag`, { httpStatus: raw.status });
      return { index: part.index, etag };
    },

    async complete(session: UploadSession, receipts: PartReceipt[], signal: AbortSignal): Promise<void> {
      const url = session.completeURL;
      if (!url) throw new EngineError('bad-response', `${kind} upload session has no completeURL`);
      const rctx = storageContext(`complete upload (${kind})`, 'POST', url);
      const body = quirks.completeBody === 'xml' ? completeXml(receipts) : '';
      const raw = await storageRequest('POST', url, rctx, {
        body,
        length: Buffer.byteLength(body),
        headers: { 'content-type': OCTET, ...quirks.completeHeaders },
        signal,
      });
      const callback = () => ctx.client.uploadCallback(kind as 's3' | 'ks3' | 'cos', session.session_id, session.callback_secret);
      if (!quirks.completeOk.includes(raw.status) || s3ErrorOf(raw.body)) {
        const err = s3Error(raw, rctx);
        // NoSuchUpload on complete: an earlier complete went through and its answer or our callback was lost. The callback
        // commits the file only if the object is there with the declared size (the server HEADs it), so asking it is safe
        // and saves sending every part again under a new session.
        if (quirks.callback === 'client' && s3ErrorOf(raw.body)?.code === 'NoSuchUpload') {
          try {
            await callback();
            return;
          } catch (cbErr) {
            if (classify(cbErr) === 'retry') throw cbErr; // Cloudreve not reached: ask again, same session
            throw err;
          }
        }
        throw err;
      }
      if (quirks.callback === 'vendor') return checkRelayedCallback(raw, rctx);
      await callback();
    },
  });
}
