/**
 * Smoke test of the real shell entry (main/shell/main.ts) without an Electron binary: a child process runs it with
 * `electron` resolved to a small recording fake (test/shell/fixtures) and the real engine in a temp home
 * (CLOUDREVE_SYNC_HOME, as the CLI would use it; never the user's real one).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { METHOD_NAMES } from '../../main/ipc/contract.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const LOADER = pathToFileURL(join(ROOT, 'test/shell/fixtures/electron-loader.mjs')).href;

function runShell(env: Record<string, string>): Record<string, unknown> {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(LOADER)})`, 'test/shell/fixtures/shell-harness.ts'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        FAKE_APP_PATH: ROOT,
        CLOUDREVE_SYNC_HOME: join(env.FAKE_ELECTRON_HOME, 'sync-home'),
        XDG_CONFIG_HOME: join(env.FAKE_ELECTRON_HOME, 'xdg-config'),
        ...env,
      },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  const line = res.stdout.split('\n').find((l) => l.startsWith('REPORT '));
  assert.ok(line, `no report (exit ${res.status})\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
  return JSON.parse(line.slice('REPORT '.length)) as Record<string, unknown>;
}

test('shell entry: lock, IPC for every method, secure window, tray, close-to-tray, second instance, quit', () => {
  const home = mkdtempSync(join(tmpdir(), 'cr-shell-'));
  try {
    const r = runShell({ FAKE_ELECTRON_HOME: home });
    assert.deepEqual(r.lock, { upload: { paths: [join(ROOT, 'first.txt')], targetUri: null } });
    assert.deepEqual(r.channels, METHOD_NAMES.map((n) => `cloudreve:invoke:${n}`).sort());
    assert.deepEqual(
      { ...(r.webPreferences as object), preload: undefined },
      {
        preload: undefined,
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
    );
    assert.match(String((r.webPreferences as { preload: string }).preload), /preload[/\\]index\.cjs$/);
    assert.match(String(r.loadedFile), /renderer[/\\]index\.html$/);
    assert.deepEqual(r.getAccount, { ok: true, value: null });
    assert.deepEqual(r.untrusted, { ok: false, error: { code: 'untrusted-sender', message: 'Refused getAccount from an untrusted frame', retryable: false } });
    assert.equal((r.setSettings as { ok: boolean; value: { bandwidthLimit: number } }).value.bandwidthLimit, 4096);
    // the app's home is the CLI's (CLOUDREVE_SYNC_HOME here), not a folder of its own under userData
    assert.equal(JSON.parse(readFileSync(join(home, 'sync-home', 'config.json'), 'utf8')).bandwidthLimit, 4096);
    assert.deepEqual(r.listTransfers, { ok: true, value: [] });
    assert.ok(existsSync(join(home, 'sync-home', 'journal.db')), 'the engine runs in the shared home');
    assert.ok(!existsSync(join(home, 'userData', 'engine')), 'no separate app home');
    assert.equal(r.navigationPrevented, true);
    assert.deepEqual(r.windowOpen, { action: 'deny' });
    assert.deepEqual(r.windowOpenFile, { action: 'deny' });
    assert.equal(r.permission, false);
    assert.equal(r.permissionCheck, false);
    assert.equal((r.badDestination as { error: { code: string } }).error.code, 'invalid-argument');
    assert.equal(r.closeHidesWindow, true);
    assert.equal(r.trayNotices, 1, 'the "still running in the tray" notice is shown the first time only');
    assert.equal(JSON.parse(readFileSync(join(home, 'sync-home', 'app-state.json'), 'utf8')).trayNoticeShown, true);
    assert.match(String(r.trayIcon), /assets[/\\]tray[/\\]tray-signed-out(Template)?\.png$/);
    assert.equal(r.trayTooltip, 'Cloudreve Sync — Signed out');
    assert.deepEqual(r.trayMenu, [
      'Signed out (disabled)',
      '---',
      'Open Cloudreve Sync',
      'Pause all (disabled)',
      'Pause for 1 hour (disabled)',
      'Resume all (disabled)',
      'Sync now (disabled)',
      '---',
      'Quit Cloudreve Sync',
    ]);
    assert.deepEqual(r.trayMenuZh, ['未登录 (disabled)', '---', '打开 Cloudreve Sync', '全部暂停 (disabled)', '暂停 1 小时 (disabled)', '全部继续 (disabled)', '立即同步 (disabled)', '---', '退出 Cloudreve Sync']);
    // launch at login (default on): Linux gets an XDG autostart entry that starts the app hidden in the tray
    if (process.platform === 'linux') {
      const entry = readFileSync(join(home, 'xdg-config', 'autostart', 'cloudreve-sync.desktop'), 'utf8');
      assert.match(entry, /^Exec=.* --hidden$/m);
    }
    assert.equal(r.secondInstanceShowsWindow, true);
    const record = r.record as Array<[string, ...unknown[]]>;
    assert.deepEqual(record.filter((e) => e[0] === 'openExternal'), [['openExternal', 'https://cloudreve.org/']]);
    assert.ok(!record.some((e) => e[0] === 'showErrorBox' || e[0] === 'exit'), JSON.stringify(record));
    // quit: will-quit is deferred until the engine has closed, then the app quits for real
    assert.deepEqual(record.filter((e) => e[0].startsWith('quit')).map((e) => e[0]), ['quit', 'quit', 'quit-completed']);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('shell entry: a second instance hands over its request and quits', () => {
  const home = mkdtempSync(join(tmpdir(), 'cr-shell-'));
  try {
    const r = runShell({ FAKE_ELECTRON_HOME: home, FAKE_LOCK: 'lost' });
    assert.deepEqual(r.lock, { upload: { paths: [join(ROOT, 'first.txt')], targetUri: null } });
    const record = r.record as Array<[string]>;
    assert.deepEqual(record.map((e) => e[0]), ['requestSingleInstanceLock', 'quit', 'quit-completed']);
    assert.ok(!existsSync(join(home, 'userData')), 'the losing instance touches no state');
    assert.ok(!existsSync(join(home, 'sync-home')), 'nor the shared home');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('shell entry, signed in: shell-menu uploads through the destination picker and straight through, notification, share link, sealed login', () => {
  const home = mkdtempSync(join(tmpdir(), 'cr-shell-'));
  try {
    const r = runShell({ FAKE_ELECTRON_HOME: home, FAKE_SCENARIO: 'upload' });
    assert.equal(r.login, true);
    // the login is sealed with (fake) safeStorage: no readable token in the file
    const cred = r.credentials as { tokens: unknown; sealedTokens: { by: string; data: string } };
    assert.equal(cred.tokens, null);
    assert.equal(cred.sealedTokens.by, 'electron-safeStorage');
    assert.ok(!JSON.stringify(cred).includes('eyJ'), 'no JWT in clear');
    assert.deepEqual(r.messageBoxes, [], 'secure storage exists: nobody is asked');
    assert.deepEqual(r.firstDropped, { ok: true, value: [] });
    assert.equal(r.windowShownForPicker, true);
    const request = r.request as { paths: string[]; lastDestinationUri: string | null };
    assert.equal(request.paths.length, 1);
    assert.ok(request.paths[0].startsWith(home) && request.paths[0].endsWith('report.pdf'), request.paths[0]);
    assert.equal(request.lastDestinationUri, null, 'nothing picked before');
    assert.equal(r.replayed, true);
    assert.equal((r.badAnswer as { error: { code: string } }).error.code, 'invalid-argument');
    assert.equal((r.unknownAnswer as { error: { code: string } }).error.code, 'invalid-argument');
    assert.equal((r.resolved as { ok: boolean; value: string[] }).value.length, 1);
    assert.equal((r.again as { error: { code: string } }).error.code, 'invalid-argument', 'a request is answered once');
    assert.equal(r.blob, 'a shell-menu upload');
    assert.deepEqual(r.appState, { lastDestinationUri: 'cloudreve://my/Inbox', trayNoticeShown: false });
    const note = r.notification as { title: string; body: string; actions: Array<{ text: string }> };
    assert.equal(note.body, '1 file in Inbox.');
    assert.deepEqual(note.actions.map((a) => a.text), ['Copy share link']);
    assert.match(String(r.clipboard), /^http:\/\/127\.0\.0\.1:\d+\/s\/\w+/);
    assert.equal(r.requestsAfterDirect, 3, 'uploadWithoutAsking: no picker');
    assert.deepEqual(r.trayIdleMenu, [
      'Up to date (disabled)',
      '---',
      'Open Cloudreve Sync',
      'Pause all (disabled)',
      'Pause for 1 hour',
      'Resume all (disabled)',
      'Sync now (disabled)',
      '---',
      'Quit Cloudreve Sync',
    ]);
    assert.match(String(r.pausedTooltip), /^Cloudreve Sync — Paused until \d\d:\d\d \((60|59) min\)$/);
    assert.ok((r.pausedMenu as string[]).includes('Pause for 1 hour (disabled)') && (r.pausedMenu as string[]).includes('Resume all'));
    assert.equal(r.resumedTooltip, 'Cloudreve Sync — Up to date');
    const record = r.record as Array<[string, ...unknown[]]>;
    assert.ok(!record.some((e) => e[0] === 'showErrorBox'), JSON.stringify(record.filter((e) => e[0] === 'showErrorBox')));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('shell entry: no secure storage, the user is asked; "this session only" stores no token', () => {
  const home = mkdtempSync(join(tmpdir(), 'cr-shell-'));
  try {
    const r = runShell({ FAKE_ELECTRON_HOME: home, FAKE_SCENARIO: 'upload', FAKE_SAFE_STORAGE: 'none' });
    assert.equal(r.login, true);
    assert.deepEqual(r.messageBoxes, [['showMessageBox', 'Store your Cloudreve login without encryption?']]);
    const cred = r.credentials as Record<string, unknown>;
    assert.equal(cred.tokens, null);
    assert.equal(cred.sealedTokens, undefined);
    assert.equal(r.blob, 'a shell-menu upload', 'the session works until quit');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
