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
import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, nativeImage, Notification, safeStorage, shell, Tray } from 'electron';
import { basename, join } from 'node:path';
import { serveControlSocket, type ControlServer } from '../bridge/control-socket.js';
import { createEngine, type Engine, type EngineConfig } from '../engine/index.js';
import { eventChannel, type SettingsDto } from '../ipc/contract.js';
import { createHandlers, createSenderCheck, forwardEngineEvents, registerIpcServer, type EventSink } from '../ipc/server.js';
import { parseShellArgs } from './args.js';
import { adoptLegacyHome, appHome } from './app-home.js';
import { AppStateFile, type AppState } from './app-state.js';
import { applyLaunchAtLogin, launchAtLoginPlan } from './launch-at-login.js';
import { createNotifier, NotificationQueue, type NotificationCommand } from './notifications.js';
import { createSafeStorageCodec, plainStorageQuestion } from './secrets.js';
import { UploadRequests, type UploadRequest } from './upload-requests.js';
import { applyToEngine, SettingsFile } from './settings.js';
import { redact } from '../engine/errors.js';
import {
  applyIntegration,
  buildIntegration,
  isIntegrationPlatform,
  nodeIntegrationIo,
  removeIntegration,
} from './shell-integration.js';
import { ShellTray, trayIconPath, trayStatusFrom, type TrayAction } from './tray.js';
import { createMainWindow, openExternalLink, RENDERER_URL, showWindow } from './window.js';
import { SHELL_TEXT, shellLanguage, type ShellText } from './shell-text.js';

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
  let control: ControlServer | null = null;
  let quitting = false;
  let closed = false;
  /** Set once the IPC handlers exist: the window must not load before it can be answered. */
  let ready = false;
  /** shell-menu requests that arrived before the engine ran or while signed out */
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
    void control?.close();
    notices?.dispose();
    uploads?.close();
    if (pauseTimer) clearTimeout(pauseTimer);
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
  const appState = new AppStateFile(home);
  const initial = settings.get();
  /** the words of the tray, notifications and dialogs: the language setting, 'system' = the OS locale */
  const text = (): ShellText => SHELL_TEXT[shellLanguage(settings.get().language, app.getLocale())];
  const config: EngineConfig = {
    home,
    maxActiveFiles: initial.maxActiveFiles,
    chunkConcurrencyCap: initial.chunkConcurrencyCap,
    bandwidthLimit: initial.bandwidthLimit,
    downloadBandwidthLimit: initial.downloadBandwidthLimit,
    ifExists: initial.ifExists,
    settleMs: initial.settleDelayMs,
    timeouts: settings.timeouts(),
    busyRetryMinutes: settings.busyRetryMinutes(),
    autoResume: true,
    // the tokens are sealed with the OS keychain (secrets.ts); where there is none, the user is asked first
    credentialCodec: createSafeStorageCodec({ safeStorage, platform: process.platform, askPlainStorage: (why) => askPlainStorage(why, text()), text }),
  };
  const started = await createEngine(config);
  engine = started;

  const send: EventSink = (name, payload) => {
    // Sent even while the page loads: it subscribes before it pulls its snapshot, so whatever it misses
    // before subscribing is already in that snapshot (shell-menu requests are replayed on load: upload-requests.ts).
    const contents = window && !window.isDestroyed() ? window.webContents : null;
    if (contents && !contents.isDestroyed()) contents.send(eventChannel(name), payload);
  };

  const notices = new NotificationQueue({ show: createNotifier({ Notification }, appIconPath(), runNotificationCommand), text });
  const uploads = new UploadRequests({
    engine: started,
    settings: () => settings.get(),
    lastDestination: {
      get: () => appState.get().lastDestinationUri,
      set: (uri) => saveAppState({ lastDestinationUri: uri }),
    },
    emit: send,
    showWindow: () => openWindow(),
    onFinished: (summary) => notices.push(summary),
    onError: (message) => {
      console.error(`[shell] could not queue a shell-menu upload: ${redact(message)}`);
      dialog.showErrorBox(text().queueFailed, redact(message));
    },
  });

  const handlers = createHandlers({
    engine: started,
    settings,
    app: { mode: 'desktop', version: app.getVersion() },
    emit: send,
    openExternal: (url) => openExternalLink(url, shell),
    destinations: uploads,
    onBackgroundError: (what, err) => console.error(`[shell] ${what} failed: ${describe(err)}`),
  });
  registerIpcServer({
    ipcMain,
    handlers,
    isTrustedSender: createSenderCheck(() => window?.webContents ?? null, RENDERER_URL),
    onInternalError: (method, err) => console.error(`[ipc] ${method} failed: ${describe(err)}`),
  });
  forwardEngineEvents(started, send);
  // `cloudreve-sync upload/pairs/pause…` on this home reach this engine instead of failing with "busy"
  control = await serveControlSocket({ home, engine: started, handlers, onInternalError: (what, err) => console.error(`[control] ${what} failed: ${describe(err)}`) }).catch(
    (err: unknown) => {
      console.warn(`[shell] no control socket (${describe(err)}): CLI commands on this home will say it is busy`);
      return null;
    },
  );
  ready = true;
  // Sync pairs run in the background while the app runs (like `cloudreve-sync run`); pairs added later start at once.
  await started.sync.start();

  // ---- notifications from engine events (notifications.ts decides what is worth one)
  /** the stored login was refused (expired or revoked) while still on record: transfers wait for a new sign-in */
  let loginLost = false;
  started.events.on('transfer-state-changed', ({ transfer }) => {
    if (transfer.state === 'failed') notices.push({ type: 'transfer-failed', id: transfer.id, name: basename(transfer.localPath), error: transfer.error ?? null });
  });
  started.events.on('sync-conflict', (c) => notices.push({ type: 'conflict-added', id: c.id, relPath: c.relPath }));

  // ---- tray (tray.ts: icon and menu are pure functions of this state)
  /** "Pause for 1 hour": when it ends, and the timer that resumes (nothing else survives it: not a restart) */
  let pausedUntil: number | null = null;
  let pauseTimer: ReturnType<typeof setTimeout> | null = null;
  tray = new ShellTray({ Tray, Menu, nativeImage }, (state) => trayIconPath(join(appRoot, 'assets'), state, process.platform), onTrayAction);
  const refreshTray = throttle(() => {
    const downloads = started.downloads.list();
    tray?.update(
      trayStatusFrom({
        // both directions: uploads, then downloads (engine.downloads)
        transfers: [...started.listTransfers(), ...downloads],
        speed: started.overall().speed + downloads.reduce((sum, d) => sum + d.speed, 0),
        signedIn: started.account() !== null && !loginLost,
        online: started.connectivity().online,
        pairs: started.sync.listPairs().map((p) => ({ id: p.id, localPath: p.localPath, state: p.state, paused: p.paused, notSynced: p.stateDetail?.notSynced?.count ?? 0 })),
        pausedUntil,
      }),
      Date.now(),
      text(),
    );
  }, 1000);
  refreshTray();
  for (const name of ['transfer-added', 'transfer-state-changed', 'transfer-removed', 'overall-progressed', 'download-changed', 'download-progressed', 'download-removed', 'connectivity-changed', 'pair-changed', 'pair-removed'] as const) {
    started.events.on(name, refreshTray);
  }
  started.events.on('account-changed', ({ loggedIn, email }) => {
    const expired = !loggedIn && started.account() !== null; // a logout forgets the account; an expiry keeps it on record
    if (expired && !loginLost) notices.push({ type: 'login-expired', email: email ?? started.account()?.email ?? '' });
    loginLost = expired;
    refreshTray();
    if (loggedIn) flushUploads();
  });

  if (initial.shellIntegration) void syncShellIntegration(true);
  void syncLaunchAtLogin(initial.launchAtLogin);
  if (!startArgs.hidden || pendingUploads.length > 0) openWindow();
  flushUploads();

  function openWindow(): void {
    if (!ready) return; // start-up opens it once the IPC server is up
    if (!window || window.isDestroyed()) {
      const win = createMainWindow({ BrowserWindow, shell }, { iconPath: appIconPath(), show: true });
      window = win;
      // shell-menu requests still waiting for the picker are sent again to the freshly loaded page
      win.webContents.on('did-finish-load', () => uploads.replay());
      win.on('close', (event) => {
        if (quitting) return;
        // Hide to the tray; the first time, say so.
        event.preventDefault();
        win.hide();
        if (!appState.get().trayNoticeShown) {
          saveAppState({ trayNoticeShown: true });
          if (Notification.isSupported()) new Notification({ title: text().trayNoticeTitle, body: text().trayNoticeBody, icon: appIconPath() }).show();
        }
      });
      return;
    }
    showWindow(window);
  }

  function onTrayAction(action: TrayAction): void {
    const e = engine;
    if (!e) return;
    switch (action.type) {
      case 'show-window':
        return openWindow();
      case 'pause-all':
      case 'pause-hour':
        e.pause();
        for (const p of e.sync.listPairs()) if (!p.paused) e.sync.pausePair(p.id);
        if (action.type === 'pause-hour') {
          if (pauseTimer) clearTimeout(pauseTimer);
          pausedUntil = Date.now() + PAUSE_HOUR_MS;
          pauseTimer = setTimeout(() => onTrayAction({ type: 'resume-all' }), PAUSE_HOUR_MS);
        }
        return refreshTray();
      case 'resume-all':
        if (pauseTimer) clearTimeout(pauseTimer);
        pauseTimer = null;
        pausedUntil = null;
        e.resume();
        for (const p of e.sync.listPairs()) if (p.paused) e.sync.resumePair(p.id);
        return refreshTray();
      case 'sync-now':
        e.sync.requestPass();
        return refreshTray();
      case 'open-folder':
        void shell.openPath(action.path).then((problem) => {
          if (problem) console.error(`[shell] cannot open ${action.path}: ${problem}`);
        });
        return;
      case 'quit':
        return app.quit();
    }
  }

  function runNotificationCommand(command: NotificationCommand): void {
    if (command.type === 'open-window') return openWindow();
    void started
      .createShareLink(command.uri)
      .then((link) => {
        clipboard.writeText(link);
        if (Notification.isSupported()) new Notification({ title: text().shareLinkCopied, body: link, icon: appIconPath() }).show();
      })
      .catch((err: unknown) => dialog.showErrorBox(text().shareLinkFailed, describe(err)));
  }

  function queueUpload(request: UploadRequest): void {
    pendingUploads.push(request);
    flushUploads();
  }

  /** Hands shell-menu requests to the upload flow once the engine runs and an account is signed in. */
  function flushUploads(): void {
    if (!engine || !engine.account() || loginLost) {
      if (pendingUploads.length > 0) openWindow(); // the sign-in view
      return;
    }
    for (const request of pendingUploads.splice(0)) void uploads.receive(request);
  }

  function saveAppState(patch: Partial<AppState>): void {
    try {
      appState.set(patch);
    } catch (err) {
      console.error(`[shell] cannot save the app state: ${describe(err)}`);
    }
  }

  async function applySettings(next: SettingsDto, prev: SettingsDto): Promise<void> {
    if (engine) applyToEngine(engine, next, prev);
    if (next.shellIntegration !== prev.shellIntegration) await syncShellIntegration(next.shellIntegration);
    if (next.launchAtLogin !== prev.launchAtLogin) await syncLaunchAtLogin(next.launchAtLogin);
    if (next.language !== prev.language) refreshTray();
  }
}

const PAUSE_HOUR_MS = 60 * 60_000;

/** Asked once per run when the OS has no secure storage (secrets.ts). */
async function askPlainStorage(why: string, text: ShellText): Promise<boolean> {
  const q = plainStorageQuestion(why, text);
  const { response } = await dialog.showMessageBox({ type: 'warning', message: q.message, detail: q.detail, buttons: q.buttons, defaultId: 0, cancelId: 0, noLink: true });
  return response === 1;
}

/** Registers or removes the login item / autostart entry (launch-at-login.ts); failures are logged, never fatal. */
async function syncLaunchAtLogin(enabled: boolean): Promise<void> {
  // `electron .` in development: registering the bare Electron binary would start an empty Electron at login.
  if (process.defaultApp) return;
  try {
    const plan = launchAtLoginPlan({ platform: process.platform, enabled, launch: launchCommand(), home: app.getPath('home'), xdgConfigHome: process.env.XDG_CONFIG_HOME });
    await applyLaunchAtLogin(plan, { setLoginItemSettings: (s) => app.setLoginItemSettings(s), io: await nodeIntegrationIo(app.getPath('home')) });
  } catch (err) {
    console.error(`[shell] launch at login failed: ${describe(err)}`);
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
