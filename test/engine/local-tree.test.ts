/** What an upload of local paths covers (main/engine/fs/local-tree.ts), on real files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { collectUploads, type UploadTree } from '../../main/engine/fs/local-tree.js';
import { tmpDir } from '../helpers/tmp-tree.js';

test('a folder: files in sorted walk order, every folder (empty ones too) before its content', async () => {
  const d = tmpDir();
  try {
    d.file('top/b.txt', 'b');
    d.file('top/a/x.txt', 'x');
    mkdirSync(join(d.path, 'top/empty'));
    const tree: UploadTree = { files: [], folders: [] };
    const warnings: string[] = [];
    await collectUploads(join(d.path, 'top'), 'cloudreve://my/dst', tree, (m) => warnings.push(m));
    assert.deepEqual(tree.folders, ['cloudreve://my/dst/top', 'cloudreve://my/dst/top/a', 'cloudreve://my/dst/top/empty']);
    assert.deepEqual(tree.files, [
      { path: join(d.path, 'top/a/x.txt'), uri: 'cloudreve://my/dst/top/a/x.txt' },
      { path: join(d.path, 'top/b.txt'), uri: 'cloudreve://my/dst/top/b.txt' },
    ]);
    assert.deepEqual(warnings, []);
  } finally {
    d.cleanup();
  }
});

test('symbolic links: to a file uploaded, to a folder or broken skipped with a warning', { skip: process.platform === 'win32' }, async () => {
  const d = tmpDir();
  try {
    d.file('src/real.txt', 'r');
    d.file('elsewhere/inner.txt', 'i');
    symlinkSync(join(d.path, 'src/real.txt'), join(d.path, 'src/link.txt'));
    symlinkSync(join(d.path, 'elsewhere'), join(d.path, 'src/dirlink'));
    symlinkSync(join(d.path, 'nowhere'), join(d.path, 'src/broken'));
    const tree: UploadTree = { files: [], folders: [] };
    const warnings: string[] = [];
    await collectUploads(join(d.path, 'src'), 'cloudreve://my', tree, (m) => warnings.push(m));
    assert.deepEqual(tree.files.map((f) => f.uri), ['cloudreve://my/src/link.txt', 'cloudreve://my/src/real.txt']);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join('\n'), /broken symbolic link/);
    assert.match(warnings.join('\n'), /symbolic link to a folder/);
  } finally {
    d.cleanup();
  }
});

test('a missing path is a local-io error naming it', async () => {
  const d = tmpDir();
  try {
    const tree: UploadTree = { files: [], folders: [] };
    await assert.rejects(collectUploads(join(d.path, 'missing'), 'cloudreve://my', tree, () => {}), {
      code: 'local-io',
      message: /missing: no such file or directory/,
    });
  } finally {
    d.cleanup();
  }
});
