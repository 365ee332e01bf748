/**
 * `cloudreve-sync upload | transfers | resume | cancel` against the emulator, in-process (runCli).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../main/cli.js';
import { transferCommands } from '../../main/cli/transfer-commands.js';
import { authCommands } from '../../main/cli/auth-commands.js';
import { lockHome } from '../../main/engine/home-lock.js';
import { createEngine } from '../../main/engine/index.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { cli } from '../helpers/cli-run.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

describe('upload: what is left out while collecting', () => {
  let emu: Emulator;
  let d: TmpDir;
  let home: string;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    d = tmpDir();
    home = join(d.path, 'home');
    const login = await cli(['--home', home, 'login', '--server', emu.url, '--email', emu.email, '--password-stdin'], { stdin: emu.password });
    assert.equal(login.code, 0, login.err);
  });
  after(async () => {
    await emu.close();
    d.cleanup();
  });

  test('a FIFO, a link loop and a link to a folder inside a folder: warnings on stderr, the rest uploaded, exit 0', async () => {
    const a = d.random('tree/a.bin', 5000);
    execFileSync('mkfifo', [join(d.path, 'tree/pipe')]);
    symlinkSync('loop', join(d.path, 'tree/loop'));
    symlinkSync('/tmp', join(d.path, 'tree/tmp-link'));
    const r = await cli(['--home', home, 'upload', join(d.path, 'tree'), '--to', 'cloudreve://my/c1']);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.match(r.err, /warning: .*tree\/pipe: skipped: not a regular file \(a FIFO\)/);
    assert.match(r.err, /warning: .*tree\/loop: skipped: symbolic link loop/);
    assert.match(r.err, /warning: .*tree\/tmp-link: skipped: symbolic link to a folder/);
    assert.match(r.out, /1 uploaded, 0 skipped, 0 failed/);
    assert.ok(emu.blob('cloudreve://my/c1/tree/a.bin')!.equals(a.data));
  });

  test('OS/editor litter inside a folder (the default ignore rules of a pair): left out with the reason, the rest uploaded', async () => {
    const a = d.random('litter/a.bin', 3000);
    d.file('litter/Thumbs.db', 'x');
    d.file('litter/sub/draft.swp', 'x');
    const r = await cli(['--home', home, 'upload', join(d.path, 'litter'), '--to', 'cloudreve://my/c0']);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.match(r.err, /warning: .*litter\/Thumbs\.db: skipped: ignored \(OS or editor litter, a default ignore rule\)/);
    assert.match(r.err, /warning: .*litter\/sub\/draft\.swp: skipped: ignored/);
    assert.match(r.out, /1 uploaded, 0 skipped, 0 failed/);
    assert.ok(emu.blob('cloudreve://my/c0/litter/a.bin')!.equals(a.data));
    assert.equal(emu.blob('cloudreve://my/c0/litter/Thumbs.db'), null);
    assert.equal(emu.blob('cloudreve://my/c0/litter/sub/draft.swp'), null);
  });

  test('a symlink loop given directly: the reason, "nothing to upload", exit 1, nothing created on the server', async () => {
    symlinkSync('me', join(d.path, 'me'));
    emu.resetStats();
    const r = await cli(['--home', home, 'upload', join(d.path, 'me'), '--to', 'cloudreve://my/c2']);
    assert.equal(r.code, EXIT.PARTIAL, r.err);
    assert.match(r.err, /me: skipped: symbolic link loop/);
    assert.match(r.out, /nothing to upload/);
    assert.equal(emu.file('cloudreve://my/c2'), null);
    const j = await cli(['--home', home, 'upload', join(d.path, 'me'), '--to', 'cloudreve://my/c2', '--json']);
    assert.equal(j.code, EXIT.PARTIAL);
    const lines = j.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { event: 'log', level: 'warn', message: `${join(d.path, 'me')}: skipped: symbolic link loop` });
    assert.deepEqual(lines.at(-1), { event: 'summary', uploaded: 0, skipped: 0, failed: 1 });
  });

  test('a missing path beside a good one: the good one is uploaded, exit 1 naming the missing one', async () => {
    const ok = d.random('ok.bin', 100);
    const r = await cli(['--home', home, 'upload', ok.path, join(d.path, 'absent.txt'), '--to', 'cloudreve://my/c3']);
    assert.equal(r.code, EXIT.PARTIAL, r.err);
    assert.match(r.out, /1 uploaded, 0 skipped, 1 failed/);
    assert.match(r.err, /failed: .*absent\.txt: skipped: no such file or directory/);
    assert.ok(emu.blob('cloudreve://my/c3/ok.bin')!.equals(ok.data));
  });
});

describe('command lines a new user types', () => {
  let emu: Emulator;
  let d: TmpDir;
  let home: string;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    d = tmpDir();
    home = join(d.path, 'home');
    const login = await cli(['--home', home, 'login', '--server', emu.url, '--email', emu.email, '--password-stdin'], { stdin: emu.password });
    assert.equal(login.code, 0, login.err);
  });
  after(async () => {
    await emu.close();
    d.cleanup();
  });

  test('bad values are usage errors (exit 2) with a clear one-line reason', async () => {
    const f = d.file('u.txt', 'u');
    const cases: Array<[string[], RegExp]> = [
      [['upload', f, '--to', 'x', '--limit-rate', '-5M'], /--limit-rate: invalid rate "-5M"/],
      [['upload', f, '--to', 'x', '--limit-rate', '0.4'], /--limit-rate: "0.4" is less than 1 byte\/s \(use 0 or off for no limit\)/],
      [['upload', f, '--to', 'x', '--limit-rate=fast'], /--limit-rate: invalid rate "fast"/],
      [['resume', '--limit-rate', '-1'], /--limit-rate: invalid rate "-1"/],
      [['upload', f, '--to', 'http://example.com/x'], /--to: "http:\/\/example.com\/x" is not a Cloudreve folder/],
      [['upload', f, '--to', 'cloudreve://'], /--to: "cloudreve:\/\/" names no file system/],
      [['upload', f, '--to', 'x', '--concurrency', '0'], /--concurrency must be an integer from 1 to 64/],
      [['upload', f, '--to', 'x', '--priority', 'high'], /--priority must be an integer/],
      [['upload', f], /--to <cloudreve-uri\|folder> is required/],
      [['cancel'], /give a transfer id/],
    ];
    for (const [argv, re] of cases) {
      const r = await cli(['--home', home, ...argv]);
      assert.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: ${r.err}`);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, re, argv.join(' '));
      assert.doesNotMatch(r.err, /ambiguous|(upload|cancel|resume): (upload|cancel|resume):/, r.err);
    }
    assert.equal(emu.file('cloudreve://my/x'), null, 'nothing was created');
    const c = await cli(['--home', home, 'cancel', 'nonexistent']);
    assert.equal(c.err, 'cloudreve-sync cancel: no transfer nonexistent (`cloudreve-sync transfers` lists them)\n');
    assert.notEqual(c.code, EXIT.OK);
  });

  test('a negative priority and a value starting with "-" are taken as values', async () => {
    const f = d.random('neg.bin', 10);
    const r = await cli(['--home', home, 'upload', f.path, '--to', 'neg', '--priority', '-3', '--json']);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.ok(emu.blob('cloudreve://my/neg/neg.bin')!.equals(f.data));
  });

  test('every flag of every command has a description in its --help', async () => {
    for (const [name, spec] of Object.entries({ ...authCommands, ...transferCommands })) {
      const r = await cli([name, '--help']);
      assert.equal(r.code, 0);
      for (const flag of Object.keys(spec.flags)) {
        assert.match(r.out, new RegExp(`^  --${flag}(?: [A-Z]+)? +\\S.{10,}$`, 'm'), `${name} --${flag}: ${r.out}`);
      }
    }
    const up = await cli(['upload', '--help']);
    assert.match(up.out, /--priority N +queue order: higher first/);
  });

  test('transfers: an upload stopped mid-way is "interrupted" when no process drives it, its state while one does', async () => {
    const f = d.random('int.bin', 40 * 64 * 1024);
    const engine = await createEngine({ home, bandwidthLimit: 256 * 1024 });
    const [id] = await engine.enqueue([f.path], 'cloudreve://my/int');
    await new Promise<void>((resolve) => {
      const off = engine.events.on('transfer-progressed', (p) => {
        if (p.id === id && p.bytesDone > 3 * 64 * 1024) {
          off();
          resolve();
        }
      });
    });
    await engine.close(); // like Ctrl-C: the journal keeps it as it was
    const r = await cli(['--home', home, 'transfers']);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`^${id}  interrupted +\\d+%`, 'm'), r.out);
    const j = JSON.parse((await cli(['--home', home, 'transfers', '--json'])).out) as Array<{ id: string; state: string; interrupted: boolean }>;
    assert.deepEqual(j.filter((t) => t.id === id).map((t) => [t.state, t.interrupted]), [['uploading', true]]);
    const lock = lockHome(home); // a process drives the home: the journal's state is live
    try {
      const live = await cli(['--home', home, 'transfers']);
      assert.match(live.out, new RegExp(`^${id}  uploading +\\d+%`, 'm'), live.out);
    } finally {
      lock.release();
    }
    const resumed = await cli(['--home', home, 'resume']);
    assert.equal(resumed.code, 0, resumed.err);
    assert.ok(emu.blob('cloudreve://my/int/int.bin')!.equals(f.data));
  });
});
