/**
 * Boots the page: subscribes to pushed events, pulls the account, settings and a transfer snapshot, and
 * connects the views' intents to contract calls. The queue lives in a mutable store updated in place per event
 * (state/transfers-store.ts); rendering is coalesced to one per animation frame whatever the event rate, and
 * the renderer never asks for the full list because of an event (only at start-up and after a sign-in).
 * Language and theme come from the settings; a language change builds the views again in the new language.
 */
import type { AccountDto, AppInfoDto, ConflictDto, ConnectivityDto, EventMap, LanguageDto, PairDto, Result, SettingsDto, ThemeDto } from '../main/ipc/contract.js';
import { call, hasBridge, on, pathForFile } from './api.js';
import { createTranslator, resolveLocale, type Translator } from './i18n/translator.js';
import { displayUri } from './state/display-names.js';
import { addConflict, dismissConflict, removePair, upsertPair } from './state/pairs-store.js';
import { connectivityNotice, TransfersStore, type RowAction } from './state/transfers-store.js';
import { createAppView, type AppView, type Screen } from './views/app-view.js';
import { pickDestination, pickLocalFiles, REMOTE_ROOT } from './views/pickers.js';
import type { ViewContext, WhatKey } from './views/view-context.js';

const root = document.getElementById('app');
if (!root) throw new Error('#app is missing');

if (!hasBridge()) {
  const tr = createTranslator(resolveLocale('system', navigator.language));
  root.textContent = tr.t('app.noBridge');
} else {
  start(root);
}

/** Light or dark: the setting, or the OS (prefers-color-scheme, handled by the stylesheet) for 'system'. */
function applyTheme(theme: ThemeDto): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

function start(root: HTMLElement): void {
  const store = new TransfersStore();
  let account: AccountDto | null | undefined = undefined;
  let settings: SettingsDto | null = null;
  let info: AppInfoDto | null = null;
  let pairs: readonly PairDto[] = [];
  let conflicts: readonly ConflictDto[] = [];
  let screen: Screen = 'queue';
  let notice = '';
  let noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** the notice shows the offline state (and is replaced when the server answers again) */
  let offlineShown = false;
  let frame = 0;
  let language: LanguageDto | null = null;
  let tr: Translator = createTranslator(resolveLocale('system', navigator.language));
  let view: AppView | null = null;
  let firstRowsMarked = false;
  /** destination requests wait their turn: one picker at a time */
  const destinationQueue: Array<EventMap['destination-requested']> = [];
  let picking = false;

  const ctx = (): ViewContext => ({
    tr,
    call,
    info,
    notify,
    check<T>(r: Result<T>, what: WhatKey): T | null {
      if (r.ok) return r.value;
      notify(tr.t('app.failed', { what: tr.t(`what.${what}`), message: r.error.message }));
      return null;
    },
    ok(r: Result<unknown>, what: WhatKey): boolean {
      if (!r.ok) notify(tr.t('app.failed', { what: tr.t(`what.${what}`), message: r.error.message }));
      return r.ok;
    },
  });

  function report(r: Result<unknown>, what: WhatKey): void {
    ctx().ok(r, what);
  }

  function build(): void {
    view?.destroy();
    document.documentElement.lang = tr.locale;
    document.title = tr.t('app.name');
    view = createAppView(root, ctx(), store, {
      login: async (form) => {
        const r = await call('login', form.server, form.email, form.password, form.otp);
        if (!r.ok) return r.error;
        setAccount(r.value);
        return null;
      },
      loginWithBrowser: async (server) => {
        const r = await call('loginWithBrowser', server);
        if (!r.ok) return r.error;
        setAccount(r.value);
        return null;
      },
      logout: () => void call('logout').then((r) => (r.ok ? setAccount(null) : report(r, 'signOut'))),
      pauseAll: () => void call('pause').then((r) => report(r, 'pauseAll')),
      resumeAll: () => void call('resume').then((r) => report(r, 'resumeAll')),
      clearFinished: () => void call('clearFinished').then((r) => report(r, 'clearFinished')),
      transferAction: (action: RowAction, id: string) => void transferAction(action, id),
      enqueue: (paths) => void enqueue(paths, targetUri(), false),
      uploadFromEngine: () => void uploadFromEngine(),
      resolveConflict: async (c, choice) => {
        const r = await call('resolveConflict', c.id, choice);
        if (!ctx().ok(r, 'resolveConflict')) return false;
        conflicts = dismissConflict(conflicts, c.id);
        notify(tr.t(choice === 'keep-mine' ? 'conflicts.keptMine' : 'conflicts.keptBoth', { name: c.relPath }));
        return true;
      },
      pairChanged: (p) => {
        pairs = upsertPair(pairs, p);
        schedule();
      },
      pairRemoved: (id) => {
        pairs = removePair(pairs, id);
        schedule();
      },
      saveSettings: async (patch) => {
        const r = await call('setSettings', patch);
        if (!r.ok) return r.error;
        applySettings(r.value);
        return null;
      },
      applyLive: (patch) => void call('setSettings', patch).then((r) => (r.ok ? applySettings(r.value) : report(r, 'saveSettings'))),
      showScreen: (s) => {
        screen = s;
        schedule();
      },
      pathForFile,
      dismissNotice: () => notify(''),
    });
    schedule();
  }

  async function transferAction(action: RowAction, id: string): Promise<void> {
    if (action === 'top') {
      const priority = store.topPriority();
      const r = await call('setPriority', id, priority);
      if (r.ok) store.setPriority(id, priority);
      report(r, 'top');
      schedule();
      return;
    }
    const r = await (action === 'pause' ? call('pause', id) : action === 'resume' ? call('resume', id) : action === 'retry' ? call('retry', id) : call('cancel', id));
    report(r, action);
  }

  /** `say`: confirm with a notice (after a picker; a drop shows its rows at once and needs none) */
  async function enqueue(paths: string[], target: string, say: boolean): Promise<void> {
    const r = await call('enqueuePaths', paths, target);
    if (r.ok && say) notify(tr.plural('drop.queued', paths.length, { target: displayUri(target) }));
    else report(r, 'addFiles');
  }

  async function uploadFromEngine(): Promise<void> {
    const c = ctx();
    const paths = await pickLocalFiles(c);
    if (!paths) return;
    const target = await pickDestination(c, { paths, lastDestinationUri: targetUri(), startUri: targetUri(), purpose: 'upload' });
    if (target) await enqueue(paths, target, true);
  }

  async function nextDestination(): Promise<void> {
    if (picking) return;
    const req = destinationQueue.shift();
    if (!req) return;
    picking = true;
    try {
      screen = 'queue';
      schedule();
      const target = await pickDestination(ctx(), { paths: req.paths, lastDestinationUri: req.lastDestinationUri, startUri: req.lastDestinationUri ?? REMOTE_ROOT, purpose: 'upload' });
      report(await call('resolveDestination', req.requestId, target), 'addFiles');
    } finally {
      picking = false;
      void nextDestination();
    }
  }

  function targetUri(): string {
    return settings?.defaultTargetFolderUri ?? REMOTE_ROOT;
  }

  function applySettings(s: SettingsDto): void {
    settings = s;
    applyTheme(s.theme);
    if (s.language !== language) {
      language = s.language;
      const next = resolveLocale(s.language, navigator.language);
      if (next !== tr.locale || !view) {
        if (view) notify(''); // a notice in the old language would stay behind
        tr = createTranslator(next);
        build();
      }
    }
    schedule();
  }

  // Subscribe before pulling the snapshot, so nothing that happens in between is lost.
  on('transfer-added', (payload) => dispatch({ type: 'transfer-added', payload }));
  on('transfer-state-changed', (payload) => dispatch({ type: 'transfer-state-changed', payload }));
  on('transfer-progressed', (payload) => dispatch({ type: 'transfer-progressed', payload }));
  on('transfer-removed', (payload) => dispatch({ type: 'transfer-removed', payload }));
  on('overall-progressed', (payload) => dispatch({ type: 'overall-progressed', payload }));
  on('account-changed', ({ account: next }) => setAccount(next));
  on('connectivity-changed', showConnectivity);
  on('pair-changed', (p) => {
    pairs = upsertPair(pairs, p);
    schedule();
  });
  on('pair-removed', ({ id }) => {
    pairs = removePair(pairs, id);
    schedule();
  });
  on('conflict-added', (c) => {
    conflicts = addConflict(conflicts, c);
    schedule();
  });
  on('conflict-resolved', ({ conflict }) => {
    conflicts = dismissConflict(conflicts, conflict.id);
    schedule();
  });
  on('history-added', (e) => view?.historyAdded(e));
  on('browser-login-started', ({ url }) => view?.showBrowserUrl(url));
  on('destination-requested', (req) => {
    destinationQueue.push(req);
    void nextDestination();
  });

  void (async () => {
    const [acc, s, i, c] = await Promise.all([call('getAccount'), call('getSettings'), call('getAppInfo'), call('getConnectivity')]);
    if (i.ok) info = i.value;
    if (s.ok) applySettings(s.value);
    if (!view) build();
    if (c.ok && c.value) showConnectivity(c.value);
    if (!acc.ok) {
      report(acc, 'readAccount');
      setAccount(null);
      return;
    }
    setAccount(acc.value);
  })();

  function setAccount(next: AccountDto | null): void {
    const changed = (account?.userId ?? null) !== (next?.userId ?? null) || account === undefined;
    account = next;
    store.apply({ type: 'account-changed', payload: { account: next } });
    if (next && changed) void loadSignedIn();
    if (!next) {
      pairs = [];
      conflicts = [];
      screen = 'queue';
    }
    schedule();
  }

  async function loadSignedIn(): Promise<void> {
    const [t, p, c] = await Promise.all([call('listTransfers'), call('listPairs'), call('listConflicts')]);
    // the bench times snapshot → first rows, and the work in between (test/bench/renderer.ts)
    performance.mark('cloudreve:queue-snapshot');
    if (t.ok) dispatch({ type: 'snapshot', transfers: t.value });
    else report(t, 'loadQueue');
    performance.measure('cloudreve:queue-snapshot-applied', 'cloudreve:queue-snapshot');
    // pairs and conflicts answer 'unavailable' where folder sync is not running: the screens show their empty states
    if (p.ok) pairs = p.value.reduce<PairDto[]>((acc, x) => upsertPair(acc, x), []);
    if (c.ok) conflicts = c.value.reduce<ConflictDto[]>((acc, x) => addConflict(acc, x), []);
    schedule();
  }

  function dispatch(action: Parameters<TransfersStore['apply']>[0]): void {
    if (store.apply(action)) schedule();
  }

  function notify(message: string, sticky = false): void {
    notice = message;
    offlineShown = false;
    clearTimeout(noticeTimer);
    if (message && !sticky) noticeTimer = setTimeout(() => notify(''), 8000);
    schedule();
  }

  /** Offline: a notice that stays until the server answers again (then it goes, unless something replaced it). */
  function showConnectivity(c: ConnectivityDto): void {
    const text = connectivityNotice(c, Date.now(), tr);
    if (text) {
      notify(text, true);
      offlineShown = true;
    } else if (offlineShown) notify('');
  }

  function schedule(): void {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const start = performance.now();
      view?.render({ account, screen, settings, targetUri: targetUri(), notice, pairs, conflicts });
      if (!firstRowsMarked && store.size > 0 && (view?.queueRowsRendered() ?? 0) > 0) {
        firstRowsMarked = true;
        performance.measure('cloudreve:queue-first-render', { start });
        performance.mark('cloudreve:queue-first-rows');
      }
    });
  }
}
