/**
 * Boots the page: subscribes to pushed events, pulls the account and a transfer snapshot, and connects the
 * views' intents to contract calls. State lives in the pure reducer (state/transfers-store.ts); rendering is
 * coalesced to one per animation frame.
 */
import type { AccountDto, ConnectivityDto, EventName, Result, SettingsDto } from '../main/ipc/contract.js';
import { call, hasBridge, on, pathForFile } from './api.js';
import { connectivityNotice, initialTransfersState, reduceTransfers, toQueueVm, type RowAction, type TransfersState } from './state/transfers-store.js';
import { createAppView, type AppState } from './views/app-view.js';

const root = document.getElementById('app');
if (!root) throw new Error('#app is missing');

if (!hasBridge()) {
  root.textContent = 'Cloudreve Sync could not connect to its background service (the preload bridge is missing).';
} else {
  start(root);
}

function start(root: HTMLElement): void {
  let transfers: TransfersState = initialTransfersState;
  let account: AccountDto | null | undefined = undefined;
  let settings: SettingsDto | null = null;
  let notice = '';
  let noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** the notice shows the offline state (and is replaced when the server answers again) */
  let offlineShown = false;
  let frame = 0;

  const view = createAppView(root, {
    login: async (form) => {
      const r = await call('login', form.server, form.email, form.password, form.otp);
      if (!r.ok) return r.error;
      setAccount(r.value);
      return null;
    },
    logout: () => {
      void call('logout').then((r) => (r.ok ? setAccount(null) : notify(`Could not sign out: ${r.error.message}`)));
    },
    pauseAll: () => void call('pause').then((r) => report(r, 'pause all')),
    resumeAll: () => void call('resume').then((r) => report(r, 'resume all')),
    clearFinished: () => void call('clearFinished').then((r) => report(r, 'clear finished uploads')),
    transferAction: (action: RowAction, id: string) => {
      const run = action === 'pause' ? call('pause', id) : action === 'resume' ? call('resume', id) : action === 'retry' ? call('retry', id) : call('cancel', id);
      void run.then((r) => report(r, action));
    },
    enqueue: (paths) => {
      const target = settings?.defaultTargetFolderUri ?? 'cloudreve://my/';
      void call('enqueuePaths', paths, target).then((r) => report(r, 'add files'));
    },
    openSettings: () => {
      void call('getSettings').then((r) => {
        if (!r.ok) return report(r, 'open settings');
        settings = r.value;
        view.openSettings(r.value);
      });
    },
    saveSettings: async (patch) => {
      const r = await call('setSettings', patch);
      if (!r.ok) return r.error;
      settings = r.value;
      schedule();
      return null;
    },
    pathForFile,
    notify,
    dismissNotice: () => notify(''),
  });

  // Subscribe before pulling the snapshot, so nothing that happens in between is lost.
  const forward = <K extends Exclude<EventName, 'account-changed'>>(name: K): void => {
    on(name, (payload) => dispatch({ type: name, payload } as Parameters<typeof reduceTransfers>[1]));
  };
  forward('transfer-added');
  forward('transfer-state-changed');
  forward('transfer-progressed');
  forward('transfer-removed');
  forward('overall-progressed');
  on('account-changed', ({ account: next }) => setAccount(next));
  on('connectivity-changed', showConnectivity);
  void call('getConnectivity').then((r) => {
    if (r.ok && r.value) showConnectivity(r.value);
  });

  void (async () => {
    const [acc, s] = await Promise.all([call('getAccount'), call('getSettings')]);
    if (s.ok) settings = s.value;
    if (!acc.ok) {
      notify(`Could not read the account: ${acc.error.message}`);
      setAccount(null);
      return;
    }
    setAccount(acc.value);
  })();

  function setAccount(next: AccountDto | null): void {
    const changed = (account?.userId ?? null) !== (next?.userId ?? null) || account === undefined;
    account = next;
    dispatch({ type: 'account-changed', payload: { account: next } });
    if (next && changed) void loadSnapshot();
    schedule();
  }

  async function loadSnapshot(): Promise<void> {
    const r = await call('listTransfers');
    if (r.ok) dispatch({ type: 'snapshot', transfers: r.value });
    else notify(`Could not load the queue: ${r.error.message}`);
  }

  function dispatch(action: Parameters<typeof reduceTransfers>[1]): void {
    transfers = reduceTransfers(transfers, action);
    schedule();
  }

  function report(r: Result<unknown>, what: string): void {
    if (!r.ok) notify(`Could not ${what}: ${r.error.message}`);
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
    const text = connectivityNotice(c, Date.now());
    if (text) {
      notify(text, true);
      offlineShown = true;
    } else if (offlineShown) notify('');
  }

  function schedule(): void {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const state: AppState = {
        account,
        queue: toQueueVm(transfers),
        targetUri: settings?.defaultTargetFolderUri ?? 'cloudreve://my/',
        notice,
      };
      view.render(state);
    });
  }

  schedule();
}
