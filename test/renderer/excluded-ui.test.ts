/**
 * The pair editor's Folders to sync in a real browser (renderer-page.ts's fake bridge): the pair's remote folders
 * as tick boxes, listed lazily; unticking one and ticking one inside an excluded folder save the list with
 * setExcludedFolders; nothing is saved when the ticks did not change. Skips when /usr/bin/chromium is absent.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { PairDto } from '../../main/ipc/contract.js';
import { CHROMIUM, fakeSetup, gotoWithFake, launchChromium, serveRenderer, type RendererServer } from './renderer-page.js';

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium): renderer UI test skipped`;
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

const pair: PairDto = {
  id: 'p1', localPath: '/home/ann/Photos', remoteUri: 'cloudreve://my/Photos/', mode: 'two-way', ignore: [], excludeRemote: ['raw'],
  paused: false, state: 'idle', stateDetail: null, lastScanAt: null, lastFullScanAt: null, lastChangeAt: null, confirmMirror: false, createdAt: 1,
};

test('the pair editor: folders to sync as tick boxes, saved with setExcludedFolders', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 960, height: 700 }, locale: 'en-US' });
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  try {
    await gotoWithFake(page, server.baseUrl, fakeSetup({
      pairs: [{ ...pair }],
      remote: { 'cloudreve://my/Photos/': ['2024', 'raw', 'video'], 'cloudreve://my/Photos/raw/': ['cr3', 'dng'] },
    }));
    await page.getByRole('button', { name: /^Sync folders/ }).click();
    await page.locator('li.pair[data-id="p1"] .pair-excluded').getByText('Not synced: raw').waitFor();
    await page.getByRole('button', { name: 'Edit /home/ann/Photos' }).click();
    const dialog = page.locator('dialog.dialog');
    const box = (rel: string) => dialog.getByLabel(`Sync the folder ${rel}`, { exact: true });
    await box('video').waitFor();
    assert.equal(await box('2024').isChecked(), true);
    assert.equal(await box('raw').isChecked(), false);
    await box('video').uncheck();
    await dialog.getByRole('button', { name: 'Open raw' }).click();
    await box('raw/dng').check(); // inside the excluded raw: raw comes back, its other listed folder stays out
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.waitForFunction(() =>
      (window as unknown as { __calls: Array<[string, unknown[]]> }).__calls.some((c) => c[0] === 'setExcludedFolders'),
    );
    const calls = await page.evaluate(() => (window as unknown as { __calls: Array<[string, unknown[]]> }).__calls);
    assert.deepEqual(calls.filter(([n]) => n === 'setExcludedFolders').map(([, a]) => a), [['p1', ['raw/cr3', 'video']]]);
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
