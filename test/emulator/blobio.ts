// Streaming request bodies straight into blob files at an offset (never buffering whole chunks).
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Cipher } from 'node:crypto';

/** Thrown when the client went away mid-body; the dispatcher then writes nothing. */
export class ClientGone extends Error {
  constructor() {
    super('client connection closed');
  }
}

export interface ReceiveOpts {
  file: string;
  offset: number;
  /** read at most this many bytes (the declared length) */
  length: number;
  /** optional CTR cipher positioned at `offset` (server-side encryption) */
  cipher?: Cipher;
  onBytes?: (n: number) => void;
}

/**
 * Stream up to `length` bytes of the request body into `file` at `offset` (file must exist).
 * Resolves with the byte count actually received (short when the body ended early).
 */
export function receiveInto(req: IncomingMessage, o: ReceiveOpts): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let received = 0;
    let settled = false;
    let ended = false;
    const ws = fs.createWriteStream(o.file, { flags: 'r+', start: o.offset, highWaterMark: 4 * 1024 * 1024 });
    const finish = () => {
      if (ended) return;
      ended = true;
      req.off('data', onData);
      ws.end();
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      ws.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      if (ended) return;
      let c = chunk;
      const room = o.length - received;
      if (c.length > room) c = c.subarray(0, room);
      if (c.length > 0) {
        received += c.length;
        o.onBytes?.(c.length);
        const out = o.cipher ? o.cipher.update(c) : c;
        if (!ws.write(out)) {
          req.pause();
          ws.once('drain', () => req.resume());
        }
      }
      if (received >= o.length) {
        finish();
        // keep draining anything beyond the declared length
        req.resume();
      }
    };
    ws.on('error', (e) => fail(e));
    ws.on('finish', () => {
      if (settled) return;
      settled = true;
      resolve(received);
    });
    req.on('data', onData);
    req.on('end', finish);
    req.on('close', () => {
      if (!ended && !req.complete) fail(new ClientGone());
    });
    req.on('error', () => {
      if (!ended) fail(new ClientGone());
    });
    if (o.length === 0) finish();
  });
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
