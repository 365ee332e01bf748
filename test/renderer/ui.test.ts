/**
 * The renderer in a real browser: Debian's chromium driven by playwright-core, the page built with esbuild and
 * served from loopback, and `window.cloudreve` replaced by a fake bridge (renderer-page.ts) that records every
 * invoke and lets the test push events. Skips only when /usr/bin/chromium is absent.
 *
 * Screenshots go to test-output/screenshots/ (or $UI_SCREENSHOT_DIR).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ConflictDto, EventMap, EventName, HistoryEntryDto, PairDto, SyncIssueDto, TransferDto } from '../../main/ipc/contract.js';
import { CHROMIUM, fakeSetup, gotoWithFake, launchChromium, serveRenderer, type FakeSetup, type RendererServer } from './renderer-page.js';
import { screenshotPath } from './screenshot-dir.js';
import { transferDto } from './dto.js';

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium): renderer UI test skipped`;
const MiB = 1024 * 1024;

let browser: Browser;
let server: RendererServer;

before(async () => {
  if (skip) return;
  server = await serveRenderer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

// ---------------------------------------------------------------- helpers
async function openPage(over: Partial<FakeSetup> = {}, locale = 'en-US'): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 960, height: 640 }, colorScheme: 'light', locale });
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  await gotoWithFake(page, server.baseUrl, fakeSetup(over));
  return { page, problems };
}
const emit = <K extends EventName>(page: Page, name: K, payload: EventMap[K]) =>
  page.evaluate(([n, p]) => (window as unknown as { __emit(n: string, p: unknown): void }).__emit(n, p), [name, payload] as const);

const calls = (page: Page) => page.evaluate(() => (window as unknown as { __calls: Array<[string, unknown[]]> }).__calls);

async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([s, t]) => document.querySelector(s)?.textContent === t,
    [selector, text] as const,
  ).catch(async (err: Error) => {
    const actual = await page.evaluate((s) => document.querySelector(s)?.textContent ?? '(missing)', selector);
    throw new Error(`${selector}: expected ${JSON.stringify(text)}, got ${JSON.stringify(actual)} (${err.message})`);
  });
}

async function waitForCall(page: Page, name: string, args: unknown[]): Promise<void> {
  await page.waitForFunction(
    ([n, a]) => (window as unknown as { __calls: Array<[string, unknown[]]> }).__calls.some((c) => c[0] === n && JSON.stringify(c[1]) === a),
    [name, JSON.stringify(args)] as const,
  ).catch(async () => assert.fail(`expected ${name}(${JSON.stringify(args)}); calls were ${JSON.stringify(await calls(page))}`));
}


const transfer = transferDto;

// ---------------------------------------------------------------- tests

test('queue: pushed transfer shows its progress; pause/resume call the contract; overall bar follows', { skip }, async (t) => {
  const { page, problems } = await openPage();
  try {
    await page.locator('.drop-zone').waitFor({ state: 'visible' });
    await waitForText(page, '.queue-screen .empty', 'No transfers yet. Drop files or folders above to upload them.');
    await waitForText(page, '.drop-target', 'cloudreve://my/Backups');
    await waitForText(page, '.account', 'Ann · cloud.example.org');

    await emit(page, 'transfer-added', transfer());
    await emit(page, 'transfer-progressed', { id: 't1', bytesDone: 5 * MiB, speed: 1.5 * MiB, eta: 4 });
    await waitForText(page, 'li[data-id="t1"] .transfer-percent', '50%');
    await waitForText(page, 'li[data-id="t1"] .transfer-name', 'holiday-video.mp4');
    await waitForText(page, 'li[data-id="t1"] .transfer-state', 'Uploading');
    await waitForText(page, 'li[data-id="t1"] .transfer-speed', '1.5 MB/s');
    await waitForText(page, 'li[data-id="t1"] .transfer-eta', '4s left');
    assert.equal(await page.locator('li[data-id="t1"] progress').evaluate((p) => (p as HTMLProgressElement).value), 50);
    assert.equal(await page.locator('.queue-screen .empty').isVisible(), false);

    await page.getByRole('button', { name: 'Pause holiday-video.mp4' }).click();
    await waitForCall(page, 'pause', ['t1']);

    // offline: the status line says why and when the next try is, and goes away when the server is back
    const nextProbeAt = await page.evaluate(() => Date.now() + 30_000);
    await emit(page, 'connectivity-changed', { online: false, reason: 'cannot reach cloud.example.org: ECONNREFUSED', since: nextProbeAt - 31_000, nextProbeAt });
    await page.waitForFunction(() => /^Offline: cannot reach cloud\.example\.org: ECONNREFUSED\. Uploads and downloads wait and continue by themselves \(next try in (29|30) s\)\.$/.test(document.querySelector('.notice span')?.textContent ?? ''));
    await emit(page, 'connectivity-changed', { online: true, reason: null, since: null, nextProbeAt: null });
    await page.waitForFunction(() => (document.querySelector('.notice') as HTMLElement | null)?.hidden === true);

    await emit(page, 'overall-progressed', { bytesDone: 5 * MiB, bytesTotal: 20 * MiB, speed: 1.5 * MiB, eta: 10, active: 1, queued: 1 });
    await waitForText(page, '.overall-percent', '25%');
    await waitForText(page, '.overall-summary', 'Uploading 1 file');
    await waitForText(page, '.overall-detail', '5.0 MB of 20 MB · 1.5 MB/s · 10s left');
    assert.equal(await page.locator('.overall progress').evaluate((p) => (p as HTMLProgressElement).value), 25);

    // a second transfer, one paused and one failed, for the screenshot and the other buttons
    await emit(page, 'transfer-added', transfer({ id: 't2', name: 'tax-return-2025.pdf', size: 2.4 * MiB, state: 'queued', createdAt: 1_700_000_000_001 }));
    await emit(page, 'transfer-added', transfer({ id: 't3', name: 'IMG_2041.HEIC', size: 3.1 * MiB, bytesDone: 3.1 * MiB, state: 'done', createdAt: 1_700_000_000_002 }));
    await emit(page, 'transfer-added', transfer({ id: 't4', name: 'thesis-draft.docx', size: 800 * 1024, bytesDone: 200 * 1024, state: 'failed', error: { code: 'quota', message: 'Storage quota exceeded' }, createdAt: 1_700_000_000_003 }));
    await emit(page, 'transfer-state-changed', { transfer: transfer({ state: 'paused', bytesDone: 5 * MiB }), from: 'uploading' });
    await waitForText(page, 'li[data-id="t1"] .transfer-state', 'Paused');
    await page.getByRole('button', { name: 'Resume holiday-video.mp4' }).click();
    await waitForCall(page, 'resume', ['t1']);
    await waitForText(page, 'li[data-id="t4"] .transfer-error', 'Storage quota exceeded');
    await page.getByRole('button', { name: 'Retry thesis-draft.docx' }).click();
    await waitForCall(page, 'retry', ['t4']);
    await page.getByRole('button', { name: 'Cancel tax-return-2025.pdf' }).click();
    await waitForCall(page, 'cancel', ['t2']);
    assert.deepEqual(
      await page.locator('li.transfer').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id'))),
      ['t1', 't2', 't3', 't4'],
    );

    // a download: a row of the same queue, its direction shown (arrow and word), the same buttons reaching the contract
    await emit(page, 'transfer-state-changed', {
      transfer: transfer({ id: 'd1', direction: 'download', name: 'report.pdf', localPath: '/home/ann/report.pdf', targetUri: 'cloudreve://my/Docs/report.pdf', state: 'downloading', bytesDone: 2 * MiB, createdAt: 1_700_000_000_004 }),
      from: 'queued',
    });
    await waitForText(page, 'li[data-id="d1"] .transfer-direction-label', 'Download');
    await waitForText(page, 'li[data-id="d1"] .transfer-direction-icon', '↓');
    await waitForText(page, 'li[data-id="t1"] .transfer-direction-label', 'Upload');
    await waitForText(page, 'li[data-id="d1"] .transfer-state', 'Downloading');
    await waitForText(page, 'li[data-id="d1"] .transfer-percent', '20%');
    await waitForText(page, '.queue-count', '5 transfers');
    await page.getByRole('button', { name: 'Pause report.pdf' }).click();
    await waitForCall(page, 'pause', ['d1']);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur()); // a focused row stays until focus moves
    await emit(page, 'transfer-removed', { id: 'd1' });
    await waitForText(page, '.queue-count', '4 uploads');
    await page.locator('li[data-id="d1"]').waitFor({ state: 'detached' });

    // pause all / resume all in the header
    await page.getByRole('button', { name: 'Resume all' }).click();
    await waitForCall(page, 'resume', []);

    // a finished row leaves when the engine says so
    await emit(page, 'transfer-removed', { id: 't3' });
    await page.locator('li[data-id="t3"]').waitFor({ state: 'detached' });
    await emit(page, 'transfer-added', transfer({ id: 't3', name: 'IMG_2041.HEIC', size: 3.1 * MiB, bytesDone: 3.1 * MiB, state: 'done', createdAt: 1_700_000_000_002 }));
    await emit(page, 'transfer-state-changed', { transfer: transfer({ state: 'uploading', bytesDone: 5 * MiB, speed: 1.5 * MiB, eta: 4 }), from: 'paused' });
    await waitForText(page, 'li[data-id="t1"] .transfer-state', 'Uploading');

    const shot = screenshotPath('queue.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    // the window's minimum width, dark theme
    await page.setViewportSize({ width: 560, height: 640 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(400); // let the colour transitions finish
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no horizontal scrolling');
    const narrow = screenshotPath('queue-dark-narrow.png');
    await page.screenshot({ path: narrow, fullPage: true });
    t.diagnostic(`screenshot: ${narrow}`);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('drop zone: dropped files go to enqueuePaths with their local paths; web items are reported', { skip }, async () => {
  const { page, problems } = await openPage();
  try {
    await page.locator('.drop-zone').waitFor({ state: 'visible' });
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['hello'], 'notes.txt'));
      dt.items.add(new File(['x'], 'Photos'));
      dt.items.add(new File(['<html>'], 'web-page.html'));
      const zone = document.querySelector('.drop-zone')!;
      zone.dispatchEvent(new DragEvent('dragenter', { bubbles: true, dataTransfer: dt }));
      zone.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
      zone.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    });
    await waitForCall(page, 'enqueuePaths', [['/home/ann/notes.txt', '/home/ann/Photos'], 'cloudreve://my/Backups']);
    await waitForText(page, '.notice span', '1 item has no local path and cannot be uploaded.');
    assert.equal(await page.locator('.drop-zone').evaluate((z) => z.classList.contains('drop-active')), false);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('signed out: the login view signs in (asking for a 2FA code when the server wants one)', { skip }, async (t) => {
  const { page, problems } = await openPage({
    account: null,
    failures: { login: [{ code: 'otp-required', message: 'Two-factor code required', retryable: false }] },
  });
  try {
    await page.getByRole('form', { name: 'Sign in' }).waitFor({ state: 'visible' });
    assert.equal(await page.locator('.queue-screen').isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false);
    await page.locator('form.login-form').getByLabel('Server').fill('https://cloud.example.org');
    await page.locator('form.login-form').getByLabel('Email').fill('ann@example.org');
    await page.locator('form.login-form').getByLabel('Password').fill('correct horse');
    const shot = screenshotPath('login.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await waitForCall(page, 'login', ['https://cloud.example.org', 'ann@example.org', 'correct horse', null]);
    await page.locator('form.login-form').getByLabel('Two-factor code').waitFor({ state: 'visible' });
    await waitForText(page, '.form-error', 'This account uses two-factor authentication.');
    await page.locator('form.login-form').getByLabel('Two-factor code').fill('123456');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await waitForCall(page, 'login', ['https://cloud.example.org', 'ann@example.org', 'correct horse', '123456']);
    await page.locator('.drop-zone').waitFor({ state: 'visible' });
    await waitForCall(page, 'listTransfers', []);
    assert.equal(await page.getByRole('form', { name: 'Sign in' }).isVisible(), false);

    // signing out from the header goes back to the (cleared) login form
    await page.getByRole('button', { name: 'Sign out' }).click();
    await waitForCall(page, 'logout', []);
    await page.getByRole('form', { name: 'Sign in' }).waitFor({ state: 'visible' });
    assert.equal(await page.locator('form.login-form').getByLabel('Password').inputValue(), '');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('settings: every field is shown and saved; language and theme apply at once', { skip }, async (t) => {
  const { page, problems } = await openPage();
  try {
    await page.getByRole('button', { name: 'Settings' }).click();
    const form = page.locator('form.settings-form');
    await form.waitFor({ state: 'visible' });
    assert.equal(await form.locator('[name=maxActiveFiles]').inputValue(), '3');
    assert.equal(await form.locator('[name=chunkConcurrencyCap]').inputValue(), '4');
    assert.equal(await form.locator('[name=ifExists]').inputValue(), 'rename');
    assert.equal(await form.locator('[name=settleDelay]').inputValue(), '2');
    assert.equal(await form.locator('[name=launchAtLogin]').isChecked(), true);
    await form.locator('[name=maxActiveFiles]').fill('6');
    await form.locator('[name=chunkConcurrencyCap]').fill('2');
    await form.locator('[name=bandwidthLimit]').fill('512');
    await form.locator('[name=downloadBandwidthLimit]').fill('256');
    await form.locator('[name=settleDelay]').fill('5.5');
    await form.locator('[name=ifExists]').selectOption('overwrite');
    await form.locator('[name=uploadWithoutAsking]').check();
    await form.locator('[name=launchAtLogin]').uncheck();
    // the default destination through the folder picker
    await form.getByRole('button', { name: 'Choose a folder on the server' }).click();
    const dialog = page.locator('dialog.dialog');
    await dialog.waitFor({ state: 'visible' });
    // it starts where the setting points, and goes up to the account's root
    await waitForText(page, 'dialog .browser-where', 'Current folder: cloudreve://my/Backups');
    await dialog.getByRole('button', { name: 'Up' }).click();
    await dialog.getByRole('button', { name: 'Open Photos' }).click();
    await waitForText(page, 'dialog .browser-where', 'Current folder: cloudreve://my/Photos/');
    await dialog.getByRole('button', { name: 'Choose this folder' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await form.locator('[name=defaultTargetFolderUri]').inputValue(), 'cloudreve://my/Photos/');
    await form.getByRole('button', { name: 'Save' }).click();
    await waitForCall(page, 'setSettings', [
      {
        defaultTargetFolderUri: 'cloudreve://my/Photos/',
        uploadWithoutAsking: true,
        bandwidthLimit: 512 * 1024,
        downloadBandwidthLimit: 256 * 1024,
        maxActiveFiles: 6,
        chunkConcurrencyCap: 2,
        settleDelayMs: 5500,
        ifExists: 'overwrite',
        shellIntegration: false,
        launchAtLogin: false,
      },
    ]);
    await waitForText(page, '.form-ok', 'Settings saved.');

    // theme: dark now, whatever the OS says
    await form.locator('[name=theme]').selectOption('dark');
    await waitForCall(page, 'setSettings', [{ theme: 'dark' }]);
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(20, 23, 28)', 'dark background under a light OS');

    // language: the whole window switches to Chinese at once, and stays on the settings screen
    await page.locator('form.settings-form [name=language]').selectOption('zh-CN');
    await waitForCall(page, 'setSettings', [{ language: 'zh-CN' }]);
    await page.getByRole('button', { name: '设置' }).waitFor({ state: 'visible' });
    await page.getByRole('form', { name: '设置' }).waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    assert.equal(await page.locator('form.settings-form [name=language]').inputValue(), 'zh-CN');
    assert.equal(await page.locator('form.settings-form [name=settleDelay]').inputValue(), '5.5', 'saved values survive the rebuild');
    const shot = screenshotPath('settings-zh-dark.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    await page.locator('form.settings-form [name=language]').selectOption('en');
    await page.getByRole('button', { name: 'Transfers' }).waitFor({ state: 'visible' });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

// ---------------------------------------------------------------- the 10,000-row queue

/** Counts requestAnimationFrame callbacks that ran (installed before the page's scripts). */
function countFrames(): void {
  const w = window as unknown as { __frames: number };
  w.__frames = 0;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => raf((t) => {
    w.__frames++;
    cb(t);
  });
}

test('queue with 10,000 transfers: only visible rows are elements; a burst of events is one render; no list per event', { skip }, async (t) => {
  const { page, problems } = await openPage({ generated: 10_000 });
  try {
    await page.addInitScript(countFrames); // for the reload below
    await page.reload();
    await page.locator('li.transfer[data-id="g0"]').waitFor({ state: 'visible' });
    await waitForText(page, '.queue-count', '10,000 uploads');
    const rows = await page.locator('li.transfer').count();
    assert.ok(rows > 5 && rows <= 40, `${rows} row elements for 10,000 transfers`);

    // scroll to the end: the last rows are drawn, the first ones are gone
    await page.locator('.queue-list').evaluate((e) => (e.scrollTop = e.scrollHeight));
    await page.locator('li.transfer[data-id="g9999"]').waitFor({ state: 'visible' });
    assert.equal(await page.locator('li.transfer[data-id="g0"]').count(), 0);
    assert.ok((await page.locator('li.transfer').count()) <= 40);
    await page.locator('.queue-list').evaluate((e) => (e.scrollTop = 0));
    await page.locator('li.transfer[data-id="g0"]').waitFor({ state: 'visible' });

    // 5,000 progress events in one task (50 transfers × 100): the page renders once for them, not 5,000 times
    const frames = await page.evaluate(async () => {
      const w = window as unknown as { __frames: number; __emit(n: string, p: unknown): void };
      await new Promise((r) => requestAnimationFrame(() => r(null)));
      const before = w.__frames;
      for (let round = 1; round <= 100; round++) {
        for (let i = 0; i < 50; i++) w.__emit('transfer-progressed', { id: `g${i}`, bytesDone: round * 39_600, speed: 2_000_000, eta: 3 });
      }
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null))));
      return w.__frames - before;
    });
    assert.ok(frames <= 4, `${frames} frames ran for one burst`);
    await waitForText(page, 'li[data-id="g0"] .transfer-percent', '99%');
    await waitForText(page, 'li[data-id="g0"] .transfer-bytes', '3.8 MB of 3.8 MB');
    await waitForText(page, 'li[data-id="g5"] .transfer-percent', '98%');
    const listCalls = (await calls(page)).filter(([n]) => n === 'listTransfers').length;
    assert.equal(listCalls, 1, 'the list is fetched once (at start), never because of an event');

    // move to top: setPriority above everything, and the row goes first
    await page.locator('.queue-list').evaluate((e) => (e.scrollTop = 60 * 72));
    await page.getByRole('button', { name: 'Move to top photo-00060.jpg' }).click();
    await waitForCall(page, 'setPriority', ['g60', 1]);
    await page.locator('.queue-list').evaluate((e) => (e.scrollTop = 0));
    await page.waitForFunction(() => (document.querySelector('li[data-id="g60"]') as HTMLElement | null)?.style.top === '0px');
    // the elements are in display order (Tab walks the rows as shown)
    const order = await page.locator('li.transfer').evaluateAll((rows) => rows.map((r) => parseInt((r as HTMLElement).style.top, 10)));
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    const shot = screenshotPath('queue-10000.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('keyboard: the sidebar is reachable with Tab and switches screens with Enter', { skip }, async () => {
  const { page, problems } = await openPage();
  try {
    await page.locator('.queue-screen').waitFor({ state: 'visible' });
    await page.locator('.nav-item[data-screen="queue"]').focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-screen')), 'history');
    await page.keyboard.press('Enter');
    await page.locator('.history-screen').waitFor({ state: 'visible' });
    assert.equal(await page.locator('.nav-item[data-screen="history"]').getAttribute('aria-current'), 'page');
    assert.equal(await page.locator('.queue-screen').isVisible(), false);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

// ---------------------------------------------------------------- history, conflicts, pairs

function historyEntry(over: Partial<HistoryEntryDto>): HistoryEntryDto {
  return {
    id: 'h1',
    transferId: 't1',
    name: 'report.pdf',
    localPath: '/home/ann/Documents/report.pdf',
    targetUri: 'cloudreve://my/Backups/report.pdf',
    size: 2.4 * MiB,
    state: 'done',
    error: null,
    pairId: null,
    finishedAt: 1_764_000_000_000,
    ...over,
  };
}

test('history: listed newest first, searchable, filtered by outcome; a finished upload joins the top', { skip }, async (t) => {
  const history = [
    historyEntry({ id: 'h3', name: 'IMG_2041.HEIC', localPath: '/home/ann/Pictures/IMG_2041.HEIC', targetUri: 'cloudreve://my/Photos/IMG_2041.HEIC', finishedAt: 1_764_000_300_000 }),
    historyEntry({ id: 'h2', name: 'thesis.docx', localPath: '/home/ann/thesis.docx', targetUri: 'cloudreve://my/Backups/thesis.docx', state: 'failed', error: { code: 'quota', message: 'Storage quota exceeded' }, finishedAt: 1_764_000_200_000 }),
    historyEntry({ id: 'h1', finishedAt: 1_764_000_100_000 }),
  ];
  const { page, problems } = await openPage({ history });
  try {
    await page.getByRole('button', { name: 'History' }).click();
    await page.locator('li.history-entry[data-id="h1"]').waitFor({ state: 'visible' });
    assert.deepEqual(await page.locator('li.history-entry').evaluateAll((l) => l.map((e) => e.getAttribute('data-id'))), ['h3', 'h2', 'h1']);
    await waitForText(page, 'li[data-id="h2"] .history-error', 'Storage quota exceeded');
    const shot = screenshotPath('history.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);

    await page.getByLabel('Search history').fill('PICTURES');
    await waitForCall(page, 'listHistory', [{ limit: 200, text: 'PICTURES' }]);
    await page.waitForFunction(() => document.querySelectorAll('li.history-entry').length === 1);
    // a pushed entry that does not match the search stays out; one that does comes in on top
    await emit(page, 'history-added', historyEntry({ id: 'h4', name: 'notes.txt', localPath: '/home/ann/notes.txt', finishedAt: 1_764_000_400_000 }));
    await emit(page, 'history-added', historyEntry({ id: 'h5', name: 'beach.jpg', localPath: '/home/ann/Pictures/beach.jpg', finishedAt: 1_764_000_500_000 }));
    await page.waitForFunction(() => document.querySelectorAll('li.history-entry').length === 2);
    assert.deepEqual(await page.locator('li.history-entry').evaluateAll((l) => l.map((e) => e.getAttribute('data-id'))), ['h5', 'h3']);
    await page.getByLabel('Search history').fill('nothing-like-this');
    await waitForText(page, '.history-screen .empty', 'Nothing matches “nothing-like-this”.');
    await page.getByLabel('Search history').fill('');
    await page.getByLabel('Show', { exact: true }).selectOption('failed');
    await waitForCall(page, 'listHistory', [{ limit: 200, state: 'failed' }]);
    await page.waitForFunction(() => [...document.querySelectorAll('li.history-entry')].map((e) => e.getAttribute('data-id')).join() === 'h2');

    // clear, after a confirmation
    await page.getByRole('button', { name: 'Clear history' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Yes, go ahead' }).click();
    await waitForCall(page, 'clearHistory', []);
    await page.getByLabel('Show', { exact: true }).selectOption('');
    await waitForText(page, '.history-screen .empty', 'Nothing finished yet. Uploads you finish appear here, also after a restart.');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

function conflict(over: Partial<ConflictDto>): ConflictDto {
  return {
    id: 1,
    pairId: 'p1',
    relPath: 'Budget/2026.xlsx',
    remoteUri: 'cloudreve://my/Documents/Budget/2026.xlsx',
    conflictUri: 'cloudreve://my/Documents/Budget/2026%20(conflict%202026-11-25%20161311%20laptop).xlsx',
    reasonCode: 'changed-both',
    reason: 'changed here and on the server since our last upload',
    createdAt: 1_764_000_000_000,
    ...over,
  };
}

test('conflicts: both URIs shown decoded, the reason worded from its code; keep mine (after asking), keep both; keep theirs waits for two-way sync', { skip }, async (t) => {
  const third = conflict({ id: 3, relPath: 'photo.jpg', remoteUri: 'cloudreve://my/Documents/photo.jpg', conflictUri: 'cloudreve://my/Documents/photo%20(conflict).jpg', reasonCode: 'exists-different', createdAt: 1_764_000_050_000 });
  const { page, problems } = await openPage({ conflicts: [conflict({}), third] });
  try {
    await waitForText(page, '.nav-item[data-screen="conflicts"] .nav-badge', '2');
    await emit(page, 'conflict-added', conflict({ id: 2, relPath: 'notes/todo.md', remoteUri: 'cloudreve://my/Documents/notes/todo.md', conflictUri: 'cloudreve://my/Documents/notes/todo%20(conflict).md', reasonCode: 'changed-remote', createdAt: 1_764_000_100_000 }));
    await waitForText(page, '.nav-item[data-screen="conflicts"] .nav-badge', '3');
    await page.getByRole('button', { name: /^Conflicts/ }).click();
    await waitForText(page, 'li.conflict[data-id="1"] .conflict-theirs', 'cloudreve://my/Documents/Budget/2026.xlsx');
    await waitForText(page, 'li.conflict[data-id="1"] .conflict-ours', 'cloudreve://my/Documents/Budget/2026 (conflict 2026-11-25 161311 laptop).xlsx');
    await waitForText(page, 'li.conflict[data-id="1"] .conflict-reason', 'Changed here and on the server since the last upload');
    await waitForText(page, 'li.conflict[data-id="2"] .conflict-reason', 'The server’s file changed while yours was uploading');
    await waitForText(page, 'li.conflict[data-id="3"] .conflict-reason', 'A different file of the same name was already on the server');
    assert.deepEqual(await page.locator('li.conflict').evaluateAll((l) => l.map((e) => e.getAttribute('data-id'))), ['2', '3', '1']);
    // keep theirs: there, focusable, says why it cannot be used yet, and calls nothing
    const theirs = page.getByRole('button', { name: 'Keep the server’s version of notes/todo.md' });
    assert.equal(await theirs.getAttribute('aria-disabled'), 'true');
    assert.equal(await theirs.getAttribute('title'), 'Comes with two-way sync: until then Cloudreve Sync only uploads, so it cannot bring the server’s version down.');
    await theirs.hover();
    const shot = screenshotPath('conflicts.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);
    await theirs.click({ force: true }); // playwright clicks no aria-disabled button by itself; a person can
    await waitForText(page, '.notice span', 'Comes with two-way sync: until then Cloudreve Sync only uploads, so it cannot bring the server’s version down.');

    // keep mine asks first (the copy goes to the trash); cancelling calls nothing
    await page.getByRole('button', { name: 'Keep my version of notes/todo.md' }).click();
    await waitForText(page, 'dialog .dialog-message', 'Upload your version as the new version of notes/todo.md? The conflict copy todo (conflict).md goes to the server’s trash.');
    await page.locator('dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Keep my version of notes/todo.md' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Keep mine' }).click();
    await waitForCall(page, 'resolveConflict', [2, 'keep-mine']);
    await page.locator('li.conflict[data-id="2"]').waitFor({ state: 'detached' });
    await waitForText(page, '.notice span', 'Your version of notes/todo.md is now the file on the server.');
    await waitForText(page, '.nav-item[data-screen="conflicts"] .nav-badge', '2');

    // keep both: no question (nothing is removed)
    await page.getByRole('button', { name: 'Keep both versions of photo.jpg' }).click();
    await waitForCall(page, 'resolveConflict', [3, 'keep-both']);
    await page.locator('li.conflict[data-id="3"]').waitFor({ state: 'detached' });
    await waitForText(page, '.notice span', 'Both versions of photo.jpg stay on the server; your next change goes to photo.jpg.');

    // resolved elsewhere (the CLI, another window): it leaves the list too
    await emit(page, 'conflict-resolved', { conflict: conflict({}), choice: 'keep-both' });
    await page.locator('li.conflict[data-id="1"]').waitFor({ state: 'detached' });
    await page.locator('.nav-item[data-screen="conflicts"] .nav-badge').waitFor({ state: 'hidden' });
    await page.locator('.conflicts-screen .empty').waitFor({ state: 'visible' });
    const resolves = (await calls(page)).filter(([n]) => n === 'resolveConflict');
    assert.deepEqual(resolves.map(([, a]) => a), [[2, 'keep-mine'], [3, 'keep-both']], 'keep theirs and the cancelled keep mine called nothing');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('conflicts: a refused resolution is reported and the conflict stays', { skip }, async () => {
  const { page, problems } = await openPage({
    conflicts: [conflict({})],
    failures: { resolveConflict: [{ code: 'stale-version', message: 'the server’s file changed again', retryable: false }] },
  });
  try {
    await page.getByRole('button', { name: /^Conflicts/ }).click();
    await page.getByRole('button', { name: 'Keep both versions of Budget/2026.xlsx' }).click();
    await waitForText(page, '.notice span', 'Could not resolve the conflict: the server’s file changed again');
    assert.equal(await page.locator('li.conflict[data-id="1"]').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Keep both versions of Budget/2026.xlsx' }).isDisabled(), false, 'the buttons work again');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

function pairDto(over: Partial<PairDto>): PairDto {
  return {
    id: 'p1',
    localPath: '/home/ann/Photos',
    remoteUri: 'cloudreve://my/Photos/',
    mode: 'backup',
    ignore: [],
    excludeRemote: [],
    paused: false,
    state: 'idle',
    stateDetail: null,
    lastScanAt: 1_764_000_000_000,
    lastFullScanAt: 1_764_000_000_000,
    lastChangeAt: null,
    confirmMirror: false,
    createdAt: 1,
    ...over,
  };
}

function pairDetail(over: Partial<NonNullable<PairDto['stateDetail']>>): NonNullable<PairDto['stateDetail']> {
  return { code: 'x', message: 'the engine’s English', pendingDeletes: null, paths: null, notSynced: null, ...over };
}

function syncIssue(over: Partial<SyncIssueDto>): SyncIssueDto {
  return { pairId: 'p1', relPath: 'raw/IMG_0001.CR3', code: 'quota', message: 'quota exceeded', retryAt: null, attempts: 1, since: 1_764_000_000_000, ...over };
}

test('sync folders: add with both pickers and a mirror warning; pause; confirm held deletions with the count; remove after asking', { skip }, async (t) => {
  const held = pairDto({ id: 'p2', localPath: '/home/ann/Work', remoteUri: 'cloudreve://my/Work/', mode: 'mirror', state: 'needs-confirmation', stateDetail: pairDetail({ code: 'mass-delete', message: 'held', pendingDeletes: 12 }), createdAt: 2 });
  const { page, problems } = await openPage({ pairs: [pairDto({}), held] });
  try {
    await waitForText(page, '.nav-item[data-screen="pairs"] .nav-badge', '1');
    await page.getByRole('button', { name: /^Sync folders/ }).click();
    await waitForText(page, 'li.pair[data-id="p1"] .pair-state', 'Up to date');
    await waitForText(page, 'li.pair[data-id="p2"] .pair-detail', 'Delete 12 files on the server, as in the local folder?');
    const shot = screenshotPath('pairs.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);

    // confirm the held deletions: the button and the question carry the count
    await page.getByRole('button', { name: 'Allow 12 deletions /home/ann/Work' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Allow 12 deletions' }).click();
    await waitForCall(page, 'confirmDeletes', ['p2', 12]);

    await page.getByRole('button', { name: 'Pause /home/ann/Photos' }).click();
    await waitForCall(page, 'pausePair', ['p1']);
    await waitForText(page, 'li.pair[data-id="p1"] .pair-state', 'Paused');
    await page.getByRole('button', { name: 'Sync now /home/ann/Work' }).click();
    await waitForCall(page, 'syncNow', ['p2']);

    // edit a pair: mode and ignore rules
    await page.getByRole('button', { name: 'Edit /home/ann/Photos' }).click();
    const edit = page.locator('dialog.dialog');
    await edit.getByLabel('Mirror: the server follows the local folder, deletions too').check();
    await edit.locator('.warning').waitFor({ state: 'visible' });
    await edit.locator('[name=ignore]').fill('*.raw\n');
    await edit.getByRole('button', { name: 'Save' }).click();
    await waitForCall(page, 'updatePair', ['p1', { mode: 'mirror', ignore: ['*.raw'] }]);
    await edit.waitFor({ state: 'detached' });
    await waitForText(page, 'li.pair[data-id="p1"] .badge', 'Mirror');

    // add: local folder from the engine's folder browser, remote from the server's, mirror with its warning
    await page.getByRole('button', { name: 'Add a sync folder' }).click();
    const form = page.locator('form.pair-form');
    await form.getByRole('button', { name: 'Choose a local folder' }).click();
    let dialog = page.locator('dialog.dialog');
    await dialog.getByRole('button', { name: 'Open Documents' }).click();
    await waitForText(page, 'dialog .browser-where', 'Current folder: /home/ann/Documents');
    await dialog.getByRole('button', { name: 'Choose this folder' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await form.locator('[name=localPath]').inputValue(), '/home/ann/Documents');
    await form.getByRole('button', { name: 'Choose a folder on the server' }).click();
    dialog = page.locator('dialog.dialog');
    await dialog.getByRole('button', { name: 'Open Backups' }).click();
    await dialog.getByRole('button', { name: 'Open laptop' }).click();
    await dialog.getByRole('button', { name: 'Choose this folder' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await form.locator('[name=remoteUri]').inputValue(), 'cloudreve://my/Backups/laptop/');
    assert.equal(await form.locator('.warning').isVisible(), false);
    await form.getByLabel('Mirror: the server follows the local folder, deletions too').check();
    await waitForText(page, 'form.pair-form .warning', 'Mirror deletes files on the server when they are deleted here. Large deletions wait for your confirmation.');
    await form.locator('[name=ignore]').fill('*.tmp\n\nnode_modules/\n');
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    await waitForCall(page, 'addPair', [{ localPath: '/home/ann/Documents', remoteUri: 'cloudreve://my/Backups/laptop/', mode: 'mirror', ignore: ['*.tmp', 'node_modules/'] }]);
    await waitForText(page, 'li.pair[data-id="p3"] .pair-state', 'Checking for changes');
    assert.equal(await form.isVisible(), false);

    // a pair-changed event redraws its card
    await emit(page, 'pair-changed', { ...held, state: 'syncing', stateDetail: null });
    await waitForText(page, 'li.pair[data-id="p2"] .pair-state', 'Syncing');
    await page.locator('.nav-item[data-screen="pairs"] .nav-badge').waitFor({ state: 'hidden' });

    // remove asks first; cancelling keeps the pair
    await page.getByRole('button', { name: 'Remove /home/ann/Photos' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Remove /home/ann/Photos' }).click();
    await waitForText(page, 'dialog .dialog-message', 'Stop syncing /home/ann/Photos with cloudreve://my/Photos/? No file is deleted on either side.');
    await page.locator('dialog').getByRole('button', { name: 'Remove' }).click();
    await waitForCall(page, 'removePair', ['p1']);
    await page.locator('li.pair[data-id="p1"]').waitFor({ state: 'detached' });
    assert.equal((await calls(page)).filter(([n]) => n === 'removePair').length, 1, 'the cancelled attempt called nothing');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('sync folders: files not backed up with their reasons, a folder gone on the server, the paths a mirror pass would trash, freshness', { skip }, async (t) => {
  const now = Date.now();
  const incomplete = pairDto({
    id: 'p1',
    state: 'incomplete',
    stateDetail: pairDetail({ code: 'quota', message: '12 paths not on the server: quota (and 2 unreadable)', notSynced: { count: 12, byCode: { quota: 10, unreadable: 2 } } }),
    lastScanAt: now - 60_000,
    lastFullScanAt: now - 5 * 60_000,
    lastChangeAt: now - 3 * 60_000,
  });
  const held = pairDto({
    id: 'p2',
    localPath: '/home/ann/Work',
    remoteUri: 'cloudreve://my/Work/',
    mode: 'mirror',
    state: 'needs-confirmation',
    confirmMirror: true,
    stateDetail: pairDetail({ code: 'mirror-switch', pendingDeletes: 3, paths: ['old report.docx', 'drafts/a.md'] }),
    createdAt: 2,
  });
  const gone = pairDto({ id: 'p3', localPath: '/home/ann/Music', remoteUri: 'cloudreve://my/Music/', state: 'remote-missing', stateDetail: pairDetail({ code: 'remote-missing' }), createdAt: 3 });
  const { page, problems } = await openPage({
    pairs: [incomplete, held, gone],
    issues: [
      syncIssue({ relPath: 'raw/IMG_0001.CR3' }),
      syncIssue({ relPath: 'raw/IMG_0002.CR3' }),
      syncIssue({ relPath: 'private/key.jpg', code: 'unreadable' }),
      syncIssue({ pairId: 'p9', relPath: 'not/this/pair.txt' }),
    ],
  });
  try {
    await waitForText(page, '.nav-item[data-screen="pairs"] .nav-badge', '3');
    await page.getByRole('button', { name: /^Sync folders/ }).click();
    await waitForText(page, 'li.pair[data-id="p1"] .pair-state', 'Not all files backed up');
    await waitForText(page, 'li.pair[data-id="p1"] .pair-notsynced-text', '12 files not backed up: storage full (10), cannot be read (2)');
    await waitForText(page, 'li.pair[data-id="p1"] .pair-scan', 'Last full scan 5 minutes ago · last change 3 minutes ago');
    assert.match((await page.locator('li.pair[data-id="p1"] .pair-scan').getAttribute('title')) ?? '', /^Last full scan .+ · last change .+/);
    // time passes: the words follow without a new event
    await page.clock.setFixedTime(now + 2 * 60_000);
    await waitForText(page, 'li.pair[data-id="p1"] .pair-scan', 'Last full scan 7 minutes ago · last change 5 minutes ago');
    assert.equal(await page.locator('li.pair[data-id="p1"] .pair-detail').count(), 0, 'the engine\'s English sentence is not shown');
    await waitForText(page, 'li.pair[data-id="p3"] .pair-state', 'Folder gone on the server');
    await waitForText(page, 'li.pair[data-id="p3"] .pair-detail', 'The folder on the server is gone; nothing was deleted here.');
    // the mirror switch: the paths before the confirm button
    await waitForText(page, 'li.pair[data-id="p2"] .pair-detail', 'Now a mirror: 3 files deleted here while this was a backup would go to the server’s trash.');
    assert.deepEqual(await page.locator('li.pair[data-id="p2"] .pair-held li').allTextContents(), ['old report.docx', 'drafts/a.md', '… and 1 more']);
    assert.ok(
      await page.locator('li.pair[data-id="p2"]').evaluate((li) => {
        const list = li.querySelector('.pair-held')!;
        const confirm = li.querySelector('button[data-action="confirm"]')!;
        return !!(list.compareDocumentPosition(confirm) & Node.DOCUMENT_POSITION_FOLLOWING);
      }),
      'the list comes before the confirm button',
    );

    // the list of files not backed up, on demand
    const toggle = page.locator('li.pair[data-id="p1"]').getByRole('button', { name: 'Show the files' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    await waitForCall(page, 'listSyncIssues', ['p1']);
    const issues = page.getByRole('list', { name: 'Files of /home/ann/Photos not backed up' });
    await issues.waitFor({ state: 'visible' });
    assert.deepEqual(await issues.locator('.pair-issue-path').allTextContents(), ['raw/IMG_0001.CR3', 'raw/IMG_0002.CR3', 'private/key.jpg']);
    assert.deepEqual(await issues.locator('.pair-issue-why').allTextContents(), ['storage full', 'storage full', 'cannot be read']);
    assert.equal(await page.locator('li.pair[data-id="p1"] button[data-action="issues"]').getAttribute('aria-expanded'), 'true');
    await waitForText(page, 'li.pair[data-id="p1"] button[data-action="issues"]', 'Hide the files');
    const shot = screenshotPath('pairs-issues.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);

    // the pair moves on: the open list is asked for again; once every file is up, the pair is up to date
    await emit(page, 'pair-changed', { ...incomplete, stateDetail: pairDetail({ code: 'unreadable', notSynced: { count: 1, byCode: { unreadable: 1 } } }) });
    await waitForText(page, 'li.pair[data-id="p1"] .pair-notsynced-text', '1 file not backed up: cannot be read');
    await page.waitForFunction(() => (window as unknown as { __calls: Array<[string, unknown[]]> }).__calls.filter((c) => c[0] === 'listSyncIssues').length === 2);
    await emit(page, 'pair-changed', { ...incomplete, state: 'idle', stateDetail: null });
    await waitForText(page, 'li.pair[data-id="p1"] .pair-state', 'Up to date');
    assert.equal(await page.locator('li.pair[data-id="p1"] .pair-notsynced').count(), 0);
    await waitForText(page, '.nav-item[data-screen="pairs"] .nav-badge', '2');

    // confirming shows the paths once more, in the question
    await page.getByRole('button', { name: 'Allow 3 deletions /home/ann/Work' }).click();
    const dialog = page.locator('dialog');
    await waitForText(page, 'dialog .dialog-message', 'Now a mirror: 3 files deleted here while this was a backup would go to the server’s trash.');
    assert.deepEqual(await dialog.locator('.pair-held li').allTextContents(), ['old report.docx', 'drafts/a.md', '… and 1 more']);
    await dialog.getByRole('button', { name: 'Allow 3 deletions' }).click();
    await waitForCall(page, 'confirmDeletes', ['p2', 3]);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('sync folders: empty state says what to do', { skip }, async () => {
  const { page, problems } = await openPage({ failures: { listPairs: [{ code: 'unavailable', message: 'folder sync is not wired yet', retryable: false }] } });
  try {
    await page.getByRole('button', { name: /^Sync folders/ }).click();
    await waitForText(page, '.pairs-screen .empty', 'No sync folders yet. Add one to keep a local folder backed up.');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

// ---------------------------------------------------------------- the destination picker and browser mode

test('destination picker: a shell-menu request shows the last destination first; a new folder can be made and chosen', { skip }, async (t) => {
  const { page, problems } = await openPage();
  try {
    await page.locator('.queue-screen').waitFor({ state: 'visible' });
    await emit(page, 'destination-requested', { requestId: 'rq1', paths: ['/home/ann/a.txt', '/home/ann/b.txt'], lastDestinationUri: 'cloudreve://my/Backups/laptop/' });
    const dialog = page.locator('dialog.dialog');
    await dialog.waitFor({ state: 'visible' });
    await waitForText(page, 'dialog .picker-files', '2 items: a.txt, b.txt');
    await waitForText(page, 'dialog .picker-last', 'cloudreve://my/Backups/laptop/');
    const shot = screenshotPath('destination-picker.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);
    await dialog.getByRole('button', { name: 'cloudreve://my/Backups/laptop/' }).click();
    await waitForCall(page, 'resolveDestination', ['rq1', 'cloudreve://my/Backups/laptop/']);
    await dialog.waitFor({ state: 'detached' });

    // the next one: browse, make a folder, upload there
    await emit(page, 'destination-requested', { requestId: 'rq2', paths: ['/home/ann/c.txt'], lastDestinationUri: null });
    await dialog.waitFor({ state: 'visible' });
    assert.equal(await page.locator('dialog .picker-last').count(), 0);
    await dialog.getByRole('button', { name: 'New folder' }).click();
    await dialog.getByLabel('Folder name').fill('Scans');
    await dialog.getByLabel('Folder name').press('Enter');
    await waitForCall(page, 'createRemoteFolder', ['cloudreve://my/', 'Scans']);
    await dialog.getByRole('button', { name: 'Open Scans' }).click();
    await waitForText(page, 'dialog .browser-where', 'Current folder: cloudreve://my/Scans/');
    await dialog.getByRole('button', { name: 'Upload here' }).click();
    await waitForCall(page, 'resolveDestination', ['rq2', 'cloudreve://my/Scans/']);

    // Escape drops the request (the engine is told: null)
    await emit(page, 'destination-requested', { requestId: 'rq3', paths: ['/home/ann/d.txt'], lastDestinationUri: null });
    await dialog.waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await waitForCall(page, 'resolveDestination', ['rq3', null]);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('browser mode (cloudreve-sync ui): "Upload files…" picks files on the engine machine, then where they go', { skip }, async () => {
  const { page, problems } = await openPage({ mode: 'browser' });
  try {
    await page.getByRole('button', { name: 'Upload files…' }).click();
    const dialog = page.locator('dialog.dialog');
    await waitForText(page, 'dialog .dialog-title', 'Choose files on the machine running Cloudreve Sync');
    assert.equal(await dialog.getByRole('button', { name: 'Next' }).isDisabled(), true);
    await dialog.getByLabel('Select notes.txt').waitFor({ state: 'visible' });
    assert.equal(await dialog.getByRole('button', { name: 'Open .config' }).count(), 0, 'dot-entries wait for "Show hidden"');
    await dialog.getByLabel('Show hidden').check();
    await dialog.getByRole('button', { name: 'Open .config' }).waitFor({ state: 'visible' });
    await dialog.getByLabel('Select notes.txt').check();
    await dialog.getByRole('button', { name: 'Open Documents' }).click();
    await dialog.getByLabel('Select cv.pdf').check();
    await waitForText(page, 'dialog .browser-count', '2 selected');
    await dialog.getByRole('button', { name: 'Next' }).click();
    await waitForText(page, 'dialog .dialog-title', 'Upload to…');
    await dialog.getByRole('button', { name: 'cloudreve://my/Backups' }).click();
    await waitForCall(page, 'enqueuePaths', [['/home/ann/notes.txt', '/home/ann/Documents/cv.pdf'], 'cloudreve://my/Backups']);
    await waitForText(page, '.notice span', '2 items queued for cloudreve://my/Backups.');
    // no launch-at-login or shell-menu switch in the browser
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.locator('form.settings-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('[name=launchAtLogin]').isVisible(), false);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

// ---------------------------------------------------------------- sign-in

test('sign-in: distinct messages for a wrong password, a server that is not Cloudreve v4, and no answer', { skip }, async () => {
  const { page, problems } = await openPage({
    account: null,
    failures: {
      login: [
        { code: 'invalid-password', message: 'login: Email or password is incorrect (code 40080)', retryable: false },
        { code: 'not-cloudreve', message: 'ping: not a Cloudreve server', retryable: false },
        { code: 'network', message: 'ping: cannot reach nas.local:5212: ECONNREFUSED', retryable: true },
      ],
    },
  });
  try {
    const form = page.locator('form.login-form');
    await form.getByLabel('Server').fill('http://nas.local:5212');
    await form.getByLabel('Email').fill('ann@example.org');
    await form.getByLabel('Password').fill('wrong');
    const expected = [
      'Wrong email or password.',
      'This address does not answer like a Cloudreve v4 server. Check the address (it is the one you open Cloudreve with in a browser).',
      'Cannot reach the server: ping: cannot reach nas.local:5212: ECONNREFUSED. Check the address and your connection.',
    ];
    for (const text of expected) {
      await form.getByRole('button', { name: 'Sign in', exact: true }).click();
      await waitForText(page, '.form-error', text);
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('sign-in with browser: the authorization URL is offered as a link; the window signs in when the browser comes back', { skip }, async () => {
  const { page, problems } = await openPage({ account: null });
  try {
    const form = page.locator('form.login-form');
    await form.getByRole('button', { name: 'Sign in with browser' }).click();
    await waitForText(page, '.form-error', 'Enter the server address first.');
    await form.getByLabel('Server').fill('https://cloud.example.org');
    await form.getByRole('button', { name: 'Sign in with browser' }).click();
    await waitForCall(page, 'loginWithBrowser', ['https://cloud.example.org']);
    const link = page.getByRole('link', { name: 'Open the sign-in page' });
    await link.waitFor({ state: 'visible' });
    assert.equal(await link.getAttribute('href'), 'https://cloud.example.org/session/authorize?client_id=cloudreve-sync');
    await waitForText(page, '.browser-waiting', 'Continue in your browser: cloud.example.org');
    await page.evaluate(() => (window as unknown as { __finishBrowserLogin(): void }).__finishBrowserLogin());
    await page.locator('.queue-screen').waitFor({ state: 'visible' });
    await waitForText(page, '.account', 'Sso · cloud.example.org');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

// ---------------------------------------------------------------- both languages

test('简体中文: every screen in Chinese when the system language is Chinese (screenshots of each)', { skip }, async (t) => {
  const { page, problems } = await openPage(
    {
      transfers: [
        transfer({ id: 't1', name: '假期视频.mp4', bytesDone: 6 * MiB, speed: 1.5 * MiB, eta: 3 }),
        transfer({ id: 't2', name: '报税表-2025.pdf', state: 'failed', size: 2.4 * MiB, bytesDone: 1 * MiB, error: { code: 'quota', message: '存储空间不足' }, createdAt: 1_700_000_000_001 }),
        transfer({ id: 't3', name: 'IMG_2041.HEIC', state: 'queued', size: 3.1 * MiB, createdAt: 1_700_000_000_002 }),
      ],
      history: [historyEntry({ id: 'h1', name: '报告.pdf' })],
      conflicts: [conflict({})],
      pairs: [
        pairDto({}),
        pairDto({ id: 'p2', localPath: '/home/ann/Work', mode: 'mirror', state: 'needs-confirmation', confirmMirror: true, stateDetail: pairDetail({ code: 'mass-delete', pendingDeletes: 2, paths: ['旧报告.docx', 'notes/todo.md'] }), createdAt: 2 }),
        pairDto({
          id: 'p3',
          localPath: '/home/ann/Pictures',
          state: 'incomplete',
          stateDetail: pairDetail({ code: 'quota', notSynced: { count: 12, byCode: { quota: 10, unreadable: 2 } } }),
          lastFullScanAt: Date.now() - 5 * 60_000,
          lastChangeAt: Date.now() - 2 * 3600_000,
          createdAt: 3,
        }),
        pairDto({ id: 'p4', localPath: '/home/ann/Music', state: 'remote-missing', stateDetail: pairDetail({ code: 'remote-missing' }), createdAt: 4 }),
      ],
      issues: [syncIssue({ pairId: 'p3' }), syncIssue({ pairId: 'p3', relPath: 'private/key.jpg', code: 'unreadable' })],
    },
    'zh-CN',
  );
  try {
    await page.locator('li.transfer[data-id="t1"]').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    await waitForText(page, 'li[data-id="t1"] .transfer-state', '上传中');
    await waitForText(page, 'li[data-id="t1"] .transfer-eta', '剩余 3 秒');
    await waitForText(page, 'li[data-id="t2"] .transfer-error', '存储空间不足');
    await page.getByRole('button', { name: '重试 报税表-2025.pdf' }).waitFor({ state: 'visible' });
    const screens: Array<[string, string, string]> = [
      ['queue', '传输', '.queue-screen'],
      ['history', '历史', 'li.history-entry'],
      ['conflicts', '冲突', 'li.conflict'],
      ['pairs', '同步文件夹', 'li.pair'],
      ['settings', '设置', 'form.settings-form'],
    ];
    for (const [name, label, ready] of screens) {
      await page.getByRole('button', { name: new RegExp(`^${label}`) }).click();
      await page.locator(ready).first().waitFor({ state: 'visible' });
      const shot = screenshotPath(`${name}-zh.png`);
      await page.screenshot({ path: shot });
      t.diagnostic(`screenshot: ${shot}`);
    }
    await waitForText(page, 'li.pair[data-id="p2"] .pair-state', '等待你的确认');
    // the sync folders in Chinese: files not backed up (worded from the codes) and their list, a folder gone on the
    // server, the paths a mirror switch would trash, how fresh each pair is
    await page.getByRole('button', { name: /^同步文件夹/ }).click();
    await waitForText(page, 'li.pair[data-id="p3"] .pair-state', '有文件未备份');
    await waitForText(page, 'li.pair[data-id="p3"] .pair-notsynced-text', '12 个文件未备份：存储空间已满（10）、无法读取（2）');
    await waitForText(page, 'li.pair[data-id="p3"] .pair-scan', '上次完整扫描：5分钟前 · 上次变化：2小时前');
    await page.locator('li.pair[data-id="p3"]').getByRole('button', { name: '显示这些文件' }).click();
    await waitForText(page, 'li.pair[data-id="p3"] .pair-issue[data-code="unreadable"] .pair-issue-why', '无法读取');
    await waitForText(page, 'li.pair[data-id="p4"] .pair-detail', '服务器上的文件夹已不存在；本地没有删除任何文件。');
    await waitForText(page, 'li.pair[data-id="p2"] .pair-detail', '已改为镜像：备份期间在本地删除的 2 个文件将移到服务器的回收站。');
    assert.deepEqual(await page.locator('li.pair[data-id="p2"] .pair-held li').allTextContents(), ['旧报告.docx', 'notes/todo.md']);
    const pairsText = (await page.locator('.pairs-screen').innerText()).replace(/\/home\/ann\/\S+|cloudreve:\/\/\S+|\S+\.(CR3|jpg|md|docx)/g, '');
    assert.doesNotMatch(pairsText, /[A-Za-z]{4,}/, `no English on the sync folders screen: ${pairsText}`);
    let shot = screenshotPath('pairs-issues-zh.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    // the conflicts screen in Chinese: the reason from its code (not the engine's English sentence), the three choices
    await page.getByRole('button', { name: /^冲突/ }).click();
    await waitForText(page, 'li.conflict[data-id="1"] .conflict-reason', '自上次上传以来，本地和服务器上都修改过');
    await page.getByRole('button', { name: '保留我的 Budget/2026.xlsx 版本' }).waitFor();
    await page.getByRole('button', { name: '保留 Budget/2026.xlsx 的两个版本' }).waitFor();
    assert.equal(await page.getByRole('button', { name: '保留服务器上的 Budget/2026.xlsx 版本' }).getAttribute('title'), '将随双向同步提供：在此之前 Cloudreve Sync 只上传，无法把服务器上的版本下载下来。');
    const conflictsText = (await page.locator('.conflicts-screen').innerText()).replace(/Cloudreve Sync|cloudreve:\/\/[^\n]+|Budget\/2026\.xlsx/g, '');
    assert.doesNotMatch(conflictsText, /[A-Za-z]{4,}/, `no English on the conflicts screen: ${conflictsText}`);
    // no English left on the settings screen (apart from names and addresses)
    const text = await page.locator('.settings-screen').innerText();
    assert.doesNotMatch(text.replace(/Cloudreve Sync|Cloudreve|KB\/s|cloudreve:\/\/\S+|English|\.gitignore|0\.1\.0|cloudreve-sync ui/g, ''), /[A-Za-z]{4,}/);
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.getByRole('form', { name: '登录' }).waitFor({ state: 'visible' });
    shot = screenshotPath('login-zh.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
