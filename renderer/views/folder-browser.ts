/**
 * One level of a folder tree at a time, for the pickers: the current place, "Up", and its entries (folders open
 * on click; with `selectable`, each entry has a checkbox). Remote (listRemoteFolders) and local (browseLocal)
 * listings are both adapted to FolderLevel by the caller.
 */
import type { Translator } from '../i18n/translator.js';
import { displayUri } from '../state/display-names.js';
import { button, el, setText } from './element.js';

export interface FolderLevel {
  /** the key of this place (a URI or a path) */
  key: string;
  parent: string | null;
  entries: ReadonlyArray<{ name: string; key: string; kind: 'folder' | 'file'; hidden?: boolean }>;
}

export interface FolderBrowserOptions {
  tr: Translator;
  /** null when loading failed (the caller has told the user) */
  load(key: string | null): Promise<FolderLevel | null>;
  /** show a checkbox on entries of these kinds */
  selectable?: ReadonlyArray<'folder' | 'file'>;
  /** offer "Show hidden" (dot-entries are left out until it is ticked) */
  hiddenToggle?: boolean;
  onChange?(): void;
}

export interface FolderBrowser {
  readonly element: HTMLElement;
  open(key: string | null): Promise<void>;
  current(): FolderLevel | null;
  /** the checked keys (across folders) */
  selected(): string[];
  /** show this listing (after the caller changed the folder, e.g. created a subfolder) */
  show(level: FolderLevel): void;
}

export function createFolderBrowser(opts: FolderBrowserOptions): FolderBrowser {
  const { tr } = opts;
  const where = el('div', { class: 'browser-where' });
  const up = button(tr.t('picker.up'), { class: 'btn-small btn-quiet' });
  const list = el('ul', { class: 'browser-list', attrs: { 'aria-label': tr.t('picker.folders') } });
  const status = el('p', { class: 'browser-status' });
  const showHidden = el('input', { attrs: { type: 'checkbox', name: 'showHidden' } });
  const hiddenLabel = el('label', { class: 'browser-hidden', hidden: !opts.hiddenToggle }, [showHidden, el('span', { text: tr.t('local.showHidden') })]);
  const element = el('div', { class: 'browser' }, [el('div', { class: 'browser-bar' }, [up, where, hiddenLabel]), list, status]);
  const chosen = new Set<string>();
  let level: FolderLevel | null = null;
  let loading = 0;

  showHidden.addEventListener('change', () => {
    if (level) show(level);
  });
  up.addEventListener('click', () => {
    if (level?.parent) void open(level.parent);
  });

  function show(next: FolderLevel): void {
    level = next;
    setText(where, tr.t('picker.current', { where: displayUri(next.key) }));
    up.disabled = next.parent === null;
    const entries = next.entries.filter((e) => showHidden.checked || !e.hidden);
    list.replaceChildren(
      ...entries.map((e) => {
        const children: Node[] = [];
        if (opts.selectable?.includes(e.kind)) {
          const box = el('input', { attrs: { type: 'checkbox', 'aria-label': tr.t('local.select', { name: e.name }) } });
          box.checked = chosen.has(e.key);
          box.addEventListener('change', () => {
            if (box.checked) chosen.add(e.key);
            else chosen.delete(e.key);
            opts.onChange?.();
          });
          children.push(box);
        }
        if (e.kind === 'folder') {
          const b = button(e.name, { class: 'browser-folder', attrs: { 'aria-label': tr.t('picker.open', { name: e.name }), 'data-key': e.key } });
          b.addEventListener('click', () => void open(e.key));
          children.push(b);
        } else children.push(el('span', { class: 'browser-file', text: e.name }));
        return el('li', { class: `browser-entry browser-${e.kind}` }, children);
      }),
    );
    setText(status, entries.length === 0 ? tr.t(opts.selectable?.includes('file') ? 'local.empty' : 'picker.noFolders') : '');
    status.hidden = entries.length > 0;
    opts.onChange?.();
  }

  async function open(key: string | null): Promise<void> {
    const ticket = ++loading;
    setText(status, tr.t('picker.loading'));
    status.hidden = false;
    const next = await opts.load(key);
    if (ticket !== loading) return; // a later click won
    if (next) show(next);
    else {
      setText(status, '');
      status.hidden = true;
    }
  }

  return { element, open, current: () => level, selected: () => [...chosen], show };
}
