/** The `timeouts` setting reaches the engine's API client (EngineConfig.timeouts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

test('a server slower than the configured response timeout: the transfer fails with a timeout, not after the defaults', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  const retry = { baseMs: 10, maxMs: 20, factor: 2, jitter: 0, maxAttemptsWithoutProgress: 2 };
  const engine = await createEngine({ home: join(dir.path, 'home'), retry, timeouts: { connectMs: 1000, responseMs: 400, idleMs: 400 } });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    // every upload-session request answers after 3 s: longer than 400 ms, far shorter than the 30 s default
    emu.addFault({ method: 'PUT', path: '^/api/v4/file/upload$', times: 100, action: { type: 'delay', ms: 3000 } });
    const f = dir.random('t.bin', 1000);
    const started = Date.now();
    const [id] = await engine.enqueue([f.path], 'cloudreve://my/to');
    await engine.idle();
    const t = engine.transfer(id)!;
    assert.equal(t.state, 'failed', JSON.stringify(t));
    assert.equal(t.error?.code, 'timeout');
    assert.ok(Date.now() - started < 2900, `gave up after ${Date.now() - started} ms`);
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
