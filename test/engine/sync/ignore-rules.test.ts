/** Ignore rules: gitignore syntax on top of the default litter list. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_IGNORES, IgnoreRules } from '../../../main/engine/sync/ignore-rules.js';

test('the default list ignores OS and editor litter anywhere, and nothing else', () => {
  const r = new IgnoreRules([]);
  for (const p of ['.DS_Store', 'a/b/Thumbs.db', 'desktop.ini', 'docs/~$report.docx', '.~lock.sheet.ods#', 'x.tmp', 'dl/big.iso.part', 'f.crdownload', '.notes.txt.swp']) {
    assert.equal(r.ignores(p, false), true, p);
  }
  for (const p of ['report.docx', 'a/tmp/file.txt', 'partial.txt', 'sheet.ods', 'Thumbs.db.txt']) {
    assert.equal(r.ignores(p, false), false, p);
  }
  assert.ok(DEFAULT_IGNORES.includes('*.swp'));
});

test('gitignore syntax: folder-only patterns, anchors, globs, negation re-includes a default', () => {
  const r = new IgnoreRules(['node_modules/', '/build', '**/*.log', '!keep.tmp']);
  const table: Array<[string, boolean, boolean]> = [
    ['node_modules', true, true],
    ['node_modules', false, false], // a file called node_modules is not a folder
    ['src/node_modules', true, true],
    ['build', true, true],
    ['src/build', true, false], // anchored to the pair's root
    ['a/b/c.log', false, true],
    ['keep.tmp', false, false],
    ['other.tmp', false, true],
  ];
  for (const [path, folder, expected] of table) assert.equal(r.ignores(path, folder), expected, `${path} (${folder ? 'folder' : 'file'})`);
});

test('defaults can be switched off', () => {
  assert.equal(new IgnoreRules([], { defaults: false }).ignores('.DS_Store', false), false);
});

test('an empty or multi-line pattern is a usage error naming it', () => {
  assert.throws(() => new IgnoreRules(['']), { code: 'usage' });
  assert.throws(() => new IgnoreRules(['a\nb']), { code: 'usage', message: /a\\nb/ });
});
