/**
 * Commands that reach a running `run` through its control socket (issue 16 §9):
 *   - a new `login` is taken by the running process: a pair left `login-required` by a revoked login goes on at once,
 *     without a restart;
 *   - every flag is honoured or the command refused with the reason: `sync --dry-run` changes nothing (its --mode and
 *     --ignore apply), `upload --limit-rate` / `resume --concurrency` are refused before anything is queued, a
 *     `sync --mode` other than the pair's is refused, `resume --json` prints JSON, `sync --watch` follows the pair.
 * Loopback only; every wait is bounded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentialsPath } from '../../main/engine/api/credentials.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { cli as runCli } from '../helpers/cli-run.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let emu: Emulator;
let dir: TmpDir;

before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu.close();
  dir?.cleanup();
});

/** A CLI process from the sources (what a user runs in another terminal). */
function spawnCli(home: string, argv: string[]): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main/cli.ts'), '--home', home, ...argv], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: '/nonexistent-home' },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function startRun(home: string) {
  const run = spawnCli(home, ['run']);
  for (let i = 0; i < 300 && !/Ctrl-C to stop/.test(run.err()); i++) await sleep(100);
  assert.match(run.err(), /other commands on this home reach this process/, run.err());
  return run;
}

async function stop(p: { child: ChildProcess; exited: Promise<number | null> }): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const kill = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  const code = await p.exited;
  clearTimeout(kill);
  return code;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(200);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a `login` while `run` holds the home is taken by it: a pair waiting for a login goes on without a restart', async () => {
  dir = tmpDir();
  const home = join(dir.path, 'login-home');
  const cli = (...argv: string[]) => runCli(['--home', home, ...argv], { env: { CLOUDREVE_PASSWORD: emu.password } });
  emu.tune({ accessTtl: 2 }); // access tokens die fast: the running engine must refresh, which fails once revoked
  try {
    assert.equal((await cli('login', '--server', emu.url, '--email', emu.email)).code, 0);
    const local = join(dir.path, 'docs');
    mkdirSync(local);
    writeFileSync(join(local, 'a.txt'), 'A');
    assert.equal((await cli('pairs', 'add', local, '/relogin')).code, 0);
    const run = await startRun(home);
    try {
      await until('a.txt uploaded', () => emu.blob('cloudreve://my/relogin/a.txt')?.toString() === 'A');

      // the server invalidates the login (signed out everywhere): the next pass finds the pair login-required
      const { tokens } = JSON.parse(readFileSync(credentialsPath(home), 'utf8')) as { tokens: { refresh_token: string } };
      const r = await fetch(`${emu.url}/api/v4/session/token`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: tokens.refresh_token }) });
      assert.equal(r.status, 200);
      await sleep(2500);
      writeFileSync(join(local, 'b.txt'), 'B');
      const state = async () => (JSON.parse((await cli('pairs', 'list', '--json')).out) as Array<{ state: string }>)[0]?.state;
      await until('the pair to wait for a login', async () => (await state()) === 'login-required');

      const login = await cli('login', '--server', emu.url, '--email', emu.email);
      assert.equal(login.code, 0, login.err);
      assert.match(login.out, /process running on this home .* uses this login now/);
      await until('b.txt uploaded after the new login', () => emu.blob('cloudreve://my/relogin/b.txt')?.toString() === 'B', 20_000);
      await until('the pair idle again', async () => (await state()) === 'idle', 20_000);
    } finally {
      assert.equal(await stop(run), 0, run.err());
    }
  } finally {
    emu.tune({ accessTtl: 3600 });
  }
});

test('flags through the control socket: honoured, or the command is refused with the reason', async () => {
  dir ??= tmpDir();
  const home = join(dir.path, 'flags-home');
  const cli = (...argv: string[]) => runCli(['--home', home, ...argv], { env: { CLOUDREVE_PASSWORD: emu.password } });
  assert.equal((await cli('login', '--server', emu.url, '--email', emu.email)).code, 0);
  const local = join(dir.path, 'pics');
  mkdirSync(local);
  writeFileSync(join(local, 'keep.jpg'), 'K');
  writeFileSync(join(local, 'gone.jpg'), 'G');
  const add = await cli('pairs', 'add', local, '/flags', '--json');
  assert.equal(add.code, 0, add.err);
  const pairId = (JSON.parse(add.out) as { id: string }).id;
  const run = await startRun(home);
  try {
    await until('the first pass', () => emu.blob('cloudreve://my/flags/gone.jpg') !== null && emu.blob('cloudreve://my/flags/keep.jpg') !== null);
    await until('the pair idle', async () => (JSON.parse((await cli('pairs', 'list', '--json')).out) as Array<{ state: string }>)[0]?.state === 'idle');
    // paused: the running process leaves the folder alone, so whatever changes on the server is the dry run's doing
    assert.equal((await cli('pairs', 'pause', pairId)).code, 0);
    rmSync(join(local, 'gone.jpg'));
    writeFileSync(join(local, 'new.jpg'), 'N');
    writeFileSync(join(local, 'skip.raw'), 'T');
    const sessionsBefore = emu.stats().sessions_created;

    // sync --dry-run through the socket: what a mirror pass would do (its --mode and --ignore), and nothing done
    const dry = await cli('sync', local, '/flags', '--dry-run', '--mode', 'mirror', '--ignore', '*.raw');
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.err, /control socket/);
    assert.match(dry.out, /would upload +new\.jpg/);
    assert.match(dry.out, /would delete-remote +gone\.jpg/);
    assert.doesNotMatch(dry.out, /skip\.tmp/);
    const dryJson = await cli('sync', local, '/flags', '--dry-run', '--json');
    assert.equal(dryJson.code, 0, dryJson.err);
    const report = JSON.parse(dryJson.out) as { event: string; dryRun: boolean; actions: Array<{ rel: string; action: string }> };
    assert.equal(report.event, 'pass');
    assert.equal(report.dryRun, true);
    assert.ok(report.actions.some((a) => a.rel === 'skip.raw'), 'without --ignore the pair\'s own rules apply');
    assert.ok(!report.actions.some((a) => a.rel === 'gone.jpg'), 'backup (the pair\'s mode) deletes nothing');
    // a folder that is no pair: previewed too, and still no pair
    const other = join(dir.path, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'o.txt'), 'O');
    const dryOther = await cli('sync', other, '/other', '--dry-run');
    assert.equal(dryOther.code, 0, dryOther.err);
    assert.match(dryOther.out, /would upload +o\.txt/);
    await sleep(1000);
    assert.equal(emu.blob('cloudreve://my/flags/new.jpg'), null, 'the dry run uploaded nothing');
    assert.equal(emu.blob('cloudreve://my/flags/gone.jpg')?.toString(), 'G', 'the dry run trashed nothing');
    assert.equal(emu.blob('cloudreve://my/other/o.txt'), null);
    assert.equal(emu.stats().sessions_created, sessionsBefore, "no upload session was opened");
    assert.equal((JSON.parse((await cli('pairs', 'list', '--json')).out) as unknown[]).length, 1, 'no pair added');

    // process-wide flags: refused before anything is queued in the running process
    const f = dir.file('up.bin', 'upload me');
    const transfersBefore = (await cli('transfers', '--json')).out;
    const limited = await cli('upload', f, '--to', '/flags-up', '--limit-rate', '1M');
    assert.equal(limited.code, 2, limited.out + limited.err);
    assert.match(limited.err, /--limit-rate: another cloudreve-sync process .* one bandwidth limit .* for all its transfers/);
    assert.equal((await cli('transfers', '--json')).out, transfersBefore, 'nothing queued');
    const conc = await cli('resume', '--concurrency', '2');
    assert.equal(conc.code, 2);
    assert.match(conc.err, /--concurrency: .*number of files in flight/);
    const syncLimited = await cli('sync', local, '/flags', '--limit-rate', '1M');
    assert.equal(syncLimited.code, 2);
    assert.match(syncLimited.err, /--limit-rate/);
    await sleep(500);
    assert.equal(emu.blob('cloudreve://my/flags-up/up.bin'), null);
    // the same upload without the flag goes through
    const up = await cli('upload', f, '--to', '/flags-up');
    assert.equal(up.code, 0, up.err);
    assert.equal(emu.blob('cloudreve://my/flags-up/up.bin')?.toString(), 'upload me');

    // a pass through the running process follows the pair's settings: another mode or ignore list is refused
    assert.equal((await cli('pairs', 'resume', pairId)).code, 0);
    const mirror = await cli('sync', local, '/flags', '--mode', 'mirror');
    assert.equal(mirror.code, 2);
    assert.match(mirror.err, /--mode mirror: .* syncs this pair in backup mode/);
    const ignore = await cli('sync', local, '/flags', '--ignore', '*.jpg');
    assert.equal(ignore.code, 2);
    assert.match(ignore.err, /--ignore: .* its own ignore rules/);
    assert.equal((await cli('sync', local, '/flags', '--mode', 'backup')).code, 0, 'the pair\'s own mode is fine');

    // resume --json through the socket
    const resumed = await cli('resume', '--json');
    assert.equal(resumed.code, 0, resumed.err);
    assert.deepEqual(JSON.parse(resumed.out), { event: 'resumed', all: true });

    // sync --watch through the socket: follows what the running process does with the pair until stopped
    const watch = spawnCli(home, ['sync', local, '/flags', '--watch']);
    try {
      await until('the watch to start', () => /watching for changes/.test(watch.err()));
      writeFileSync(join(local, 'later.jpg'), 'L');
      await until('the upload reported', () => /uploaded .*later\.jpg/.test(watch.out()));
    } finally {
      watch.child.kill('SIGINT');
    }
    assert.equal(await stop(watch), 130, watch.err());
    assert.equal(emu.blob('cloudreve://my/flags/later.jpg')?.toString(), 'L');
  } finally {
    assert.equal(await stop(run), 0, run.err());
  }
});
