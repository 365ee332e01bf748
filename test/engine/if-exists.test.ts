/** `ifExists` against files already on the server: identical files are never sent again, whatever the mode. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import type { IfExists } from '../../main/engine/types.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const CHUNK = 64 * 1024;

test('an identical file (same size and mtime) is skipped in every mode, overwrite included; a changed one is sent', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK } });
  const dir = tmpDir();
  const engine = await createEngine({ home: join(dir.path, 'home') });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const f = dir.random('same.bin', 5 * CHUNK);
    const [first] = await engine.enqueue([f.path], 'cloudreve://my/ie');
    await engine.idle();
    assert.equal(engine.transfer(first)!.state, 'done');
    for (const mode of ['overwrite', 'rename', 'skip'] as IfExists[]) {
      emu.resetStats();
      const [id] = await engine.enqueue([f.path], 'cloudreve://my/ie', { ifExists: mode });
      await engine.idle();
      const t = engine.transfer(id)!;
      assert.equal(t.state, 'skipped', `${mode}: ${JSON.stringify(t)}`);
      assert.match(t.error?.message ?? '', /identical/);
      assert.equal(emu.stats().bytes_received, 0, `${mode}: nothing sent`);
      assert.equal(emu.stats().sessions_created, 0, `${mode}: no session`);
    }
    // same size, other mtime: overwrite sends it as a new version
    utimesSync(f.path, new Date(), new Date(Date.now() - 3600_000));
    emu.resetStats();
    const [again] = await engine.enqueue([f.path], 'cloudreve://my/ie', { ifExists: 'overwrite' });
    await engine.idle();
    assert.equal(engine.transfer(again)!.state, 'done');
    assert.equal(emu.stats().bytes_received, 5 * CHUNK);
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
