/** The tick boxes of a pair's remote folders (renderer/state/excluded-tree.ts): pure model, no DOM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExcludedTree, tidyExcluded } from '../../renderer/state/excluded-tree.js';

test('tidy: NFC, trimmed, deduplicated, none inside another, sorted', () => {
  assert.deepEqual(tidyExcluded(['/b/', 'a/x', 'a', 'Cafe\u0301', 'b']), ['Café', 'a', 'b']);
});

test('states: unticked = excluded with all inside; a folder holding an excluded one is mixed', () => {
  const t = new ExcludedTree(['photos/raw', 'video']);
  assert.equal(t.state('video'), 'off');
  assert.equal(t.state('video/2024'), 'off');
  assert.equal(t.state('photos'), 'mixed');
  assert.equal(t.state('photos/raw'), 'off');
  assert.equal(t.state('photos/jpg'), 'on');
  assert.equal(t.state('docs'), 'on');
  assert.equal(t.changed(), false);
});

test('unticking a folder excludes it and drops what was excluded inside it; ticking it again takes it all back', () => {
  const t = new ExcludedTree(['photos/raw']);
  t.set('photos', false);
  assert.deepEqual(t.value(), ['photos']);
  assert.equal(t.changed(), true);
  t.set('photos', true);
  assert.deepEqual(t.value(), []);
  t.set('docs', false);
  t.set('docs', true);
  assert.deepEqual(t.value(), []);
});

test('ticking a folder inside an excluded one: the excluded one comes back, the listed folders beside the path stay out', () => {
  const t = new ExcludedTree(['photos']);
  t.setChildren('', ['docs', 'photos']);
  t.setChildren('photos', ['2023', '2024', 'raw']);
  t.setChildren('photos/2024', ['jan', 'feb']);
  t.set('photos/2024/jan', true);
  assert.deepEqual(t.value(), ['photos/2023', 'photos/2024/feb', 'photos/raw']);
  assert.equal(t.state('photos'), 'mixed');
  assert.equal(t.state('photos/2024/jan'), 'on');
  assert.deepEqual(t.childrenOf('photos'), ['2023', '2024', 'raw']);
  assert.equal(t.childrenOf('docs'), null);
});
