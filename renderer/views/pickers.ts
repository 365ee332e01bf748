/**
 * The destination picker (where on the server: the last destination first, then the account's folders,
 * browsable, with "New folder") and the local picker (files or a folder on the machine running the engine,
 * through browseLocal: the browser UI's file chooser and the pair form's folder chooser).
 */
import type { LocalFolderDto, RemoteFolderDto } from '../../main/ipc/contract.js';
import { displayUri, lastSegment } from '../state/display-names.js';
import { openDialog } from './dialog.js';
import { button, el, setText } from './element.js';
import { createFolderBrowser, type FolderLevel } from './folder-browser.js';
import type { ViewContext } from './view-context.js';

export const REMOTE_ROOT = 'cloudreve://my/';

function remoteLevel(r: RemoteFolderDto): FolderLevel {
  return { key: r.uri, parent: r.parentUri, entries: r.folders.map((f) => ({ name: f.name, key: f.uri, kind: 'folder' as const })) };
}

function localLevel(l: LocalFolderDto, foldersOnly: boolean): FolderLevel {
  const entries = l.entries.filter((e) => !foldersOnly || e.kind === 'folder').map((e) => ({ name: e.name, key: e.path, kind: e.kind, hidden: e.hidden }));
  return { key: l.path, parent: l.parent, entries };
}

export interface DestinationRequest {
  /** what is being uploaded (shown under the title); empty when choosing a folder for a setting or a pair */
  paths: readonly string[];
  lastDestinationUri: string | null;
  /** where browsing starts (default: the last destination, else the root) */
  startUri?: string;
  /** 'upload' says "Upload here"; 'choose' says "Choose this folder" */
  purpose: 'upload' | 'choose';
}

/** Resolves with the chosen remote folder URI, or null when the user cancelled. */
export function pickDestination(ctx: ViewContext, req: DestinationRequest): Promise<string | null> {
  const { tr } = ctx;
  return openDialog<string>(
    req.purpose === 'upload' ? tr.t('picker.title') : tr.t('pairs.pickRemote'),
    (h) => {
      const body: Node[] = [];
      if (req.paths.length > 0) {
        const names = req.paths.slice(0, 3).map(lastSegment).join(', ') + (req.paths.length > 3 ? ', …' : '');
        body.push(el('p', { class: 'dialog-message picker-files', text: tr.plural('picker.files', req.paths.length, { names }) }));
      }
      if (req.lastDestinationUri) {
        const last = button(displayUri(req.lastDestinationUri), { class: 'picker-last', attrs: { 'data-uri': req.lastDestinationUri } });
        last.addEventListener('click', () => h.settle(req.lastDestinationUri));
        body.push(el('div', { class: 'picker-last-row' }, [el('span', { class: 'field-label', text: tr.t('picker.last') }), last]));
      }
      const browser = createFolderBrowser({
        tr,
        load: async (key) => {
          const v = ctx.check(await ctx.call('listRemoteFolders', key ?? REMOTE_ROOT), 'browse');
          return v && remoteLevel(v);
        },
      });
      const name = el('input', { attrs: { name: 'folderName', 'aria-label': tr.t('picker.newFolderName'), placeholder: tr.t('picker.newFolderName') } });
      const create = button(tr.t('picker.create'), { class: 'btn-small' });
      const newFolder = button(tr.t('picker.newFolder'), { class: 'btn-small btn-quiet' });
      const createRow = el('div', { class: 'picker-new', hidden: true }, [name, create]);
      newFolder.addEventListener('click', () => {
        createRow.hidden = false;
        name.focus();
      });
      const doCreate = async (): Promise<void> => {
        const here = browser.current();
        const folder = name.value.trim();
        if (!here || !folder) return;
        create.disabled = true;
        const v = ctx.check(await ctx.call('createRemoteFolder', here.key, folder), 'newFolder');
        create.disabled = false;
        if (!v) return;
        name.value = '';
        createRow.hidden = true;
        browser.show(remoteLevel(v));
      };
      create.addEventListener('click', () => void doCreate());
      name.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          void doCreate();
        }
      });
      body.push(browser.element, el('div', { class: 'picker-tools' }, [newFolder]), createRow);
      const ok = button(req.purpose === 'upload' ? tr.t('picker.here') : tr.t('picker.choose'), { class: 'btn-primary' });
      ok.addEventListener('click', () => {
        const here = browser.current();
        if (here) h.settle(here.key);
      });
      void browser.open(req.startUri ?? REMOTE_ROOT);
      return { body, actions: [ok] };
    },
    tr.t('action.cancel'),
    'dialog-picker',
  );
}

/** Files and folders on the engine's machine (multi-select); resolves with their paths, or null. */
export function pickLocalFiles(ctx: ViewContext): Promise<string[] | null> {
  return pickLocal(ctx, 'files') as Promise<string[] | null>;
}

/** One folder on the engine's machine (the folder being shown when the user says "Choose this folder"). */
export function pickLocalFolder(ctx: ViewContext): Promise<string | null> {
  return pickLocal(ctx, 'folder') as Promise<string | null>;
}

function pickLocal(ctx: ViewContext, kind: 'files' | 'folder'): Promise<string[] | string | null> {
  const { tr } = ctx;
  const host = tr.t('local.engineMachine');
  return openDialog<string[] | string>(
    kind === 'files' ? tr.t('local.title', { host }) : tr.t('local.titleFolder', { host }),
    (h) => {
      const ok = button(kind === 'files' ? tr.t('local.next') : tr.t('picker.choose'), { class: 'btn-primary' });
      ok.disabled = kind === 'files';
      const count = el('span', { class: 'browser-count' });
      const browser = createFolderBrowser({
        tr,
        selectable: kind === 'files' ? ['file', 'folder'] : undefined,
        hiddenToggle: true,
        load: async (key) => {
          const v = ctx.check(await ctx.call('browseLocal', key), 'browse');
          return v && localLevel(v, kind === 'folder');
        },
        onChange: () => {
          if (kind !== 'files') return;
          const n = browser.selected().length;
          ok.disabled = n === 0;
          setText(count, n > 0 ? tr.plural('local.selected', n) : '');
        },
      });
      ok.addEventListener('click', () => {
        if (kind === 'files') {
          const picked = browser.selected();
          if (picked.length > 0) h.settle(picked);
        } else {
          const here = browser.current();
          if (here) h.settle(here.key);
        }
      });
      void browser.open(null);
      return { body: [browser.element, count], actions: [ok] };
    },
    tr.t('action.cancel'),
    'dialog-picker',
  );
}
