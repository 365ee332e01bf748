/**
 * The page: a header (brand, account, sign out), a notice line, and either the sign-in screen or the signed-in
 * layout: a sidebar (Transfers, History, Conflicts, Sync folders, Settings; buttons, so Tab and Enter reach
 * them) and the chosen screen. State comes in through `render` (at most once per animation frame); intent goes
 * out through AppActions and the ViewContext. Built for one language: main.ts builds it again for another.
 */
import type { AccountDto, ConflictDto, ErrorData, HistoryEntryDto, PairDto, SettingsDto } from '../../main/ipc/contract.js';
import { PAIR_ATTENTION_STATES, shownState } from '../state/pairs-store.js';
import type { RowAction, TransfersStore } from '../state/transfers-store.js';
import { createConflictsView, type ConflictResolution } from './conflicts-view.js';
import { closeDialogs } from './dialog.js';
import { button, el, setAttr, setText } from './element.js';
import { createHistoryView } from './history-view.js';
import { createLoginView, type LoginForm } from './login-view.js';
import { createPairsView } from './pairs-view.js';
import { createQueueView } from './queue-view.js';
import { createSettingsView } from './settings-view.js';
import type { ViewContext } from './view-context.js';

export const SCREENS = ['queue', 'history', 'conflicts', 'pairs', 'settings'] as const;
export type Screen = (typeof SCREENS)[number];

export interface AppActions {
  login(form: LoginForm): Promise<ErrorData | null>;
  loginWithBrowser(server: string): Promise<ErrorData | null>;
  logout(): void;
  pauseAll(): void;
  resumeAll(): void;
  clearFinished(): void;
  transferAction(action: RowAction, id: string): void;
  enqueue(paths: string[]): void;
  /** browser mode: pick files on the engine's machine, then where they go */
  uploadFromEngine(): void;
  /** resolves true once the conflict is resolved (it has left the list) */
  resolveConflict(conflict: ConflictDto, choice: ConflictResolution): Promise<boolean>;
  pairChanged(p: PairDto): void;
  pairRemoved(id: string): void;
  saveSettings(patch: Partial<SettingsDto>): Promise<ErrorData | null>;
  applyLive(patch: Pick<Partial<SettingsDto>, 'language' | 'theme'>): void;
  showScreen(screen: Screen): void;
  pathForFile(file: File): string;
  dismissNotice(): void;
}

export interface AppState {
  /** undefined while the first getAccount is in flight. */
  account: AccountDto | null | undefined;
  screen: Screen;
  settings: SettingsDto | null;
  targetUri: string;
  notice: string;
  pairs: readonly PairDto[];
  conflicts: readonly ConflictDto[];
}

export interface AppView {
  render(state: AppState): void;
  historyAdded(entry: HistoryEntryDto): void;
  showBrowserUrl(url: string): void;
  /** row elements in the queue's DOM (the virtual list keeps only the visible ones) */
  queueRowsRendered(): number;
  destroy(): void;
}

export function createAppView(root: HTMLElement, ctx: ViewContext, store: TransfersStore, actions: AppActions): AppView {
  const { tr } = ctx;
  const abort = new AbortController();
  const who = el('div', { class: 'account' });
  const logout = button(tr.t('app.signOut'), { class: 'btn-quiet' });
  const header = el('header', { class: 'app-header' }, [
    el('div', { class: 'brand' }, [el('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }), tr.t('app.name')]),
    who,
    logout,
  ]);

  const noticeText = el('span');
  const noticeClose = button(tr.t('app.notice.dismiss'), { class: 'btn-quiet btn-small' });
  const notice = el('div', { class: 'notice', attrs: { role: 'status' }, hidden: true }, [noticeText, noticeClose]);

  const navButtons = new Map<Screen, HTMLButtonElement>();
  const badges = new Map<Screen, HTMLElement>();
  const nav = el(
    'nav',
    { class: 'sidebar', attrs: { 'aria-label': tr.t('nav.label') } },
    SCREENS.map((s) => {
      const badge = el('span', { class: 'nav-badge', hidden: true });
      badges.set(s, badge);
      const b = el('button', { class: 'nav-item', attrs: { type: 'button', 'data-screen': s } }, [el('span', { text: tr.t(`nav.${s}`) }), badge]);
      b.addEventListener('click', () => actions.showScreen(s));
      navButtons.set(s, b);
      return b;
    }),
  );

  const login = createLoginView(tr, { login: actions.login, loginWithBrowser: actions.loginWithBrowser });
  const queue = createQueueView(
    tr,
    store,
    { pauseAll: actions.pauseAll, resumeAll: actions.resumeAll, clearFinished: actions.clearFinished, row: actions.transferAction },
    {
      mode: ctx.info?.mode ?? 'desktop',
      pathForFile: actions.pathForFile,
      onPaths: actions.enqueue,
      onRejected: ctx.notify,
      chooseOnEngine: actions.uploadFromEngine,
      signal: abort.signal,
    },
  );
  const history = createHistoryView(ctx);
  const conflicts = createConflictsView(ctx, actions.resolveConflict);
  const pairs = createPairsView(ctx, { changed: actions.pairChanged, removed: actions.pairRemoved });
  const settings = createSettingsView(ctx, { save: actions.saveSettings, applyLive: actions.applyLive });
  const screens: Record<Screen, HTMLElement> = {
    queue: queue.element,
    history: history.element,
    conflicts: conflicts.element,
    pairs: pairs.element,
    settings: settings.element,
  };
  const main = el('main', { class: 'content' }, Object.values(screens));
  const workspace = el('div', { class: 'workspace' }, [nav, main]);
  const loading = el('p', { class: 'loading', text: tr.t('app.connecting') });

  root.replaceChildren(header, notice, loading, login.element, workspace);
  logout.addEventListener('click', () => actions.logout());
  noticeClose.addEventListener('click', () => actions.dismissNotice());

  let lastAccount: AccountDto | null | undefined;
  let lastScreen: Screen | null = null;
  let lastSettings: SettingsDto | null = null;

  function render(state: AppState): void {
    const signedIn = !!state.account;
    loading.hidden = state.account !== undefined;
    login.element.hidden = state.account !== null;
    workspace.hidden = !signedIn;
    logout.hidden = !signedIn;
    if (state.account !== lastAccount) {
      if (lastAccount && !state.account) login.reset();
      lastAccount = state.account;
    }
    setText(who, state.account ? tr.t('app.account', { who: state.account.nickname || state.account.email, host: hostOf(state.account.server) }) : '');
    setText(noticeText, state.notice);
    notice.hidden = state.notice === '';
    if (!signedIn) return;

    const entering = state.screen !== lastScreen;
    if (entering) {
      lastScreen = state.screen;
      for (const s of SCREENS) {
        screens[s].hidden = s !== state.screen;
        setAttr(navButtons.get(s)!, 'aria-current', s === state.screen ? 'page' : 'false');
      }
      if (state.screen === 'history') history.load();
    }
    if (state.settings && (entering || state.settings !== lastSettings) && state.screen === 'settings') {
      lastSettings = state.settings;
      settings.show(state.settings, ctx.info);
    }
    setBadge('conflicts', state.conflicts.length);
    setBadge('pairs', state.pairs.filter((p) => PAIR_ATTENTION_STATES.includes(shownState(p))).length);
    if (state.screen === 'queue') queue.refresh(state.targetUri);
    else if (state.screen === 'conflicts') conflicts.update(state.conflicts, new Set(state.pairs.filter((p) => p.mode === 'two-way').map((p) => p.id)));
    else if (state.screen === 'pairs') pairs.update(state.pairs);
  }

  function setBadge(s: Screen, n: number): void {
    const b = badges.get(s)!;
    setText(b, n > 0 ? tr.number(n) : '');
    b.hidden = n === 0;
  }

  return {
    render,
    historyAdded: (e) => history.added(e),
    showBrowserUrl: (url) => login.showBrowserUrl(url),
    queueRowsRendered: () => queue.rendered(),
    destroy() {
      abort.abort();
      closeDialogs();
      root.replaceChildren();
    },
  };
}

function hostOf(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    return server;
  }
}
