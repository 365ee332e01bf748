/** The account part of the engine (main/engine/account.ts) against the emulator: login, what is stored, logout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { AccountSession } from '../../main/engine/account.js';
import { credentialsPath } from '../../main/engine/api/credentials.js';
import { startEmulator } from '../emulator/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

test('no stored account: not logged in, and the key and the client say login-required', async () => {
  const d = tmpDir();
  try {
    const a = await AccountSession.open(d.path, 'client-1');
    assert.equal(a.loggedIn, false);
    assert.equal(a.info(), null);
    assert.throws(() => a.key(), { code: 'login-required' });
    assert.throws(() => a.requireClient(), { code: 'login-required' });
  } finally {
    d.cleanup();
  }
});

test('login stores the account (a new session of the same home finds it); logout forgets it', async () => {
  const emu = await startEmulator();
  const d = tmpDir();
  try {
    const a = await AccountSession.open(d.path, 'client-1');
    const info = await a.login(emu.url, emu.email, emu.password);
    assert.equal(info.email, emu.email);
    assert.equal(a.loggedIn, true);
    assert.equal(a.key(), `${info.server}|${info.userId}`);
    assert.ok(existsSync(credentialsPath(d.path)));
    await a.requireClient().capacity(); // the client is signed in

    const again = await AccountSession.open(d.path, 'client-1');
    assert.deepEqual(again.info(), info);
    await again.requireClient().capacity();

    await again.logout();
    assert.equal(again.loggedIn, false);
    assert.equal(existsSync(credentialsPath(d.path)), false);
    assert.equal((await AccountSession.open(d.path, 'client-1')).info(), null);
  } finally {
    await emu.close();
    d.cleanup();
  }
});

test('a wrong password is refused and nothing is stored', async () => {
  const emu = await startEmulator();
  const d = tmpDir();
  try {
    const a = await AccountSession.open(d.path, 'client-1');
    await assert.rejects(a.login(emu.url, emu.email, 'wrong-password'), { code: 'invalid-password' });
    assert.equal(a.loggedIn, false);
    assert.equal(existsSync(credentialsPath(d.path)), false);
  } finally {
    await emu.close();
    d.cleanup();
  }
});
