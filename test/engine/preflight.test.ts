import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkName, checkPolicy, checkQuota, numberedName } from '../../main/engine/transfer/preflight.js';
import type { StoragePolicy } from '../../main/engine/api/types.js';

const policy = (p: Partial<StoragePolicy>): StoragePolicy => ({ id: 'p', name: 'p', type: 'local', max_size: 0, ...p });

test('names Cloudreve rejects (spec §4.1)', () => {
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'a:b', 'a*b', 'a?b', 'a"b', 'a<b', 'a>b', 'a|b', 'x'.repeat(256), 'é'.repeat(128)]) {
    assert.equal(checkName(bad)?.code, 'name-rejected', JSON.stringify(bad.slice(0, 20)));
  }
  for (const good of ['a', 'a b.txt', '.bashrc', 'x'.repeat(255), 'é'.repeat(127), '日本語.pdf', "it's (1).txt"]) {
    assert.equal(checkName(good), null, good.slice(0, 20));
  }
});

test('policy suffix, regexp and size rules', () => {
  assert.equal(checkPolicy('a.exe', 1, policy({ denied_suffix: ['exe'] }))?.code, 'name-rejected');
  assert.equal(checkPolicy('a.EXE', 1, policy({ denied_suffix: ['exe'] }))?.code, 'name-rejected');
  assert.equal(checkPolicy('a.txt', 1, policy({ denied_suffix: ['exe'] })), null);
  assert.equal(checkPolicy('a.txt', 1, policy({ allowed_suffix: ['jpg', 'png'] }))?.code, 'name-rejected');
  assert.equal(checkPolicy('a.png', 1, policy({ allowed_suffix: ['jpg', 'png'] })), null);
  assert.equal(checkPolicy('noext', 1, policy({ allowed_suffix: ['jpg'] }))?.code, 'name-rejected');
  assert.equal(checkPolicy('tmp-1', 1, policy({ denied_name_regexp: '^tmp-' }))?.code, 'name-rejected');
  assert.equal(checkPolicy('ok', 1, policy({ allowed_name_regexp: '^[a-z]+$' })), null);
  assert.equal(checkPolicy('OK', 1, policy({ allowed_name_regexp: '^[a-z]+$' }))?.code, 'name-rejected');
  assert.equal(checkPolicy('a', 101, policy({ max_size: 100 }))?.code, 'too-large');
  assert.equal(checkPolicy('a', 100, policy({ max_size: 100 })), null);
  assert.equal(checkPolicy('a', 1e12, policy({ max_size: 0 })), null);
});

test('quota', () => {
  assert.equal(checkQuota('a', 10, { total: 100, used: 95 })?.code, 'quota');
  assert.equal(checkQuota('a', 5, { total: 100, used: 95 }), null);
  assert.equal(checkQuota('a', 5, { total: 100, used: 95 }, 1)?.code, 'quota');
  assert.equal(checkQuota('a', 5, null), null);
});

test('keep-both names', () => {
  assert.equal(numberedName('report.pdf', 1), 'report (1).pdf');
  assert.equal(numberedName('archive.tar.gz', 2), 'archive.tar (2).gz');
  assert.equal(numberedName('.bashrc', 1), '.bashrc (1)');
  assert.equal(numberedName('README', 3), 'README (3)');
});
