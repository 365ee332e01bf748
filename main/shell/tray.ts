/**
 * The tray icon. The menu is a PURE function of a small status (buildTrayMenu), tested without Electron;
 * ShellTray is the thin binding that turns those items into an Electron menu. Electron's classes are handed
 * in by main.ts (this file imports electron for types only), so the pure half loads in plain Node.
 */
import type { Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';

export interface TrayStatus {
  signedIn: boolean;
  /** Transfers running now. */
  active: number;
  /** Transfers waiting for a slot (queued, waiting to retry, waiting for a file to settle). */
  queued: number;
  paused: number;
  failed: number;
  /** Overall upload speed, bytes/s. */
  speed: number;
}

export type TrayAction = 'show-window' | 'pause-all' | 'resume-all' | 'quit';

export type TrayMenuItem =
  | { kind: 'status'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean };

const RUNNING = new Set(['preflight', 'creating-session', 'uploading', 'completing']);
const WAITING = new Set(['queued', 'waiting-retry', 'waiting-file']);

/** Summarises transfer states (engine snapshots or DTOs) into a TrayStatus. */
export function trayStatusFrom(
  transfers: ReadonlyArray<{ state: string }>,
  speed: number,
  signedIn: boolean,
): TrayStatus {
  const status: TrayStatus = { signedIn, active: 0, queued: 0, paused: 0, failed: 0, speed };
  for (const t of transfers) {
    if (RUNNING.has(t.state)) status.active++;
    else if (WAITING.has(t.state)) status.queued++;
    else if (t.state === 'paused') status.paused++;
    else if (t.state === 'failed') status.failed++;
  }
  return status;
}

/** One line describing what the app is doing; used as the first menu line and the tooltip. */
export function trayStatusLine(s: TrayStatus): string {
  if (!s.signedIn) return 'Signed out';
  const parts: string[] = [];
  if (s.active > 0) parts.push(`Uploading ${plural(s.active, 'file')}${s.speed > 0 ? ` · ${formatRate(s.speed)}` : ''}`);
  if (s.queued > 0) parts.push(`${s.queued} waiting`);
  if (s.paused > 0) parts.push(`${s.paused} paused`);
  if (s.failed > 0) parts.push(`${s.failed} failed`);
  return parts.length > 0 ? parts.join(', ') : 'Up to date';
}

export function trayTooltip(s: TrayStatus): string {
  return `Cloudreve Sync — ${trayStatusLine(s)}`;
}

export function buildTrayMenu(s: TrayStatus): TrayMenuItem[] {
  const busy = s.active + s.queued;
  return [
    { kind: 'status', label: trayStatusLine(s) },
    { kind: 'separator' },
    { kind: 'action', action: 'show-window', label: 'Open Cloudreve Sync', enabled: true },
    { kind: 'action', action: 'pause-all', label: 'Pause all', enabled: s.signedIn && busy > 0 },
    { kind: 'action', action: 'resume-all', label: 'Resume all', enabled: s.signedIn && s.paused > 0 },
    { kind: 'separator' },
    { kind: 'action', action: 'quit', label: 'Quit Cloudreve Sync', enabled: true },
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
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
    }
  });
}

// ---------------------------------------------------------------- the Electron binding

export interface TrayElectron {
  Tray: typeof Tray;
  Menu: typeof Menu;
  nativeImage: { createFromPath(path: string): NativeImage };
}

export class ShellTray {
  private readonly tray: Tray;
  private last = '';

  constructor(
    private readonly electron: TrayElectron,
    iconPath: string,
    private readonly onAction: (action: TrayAction) => void,
  ) {
    const image = electron.nativeImage.createFromPath(iconPath);
    if (process.platform === 'darwin') image.setTemplateImage(true);
    this.tray = new electron.Tray(image);
    // Windows and most Linux panels: a left click opens the window; the menu stays on right click.
    this.tray.on('click', () => onAction('show-window'));
  }

  /** Rebuilds the menu only when what it shows has changed. */
  update(status: TrayStatus): void {
    const items = buildTrayMenu(status);
    const key = JSON.stringify(items);
    if (key === this.last) return;
    this.last = key;
    this.tray.setToolTip(trayTooltip(status));
    this.tray.setContextMenu(this.electron.Menu.buildFromTemplate(toMenuTemplate(items, this.onAction)));
  }

  destroy(): void {
    this.tray.destroy();
  }
}
