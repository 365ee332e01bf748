/**
 * `remote` policies (a Cloudreve slave node, spec §6.3): part i is POSTed to `upload_urls[0]?chunk=i`
 * with the session credential as the Authorization header, verbatim, and no X-Cr-* header (those would be
 * part of the HMAC-signed content). The slave commits through the master's callback before answering the
 * last part, so there is nothing to complete.
 */
import { EngineError, codeForServer } from '../errors.js';
import type { AdapterContext, PartReceipt, PartUpload, PolicyAdapter } from './adapter.js';
import { describeUrl, storageRequest } from './storage-http.js';

export function remoteAdapter(_ctx: AdapterContext): PolicyAdapter {
  return {
    kind: 'remote',
    capabilities: { chunked: true, parallelParts: true, resumable: true, needsComplete: false },
    async uploadPart({ session, part, body, signal }: PartUpload): Promise<PartReceipt> {
      const base = session.upload_urls?.[0];
      if (!base || !session.credential) {
        throw new EngineError('bad-response', 'remote upload session has no upload URL or credential');
      }
      const url = new URL(base);
      url.searchParams.set('chunk', String(part.index));
      const res = await storageRequest('POST', url.toString(), {
        body,
        length: part.length,
        headers: { authorization: session.credential, 'content-type': 'application/octet-stream' },
        signal,
      });
      const what = `upload part ${part.index} to ${describeUrl(base)}`;
      const env = parseSlaveEnvelope(res.status, res.body, what);
      if (env.code !== 0) {
        const msg = env.msg || 'error';
        // 40005: the credential (and so the session) expired; 40071/403: a credential the node refuses.
        const code = env.code === 40005 ? 'session-expired' : env.code === 40071 ? 'session-expired' : codeForServer(env.code);
        throw new EngineError(code, `${what}: ${msg} (code ${env.code})`, { serverCode: env.code, correlationId: env.correlation_id });
      }
      return { index: part.index, etag: null };
    },
    async complete(): Promise<void> {},
  };
}

function parseSlaveEnvelope(status: number, body: string, what: string): { code: number; msg: string; correlation_id?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    if (status >= 500) throw new EngineError('http-status', `${what}: HTTP ${status}`, { httpStatus: status });
    throw new EngineError('bad-response', `${what}: HTTP ${status}, not a Cloudreve answer: ${JSON.stringify(body.slice(0, 80))}`, { httpStatus: status });
  }
  const env = parsed as { code?: unknown; msg?: unknown; correlation_id?: unknown };
  if (typeof env !== 'object' || env === null || typeof env.code !== 'number') {
    throw new EngineError('bad-response', `${what}: HTTP ${status}, malformed envelope`, { httpStatus: status });
  }
  return { code: env.code, msg: typeof env.msg === 'string' ? env.msg : '', correlation_id: typeof env.correlation_id === 'string' ? env.correlation_id : undefined };
}
