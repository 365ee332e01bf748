/**
 * Where files come in: drag files or folders onto the zone (or anywhere in the window), or choose files.
 * Each File is turned into its local path with `pathForFile` (webUtils.getPathForFile behind the bridge);
 * files without a local path (dragged from a web page) are reported, not sent.
 */
import { el, setText } from './element.js';

export interface DropZoneOptions {
  pathForFile(file: File): string;
  onPaths(paths: string[]): void;
  onRejected(message: string): void;
}

export interface DropZoneView {
  readonly element: HTMLElement;
  setTarget(uri: string): void;
}

export function createDropZone(opts: DropZoneOptions): DropZoneView {
  const input = el('input', { class: 'visually-hidden', attrs: { type: 'file', multiple: '', tabindex: '-1', 'aria-hidden': 'true' } });
  const choose = el('button', { class: 'btn', text: 'Choose files…', attrs: { type: 'button' } });
  const target = el('span', { class: 'drop-target' });
  const element = el('section', { class: 'drop-zone', attrs: { 'aria-label': 'Add files to upload' } }, [
    el('div', { class: 'drop-icon', attrs: { 'aria-hidden': 'true' }, text: '⇪' }),
    el('div', { class: 'drop-text' }, [
      el('strong', { text: 'Drop files or folders here' }),
      el('span', {}, ['to upload them to ', target]),
    ]),
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
    if (missing > 0) opts.onRejected(`${missing} item${missing === 1 ? ' has' : 's have'} no local path and cannot be uploaded.`);
    if (paths.length > 0) opts.onPaths(paths);
  };

  choose.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    take(input.files);
    input.value = '';
  });

  // The whole window accepts drops; the zone lights up while something is dragged over the window.
  let depth = 0;
  const hasFiles = (e: DragEvent): boolean => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    depth++;
    element.classList.add('drop-active');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) element.classList.remove('drop-active');
  });
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = hasFiles(e) ? 'copy' : 'none';
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    element.classList.remove('drop-active');
    if (element.isConnected && !element.closest('[hidden]')) take(e.dataTransfer?.files ?? null);
  });

  return { element, setTarget: (uri) => setText(target, uri) };
}
