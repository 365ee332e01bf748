/**
 * The tray icon. Everything it shows is a PURE function of engine state: trayStatusFrom() sums up transfers,
 * connectivity, the account and the sync pairs; trayIconState() picks the icon (idle, syncing with the overall %,
 * paused, error, offline, signed out); buildTrayMenu() the menu. ShellTray is the thin binding that turns those into
 * an Electron Tray. Electron's classes are handed in by main.ts (this file imports electron for types only), so the
 * pure half loads in plain Node and is tested with tables (test/shell/tray.test.ts).
 */
import { join } from 'node:path';
import type { Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import { SHELL_TEXT, type ShellText } from './shell-text.js';

export type TrayIconState = 'idle' | 'syncing' | 'paused' | 'error' | 'offline' | 'signed-out';
export const TRAY_ICON_STATES: readonly TrayIconState[] = ['idle', 'syncing', 'paused', 'error', 'offline', 'signed-out'];

export interface TrayPair {
  id: string;
  localPath: string;
  state: string;
  paused: boolean;
  /** files of the pair not on the server after its last pass (stateDetail.notSynced.count); absent or 0 when none */
  notSynced?: number;
}

export interface TrayStatus {
  /** signed in, and the login still works (not expired) */
  signedIn: boolean;
  online: boolean;
  /** Transfers running now (uploads and downloads). */
  active: number;
  /** Of `active`, the downloads. */
  downloading: number;
  /** Transfers waiting for a slot (queued, waiting to retry, waiting for a file to settle). */
  queued: number;
  paused: number;
  failed: number;
  /** Overall upload speed, bytes/s. */
  speed: number;
  /** overall progress of what is queued or running, 0–100; null when nothing is */
  percent: number | null;
  pairs: TrayPair[];
  /** "Pause for 1 hour" runs until this time (ms since the epoch); null otherwise */
  pausedUntil: number | null;
}

export type TrayAction =
  | { type: 'show-window' }
  | { type: 'pause-all' }
  | { type: 'resume-all' }
  | { type: 'pause-hour' }
  | { type: 'sync-now' }
  | { type: 'open-folder'; path: string }
  | { type: 'quit' };

export type TrayMenuItem =
  | { kind: 'status'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean }
  | { kind: 'submenu'; label: string; items: TrayMenuItem[] };

/** uploads' and downloads' states (a download runs as 'downloading'): the tray counts both directions */
const RUNNING = new Set(['preflight', 'creating-session', 'uploading', 'downloading', 'completing']);
const WAITING = new Set(['queued', 'waiting-retry', 'waiting-file']);
const PAIR_BUSY = new Set(['scanning', 'syncing']);
const PAIR_ERROR = new Set(['error', 'unavailable', 'needs-confirmation', 'remote-missing']);
/** a pair whose last pass left files not on the server (also when it reads idle but counts some: never "up to date") */
const notBackedUp = (p: TrayPair): boolean => p.state === 'incomplete' || (p.notSynced ?? 0) > 0;

export interface TrayInput {
  transfers: ReadonlyArray<{ state: string; size: number; bytesDone: number }>;
  speed: number;
  signedIn: boolean;
  online: boolean;
  pairs?: readonly TrayPair[];
  pausedUntil?: number | null;
}

/** Sums up engine state (snapshots or DTOs) into a TrayStatus. */
export function trayStatusFrom(input: TrayInput): TrayStatus {
  const status: TrayStatus = {
    signedIn: input.signedIn,
    online: input.online,
    active: 0,
    downloading: 0,
    queued: 0,
    paused: 0,
    failed: 0,
    speed: input.speed,
    percent: null,
    pairs: [...(input.pairs ?? [])],
    pausedUntil: input.pausedUntil ?? null,
  };
  let total = 0;
  let done = 0;
  for (const t of input.transfers) {
    const busy = RUNNING.has(t.state) || WAITING.has(t.state);
    if (RUNNING.has(t.state)) {
      status.active++;
      if (t.state === 'downloading') status.downloading++;
    }
    else if (WAITING.has(t.state)) status.queued++;
    else if (t.state === 'paused') status.paused++;
    else if (t.state === 'failed') status.failed++;
    if (busy) {
      total += t.size;
      done += Math.min(t.bytesDone, t.size);
    }
  }
  if (status.active + status.queued > 0) status.percent = total > 0 ? Math.floor((done / total) * 100) : 0;
  return status;
}

/**
 * The icon, in this order: signed out; offline; syncing (work in progress wins over older problems, and shows the %);
 * error (a failed file or a pair that needs the user); paused (everything left is paused, or "pause for 1 hour"); idle.
 */
export function trayIconState(s: TrayStatus): TrayIconState {
  if (!s.signedIn) return 'signed-out';
  if (!s.online) return 'offline';
  const pairsBusy = s.pairs.some((p) => !p.paused && PAIR_BUSY.has(p.state));
  if (s.pausedUntil === null && (s.active + s.queued > 0 || pairsBusy)) return 'syncing';
  if (s.failed > 0 || s.pairs.some((p) => PAIR_ERROR.has(p.state) || notBackedUp(p))) return 'error';
  if (s.pausedUntil !== null || s.paused > 0 || (s.pairs.length > 0 && s.pairs.every((p) => p.paused))) return 'paused';
  return 'idle';
}

/** One line describing what the app is doing; used as the first menu line and the tooltip. */
export function trayStatusLine(s: TrayStatus, now = Date.now(), t: ShellText = SHELL_TEXT.en): string {
  const state = trayIconState(s);
  if (state === 'signed-out') return t.signedOut;
  if (state === 'offline') return t.offline;
  const parts: string[] = [];
  if (s.pausedUntil !== null) parts.push(t.pausedUntil(clock(s.pausedUntil), Math.max(0, Math.ceil((s.pausedUntil - now) / 60_000))));
  if (s.active > 0) {
    const say = s.downloading === 0 ? t.uploading : s.downloading === s.active ? t.downloading : t.transferring;
    parts.push(say(s.active, s.percent, s.speed > 0 ? formatRate(s.speed) : null));
  }
  else if (state === 'syncing') parts.push(t.syncing(s.queued > 0 ? s.percent : null));
  if (s.queued > 0) parts.push(t.waiting(s.queued));
  if (s.paused > 0) parts.push(t.paused(s.paused));
  if (s.failed > 0) parts.push(t.failed(s.failed));
  const missing = s.pairs.reduce((n, p) => n + Math.max(0, p.notSynced ?? 0), 0);
  if (missing > 0) parts.push(t.notBackedUp(missing));
  // a pair in trouble; an incomplete one that did not say how many files counts here too (never "up to date")
  const stuck = s.pairs.filter((p) => PAIR_ERROR.has(p.state) || (p.state === 'incomplete' && !(p.notSynced ?? 0))).length;
  if (stuck > 0) parts.push(t.foldersNeedAttention(stuck));
  return parts.length > 0 ? parts.join(t.separator) : t.upToDate;
}

export function trayTooltip(s: TrayStatus, now = Date.now(), t: ShellText = SHELL_TEXT.en): string {
  return t.tooltip(trayStatusLine(s, now, t));
}

export function buildTrayMenu(s: TrayStatus, now = Date.now(), t: ShellText = SHELL_TEXT.en): TrayMenuItem[] {
  const busy = s.active + s.queued;
  const pausedAny = s.paused > 0 || s.pausedUntil !== null || s.pairs.some((p) => p.paused);
  const items: TrayMenuItem[] = [
    { kind: 'status', label: trayStatusLine(s, now, t) },
    { kind: 'separator' },
    { kind: 'action', action: { type: 'show-window' }, label: t.menuOpen, enabled: true },
    { kind: 'action', action: { type: 'pause-all' }, label: t.menuPauseAll, enabled: s.signedIn && (busy > 0 || s.pairs.some((p) => !p.paused)) },
    { kind: 'action', action: { type: 'pause-hour' }, label: t.menuPauseHour, enabled: s.signedIn && s.pausedUntil === null },
    { kind: 'action', action: { type: 'resume-all' }, label: t.menuResumeAll, enabled: s.signedIn && pausedAny },
    { kind: 'action', action: { type: 'sync-now' }, label: t.menuSyncNow, enabled: s.signedIn && s.online && s.pairs.some((p) => !p.paused) },
  ];
  if (s.pairs.length > 0) {
    items.push({
      kind: 'submenu',
      label: t.menuOpenFolder,
      items: s.pairs.map((p) => ({ kind: 'action', action: { type: 'open-folder', path: p.localPath }, label: p.localPath, enabled: true })),
    });
  }
  items.push({ kind: 'separator' }, { kind: 'action', action: { type: 'quit' }, label: t.menuQuit, enabled: true });
  return items;
}

function clock(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** 1536 → "1.5 KB/s" (decimal steps of 1024, one decimal under 10). */
export function formatRate(bytesPerSecond: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let v = Math.max(0, bytesPerSecond);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 && u > 0 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** Turns the pure items into Electron menu template entries. */
export function toMenuTemplate(items: TrayMenuItem[], onAction: (a: TrayAction) => void): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'separator':
        return { type: 'separator' };
      case 'status':
        return { label: item.label, enabled: false };
      case 'action':
        return { label: item.label, enabled: item.enabled, click: () => onAction(item.action) };
      case 'submenu':
        return { label: item.label, submenu: toMenuTemplate(item.items, onAction) };
    }
  });
}

/**
 * The icon file for a state: `assets/tray/tray-<state>.png` (16 px, with a 32 px `@2x` that Electron picks on HiDPI),
 * and on macOS the monochrome `…Template.png` the menu bar tints itself.
 */
export function trayIconPath(assetsDir: string, state: TrayIconState, platform: NodeJS.Platform): string {
  return join(assetsDir, 'tray', `tray-${state}${platform === 'darwin' ? 'Template' : ''}.png`);
}

// ---------------------------------------------------------------- the Electron binding

export interface TrayElectron {
  Tray: typeof Tray;
  Menu: typeof Menu;
  nativeImage: { createFromPath(path: string): NativeImage };
}

export class ShellTray {
  private readonly tray: Tray;
  private lastMenu = '';
  private lastIcon = '';
  private lastTitle = '';

  constructor(
    private readonly electron: TrayElectron,
    private readonly iconFor: (state: TrayIconState) => string,
    private readonly onAction: (action: TrayAction) => void,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {
    this.tray = new electron.Tray(this.image('signed-out'));
    this.lastIcon = 'signed-out';
    // Windows and most Linux panels: a left click opens the window; the menu stays on right click.
    this.tray.on('click', () => onAction({ type: 'show-window' }));
  }

  private image(state: TrayIconState): NativeImage {
    const image = this.electron.nativeImage.createFromPath(this.iconFor(state));
    if (this.platform === 'darwin') image.setTemplateImage(true);
    return image;
  }

  /** Changes the icon, tooltip, macOS title (the %) and menu only when what they show has changed. */
  update(status: TrayStatus, now = Date.now(), t: ShellText = SHELL_TEXT.en): void {
    const state = trayIconState(status);
    if (state !== this.lastIcon) {
      this.lastIcon = state;
      this.tray.setImage(this.image(state));
    }
    if (this.platform === 'darwin') {
      const title = state === 'syncing' && status.percent !== null ? `${status.percent}%` : '';
      if (title !== this.lastTitle) {
        this.lastTitle = title;
        this.tray.setTitle(title);
      }
    }
    const items = buildTrayMenu(status, now, t);
    const key = JSON.stringify(items);
    if (key === this.lastMenu) return;
    this.lastMenu = key;
    this.tray.setToolTip(trayTooltip(status, now, t));
    this.tray.setContextMenu(this.electron.Menu.buildFromTemplate(toMenuTemplate(items, this.onAction)));
  }

  destroy(): void {
    this.tray.destroy();
  }
}
