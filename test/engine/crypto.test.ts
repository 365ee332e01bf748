import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { counterAt, createCtrCipher, decodeEncryptMetadata, encryptAt, type CtrKey } from '../../main/engine/crypto/ctr-stream.js';
import { EngineError } from '../../main/engine/errors.js';
import type { EncryptMetadata } from '../../main/engine/api/types.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// NIST SP 800-38A, F.5.5 (CTR-AES256.Encrypt) and F.5.6 (CTR-AES256.Decrypt).
const NIST = {
  key: hex('603deb1015ca71be2b73aef0857d7781 1f352c073b6108d72d9810a30914dff4'),
  counter: hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff'),
  plain: hex(`6bc1bee22e409f96e93d7e117393172a
              ae2d8a571e03ac9c9eb76fac45af8e51
              30c81c46a35ce411e5fbc1191a0a52ef
              f69f2445df4f9b17ad2b417be66c3710`),
  cipher: hex(`601ec313775789a5b7a7f504bbf3d228
               f443e3ca4d62b59aca84e990cacaf5c5
               2b0930daa23de94ce87017ba2d84988d
               dfc9c58db67aada613c2dd08457941a6`),
};
const nistKey: CtrKey = { key: NIST.key, iv: NIST.counter };

/** Feeds `data` to the stream cipher in pieces of the given sizes (cycled) and collects the output. */
async function throughStream(k: CtrKey, offset: number, data: Buffer, pieces: number[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let pos = 0, i = 0; pos < data.length; i++) {
    const n = pieces[i % pieces.length];
    parts.push(data.subarray(pos, pos + n));
    pos += n;
  }
  const out: Buffer[] = [];
  const t = createCtrCipher(k, offset);
  t.on('data', (b: Buffer) => out.push(b));
  await pipeline(Readable.from(parts, { objectMode: false }), t);
  return Buffer.concat(out);
}

/** Reference per the spec's definition, block by block with AES-256-ECB: C[k] = P[k] XOR AES_K(IV + floor(k/16))[k mod 16]. */
function referenceCtr(k: CtrKey, offset: number, data: Buffer): Buffer {
  const ivN = BigInt('0x' + k.iv.toString('hex'));
  const mod = 1n << 128n;
  const out = Buffer.alloc(data.length);
  let cachedBlock = -1n;
  let ks = Buffer.alloc(16);
  for (let i = 0; i < data.length; i++) {
    const abs = BigInt(offset + i);
    const blk = abs / 16n;
    if (blk !== cachedBlock) {
      const ctr = Buffer.from(((ivN + blk) % mod).toString(16).padStart(32, '0'), 'hex');
      const ecb = createCipheriv('aes-256-ecb', k.key, null);
      ecb.setAutoPadding(false);
      ks = Buffer.concat([ecb.update(ctr), ecb.final()]);
      cachedBlock = blk;
    }
    out[i] = data[i] ^ ks[Number(abs % 16n)];
  }
  return out;
}

describe('counterAt', () => {
  it('adds floor(offset/16) to the IV as a 128-bit big-endian integer', () => {
    const iv = hex('000102030405060708090a0b0c0d0e0f');
    assert.equal(counterAt(iv, 0).toString('hex'), '000102030405060708090a0b0c0d0e0f');
    assert.equal(counterAt(iv, 15).toString('hex'), '000102030405060708090a0b0c0d0e0f');
    assert.equal(counterAt(iv, 16).toString('hex'), '000102030405060708090a0b0c0d0e10');
    assert.equal(counterAt(iv, 16 * 0xf1).toString('hex'), '000102030405060708090a0b0c0d0f00');
  });

  it('carries across the 64-bit halves and wraps modulo 2^128', () => {
    assert.equal(counterAt(hex('0000000000000000ffffffffffffffff'), 16).toString('hex'), '00000000000000010000000000000000');
    assert.equal(counterAt(hex('fffffffffffffffffffffffffffffffe'), 16).toString('hex'), 'ffffffffffffffffffffffffffffffff');
    assert.equal(counterAt(hex('fffffffffffffffffffffffffffffffe'), 32).toString('hex'), '00000000000000000000000000000000');
    assert.equal(counterAt(hex('fffffffffffffffffffffffffffffffe'), 63).toString('hex'), '00000000000000000000000000000001');
  });

  it('handles offsets above 2^32 and up to 2^53 - 1 exactly', () => {
    const zero = Buffer.alloc(16);
    // 2^32 + 5 bytes → block 2^28
    assert.equal(counterAt(zero, 2 ** 32 + 5).toString('hex'), '00000000000000000000000010000000');
    // 5 GiB + 17 → block 5*2^26 + 1
    assert.equal(counterAt(zero, 5 * 2 ** 30 + 17).readBigUInt64BE(8), 5n * 2n ** 26n + 1n);
    // MAX_SAFE_INTEGER = 2^53 - 1 → block (2^53 - 1) >> 4 = 2^49 - 1
    assert.equal(counterAt(zero, Number.MAX_SAFE_INTEGER).readBigUInt64BE(8), 2n ** 49n - 1n);
    const iv = hex('0123456789abcdef' + 'fffffffffffffff0');
    const got = counterAt(iv, Number.MAX_SAFE_INTEGER);
    const want = (BigInt('0x0123456789abcdeffffffffffffffff0') + (2n ** 53n - 1n) / 16n) % 2n ** 128n;
    assert.equal(got.toString('hex'), want.toString(16).padStart(32, '0'));
  });

  it('does not modify the IV and rejects bad inputs', () => {
    const iv = hex('fffffffffffffffffffffffffffffffe');
    const copy = Buffer.from(iv);
    counterAt(iv, 1 << 20);
    assert.deepEqual(iv, copy);
    assert.throws(() => counterAt(iv, -1), RangeError);
    assert.throws(() => counterAt(iv, 1.5), RangeError);
    assert.throws(() => counterAt(iv, 2 ** 53), RangeError);
    assert.throws(() => counterAt(Buffer.alloc(15), 0), RangeError);
  });
});

describe('NIST SP 800-38A vectors', () => {
  it('F.5.5 CTR-AES256.Encrypt (buffer)', () => {
    assert.equal(encryptAt(nistKey, 0, NIST.plain).toString('hex'), NIST.cipher.toString('hex'));
  });

  it('F.5.6 CTR-AES256.Decrypt (buffer)', () => {
    assert.equal(encryptAt(nistKey, 0, NIST.cipher).toString('hex'), NIST.plain.toString('hex'));
  });

  it('F.5.5 through the stream with odd pieces', async () => {
    assert.equal((await throughStream(nistKey, 0, NIST.plain, [1, 15, 17, 3])).toString('hex'), NIST.cipher.toString('hex'));
  });

  it('F.5.6 through the stream with odd pieces', async () => {
    assert.equal((await throughStream(nistKey, 0, NIST.cipher, [7, 9, 33])).toString('hex'), NIST.plain.toString('hex'));
  });

  it('every block and every unaligned start of the vectors, independently', () => {
    for (let start = 0; start < NIST.plain.length; start++) {
      for (const len of [1, 5, 16, 23, NIST.plain.length - start]) {
        const end = Math.min(NIST.plain.length, start + len);
        assert.equal(
          encryptAt(nistKey, start, NIST.plain.subarray(start, end)).toString('hex'),
          NIST.cipher.subarray(start, end).toString('hex'),
          `start ${start} len ${len}`,
        );
      }
    }
  });
});

describe('decodeEncryptMetadata', () => {
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const good: EncryptMetadata = { algorithm: 'aes-256-ctr', key: null, key_plain_text: key.toString('base64'), iv: iv.toString('base64') };

  it('decodes the server form', () => {
    const k = decodeEncryptMetadata(good);
    assert.deepEqual(k.key, key);
    assert.deepEqual(k.iv, iv);
    assert.equal(good.key_plain_text.length, 44);
    assert.equal(good.iv.length, 24);
  });

  const bad: [string, Record<string, unknown>][] = [
    ['algorithm', { algorithm: 'aes-128-ctr' }],
    ['algorithm', { algorithm: undefined }],
    ['key_plain_text', { key_plain_text: randomBytes(31).toString('base64') }],
    ['key_plain_text', { key_plain_text: randomBytes(33).toString('base64') }],
    ['key_plain_text', { key_plain_text: null }],
    ['key_plain_text', { key_plain_text: randomBytes(32).toString('base64url') + '!' }],
    ['key_plain_text', { key_plain_text: randomBytes(32).toString('base64').replace(/=+$/, '') }],
    ['iv', { iv: randomBytes(12).toString('base64') }],
    ['iv', { iv: randomBytes(16).toString('hex') }],
    ['iv', { iv: 42 }],
  ];
  for (const [field, patch] of bad) {
    it(`rejects a bad ${field}: ${JSON.stringify(Object.keys(patch))} ${String(Object.values(patch)[0]).length} chars`, () => {
      const m = { ...good, ...patch } as unknown as EncryptMetadata;
      assert.throws(
        () => decodeEncryptMetadata(m),
        (err: unknown) => {
          assert.ok(err instanceof EngineError);
          assert.equal(err.code, 'bad-response');
          assert.equal(err.message, 'malformed encrypt_metadata');
          assert.deepEqual(err.data, { field });
          const text = `${err.message} ${JSON.stringify(err)} ${JSON.stringify(err.data)} ${err.stack}`;
          for (const secret of [good.key_plain_text, good.iv, m.key_plain_text, m.iv]) {
            if (typeof secret === 'string' && secret.length > 4) assert.ok(!text.includes(secret), 'key material leaked');
          }
          return true;
        },
      );
    });
  }

  it('rejects a non-object', () => {
    assert.throws(() => decodeEncryptMetadata(null as unknown as EncryptMetadata), EngineError);
  });
});

describe('position rule against the aes-256-ecb reference', () => {
  it('IV ff..fe wraps past 2^128 - 1 to zero', () => {
    const k: CtrKey = { key: randomBytes(32), iv: hex('fffffffffffffffffffffffffffffffe') };
    const data = randomBytes(16 * 5 + 3);
    const whole = encryptAt(k, 0, data);
    assert.deepEqual(whole, referenceCtr(k, 0, data));
    // The third block's counter is 0: its keystream equals AES_K(0^128).
    const ecb = createCipheriv('aes-256-ecb', k.key, null);
    ecb.setAutoPadding(false);
    const ks0 = ecb.update(Buffer.alloc(16));
    const third = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) third[i] = whole[32 + i] ^ data[32 + i];
    assert.deepEqual(third, ks0);
    // And unaligned pieces across the wrap, both APIs.
    for (const off of [1, 15, 17, 31, 33, 47]) {
      assert.deepEqual(encryptAt(k, off, data.subarray(off)), whole.subarray(off), `encryptAt @${off}`);
    }
  });

  it('IV ff..fe wrap through the stream with odd pieces', async () => {
    const k: CtrKey = { key: randomBytes(32), iv: hex('fffffffffffffffffffffffffffffffe') };
    const data = randomBytes(4099);
    const ref = referenceCtr(k, 0, data);
    assert.deepEqual(await throughStream(k, 0, data, [1, 15, 17, 31]), ref);
    assert.deepEqual(await throughStream(k, 21, data.subarray(21), [3, 16, 29]), ref.subarray(21));
  });

  it('random IVs and offsets, including offsets above 2^32', () => {
    for (let trial = 0; trial < 20; trial++) {
      const k: CtrKey = { key: randomBytes(32), iv: randomBytes(16) };
      const offset = trial < 10 ? Math.floor(Math.random() * 1e6) : 2 ** 32 + Math.floor(Math.random() * 2 ** 40);
      const data = randomBytes(1 + Math.floor(Math.random() * 100));
      assert.deepEqual(encryptAt(k, offset, data), referenceCtr(k, offset, data), `offset ${offset}`);
    }
  });

  it('counter low 64 bits all ones carries into the high half (offset-driven carry)', () => {
    const k: CtrKey = { key: randomBytes(32), iv: hex('00000000000000aaffffffffffffffff') };
    const data = randomBytes(40);
    assert.deepEqual(encryptAt(k, 8, data), referenceCtr(k, 8, data));
  });
});

describe('against openssl enc -aes-256-ctr', () => {
  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  const haveOpenssl = openssl.status === 0;
  const skip = haveOpenssl ? false : 'openssl not found on PATH: skipping the openssl cross-check';
  let dir = '';
  let data: Buffer;
  let expected: Buffer;
  const k: CtrKey = { key: randomBytes(32), iv: randomBytes(16) };
  // Bytes 8..13 all ones: the file's 2^16 blocks then always carry out of the low 16 bits, through
  // bytes 8..13 and into the high 64-bit half (a carry OpenSSL must propagate across the whole counter).
  k.iv.fill(0xff, 8, 14);

  before(() => {
    if (!haveOpenssl) return;
    dir = mkdtempSync(join(tmpdir(), 'crs-crypto-'));
    data = randomBytes(1024 * 1024 + 7);
    writeFileSync(join(dir, 'plain'), data);
    const r = spawnSync(
      'openssl',
      ['enc', '-aes-256-ctr', '-K', k.key.toString('hex'), '-iv', k.iv.toString('hex'), '-nosalt', '-in', join(dir, 'plain'), '-out', join(dir, 'cipher')],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `openssl failed: ${r.stderr}`);
    expected = readFileSync(join(dir, 'cipher'));
    assert.equal(expected.length, data.length);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('whole file with encryptAt(…, 0, …)', { skip }, () => {
    assert.ok(encryptAt(k, 0, data).equals(expected));
  });

  it('parts of 100_003 bytes encrypted independently at unaligned offsets', { skip }, () => {
    const parts: Buffer[] = [];
    for (let off = 0; off < data.length; off += 100_003) parts.push(encryptAt(k, off, data.subarray(off, off + 100_003)));
    assert.ok(parts.length > 10);
    assert.ok(Buffer.concat(parts).equals(expected));
  });

  it('parts through the stream with odd input pieces', { skip }, async () => {
    const parts: Buffer[] = [];
    for (let off = 0; off < data.length; off += 100_003) {
      parts.push(await throughStream(k, off, data.subarray(off, off + 100_003), [1, 15, 17, 4097, 16, 65536, 3]));
    }
    assert.ok(Buffer.concat(parts).equals(expected));
  });

  it('the whole file through one stream with odd pieces', { skip }, async () => {
    assert.ok((await throughStream(k, 0, data, [4097, 1, 17, 15, 65535])).equals(expected));
  });

  it('decrypting the openssl output at an unaligned offset gives the plaintext', { skip }, () => {
    const off = 777_777;
    assert.ok(encryptAt(k, off, expected.subarray(off, off + 12_345)).equals(data.subarray(off, off + 12_345)));
  });

  it('a wrong offset gives a different result (the test can fail)', { skip }, () => {
    const off = 100_003;
    const slice = data.subarray(off, off + 1000);
    assert.ok(!encryptAt(k, off + 1, slice).equals(expected.subarray(off, off + 1000)));
    assert.ok(!encryptAt(k, off - 3, slice).equals(expected.subarray(off, off + 1000)));
  });
});

describe('stream behaviour', () => {
  it('passes big buffers through without splitting them into per-byte work', async () => {
    const k: CtrKey = { key: randomBytes(32), iv: randomBytes(16) };
    const data = randomBytes(8 * 1024 * 1024 + 5);
    const t0 = performance.now();
    const out = await throughStream(k, 3, data, [1024 * 1024]);
    const ms = performance.now() - t0;
    assert.ok(out.equals(encryptAt(k, 3, data)));
    // 8 MiB at even 20 MB/s is 400 ms; a per-byte JS loop is far slower than OpenSSL. Generous bound.
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  it('an empty stream produces no output', async () => {
    const k: CtrKey = { key: randomBytes(32), iv: randomBytes(16) };
    assert.equal((await throughStream(k, 5, Buffer.alloc(0), [1])).length, 0);
    assert.equal(encryptAt(k, 5, Buffer.alloc(0)).length, 0);
  });

  it('rejects bad keys without echoing them', () => {
    const key = randomBytes(31);
    assert.throws(
      () => encryptAt({ key, iv: randomBytes(16) }, 0, Buffer.alloc(1)),
      (e: Error) => e instanceof RangeError && !e.message.includes(key.toString('hex')) && !e.message.includes(key.toString('base64')),
    );
    assert.throws(() => createCtrCipher({ key: randomBytes(32), iv: randomBytes(8) }, 0), RangeError);
  });
});
