/**
 * Upyun (spec §6.11): the whole (possibly encrypted) file in one HTML-form POST to `upload_urls[0]`, fields in order
 * `policy`, `authorization`, `content-type` (when the session has a MIME type), then `file`. The form is streamed:
 * its framing is computed up front so the request has an exact Content-Length, and the file is never held in memory.
 * Upyun notifies Cloudreve asynchronously; completion is confirmed by polling the file until its upload placeholder
 * (`sys:upload_session_id`) is gone.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { UploadSession } from '../api/types.js';
import { EngineError } from '../errors.js';
import { sleep } from '../transfer/retry.js';
import type { AdapterContext, PartReceipt, PartUpload, PolicyAdapter } from './adapter.js';
import { upyunError } from './provider-error.js';
import { storageContext, storageRequest } from './storage-http.js';

/** How long Upyun's asynchronous notification may take before the upload counts as failed. */
const COMMIT_WAIT_MS = 120_000;

function formField(boundary: string, name: string, value: string): string {
  return `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
}

/** The multipart/form-data framing around a file of `length` bytes. */
export function uploadForm(session: UploadSession, fileName: string): { boundary: string; head: Buffer; tail: Buffer } {
  if (!session.upload_policy || !session.credential) throw new EngineError('bad-response', 'upyun upload session has no upload policy or credential');
  const boundary = `----CloudreveSync${randomBytes(12).toString('hex')}`;
  let head = formField(boundary, 'policy', session.upload_policy) + formField(boundary, 'authorization', session.credential);
  if (session.mime_type) head += formField(boundary, 'content-type', session.mime_type);
  const safeName = fileName.replace(/["\r\n\\]/g, '_');
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { boundary, head: Buffer.from(head, 'utf8'), tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
}

function framed(head: Buffer, body: Readable | Buffer, tail: Buffer): Readable | Buffer {
  if (Buffer.isBuffer(body)) return Buffer.concat([head, body, tail]);
  const out = Readable.from(
    (async function* () {
      yield head;
      for await (const chunk of body) yield chunk as Buffer;
      yield tail;
    })(),
    { objectMode: false },
  );
  out.once('close', () => body.destroy());
  return out;
}

export function upyunAdapter(ctx: AdapterContext): PolicyAdapter {
  return {
    kind: 'upyun',
    capabilities: { chunked: false, parallelParts: false, resumable: false, needsComplete: true, emptyFiles: true, partMultiple: 0 },

    async uploadPart({ session, part, body, signal }: PartUpload): Promise<PartReceipt> {
      const url = session.upload_urls?.[0];
      if (!url) throw new EngineError('bad-response', 'upyun upload session has no upload URL');
      const name = decodeURIComponent(session.uri.split('/').pop() ?? 'file');
      const { boundary, head, tail } = uploadForm(session, name);
      const rctx = { ...storageContext('upload file (upyun)', 'POST', url), secrets: [session.credential!, session.upload_policy!] };
      const raw = await storageRequest('POST', url, rctx, {
        body: framed(head, body, tail),
        length: head.length + part.length + tail.length,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        signal,
      });
      if (raw.status !== 200) throw upyunError(raw, rctx);
      return { index: part.index, etag: null };
    },

    async complete(session: UploadSession, _receipts: PartReceipt[], signal: AbortSignal): Promise<void> {
      const deadline = Date.now() + COMMIT_WAIT_MS;
      for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
        const file = await ctx.client.info(session.uri).catch((err: unknown) => {
          if (err instanceof EngineError && err.code === 'not-found') return null;
          throw err;
        });
        if (file && file.metadata?.['sys:upload_session_id'] !== session.session_id) return;
        if (Date.now() + delay > deadline) {
          throw new EngineError('timeout', `upyun: Cloudreve did not confirm ${session.uri} within ${COMMIT_WAIT_MS / 1000} s after the upload`);
        }
        await sleep(delay, signal);
      }
    },
  };
}
