/**
 * The queue: a keyed list of transfer rows (rows are updated in place, so a button under the pointer survives
 * progress updates) and an empty state. Button clicks are delegated to one listener.
 */
import type { QueueVm, RowAction } from '../state/transfers-store.js';
import { el } from './element.js';
import { createTransferRow, type TransferRowView } from './transfer-row.js';

export interface QueueView {
  readonly element: HTMLElement;
  update(vm: QueueVm): void;
}

export function createQueueView(onAction: (action: RowAction, id: string) => void): QueueView {
  const list = el('ul', { class: 'transfers', attrs: { 'aria-label': 'Uploads' } });
  const empty = el('p', { class: 'empty', text: 'No uploads yet. Drop files or folders above to start.' });
  const element = el('section', { class: 'queue' }, [list, empty]);
  const rows = new Map<string, TransferRowView>();

  list.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest('button[data-action]');
    const row = button?.closest('li[data-id]');
    if (!button || !row) return;
    onAction(button.getAttribute('data-action') as RowAction, row.getAttribute('data-id') ?? '');
  });

  function update(vm: QueueVm): void {
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const rowVm of vm.rows) {
      seen.add(rowVm.id);
      let row = rows.get(rowVm.id);
      if (row) row.update(rowVm);
      else {
        row = createTransferRow(rowVm);
        rows.set(rowVm.id, row);
      }
      // Keep DOM order equal to the view model's order, moving nodes only when needed.
      const expectedNext: Element | null = previous ? previous.nextElementSibling : list.firstElementChild;
      if (expectedNext !== row.element) list.insertBefore(row.element, expectedNext);
      previous = row.element;
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.element.remove();
        rows.delete(id);
      }
    }
    empty.hidden = !vm.loaded || vm.rows.length > 0;
  }

  return { element, update };
}
