import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildTrayMenu,
  formatRate,
  ShellTray,
  toMenuTemplate,
  trayIconPath,
  trayIconState,
  trayStatusFrom,
  trayStatusLine,
  trayTooltip,
  TRAY_ICON_STATES,
  type TrayAction,
  type TrayMenuItem,
  type TrayPair,
  type TrayStatus,
} from '../../main/shell/tray.js';
import { existsSync } from 'node:fs';
import { SHELL_TEXT } from '../../main/shell/shell-text.js';
import { fileURLToPath } from 'node:url';

const NOW = new Date(2026, 10, 25, 14, 0, 0).getTime();
const base: TrayStatus = { signedIn: true, online: true, active: 0, downloading: 0, queued: 0, paused: 0, failed: 0, speed: 0, percent: null, pairs: [], pausedUntil: null };
const pair = (over: Partial<TrayPair> = {}): TrayPair => ({ id: 'p1', localPath: '/home/u/Photos', state: 'idle', paused: false, ...over });

const flat = (items: TrayMenuItem[]): string[] =>
  items.flatMap((i) =>
    i.kind === 'action' ? [`${i.action.type}:${i.enabled ? 'on' : 'off'}`] : i.kind === 'submenu' ? [`[${i.label}: ${flat(i.items).join(' ')}]`] : [],
  );
const statusLine = (s: TrayStatus) => {
  const first = buildTrayMenu(s, NOW)[0];
  assert.equal(first.kind, 'status');
  return first.kind === 'status' ? first.label : '';
};

test('icon state from engine state (table)', () => {
  const table: Array<[string, Partial<TrayStatus>, string]> = [
    ['nothing to do', {}, 'idle'],
    ['signed out wins over everything', { signedIn: false, online: false, active: 3, failed: 2 }, 'signed-out'],
    ['offline wins over work', { online: false, active: 1, failed: 1 }, 'offline'],
    ['uploading', { active: 1 }, 'syncing'],
    ['only queued', { queued: 4 }, 'syncing'],
    ['work in progress wins over an older failure', { active: 1, failed: 2 }, 'syncing'],
    ['a pair scanning', { pairs: [pair({ state: 'scanning' })] }, 'syncing'],
    ['a paused pair that was scanning is not syncing', { pairs: [pair({ state: 'scanning', paused: true })] }, 'paused'],
    ['a failed file', { failed: 1 }, 'error'],
    ['a pair needing confirmation', { pairs: [pair({ state: 'needs-confirmation' })] }, 'error'],
    ['a pair whose folder is gone', { pairs: [pair({ state: 'unavailable' })] }, 'error'],
    ['paused transfers, nothing else', { paused: 2 }, 'paused'],
    ['every pair paused', { pairs: [pair({ paused: true }), pair({ id: 'p2', paused: true })] }, 'paused'],
    ['one of two pairs paused', { pairs: [pair({ paused: true }), pair({ id: 'p2' })] }, 'idle'],
    ['pause for 1 hour hides queued work', { pausedUntil: NOW + 1000, queued: 3 }, 'paused'],
    ['error beats paused', { failed: 1, paused: 1 }, 'error'],
    ['a pair with files not backed up', { pairs: [pair({ state: 'incomplete', notSynced: 3 })] }, 'error'],
    ['an idle pair that counts missing files', { pairs: [pair({ notSynced: 1 })] }, 'error'],
    ['a pair whose server folder is gone', { pairs: [pair({ state: 'remote-missing' })] }, 'error'],
    ['work in progress wins over files not backed up', { active: 1, pairs: [pair({ state: 'incomplete', notSynced: 3 })] }, 'syncing'],
  ];
  for (const [name, patch, expected] of table) assert.equal(trayIconState({ ...base, ...patch }), expected, name);
});

test('every icon state has its PNGs (16 px, 32 px @2x, macOS template) in assets/tray', () => {
  const assets = fileURLToPath(new URL('../../assets', import.meta.url));
  for (const state of TRAY_ICON_STATES) {
    for (const platform of ['linux', 'darwin'] as const) {
      const p = trayIconPath(assets, state, platform);
      assert.ok(existsSync(p), p);
      assert.ok(existsSync(p.replace(/\.png$/, '@2x.png')), p);
    }
  }
  assert.match(trayIconPath('/a', 'syncing', 'darwin'), /tray-syncingTemplate\.png$/);
  assert.match(trayIconPath('/a', 'syncing', 'win32'), /tray-syncing\.png$/);
});

test('trayStatusFrom counts states and computes the overall % of what is queued or running', () => {
  const t = (state: string, size = 100, bytesDone = 0) => ({ state, size, bytesDone });
  const s = trayStatusFrom({
    transfers: [t('uploading', 1000, 500), t('preflight', 1000, 0), t('queued', 2000, 0), t('waiting-retry', 0, 0), t('paused', 5000, 10), t('failed'), t('done', 100, 100), t('cancelled')],
    speed: 100,
    signedIn: true,
    online: true,
  });
  assert.deepEqual(s, { ...base, active: 2, queued: 2, paused: 1, failed: 1, speed: 100, percent: 12 });
  assert.equal(trayStatusFrom({ transfers: [t('done')], speed: 0, signedIn: true, online: true }).percent, null);
  assert.equal(trayStatusFrom({ transfers: [t('queued', 0)], speed: 0, signedIn: true, online: true }).percent, 0);
  // downloads count like uploads (the app hands the tray both: engine.listTransfers() and engine.downloads.list())
  const d = trayStatusFrom({ transfers: [t('downloading', 1000, 250), t('queued', 1000, 0), t('conflict', 100, 100), t('paused', 10, 0)], speed: 50, signedIn: true, online: true });
  assert.deepEqual([d.active, d.downloading, d.queued, d.paused, d.failed, d.percent], [1, 1, 1, 1, 0, 12]);
  // the status line says which way files go
  assert.match(trayStatusLine(d, NOW), /^Downloading 1 file \(12%\) · /);
  assert.match(trayStatusLine({ ...d, active: 3 }, NOW), /^Transferring 3 files/);
  assert.match(trayStatusLine({ ...d, active: 3 }, NOW, SHELL_TEXT['zh-CN']), /^正在传输 3 个文件/);
  assert.match(trayStatusLine({ ...d, downloading: 0 }, NOW), /^Uploading 1 file/);
});

test('menu: open, pause all, pause for 1 hour, resume all, sync now, open a pair\'s folder, quit (table)', () => {
  const table: Array<[string, Partial<TrayStatus>, string[]]> = [
    ['idle, no pairs', {}, ['show-window:on', 'pause-all:off', 'pause-hour:on', 'resume-all:off', 'sync-now:off', 'quit:on']],
    ['uploading', { active: 2 }, ['show-window:on', 'pause-all:on', 'pause-hour:on', 'resume-all:off', 'sync-now:off', 'quit:on']],
    ['paused files', { paused: 3 }, ['show-window:on', 'pause-all:off', 'pause-hour:on', 'resume-all:on', 'sync-now:off', 'quit:on']],
    ['paused for an hour', { pausedUntil: NOW + 60_000 }, ['show-window:on', 'pause-all:off', 'pause-hour:off', 'resume-all:on', 'sync-now:off', 'quit:on']],
    [
      'two pairs',
      { pairs: [pair(), pair({ id: 'p2', localPath: '/home/u/Docs', paused: true })] },
      ['show-window:on', 'pause-all:on', 'pause-hour:on', 'resume-all:on', 'sync-now:on', '[Open folder: open-folder:on open-folder:on]', 'quit:on'],
    ],
    ['offline: no sync now', { online: false, pairs: [pair()] }, ['show-window:on', 'pause-all:on', 'pause-hour:on', 'resume-all:off', 'sync-now:off', '[Open folder: open-folder:on]', 'quit:on']],
    ['signed out', { signedIn: false, paused: 1, pairs: [pair()] }, ['show-window:on', 'pause-all:off', 'pause-hour:off', 'resume-all:off', 'sync-now:off', '[Open folder: open-folder:on]', 'quit:on']],
  ];
  for (const [name, patch, expected] of table) assert.deepEqual(flat(buildTrayMenu({ ...base, ...patch }, NOW)), expected, name);
  const folders = buildTrayMenu({ ...base, pairs: [pair()] }, NOW).find((i) => i.kind === 'submenu');
  assert.deepEqual(folders?.kind === 'submenu' && folders.items[0], { kind: 'action', action: { type: 'open-folder', path: '/home/u/Photos' }, label: '/home/u/Photos', enabled: true });
});

test('status line and tooltip', () => {
  assert.equal(statusLine({ ...base, signedIn: false }), 'Signed out');
  assert.equal(statusLine({ ...base, online: false }), 'Offline: waiting for the server');
  assert.equal(statusLine(base), 'Up to date');
  assert.equal(statusLine({ ...base, active: 1, speed: 1536, percent: 42 }), 'Uploading 1 file (42%) · 1.5 KB/s');
  assert.equal(statusLine({ ...base, active: 2, queued: 3, failed: 1, percent: 5 }), 'Uploading 2 files (5%), 3 waiting, 1 failed');
  assert.equal(statusLine({ ...base, paused: 2 }), '2 paused');
  assert.equal(statusLine({ ...base, pausedUntil: NOW + 30 * 60_000 }), 'Paused until 14:30 (30 min)');
  assert.equal(statusLine({ ...base, pairs: [pair({ state: 'needs-confirmation' })] }), '1 folder needs attention');
  assert.equal(trayTooltip(base, NOW), 'Cloudreve Sync — Up to date');
});

test('status line: files not backed up are said, never "up to date"', () => {
  assert.equal(statusLine({ ...base, pairs: [pair({ state: 'incomplete', notSynced: 3 })] }), '3 files not backed up');
  assert.equal(statusLine({ ...base, pairs: [pair({ state: 'incomplete', notSynced: 1 })] }), '1 file not backed up');
  assert.equal(
    statusLine({ ...base, pairs: [pair({ state: 'incomplete', notSynced: 2 }), pair({ id: 'p2', state: 'syncing', notSynced: 10 }), pair({ id: 'p3' })] }),
    'Syncing, 12 files not backed up',
    'counted over every pair, also while one syncs',
  );
  assert.equal(statusLine({ ...base, failed: 1, pairs: [pair({ state: 'incomplete', notSynced: 3 })] }), '1 failed, 3 files not backed up');
  // incomplete without a count: still not up to date
  assert.equal(statusLine({ ...base, pairs: [pair({ state: 'incomplete' })] }), '1 folder needs attention');
  assert.equal(statusLine({ ...base, pairs: [pair({ state: 'remote-missing' }), pair({ id: 'p2', state: 'incomplete', notSynced: 4 })] }), '4 files not backed up, 1 folder needs attention');
  assert.equal(statusLine({ ...base, pairs: [pair({ notSynced: 0 })] }), 'Up to date');
  const zh = buildTrayMenu({ ...base, pairs: [pair({ state: 'incomplete', notSynced: 3 })] }, NOW, SHELL_TEXT['zh-CN'])[0];
  assert.deepEqual(zh, { kind: 'status', label: '3 个文件未备份' });
  assert.equal(trayTooltip({ ...base, pairs: [pair({ state: 'incomplete', notSynced: 3 })] }, NOW), 'Cloudreve Sync — 3 files not backed up');
});

test('formatRate', () => {
  assert.equal(formatRate(0), '0 B/s');
  assert.equal(formatRate(999), '999 B/s');
  assert.equal(formatRate(1024 * 1024 * 12.4), '12 MB/s');
  assert.equal(formatRate(1024 * 1024 * 2.25), '2.3 MB/s');
});

test('menu template wires clicks (also in the folder submenu) and keeps the status line disabled', () => {
  const clicked: TrayAction[] = [];
  const template = toMenuTemplate(buildTrayMenu({ ...base, active: 1, pairs: [pair()] }, NOW), (a) => clicked.push(a));
  assert.equal(template[0].enabled, false);
  assert.equal(template[1].type, 'separator');
  const pause = template.find((t) => t.label === 'Pause all');
  (pause!.click as () => void)();
  const sub = template.find((t) => t.label === 'Open folder')!.submenu as Array<{ click: () => void }>;
  sub[0].click();
  assert.deepEqual(clicked, [{ type: 'pause-all' }, { type: 'open-folder', path: '/home/u/Photos' }]);
});

test('ShellTray: swaps the icon per state, shows the % as the macOS title, rebuilds the menu only on change', () => {
  const calls: string[] = [];
  class FakeTray {
    constructor(image: { path: string }) {
      calls.push(`new ${image.path}`);
    }
    on() {}
    setImage(image: { path: string }) {
      calls.push(`image ${image.path}`);
    }
    setTitle(t: string) {
      calls.push(`title ${t}`);
    }
    setToolTip(t: string) {
      calls.push(`tooltip ${t}`);
    }
    setContextMenu() {
      calls.push('menu');
    }
    destroy() {}
  }
  const electron = {
    Tray: FakeTray,
    Menu: { buildFromTemplate: (t: unknown) => t },
    nativeImage: { createFromPath: (path: string) => ({ path, setTemplateImage: () => calls.push('template') }) },
  } as unknown as ConstructorParameters<typeof ShellTray>[0];
  const tray = new ShellTray(electron, (s) => `/icons/${s}`, () => {}, 'darwin');
  tray.update({ ...base, active: 1, percent: 10 }, NOW);
  tray.update({ ...base, active: 1, percent: 10 }, NOW); // unchanged: nothing
  tray.update({ ...base, active: 1, percent: 11 }, NOW);
  tray.update(base, NOW);
  assert.deepEqual(calls, [
    'template',
    'new /icons/signed-out',
    'template',
    'image /icons/syncing',
    'title 10%',
    'tooltip Cloudreve Sync — Uploading 1 file (10%)',
    'menu',
    'title 11%',
    'tooltip Cloudreve Sync — Uploading 1 file (11%)',
    'menu',
    'template',
    'image /icons/idle',
    'title ',
    'tooltip Cloudreve Sync — Up to date',
    'menu',
  ]);
});
