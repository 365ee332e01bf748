/**
 * The main window: a sandboxed, context-isolated renderer with no Node, our bundled preload, our bundled page,
 * and no way to navigate away or open other windows. Links to http(s) open in the user's browser; nothing else opens.
 *
 * The options and the guards are plain functions (mainWindowOptions, guardWebContents, openExternalLink) so the
 * tests assert each of Electron's security recommendations without an Electron binary (test/shell/window.test.ts).
 */
import type { BrowserWindowConstructorOptions, Shell, WebContents } from 'electron';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** dist/main/shell/window.js → dist/preload/index.cjs and dist/renderer/index.html */
export const PRELOAD_PATH = fileURLToPath(new URL('../../preload/index.cjs', import.meta.url));
export const RENDERER_INDEX = fileURLToPath(new URL('../../renderer/index.html', import.meta.url));
export const RENDERER_URL = pathToFileURL(RENDERER_INDEX).href;

export interface MainWindowOptions {
  iconPath?: string;
  /** Show as soon as the page is ready (false when starting in the tray). */
  show: boolean;
}

/** PURE: the BrowserWindow options (https://www.electronjs.org/docs/latest/tutorial/security). */
export function mainWindowOptions(opts: Pick<MainWindowOptions, 'iconPath'>): BrowserWindowConstructorOptions {
  return {
    width: 960,
    height: 680,
    minWidth: 560,
    minHeight: 420,
    show: false,
    title: 'Cloudreve Sync',
    backgroundColor: '#f5f6f8',
    autoHideMenuBar: true,
    icon: opts.iconPath,
    webPreferences: {
      preload: PRELOAD_PATH,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** Only http(s) URLs may leave the app, and only to the OS browser. */
export function isWebUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/** Opens an http(s) link in the user's browser; refuses (false) file:, javascript:, custom schemes and junk. */
export function openExternalLink(url: string, shell: Pick<Shell, 'openExternal'>): boolean {
  if (!isWebUrl(url)) return false;
  void shell.openExternal(url).catch(() => {});
  return true;
}

type GuardedContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'> & {
  session: Pick<WebContents['session'], 'setPermissionRequestHandler'> & Partial<Pick<WebContents['session'], 'setPermissionCheckHandler'>>;
};

/** Nothing may replace our page (a link, a dropped file, a redirect), open a window, attach a webview or get a permission. */
export function guardWebContents(contents: GuardedContents, shell: Pick<Shell, 'openExternal'>): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternalLink(url, shell);
    return { action: 'deny' };
  });
  contents.session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  contents.session.setPermissionCheckHandler?.(() => false);
}

export interface WindowElectron {
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => import('electron').BrowserWindow;
  shell: Pick<Shell, 'openExternal'>;
}

export function createMainWindow(electron: WindowElectron, opts: MainWindowOptions): import('electron').BrowserWindow {
  const win = new electron.BrowserWindow(mainWindowOptions(opts));
  guardWebContents(win.webContents, electron.shell);
  win.once('ready-to-show', () => {
    if (opts.show) win.show();
  });
  void win.loadFile(RENDERER_INDEX);
  return win;
}

export function showWindow(win: Pick<import('electron').BrowserWindow, 'isMinimized' | 'restore' | 'show' | 'focus'>): void {
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}
