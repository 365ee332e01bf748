/**
 * One transfer in the queue: its direction (↑ upload, ↓ download, with the word), name, state, bytes, speed, ETA, a
 * progress bar, the reason it failed (or where a download's conflict copy went), its buttons.
 */
import type { Translator } from '../i18n/translator.js';
import type { RowAction, TransferRowVm } from '../state/transfers-store.js';
import { el, setAttr, setText } from './element.js';
import type { RowView } from './virtual-list.js';

export function createTransferRow(vm: TransferRowVm, tr: Translator): RowView<TransferRowVm> {
  const name = el('div', { class: 'transfer-name' });
  const directionIcon = el('span', { class: 'transfer-direction-icon', attrs: { 'aria-hidden': 'true' } });
  const directionLabel = el('span', { class: 'transfer-direction-label' });
  const direction = el('span', { class: 'transfer-direction' }, [directionIcon, directionLabel]);
  const state = el('span', { class: 'transfer-state' });
  const bytes = el('span', { class: 'transfer-bytes' });
  const speed = el('span', { class: 'transfer-speed' });
  const eta = el('span', { class: 'transfer-eta' });
  const error = el('span', { class: 'transfer-error' });
  const meta = el('div', { class: 'transfer-meta' }, [direction, state, bytes, speed, eta, error]);
  const bar = el('progress', { class: 'progress', attrs: { max: '100' } });
  const percent = el('span', { class: 'transfer-percent' });
  const actions = el('div', { class: 'transfer-actions' });
  const element = el('li', { class: 'transfer', attrs: { 'data-id': vm.id } }, [
    el('div', { class: 'transfer-main' }, [name, meta, bar]),
    percent,
    actions,
  ]);
  let actionsKey = '';

  function update(next: TransferRowVm): void {
    setAttr(element, 'data-state', next.state);
    setAttr(element, 'data-tone', next.tone);
    setAttr(element, 'data-direction', next.direction);
    setText(directionIcon, next.directionIcon);
    setText(directionLabel, next.directionLabel);
    setText(name, next.name);
    setAttr(name, 'title', next.direction === 'download' ? `${next.targetUri} → ${next.localPath}` : `${next.localPath} → ${next.targetUri}`);
    setText(state, next.stateLabel);
    setText(bytes, next.bytesText);
    setText(speed, next.speedText);
    speed.hidden = next.speedText === '';
    setText(eta, next.etaText);
    eta.hidden = next.etaText === '';
    if (bar.value !== next.percent) bar.value = next.percent;
    setAttr(bar, 'aria-label', tr.t('queue.progressOf', { name: next.name }));
    setText(percent, next.percentText);
    setText(error, next.errorText);
    setAttr(error, 'title', next.errorText);
    error.hidden = next.errorText === '';

    const key = next.actions.join(',') + '|' + next.name;
    if (key !== actionsKey) {
      actionsKey = key;
      actions.replaceChildren(
        ...next.actions.map((a: RowAction) => {
          const label = tr.t(`action.${a}`);
          return el('button', {
            class: `btn btn-small${a === 'cancel' || a === 'top' ? ' btn-quiet' : ''}`,
            text: a === 'top' ? '⤒' : label,
            attrs: { type: 'button', 'data-action': a, title: label, 'aria-label': tr.t('action.rowLabel', { action: label, name: next.name }) },
          });
        }),
      );
    }
  }

  update(vm);
  return { element, update };
}
