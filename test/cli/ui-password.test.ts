/**
 * `ui`'s browser password: read from --password-stdin, $CLOUDREVE_SYNC_UI_PASSWORD or --password (with a warning that
 * `ps` shows it); never written to engine-lock.json, nor repeated in the "busy" message another command prints.
 * Loopback only (the password is required on 127.0.0.1 as well when one is given).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactArgs } from '../../main/engine/home-lock.js';
import { cli } from '../helpers/cli-run.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RENDERER_BUILT = (() => {
  try {
    readFileSync(join(ROOT, 'dist/renderer/main.js'));
    return true;
  } catch {
    return false;
  }
})();

/** `ui` from the sources; resolves with its URL (first stdout line). Bounded: 60 s. */
function startUi(home: string, args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ child: ChildProcess; url: string; err: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main/cli.ts'), '--home', home, 'ui', '--port', '0', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: '/nonexistent-home', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.end(opts.stdin ?? '');
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ui printed no URL; stderr: ${err}`));
    }, 60_000);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve({ child, url: out.slice(0, out.indexOf('\n')), err: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ui exited (${code}); stderr: ${err}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The status of an API call with the token, and with the given Basic password (or none). */
async function apiStatus(url: string, password: string | null): Promise<number> {
  const u = new URL(url);
  const token = /token=([^&]+)/.exec(u.hash)![1];
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-cloudreve-token': token };
  if (password !== null) headers.authorization = `Basic ${Buffer.from(`user:${password}`).toString('base64')}`;
  const r = await fetch(new URL('/api/invoke/getAppInfo', u.origin), { method: 'POST', headers, body: '[]' });
  await r.text();
  return r.status;
}

test('redactArgs: a secret flag\'s value is left out, in both spellings; other arguments stay', () => {
  assert.deepEqual(redactArgs(['ui', '--password', 'hunter2', '--port', '8080']), ['ui', '--password', '***', '--port', '8080']);
  assert.deepEqual(redactArgs(['ui', '--password=hunter2']), ['ui', '--password=***']);
  assert.deepEqual(redactArgs(['login', '--password-stdin', '--server', 'x']), ['login', '--password-stdin', '--server', 'x']);
  assert.deepEqual(redactArgs(['x', '--client-secret', 's', '--', '--password', 'file']), ['x', '--client-secret', '***', '--', '--password', 'file']);
});

test('ui --password: warned about, required by the bridge, never in engine-lock.json nor in the busy message', { skip: !RENDERER_BUILT && 'no dist/renderer: run npm run build' }, async () => {
  const d = tmpDir();
  const home = join(d.path, 'home');
  const secret = 'hunter2-on-the-command-line';
  const ui = await startUi(home, ['--password', secret]);
  try {
    assert.match(ui.err(), /warning: a password given with --password is visible to other users/);
    assert.equal(await apiStatus(ui.url, secret), 200);
    assert.equal(await apiStatus(ui.url, null), 401);
    const note = readFileSync(join(home, 'engine-lock.json'), 'utf8');
    assert.doesNotMatch(note, new RegExp(secret));
    assert.match(note, /--password \*\*\*/);
    const busy = await cli(['--home', home, 'run']);
    assert.notEqual(busy.code, 0);
    assert.match(busy.err, /another cloudreve-sync process is using/);
    assert.doesNotMatch(busy.err + busy.out, new RegExp(secret));
  } finally {
    await stop(ui.child);
    d.cleanup();
  }
});

test('ui --password-stdin and $CLOUDREVE_SYNC_UI_PASSWORD: the password works, no warning, nothing written', { skip: !RENDERER_BUILT && 'no dist/renderer: run npm run build' }, async () => {
  const d = tmpDir();
  try {
    for (const [name, args, opts, pw] of [
      ['stdin', ['--password-stdin'], { stdin: 'from standard input\n' }, 'from standard input'],
      ['env', [], { env: { CLOUDREVE_SYNC_UI_PASSWORD: 'from the environment' } }, 'from the environment'],
    ] as const) {
      const home = join(d.path, name);
      const ui = await startUi(home, [...args], opts);
      try {
        assert.doesNotMatch(ui.err(), /warning/);
        assert.equal(await apiStatus(ui.url, pw), 200, name);
        assert.equal(await apiStatus(ui.url, 'wrong password'), 401, name);
        assert.doesNotMatch(readFileSync(join(home, 'engine-lock.json'), 'utf8'), new RegExp(pw));
      } finally {
        await stop(ui.child);
      }
    }
    // usage errors: both at once, an empty one
    const both = await cli(['--home', join(d.path, 'x'), 'ui', '--password', 'aaaaaaaa', '--password-stdin'], { stdin: 'bbbbbbbb\n' });
    assert.equal(both.code, 2, both.err);
    assert.match(both.err, /once/);
    const empty = await cli(['--home', join(d.path, 'x'), 'ui', '--password-stdin'], { stdin: '\n' });
    assert.equal(empty.code, 2, empty.err);
    assert.match(empty.err, /empty/);
  } finally {
    d.cleanup();
  }
});
