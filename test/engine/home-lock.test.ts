import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockHolder, lockHome } from '../../main/engine/home-lock.js';
import { createEngine } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const LOCK_MODULE = fileURLToPath(new URL('../../main/engine/home-lock.ts', import.meta.url));

/** A child process that tries to take the lock, prints "locked <pid>" or "busy", and holds it until killed. */
function holder(home: string): { child: ChildProcess; answer: Promise<string> } {
  const code = `
    const { lockHome } = await import(${JSON.stringify(LOCK_MODULE)});
    try { lockHome(${JSON.stringify(home)}); console.log('locked ' + process.pid); }
    catch (e) { console.log('busy'); process.exit(0); }
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const answer = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', () => resolve(out.trim()));
    child.on('error', reject);
  });
  return { child, answer };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

test('one engine per home, in this process; a read-only look is allowed; released on close', async () => {
  const d = tmpDir();
  try {
    const lock = lockHome(d.path);
    assert.throws(() => lockHome(d.path), { code: 'busy', message: new RegExp(`pid ${process.pid} \\(.*\\), since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC`) });
    await assert.rejects(createEngine({ home: d.path }), { code: 'busy', message: /another cloudreve-sync process is using/ });
    const reader = await createEngine({ home: d.path, exclusive: false });
    await reader.close();
    assert.equal(lockHolder(d.path)?.pid, process.pid);
    lock.release();
    assert.equal(lockHolder(d.path), null);
    const engine = await createEngine({ home: d.path });
    await engine.close();
    lockHome(d.path).release();
  } finally {
    d.cleanup();
  }
});

test('another process holding the lock is named; kill -9 releases it at once, whatever pid file is around', async () => {
  const d = tmpDir();
  const h = holder(d.path);
  try {
    const answer = await h.answer;
    assert.equal(answer, `locked ${h.child.pid}`);
    assert.throws(() => lockHome(d.path), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'busy');
      assert.match(err.message, new RegExp(`pid ${h.child.pid} \\(`));
      assert.match(err.message, /since \d{4}-/);
      return true;
    });
    // an old-style pid file naming this (live) process must not matter either way
    writeFileSync(join(d.path, 'engine.lock'), String(process.pid));
    h.child.kill('SIGKILL');
    await exited(h.child);
    const lock = lockHome(d.path); // no pid check, no waiting: the OS dropped the dead process's lock
    assert.ok(!existsSync(join(d.path, 'engine.lock')), 'the old pid file is removed');
    lock.release();
  } finally {
    h.child.kill('SIGKILL');
    d.cleanup();
  }
});

test('processes racing for the lock: exactly one gets it', async () => {
  const d = tmpDir();
  const racers = Array.from({ length: 4 }, () => holder(d.path));
  try {
    const answers = await Promise.all(racers.map((r) => r.answer));
    assert.equal(answers.filter((a) => a.startsWith('locked')).length, 1, answers.join(', '));
    assert.equal(answers.filter((a) => a === 'busy').length, 3, answers.join(', '));
  } finally {
    for (const r of racers) r.child.kill('SIGKILL');
    await Promise.all(racers.map((r) => exited(r.child)));
    d.cleanup();
  }
});
