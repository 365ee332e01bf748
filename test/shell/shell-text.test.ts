import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SHELL_TEXT, shellLanguage } from '../../main/shell/shell-text.js';
import { planNotifications } from '../../main/shell/notifications.js';
import { buildTrayMenu, type TrayStatus } from '../../main/shell/tray.js';
import { plainStorageQuestion } from '../../main/shell/secrets.js';

test('the language: the setting, else the OS locale (Chinese locales → 简体中文)', () => {
  const table: Array<[Parameters<typeof shellLanguage>[0], string, string]> = [
    ['en', 'zh-CN', 'en'],
    ['zh-CN', 'en-US', 'zh-CN'],
    ['system', 'zh-CN', 'zh-CN'],
    ['system', 'zh-TW', 'zh-CN'],
    ['system', 'zh', 'zh-CN'],
    ['system', 'en-GB', 'en'],
    ['system', 'de', 'en'],
    ['system', '', 'en'],
  ];
  for (const [setting, locale, expected] of table) assert.equal(shellLanguage(setting, locale), expected, `${setting} ${locale}`);
});

test('both catalogues have every entry, and none is empty', () => {
  const keys = Object.keys(SHELL_TEXT.en).sort();
  assert.deepEqual(Object.keys(SHELL_TEXT['zh-CN']).sort(), keys);
  for (const lang of ['en', 'zh-CN'] as const) {
    for (const k of keys) {
      const v = (SHELL_TEXT[lang] as unknown as Record<string, unknown>)[k];
      const args = k === 'manyFailedBody' ? [['a.jpg', 'b.jpg'], 3] : [2, 'x', 'y', 1, 1];
      const sample = typeof v === 'function' ? (v as (...a: unknown[]) => string)(...args) : v;
      assert.equal(typeof sample, 'string', `${lang}.${k}`);
      assert.ok((sample as string).length > 0, `${lang}.${k}`);
    }
  }
});

test('tray, notifications and the plain-storage question in 简体中文', () => {
  const zh = SHELL_TEXT['zh-CN'];
  const s: TrayStatus = { signedIn: true, online: true, active: 2, downloading: 0, queued: 1, paused: 0, failed: 1, speed: 0, percent: 40, pairs: [], pausedUntil: null };
  const menu = buildTrayMenu(s, Date.now(), zh);
  assert.deepEqual(menu[0], { kind: 'status', label: '正在上传 2 个文件（40%），1 个等待中，1 个失败' });
  const n = planNotifications(
    [{ type: 'upload-finished', requestId: 'r', names: ['报告.pdf'], targetUri: 'cloudreve://my/', done: 1, skipped: 0, failed: 0, cancelled: 0, shareUri: 'cloudreve://my/x' }],
    zh,
  );
  assert.deepEqual([n[0].title, n[0].body, n[0].action?.label], ['已上传 报告.pdf', '1 个文件已上传到 我的文件。', '复制分享链接']);
  assert.deepEqual(plainStorageQuestion('原因', zh).buttons, ['仅本次使用', '仍然保存']);
});
