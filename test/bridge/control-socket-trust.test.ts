/**
 * Where the control socket lives and when a client trusts it (main/bridge/control-socket.ts):
 *   - in the home; when the home's path is too long, in $XDG_RUNTIME_DIR only if it is this user's and not writable by
 *     every user; never in a shared temp folder: otherwise no control socket, with the reason;
 *   - a socket of another uid is refused (as root here: the test socket is chowned to another uid), a server that
 *     cannot prove it holds the home's key is refused, the real one is trusted;
 *   - a server never removes something at its path that is not a socket.
 * Unix only (the Windows pipe is checked through the same key proof, which these tests exercise).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectControl,
  controlKey,
  controlSocketPlace,
  serveControlSocket,
  CONTROL_KEY_FILE,
} from '../../main/bridge/control-socket.js';
import { createEngine } from '../../main/engine/index.js';
import type { SettingsDto } from '../../main/ipc/contract.js';
import { createHandlers, type SettingsPort } from '../../main/ipc/server.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const UNIX = process.platform !== 'win32';
const ROOT_USER = UNIX && process.getuid?.() === 0;
const settings: SettingsPort = { get: () => ({ language: 'en' }) as SettingsDto, update: async () => ({}) as SettingsDto };

test('the socket lives in the home; a long home goes to $XDG_RUNTIME_DIR only when it is safe; never to the temp folder', { skip: !UNIX && 'Unix sockets' }, () => {
  const d = tmpDir();
  try {
    assert.equal(controlSocketPlace('/home/me/.config/cloudreve-sync', 'linux', {}).path, '/home/me/.config/cloudreve-sync/control.sock');
    const long = `/home/me/${'x'.repeat(120)}/cloudreve-sync`;
    const none = controlSocketPlace(long, 'linux', {});
    assert.equal(none.path, null);
    assert.match(none.why!, /too long .* and \$XDG_RUNTIME_DIR is not set/);

    const runtime = join(d.path, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    const ok = controlSocketPlace(long, 'linux', { XDG_RUNTIME_DIR: runtime });
    assert.ok(ok.path?.startsWith(`${runtime}/cloudreve-sync-`), ok.path ?? ok.why);
    assert.ok(!ok.path!.startsWith(`${tmpdir()}/cloudreve-sync`), 'not straight in the temp folder');

    chmodSync(runtime, 0o777); // every user could put their socket there first
    const open = controlSocketPlace(long, 'linux', { XDG_RUNTIME_DIR: runtime });
    assert.equal(open.path, null);
    assert.match(open.why!, /XDG_RUNTIME_DIR cannot be used: .* can be written by every user/);
    assert.equal(controlSocketPlace(long, 'linux', { XDG_RUNTIME_DIR: 'relative/dir' }).path, null);
    if (ROOT_USER) {
      chmodSync(runtime, 0o700);
      chownSync(runtime, 4321, 4321);
      assert.match(controlSocketPlace(long, 'linux', { XDG_RUNTIME_DIR: runtime }).why!, /belongs to another user \(uid 4321\)/);
    }
    // Windows: a pipe named after the user and the home
    const pipe = controlSocketPlace('C:\\Users\\me\\AppData\\Roaming\\cloudreve-sync', 'win32', {}).path!;
    assert.match(pipe, /^\\\\\.\\pipe\\cloudreve-sync-[0-9a-f]{16}$/);
  } finally {
    d.cleanup();
  }
});

test('the real server is trusted; its key is 0600 and kept; something else at the socket path is never removed', { skip: !UNIX && 'Unix sockets' }, async () => {
  const d = tmpDir();
  const home = join(d.path, 'home');
  const engine = await createEngine({ home });
  try {
    const handlers = createHandlers({ engine, settings, app: { mode: 'browser', version: '0.0.1' } });
    // a file (not a socket) where the socket goes: left alone, and no control socket
    writeFileSync(join(home, 'control.sock'), 'a file of the user');
    await assert.rejects(serveControlSocket({ home, engine, handlers }), /exists and is not a socket; it is left alone/);
    assert.equal(readFileSync(join(home, 'control.sock'), 'utf8'), 'a file of the user');
    rmSync(join(home, 'control.sock'));

    const server = await serveControlSocket({ home, engine, handlers });
    try {
      assert.equal(statSync(join(home, CONTROL_KEY_FILE)).mode & 0o777, 0o600);
      const key = readFileSync(join(home, CONTROL_KEY_FILE));
      const refused: string[] = [];
      const client = await connectControl(home, { onRefused: (why) => refused.push(why) });
      assert.ok(client, refused.join('; '));
      const r = await client.invoke('getConnectivity');
      assert.equal(r.ok, true);
      const stop = await client.events(() => {});
      stop();
      assert.deepEqual(refused, []);
      assert.deepEqual(controlKey(home, true), key, 'the key is never replaced');
    } finally {
      await server.close();
    }
  } finally {
    await engine.close();
    d.cleanup();
  }
});

/** A plain HTTP server on `<home>/control.sock` that answers like an engine but knows no key. */
async function impostor(home: string): Promise<{ close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, value: { online: true, reason: null, since: null, nextProbeAt: null } }));
  });
  await new Promise<void>((resolve) => server.listen(join(home, 'control.sock'), resolve));
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('a server that cannot prove it holds the home\'s key is not trusted', { skip: !UNIX && 'Unix sockets' }, async () => {
  const d = tmpDir();
  const home = join(d.path, 'home');
  mkdirSync(home, { mode: 0o700 });
  controlKey(home, true);
  const fake = await impostor(home);
  try {
    const refused: string[] = [];
    assert.equal(await connectControl(home, { onRefused: (why) => refused.push(why) }), null);
    assert.match(refused.join(), /did not prove it runs this home/);
  } finally {
    await fake.close();
    d.cleanup();
  }
});

test('a socket that belongs to another uid is refused before anything is sent to it', { skip: !ROOT_USER && 'needs root (chown to another uid)' }, async () => {
  const d = tmpDir();
  const home = join(d.path, 'home');
  mkdirSync(home, { mode: 0o700 });
  controlKey(home, true);
  let requests = 0;
  const server = createHttpServer((req, res) => {
    requests++;
    req.resume();
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(join(home, 'control.sock'), resolve));
  try {
    chownSync(join(home, 'control.sock'), 4321, 4321);
    const refused: string[] = [];
    assert.equal(await connectControl(home, { onRefused: (why) => refused.push(why) }), null);
    assert.match(refused.join(), /belongs to another user \(uid 4321, you are 0\)/);
    assert.equal(requests, 0, 'nothing was sent');
    // the same socket in a folder every user can write to (no sticky bit): refused too
    chownSync(join(home, 'control.sock'), 0, 0);
    chmodSync(home, 0o777);
    refused.length = 0;
    assert.equal(await connectControl(home, { onRefused: (why) => refused.push(why) }), null);
    assert.match(refused.join(), /can be written by every user/);
    assert.equal(requests, 0);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    d.cleanup();
  }
});
