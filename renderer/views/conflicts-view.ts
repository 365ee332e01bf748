/**
 * Conflicts a sync pair kept both versions of: the file, both URIs (decoded for reading), the reason in the user's
 * language, and how to end it: Keep mine (asks first: the conflict copy goes to the server's trash), Keep both, and
 * Keep theirs (asks first: ours goes to the trash), for a two-way pair's conflicts only; elsewhere shown but
 * unavailable (its tooltip says why). A resolved conflict leaves the
 * list (main.ts drops it on success and on the 'conflict-resolved' event).
 */
import type { ConflictDto } from '../../main/ipc/contract.js';
import { displayUri, lastSegment } from '../state/display-names.js';
import { conflictReason } from '../state/pairs-store.js';
import { confirmDialog } from './dialog.js';
import { button, el } from './element.js';
import type { ViewContext } from './view-context.js';

export type ConflictResolution = 'keep-mine' | 'keep-both' | 'keep-theirs';

export interface ConflictsView {
  readonly element: HTMLElement;
  /** `twoWay`: the ids of two-way pairs (their conflicts can keep theirs: the server's version comes down) */
  update(conflicts: readonly ConflictDto[], twoWay?: ReadonlySet<string>): void;
}

/** `resolve` settles once the engine answered (true: resolved); the row's buttons wait for it. */
export function createConflictsView(ctx: ViewContext, resolve: (c: ConflictDto, choice: ConflictResolution) => Promise<boolean>): ConflictsView {
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
  let shown: readonly ConflictDto[] = [];
  let twoWayPairs: ReadonlySet<string> = new Set();
  let drawn: readonly ConflictDto[] | null = null;
  /** conflicts whose resolution is on its way: their buttons are disabled */
  const busy = new Set<number>();

  const act = async (c: ConflictDto, action: string): Promise<void> => {
    if (action === 'keep-theirs' && !twoWayPairs.has(c.pairId)) {
      ctx.notify(tr.t('conflicts.keepTheirsLater'));
      return;
    }
    if (action !== 'keep-mine' && action !== 'keep-both' && action !== 'keep-theirs') return;
    if (busy.has(c.id)) return;
    if (action === 'keep-theirs') {
      const yes = await confirmDialog(tr.t('confirm.title'), tr.t('conflicts.keepTheirsAsk', { name: c.relPath }), tr.t('conflicts.keepTheirs'), tr.t('confirm.cancel'), true);
      if (!yes) return;
    }
    if (action === 'keep-mine') {
      const name = c.relPath;
      const yes = await confirmDialog(
        tr.t('confirm.title'),
        tr.t('conflicts.keepMineAsk', { name, copy: lastSegment(displayUri(c.conflictUri)) }),
        tr.t('conflicts.keepMine'),
        tr.t('confirm.cancel'),
        true,
      );
      if (!yes) return;
    }
    busy.add(c.id);
    draw();
    try {
      await resolve(c, action);
    } finally {
      busy.delete(c.id);
      draw();
    }
  };

  list.addEventListener('click', (e) => {
    const b = (e.target as Element | null)?.closest('button[data-choice]');
    const id = Number(b?.closest('li[data-id]')?.getAttribute('data-id'));
    const c = shown.find((x) => x.id === id);
    if (b && c) void act(c, b.getAttribute('data-choice') ?? '');
  });

  function row(c: ConflictDto): HTMLElement {
    const name = c.relPath;
    const working = busy.has(c.id);
    const choice = (id: string, text: string, label: string, cls = 'btn-small'): HTMLButtonElement =>
      button(text, { class: cls, attrs: { 'data-choice': id, 'aria-label': label, ...(working ? { disabled: '' } : {}) } });
    const can = twoWayPairs.has(c.pairId);
    const theirs = choice('keep-theirs', tr.t('conflicts.keepTheirs'), tr.t('conflicts.keepTheirsLabel', { name }), can ? 'btn-small' : 'btn-small btn-unavailable');
    if (!can) {
      // not `disabled`: a disabled button gets no hover (no tooltip) and no focus; aria-disabled keeps both and says why
      theirs.setAttribute('aria-disabled', 'true');
      theirs.title = tr.t('conflicts.keepTheirsLater');
    }
    return el('li', { class: 'conflict', attrs: { 'data-id': String(c.id), ...(working ? { 'aria-busy': 'true' } : {}) } }, [
      el('div', { class: 'conflict-main' }, [
        el('div', { class: 'conflict-name', text: c.relPath }),
        el('dl', { class: 'conflict-uris' }, [
          el('dt', { text: tr.t('conflicts.theirs') }),
          el('dd', { class: 'conflict-theirs', text: displayUri(c.remoteUri) }),
          el('dt', { text: tr.t('conflicts.ours') }),
          el('dd', { class: 'conflict-ours', text: displayUri(c.conflictUri) }),
        ]),
        el('div', { class: 'conflict-meta' }, [
          el('span', { class: 'conflict-reason', text: conflictReason(c, tr) }),
          ` · ${tr.dateTime(c.createdAt)}`,
        ]),
      ]),
      el('div', { class: 'conflict-actions' }, [
        choice('keep-mine', tr.t('conflicts.keepMine'), tr.t('conflicts.keepMineLabel', { name })),
        choice('keep-both', tr.t('conflicts.keepBoth'), tr.t('conflicts.keepBothLabel', { name })),
        theirs,
      ]),
    ]);
  }

  function draw(): void {
    drawn = shown;
    const focused = document.activeElement?.closest('li[data-id] button[data-choice]');
    const focusKey = focused ? [focused.closest('li')?.getAttribute('data-id'), focused.getAttribute('data-choice')] : null;
    list.replaceChildren(...shown.map(row));
    if (focusKey) (list.querySelector(`li[data-id="${CSS.escape(focusKey[0] ?? '')}"] button[data-choice="${focusKey[1]}"]`) as HTMLElement | null)?.focus();
    lead.hidden = shown.length === 0;
    empty.hidden = shown.length > 0;
  }

  return {
    element,
    update(conflicts, twoWay) {
      shown = conflicts;
      const pairsChanged = twoWay !== undefined && (twoWay.size !== twoWayPairs.size || [...twoWay].some((id) => !twoWayPairs.has(id)));
      if (twoWay) twoWayPairs = twoWay;
      if (conflicts !== drawn || pairsChanged) draw();
    },
  };
}
