/**
 * Sync pairs: each pair's local folder → remote folder, mode, state (with why, worded from the engine's codes),
 * how fresh it is (last full scan, last change seen; redrawn as time passes), the files not backed up with their
 * reasons (an expandable list from listSyncIssues), the paths mirror deletions would trash and a confirm button
 * showing the count when they wait for the user, pause/resume, sync now, remove (after a confirmation); and the
 * form that adds one (folder pickers on both sides, backup or mirror with a warning, ignore rules).
 */
import type { ErrorData, PairDto, SyncIssueDto, SyncModeDto } from '../../main/ipc/contract.js';
import { displayUri } from '../state/display-names.js';
import { freshness, issueText, parseIgnoreRules, toPairVm, type PairVm } from '../state/pairs-store.js';
import { confirmDialog, openDialog } from './dialog.js';
import { createExcludedFolders } from './excluded-folders.js';
import { button, el, field, setText } from './element.js';
import { pickDestination, pickLocalFolder, REMOTE_ROOT } from './pickers.js';
import type { ViewContext } from './view-context.js';

export interface PairsView {
  readonly element: HTMLElement;
  update(pairs: readonly PairDto[]): void;
}

export interface PairsSink {
  changed(pair: PairDto): void;
  removed(id: string): void;
}

export function createPairsView(ctx: ViewContext, sink: PairsSink): PairsView {
  const { tr } = ctx;
  const addButton = button(tr.t('pairs.add'), { class: 'btn-primary' });
  const syncAll = button(tr.t('pairs.syncAll'));
  const list = el('ul', { class: 'pair-list', attrs: { 'aria-label': tr.t('pairs.list') } });
  const empty = el('p', { class: 'empty', text: tr.t('pairs.empty') });
  const form = createPairForm(ctx, (p) => {
    sink.changed(p);
    formBox.hidden = true;
    addButton.disabled = false;
  });
  const formBox = el('div', { class: 'panel pair-form-box', hidden: true }, [form.element]);
  form.onCancel(() => {
    formBox.hidden = true;
    addButton.disabled = false;
    addButton.focus();
  });
  const element = el('section', { class: 'screen pairs-screen', attrs: { 'data-screen': 'pairs' } }, [
    el('div', { class: 'screen-toolbar' }, [el('h1', { class: 'screen-title', text: tr.t('pairs.title') }), syncAll, addButton]),
    el('p', { class: 'lead', text: tr.t('pairs.lead') }),
    formBox,
    list,
    empty,
  ]);
  let pairs: readonly PairDto[] = [];
  let shown: readonly PairDto[] | null = null;
  /** pairs whose not-backed-up files are listed, and what was loaded for each (keyed by what the pair said then) */
  const expanded = new Set<string>();
  const issues = new Map<string, { key: string; list: SyncIssueDto[] | null }>();
  /** the list shown at most (a pair over a full quota may have thousands) */
  const ISSUES_SHOWN = 200;

  const issuesKey = (p: PairDto): string => JSON.stringify([p.state, p.stateDetail?.notSynced ?? null]);
  const loadIssues = async (p: PairDto): Promise<void> => {
    const key = issuesKey(p);
    issues.set(p.id, { key, list: issues.get(p.id)?.list ?? null });
    const r = await ctx.call('listSyncIssues', p.id);
    if (issues.get(p.id)?.key !== key) return; // a newer load is on its way
    const list = ctx.check(r, 'loadIssues');
    issues.set(p.id, { key, list: list ?? [] });
    draw();
  };

  addButton.addEventListener('click', () => {
    formBox.hidden = false;
    addButton.disabled = true;
    form.reset();
  });
  syncAll.addEventListener('click', () => void ctx.call('syncNow').then((r) => ctx.ok(r, 'pairAction')));

  const pairAction = async (id: string, action: string): Promise<void> => {
    const p = pairs.find((x) => x.id === id);
    if (!p) return;
    switch (action) {
      case 'pause':
      case 'resume': {
        const v = ctx.check(await ctx.call(action === 'pause' ? 'pausePair' : 'resumePair', id), 'pairAction');
        if (v) sink.changed(v);
        return;
      }
      case 'sync':
        ctx.ok(await ctx.call('syncNow', id), 'pairAction');
        return;
      case 'edit': {
        const v = await editPair(ctx, p);
        if (v) sink.changed(v);
        return;
      }
      case 'confirm': {
        const vm = toPairVm(p, tr);
        const count = vm.pendingDeletes ?? 0;
        const yes = await confirmDialog(tr.t('confirm.title'), vm.detail, tr.plural('pairs.confirmDeletes', count), tr.t('confirm.cancel'), true, heldList(vm));
        if (yes) ctx.ok(await ctx.call('confirmDeletes', id, count), 'pairAction');
        return;
      }
      case 'restore': {
        const yes = await confirmDialog(tr.t('confirm.title'), tr.t('pairs.restoreAsk', { local: p.localPath, remote: displayUri(p.remoteUri) }), tr.t('pairs.restoreRemote'), tr.t('confirm.cancel'), false);
        if (yes) ctx.ok(await ctx.call('restoreRemote', id), 'pairAction');
        return;
      }
      case 'issues': {
        if (expanded.has(id)) expanded.delete(id);
        else {
          expanded.add(id);
          void loadIssues(p);
        }
        draw();
        return;
      }
      case 'remove': {
        const yes = await confirmDialog(
          tr.t('confirm.title'),
          tr.t('pairs.removeConfirm', { local: p.localPath, remote: displayUri(p.remoteUri) }),
          tr.t('pairs.remove'),
          tr.t('confirm.cancel'),
          true,
        );
        if (yes && ctx.ok(await ctx.call('removePair', id), 'pairAction')) sink.removed(id);
        return;
      }
    }
  };

  list.addEventListener('click', (e) => {
    const b = (e.target as Element | null)?.closest('button[data-action]');
    const li = b?.closest('li[data-id]');
    if (b && li) void pairAction(li.getAttribute('data-id') ?? '', b.getAttribute('data-action') ?? '');
  });

  /** needs-confirmation: the paths that would go to the server's trash, and how many more */
  function heldList(vm: PairVm): HTMLElement[] {
    if (vm.heldPaths.length === 0) return [];
    return [
      el('ul', { class: 'pair-held', attrs: { 'aria-label': tr.t('pairs.heldPaths') } }, [
        ...vm.heldPaths.map((path) => el('li', { text: path })),
        ...(vm.heldMore > 0 ? [el('li', { class: 'pair-more', text: tr.plural('pairs.more', vm.heldMore) })] : []),
      ]),
    ];
  }

  /** the not-backed-up line (with its Show/Hide button) and, expanded, the files with their reasons */
  function notSyncedPart(p: PairDto, vm: PairVm): HTMLElement[] {
    if (!vm.notSynced) return [];
    const open = expanded.has(p.id);
    const listId = `pair-issues-${p.id}`;
    const toggle = button(tr.t(open ? 'pairs.hideIssues' : 'pairs.showIssues'), {
      class: 'btn-small btn-quiet',
      attrs: { 'data-action': 'issues', 'aria-expanded': String(open), 'aria-controls': listId },
    });
    const line = el('div', { class: 'pair-notsynced' }, [el('span', { class: 'pair-notsynced-text', text: vm.notSynced }), toggle]);
    if (!open) return [line];
    const loaded = issues.get(p.id);
    if (loaded && loaded.key !== issuesKey(p)) void loadIssues(p); // the pair changed: list again
    const now = Date.now();
    const items: HTMLElement[] =
      loaded?.list == null
        ? [el('li', { class: 'pair-more', text: tr.t('pairs.issuesLoading') })]
        : loaded.list.length === 0
          ? [el('li', { class: 'pair-more', text: tr.t('pairs.issuesNone') })]
          : [
              ...loaded.list.slice(0, ISSUES_SHOWN).map((i) =>
                el('li', { class: 'pair-issue', attrs: { 'data-code': i.code } }, [
                  el('span', { class: 'pair-issue-path', text: i.relPath }),
                  el('span', { class: 'pair-issue-why', text: issueText(i, tr, now) }),
                ]),
              ),
              ...(loaded.list.length > ISSUES_SHOWN ? [el('li', { class: 'pair-more', text: tr.plural('pairs.more', loaded.list.length - ISSUES_SHOWN) })] : []),
            ];
    return [line, el('ul', { class: 'pair-issues', attrs: { id: listId, 'aria-label': tr.t('pairs.issuesLabel', { local: vm.localPath }) } }, items)];
  }

  function card(p: PairDto): HTMLElement {
    const vm = toPairVm(p, tr);
    const buttons: HTMLButtonElement[] = [];
    const act = (action: string, text: string, cls = 'btn-small'): void => {
      buttons.push(button(text, { class: cls, attrs: { 'data-action': action, 'aria-label': `${text} ${vm.localPath}` } }));
    };
    if (vm.remoteGone) act('restore', tr.t('pairs.restoreRemote'), 'btn-small');
    if (vm.pendingDeletes !== null && !(vm.remoteGone && vm.pendingDeletes === 0)) act('confirm', tr.plural('pairs.confirmDeletes', vm.pendingDeletes), 'btn-small btn-danger');
    if (vm.paused) act('resume', tr.t('pairs.resume'));
    else act('pause', tr.t('pairs.pause'));
    act('sync', tr.t('pairs.syncNow'));
    act('edit', tr.t('pairs.edit'), 'btn-small btn-quiet');
    act('remove', tr.t('pairs.remove'), 'btn-small btn-quiet');
    return el('li', { class: 'pair', attrs: { 'data-id': p.id, 'data-state': vm.state, 'data-tone': vm.tone } }, [
      el('div', { class: 'pair-main' }, [
        el('div', { class: 'pair-paths' }, [
          el('span', { class: 'pair-local', text: vm.localPath }),
          el('span', { class: 'pair-arrow', text: '→', attrs: { 'aria-hidden': 'true' } }),
          el('span', { class: 'pair-remote', text: vm.remoteUri }),
        ]),
        el('div', { class: 'pair-meta' }, [
          el('span', { class: `badge${vm.mirror ? ' badge-warn' : ''}`, text: vm.modeLabel }),
          el('span', { class: 'pair-state', text: vm.stateLabel }),
          el('span', { class: 'pair-scan', text: vm.freshness, attrs: vm.freshnessTitle ? { title: vm.freshnessTitle } : {} }),
        ]),
        ...(vm.detail ? [el('div', { class: 'pair-detail', text: vm.detail })] : []),
        ...(p.excludeRemote?.length ? [el('div', { class: 'pair-excluded', text: tr.t('pairs.excluded', { folders: p.excludeRemote.join(', ') }) })] : []),
        ...heldList(vm),
        ...notSyncedPart(p, vm),
      ]),
      el('div', { class: 'pair-actions' }, buttons),
    ]);
  }

  function draw(): void {
    shown = pairs;
    for (const id of [...expanded]) if (!pairs.some((p) => p.id === id)) expanded.delete(id);
    // keep focus on the same button across a redraw (pair-changed arrives while the user works)
    const focused = document.activeElement?.closest('li[data-id] button[data-action]');
    const focusKey = focused ? [focused.closest('li')?.getAttribute('data-id'), focused.getAttribute('data-action')] : null;
    list.replaceChildren(...pairs.map(card));
    if (focusKey) (list.querySelector(`li[data-id="${CSS.escape(focusKey[0] ?? '')}"] button[data-action="${focusKey[1]}"]`) as HTMLElement | null)?.focus();
    empty.hidden = pairs.length > 0;
    syncAll.disabled = pairs.length === 0;
  }

  // "5 minutes ago" goes stale: the freshness lines are worded again while the screen is up (text only, no redraw)
  const ticker = setInterval(() => {
    if (!element.isConnected) return clearInterval(ticker); // the view was replaced (sign-out, another language)
    if (element.hidden) return;
    const now = Date.now();
    for (const p of pairs) {
      const node = list.querySelector(`li[data-id="${CSS.escape(p.id)}"] .pair-scan`);
      if (node) setText(node, freshness(p, tr, now).text);
    }
  }, 5_000);

  return {
    element,
    update(next) {
      pairs = next;
      if (next !== shown) draw();
    },
  };
}

/** Backup/mirror/two-way radios with the warning (shown while mirror or two-way is chosen: both delete on the other side). */
function modeChoice(ctx: ViewContext, mode: SyncModeDto): { element: HTMLFieldSetElement; value(): SyncModeDto; set(m: SyncModeDto): void } {
  const { tr } = ctx;
  const radios = (['backup', 'mirror', 'two-way'] as const).map((m) => el('input', { attrs: { type: 'radio', name: 'mode', value: m } }));
  const warning = el('p', { class: 'warning', text: tr.t('pairs.mirrorWarning'), attrs: { role: 'note' }, hidden: true });
  const element = el('fieldset', { class: 'field' }, [
    el('legend', { class: 'field-label', text: tr.t('pairs.mode') }),
    ...radios.map((r) => el('label', { class: 'field-check' }, [r, el('span', { text: tr.t(`pairs.mode.${r.value as SyncModeDto}`) })])),
    warning,
  ]);
  const value = (): SyncModeDto => (radios[2].checked ? 'two-way' : radios[1].checked ? 'mirror' : 'backup');
  const set = (m: SyncModeDto): void => {
    radios[0].checked = m === 'backup';
    radios[1].checked = m === 'mirror';
    radios[2].checked = m === 'two-way';
    warning.hidden = m === 'backup';
  };
  for (const r of radios) r.addEventListener('change', () => (warning.hidden = value() === 'backup'));
  set(mode);
  return { element, value, set };
}

/**
 * Mode, ignore rules and the folders to sync (selective sync: the remote tree with tick boxes) of an existing pair
 * (updatePair, then setExcludedFolders when the ticks changed); resolves with the pair as saved, or null.
 */
function editPair(ctx: ViewContext, p: PairDto): Promise<PairDto | null> {
  const { tr } = ctx;
  return openDialog<PairDto>(
    tr.t('pairs.editTitle', { local: p.localPath }),
    (h) => {
      const mode = modeChoice(ctx, p.mode);
      const ignore = el('textarea', { attrs: { name: 'ignore', rows: '4', spellcheck: 'false' } });
      ignore.value = p.ignore.join('\n');
      const message = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
      const folders = createExcludedFolders(ctx, p.remoteUri, p.excludeRemote ?? []);
      const save = button(tr.t('pairs.save'), { class: 'btn-primary' });
      save.addEventListener('click', () => {
        save.disabled = true;
        void ctx
          .call('updatePair', p.id, { mode: mode.value(), ignore: parseIgnoreRules(ignore.value) })
          .then(async (r) => (r.ok && folders.changed() ? ctx.call('setExcludedFolders', p.id, folders.value()) : r))
          .then((r) => {
            if (r.ok) h.settle(r.value);
            else {
              setText(message, r.error.message);
              message.hidden = false;
            }
          })
          .finally(() => {
            save.disabled = false;
          });
      });
      return {
        body: [el('p', { class: 'dialog-message', text: `${p.localPath} → ${displayUri(p.remoteUri)}` }), mode.element, field(tr.t('pairs.ignore'), ignore, tr.t('pairs.ignoreHint')), folders.element, message],
        actions: [save],
      };
    },
    tr.t('pairs.cancel'),
  );
}

interface PairForm {
  readonly element: HTMLFormElement;
  reset(): void;
  onCancel(fn: () => void): void;
}

function createPairForm(ctx: ViewContext, added: (p: PairDto) => void): PairForm {
  const { tr } = ctx;
  const local = el('input', { attrs: { name: 'localPath', required: '', spellcheck: 'false' } });
  const pickLocal = button(tr.t('action.choose'), { attrs: { 'aria-label': tr.t('pairs.pickLocal') } });
  const remote = el('input', { attrs: { name: 'remoteUri', required: '', pattern: 'cloudreve://\\S*', spellcheck: 'false' } });
  const pickRemote = button(tr.t('action.choose'), { attrs: { 'aria-label': tr.t('pairs.pickRemote') } });
  const mode = modeChoice(ctx, 'backup');
  const ignore = el('textarea', { attrs: { name: 'ignore', rows: '3', spellcheck: 'false', placeholder: '*.tmp\nnode_modules/' } });
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
  const cancel = button(tr.t('pairs.cancel'), { class: 'btn-quiet' });
  const submit = el('button', { class: 'btn btn-primary', text: tr.t('pairs.create'), attrs: { type: 'submit' } });
  const element = el('form', { class: 'pair-form', attrs: { 'aria-label': tr.t('pairs.add') } }, [
    el('h2', { text: tr.t('pairs.add') }),
    field(tr.t('pairs.local'), el('div', { class: 'input-row' }, [local, pickLocal])),
    field(tr.t('pairs.remote'), el('div', { class: 'input-row' }, [remote, pickRemote])),
    mode.element,
    field(tr.t('pairs.ignore'), ignore, tr.t('pairs.ignoreHint')),
    message,
    el('div', { class: 'form-actions' }, [cancel, submit]),
  ]);
  const showError = (e: ErrorData | string | null): void => {
    setText(message, e === null ? '' : typeof e === 'string' ? e : e.message);
    message.hidden = e === null;
  };

  pickLocal.addEventListener('click', () => {
    void pickLocalFolder(ctx).then((p) => {
      if (p) local.value = p;
    });
  });
  pickRemote.addEventListener('click', () => {
    void pickDestination(ctx, { paths: [], lastDestinationUri: null, startUri: remote.value || REMOTE_ROOT, purpose: 'choose' }).then((u) => {
      if (u) remote.value = u;
    });
  });
  element.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!local.value.trim()) return showError(tr.t('pairs.needLocal'));
    submit.disabled = true;
    showError(null);
    void ctx
      .call('addPair', { localPath: local.value.trim(), remoteUri: remote.value.trim(), mode: mode.value(), ignore: parseIgnoreRules(ignore.value) })
      .then((r) => {
        if (r.ok) added(r.value);
        else showError(r.error);
      })
      .finally(() => {
        submit.disabled = false;
      });
  });

  return {
    element,
    reset() {
      element.reset();
      mode.set('backup');
      remote.value = REMOTE_ROOT;
      showError(null);
      local.focus();
    },
    onCancel: (fn) => cancel.addEventListener('click', fn),
  };
}
