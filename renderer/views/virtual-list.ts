/**
 * A virtualized list of fixed-height rows: a scroll container whose inner element is as tall as all rows, with
 * only the rows of the visible window (virtualWindow) as elements, positioned absolutely and reused by id.
 * `refresh()` is cheap to call every frame: it draws the rows in the window and nothing else.
 */
import { virtualWindow } from '../state/virtual-window.js';
import { el } from './element.js';

export interface RowView<Vm> {
  readonly element: HTMLElement;
  update(vm: Vm): void;
}

export interface VirtualListOptions<Vm> {
  rowHeight: number;
  label: string;
  /** the row's id and view model at display index i */
  row(i: number): { id: string; vm: Vm } | undefined;
  create(vm: Vm): RowView<Vm>;
  overscan?: number;
}

export interface VirtualList {
  readonly element: HTMLElement;
  /** redraw the visible window for `count` rows */
  refresh(count: number): void;
  /** number of row elements in the DOM (tests, bench) */
  rendered(): number;
}

export function createVirtualList<Vm>(opts: VirtualListOptions<Vm>): VirtualList {
  const inner = el('ul', { class: 'vlist-inner', attrs: { 'aria-label': opts.label } });
  const element = el('div', { class: 'vlist', attrs: { tabindex: '-1' } }, [inner]);
  const views = new Map<string, RowView<Vm>>();
  let count = 0;
  let lastTotal = -1;

  element.addEventListener('scroll', () => refresh(count), { passive: true });

  function refresh(n: number): void {
    count = n;
    const w = virtualWindow(n, opts.rowHeight, element.scrollTop, element.clientHeight || 600, opts.overscan ?? 6);
    if (w.total !== lastTotal) {
      inner.style.height = `${w.total}px`;
      lastTotal = w.total;
    }
    const keep = new Set<string>();
    let previous: Element | null = null;
    for (let i = w.start; i < w.end; i++) {
      const r = opts.row(i);
      if (!r) continue;
      keep.add(r.id);
      let view = views.get(r.id);
      if (view) view.update(r.vm);
      else {
        view = opts.create(r.vm);
        views.set(r.id, view);
      }
      // elements in display order, so that Tab walks the rows as they are shown (moved only when out of place)
      const wanted: ChildNode | null = previous ? previous.nextSibling : inner.firstChild;
      if (view.element !== wanted) inner.insertBefore(view.element, wanted);
      previous = view.element;
      const top = `${i * opts.rowHeight}px`;
      if (view.element.style.top !== top) view.element.style.top = top;
      view.element.setAttribute('aria-posinset', String(i + 1));
      view.element.setAttribute('aria-setsize', String(n));
    }
    for (const [id, view] of views) {
      // a row that holds focus stays until focus moves (keyboard users do not lose their place mid-update)
      if (!keep.has(id) && !view.element.contains(document.activeElement)) {
        view.element.remove();
        views.delete(id);
      }
    }
  }

  return { element, refresh, rendered: () => views.size };
}
