/**
 * AES-256-CTR for an arbitrary byte range of a file (spec §7).
 *
 * Position rule: the byte at absolute file offset N is encrypted with keystream block
 * (IV as a 128-bit big-endian integer + floor(N / 16)) mod 2^128, at byte N mod 16 of that block:
 *   C[k] = P[k] XOR AES_K(IV + floor(k/16))[k mod 16]
 * So a range starting at `offset` is encrypted by an ordinary CTR cipher whose initial counter block is
 * counterAt(iv, offset), after throwing away the first offset % 16 keystream bytes. OpenSSL's CTR mode
 * increments the full 128-bit counter (with wrap), matching WebCrypto `length: 128` and Go's cipher.NewCTR.
 *
 * The data path is cipher.update() on whole buffers: no per-byte JavaScript, no copies beyond OpenSSL's
 * output buffer. Keys and IVs never appear in error messages.
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { EncryptMetadata } from '../api/types.js';
import { EngineError } from '../errors.js';

export interface CtrKey {
  /** 32 bytes */
  key: Buffer;
  /** 16 bytes: the initial counter block for file offset 0 */
  iv: Buffer;
}

const ALGORITHM = 'aes-256-ctr';
const KEY_BYTES = 32;
const IV_BYTES = 16;
const BLOCK = 16;
/** Standard base64 with padding (what the server sends: Go's base64.StdEncoding). */
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MOD128 = (1n << 128n) - 1n;

function malformed(field: string): EngineError {
  // The field name only, never the value.
  return new EngineError('bad-response', 'malformed encrypt_metadata', { data: { field } });
}

function decodeBase64(value: unknown, bytes: number, field: string): Buffer {
  if (typeof value !== 'string' || !STD_BASE64.test(value)) throw malformed(field);
  const buf = Buffer.from(value, 'base64');
  if (buf.length !== bytes) throw malformed(field);
  return buf;
}

/**
 * Decodes and checks the session's `encrypt_metadata`. Throws EngineError('bad-response',
 * 'malformed encrypt_metadata') (with `data.field` naming the offending field) when the algorithm is not
 * aes-256-ctr or the key/IV are not standard base64 of 32/16 bytes.
 */
export function decodeEncryptMetadata(m: EncryptMetadata): CtrKey {
  if (m === null || typeof m !== 'object') throw malformed('encrypt_metadata');
  if (m.algorithm !== ALGORITHM) throw malformed('algorithm');
  const key = decodeBase64(m.key_plain_text, KEY_BYTES, 'key_plain_text');
  const iv = decodeBase64(m.iv, IV_BYTES, 'iv');
  return { key, iv };
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset must be a non-negative safe integer, got ${offset}`);
  }
}

function checkKey(k: CtrKey): void {
  if (!Buffer.isBuffer(k.key) || k.key.length !== KEY_BYTES) throw new RangeError('AES-256-CTR key must be 32 bytes');
  if (!Buffer.isBuffer(k.iv) || k.iv.length !== IV_BYTES) throw new RangeError('AES-256-CTR IV must be 16 bytes');
}

/** (IV as a 128-bit big-endian integer + floor(offset / 16)) mod 2^128, as a new 16-byte Buffer. */
export function counterAt(iv: Buffer, offset: number): Buffer {
  if (!Buffer.isBuffer(iv) || iv.length !== IV_BYTES) throw new RangeError('IV must be 16 bytes');
  checkOffset(offset);
  // Division on a number is exact here: offset ≤ 2^53 - 1, and floor of a safe integer / 16 is exact.
  const blocks = BigInt(Math.floor(offset / BLOCK));
  const value = (iv.readBigUInt64BE(0) << 64n) | iv.readBigUInt64BE(8);
  const sum = (value + blocks) & MOD128;
  const out = Buffer.allocUnsafe(IV_BYTES);
  out.writeBigUInt64BE(sum >> 64n, 0);
  out.writeBigUInt64BE(sum & 0xffff_ffff_ffff_ffffn, 8);
  return out;
}

/** A CTR cipher positioned at absolute file offset `offset` (counter set, partial block skipped). */
function cipherAt(k: CtrKey, offset: number): Cipher {
  checkKey(k);
  const cipher = createCipheriv(ALGORITHM, k.key, counterAt(k.iv, offset));
  const skip = offset % BLOCK;
  if (skip > 0) cipher.update(Buffer.alloc(skip)); // discard the keystream before `offset` in its block
  return cipher;
}

/**
 * A Transform that encrypts (or, CTR being symmetric, decrypts) a byte stream whose first byte sits at
 * absolute file offset `offset`. Input pieces may have any size; each is passed through cipher.update().
 */
export function createCtrCipher(k: CtrKey, offset: number): Transform {
  const cipher = cipherAt(k, offset);
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      let out: Buffer;
      try {
        out = cipher.update(chunk);
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback(null, out);
    },
    flush(callback: TransformCallback): void {
      let out: Buffer;
      try {
        out = cipher.final(); // CTR is a stream mode: always empty, but finalises the OpenSSL context
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback(null, out.length > 0 ? out : undefined);
    },
  });
}

/** Encrypts (or decrypts) `data` whose first byte sits at absolute file offset `offset`. */
export function encryptAt(k: CtrKey, offset: number, data: Buffer): Buffer {
  const cipher = cipherAt(k, offset);
  const head = cipher.update(data);
  const tail = cipher.final();
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}
