/**
 * The renderer end to end: `cloudreve-sync ui` (the real engine in its own process) against the emulator, in
 * Debian's chromium, through test/e2e/harness.ts. One story, in order: a wrong password then the right one; a
 * bandwidth limit from the settings screen; an upload paused, resumed and finished at 100%; a file that fails
 * (the server says the quota is exceeded) with its reason shown, retried and finished; a sync folder added with
 * the folder pickers that meets a different file of the same name on the server (a conflict, in the end resolved with
 * Keep mine); history; and the
 * language switched to 简体中文 and back. A screenshot of every main screen in both languages goes to
 * test-output/screenshots/ (or $UI_SCREENSHOT_DIR).
 *
 * Chromium is heavy: run this file on its own (`npm test -- test/e2e/screens`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { createEngine } from '../../main/engine/index.js';
import { screenshotPath } from '../renderer/screenshot-dir.js';
import { CHROMIUM, startE2E, type E2E } from './harness.js';

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium): end-to-end UI test skipped`;
const KiB = 1024;

let e: E2E;
/** the ui process's $HOME: where its local folder browser starts */
let userHome = '';

before(async () => {
  if (skip) return;
  userHome = mkdtempSync(join(tmpdir(), 'crs-e2e-home-'));
  writeFileSync(join(userHome, 'video.bin'), randomBytes(1536 * KiB));
  writeFileSync(join(userHome, 'report.pdf'), randomBytes(40 * KiB));
  mkdirSync(join(userHome, 'Sync'));
  writeFileSync(join(userHome, 'Sync', 'notes.txt'), 'my version of the notes, written on this laptop\n');
  e = await startE2E({ env: { HOME: userHome }, viewport: { width: 1100, height: 720 } });
});

after(async () => {
  await e?.close();
  if (userHome) rmSync(userHome, { recursive: true, force: true });
});

async function shot(page: Page, name: string, diag: (m: string) => void): Promise<void> {
  const path = screenshotPath(`e2e-${name}.png`);
  await page.screenshot({ path });
  diag(`screenshot: ${path}`);
}

async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent()) ?? '';
}

/** "Upload files…" → tick `names` in the engine-side file browser (its home) → Next → choose `folder` (or the offered last one). */
async function uploadThroughPickers(page: Page, names: string[], folder: string | null): Promise<void> {
  await page.getByRole('button', { name: 'Upload files…' }).click();
  const dialog = page.locator('dialog.dialog');
  for (const n of names) await dialog.getByLabel(`Select ${n}`).check();
  await dialog.getByRole('button', { name: 'Next' }).click();
  await dialog.locator('.browser-where').filter({ hasText: 'cloudreve://my' }).waitFor().catch(async (err: Error) => {
    await page.screenshot({ path: screenshotPath('e2e-debug.png') });
    throw new Error(`${err.message}; notice: ${await textOf(page, '.notice span')}; dialog: ${await page.locator('dialog').allTextContents()}`);
  });
  if (folder) await dialog.getByRole('button', { name: `Open ${folder}` }).click();
  await dialog.getByRole('button', { name: 'Upload here' }).click();
  await dialog.waitFor({ state: 'detached' });
  const notice = page.locator('.notice span');
  await notice.filter({ hasText: /queued for cloudreve:\/\/my/ }).waitFor();
  await page.getByRole('button', { name: 'Dismiss' }).click();
  await notice.waitFor({ state: 'hidden' });
}

function row(page: Page, name: string) {
  return page.locator('li.transfer').filter({ has: page.locator('.transfer-name', { hasText: name }) });
}

test('the app against the real engine: sign-in, upload, pause/resume, a failure and its retry, a sync folder with a conflict resolved, history, two languages', { skip, timeout: 600_000 }, async (t) => {
  const { page, emulator } = e;
  const diag = (m: string) => t.diagnostic(m);

  // ---- sign in: a wrong password first, then the right one
  const login = page.locator('form.login-form');
  await login.getByLabel('Server').fill(emulator.url);
  await login.getByLabel('Email').fill(emulator.email);
  await login.getByLabel('Password').fill('not-the-password');
  await shot(page, 'login-en', diag);
  await login.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('.form-error').filter({ hasText: 'Wrong email or password.' }).waitFor();
  await login.getByLabel('Password').fill(emulator.password);
  await login.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('.queue-screen').waitFor({ state: 'visible' });
  assert.match(await textOf(page, '.account'), /127\.0\.0\.1/);
  assert.equal(await textOf(page, '.queue-screen .empty'), 'No transfers yet. Use “Upload files…” above to start.');

  // ---- settings: a bandwidth limit (so that the upload below lasts long enough to pause)
  await page.getByRole('button', { name: 'Settings' }).click();
  const settings = page.locator('form.settings-form');
  await settings.locator('[name=bandwidthLimit]').fill('256');
  await settings.getByRole('button', { name: 'Save' }).click();
  await page.locator('.form-ok').filter({ hasText: 'Settings saved.' }).waitFor();

  // ---- upload a file: pause it while it runs, resume it, see it finish at 100%
  await page.getByRole('button', { name: 'Transfers' }).click();
  await uploadThroughPickers(page, ['video.bin'], null);
  const video = row(page, 'video.bin');
  await video.locator('.transfer-state', { hasText: 'Uploading' }).waitFor({ timeout: 60_000 });
  // pause it part-way (256 KB/s: the 1.5 MiB take about 6 s)
  await page.waitForFunction(() => /^([1-9]|[1-8]\d)%$/.test(document.querySelector('li.transfer .transfer-percent')?.textContent ?? ''), null, { timeout: 60_000 });
  await page.getByRole('button', { name: 'Pause video.bin' }).click();
  await video.locator('.transfer-state', { hasText: 'Paused' }).waitFor();
  const pausedAt = await textOf(page, 'li.transfer .transfer-percent');
  await page.waitForTimeout(1500);
  assert.equal(await textOf(page, 'li.transfer .transfer-percent'), pausedAt, 'no progress while paused');
  await shot(page, 'queue-paused-en', diag);
  await page.getByRole('button', { name: 'Resume video.bin' }).click();
  await video.locator('.transfer-state', { hasText: /Uploading|Preparing|Starting|Queued/ }).waitFor();
  await video.locator('.transfer-state', { hasText: 'Done' }).waitFor({ timeout: 120_000 });
  assert.equal(await video.locator('.transfer-percent').textContent(), '100%');
  diag(`paused at ${pausedAt}, then finished`);
  assert.equal(emulator.blob('cloudreve://my/video.bin')?.length, 1536 * KiB);

  // back to full speed for the rest
  await page.getByRole('button', { name: 'Settings' }).click();
  await settings.locator('[name=bandwidthLimit]').fill('0');
  await settings.getByRole('button', { name: 'Save' }).click();
  await page.locator('.form-ok').filter({ hasText: 'Settings saved.' }).waitFor();
  await page.getByRole('button', { name: 'Transfers' }).click();

  // ---- a failure with its reason, then Retry: the server refuses the first upload session (quota exceeded)
  emulator.addFault({ method: 'PUT', path: '^/api/v4/file/upload$', times: 1, action: { type: 'envelope', code: 40051, msg: 'Storage quota exceeded' } });
  await uploadThroughPickers(page, ['report.pdf'], null);
  const report = row(page, 'report.pdf');
  await report.locator('.transfer-state', { hasText: 'Failed' }).waitFor({ timeout: 60_000 });
  assert.match(await report.locator('.transfer-error').textContent() ?? '', /quota/i);
  await shot(page, 'queue-en', diag);
  await page.getByRole('button', { name: 'Retry report.pdf' }).click();
  await report.locator('.transfer-state', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
  assert.equal(emulator.blob('cloudreve://my/report.pdf')?.length, 40 * KiB);

  // ---- someone else put a different notes.txt in cloudreve://my/Sync/ (another client of the same account)
  const otherHome = mkdtempSync(join(tmpdir(), 'crs-e2e-other-'));
  try {
    const theirs = join(otherHome, 'files');
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'notes.txt'), 'their version, from the desktop in the office\n');
    const other = await createEngine({ home: join(otherHome, 'home') });
    try {
      await other.login(emulator.url, emulator.email, emulator.password);
      await other.enqueue([join(theirs, 'notes.txt')], 'cloudreve://my/Sync/');
      await other.idle();
    } finally {
      await other.close();
    }
  } finally {
    rmSync(otherHome, { recursive: true, force: true });
  }
  assert.ok(emulator.blob('cloudreve://my/Sync/notes.txt'), 'their notes.txt is on the server');

  // ---- add a sync folder with both pickers: ~/Sync ↔ cloudreve://my/Sync/ (backup)
  await page.getByRole('button', { name: /^Sync folders/ }).click();
  await page.locator('.pairs-screen .empty').filter({ hasText: 'No sync folders yet.' }).waitFor();
  await page.getByRole('button', { name: 'Add a sync folder' }).click();
  const pairForm = page.locator('form.pair-form');
  await pairForm.getByRole('button', { name: 'Choose a local folder' }).click();
  let dialog = page.locator('dialog.dialog');
  await dialog.getByRole('button', { name: 'Open Sync' }).click();
  await dialog.locator('.browser-where', { hasText: join(userHome, 'Sync') }).waitFor();
  await dialog.getByRole('button', { name: 'Choose this folder' }).click();
  await pairForm.getByRole('button', { name: 'Choose a folder on the server' }).click();
  dialog = page.locator('dialog.dialog');
  await dialog.getByRole('button', { name: 'Open Sync' }).click();
  await dialog.locator('.browser-where', { hasText: 'cloudreve://my/Sync' }).waitFor();
  await dialog.getByRole('button', { name: 'Choose this folder' }).click();
  await pairForm.getByLabel('Mirror: the server follows the local folder, deletions too').check();
  await pairForm.locator('.warning').waitFor({ state: 'visible' });
  await pairForm.getByLabel('Backup: upload new and changed files; never delete on the server').check();
  await pairForm.locator('[name=ignore]').fill('*.tmp');
  await pairForm.getByRole('button', { name: 'Add', exact: true }).click();
  const pairCard = page.locator('li.pair').first();
  await pairCard.waitFor({ state: 'visible' });
  assert.equal(await pairCard.locator('.pair-local').textContent(), join(userHome, 'Sync'));

  // ---- the conflict: ours went up beside theirs, and the Conflicts screen lists both
  await page.locator('.nav-item[data-screen="conflicts"] .nav-badge', { hasText: '1' }).waitFor({ timeout: 120_000 });
  await pairCard.locator('.pair-state', { hasText: 'Up to date' }).waitFor({ timeout: 120_000 });
  await shot(page, 'pairs-en', diag);
  await page.getByRole('button', { name: /^Conflicts/ }).click();
  const conflict = page.locator('li.conflict').first();
  await conflict.waitFor({ state: 'visible' });
  assert.equal(await conflict.locator('.conflict-name').textContent(), 'notes.txt');
  assert.match(await conflict.locator('.conflict-theirs').textContent() ?? '', /^cloudreve:\/\/my\/Sync\/notes\.txt$/);
  assert.match(await conflict.locator('.conflict-ours').textContent() ?? '', /^cloudreve:\/\/my\/Sync\/notes \(conflict .*\)\.txt$/);
  await shot(page, 'conflicts-en', diag);

  // ---- history: the finished uploads, searchable; the failed attempt is there too
  await page.getByRole('button', { name: 'History' }).click();
  await page.locator('li.history-entry').filter({ hasText: 'video.bin' }).first().waitFor();
  assert.ok((await page.locator('li.history-entry[data-state="failed"]').filter({ hasText: 'report.pdf' }).count()) >= 1);
  await shot(page, 'history-en', diag);
  await page.getByLabel('Search history').fill('REPORT');
  await page.waitForFunction(() => [...document.querySelectorAll('li.history-entry .history-name')].every((n) => n.textContent === 'report.pdf'));

  // ---- settings in English, then switch the language: every screen in Chinese
  await page.getByRole('button', { name: 'Settings' }).click();
  await settings.waitFor({ state: 'visible' });
  await shot(page, 'settings-en', diag);
  await page.getByRole('button', { name: 'Transfers' }).click();
  await page.locator('li.transfer').first().waitFor();
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.locator('form.settings-form [name=language]').selectOption('zh-CN');
  await page.getByRole('button', { name: '传输' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
  await shot(page, 'settings-zh', diag);
  const zhScreens: Array<[string, RegExp, string]> = [
    ['queue', /^传输/, 'li.transfer'],
    ['history', /^历史/, 'li.history-entry'],
    ['conflicts', /^冲突/, 'li.conflict'],
    ['pairs', /^同步文件夹/, 'li.pair'],
  ];
  for (const [name, label, ready] of zhScreens) {
    await page.getByRole('button', { name: label }).click();
    await page.locator(ready).first().waitFor({ state: 'visible' });
    await shot(page, `${name}-zh`, diag);
  }
  await page.getByRole('button', { name: /^传输/ }).click();
  await row(page, 'video.bin').locator('.transfer-state', { hasText: '已完成' }).waitFor();
  // the choice is a setting of the engine's home: a reload keeps Chinese
  await page.reload();
  await page.getByRole('button', { name: '设置' }).click();
  await page.locator('form.settings-form [name=language]').selectOption('en');
  await page.getByRole('button', { name: 'Transfers' }).waitFor();
  await page.getByRole('button', { name: 'Transfers' }).click();
  await shot(page, 'queue-en-final', diag);

  // ---- the conflict ends: keep mine (asked first) makes ours the server's notes.txt and trashes the conflict copy
  await page.getByRole('button', { name: /^Conflicts/ }).click();
  const open = page.locator('li.conflict').filter({ hasText: 'notes.txt' });
  assert.match((await open.locator('.conflict-reason').textContent()) ?? '', /^(A different file of the same name was already on the server|Changed here and on the server since the last upload)$/);
  const copy = (await open.locator('.conflict-ours').textContent()) ?? '';
  assert.ok(emulator.blob(encodeURI(copy)), `the conflict copy ${copy} is on the server`);
  await page.getByRole('button', { name: 'Keep my version of notes.txt' }).click();
  await page.locator('dialog').getByRole('button', { name: 'Keep mine' }).click();
  await page.locator('.conflicts-screen .empty').waitFor({ state: 'visible', timeout: 60_000 });
  await page.locator('.notice span', { hasText: 'Your version of notes.txt is now the file on the server.' }).waitFor();
  await page.locator('.nav-item[data-screen="conflicts"] .nav-badge').waitFor({ state: 'hidden' });
  assert.equal(emulator.blob('cloudreve://my/Sync/notes.txt')?.toString(), 'my version of the notes, written on this laptop\n');
  assert.equal(emulator.blob(encodeURI(copy)), null, 'the conflict copy went to the trash');
  await shot(page, 'conflicts-resolved-en', diag);

  // ---- sign out: back to the sign-in form, in Chinese for the screenshot
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.locator('form.settings-form [name=language]').selectOption('zh-CN');
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.getByRole('form', { name: '登录' }).waitFor({ state: 'visible' });
  await shot(page, 'login-zh', diag);
  assert.doesNotMatch(e.log(), /failed:/, 'the ui reported no background failure');
});
