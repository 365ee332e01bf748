import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTrayMenu, formatRate, toMenuTemplate, trayStatusFrom, trayTooltip, type TrayStatus } from '../../main/shell/tray.js';

const base: TrayStatus = { signedIn: true, active: 0, queued: 0, paused: 0, failed: 0, speed: 0 };
const actions = (s: TrayStatus) =>
  buildTrayMenu(s).flatMap((i) => (i.kind === 'action' ? [`${i.action}:${i.enabled ? 'on' : 'off'}`] : []));
const statusLine = (s: TrayStatus) => {
  const first = buildTrayMenu(s)[0];
  assert.equal(first.kind, 'status');
  return first.kind === 'status' ? first.label : '';
};

test('menu shape: status, show window, pause/resume all, quit', () => {
  const items = buildTrayMenu(base);
  assert.deepEqual(
    items.map((i) => i.kind),
    ['status', 'separator', 'action', 'action', 'action', 'separator', 'action'],
  );
  assert.deepEqual(actions(base), ['show-window:on', 'pause-all:off', 'resume-all:off', 'quit:on']);
});

test('pause all / resume all follow what is running and what is paused', () => {
  const table: Array<[Partial<TrayStatus>, string[]]> = [
    [{ active: 2 }, ['show-window:on', 'pause-all:on', 'resume-all:off', 'quit:on']],
    [{ queued: 1 }, ['show-window:on', 'pause-all:on', 'resume-all:off', 'quit:on']],
    [{ paused: 3 }, ['show-window:on', 'pause-all:off', 'resume-all:on', 'quit:on']],
    [{ active: 1, paused: 1 }, ['show-window:on', 'pause-all:on', 'resume-all:on', 'quit:on']],
    [{ signedIn: false, paused: 1 }, ['show-window:on', 'pause-all:off', 'resume-all:off', 'quit:on']],
  ];
  for (const [patch, expected] of table) assert.deepEqual(actions({ ...base, ...patch }), expected, JSON.stringify(patch));
});

test('status line and tooltip', () => {
  assert.equal(statusLine({ ...base, signedIn: false }), 'Signed out');
  assert.equal(statusLine(base), 'Up to date');
  assert.equal(statusLine({ ...base, active: 1, speed: 1536 }), 'Uploading 1 file · 1.5 KB/s');
  assert.equal(statusLine({ ...base, active: 2, queued: 3, failed: 1 }), 'Uploading 2 files, 3 waiting, 1 failed');
  assert.equal(statusLine({ ...base, paused: 2 }), '2 paused');
  assert.equal(trayTooltip(base), 'Cloudreve Sync — Up to date');
});

test('trayStatusFrom counts states', () => {
  const s = trayStatusFrom(
    ['uploading', 'preflight', 'queued', 'waiting-retry', 'paused', 'failed', 'done', 'cancelled'].map((state) => ({ state })),
    100,
    true,
  );
  assert.deepEqual(s, { signedIn: true, active: 2, queued: 2, paused: 1, failed: 1, speed: 100 });
});

test('formatRate', () => {
  assert.equal(formatRate(0), '0 B/s');
  assert.equal(formatRate(999), '999 B/s');
  assert.equal(formatRate(1024 * 1024 * 12.4), '12 MB/s');
  assert.equal(formatRate(1024 * 1024 * 2.25), '2.3 MB/s');
});

test('menu template wires clicks to actions and keeps the status line disabled', () => {
  const clicked: string[] = [];
  const template = toMenuTemplate(buildTrayMenu({ ...base, active: 1 }), (a) => clicked.push(a));
  assert.equal(template[0].enabled, false);
  assert.equal(template[1].type, 'separator');
  const pause = template.find((t) => t.label === 'Pause all');
  assert.ok(pause?.click);
  (pause.click as () => void)();
  assert.deepEqual(clicked, ['pause-all']);
});
