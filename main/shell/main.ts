/**
 * Electron entry (package.json "main" → dist/main/shell/main.js). Wiring only; the work happens in the engine.
 *
 *   single-instance lock ── lost ──► pass our parsed `--upload` to the running app (additionalData), quit
 *        │ won
 *   whenReady → settings (<home>/config.json) → createEngine({home, …}); home = the CLI's (app-home.ts)
 *        → IPC server (handlers + sender check + throttled events) → tray → window
 *   second-instance / open-file (macOS) → args.ts → engine.enqueue (after login if signed out)
 *   closing the window hides it; the app keeps running in the tray until "Quit".
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Tray } from 'electron';
import { join } from 'node:path';
import { createEngine, type Engine, type EngineConfig } from '../engine/index.js';
import { eventChannel, type SettingsDto } from '../ipc/contract.js';
import { createHandlers, createSenderCheck, forwardEngineEvents, registerIpcServer } from '../ipc/server.js';
import { parseShellArgs, type ParsedShellArgs } from './args.js';
import { adoptLegacyHome, appHome } from './app-home.js';
import { applyToEngine, SettingsFile } from './settings.js';
import { redact } from '../engine/errors.js';
import {
  applyIntegration,
  buildIntegration,
  isIntegrationPlatform,
  nodeIntegrationIo,
  removeIntegration,
} from './shell-integration.js';
import { ShellTray, trayStatusFrom, type TrayAction } from './tray.js';
import { createMainWindow, RENDERER_URL, showWindow } from './window.js';

type UploadRequest = NonNullable<ParsedShellArgs['upload']>;

const appRoot = app.getAppPath();
/** In development (`electron .`) argv[1] is the app folder; never mistake it for an upload path. */
const argIgnore = process.defaultApp ? [appRoot] : [];
const startArgs = parseShellArgs(process.argv, { cwd: process.cwd(), ignore: argIgnore });
for (const w of startArgs.warnings) console.warn(`[shell] ${w}`);

// Chromium may reorder a second instance's argv, so the parsed request travels as additionalData.
if (!app.requestSingleInstanceLock({ upload: startArgs.upload })) {
  app.quit();
} else {
  void run().catch((err: unknown) => {
    console.error(`[shell] fatal: ${describe(err)}`);
    dialog.showErrorBox('Cloudreve Sync could not start', err instanceof Error ? err.message : String(err));
    app.exit(1);
  });
}

async function run(): Promise<void> {
  let window: BrowserWindow | null = null;
  let engine: Engine | null = null;
  let tray: ShellTray | null = null;
  let quitting = false;
  let closed = false;
  /** Set once the IPC handlers exist: the window must not load before it can be answered. */
  let ready = false;
  const pendingUploads: UploadRequest[] = startArgs.upload ? [startArgs.upload] : [];

  app.on('second-instance', (_event, argv, workingDirectory, additionalData) => {
    const request = uploadFromData(additionalData) ?? parseShellArgs(argv, { cwd: workingDirectory, ignore: argIgnore }).upload;
    if (request) queueUpload(request);
    openWindow();
  });
  // macOS: files dropped on the Dock icon or opened with the app.
  app.on('open-file', (event, path) => {
    event.preventDefault();
    queueUpload({ paths: [path], targetUri: null });
  });
  app.on('activate', () => openWindow());
  app.on('before-quit', () => {
    quitting = true;
  });
  // Keep running in the tray when the last window closes (a listener replaces the default quit).
  app.on('window-all-closed', () => {});
  app.on('will-quit', (event) => {
    if (closed || !engine) return;
    event.preventDefault();
    const e = engine;
    engine = null;
    void e
      .close()
      .catch((err: unknown) => console.error(`[shell] engine close failed: ${describe(err)}`))
      .finally(() => {
        closed = true;
        app.quit();
      });
  });

  await app.whenReady();
  if (process.platform !== 'darwin') Menu.setApplicationMenu(null);

  // One home for the app and the CLI (app-home.ts); an earlier build's `<userData>/engine` is moved into it once.
  const home = appHome();
  const moved = adoptLegacyHome(join(app.getPath('userData'), 'engine'), home);
  if (moved.length > 0) console.warn(`[shell] moved ${moved.join(', ')} from the old app folder into ${home}`);
  const settings = SettingsFile.open(home, (next, prev) => applySettings(next, prev));
  const initial = settings.get();
  const config: EngineConfig = {
    home,
    maxActiveFiles: initial.maxActiveFiles,
    chunkConcurrencyCap: initial.chunkConcurrencyCap,
    bandwidthLimit: initial.bandwidthLimit,
    ifExists: initial.ifExists,
    timeouts: settings.timeouts(),
    autoResume: true,
  };
  const started = await createEngine(config);
  engine = started;

  registerIpcServer({
    ipcMain,
    handlers: createHandlers({ engine: started, settings, app: { mode: 'desktop', version: app.getVersion() } }),
    isTrustedSender: createSenderCheck(() => window?.webContents ?? null, RENDERER_URL),
    onInternalError: (method, err) => console.error(`[ipc] ${method} failed: ${describe(err)}`),
  });
  forwardEngineEvents(started, (name, payload) => {
    // Sent even while the page loads: it subscribes before it pulls its snapshot, so whatever it misses
    // before subscribing is already in that snapshot.
    const contents = window && !window.isDestroyed() ? window.webContents : null;
    if (contents && !contents.isDestroyed()) contents.send(eventChannel(name), payload);
  });
  ready = true;
  // Sync pairs run in the background while the app runs (like `cloudreve-sync run`); pairs added later start at once.
  await started.sync.start();

  tray = new ShellTray({ Tray, Menu, nativeImage }, trayIconPath(), onTrayAction);
  const refreshTray = throttle(() => {
    tray?.update(trayStatusFrom(started.listTransfers(), started.overall().speed, started.account() !== null));
  }, 1000);
  refreshTray();
  for (const name of ['transfer-added', 'transfer-state-changed', 'transfer-removed', 'overall-progressed'] as const) {
    started.events.on(name, refreshTray);
  }
  started.events.on('account-changed', ({ loggedIn }) => {
    refreshTray();
    if (loggedIn) flushUploads();
  });

  if (initial.shellIntegration) void syncShellIntegration(true);
  if (!startArgs.hidden || pendingUploads.length > 0) openWindow();
  flushUploads();

  function openWindow(): void {
    if (!ready) return; // start-up opens it once the IPC server is up
    if (!window || window.isDestroyed()) {
      window = createMainWindow({ iconPath: appIconPath(), show: true });
      window.on('close', (event) => {
        if (!quitting) {
          event.preventDefault();
          window?.hide();
        }
      });
      return;
    }
    showWindow(window);
  }

  function onTrayAction(action: TrayAction): void {
    switch (action) {
      case 'show-window':
        return openWindow();
      case 'pause-all':
        engine?.pause();
        return refreshTray();
      case 'resume-all':
        engine?.resume();
        return refreshTray();
      case 'quit':
        return app.quit();
    }
  }

  function queueUpload(request: UploadRequest): void {
    pendingUploads.push(request);
    flushUploads();
  }

  /** Hands queued shell requests to the engine once it runs and an account is signed in. */
  function flushUploads(): void {
    const e = engine;
    if (!e || !e.account()) {
      if (pendingUploads.length > 0) openWindow(); // the login view
      return;
    }
    const fallback = settings.get().defaultTargetFolderUri;
    for (const request of pendingUploads.splice(0)) {
      e.enqueue(request.paths, request.targetUri ?? fallback).catch((err: unknown) => {
        console.error(`[shell] could not enqueue: ${describe(err)}`);
      });
    }
  }

  async function applySettings(next: SettingsDto, prev: SettingsDto): Promise<void> {
    if (engine) applyToEngine(engine, next, prev);
    if (next.shellIntegration !== prev.shellIntegration) await syncShellIntegration(next.shellIntegration);
  }
}

/** Installs or removes the "Upload to Cloudreve" entries; failures are logged, never fatal. */
async function syncShellIntegration(enabled: boolean): Promise<void> {
  const platform = process.platform;
  if (!isIntegrationPlatform(platform)) return;
  try {
    const io = await nodeIntegrationIo(app.getPath('home'));
    if (enabled) await applyIntegration(buildIntegration(platform, { launch: launchCommand(), iconPngPath: appIconPath() }), io);
    else await removeIntegration(platform, io);
  } catch (err) {
    console.error(`[shell] shell integration failed: ${describe(err)}`);
  }
}

/** The argv prefix that starts this app from a file manager. */
function launchCommand(): string[] {
  if (process.defaultApp) return [process.execPath, appRoot];
  // An AppImage runs from a temporary mount; the stable path is the image itself.
  if (process.platform === 'linux' && process.env.APPIMAGE) return [process.env.APPIMAGE];
  return [process.execPath];
}

function appIconPath(): string {
  return join(appRoot, 'assets', 'icons', '256x256.png');
}

function trayIconPath(): string {
  return join(appRoot, 'assets', 'tray', process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png');
}

function uploadFromData(data: unknown): UploadRequest | null {
  const upload = (data as { upload?: unknown } | null)?.upload as { paths?: unknown; targetUri?: unknown } | undefined;
  if (!upload || !Array.isArray(upload.paths)) return null;
  const paths = upload.paths.filter((p): p is string => typeof p === 'string' && p.length > 0);
  if (paths.length === 0) return null;
  const targetUri = typeof upload.targetUri === 'string' && upload.targetUri.startsWith('cloudreve://') ? upload.targetUri : null;
  return { paths, targetUri };
}

/** Runs fn at most once per `ms` (leading and trailing). */
function throttle(fn: () => void, ms: number): () => void {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        fn();
      }, wait);
    }
  };
}

/**
 * A log-safe one-line description of an error: its code and redacted message only. Printing the error object
 * itself would also print its `cause` chain, where an HTTP library's error can carry request headers (tokens).
 */
function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return `${typeof code === 'string' ? `[${code}] ` : ''}${redact(message)}`;
}
