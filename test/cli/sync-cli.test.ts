/**
 * `cloudreve-sync sync | pairs | run` against the emulator: runCli() in-process, and `run` as a real child process
 * that picks up a new file through the watcher and stops cleanly on SIGTERM.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../main/cli.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('sync commands', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let home: string;
  let local: string;
  const cli = async (...argv: string[]) => {
    const stdout = new Sink();
    const stderr = new Sink();
    const code = await runCli(['--home', home, ...argv], {
      stdin: Readable.from([Buffer.from(`${emu.password}\n`)]),
      stdout,
      stderr,
      env: { PATH: process.env.PATH, HOME: '/nonexistent-home' },
      isTTY: false,
    });
    return { code, out: stdout.text, err: stderr.text };
  };

  before(async () => {
    emu = await startEmulator();
    dir = tmpDir();
    home = join(dir.path, 'home');
    local = join(dir.path, 'photos');
    mkdirSync(local);
    const login = await cli('login', '--server', emu.url, '--email', emu.email, '--password-stdin');
    assert.equal(login.code, 0, login.err);
  });
  after(async () => {
    await emu.close();
    dir.cleanup();
  });

  test('sync: --dry-run changes nothing; a pass uploads; the next pass has nothing to do', async () => {
    dir.file('photos/a.jpg', 'AAA');
    dir.file('photos/sub/b.jpg', 'BBB');
    dir.file('photos/Thumbs.db', 'litter');
    const dry = await cli('sync', local, '/photos', '--dry-run');
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /would upload +a\.jpg/);
    assert.equal(emu.file('cloudreve://my/photos/a.jpg'), null);
    const first = await cli('sync', local, '/photos');
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /^uploaded +a\.jpg$/m);
    assert.match(first.out, /2 uploaded, 0 failed, 0 renamed or moved, 1 folders created/);
    assert.equal(emu.blob('cloudreve://my/photos/sub/b.jpg')?.toString(), 'BBB');
    assert.equal(emu.file('cloudreve://my/photos/Thumbs.db'), null);
    const again = await cli('sync', local, '/photos', '--json');
    assert.equal(again.code, 0);
    assert.deepEqual(JSON.parse(again.out).actions, []);
  });

  test('sync with a full quota: the failed file is named with its reason, exit 1, the pair lists it; sent once space is freed', async () => {
    const q = join(dir.path, 'q');
    dir.file('q/small.txt', 'small');
    dir.file('q/big.bin', Buffer.alloc(300_000, 1));
    emu.tune({ quota: 1 }); // nothing fits any more
    const r = await cli('sync', q, '/q');
    assert.equal(r.code, 1, `${r.out}\n${r.err}`);
    assert.match(r.err, /not synced big\.bin: .*(free|quota|capacity)/i);
    assert.match(r.err, /not on the server/);
    const issues = await cli('pairs', 'issues', '--json');
    assert.ok((JSON.parse(issues.out) as Array<{ relPath: string; code: string }>).some((i) => i.relPath === 'big.bin' && i.code === 'quota'));
    emu.tune({ quota: 1024 ** 4 });
    await new Promise((res) => setTimeout(res, 1100));
    const ok = await cli('sync', q, '/q');
    assert.equal(ok.code, 0, `${ok.out}\n${ok.err}`);
    assert.match(ok.out, /uploaded +big\.bin/);
  });

  test('bad input: usage errors (exit 2) and a missing folder', async () => {
    assert.equal((await cli('sync', local)).code, 2);
    assert.equal((await cli('sync', local, '/x', '--mode', 'sideways')).code, 2);
    assert.equal((await cli('sync', local, '/x', '--dry-run', '--watch')).code, 2);
    const missing = await cli('sync', join(dir.path, 'nope'), '/x');
    assert.notEqual(missing.code, 0);
    assert.match(missing.err, /no such folder/);
    assert.equal((await cli('pairs', 'frobnicate')).code, 2);
  });

  test('pairs add, list, pause, resume, remove', async () => {
    const add = await cli('pairs', 'add', local, '/photos', '--ignore', '*.raw', '--json');
    assert.equal(add.code, 0, add.err);
    const pair = JSON.parse(add.out) as { id: string; ignore: string[] };
    assert.deepEqual(pair.ignore, ['*.raw']);
    const list = await cli('pairs', 'list');
    assert.match(list.out, new RegExp(`${pair.id.slice(0, 8)} +backup +idle +${local.replace(/[/\\]/g, '.')} → cloudreve://my/photos`));
    assert.match((await cli('pairs', 'pause', pair.id.slice(0, 6))).out, /paused/);
    assert.match((await cli('pairs', 'resume', pair.id)).out, /idle/);
    const dup = await cli('pairs', 'add', local, '/photos');
    assert.equal(dup.code, 2);
    assert.match(dup.err, /already synced/);
    assert.match((await cli('pairs', 'conflicts')).out, /no conflicts/);
    assert.match((await cli('pairs', 'remove', pair.id)).out, /no file was deleted/);
    assert.match((await cli('pairs', 'list')).out, /no sync pairs/);
  });

  test('run: a file written while running is uploaded through the watcher; SIGTERM stops it cleanly', async () => {
    const add = await cli('pairs', 'add', local, '/photos', '--json');
    assert.equal(add.code, 0, add.err);
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main/cli.ts'), '--home', home, 'run'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: '/nonexistent-home' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 300 && !/Ctrl-C to stop/.test(err); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(err, /syncing 1 pair/);
      for (let i = 0; i < 300 && !/idle/.test(out); i++) await new Promise((r) => setTimeout(r, 100)); // first full scan done
      writeFileSync(join(local, 'new.jpg'), 'NEW');
      for (let i = 0; i < 300 && !emu.blob('cloudreve://my/photos/new.jpg'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(emu.blob('cloudreve://my/photos/new.jpg')?.toString(), 'NEW', `stdout: ${out}\nstderr: ${err}`);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, err);
    // the home is free again
    assert.equal((await cli('pairs', 'list')).code, 0);
  });
});
