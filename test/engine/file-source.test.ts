import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { fingerprint, openRange, readRangeChecked } from '../../main/engine/fs/file-source.js';
import { tmpDir } from '../helpers/tmp-tree.js';

async function read(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('ranges read exactly their bytes', async () => {
  const d = tmpDir();
  try {
    const f = d.random('a.bin', 3 * 1024 * 1024 + 5);
    const fp = await fingerprint(f.path);
    assert.ok((await read(openRange(f.path, 0, 0, fp))).equals(Buffer.alloc(0)));
    assert.ok((await read(openRange(f.path, 7, 2 * 1024 * 1024 + 9, fp))).equals(f.data.subarray(7, 2 * 1024 * 1024 + 9)));
    assert.ok((await read(openRange(f.path, 0, f.data.length, fp))).equals(f.data));
  } finally {
    d.cleanup();
  }
});

test('a file that changed, grew, shrank or vanished errors the range before its last bytes', async () => {
  const d = tmpDir();
  try {
    const p = d.file('b.txt', 'hello world');
    const fp = await fingerprint(p);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(p, 'HELLO WORLD'); // same size, new mtime
    await assert.rejects(text(openRange(p, 0, 11, fp)), { code: 'file-changed' });
    const fp2 = await fingerprint(p);
    appendFileSync(p, '!');
    await assert.rejects(text(openRange(p, 0, 11, fp2)), { code: 'file-changed' });
    const q = d.file('c.txt', 'short');
    const fq = await fingerprint(q);
    await assert.rejects(text(openRange(q, 0, 10, fq)), { code: 'file-changed' }); // fewer bytes than expected
    d.cleanup();
    await assert.rejects(text(openRange(q, 0, 5, fq)), { code: 'file-changed' });
  } finally {
    d.cleanup();
  }
});

test('a small range read into one Buffer has exactly its bytes, and a changed, grown, shrunk or vanished file is refused', async () => {
  const d = tmpDir();
  try {
    const f = d.random('s.bin', 4096 + 3);
    const fp = await fingerprint(f.path);
    assert.ok((await readRangeChecked(f.path, 0, 0, fp)).equals(Buffer.alloc(0)));
    assert.ok((await readRangeChecked(f.path, 5, 4000, fp)).equals(f.data.subarray(5, 4000)));
    assert.ok((await readRangeChecked(f.path, 0, f.data.length, fp)).equals(f.data));
    // above the synchronous-read size: the thread-pool path
    const big = d.random('m.bin', 512 * 1024 + 1);
    const fpm = await fingerprint(big.path);
    assert.ok((await readRangeChecked(big.path, 1, big.data.length, fpm)).equals(big.data.subarray(1)));
    appendFileSync(big.path, '!');
    await assert.rejects(readRangeChecked(big.path, 0, 300 * 1024, fpm), { code: 'file-changed', message: /changed/ });
    await assert.rejects(readRangeChecked(big.path, 0, 600 * 1024, fpm), { code: 'file-changed', message: /shrank/ });
    const p = d.file('b.txt', 'hello world');
    const fpb = await fingerprint(p);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(p, 'HELLO WORLD'); // same size, new mtime
    await assert.rejects(readRangeChecked(p, 0, 11, fpb), { code: 'file-changed', message: /changed/ });
    const fp2 = await fingerprint(p);
    appendFileSync(p, '!');
    await assert.rejects(readRangeChecked(p, 0, 11, fp2), { code: 'file-changed', message: /changed/ });
    const q = d.file('c.txt', 'short');
    const fq = await fingerprint(q);
    await assert.rejects(readRangeChecked(q, 0, 10, fq), { code: 'file-changed', message: /shrank/ });
    await assert.rejects(readRangeChecked(d.path + '/gone.bin', 0, 10, fq), { code: 'file-changed', message: /disappeared/ });
  } finally {
    d.cleanup();
  }
});
