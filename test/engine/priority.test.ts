/** Priorities order the queue end to end: set at enqueue, changed while queued, ties by age. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

test('one file at a time: the queue runs higher priorities first, a priority raised while queued counts, ties go oldest first', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  // one slot, no small-file lane; the first file holds the slot (~1 s at 256 KiB/s) while the rest are queued
  const engine = await createEngine({ home: join(dir.path, 'home'), maxActiveFiles: 1, smallFileSlots: 0, bandwidthLimit: 256 * 1024 });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const started: string[] = [];
    engine.events.on('transfer-state-changed', ({ transfer, from }) => {
      if (from === 'queued') started.push(transfer.localPath.slice(dir.path.length + 1));
    });
    const first = dir.random('first.bin', 256 * 1024);
    await engine.enqueue([first.path], 'cloudreve://my/p');
    const enqueue = async (name: string, priority: number) => {
      const f = dir.random(name, 8 * 1024);
      const [id] = await engine.enqueue([f.path], 'cloudreve://my/p', { priority });
      return id;
    };
    await enqueue('b-0.bin', 0);
    await enqueue('c-5.bin', 5);
    await enqueue('d-minus1.bin', -1);
    const e = await enqueue('e-0-raised.bin', 0);
    await enqueue('f-0.bin', 0);
    assert.equal(engine.transfer(e)!.state, 'queued', 'still waiting behind the first file');
    engine.setPriority(e, 10);
    await engine.idle();
    assert.deepEqual(started, ['first.bin', 'e-0-raised.bin', 'c-5.bin', 'b-0.bin', 'f-0.bin', 'd-minus1.bin']);
    assert.equal(engine.transfer(e)!.priority, 10);
    assert.ok(engine.listTransfers().every((t) => t.state === 'done'));
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
