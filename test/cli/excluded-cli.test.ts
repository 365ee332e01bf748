/**
 * Selective sync from the command line: `pairs add --exclude-remote`, `pairs exclude|include`, `pairs list --json`
 * showing the list, and `sync --exclude-remote` leaving the folder out (runCli in-process, the emulator).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { changeExcluded } from '../../main/cli/sync-commands.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { cli as runCliIn } from '../helpers/cli-run.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('excluded folders on the command line', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let home: string;
  const cli = (...argv: string[]) => runCliIn(['--home', home, ...argv], { stdin: `${emu.password}\n` });

  before(async () => {
    emu = await startEmulator();
    dir = tmpDir();
    home = join(dir.path, 'home');
    const login = await cli('login', '--server', emu.url, '--email', emu.email, '--password-stdin');
    assert.equal(login.code, 0, login.err);
  });
  after(async () => {
    await emu.close();
    dir.cleanup();
  });

  test('the list a command makes: added, removed, a folder inside an excluded one refused', () => {
    assert.deepEqual(changeExcluded(['big'], 'exclude', ['a/', 'big/sub']), ['a', 'big']);
    assert.deepEqual(changeExcluded(['a', 'big'], 'include', ['/big']), ['a']);
    assert.throws(() => changeExcluded(['big'], 'include', ['big/sub']), /inside the excluded folder big/);
    assert.throws(() => changeExcluded(['big'], 'include', ['other']), /not excluded/);
    assert.throws(() => changeExcluded([], 'exclude', []), /needs a pair ID and one or more folders/);
  });

  test('pairs add --exclude-remote, pairs exclude / include, pairs list --json', async () => {
    const local = join(dir.path, 'p');
    mkdirSync(local);
    const add = await cli('pairs', 'add', local, '/p', '--mode', 'two-way', '--exclude-remote', 'big', '--exclude-remote', 'a/b/', '--json');
    assert.equal(add.code, 0, add.err);
    const id = (JSON.parse(add.out) as { id: string }).id;
    const list = async () => (JSON.parse((await cli('pairs', 'list', '--json')).out) as Array<{ id: string; excludeRemote: string[] }>).find((p) => p.id === id)!.excludeRemote;
    assert.deepEqual(await list(), ['a/b', 'big']);
    const ex = await cli('pairs', 'exclude', id.slice(0, 8), 'c d', 'Cafe\u0301');
    assert.equal(ex.code, 0, ex.err);
    assert.match(ex.out, /excluded: Café a\/b big c d/);
    assert.equal((await cli('pairs', 'include', id, 'big', 'c d')).code, 0);
    assert.deepEqual(await list(), ['Café', 'a/b']);
    const inside = await cli('pairs', 'include', id, 'a/b/c');
    assert.equal(inside.code, 2);
    assert.match(inside.err, /inside the excluded folder a\/b/);
    assert.equal((await cli('pairs', 'exclude', id, '../up')).code, 2);
    assert.equal((await cli('pairs', 'exclude', id)).code, 2);
    assert.deepEqual(await list(), ['Café', 'a/b']);
    assert.match((await cli('pairs', 'list')).out, /excluded: Café a\/b/);
  });

  test('sync --exclude-remote: the folder stays out, the rest goes up', async () => {
    dir.file('s/keep/a.txt', 'a');
    dir.file('s/skip/b.txt', 'b');
    const r = await cli('sync', join(dir.path, 's'), '/s', '--exclude-remote', 'skip');
    assert.equal(r.code, 0, r.err);
    assert.equal(emu.blob('cloudreve://my/s/keep/a.txt')?.toString(), 'a');
    assert.equal(emu.file('cloudreve://my/s/skip'), null);
    assert.equal((await cli('sync', join(dir.path, 's'), '/s', '--exclude-remote', '..')).code, 2);
  });

  test('through a running process (its control socket): pairs add --exclude-remote, exclude, include; sync refuses another list', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main/cli.ts'), '--home', home, 'run'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: '/nonexistent-home' },
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 300 && !/Ctrl-C to stop/.test(err); i++) await sleep(100);
      assert.match(err, /other commands on this home reach this process/, err);
      const local = join(dir.path, 'sock');
      mkdirSync(local);
      const add = await cli('pairs', 'add', local, '/sock', '--exclude-remote', 'big', '--json');
      assert.equal(add.code, 0, add.err);
      const id = (JSON.parse(add.out) as { id: string; excludeRemote: string[] }).id;
      assert.deepEqual((JSON.parse(add.out) as { excludeRemote: string[] }).excludeRemote, ['big']);
      const ex = await cli('pairs', 'exclude', id.slice(0, 8), 'x');
      assert.equal(ex.code, 0, ex.err);
      assert.match(ex.out, /excluded: big x/);
      assert.match(ex.err, /control socket/);
      assert.equal((await cli('pairs', 'include', id, 'big')).code, 0);
      const list = JSON.parse((await cli('pairs', 'list', '--json')).out) as Array<{ id: string; excludeRemote: string[] }>;
      assert.deepEqual(list.find((p) => p.id === id)?.excludeRemote, ['x']);
      const refused = await cli('sync', local, '/sock', '--exclude-remote', 'other');
      assert.equal(refused.code, 2, refused.err);
      assert.match(refused.err, /--exclude-remote: another cloudreve-sync process/);
      const same = await cli('sync', local, '/sock', '--exclude-remote', 'x/');
      assert.equal(same.code, 0, same.err);
      const dry = await cli('sync', local, '/sock', '--dry-run', '--exclude-remote', 'y');
      assert.ok(dry.code === 0 || dry.code === 1, dry.err);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, err);
  });
});
