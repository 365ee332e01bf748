// Serving an entity's bytes over HTTP as Cloudreve's entitysource.Serve does (and as an object store answers a GET):
// one byte range (RFC 7233, a single range only), 206 + Content-Range, 416 + `Content-Range: bytes */size` when the
// range starts past the end, the range ignored for an empty entity, an exact Content-Length, If-Range against the
// ETag, HEAD, and the bytes decrypted on the way when the entity is encrypted (§4.8).
import type { Readable } from 'node:stream';
import { HANDLED, type Ctx } from './http.js';
import { ctrAt } from './ctr.js';

export interface RangeSource {
  size: number;
  /** quoted: `"<entity hashid>"` (the server's ETag) or the object store's */
  etag: string;
  /** the stored bytes [start, end] (inclusive), as the store holds them */
  open(start: number, end: number): Promise<Readable>;
  /** AES-256-CTR key and IV when the stored bytes are ciphertext the server decrypts */
  decrypt?: { key: Buffer; iv: Buffer };
  headers?: Record<string, string>;
  /** how a range past the end is answered (default: an empty 416 with the size in Content-Range) */
  unsatisfiable?: (ctx: Ctx, size: number) => void;
}

/** Parses `Range: bytes=a-b | a- | -n` (one range); null when absent or not a single byte range (then ignored). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (typeof header !== 'string') return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (size === 0) return null; // Go's ServeContent: an empty file is answered whole (200) whatever the range
  if (m[1] === '') {
    const n = Math.min(size, parseInt(m[2], 10));
    return n === 0 ? 'unsatisfiable' : { start: size - n, end: size - 1 };
  }
  const start = parseInt(m[1], 10);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size - 1 : Math.min(size - 1, parseInt(m[2], 10));
  if (end < start) return null;
  return { start, end };
}

/** Writes the answer (status, headers, bytes); resolves once it was sent or the client went away. */
export async function serveRange(ctx: Ctx, src: RangeSource): Promise<typeof HANDLED> {
  const { req, res, core } = ctx;
  core.stats.download_requests++;
  const total = src.size;
  let range = parseRange(req.headers.range, total);
  const ifRange = req.headers['if-range'];
  if (range !== null && typeof ifRange === 'string' && ifRange.trim() !== src.etag) range = null; // the entity changed: whole
  if (range === 'unsatisfiable') {
    req.resume();
    if (src.unsatisfiable) src.unsatisfiable(ctx, total);
    else {
      res.writeHead(416, { 'Content-Range': `bytes */${total}`, 'Content-Length': 0 });
      res.end();
    }
    return HANDLED;
  }
  const start = range ? range.start : 0;
  const end = range ? range.end : total - 1;
  const len = total === 0 ? 0 : end - start + 1;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    ...(src.headers ?? {}),
    'Content-Length': len,
    'Accept-Ranges': 'bytes',
    ETag: src.etag,
  };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || len === 0) {
    res.end();
    return HANDLED;
  }
  let rs: Readable;
  try {
    rs = await src.open(start, end);
  } catch {
    res.destroy();
    return HANDLED;
  }
  const dec = src.decrypt ? ctrAt(src.decrypt.key, src.decrypt.iv, start) : null;
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    rs.on('error', () => {
      res.destroy();
      done();
    });
    res.on('close', () => {
      rs.destroy();
      done();
    });
    rs.on('data', (c) => {
      const out = dec ? dec.update(c as Buffer) : (c as Buffer);
      core.stats.bytes_sent += out.length;
      if (!res.write(out)) {
        rs.pause();
        res.once('drain', () => rs.resume());
      }
    });
    rs.on('end', () => {
      res.end();
      done();
    });
  });
  return HANDLED;
}
