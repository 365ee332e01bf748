/**
 * `remote` policies (a Cloudreve slave node, spec §6.3): part i is POSTed to `upload_urls[0]?chunk=i`
 * with the session credential as the Authorization header, verbatim, and no X-Cr-* header (those would be
 * part of the HMAC-signed content). The slave commits through the master's callback before answering the
 * last part, so there is nothing to complete.
 */
import { decodeEnvelope, envelopeError } from '../api/http.js';
import { EngineError } from '../errors.js';
import type { AdapterContext, PartReceipt, PartUpload, PolicyAdapter } from './adapter.js';
import { storageContext, storageRequest } from './storage-http.js';

export function remoteAdapter(_ctx: AdapterContext): PolicyAdapter {
  return {
    kind: 'remote',
    capabilities: { chunked: true, parallelParts: true, resumable: true, needsComplete: false, emptyFiles: true, partMultiple: 0 },
    async uploadPart({ session, part, body, signal }: PartUpload): Promise<PartReceipt> {
      const base = session.upload_urls?.[0];
      if (!base || !session.credential) {
        throw new EngineError('bad-response', 'remote upload session has no upload URL or credential');
      }
      const url = new URL(base);
      url.searchParams.set('chunk', String(part.index));
      const ctx = { ...storageContext(`upload part ${part.index}`, 'POST', base), secrets: [session.credential] };
      const raw = await storageRequest('POST', url.toString(), ctx, {
        body,
        length: part.length,
        headers: { authorization: session.credential, 'content-type': 'application/octet-stream' },
        signal,
      });
      const env = decodeEnvelope(raw, ctx);
      // 40005 (signature expired) and 40071 (signature refused) mean this session's credential is no good any
      // more: like 40011, the session must be replaced.
      if (env.code !== 0) throw envelopeError(env, ctx, raw, env.code === 40005 || env.code === 40071 ? 'session-expired' : undefined);
      return { index: part.index, etag: null };
    },
    async complete(): Promise<void> {},
  };
}
