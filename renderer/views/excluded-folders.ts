/**
 * The pair editor's "Folders to sync": the pair's remote folder tree with a tick box per folder (ticked = synced,
 * unticked = excluded with everything in it, mixed = something inside is excluded), listed lazily: the top level when
 * shown, a folder's subfolders when it is opened. The model is renderer/state/excluded-tree.ts; the caller saves
 * `value()` with setExcludedFolders.
 */
import type { ViewContext } from './view-context.js';
import { ExcludedTree } from '../state/excluded-tree.js';
import { button, el, setText } from './element.js';

export interface ExcludedFoldersView {
  readonly element: HTMLElement;
  value(): string[];
  changed(): boolean;
}

export function createExcludedFolders(ctx: ViewContext, remoteUri: string, excluded: readonly string[]): ExcludedFoldersView {
  const { tr } = ctx;
  const tree = new ExcludedTree(excluded);
  const root = el('ul', { class: 'excluded-tree', attrs: { role: 'tree', 'aria-label': tr.t('pairs.foldersToSync') } });
  const status = el('p', { class: 'browser-status', text: tr.t('picker.loading') });
  const element = el('fieldset', { class: 'field excluded-folders' }, [
    el('legend', { class: 'field-label', text: tr.t('pairs.foldersToSync') }),
    el('p', { class: 'field-hint', text: tr.t('pairs.foldersToSyncHint') }),
    status,
    root,
  ]);
  /** each listed folder's own tick box, to show the states again after a change */
  const boxes = new Map<string, HTMLInputElement>();

  const refresh = (): void => {
    for (const [rel, box] of boxes) {
      const s = tree.state(rel);
      box.checked = s !== 'off';
      box.indeterminate = s === 'mixed';
    }
  };

  async function load(rel: string, uri: string, into: HTMLElement): Promise<boolean> {
    const v = ctx.check(await ctx.call('listRemoteFolders', uri), 'browse');
    if (!v) return false;
    tree.setChildren(rel, v.folders.map((f) => f.name));
    into.replaceChildren(...v.folders.map((f) => item(rel === '' ? f.name.normalize('NFC') : `${rel}/${f.name.normalize('NFC')}`, f.name, f.uri)));
    refresh();
    return true;
  }

  function item(rel: string, name: string, uri: string): HTMLElement {
    const box = el('input', { attrs: { type: 'checkbox', name: 'syncFolder', value: rel, 'aria-label': tr.t('pairs.syncThisFolder', { name: rel }) } });
    boxes.set(rel, box);
    box.addEventListener('change', () => {
      tree.set(rel, box.checked);
      refresh();
    });
    const sub = el('ul', { class: 'excluded-tree', attrs: { role: 'group' }, hidden: true });
    const open = button('▸', { class: 'btn-small btn-quiet excluded-open', attrs: { 'aria-expanded': 'false', 'aria-label': tr.t('picker.open', { name }), 'data-rel': rel } });
    let loaded = false;
    open.addEventListener('click', () => {
      const expand = sub.hidden;
      sub.hidden = !expand;
      setText(open, expand ? '▾' : '▸');
      open.setAttribute('aria-expanded', String(expand));
      if (expand && !loaded) {
        loaded = true;
        void load(rel, uri, sub).then((ok) => {
          if (!ok) loaded = false;
          else if (sub.childElementCount === 0) sub.replaceChildren(el('li', { class: 'pair-more', text: tr.t('picker.noFolders') }));
        });
      }
    });
    return el('li', { class: 'excluded-item', attrs: { role: 'treeitem' } }, [
      el('div', { class: 'excluded-row' }, [open, el('label', { class: 'field-check' }, [box, el('span', { text: name })])]),
      sub,
    ]);
  }

  void load('', remoteUri, root).then((ok) => {
    // none (or the folder is not on the server yet: the caller was told why)
    setText(status, ok && root.childElementCount === 0 ? tr.t('picker.noFolders') : '');
    status.hidden = !(ok && root.childElementCount === 0);
  });

  return { element, value: () => tree.value(), changed: () => tree.changed() };
}
