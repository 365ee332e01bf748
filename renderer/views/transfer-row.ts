/** One transfer in the queue: name, state, bytes, speed, ETA, a progress bar, and its action buttons. */
import type { RowAction, TransferRowVm } from '../state/transfers-store.js';
import { el, setAttr, setText } from './element.js';

const ACTION_LABELS: Record<RowAction, string> = {
  pause: 'Pause',
  resume: 'Resume',
  retry: 'Retry',
  cancel: 'Cancel',
};

export interface TransferRowView {
  readonly element: HTMLLIElement;
  update(vm: TransferRowVm): void;
}

export function createTransferRow(vm: TransferRowVm): TransferRowView {
  const name = el('div', { class: 'transfer-name' });
  const state = el('span', { class: 'transfer-state' });
  const bytes = el('span', { class: 'transfer-bytes' });
  const speed = el('span', { class: 'transfer-speed' });
  const eta = el('span', { class: 'transfer-eta' });
  const meta = el('div', { class: 'transfer-meta' }, [state, bytes, speed, eta]);
  const bar = el('progress', { class: 'progress', attrs: { max: '100' } });
  const error = el('div', { class: 'transfer-error', attrs: { role: 'alert' }, hidden: true });
  const percent = el('span', { class: 'transfer-percent' });
  const actions = el('div', { class: 'transfer-actions' });
  const element = el('li', { class: 'transfer', attrs: { 'data-id': vm.id } }, [
    el('div', { class: 'transfer-main' }, [name, meta, bar, error]),
    percent,
    actions,
  ]);
  let actionsKey = '';

  function update(next: TransferRowVm): void {
    setAttr(element, 'data-state', next.state);
    setAttr(element, 'data-tone', next.tone);
    setText(name, next.name);
    setAttr(name, 'title', `${next.localPath} → ${next.targetUri}`);
    setText(state, next.stateLabel);
    setText(bytes, next.bytesText);
    setText(speed, next.speedText);
    speed.hidden = next.speedText === '';
    setText(eta, next.etaText);
    eta.hidden = next.etaText === '';
    if (bar.value !== next.percent) bar.value = next.percent;
    setAttr(bar, 'aria-label', `Progress of ${next.name}`);
    setText(percent, next.percentText);
    setText(error, next.errorText);
    error.hidden = next.errorText === '';

    const key = next.actions.join(',') + '|' + next.name;
    if (key !== actionsKey) {
      actionsKey = key;
      actions.replaceChildren(
        ...next.actions.map((a) =>
          el('button', {
            class: `btn btn-small${a === 'cancel' ? ' btn-quiet' : ''}`,
            text: ACTION_LABELS[a],
            attrs: { type: 'button', 'data-action': a, 'aria-label': `${ACTION_LABELS[a]} ${next.name}` },
          }),
        ),
      );
    }
  }

  update(vm);
  return { element, update };
}
