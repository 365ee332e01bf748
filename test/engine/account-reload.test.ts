/**
 * The engine holding a home takes a login another process stores there (`cloudreve-sync login` while `run`, `ui` or the
 * app runs): by itself when credentials.json changes (a stat poll), or when asked (reloadAccount, what `login` sends
 * through the control socket). Its own token refreshes, written to the same file, change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { credentialsPath, saveAccount } from '../../main/engine/api/credentials.js';
import { createEngine } from '../../main/engine/index.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What `cloudreve-sync login` does: a password login, stored in the home (no engine). */
async function loginElsewhere(emu: Emulator, home: string): Promise<string> {
  const c = new CloudreveClient({ baseUrl: emu.url, clientId: 'other-process' });
  try {
    const { user, token } = await c.login(emu.email, emu.password);
    saveAccount(home, { server: emu.url, email: emu.email, userId: user.id, nickname: user.nickname, serverVersion: '4.18.0', tokens: token });
    return token.refresh_token;
  } finally {
    c.close();
  }
}

/** Revokes the stored login's refresh chain on the server (as the site's "sign out everywhere" would). */
async function revokeStored(emu: Emulator, home: string): Promise<void> {
  const { tokens } = JSON.parse(readFileSync(credentialsPath(home), 'utf8')) as { tokens: { refresh_token: string } };
  const r = await fetch(`${emu.url}/api/v4/session/token`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: tokens.refresh_token }) });
  assert.equal(r.status, 200);
}

test('a login stored by another process replaces a revoked one without a restart; own refreshes change nothing', async () => {
  const emu = await startEmulator();
  emu.tune({ accessTtl: 2 }); // access tokens die fast: the engine must refresh, which fails once the chain is revoked
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  const engine = await createEngine({ home });
  const changes: boolean[] = [];
  engine.events.on('account-changed', ({ loggedIn }) => changes.push(loggedIn));
  try {
    await engine.login(emu.url, emu.email, emu.password);
    changes.length = 0;
    await engine.listRemoteFolders('cloudreve://my/');
    // its own refreshes (written to credentials.json, seen by its own watch) are not a new login
    await sleep(2500);
    await engine.listRemoteFolders('cloudreve://my/');
    await sleep(2500);
    assert.equal(await engine.reloadAccount(), false, 'the stored login is the one in use');
    assert.deepEqual(changes, []);

    await revokeStored(emu, home);
    await sleep(2200);
    await assert.rejects(engine.listRemoteFolders('cloudreve://my/'), { code: 'login-required' });

    // `cloudreve-sync login` in another process: the engine notices by itself (no reloadAccount call)
    await loginElsewhere(emu, home);
    let ok = false;
    for (let i = 0; i < 40 && !ok; i++) {
      await sleep(250);
      ok = await engine.listRemoteFolders('cloudreve://my/').then(() => true, () => false);
    }
    assert.ok(ok, 'the new login was taken within 10 s');
    assert.deepEqual(changes, [true]);

    // asked directly (what `login` sends through the control socket): taken at once
    await revokeStored(emu, home);
    await sleep(2200);
    await assert.rejects(engine.listRemoteFolders('cloudreve://my/'), { code: 'login-required' });
    await loginElsewhere(emu, home);
    const taken = await engine.reloadAccount();
    // the stat poll may have been first: either way the new login is in use now
    assert.ok(taken || changes.length === 2, 'taken once');
    await engine.listRemoteFolders('cloudreve://my/');
    assert.deepEqual(changes, [true, true]);
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});

test('nothing stored, or a record this host cannot use, is not taken; a first login is', async () => {
  const emu = await startEmulator();
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  const engine = await createEngine({ home });
  try {
    assert.equal(await engine.reloadAccount(), false, 'nothing stored');
    // a record whose tokens are sealed by the desktop app: not usable here, not taken
    saveAccount(home, { server: emu.url, email: emu.email, userId: 'u', nickname: '', serverVersion: '4.18.0', tokens: null, sealedTokens: { by: 'electron-safeStorage', data: 'x' } });
    assert.equal(await engine.reloadAccount(), false);
    assert.equal(engine.account(), null);
    await loginElsewhere(emu, home);
    assert.equal(await engine.reloadAccount(), true, 'a login where there was none');
    assert.equal(engine.account()?.email, emu.email);
    await engine.listRemoteFolders('cloudreve://my/');
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
