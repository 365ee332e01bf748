/**
 * Plain `resume` (no ids) continues what a crash or a network loss left: also transfers whose retry budget ran out on
 * transient server answers (HTTP 5xx). The journal keeps the HTTP status so that the decision is the same after a
 * restart as it was at the time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const CHUNK = 64 * 1024;
const FAST_RETRY = { baseMs: 10, maxMs: 50, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 };
/** a busy server (the 503 below) is waited out for 0.3 s, not the 15 minutes of the default */
const BUSY_MINUTES = 0.005;

test('a transfer that failed on HTTP 5xx is picked up by plain resume, also in a new engine', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  let engine = await createEngine({ home, retry: FAST_RETRY, busyRetryMinutes: BUSY_MINUTES });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const f = dir.random('five.bin', 4 * CHUNK);
    const pernament = dir.random('name:bad.txt', 10); // a per-file refusal stays failed
    emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/2$', times: 10_000, action: { type: 'status', status: 503, body: '<html>busy</html>' } });
    const [id, bad] = await engine.enqueue([f.path, pernament.path], 'cloudreve://my/r5');
    await engine.idle();
    const failed = engine.transfer(id)!;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error?.code, 'http-status');
    assert.equal(engine.transfer(bad)!.state, 'failed');
    emu.clearFaults();
    await engine.close();

    engine = await createEngine({ home, retry: FAST_RETRY, busyRetryMinutes: BUSY_MINUTES });
    assert.deepEqual(engine.resumeInterrupted(), [id]);
    await engine.idle();
    assert.equal(engine.transfer(id)!.state, 'done');
    assert.ok(emu.blob('cloudreve://my/r5/five.bin')!.equals(f.data));
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
