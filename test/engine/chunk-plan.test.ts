import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partCount, planParts, schedule } from '../../main/engine/transfer/chunk-plan.js';

test('part counts (spec §6.1)', () => {
  const cases: Array<[number, number, number]> = [
    [0, 0, 1], [0, 100, 1], [1, 100, 1], [99, 100, 1], [100, 100, 1], [101, 100, 2], [1000, 0, 1], [250, 100, 3],
  ];
  for (const [size, chunk, n] of cases) assert.equal(partCount(size, chunk), n, `${size}/${chunk}`);
});

test('parts cover the file exactly, in order, without overlap', () => {
  for (const [size, chunk] of [[0, 10], [1, 10], [9, 10], [10, 10], [11, 10], [12345, 1000], [5, 0]]) {
    const parts = planParts(size, chunk);
    let at = 0;
    parts.forEach((p, i) => {
      assert.equal(p.index, i);
      assert.equal(p.start, at);
      assert.equal(p.length, p.end - p.start);
      if (chunk > 0 && i < parts.length - 1) assert.equal(p.length, chunk);
      at = p.end;
    });
    assert.equal(at, size);
  }
});

test('invalid sizes are refused', () => {
  assert.throws(() => planParts(-1, 10), RangeError);
  assert.throws(() => planParts(10, -1), RangeError);
  assert.throws(() => planParts(1.5, 10), RangeError);
});

test('schedule: last part alone and last; acknowledged parts skipped', () => {
  const parts = planParts(35, 10);
  assert.deepEqual(schedule(parts, new Set()).body.map((p) => p.index), [0, 1, 2]);
  assert.equal(schedule(parts, new Set()).last?.index, 3);
  assert.deepEqual(schedule(parts, new Set([0, 2])).body.map((p) => p.index), [1]);
  assert.equal(schedule(parts, new Set([3])).last, null);
  const one = planParts(5, 10);
  assert.deepEqual(schedule(one, new Set()).body, []);
  assert.equal(schedule(one, new Set()).last?.index, 0);
});
