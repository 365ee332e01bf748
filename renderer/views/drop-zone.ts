/**
 * Where files come in. Desktop: drag files or folders onto the window, or choose them with the OS picker;
 * each File becomes its local path with `pathForFile` (webUtils.getPathForFile behind the bridge), and files
 * without one (dragged from a web page) are reported, not sent. Browser mode (`cloudreve-sync ui`): the
 * browser's files are not on the engine's machine, so "Upload files…" opens the engine's file browser instead.
 */
import type { Translator } from '../i18n/translator.js';
import { displayUri } from '../state/display-names.js';
import { button, el, setText } from './element.js';

export interface DropZoneOptions {
  tr: Translator;
  mode: 'desktop' | 'browser';
  pathForFile(file: File): string;
  onPaths(paths: string[]): void;
  onRejected(message: string): void;
  /** browser mode: open the engine-side file picker */
  chooseOnEngine(): void;
  /** removes the window-wide listeners when the view is rebuilt */
  signal: AbortSignal;
}

export interface DropZoneView {
  readonly element: HTMLElement;
  setTarget(uri: string): void;
}

export function createDropZone(opts: DropZoneOptions): DropZoneView {
  const { tr } = opts;
  const target = el('span', { class: 'drop-target' });
  if (opts.mode === 'browser') {
    const choose = button(tr.t('action.uploadFiles'), { class: 'btn-primary' });
    choose.addEventListener('click', () => opts.chooseOnEngine());
    const element = el('section', { class: 'drop-zone drop-zone-browser', attrs: { 'aria-label': tr.t('drop.label') } }, [
      el('div', { class: 'drop-icon', attrs: { 'aria-hidden': 'true' }, text: '⇪' }),
      el('div', { class: 'drop-text' }, [el('strong', { text: tr.t('drop.browserTitle') }), el('span', {}, [tr.t('drop.to'), ' ', target])]),
      choose,
    ]);
    return { element, setTarget: (uri) => setText(target, displayUri(uri)) };
  }

  const input = el('input', { class: 'visually-hidden', attrs: { type: 'file', multiple: '', tabindex: '-1', 'aria-hidden': 'true' } });
  const choose = button(tr.t('drop.choose'));
  const element = el('section', { class: 'drop-zone', attrs: { 'aria-label': tr.t('drop.label') } }, [
    el('div', { class: 'drop-icon', attrs: { 'aria-hidden': 'true' }, text: '⇪' }),
    el('div', { class: 'drop-text' }, [el('strong', { text: tr.t('drop.title') }), el('span', {}, [tr.t('drop.to'), ' ', target])]),
    choose,
    input,
  ]);

  const take = (files: FileList | null): void => {
    if (!files || files.length === 0) return;
    const paths: string[] = [];
    let missing = 0;
    for (const file of Array.from(files)) {
      const p = opts.pathForFile(file);
      if (p) paths.push(p);
      else missing++;
    }
    if (missing > 0) opts.onRejected(tr.plural('drop.noPath', missing));
    if (paths.length > 0) opts.onPaths(paths);
  };

  choose.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    take(input.files);
    input.value = '';
  });

  // The whole window accepts drops; the zone lights up while something is dragged over the window.
  let depth = 0;
  const listen = { signal: opts.signal };
  const hasFiles = (e: DragEvent): boolean => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  document.addEventListener(
    'dragenter',
    (e) => {
      if (!hasFiles(e)) return;
      depth++;
      element.classList.add('drop-active');
    },
    listen,
  );
  document.addEventListener(
    'dragleave',
    () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) element.classList.remove('drop-active');
    },
    listen,
  );
  document.addEventListener(
    'dragover',
    (e) => {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = hasFiles(e) ? 'copy' : 'none';
    },
    listen,
  );
  document.addEventListener(
    'drop',
    (e) => {
      e.preventDefault();
      depth = 0;
      element.classList.remove('drop-active');
      if (element.isConnected && !element.closest('[hidden]')) take(e.dataTransfer?.files ?? null);
    },
    listen,
  );

  return { element, setTarget: (uri) => setText(target, displayUri(uri)) };
}
