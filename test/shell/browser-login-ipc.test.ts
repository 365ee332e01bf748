/**
 * loginWithBrowser through the IPC contract (main/ipc/server.ts) with the real engine and the emulator: the handler
 * pushes 'browser-login-started' with the URL, the desktop shell opens it (openExternal), the "browser" consents on the
 * emulator's authorize page, and the call resolves with the account; the app's `oauth` settings supply the app.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEngine } from '../../main/engine/index.js';
import { openConfig } from '../../main/engine/config.js';
import type { EventMap, EventName, SettingsDto } from '../../main/ipc/contract.js';
import { createHandlers, dispatch, type SettingsPort } from '../../main/ipc/server.js';
import { startEmulator } from '../emulator/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';
import { reservablePort } from '../engine/api/helpers.js';

const CLIENT = '4a9b7e2c-55a1-4c1e-9f0b-7d3e2a1c6b58';
const SECRET = 'desktop-secret-9012';
const settings: SettingsPort = { get: () => ({}) as SettingsDto, update: async () => ({}) as SettingsDto };

test('loginWithBrowser over IPC: event with the URL, opened by the shell, resolves with the account', async () => {
  const port = await reservablePort();
  const emu = await startEmulator({
    oauthClients: [{ id: CLIENT, secret: SECRET, redirectUris: [`http://127.0.0.1:${port}/callback`], scopes: ['openid', 'offline_access', 'profile', 'email', 'UserInfo.Read', 'Files.Write', 'Shares.Write'] }],
  });
  const dir = tmpDir();
  const engine = await createEngine({ home: dir.path });
  try {
    openConfig(dir.path).set('oauth', { clientId: CLIENT, clientSecret: SECRET, redirectPort: port });
    const events: Array<[EventName, unknown]> = [];
    const opened: string[] = [];
    const browser: Promise<void>[] = [];
    const handlers = createHandlers({
      engine,
      settings,
      app: { mode: 'desktop', version: '0.0.0' },
      emit: <K extends EventName>(name: K, payload: EventMap[K]) => void events.push([name, payload]),
      openExternal: (url) => {
        opened.push(url);
        browser.push(
          (async () => {
            const form = new URLSearchParams(new URL(url).searchParams);
            form.set('email', emu.email);
            form.set('password', emu.password);
            form.set('decision', 'allow');
            const r = await fetch(new URL('/session/authorize', url), { method: 'POST', body: form, redirect: 'manual' });
            await (await fetch(r.headers.get('location')!)).text();
          })(),
        );
      },
    });
    const opts = { handlers, isTrustedSender: () => true };
    const trusted = { sender: null, senderFrame: null };

    const bad = await dispatch(opts, 'loginWithBrowser', trusted, ['file:///etc']);
    assert.equal(bad.ok === false && bad.error.code, 'invalid-argument');

    const res = await dispatch(opts, 'loginWithBrowser', trusted, [emu.url]);
    await Promise.all(browser);
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(res.ok && res.value.email, emu.email);
    assert.equal(events.length, 1);
    assert.equal(events[0][0], 'browser-login-started');
    assert.equal((events[0][1] as { url: string }).url, opened[0]);
    assert.match(opened[0], /\/session\/authorize\?client_id=4a9b7e2c/);
    assert.equal(engine.account()?.email, emu.email);

    // the picker answer has nowhere to go without the desktop shell's upload flow
    const noShell = await dispatch(opts, 'resolveDestination', trusted, ['r1', 'cloudreve://my/']);
    assert.equal(noShell.ok === false && noShell.error.code, 'unavailable');
  } finally {
    await engine.close();
    dir.cleanup();
    await emu.close();
  }
});

test('loginWithBrowser over IPC on a server before 4.12: a clear error, no event', async () => {
  const emu = await startEmulator({ version: '4.10.0' });
  const dir = tmpDir();
  const engine = await createEngine({ home: dir.path });
  try {
    openConfig(dir.path).set('oauth', { clientId: CLIENT, clientSecret: SECRET, redirectPort: await reservablePort() });
    const events: unknown[] = [];
    const handlers = createHandlers({ engine, settings, app: { mode: 'browser', version: '0' }, emit: (n, p) => void events.push([n, p]) });
    const res = await dispatch({ handlers, isTrustedSender: () => true }, 'loginWithBrowser', { sender: null, senderFrame: null }, [emu.url]);
    assert.equal(res.ok, false);
    assert.equal(!res.ok && res.error.code, 'unsupported-feature');
    assert.match(!res.ok ? res.error.message : '', /this server has no browser sign-in \(needs Cloudreve 4\.12\.0\+\)/);
    assert.deepEqual(events, []);
  } finally {
    await engine.close();
    dir.cleanup();
    await emu.close();
  }
});
