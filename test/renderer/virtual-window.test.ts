import assert from 'node:assert/strict';
import { test } from 'node:test';
import { virtualWindow } from '../../renderer/state/virtual-window.js';

test('virtualWindow: the rows covering the viewport plus overscan, clamped', () => {
  // [count, rowHeight, scrollTop, viewport, overscan] → [start, end, offset, total]
  const table: Array<[[number, number, number, number, number], [number, number, number, number]]> = [
    [[0, 72, 0, 600, 4], [0, 0, 0, 0]],
    [[3, 72, 0, 600, 4], [0, 3, 0, 216]],
    [[10_000, 72, 0, 600, 4], [0, 13, 0, 720_000]], // rows 0..8 visible (600/72 = 8.3) + 4
    [[10_000, 72, 720, 600, 4], [6, 23, 432, 720_000]], // first visible row 10
    [[10_000, 72, 719_400, 600, 4], [9987, 10_000, 719_064, 720_000]], // the last page
    [[10_000, 72, 5_000_000, 600, 4], [9987, 10_000, 719_064, 720_000]], // past the end (the list shrank)
    [[10_000, 72, -50, 600, 0], [0, 9, 0, 720_000]],
    [[10_000, 72, 100, 0, 0], [1, 2, 72, 720_000]], // a zero-height viewport still shows the row at the top
    [[50, 10, 95, 20, 1], [8, 13, 80, 500]], // partially visible rows at both edges count
  ];
  for (const [[count, h, top, view, over], [start, end, offset, total]] of table) {
    assert.deepEqual(virtualWindow(count, h, top, view, over), { start, end, offset, total }, `${count} rows, top ${top}`);
  }
});

test('virtualWindow: the window never exceeds viewport/rowHeight + 2 + 2×overscan rows, whatever the count', () => {
  for (const count of [1, 10, 1000, 10_000, 1_000_000]) {
    for (const top of [0, 333, 12_345, 10 ** 9]) {
      const w = virtualWindow(count, 72, top, 640, 6);
      assert.ok(w.end - w.start <= Math.ceil(640 / 72) + 2 + 12, `${count}/${top}: ${w.end - w.start}`);
      assert.ok(w.start >= 0 && w.end <= count && w.start <= w.end);
    }
  }
});
