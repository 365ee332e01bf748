/**
 * Kill -9 in the middle of an upload, then `resume` from a separate process: only the parts the journal had
 * not acknowledged go out again, and the stored file is exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { openJournal } from '../../main/engine/journal/journal.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const CLI = ['--import', 'tsx', 'main/cli.ts'];
const CHUNK = 128 * 1024;

/** Runs the CLI in a child process (asynchronously: the emulator lives in this process's event loop). */
function cli(home: string, args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...CLI, '--home', home, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

function ackedParts(home: string): { id: string; parts: number[] } | null {
  const j = openJournal(join(home, 'journal.db'));
  try {
    const row = j.uploads.list()[0];
    if (!row) return null;
    return { id: row.id, parts: j.uploads.parts(row.id).map((p) => p.index) };
  } finally {
    j.close();
  }
}

for (const encryption of [false, true]) {
  test(`kill -9 mid-upload, resume in a new process sends no acknowledged part twice${encryption ? ' (encrypted)' : ''}`, async () => {
    const emu = await startEmulator({ policy: { type: 'local', chunkSize: CHUNK, chunkConcurrency: 2, encryption } });
    const dir = tmpDir();
    const home = join(dir.path, 'home');
    try {
      const login = await cli(home, ['login', '--server', emu.url, '--email', emu.email, '--password-stdin'], emu.password + '\n');
      assert.equal(login.status, 0, login.stderr);
      const parts = 40;
      const f = dir.random('big.bin', parts * CHUNK - 777);
      const child = spawn(process.execPath, [...CLI, '--home', home, 'upload', f.path, '--to', 'cloudreve://my/k', '--limit-rate', '1M', '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      // wait (bounded) until the journal has acknowledged a few parts
      let acked: { id: string; parts: number[] } | null = null;
      for (let i = 0; i < 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          acked = ackedParts(home);
        } catch {
          acked = null; // the journal may be mid-creation
        }
        if (acked && acked.parts.length >= 4) break;
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok(acked && acked.parts.length >= 4, `parts were acknowledged before the kill: ${stderr}`);
      const after = ackedParts(home)!; // the journal as the killed process left it
      assert.ok(after.parts.length >= acked.parts.length);
      assert.ok(after.parts.length < parts, 'the kill came before the end');

      emu.resetStats();
      const list = await cli(home, ['transfers', '--json']);
      assert.equal(list.status, 0, list.stderr);
      const rows = JSON.parse(list.stdout);
      assert.equal(rows.length, 1);
      assert.notEqual(rows[0].state, 'done');

      const res = await cli(home, ['resume']);
      assert.equal(res.status, 0, res.stdout + res.stderr);
      const stats = emu.stats();
      assert.equal(stats.chunk_requests, parts - after.parts.length, 'exactly the missing parts were sent');
      assert.ok(stats.bytes_received <= (parts - after.parts.length) * CHUNK);
      const blob = emu.blob('cloudreve://my/k/big.bin')!;
      if (!encryption) assert.ok(blob.equals(f.data));
      else {
        const { createCipheriv } = await import('node:crypto');
        const ent = emu.entity('cloudreve://my/k/big.bin')!;
        const c = createCipheriv('aes-256-ctr', Buffer.from(ent.key!, 'base64'), Buffer.from(ent.iv!, 'base64'));
        assert.ok(blob.equals(Buffer.concat([c.update(f.data), c.final()])));
      }
      assert.equal(stats.sessions_created, 0, 'the old session was reused');
    } finally {
      await emu.close();
      dir.cleanup();
    }
  });
}

test('resume after the session expired starts a new session and still stores the exact file', async () => {
  const emu = await startEmulator({ sessionTtl: 3, policy: { type: 'local', chunkSize: CHUNK } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  try {
    assert.equal((await cli(home, ['login', '--server', emu.url, '--email', emu.email, '--password-stdin'], emu.password + '\n')).status, 0);
    const f = dir.random('e.bin', 20 * CHUNK);
    const child = spawn(process.execPath, [...CLI, '--home', home, 'upload', f.path, '--to', 'k', '--limit-rate', '512k'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const a = (() => {
        try {
          return ackedParts(home);
        } catch {
          return null;
        }
      })();
      if (a && a.parts.length >= 2) break;
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 3500)); // the server session expires
    const res = await cli(home, ['resume']);
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.ok(emu.blob('cloudreve://my/k/e.bin')!.equals(f.data));
  } finally {
    await emu.close();
    dir.cleanup();
  }
});
