import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockHome } from '../../main/engine/home-lock.js';
import { createEngine } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

test('one engine per home; a lock left by a dead process is taken over', async () => {
  const d = tmpDir();
  try {
    const lock = lockHome(d.path);
    assert.throws(() => lockHome(d.path), { code: 'busy' });
    await assert.rejects(createEngine({ home: d.path }), { code: 'busy', message: /another cloudreve-sync process/ });
    const reader = await createEngine({ home: d.path, exclusive: false }); // a read-only look is fine
    await reader.close();
    lock.release();
    assert.ok(!existsSync(join(d.path, 'engine.lock')));

    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    writeFileSync(join(d.path, 'engine.lock'), dead.stdout.trim());
    const engine = await createEngine({ home: d.path });
    assert.equal(Number(readFileSync(join(d.path, 'engine.lock'), 'utf8')), process.pid, 'taken over');
    await engine.close();
    assert.ok(!existsSync(join(d.path, 'engine.lock')), 'released on close');
  } finally {
    d.cleanup();
  }
});
