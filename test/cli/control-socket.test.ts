/**
 * The control socket: while `cloudreve-sync run` holds a home, the other commands on that home reach it instead of
 * failing with "busy": upload (followed to the end), pairs add/list/pause/resume/conflicts/remove, pause/resume of
 * transfers, sync of a configured pair (a pass asked for), a one-off sync refused clearly; after the process stops
 * (cleanly or killed) the commands run locally again and a new `run` replaces the stale socket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlSocketPath } from '../../main/bridge/control-socket.js';
import { createEngine } from '../../main/engine/index.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { cli as runCli } from '../helpers/cli-run.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let emu: Emulator;
let dir: TmpDir;
let home: string;
const cli = (...argv: string[]) => runCli(['--home', home, ...argv]);

before(async () => {
  emu = await startEmulator();
  dir = tmpDir();
  home = join(dir.path, 'home');
  const e = await createEngine({ home });
  await e.login(emu.url, emu.email, emu.password);
  await e.close();
});
after(async () => {
  await emu.close();
  dir.cleanup();
});

function startRun(): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null>; ready: () => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main/cli.ts'), '--home', home, 'run'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: '/nonexistent-home' },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    ready: async () => {
      for (let i = 0; i < 300 && !/Ctrl-C to stop/.test(err); i++) await sleep(100);
      assert.match(err, /other commands on this home reach this process/, err);
    },
  };
}

test('while `run` holds the home, the other commands go through its control socket', async () => {
  const run = startRun();
  try {
    await run.ready();
    const sock = controlSocketPath(home)!;
    assert.equal(statSync(sock).mode & 0o777, 0o600, 'owner-only socket');

    // upload: queued in the running engine, followed to the end, reported like a local upload
    const f = dir.file('one.txt', 'through the socket');
    const up = await cli('upload', f, '--to', 'cloudreve://my/viasock');
    assert.equal(up.code, 0, up.out + up.err);
    assert.match(up.err, /control socket/);
    assert.match(up.out, /uploaded .*one\.txt → cloudreve:\/\/my\/viasock\/one\.txt/);
    assert.match(up.out, /1 uploaded, 0 skipped, 0 failed/);
    assert.equal(emu.blob('cloudreve://my/viasock/one.txt')?.toString(), 'through the socket');
    // --json too, and a failure counts (a missing file)
    const bad = await cli('upload', join(dir.path, 'nope.txt'), '--to', 'cloudreve://my/viasock', '--json');
    assert.equal(bad.code, 1, bad.out + bad.err);
    assert.match(bad.out, /"event":"summary"/);

    // pairs: added to the running engine, which syncs it by itself
    const local = join(dir.path, 'photos');
    mkdirSync(local);
    writeFileSync(join(local, 'a.jpg'), 'A');
    const add = await cli('pairs', 'add', local, '/photos', '--json');
    assert.equal(add.code, 0, add.err);
    const pair = JSON.parse(add.out) as { id: string };
    for (let i = 0; i < 200 && !emu.blob('cloudreve://my/photos/a.jpg'); i++) await sleep(100);
    assert.equal(emu.blob('cloudreve://my/photos/a.jpg')?.toString(), 'A', run.err());
    assert.match((await cli('pairs', 'list')).out, new RegExp(pair.id.slice(0, 8)));
    assert.match((await cli('pairs', 'pause', pair.id.slice(0, 8))).out, /paused/);
    assert.match((await cli('pairs', 'resume', pair.id)).out, /backup/);
    assert.match((await cli('pairs', 'conflicts')).out, /no conflicts/);

    // sync of the configured pair asks the running engine for a pass; a one-off sync is refused with the way out
    writeFileSync(join(local, 'b.jpg'), 'B');
    const s = await cli('sync', local, '/photos');
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /asked for a pass/);
    for (let i = 0; i < 200 && !emu.blob('cloudreve://my/photos/b.jpg'); i++) await sleep(100);
    assert.equal(emu.blob('cloudreve://my/photos/b.jpg')?.toString(), 'B');
    const other = join(dir.path, 'other');
    mkdirSync(other);
    const refused = await cli('sync', other, '/other');
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /pairs add/);

    // pause / resume of transfers
    assert.match((await cli('pause')).out, /paused every transfer/);
    assert.match((await cli('resume')).out, /resumed every paused transfer/);
    assert.equal((await cli('cancel', 'no-such-id')).code !== 0, true);

    assert.match((await cli('pairs', 'remove', pair.id)).out, /no file was deleted/);
  } finally {
    run.child.kill('SIGTERM');
  }
  assert.equal(await run.exited, 0, run.err());
  assert.equal(existsSync(controlSocketPath(home)!), false, 'the socket is removed on exit');
  // the home is free: commands run locally again
  assert.match((await cli('pause')).out, /no cloudreve-sync process runs this home/);
});

test('a killed `run` leaves a stale socket: commands still work, and the next `run` replaces it', async () => {
  const first = startRun();
  await first.ready();
  first.child.kill('SIGKILL');
  await first.exited;
  assert.ok(existsSync(controlSocketPath(home)!), 'the killed process could not remove its socket');
  assert.equal((await cli('pairs', 'list')).code, 0);
  const second = startRun();
  try {
    await second.ready();
    const f = dir.file('two.txt', 'again');
    const up = await cli('upload', f, '--to', 'cloudreve://my/viasock');
    assert.equal(up.code, 0, up.out + up.err);
    assert.match(up.err, /control socket/);
  } finally {
    second.child.kill('SIGTERM');
  }
  assert.equal(await second.exited, 0, second.err());
});
