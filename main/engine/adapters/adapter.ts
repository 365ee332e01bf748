/**
 * One storage protocol behind one small interface. The chunk loop, concurrency, retries, encryption,
 * throttling and journaling live once, in transfer/upload-job.ts; an adapter only moves one part and
 * finishes the upload.
 */
import type { Readable } from 'node:stream';
import type { CloudreveClient } from '../api/client.js';
import type { UploadSession } from '../api/types.js';
import type { Part } from '../transfer/chunk-plan.js';

export interface AdapterCapabilities {
  /** false: the whole file goes in one request whatever chunk_size says (Upyun) */
  chunked: boolean;
  /** parts may be in flight together (subject to chunk_concurrency) */
  parallelParts: boolean;
  /** a session can be continued by a later process */
  resumable: boolean;
  /** the client must call complete() after the parts (S3 & co.); false when the last part commits */
  needsComplete: boolean;
}

export interface PartReceipt {
  index: number;
  /** ETag or vendor part id, when the protocol needs one to complete */
  etag: string | null;
}

export interface PartUpload {
  session: UploadSession;
  part: Part;
  /** exactly part.length bytes (already encrypted when the session encrypts) */
  body: Readable;
  signal: AbortSignal;
}

export interface PolicyAdapter {
  readonly kind: string;
  readonly capabilities: AdapterCapabilities;
  uploadPart(req: PartUpload): Promise<PartReceipt>;
  complete(session: UploadSession, receipts: PartReceipt[], signal: AbortSignal): Promise<void>;
}

export interface AdapterContext {
  client: CloudreveClient;
}
