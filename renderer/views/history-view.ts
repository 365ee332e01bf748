/**
 * History: finished and failed uploads (listHistory, newest first, 200 a page with "Show older"), searchable by
 * name or path and filterable by outcome. A pushed 'history-added' joins the top when it matches the search.
 */
import type { HistoryEntryDto, HistoryQueryDto } from '../../main/ipc/contract.js';
import { HISTORY_PAGE, historyAdded, historyLoaded, initialHistoryState, olderPageQuery, type HistoryState } from '../state/history-store.js';
import { displayUri } from '../state/display-names.js';
import { confirmDialog } from './dialog.js';
import { button, el, select, setText } from './element.js';
import type { ViewContext } from './view-context.js';

export interface HistoryView {
  readonly element: HTMLElement;
  /** (re)load with the current search; called when the screen is shown */
  load(): void;
  added(entry: HistoryEntryDto): void;
}

const STATES = ['done', 'failed', 'skipped', 'cancelled'] as const;

export function createHistoryView(ctx: ViewContext): HistoryView {
  const { tr } = ctx;
  const search = el('input', { attrs: { type: 'search', name: 'historySearch', 'aria-label': tr.t('history.search'), placeholder: tr.t('history.searchPlaceholder') } });
  const filter = select('historyState', [['', tr.t('history.filter.all')], ...STATES.map((s) => [s, tr.t(`history.filter.${s}`)] as const)]);
  filter.setAttribute('aria-label', tr.t('history.filter'));
  const clear = button(tr.t('history.clear'), { class: 'btn-quiet' });
  const list = el('ul', { class: 'history-list', attrs: { 'aria-label': tr.t('history.list') } });
  const empty = el('p', { class: 'empty', hidden: true });
  const more = button(tr.t('history.more'), { class: 'btn-quiet', hidden: true });
  const element = el('section', { class: 'screen history-screen', attrs: { 'data-screen': 'history' } }, [
    el('div', { class: 'screen-toolbar' }, [el('h1', { class: 'screen-title', text: tr.t('history.title') }), search, filter, clear]),
    list,
    empty,
    more,
  ]);
  let state: HistoryState = initialHistoryState;
  let ticket = 0;

  const query = (): HistoryQueryDto => {
    const q: HistoryQueryDto = { limit: HISTORY_PAGE };
    if (search.value.trim()) q.text = search.value.trim();
    if (filter.value) q.state = filter.value as HistoryQueryDto['state'];
    return q;
  };

  async function fetchPage(q: HistoryQueryDto): Promise<void> {
    const mine = ++ticket;
    const r = await ctx.call('listHistory', q);
    if (mine !== ticket) return; // the search changed meanwhile
    const page = ctx.check(r, 'loadHistory');
    if (!page) return;
    state = historyLoaded(state, q, page);
    draw();
  }

  function row(e: HistoryEntryDto): HTMLElement {
    const status = el('span', { class: 'history-state', text: tr.t(`state.${e.state}`) });
    const meta = [tr.bytes(e.size), tr.t('history.finishedAt', { when: tr.dateTime(e.finishedAt) })];
    if (e.pairId) meta.push(tr.t('history.pair'));
    return el('li', { class: 'history-entry', attrs: { 'data-id': e.id, 'data-state': e.state } }, [
      el('div', { class: 'history-main' }, [
        el('div', { class: 'history-name', text: e.name, attrs: { title: e.localPath } }),
        el('div', { class: 'history-target', text: displayUri(e.targetUri) }),
        el('div', { class: 'history-meta' }, [status, ' · ', meta.join(' · ')]),
        ...(e.error ? [el('div', { class: 'history-error', text: e.error.message })] : []),
      ]),
    ]);
  }

  function draw(): void {
    list.replaceChildren(...state.entries.map(row));
    const text = search.value.trim();
    setText(empty, text ? tr.t('history.noMatch', { text }) : tr.t('history.empty'));
    empty.hidden = !state.loaded || state.entries.length > 0;
    more.hidden = !state.more;
    clear.disabled = state.entries.length === 0 && !text && !filter.value;
  }

  let debounce: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void fetchPage(query()), 200);
  });
  filter.addEventListener('change', () => void fetchPage(query()));
  more.addEventListener('click', () => void fetchPage(olderPageQuery(state)));
  clear.addEventListener('click', () => {
    void confirmDialog(tr.t('history.clear'), tr.t('history.clearConfirm'), tr.t('confirm.ok'), tr.t('confirm.cancel'), true).then(async (yes) => {
      if (!yes) return;
      if (ctx.ok(await ctx.call('clearHistory'), 'clearHistory')) void fetchPage(query());
    });
  });

  return {
    element,
    load: () => void fetchPage(query()),
    added(entry) {
      const next = historyAdded(state, entry);
      if (next === state) return;
      state = next;
      list.prepend(row(entry));
      list.querySelectorAll(`li[data-id="${CSS.escape(entry.id)}"]`).forEach((li, i) => i > 0 && li.remove());
      empty.hidden = true;
    },
  };
}
