/**
 * Collecting local paths for an upload: special files, link loops, dangling links and links to folders are left out
 * with a reason, never aborting the rest; given paths are followed like `cp -H`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { collectTree } from '../../main/engine/fs/local-tree.js';
import { startEmulator } from '../emulator/index.js';
import { createEngine, type SkippedEntry } from '../../main/engine/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const isRoot = process.getuid?.() === 0;

test('special entries inside a folder are warnings; the regular files are all collected', async () => {
  const d = tmpDir();
  const sock = createServer();
  try {
    const a = d.file('tree/a.txt', 'a');
    const b = d.file('tree/sub/b.txt', 'bb');
    mkdirSync(join(d.path, 'tree/empty'));
    execFileSync('mkfifo', [join(d.path, 'tree/pipe')]);
    await new Promise<void>((r) => sock.listen(join(d.path, 'tree/sock'), r));
    symlinkSync('/dev/null', join(d.path, 'tree/dev'));
    symlinkSync('loop2', join(d.path, 'tree/loop1'));
    symlinkSync('loop1', join(d.path, 'tree/loop2'));
    symlinkSync('missing', join(d.path, 'tree/dangling'));
    symlinkSync('sub', join(d.path, 'tree/to-folder'));
    symlinkSync('a.txt', join(d.path, 'tree/to-file'));
    const tree = await collectTree([join(d.path, 'tree')], 'cloudreve://my/t');
    assert.deepEqual(tree.files.map((f) => [f.path, f.uri]), [
      [a, 'cloudreve://my/t/tree/a.txt'],
      [b, 'cloudreve://my/t/tree/sub/b.txt'],
      [join(d.path, 'tree/to-file'), 'cloudreve://my/t/tree/to-file'],
    ]);
    assert.deepEqual(tree.folders, ['cloudreve://my/t/tree', 'cloudreve://my/t/tree/empty', 'cloudreve://my/t/tree/sub']);
    const why = Object.fromEntries(tree.skipped.map((s) => [s.path.slice(d.path.length + 1), s.reason]));
    assert.deepEqual(why, {
      'tree/dangling': 'skipped: broken symbolic link (its target does not exist)',
      'tree/dev': 'skipped: not a regular file (a device)',
      'tree/loop1': 'skipped: symbolic link loop',
      'tree/loop2': 'skipped: symbolic link loop',
      'tree/pipe': 'skipped: not a regular file (a FIFO)',
      'tree/sock': 'skipped: not a regular file (a socket)',
      'tree/to-folder': 'skipped: symbolic link to a folder (links are not followed into folders)',
    });
    assert.ok(tree.skipped.every((s) => !s.failure), 'inside a folder these are warnings, not failures');
  } finally {
    sock.close();
    d.cleanup();
  }
});

test('given paths: links are followed (also to folders); a loop, a missing path or a FIFO given directly is a failure', async () => {
  const d = tmpDir();
  try {
    d.file('real/x.txt', 'x');
    symlinkSync(join(d.path, 'real'), join(d.path, 'link'));
    symlinkSync('self', join(d.path, 'self'));
    execFileSync('mkfifo', [join(d.path, 'fifo')]);
    const tree = await collectTree([join(d.path, 'link'), join(d.path, 'self'), join(d.path, 'nope'), join(d.path, 'fifo')], 'cloudreve://my');
    assert.deepEqual(tree.files.map((f) => f.uri), ['cloudreve://my/link/x.txt']);
    assert.deepEqual(tree.skipped.map((s) => [s.path.slice(d.path.length + 1), s.reason, s.failure]), [
      ['self', 'skipped: symbolic link loop', true],
      ['nope', 'skipped: no such file or directory', true],
      ['fifo', 'skipped: not a regular file (a FIFO)', true],
    ]);
  } finally {
    d.cleanup();
  }
});

test('an unreadable folder is a failure, its siblings still go', { skip: isRoot ? 'root reads every folder' : false }, async () => {
  const d = tmpDir();
  try {
    d.file('t/ok.txt', 'ok');
    d.file('t/locked/secret.txt', 's');
    chmodSync(join(d.path, 't/locked'), 0o000);
    const tree = await collectTree([join(d.path, 't')], 'cloudreve://my');
    assert.deepEqual(tree.files.map((f) => f.uri), ['cloudreve://my/t/ok.txt']);
    assert.deepEqual(tree.skipped.map((s) => [s.reason, s.failure]), [['skipped: cannot read the folder: permission denied', true]]);
    chmodSync(join(d.path, 't/locked'), 0o700);
  } finally {
    d.cleanup();
  }
});

test('engine: a FIFO in a folder does not stop the upload; the warning is a log event and an onSkipped call', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const d = tmpDir();
  const engine = await createEngine({ home: join(d.path, 'home') });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const a = d.random('docs/a.bin', 1000);
    execFileSync('mkfifo', [join(d.path, 'docs/pipe')]);
    const logs: string[] = [];
    engine.events.on('log', (l) => l.level === 'warn' && logs.push(l.message));
    const skipped: SkippedEntry[] = [];
    const ids = await engine.enqueue([join(d.path, 'docs')], 'cloudreve://my/f', { onSkipped: (s) => skipped.push(s) });
    await engine.idle();
    assert.equal(ids.length, 1);
    assert.equal(engine.transfer(ids[0])!.state, 'done');
    assert.ok(emu.blob('cloudreve://my/f/docs/a.bin')!.equals(a.data));
    assert.deepEqual(logs, [`${join(d.path, 'docs/pipe')}: skipped: not a regular file (a FIFO)`]);
    assert.deepEqual(skipped, [{ path: join(d.path, 'docs/pipe'), reason: 'skipped: not a regular file (a FIFO)', failure: false }]);
  } finally {
    await engine.close();
    await emu.close();
    d.cleanup();
  }
});

test('ignored: entries inside a given folder are left out as warnings with the reason; a given path never is', async () => {
  const d = tmpDir();
  try {
    const keep = d.file('tree/report.txt', 'r');
    d.file('tree/.DS_Store', 'x');
    d.file('tree/sub/~$report.docx', 'x');
    d.file('tree/cache/blob', 'x');
    const given = d.file('Thumbs.db', 't');
    const isLitter = (rel: string, isFolder: boolean): boolean => rel.endsWith('.DS_Store') || rel.includes('~$') || (isFolder && rel === 'cache') || rel === 'Thumbs.db';
    const tree = await collectTree([join(d.path, 'tree'), given], 'cloudreve://my/t', { ignored: isLitter, ignoredReason: 'litter' });
    assert.deepEqual(tree.files.map((f) => f.path), [keep, given]);
    assert.deepEqual(tree.folders, ['cloudreve://my/t/tree', 'cloudreve://my/t/tree/sub']);
    assert.deepEqual(
      tree.skipped.map((s) => [s.path.slice(d.path.length + 1), s.reason, s.failure]),
      [
        ['tree/.DS_Store', 'skipped: ignored (litter)', false],
        ['tree/cache', 'skipped: ignored (litter)', false],
        ['tree/sub/~$report.docx', 'skipped: ignored (litter)', false],
      ],
    );
  } finally {
    d.cleanup();
  }
});

test('engine: upload of a folder leaves out the default litter (sync pairs\' DEFAULT_IGNORES) and says so', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const d = tmpDir();
  const engine = await createEngine({ home: join(d.path, 'home') });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const a = d.random('docs/a.bin', 1000);
    d.file('docs/.DS_Store', 'x');
    d.file('docs/sub/report.docx.part', 'x');
    d.file('docs/sub/.~lock.report.odt#', 'x');
    const skipped: SkippedEntry[] = [];
    const ids = await engine.enqueue([join(d.path, 'docs')], 'cloudreve://my/g', { onSkipped: (s) => skipped.push(s) });
    await engine.idle();
    assert.equal(ids.length, 1);
    assert.ok(emu.blob('cloudreve://my/g/docs/a.bin')!.equals(a.data));
    assert.equal(emu.blob('cloudreve://my/g/docs/.DS_Store'), null);
    assert.equal(emu.blob('cloudreve://my/g/docs/sub/report.docx.part'), null);
    const reason = 'skipped: ignored (OS or editor litter, a default ignore rule)';
    assert.deepEqual(skipped, [
      { path: join(d.path, 'docs/.DS_Store'), reason, failure: false },
      { path: join(d.path, 'docs/sub/.~lock.report.odt#'), reason, failure: false },
      { path: join(d.path, 'docs/sub/report.docx.part'), reason, failure: false },
    ]);
  } finally {
    await engine.close();
    await emu.close();
    d.cleanup();
  }
});
