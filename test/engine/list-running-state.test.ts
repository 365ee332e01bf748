/**
 * What `transfers` (listTransfers / transfer(id)) says about a file while it runs. Steps that need not survive a
 * crash are not written to the journal (a one-part file's 'uploading' costs no commit), so the listing must take
 * a running transfer's state from the engine, not from the journal's row, which still says 'queued'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

test('a running one-part upload is listed as uploading, not queued; once done, as done', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home') });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    // its one part crawls (16 KiB/s of 64 KiB): it is in flight for seconds
    emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/0$', action: { type: 'slow', bytesPerSec: 16 * 1024 } });
    const f = dir.random('one-part.bin', 64 * 1024);
    const [id] = await engine.enqueue([f.path], 'cloudreve://my/listing');
    // the part takes about 4 s: look for a second, well before it can end
    const seen = new Set<string>();
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      seen.add(engine.transfer(id)!.state);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(!seen.has('done'), 'not done this soon');
    assert.equal(engine.transfer(id)!.state, 'uploading', 'transfer(id) while its part is in flight');
    assert.equal(engine.listTransfers().find((t) => t.id === id)?.state, 'uploading', 'listTransfers() while its part is in flight');
    await engine.idle();
    assert.equal(engine.transfer(id)!.state, 'done');
    assert.equal(engine.listTransfers().find((t) => t.id === id)?.state, 'done');
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
