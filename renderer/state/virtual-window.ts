/**
 * PURE window math for a virtualized list of fixed-height rows: which rows to put in the DOM for a scroll
 * position, and where they go. The list keeps only these (plus a few above and below) as elements.
 */
export interface VirtualWindow {
  /** first row index to render (inclusive) */
  start: number;
  /** last row index to render (exclusive) */
  end: number;
  /** px from the top of the list to row `start` */
  offset: number;
  /** px height of all rows together (the scroll area's height) */
  total: number;
}

/**
 * Rows [start, end) cover the viewport [scrollTop, scrollTop + viewport) plus `overscan` rows each side,
 * clamped to [0, count). A scrollTop beyond the end (the list shrank) is taken as the last full page.
 */
export function virtualWindow(count: number, rowHeight: number, scrollTop: number, viewport: number, overscan = 4): VirtualWindow {
  const n = Math.max(0, Math.floor(count));
  const h = rowHeight > 0 ? rowHeight : 1;
  const total = n * h;
  if (n === 0) return { start: 0, end: 0, offset: 0, total: 0 };
  const view = Math.max(0, viewport);
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, total - view));
  const first = Math.floor(top / h);
  const last = Math.ceil((top + view) / h); // exclusive
  const start = Math.max(0, first - overscan);
  const end = Math.min(n, Math.max(last, first + 1) + overscan);
  return { start, end, offset: start * h, total };
}
