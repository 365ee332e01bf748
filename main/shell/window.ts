/**
 * The main window: a sandboxed, context-isolated renderer with no Node, our bundled preload, our bundled page,
 * and no way to navigate away or open other windows. Links to http(s) open in the user's browser.
 */
import { BrowserWindow, shell } from 'electron';
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

export function createMainWindow(opts: MainWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
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
  });

  const contents = win.webContents;
  // Nothing may replace our page: not a link, not a dropped file, not a redirect.
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isWebUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));

  win.once('ready-to-show', () => {
    if (opts.show) win.show();
  });
  void win.loadFile(RENDERER_INDEX);
  return win;
}

export function showWindow(win: BrowserWindow): void {
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}

function isWebUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
