/**
 * A session this transfer opened but never recorded (the process was killed, or the answer was lost, after the server
 * opened it) no longer blocks the file: its placeholder is recognised (not recorded by any transfer of ours, our size,
 * made after the transfer was queued), cancelled, and the upload starts again. An upload someone else started before
 * the transfer was queued is left alone (found by the soak: a kill -9 right after the session requests left files
 * failing with "in progress"/40073 until the server expired the sessions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { createEngine, type TransferSnapshot } from '../../main/engine/index.js';
import { startEmulator } from '../emulator/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const URI = 'cloudreve://my/lost/f.bin';

async function setup() {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  const e = await createEngine({ home });
  await e.login(emu.url, emu.email, emu.password);
  await e.close();
  const other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a11' });
  await other.login(emu.email, emu.password);
  const f = dir.random('f.bin', 3 * 64 * 1024 + 9);
  return { emu, dir, home, other, f, close: async () => (await emu.close(), dir.cleanup()) };
}

type Env = Awaited<ReturnType<typeof setup>>;

/** The target exists already (1000 bytes), uploaded by an earlier engine on this home. */
async function uploadOld(env: Env): Promise<void> {
  const old = env.dir.random('old/f.bin', 1000);
  const e0 = await createEngine({ home: env.home });
  await e0.enqueue([old.path], 'cloudreve://my/lost');
  await e0.idle();
  await e0.close();
}

/** `path` queued while the server is away: the transfer is in the journal, without a session; the server is back. */
async function queueWhileAway(env: Env, path: string, ifExists?: 'overwrite' | 'rename'): Promise<string> {
  await env.emu.stop();
  const engine = await createEngine({ home: env.home, offlineProbe: { baseMs: 60_000, maxMs: 60_000 }, ...(ifExists ? { ifExists } : {}) });
  const [id] = await engine.enqueue([path], 'cloudreve://my/lost');
  await sleep(300);
  await engine.close();
  await env.emu.start();
  await sleep(50);
  return id;
}

/** A new engine on the home resumes transfer `id`; its snapshot once everything settled. */
async function resumeOnce(env: Env, id: string): Promise<TransferSnapshot> {
  const engine = await createEngine({ home: env.home });
  try {
    engine.resumeInterrupted([id]);
    await engine.idle();
    return engine.transfer(id)!;
  } finally {
    await engine.close();
  }
}

for (const overwrite of [false, true]) {
  test(`a lost session of this transfer is cancelled and the upload starts again${overwrite ? ' (a new version: the lock, 40073)' : ' (a new file: the placeholder, 40004)'}`, async () => {
    const env = await setup();
    try {
      if (overwrite) {
        // the file exists: the lost session was for a new version of it, and holds its upload lock
        await uploadOld(env);
        assert.equal(env.emu.blob(URI)?.length, 1000);
      }
      const id = await queueWhileAway(env, env.f.path, overwrite ? 'overwrite' : 'rename');
      // what a killed run leaves: the server opened a session for it, the answer never reached the journal
      await env.other.createUploadSession({ uri: URI, size: env.f.data.length, ...(overwrite ? { entity_type: 'version' as const } : {}) });
      assert.equal(env.emu.sessions().length, 1);

      const t = await resumeOnce(env, id);
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      assert.ok(env.emu.blob(URI)?.equals(env.f.data), 'the file, at its own name (not a renamed copy)');
      assert.equal(env.emu.sessions().length, 0, 'no session left open');
    } finally {
      await env.close();
    }
  });
}

test('a lost session opened before the file changed (its earlier size) is recognised, cancelled, and the new content uploaded', async () => {
  // found by the soak: a run opened a one-request session for the file as it was, was killed while its part was in
  // flight, and the file grew before the next run; the placeholder had the old size, so it was not taken for ours and
  // the file failed with 40073 until the server expired the session
  const env = await setup();
  try {
    await uploadOld(env);
    // queued while the server is away: the journal has the file's size as it is now
    const small = env.dir.random('small/f.bin', 5000);
    const id = await queueWhileAway(env, small.path, 'overwrite');
    // the killed run's session, for that size; then the file grows
    await env.other.createUploadSession({ uri: URI, size: 5000, entity_type: 'version' });
    const grown = Buffer.concat([small.data, Buffer.alloc(7000, 7)]);
    appendFileSync(small.path, grown.subarray(5000));

    const t = await resumeOnce(env, id);
    assert.equal(t.state, 'done', JSON.stringify(t.error));
    assert.ok(env.emu.blob(URI)?.equals(grown), 'the file as it is now');
    assert.equal(env.emu.sessions().length, 0, 'no session left open');
  } finally {
    await env.close();
  }
});

test('a lost session of a transfer whose file then vanished is cancelled when the transfer fails', async () => {
  const env = await setup();
  try {
    const id = await queueWhileAway(env, env.f.path);
    // the killed run's session; then the file is deleted
    await env.other.createUploadSession({ uri: URI, size: env.f.data.length });
    rmSync(env.f.path);

    const t = await resumeOnce(env, id);
    assert.equal(t.state, 'failed');
    assert.match(t.error!.message, /disappeared/);
    assert.equal(env.emu.sessions().length, 0, 'its session is not left open on the server');
  } finally {
    await env.close();
  }
});

test('an upload someone else started before the transfer was queued is left alone', async () => {
  const env = await setup();
  try {
    const theirs = await env.other.createUploadSession({ uri: URI, size: env.f.data.length });
    assert.equal((env.emu.sessions()[0] as unknown as { id: string }).id, theirs.session_id);
    // …long enough before: the transfer is queued 11 minutes (more than the clock-skew slack) after their upload began
    const realNow = Date.now;
    Date.now = () => realNow() + 11 * 60_000; // the journal takes its clock when it opens
    const engine = await createEngine({ home: env.home, ifExists: 'rename' }).finally(() => (Date.now = realNow));
    try {
      const [id] = await engine.enqueue([env.f.path], 'cloudreve://my/lost');
      await engine.idle();
      const t = engine.transfer(id)!;
      assert.equal(t.state, 'failed');
      assert.match(t.error!.message, /in progress/);
      assert.equal(env.emu.sessions().length, 1, 'their session is still open');
    } finally {
      await engine.close();
    }
  } finally {
    await env.close();
  }
});
