/**
 * What transport.ts (node:http) and transport-undici.ts share: the request's contract, its failures in got's shape and
 * the answer decoders. Below both, so neither imports the other back (transport.ts loads transport-undici.ts only when
 * `CLOUDREVE_SYNC_HTTP=undici` asks for it).
 */
import type { Agent as HttpAgent, IncomingHttpHeaders } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

export interface TransportTimeouts {
  connectMs: number;
  idleMs: number;
  responseMs: number;
  /** a deadline for the whole exchange; absent for transfers (judged by progress only) */
  totalMs?: number;
}

export interface TransportRequest {
  method: string;
  /** made for this request: send() adds `accept-encoding` and `content-length` to it */
  headers: Record<string, string>;
  /** a Buffer or string is sent with its length; a stream needs `content-length` in the headers */
  body?: Readable | Buffer | string;
  agents: { http: HttpAgent; https: HttpsAgent };
  timeouts: TransportTimeouts;
  signal?: AbortSignal;
  /** answers longer than this end the request with a `ResponseTooLarge` error */
  maxResponseBytes?: number;
  /** bytes of the body written to the socket so far */
  onUploadProgress?: (transferred: number) => void;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export type TimeoutEvent = 'connect' | 'socket' | 'response' | 'request';

/** A failure in got's shape (`name`, `code`, `event`), so the error mapping in http.ts reads both alike. */
export class TransportError extends Error {
  constructor(
    override readonly name: 'TimeoutError' | 'AbortError' | 'UploadError' | 'ResponseTooLarge' | 'RequestError',
    message: string,
    readonly code: string,
    readonly event?: TimeoutEvent,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const ACCEPT_ENCODING = 'gzip, deflate, br';

export function decoder(encoding: string | undefined) {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return null;
  }
}

export const timeoutError = (event: TimeoutEvent, ms: number) => new TransportError('TimeoutError', `Timeout awaiting '${event}' for ${ms}ms`, 'ETIMEDOUT', event);
export const abortError = () => new TransportError('AbortError', 'This operation was aborted', 'ERR_ABORTED');
