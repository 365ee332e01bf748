/**
 * Desktop notifications: WHAT to tell the user is a pure function of what happened (planNotifications, tested with
 * tables); WHEN is the NotificationQueue (events are collected for a moment and planned together, so a burst of 1,000
 * failures is one notification, and a minimum gap keeps a slow trickle from becoming a stream); HOW is the thin
 * Electron binding (showWithElectron), with the action a click or button triggers handed back to main.ts.
 *
 * What is worth a notification (everything else the engine handles by itself, and the window shows):
 *   - a shell-menu upload finished (all its files terminal), with "Copy share link";
 *   - a file failed for good (state `failed`: the engine already retried what retrying can fix), except a lost login,
 *     which is one notification of its own;
 *   - a sync pass kept both versions of a file (a new conflict);
 *   - the login expired (the refresh token was refused): nothing uploads until the user signs in again.
 */
import type { Notification as ElectronNotification } from 'electron';
import { SHELL_TEXT, type ShellText } from './shell-text.js';

export type ShellEvent =
  | {
      type: 'upload-finished';
      requestId: string;
      /** names of what the user sent (files or folders) */
      names: string[];
      targetUri: string;
      done: number;
      skipped: number;
      failed: number;
      cancelled: number;
      /** what a share link would point at: the one item sent, else the destination folder */
      shareUri: string;
    }
  | { type: 'transfer-failed'; id: string; name: string; error: { code: string; message: string } | null }
  | { type: 'conflict-added'; id: number; relPath: string }
  | { type: 'login-expired'; email: string };

export type NotificationCommand =
  | { type: 'copy-share-link'; uri: string }
  | { type: 'open-window'; view: 'queue' | 'history' | 'conflicts' | 'sign-in' };

export interface NotificationModel {
  /** the same key replaces an earlier notification (where the OS supports it) */
  key: string;
  title: string;
  body: string;
  /** what a click on the notification does */
  click: NotificationCommand;
  /** one button (macOS, Windows); a click does `click` elsewhere */
  action?: { label: string; command: NotificationCommand };
  /** needs attention (failures, lost login): stays until dismissed where the OS allows */
  urgent: boolean;
}

/** At most this many notifications come out of one planning round; the rest are summed up in the last one. */
export const MAX_PER_ROUND = 3;

/** PURE: the notifications for the events collected in one round, in the order they matter. */
export function planNotifications(events: readonly ShellEvent[], t: ShellText = SHELL_TEXT.en): NotificationModel[] {
  const out: NotificationModel[] = [];
  const login = events.find((e): e is Extract<ShellEvent, { type: 'login-expired' }> => e.type === 'login-expired');
  if (login) {
    out.push({
      key: 'login-expired',
      title: t.loginExpiredTitle,
      body: t.loginExpiredBody(login.email),
      click: { type: 'open-window', view: 'sign-in' },
      action: { label: t.signIn, command: { type: 'open-window', view: 'sign-in' } },
      urgent: true,
    });
  }

  // A lost login fails nothing for good (transfers pause); any login-required failure is covered by the one above.
  const failures = events.filter(
    (e): e is Extract<ShellEvent, { type: 'transfer-failed' }> => e.type === 'transfer-failed' && e.error?.code !== 'login-required' && e.error?.code !== 'cancelled',
  );
  if (failures.length === 1) {
    const f = failures[0];
    out.push({
      key: `failed:${f.id}`,
      title: t.couldNotUpload(f.name),
      body: f.error?.message ?? t.uploadFailedBody,
      click: { type: 'open-window', view: 'queue' },
      urgent: true,
    });
  } else if (failures.length > 1) {
    const names = failures.slice(0, 3).map((f) => f.name);
    out.push({
      key: 'failed:summary',
      title: t.manyFailedTitle(failures.length),
      body: t.manyFailedBody(names, failures.length - names.length),
      click: { type: 'open-window', view: 'queue' },
      urgent: true,
    });
  }

  const conflicts = events.filter((e): e is Extract<ShellEvent, { type: 'conflict-added' }> => e.type === 'conflict-added');
  if (conflicts.length === 1) {
    out.push({
      key: `conflict:${conflicts[0].id}`,
      title: t.conflictTitle,
      body: t.conflictBody(conflicts[0].relPath),
      click: { type: 'open-window', view: 'conflicts' },
      urgent: false,
    });
  } else if (conflicts.length > 1) {
    out.push({
      key: 'conflict:summary',
      title: t.conflictsTitle(conflicts.length),
      body: t.conflictsBody,
      click: { type: 'open-window', view: 'conflicts' },
      urgent: false,
    });
  }

  for (const e of events) {
    if (e.type !== 'upload-finished') continue;
    out.push(finishedUpload(e, t));
  }

  if (out.length <= MAX_PER_ROUND) return out;
  const kept = out.slice(0, MAX_PER_ROUND - 1);
  const rest = out.length - kept.length;
  kept.push({
    key: 'more',
    title: t.moreUpdates(rest),
    body: out
      .slice(MAX_PER_ROUND - 1)
      .map((n) => n.title)
      .join('; '),
    click: { type: 'open-window', view: 'history' },
    urgent: out.slice(MAX_PER_ROUND - 1).some((n) => n.urgent),
  });
  return kept;
}

function finishedUpload(e: Extract<ShellEvent, { type: 'upload-finished' }>, t: ShellText): NotificationModel {
  const what = e.names.length === 1 ? e.names[0] : t.items(e.names.length);
  const uploaded = e.done + e.skipped;
  const total = uploaded + e.failed + e.cancelled;
  const where = folderName(e.targetUri, t);
  if (e.failed === 0 && e.cancelled === 0) {
    return {
      key: `upload:${e.requestId}`,
      title: t.uploadedTitle(what),
      body: t.uploadedBody(total, where, e.skipped),
      click: { type: 'open-window', view: 'history' },
      action: { label: t.copyShareLink, command: { type: 'copy-share-link', uri: e.shareUri } },
      urgent: false,
    };
  }
  return {
    key: `upload:${e.requestId}`,
    title: e.failed > 0 ? t.finishedWithProblems(what) : t.finished(what),
    body: t.partBody(uploaded, total, where, e.failed, e.cancelled),
    click: { type: 'open-window', view: e.failed > 0 ? 'queue' : 'history' },
    ...(uploaded > 0 ? { action: { label: t.copyShareLink, command: { type: 'copy-share-link' as const, uri: e.shareUri } } } : {}),
    urgent: e.failed > 0,
  };
}

/** `cloudreve://my/Photos/2024` → "Photos/2024"; the root → "My files". */
export function folderName(uri: string, t: ShellText = SHELL_TEXT.en): string {
  const m = /^cloudreve:\/\/[^/]*\/?(.*)$/.exec(uri);
  const path = (m?.[1] ?? '').replace(/\/+$/, '');
  if (!path) return t.myFiles;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

// ---------------------------------------------------------------- timing: collect, then plan

export interface NotificationQueueOptions {
  show: (n: NotificationModel) => void;
  /** the words of the current language (read at each round, so a language switch applies to the next one) */
  text?: () => ShellText;
  /** events arriving within this long of the first one are planned together (default 1.5 s) */
  collectMs?: number;
  /** at least this long between two rounds (default 10 s): later events wait and join the next round */
  minGapMs?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class NotificationQueue {
  private pending: ShellEvent[] = [];
  /** failures beyond the kept 10,000 (still counted in the summary) */
  private overflow = 0;
  private timer: unknown = null;
  private lastRound = -Infinity;
  private readonly collectMs: number;
  private readonly minGapMs: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly opts: NotificationQueueOptions) {
    this.collectMs = opts.collectMs ?? 1500;
    this.minGapMs = opts.minGapMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  push(event: ShellEvent): void {
    // bounded: a burst is summed up anyway, so only what the plan names needs keeping
    if (this.pending.length < 10_000) this.pending.push(event);
    else if (event.type !== 'transfer-failed') this.pending.push(event);
    else this.overflow++;
    if (this.timer !== null) return;
    const wait = Math.max(this.collectMs, this.lastRound + this.minGapMs - this.now());
    this.timer = this.setTimer(() => this.flush(), wait);
  }

  flush(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const events = this.pending;
    const extra = this.overflow;
    this.pending = [];
    this.overflow = 0;
    this.lastRound = this.now();
    for (let i = 0; i < extra; i++) events.push({ type: 'transfer-failed', id: `overflow-${i}`, name: '…', error: null });
    for (const n of planNotifications(events, this.opts.text?.() ?? SHELL_TEXT.en)) this.opts.show(n);
  }

  dispose(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.pending = [];
  }
}

// ---------------------------------------------------------------- the Electron binding

export interface NotificationElectron {
  Notification: { new (options: Electron.NotificationConstructorOptions): ElectronNotification; isSupported(): boolean };
}

/**
 * Shows a model as an Electron notification; `run` gets the command of a click or of the action button.
 * Notifications are kept referenced until closed (an unreferenced one can be collected and lose its click handler).
 */
export function createNotifier(electron: NotificationElectron, iconPath: string | undefined, run: (c: NotificationCommand) => void): (n: NotificationModel) => void {
  const live = new Set<ElectronNotification>();
  return (n) => {
    if (!electron.Notification.isSupported()) return;
    const note = new electron.Notification({
      title: n.title,
      body: n.body,
      icon: iconPath,
      urgency: n.urgent ? 'critical' : 'normal',
      timeoutType: n.urgent ? 'never' : 'default',
      actions: n.action ? [{ type: 'button', text: n.action.label }] : [],
    });
    live.add(note);
    const forget = () => live.delete(note);
    note.on('click', () => run(n.click));
    note.on('action', () => {
      if (n.action) run(n.action.command);
    });
    note.on('close', forget);
    note.on('failed', forget);
    note.show();
  };
}
