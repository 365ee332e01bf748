import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseName, joinUri, normalizeUri, parentUri, toUri } from '../../main/engine/api/uri.js';

test('segments are encoded like encodeURIComponent (spec §4.1)', () => {
  assert.equal(joinUri('cloudreve://my', 'a b', "it's (1)!.txt"), "cloudreve://my/a%20b/it's%20(1)!.txt");
  assert.equal(joinUri('cloudreve://my/', '#?%'), 'cloudreve://my/%23%3F%25');
  assert.equal(joinUri('cloudreve://my', '日本'), 'cloudreve://my/%E6%97%A5%E6%9C%AC');
});

test('parent and base name', () => {
  assert.equal(parentUri('cloudreve://my/a/b%20c.txt'), 'cloudreve://my/a');
  assert.equal(parentUri('cloudreve://my/a'), 'cloudreve://my');
  assert.equal(parentUri('cloudreve://my'), 'cloudreve://my');
  assert.equal(baseName('cloudreve://my/a/b%20c.txt'), 'b c.txt');
  assert.equal(baseName('cloudreve://my'), '');
});

test('user-typed destinations', () => {
  assert.equal(toUri('backup/photos 2024'), 'cloudreve://my/backup/photos%202024');
  assert.equal(toUri('/backup/'), 'cloudreve://my/backup');
  assert.equal(toUri(''), 'cloudreve://my');
  assert.equal(toUri('cloudreve://my/x/'), 'cloudreve://my/x');
});

test('normalizeUri removes trailing slashes only, and keeps a bare scheme', () => {
  assert.equal(normalizeUri('cloudreve://my/a%20b'), 'cloudreve://my/a%20b');
  assert.equal(normalizeUri('cloudreve://my/a///'), 'cloudreve://my/a');
  assert.equal(normalizeUri('cloudreve://my/'), 'cloudreve://my');
  assert.equal(normalizeUri('cloudreve://'), 'cloudreve://');
  assert.equal(normalizeUri('cloudreve:///'), 'cloudreve://');
  assert.equal(normalizeUri('a/b/'), 'a/b');
});
