/**
 * Reading the local file: its fingerprint (size, mtime, inode) and byte ranges as streams that refuse to
 * deliver the last piece of a range if the file changed while it was read.
 */
import { close, closeSync, open, openSync, read, readSync, statSync } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { EngineError } from '../errors.js';

export interface Fingerprint {
  size: number;
  mtimeMs: number;
  /** decimal string: inodes can exceed 2^53 */
  inode: string;
}

export const READ_CHUNK = 1024 * 1024; // 1 MiB reads: 2-3x faster than the 64 KiB default (toolchain notes §5)

/**
 * Size, mtime and inode of a regular file. A synchronous stat: about ten times cheaper than the thread-pool hop of
 * fs.promises.stat (measured 4 µs vs 36 µs), which matters at hundreds of small files per second.
 */
export async function fingerprint(path: string): Promise<Fingerprint> {
  return fingerprintSync(path);
}

/** fingerprint(), for loops over many files: no promise per file. */
export function fingerprintSync(path: string): Fingerprint {
  const st = statSync(path, { bigint: true });
  if (!st.isFile()) throw new EngineError('local-io', `${path}: not a regular file`);
  return { size: Number(st.size), mtimeMs: Number(st.mtimeNs / 1000n) / 1000, inode: st.ino.toString() };
}

export function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.inode === b.inode;
}

/** fingerprint(), but a vanished file is `null` instead of an error. */
export async function fingerprintOrNull(path: string): Promise<Fingerprint | null> {
  try {
    return await fingerprint(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

export function fileChanged(path: string, what: string): EngineError {
  return new EngineError('file-changed', `${path}: ${what} during upload`);
}

/** The raw bytes [start, end) of `path`, in 1 MiB reads; read errors become EngineErrors. */
export function readRange(path: string, start: number, end: number): Readable {
  return new RangeReader(path, start, end);
}

/**
 * A pass-through for the bytes of one range, placed last before the network: it counts them (`onBytes`), holds
 * back the latest piece until the next arrives, and at the end of the range re-checks the file's fingerprint and
 * the byte count before releasing the last piece. A file that changed, grew, shrank or vanished while the range
 * was read and sent therefore errors the stream before the receiver has the whole range, so a part (above all the
 * one that completes the upload) is never delivered with mixed content.
 */
export function changeGuard(path: string, length: number, expected: Fingerprint, onBytes?: (n: number) => void): Transform {
  return new RangeGuard(path, length, expected, onBytes);
}

/** Parts up to this size are read into one Buffer (one read) instead of streamed: far less work per small file. */
export const SMALL_RANGE = 1024 * 1024;

/**
 * The bytes [start, end) of `path` in one Buffer (one open, one read, one close), released only after the file's
 * fingerprint was checked again once they were read: the changeGuard() rule for a range small enough to hold in
 * memory. A file that shrank, changed or vanished rejects with a file-changed EngineError.
 */
export async function readRangeChecked(path: string, start: number, end: number, expected: Fingerprint): Promise<Buffer> {
  const length = end - start;
  const buf = Buffer.allocUnsafe(length);
  if (length <= SYNC_RANGE) return checked(path, buf, readSyncRange(path, buf, start), expected);
  const fd = await new Promise<number>((resolve, reject) => open(path, 'r', (err, f) => (err ? reject(toLocalError(path, err)) : resolve(f))));
  let n: number;
  try {
    n = await new Promise<number>((resolve, reject) => read(fd, buf, 0, length, start, (err, got) => (err ? reject(toLocalError(path, err)) : resolve(got))));
  } finally {
    await new Promise<void>((resolve) => close(fd, () => resolve()));
  }
  return checked(path, buf, n, expected);
}

/**
 * Up to this size readRangeChecked() opens, reads and closes synchronously: three thread-pool hops cost more than the
 * read of a few pages (the same trade as fingerprint()'s statSync), and the event loop is held for microseconds.
 */
const SYNC_RANGE = 64 * 1024;

function readSyncRange(path: string, buf: Buffer, start: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw toLocalError(path, err);
  }
  try {
    return readSync(fd, buf, 0, buf.length, start);
  } catch (err) {
    throw toLocalError(path, err);
  } finally {
    closeSync(fd);
  }
}

/** `buf` holding `n` bytes, once the file is seen unchanged since `expected`. */
async function checked(path: string, buf: Buffer, n: number, expected: Fingerprint): Promise<Buffer> {
  if (n !== buf.length) throw fileChanged(path, 'shrank');
  const now = await fingerprintOrNull(path).catch((err: unknown) => {
    throw toLocalError(path, err);
  });
  if (!now) throw fileChanged(path, 'disappeared');
  if (!sameFingerprint(now, expected)) throw fileChanged(path, 'changed');
  return buf;
}

/** readRange → changeGuard */
export function openRange(path: string, start: number, end: number, expected: Fingerprint): Readable {
  const guard = changeGuard(path, end - start, expected);
  const src = readRange(path, start, end);
  src.on('error', (err) => guard.destroy(err));
  guard.on('close', () => src.destroy());
  return src.pipe(guard);
}

class RangeReader extends Readable {
  private fd: number | null = null;
  private pos: number;
  constructor(
    private readonly path: string,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.pos = start;
  }

  override _construct(cb: (err?: Error | null) => void): void {
    open(this.path, 'r', (err, fd) => {
      if (err) return cb(toLocalError(this.path, err));
      this.fd = fd;
      cb();
    });
  }

  override _read(): void {
    const len = Math.min(READ_CHUNK, this.end - this.pos);
    if (len <= 0 || this.fd === null) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(len);
    read(this.fd, buf, 0, len, this.pos, (err, n) => {
      if (err) return this.destroy(toLocalError(this.path, err));
      if (n === 0) {
        this.push(null); // shorter than expected: the guard downstream reports it
        return;
      }
      this.pos += n;
      this.push(n < len ? buf.subarray(0, n) : buf);
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.fd === null) return cb(err);
    const fd = this.fd;
    this.fd = null;
    close(fd, () => cb(err));
  }
}

function toLocalError(path: string, err: unknown): EngineError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return fileChanged(path, 'disappeared');
  return new EngineError('local-io', `${path}: cannot read (${code ?? 'error'})`, { cause: err });
}

class RangeGuard extends Transform {
  private held: Buffer | null = null;
  private seen = 0;
  constructor(
    private readonly path: string,
    private readonly length: number,
    private readonly expected: Fingerprint,
    private readonly onBytes?: (n: number) => void,
  ) {
    super({ readableHighWaterMark: READ_CHUNK, writableHighWaterMark: READ_CHUNK });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    this.onBytes?.(chunk.length);
    if (this.seen > this.length) return cb(fileChanged(this.path, 'grew'));
    const prev = this.held;
    this.held = chunk;
    if (prev) this.push(prev);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.seen !== this.length) return cb(fileChanged(this.path, 'shrank'));
    fingerprintOrNull(this.path).then(
      (now) => {
        if (!now) return cb(fileChanged(this.path, 'disappeared'));
        if (!sameFingerprint(now, this.expected)) return cb(fileChanged(this.path, 'changed'));
        if (this.held) this.push(this.held);
        this.held = null;
        cb();
      },
      (err) => cb(toLocalError(this.path, err)),
    );
  }
}
