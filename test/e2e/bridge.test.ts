/**
 * `cloudreve-sync ui` end to end: the real engine in its own process, the emulator, Debian's chromium. A smoke test
 * of the page over the HTTP bridge, and the bridge's security as a browser and a plain client meet it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openConfig } from '../../main/engine/config.js';
import { tmpDir } from '../helpers/tmp-tree.js';
import { reservablePort } from '../engine/api/helpers.js';
import { CHROMIUM_MISSING, ensureBuilt, startE2E, startUi, stopProcess, type E2E } from './harness.js';

function status(origin: string, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<number> {
  const u = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

describe('cloudreve-sync ui in a browser', { skip: CHROMIUM_MISSING }, () => {
  let e: E2E;
  before(async () => {
    e = await startE2E();
  });
  after(async () => {
    await e?.close();
  });

  test('the token moves from the URL to sessionStorage, off the address bar', { timeout: 120_000 }, async () => {
    assert.ok(e.token.length >= 43);
    await e.page.waitForFunction(() => !location.hash);
    assert.equal(await e.page.evaluate(() => sessionStorage.getItem('cloudreve-sync.token')), e.token);
    const info = await e.page.evaluate(() => window.cloudreve!.invoke.getAppInfo());
    assert.ok(info.ok && info.value.mode === 'browser');
  });

  test('sign in with a wrong password (a clear error), then the right one; upload a file to done', { timeout: 120_000 }, async () => {
    const { page, emulator } = e;
    await page.locator('input[name=server]').fill(emulator.url);
    await page.locator('input[name=email]').fill(emulator.email);
    await page.locator('input[name=password]').fill('not-the-password');
    await page.locator('input[name=password]').press('Enter');
    const alert = page.locator('form [role=alert]:visible').first();
    await alert.waitFor({ state: 'visible' });
    assert.match((await alert.textContent()) ?? '', /password/i);

    await page.locator('input[name=password]').fill(emulator.password);
    await page.locator('input[name=password]').press('Enter');
    await page.locator('input[name=password]').waitFor({ state: 'hidden' });
    const account = await page.evaluate(() => window.cloudreve!.invoke.getAccount());
    assert.ok(account.ok && account.value?.email === emulator.email);

    mkdirSync(e.files, { recursive: true });
    const path = join(e.files, 'from-the-browser.txt');
    writeFileSync(path, 'hello from chromium\n');
    const queued = await page.evaluate((p) => window.cloudreve!.invoke.enqueuePaths([p], 'cloudreve://my/e2e'), path);
    assert.ok(queued.ok, JSON.stringify(queued));
    // the queue shows it, and it reaches done (pushed over the event stream)
    await page.getByText('from-the-browser.txt').first().waitFor();
    const id = queued.ok ? queued.value[0] : '';
    const end = Date.now() + 30_000;
    let state = '';
    while (state !== 'done' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      const r = await page.evaluate(() => window.cloudreve!.invoke.listTransfers());
      state = (r.ok && r.value.find((t) => t.id === id)?.state) || '';
    }
    assert.equal(state, 'done', `the upload did not finish in 30 s; ui log: ${e.log()}`);
    assert.equal(emulator.blob('cloudreve://my/e2e/from-the-browser.txt')?.toString(), 'hello from chromium\n');
    const history = await page.evaluate(() => window.cloudreve!.invoke.listHistory({}));
    assert.ok(history.ok && history.value.some((h) => h.name === 'from-the-browser.txt' && h.state === 'done'));
  });

  test('calls with a wrong or no token are refused (401), from the page and from outside', { timeout: 120_000 }, async () => {
    const fromPage = await e.page.evaluate(async () => {
      const r = await fetch('/api/invoke/getAccount', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Cloudreve-Token': 'wrong' }, body: '[]' });
      return r.status;
    });
    assert.equal(fromPage, 401);
    const host = new URL(e.origin).host;
    assert.equal(await status(e.origin, '/api/invoke/getAccount', { Host: host, 'Content-Type': 'application/json' }, 'POST', '[]'), 401);
    assert.equal(await status(e.origin, '/api/events', { Host: host }), 401);
  });

  test('a foreign Host (DNS rebinding) and a foreign Origin are refused even with the token', { timeout: 120_000 }, async () => {
    const host = new URL(e.origin).host;
    const port = new URL(e.origin).port;
    const call = (headers: Record<string, string>) =>
      status(e.origin, '/api/invoke/getAccount', { 'Content-Type': 'application/json', 'X-Cloudreve-Token': e.token, ...headers }, 'POST', '[]');
    assert.equal(await call({ Host: host }), 200);
    assert.equal(await call({ Host: `rebind.example:${port}` }), 421);
    assert.equal(await call({ Host: host, Origin: 'http://evil.example' }), 403);
    // a page on another origin cannot read our answers: the browser blocks the cross-origin call (no CORS headers)
    const other = await e.context.newPage();
    try {
      await other.goto('about:blank');
      const outcome = await other.evaluate(async ({ origin, token }) => {
        try {
          const r = await fetch(`${origin}/api/invoke/getAccount`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Cloudreve-Token': token }, body: '[]' });
          return `status ${r.status}`;
        } catch (err) {
          return `blocked: ${(err as Error).message}`;
        }
      }, { origin: e.origin, token: e.token });
      assert.match(outcome, /^blocked/);
    } finally {
      await other.close();
    }
  });
});

describe('cloudreve-sync ui: sign-in through the browser', { skip: CHROMIUM_MISSING }, () => {
  let e: E2E;
  const client = { id: '0f9c2b1e-8d7a-4c3b-9e6f-5a4d3c2b1a09', secret: 'e2e-secret', name: 'Cloudreve Sync (e2e)', scopes: ['openid', 'offline_access', 'profile', 'email', 'UserInfo.Read', 'Files.Write', 'Shares.Write'] };
  before(async () => {
    const port = await reservablePort();
    e = await startE2E({
      emulator: { oauthClients: [{ ...client, redirectUris: [`http://127.0.0.1:${port}/callback`] }] },
      prepareHome: (home) => {
        mkdirSync(home, { recursive: true, mode: 0o700 });
        openConfig(home).set('oauth', { clientId: client.id, clientSecret: client.secret, redirectPort: port });
      },
    });
  });
  after(async () => {
    await e?.close();
  });

  test('the page receives the sign-in link (browser-login-started over the event stream); consenting there signs the ui in', { timeout: 120_000 }, async () => {
    const { page, emulator } = e;
    // The page's event stream connects slowly (a busy machine): the sign-in's link is pushed on that stream, so a
    // call made before the stream is live must wait for it, or the link is lost and the page waits for ever.
    await page.route('**/api/events*', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.reload();
    await page.evaluate((server) => {
      const w = window as unknown as { loginUrl: Promise<string>; loginResult: Promise<unknown> };
      w.loginUrl = new Promise((resolve) => window.cloudreve!.on('browser-login-started', ({ url }) => resolve(url)));
      w.loginResult = window.cloudreve!.invoke.loginWithBrowser(server);
    }, emulator.url);
    // the link, or the sign-in's own failure (a port taken, a server refusing) — never a silent wait
    const url = await page.evaluate(() => {
      const w = window as unknown as { loginUrl: Promise<string>; loginResult: Promise<{ ok: boolean }> };
      const late = new Promise<string>((r) => setTimeout(() => r('no link within 30 s'), 30_000));
      return Promise.race([w.loginUrl, w.loginResult.then((r) => `no link; the sign-in ended first: ${JSON.stringify(r)}`), late]);
    });
    assert.ok(url.startsWith(`${emulator.url}/session/authorize?`), url);
    const consent = await e.context.newPage();
    consent.setDefaultTimeout(15_000);
    try {
      await consent.goto(url);
      await consent.locator('input[name=email]').fill(emulator.email);
      await consent.locator('input[name=password]').fill(emulator.password);
      await consent.locator('button[value=allow]').click();
      await consent.waitForURL(/\/callback/);
    } finally {
      await consent.close();
    }
    const result = (await page.evaluate(() =>
      Promise.race([
        (window as unknown as { loginResult: Promise<unknown> }).loginResult,
        new Promise((r) => setTimeout(() => r({ ok: false, error: 'the sign-in did not end within 30 s of the consent' }), 30_000)),
      ]),
    )) as { ok: boolean; value: { email: string } };
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.value.email, emulator.email);
    const account = await page.evaluate(() => window.cloudreve!.invoke.getAccount());
    assert.ok(account.ok && account.value?.email === emulator.email);
  });
});

describe('cloudreve-sync ui on a non-loopback address', () => {
  test('--listen without --password is a usage error and binds nothing', { timeout: 120_000 }, async () => {
    await ensureBuilt();
    const dir = tmpDir();
    try {
      await assert.rejects(startUi(join(dir.path, 'home'), ['--listen', '0.0.0.0'], {}, 30_000), /exited \(2\).*--password/s);
      await assert.rejects(startUi(join(dir.path, 'home'), ['--port', '70000'], {}, 30_000), /exited \(2\).*--port/s);
    } finally {
      dir.cleanup();
    }
  });

  test('with a password it is asked for on every request (checked on 127.0.0.1)', { timeout: 120_000 }, async () => {
    await ensureBuilt();
    const dir = tmpDir();
    const ui = await startUi(join(dir.path, 'home'), ['--port', '0'], { CLOUDREVE_SYNC_UI_PASSWORD: 'correct horse battery' });
    try {
      const u = new URL(ui.url);
      const token = /token=(.+)$/.exec(u.hash)![1];
      const basic = `Basic ${Buffer.from('me:correct horse battery').toString('base64')}`;
      assert.equal(await status(u.origin, '/', { Host: u.host }), 401);
      assert.equal(await status(u.origin, '/', { Host: u.host, Authorization: basic }), 200);
      assert.equal(await status(u.origin, '/api/invoke/getAccount', { Host: u.host, Authorization: basic, 'Content-Type': 'application/json', 'X-Cloudreve-Token': token }, 'POST', '[]'), 200);
    } finally {
      await stopProcess(ui.child);
      dir.cleanup();
    }
  });
});
