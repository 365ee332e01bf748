/**
 * `npm run demo`: the emulator with a demo account, a signed-in temporary home and `cloudreve-sync ui` on it; the
 * printed URL answers as that account, the demo folders are there, and Ctrl-C stops everything.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../e2e/harness.js';

test('npm run demo: signed in to the demo account with its folders; Ctrl-C stops it', async () => {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'demo.mjs'), '--browser'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      void exited.then((code) => reject(new Error(`demo exited (${code}) before printing a URL: ${stderr}`)));
    });
    const u = new URL(url);
    assert.equal(u.hostname, '127.0.0.1');
    const token = /token=(.+)$/.exec(u.hash)![1];
    const call = async (method: string, args: unknown[]) => {
      const res = await fetch(`${u.origin}/api/invoke/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Cloudreve-Token': token },
        body: JSON.stringify(args),
      });
      return (await res.json()) as { ok: boolean; value: never };
    };
    const account = await call('getAccount', []);
    assert.equal((account.value as { email: string }).email, 'demo@cloudreve-sync.local');
    const root = await call('listRemoteFolders', ['cloudreve://my/']);
    assert.deepEqual((root.value as { folders: { name: string }[] }).folders.map((f) => f.name), ['Backups', 'Documents', 'Photos']);
    assert.match(stderr, /it is a demo/);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(stderr, /stopped; the demo data is gone/);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
});
