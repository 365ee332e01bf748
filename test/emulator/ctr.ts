// AES-256-CTR with a full 128-bit big-endian counter, positioned at any byte offset (§7).
import { createCipheriv, type Cipher } from 'node:crypto';

/** Cipher whose keystream starts at absolute byte offset `offset` of the file. Encrypt = decrypt. */
export function ctrAt(key: Buffer, iv: Buffer, offset: number): Cipher {
  const block = BigInt(Math.floor(offset / 16));
  let ctr = (BigInt('0x' + iv.toString('hex')) + block) & ((1n << 128n) - 1n);
  const counter = Buffer.alloc(16);
  for (let i = 15; i >= 0; i--) {
    counter[i] = Number(ctr & 0xffn);
    ctr >>= 8n;
  }
  const c = createCipheriv('aes-256-ctr', key, counter);
  const skip = offset % 16;
  if (skip) c.update(Buffer.alloc(skip));
  return c;
}

export function ctrXor(key: Buffer, iv: Buffer, offset: number, data: Buffer): Buffer {
  const c = ctrAt(key, iv, offset);
  return Buffer.concat([c.update(data), c.final()]);
}
