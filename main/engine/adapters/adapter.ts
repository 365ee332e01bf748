/**
 * One storage protocol behind one small interface. The chunk loop, concurrency, retries, encryption,
 * throttling and journaling live once, in transfer/upload-job.ts; an adapter only moves one part and
 * finishes the upload. What differs between providers in how the loop may run is data (AdapterCapabilities).
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
  /** the provider can store an empty file (OneDrive cannot: refused before a session is made) */
  emptyFiles: boolean;
  /** one fragment size every part but the last must be a multiple of (OneDrive: 320 KiB), 0 = any */
  partMultiple: number;
}

export interface PartReceipt {
  index: number;
  /** ETag or vendor part id, when the protocol needs one to complete */
  etag: string | null;
}

export interface PartUpload {
  session: UploadSession;
  /** the part to send; after a partial acceptance (OneDrive) start/length describe only the remainder */
  part: Part;
  /** the whole file's size */
  size: number;
  /** exactly part.length bytes (already encrypted when the session encrypts); a Buffer for a small plain part */
  body: Readable | Buffer;
  signal: AbortSignal;
  /**
   * This session's parts acknowledged so far (the journal's and this run's), by index. A protocol that threads its
   * own state through the parts reads it here: Upyun's multi-stage upload id rides in the receipt of part 0.
   */
  receipts?: ReadonlyMap<number, PartReceipt>;
}

export interface PolicyAdapter {
  readonly kind: string;
  readonly capabilities: AdapterCapabilities;
  uploadPart(req: PartUpload): Promise<PartReceipt>;
  complete(session: UploadSession, receipts: PartReceipt[], signal: AbortSignal): Promise<void>;
  /**
   * The provider's own truth about what it has, where it keeps one (OneDrive's `nextExpectedRanges`): the number of
   * bytes from the start of the file it holds. The engine asks after a failed part and when it continues a session
   * of an earlier run, and skips (or trims) what is there. Without it the journal's acknowledged parts are the truth.
   */
  queryProgress?(session: UploadSession, signal: AbortSignal): Promise<number>;
}

export interface AdapterContext {
  client: CloudreveClient;
  /**
   * The upload session the adapter is made for, when there is one. Capabilities are data on the adapter, and for
   * most providers the policy type alone decides them; Upyun's depend on the session too (a form upload, or the
   * multi-stage API when the session is chunked), so the engine builds the adapter of a session with the session.
   * Without it (preflight, before any session) an adapter describes what the policy type does by default. An adapter
   * may refuse a session it cannot serve by throwing here, before any request.
   */
  session?: UploadSession;
}
