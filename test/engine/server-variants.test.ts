/**
 * The engine against servers and policies other than the emulator's default: a 4.17 server (the request carrying
 * the last chunk index completes the upload at once) and a local policy without pre-allocation (a chunk beyond the
 * stored length is refused with 50004, so parts must land in order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const CHUNK = 64 * 1024;

async function uploadAgainst(opts: EmulatorOptions, sizes: number[], chunkConcurrencyCap = 4, encrypted = false) {
  const emu = await startEmulator(opts);
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home'), chunkConcurrencyCap });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const files = sizes.map((s, i) => dir.random(`v/f${i}.bin`, s));
    const ids = await engine.enqueue([join(dir.path, 'v')], 'cloudreve://my/var');
    await engine.idle();
    for (const id of ids) assert.equal(engine.transfer(id)!.state, 'done', JSON.stringify(engine.transfer(id)));
    for (const [i, f] of files.entries()) {
      const uri = `cloudreve://my/var/v/f${i}.bin`;
      const blob = emu.blob(uri);
      let expected = f.data;
      if (encrypted) {
        const ent = emu.entity(uri)!;
        assert.ok(ent.encrypted && ent.key && ent.iv, 'stored encrypted');
        const c = createCipheriv('aes-256-ctr', Buffer.from(ent.key!, 'base64'), Buffer.from(ent.iv!, 'base64'));
        expected = Buffer.concat([c.update(f.data), c.final()]);
      }
      assert.ok(blob && blob.equals(expected), `f${i}.bin (${f.data.length} bytes) stored exactly`);
    }
    return emu.stats();
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
}

test('a 4.17 server: parts in parallel, the last one alone after all others; every file stored exactly', async () => {
  const sizes = [0, 1, CHUNK, 7 * CHUNK + 5, 12 * CHUNK];
  await uploadAgainst({ version: '4.17.0', policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: 4 } }, sizes);
  // encrypted (AES-256-CTR by the client) on the same 4.17 server
  const enc = await uploadAgainst({ version: '4.17.0', policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: 4, encryption: true } }, [5 * CHUNK + 3], 4, true);
  assert.equal(enc.sessions_completed, 1);
});

test('a local policy without pre-allocation (no chunk_concurrency offered): parts go in order, none refused', async () => {
  const stats = await uploadAgainst({ policy: { type: 'local', chunkSize: CHUNK, preAllocate: false } }, [9 * CHUNK + 17, 3 * CHUNK], 8);
  assert.equal(stats.chunk_requests, 10 + 3, 'each part sent once: no 50004 refusal and retry');
});
