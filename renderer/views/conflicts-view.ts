/** Conflicts a sync pair kept both versions of: the file, both URIs, the reason, and Dismiss. */
import type { ConflictDto } from '../../main/ipc/contract.js';
import { displayUri } from '../state/display-names.js';
import { button, el } from './element.js';
import type { ViewContext } from './view-context.js';

export interface ConflictsView {
  readonly element: HTMLElement;
  update(conflicts: readonly ConflictDto[]): void;
}

export function createConflictsView(ctx: ViewContext, dismiss: (id: number) => void): ConflictsView {
  const { tr } = ctx;
  const list = el('ul', { class: 'conflict-list', attrs: { 'aria-label': tr.t('conflicts.list') } });
  const empty = el('p', { class: 'empty', text: tr.t('conflicts.empty') });
  const lead = el('p', { class: 'lead', text: tr.t('conflicts.lead') });
  const element = el('section', { class: 'screen conflicts-screen', attrs: { 'data-screen': 'conflicts' } }, [
    el('div', { class: 'screen-toolbar' }, [el('h1', { class: 'screen-title', text: tr.t('conflicts.title') })]),
    lead,
    list,
    empty,
  ]);
  let shown: readonly ConflictDto[] | null = null;

  list.addEventListener('click', (e) => {
    const b = (e.target as Element | null)?.closest('button[data-conflict]');
    if (b) dismiss(Number(b.getAttribute('data-conflict')));
  });

  return {
    element,
    update(conflicts) {
      if (conflicts === shown) return;
      shown = conflicts;
      list.replaceChildren(
        ...conflicts.map((c) =>
          el('li', { class: 'conflict', attrs: { 'data-id': String(c.id) } }, [
            el('div', { class: 'conflict-main' }, [
              el('div', { class: 'conflict-name', text: c.relPath }),
              el('dl', { class: 'conflict-uris' }, [
                el('dt', { text: tr.t('conflicts.theirs') }),
                el('dd', { class: 'conflict-theirs', text: displayUri(c.remoteUri) }),
                el('dt', { text: tr.t('conflicts.ours') }),
                el('dd', { class: 'conflict-ours', text: displayUri(c.conflictUri) }),
              ]),
              el('div', { class: 'conflict-meta', text: `${c.reason} · ${tr.dateTime(c.createdAt)}` }),
            ]),
            button(tr.t('action.dismiss'), { class: 'btn-small btn-quiet', attrs: { 'data-conflict': String(c.id), 'aria-label': tr.t('conflicts.dismissLabel', { name: c.relPath }) } }),
          ]),
        ),
      );
      lead.hidden = conflicts.length === 0;
      empty.hidden = conflicts.length > 0;
    },
  };
}
