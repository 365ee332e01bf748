/**
 * The page: a header (account, pause/resume all, settings, sign out), a notice line, and either the
 * sign-in screen or the queue screen (drop zone, overall bar, transfer list). State comes in through
 * `render`; user intent goes out through AppActions. No IPC here: main.ts wires both ends.
 */
import type { AccountDto, ErrorData, SettingsDto } from '../../main/ipc/contract.js';
import type { QueueVm, RowAction } from '../state/transfers-store.js';
import { createDropZone } from './drop-zone.js';
import { el, setText } from './element.js';
import { createLoginView, type LoginForm } from './login-view.js';
import { createOverallBar } from './overall-bar.js';
import { createQueueView } from './queue-view.js';
import { createSettingsView } from './settings-view.js';

export interface AppActions {
  login(form: LoginForm): Promise<ErrorData | null>;
  logout(): void;
  pauseAll(): void;
  resumeAll(): void;
  clearFinished(): void;
  transferAction(action: RowAction, id: string): void;
  enqueue(paths: string[]): void;
  openSettings(): void;
  saveSettings(patch: Partial<SettingsDto>): Promise<ErrorData | null>;
  pathForFile(file: File): string;
  notify(message: string): void;
  dismissNotice(): void;
}

export interface AppState {
  /** undefined while the first getAccount is in flight. */
  account: AccountDto | null | undefined;
  queue: QueueVm;
  targetUri: string;
  notice: string;
}

export interface AppView {
  render(state: AppState): void;
  openSettings(settings: SettingsDto): void;
}

export function createAppView(root: HTMLElement, actions: AppActions): AppView {
  const who = el('div', { class: 'account' });
  const pauseAll = el('button', { class: 'btn', text: 'Pause all', attrs: { type: 'button' } });
  const resumeAll = el('button', { class: 'btn', text: 'Resume all', attrs: { type: 'button' } });
  const clearFinished = el('button', { class: 'btn btn-quiet', text: 'Clear finished', attrs: { type: 'button' } });
  const settingsButton = el('button', { class: 'btn btn-quiet', text: 'Settings', attrs: { type: 'button' } });
  const logout = el('button', { class: 'btn btn-quiet', text: 'Sign out', attrs: { type: 'button' } });
  const toolbar = el('div', { class: 'toolbar' }, [pauseAll, resumeAll, clearFinished, settingsButton, logout]);
  const header = el('header', { class: 'app-header' }, [
    el('div', { class: 'brand' }, [el('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }), 'Cloudreve Sync']),
    who,
    toolbar,
  ]);

  const noticeText = el('span');
  const noticeClose = el('button', { class: 'btn btn-quiet btn-small', text: 'Dismiss', attrs: { type: 'button' } });
  const notice = el('div', { class: 'notice', attrs: { role: 'status' }, hidden: true }, [noticeText, noticeClose]);

  const login = createLoginView(actions.login);
  const drop = createDropZone({ pathForFile: actions.pathForFile, onPaths: actions.enqueue, onRejected: actions.notify });
  const overall = createOverallBar();
  const queue = createQueueView(actions.transferAction);
  const settings = createSettingsView(actions.saveSettings);
  const queueScreen = el('main', { class: 'queue-screen' }, [settings.element, drop.element, overall.element, queue.element]);
  const loading = el('p', { class: 'loading', text: 'Connecting…' });

  root.replaceChildren(header, notice, loading, login.element, queueScreen);

  pauseAll.addEventListener('click', () => actions.pauseAll());
  resumeAll.addEventListener('click', () => actions.resumeAll());
  clearFinished.addEventListener('click', () => actions.clearFinished());
  settingsButton.addEventListener('click', () => actions.openSettings());
  logout.addEventListener('click', () => actions.logout());
  noticeClose.addEventListener('click', () => actions.dismissNotice());

  let lastAccount: AccountDto | null | undefined;

  function render(state: AppState): void {
    const signedIn = !!state.account;
    loading.hidden = state.account !== undefined;
    login.element.hidden = state.account !== null;
    queueScreen.hidden = !signedIn;
    toolbar.hidden = !signedIn;
    if (state.account !== lastAccount) {
      if (lastAccount && !state.account) {
        login.reset();
        settings.close();
      }
      lastAccount = state.account;
    }
    setText(who, state.account ? `${state.account.nickname || state.account.email} · ${hostOf(state.account.server)}` : '');
    pauseAll.disabled = !state.queue.canPauseAll;
    resumeAll.disabled = !state.queue.canResumeAll;
    clearFinished.disabled = !state.queue.canClearFinished;
    setText(noticeText, state.notice);
    notice.hidden = state.notice === '';
    drop.setTarget(state.targetUri);
    overall.update(state.queue.overall);
    queue.update(state.queue);
  }

  return { render, openSettings: (s) => settings.open(s) };
}

function hostOf(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    return server;
  }
}
