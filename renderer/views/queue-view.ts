/**
 * The transfer queue screen: toolbar (pause/resume all, clear finished), the drop zone, the overall bar, and
 * the transfers as a virtualized list (only the visible rows are elements, so 10,000 transfers cost what 20
 * do). Row buttons are delegated to one listener. `refresh()` runs at most once per animation frame.
 */
import type { Translator } from '../i18n/translator.js';
import { toOverallVm, toRowVm, toToolbarVm, type RowAction, type TransferRowVm, type TransfersStore } from '../state/transfers-store.js';
import type { DropZoneOptions } from './drop-zone.js';
import { createDropZone } from './drop-zone.js';
import { button, el, setText } from './element.js';
import { createOverallBar } from './overall-bar.js';
import { createTransferRow } from './transfer-row.js';
import { createVirtualList } from './virtual-list.js';

export const ROW_HEIGHT = 72;

export interface QueueActions {
  pauseAll(): void;
  resumeAll(): void;
  clearFinished(): void;
  row(action: RowAction, id: string): void;
}

export interface QueueView {
  readonly element: HTMLElement;
  refresh(targetUri: string): void;
  rendered(): number;
}

export function createQueueView(
  tr: Translator,
  store: TransfersStore,
  actions: QueueActions,
  drop: Omit<DropZoneOptions, 'tr'>,
): QueueView {
  const pauseAll = button(tr.t('action.pauseAll'));
  const resumeAll = button(tr.t('action.resumeAll'));
  const clearFinished = button(tr.t('action.clearFinished'), { class: 'btn-quiet' });
  const count = el('span', { class: 'queue-count' });
  const toolbar = el('div', { class: 'screen-toolbar' }, [el('h1', { class: 'screen-title', text: tr.t('nav.queue') }), count, pauseAll, resumeAll, clearFinished]);
  const dropZone = createDropZone({ ...drop, tr });
  const overall = createOverallBar(tr);
  const list = createVirtualList<TransferRowVm>({
    rowHeight: ROW_HEIGHT,
    label: tr.t('queue.label'),
    row: (i) => {
      const t = store.at(i);
      return t && { id: t.id, vm: toRowVm(t, tr) };
    },
    create: (vm) => createTransferRow(vm, tr),
  });
  list.element.classList.add('queue-list');
  const empty = el('p', { class: 'empty', text: tr.t(drop.mode === 'browser' ? 'queue.emptyBrowser' : 'queue.empty') });
  const element = el('section', { class: 'screen queue-screen', attrs: { 'data-screen': 'queue' } }, [toolbar, dropZone.element, overall.element, list.element, empty]);

  pauseAll.addEventListener('click', () => actions.pauseAll());
  resumeAll.addEventListener('click', () => actions.resumeAll());
  clearFinished.addEventListener('click', () => actions.clearFinished());
  list.element.addEventListener('click', (event) => {
    const b = (event.target as Element | null)?.closest('button[data-action]');
    const row = b?.closest('li[data-id]');
    if (!b || !row) return;
    actions.row(b.getAttribute('data-action') as RowAction, row.getAttribute('data-id') ?? '');
  });

  let drawn = -1;
  function refresh(targetUri: string): void {
    dropZone.setTarget(targetUri);
    if (store.version === drawn && drawn !== -1) {
      list.refresh(store.size); // scrolling or a resize: same data, maybe another window
      return;
    }
    drawn = store.version;
    const bar = toToolbarVm(store);
    pauseAll.disabled = !bar.canPauseAll;
    resumeAll.disabled = !bar.canResumeAll;
    clearFinished.disabled = !bar.canClearFinished;
    setText(count, store.size > 0 ? tr.plural(store.downloadCount > 0 ? 'queue.countMixed' : 'queue.count', store.size) : '');
    overall.update(toOverallVm(store, tr));
    empty.hidden = !store.loaded || store.size > 0;
    list.element.hidden = store.size === 0;
    list.refresh(store.size);
  }

  return { element, refresh, rendered: () => list.rendered() };
}
