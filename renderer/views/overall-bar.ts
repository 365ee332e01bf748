/** The aggregate over all transfers: a summary line, details (bytes, speed, ETA) and one progress bar. */
import type { Translator } from '../i18n/translator.js';
import type { OverallVm } from '../state/transfers-store.js';
import { el, setAttr, setText } from './element.js';

export interface OverallBarView {
  readonly element: HTMLElement;
  update(vm: OverallVm): void;
}

export function createOverallBar(tr: Translator): OverallBarView {
  const summary = el('span', { class: 'overall-summary' });
  const detail = el('span', { class: 'overall-detail' });
  const percent = el('span', { class: 'overall-percent' });
  const bar = el('progress', { class: 'progress progress-large', attrs: { max: '100', 'aria-label': tr.t('overall.label') } });
  // no aria-live: the line changes every frame while uploads run, and a screen reader would read it without end
  const element = el('section', { class: 'overall', attrs: { 'aria-label': tr.t('overall.label') } }, [
    el('div', { class: 'overall-text' }, [summary, detail, percent]),
    bar,
  ]);

  function update(vm: OverallVm): void {
    setText(summary, vm.summary);
    setText(detail, vm.detail);
    setText(percent, vm.percentText);
    if (bar.value !== vm.percent) bar.value = vm.percent;
    setAttr(element, 'data-busy', String(vm.busy));
  }

  return { element, update };
}
