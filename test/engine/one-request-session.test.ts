/**
 * A one-request upload (one part that completes the file: no complete step, nothing of it could be resumed) does not
 * record its session before sending, to spare a commit and a wait per small file. Its session reaches the journal
 * only if the job stops while holding it (pause, shutdown, a failure that keeps it), so resume and cancel still
 * find it; a kill -9 in between leaves a placeholder that lost-session.test.ts shows is recognised and cancelled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { openJournal } from '../../main/engine/journal/journal.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('a one-request upload: no session in the journal while it runs; paused, the session is recorded and resume finishes it with it', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  const engine = await createEngine({ home });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    // its one part crawls (16 KiB/s of 64 KiB): it is in flight for seconds
    emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/0$', action: { type: 'slow', bytesPerSec: 16 * 1024 } });
    const f = dir.random('one.bin', 64 * 1024);
    const [id] = await engine.enqueue([f.path], 'cloudreve://my/one');
    await until('the part in flight', () => engine.transfer(id)?.state === 'uploading');
    const peekRow = () => {
      const j = openJournal(join(home, 'journal.db'), { groupCommit: false });
      try {
        return j.uploads.get(id);
      } finally {
        j.close();
      }
    };
    const peek = () => peekRow()!;
    // a queued row reaches the file with the turn's group commit (at most LATER_COMMIT_MS after enqueue), which may
    // come after its one request started
    await until('its row in the journal', () => peekRow() !== undefined);
    assert.equal(engine.transfer(id)?.state, 'uploading', 'still in flight');
    assert.equal(peek().session, null, 'not recorded while its one request runs');
    assert.equal(emu.stats().sessions_created, 1);

    engine.pause(id);
    await until('paused', () => engine.transfer(id)?.state === 'paused');
    await engine.idle();
    const paused = peek();
    assert.equal(paused.state, 'paused');
    assert.ok(paused.session?.session_id, 'paused: the session it holds is recorded');

    engine.resume(id);
    await until('done', () => engine.transfer(id)?.state === 'done', 20_000);
    await engine.idle(); // its end committed, for the other connection below
    assert.equal(emu.stats().sessions_created, 1, 'resume went on with the recorded session');
    assert.equal(emu.stats().sessions_cancelled, 0);
    const done = peek();
    assert.equal(done.session, null, 'done: no session left');
    assert.equal(done.sessionUri, 'cloudreve://my/one/one.bin', 'where the file went is recorded');
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});

test('a one-request upload stopped by shutdown records its session: the next process resumes with it', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  try {
    const e1 = await createEngine({ home });
    await e1.login(emu.url, emu.email, emu.password);
    emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/0$', action: { type: 'slow', bytesPerSec: 16 * 1024 } });
    const f = dir.random('one.bin', 64 * 1024);
    const [id] = await e1.enqueue([f.path], 'cloudreve://my/one');
    await until('the part in flight', () => e1.transfer(id)?.state === 'uploading');
    await e1.close();

    const e2 = await createEngine({ home, autoResume: false });
    try {
      assert.deepEqual(e2.resumeInterrupted(), [id]);
      await e2.idle();
      assert.equal(e2.transfer(id)!.state, 'done');
      assert.equal(emu.stats().sessions_created, 1, 'the second process went on with the recorded session');
    } finally {
      await e2.close();
    }
  } finally {
    await emu.close();
    dir.cleanup();
  }
});
