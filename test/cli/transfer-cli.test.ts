/**
 * `cloudreve-sync upload | transfers | resume | cancel` against the emulator, in-process (runCli).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../main/cli.js';
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
