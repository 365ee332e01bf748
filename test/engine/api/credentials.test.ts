import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearAccount, credentialsPath, loadAccount, openClient, saveAccount, type AccountRecord } from '../../../main/engine/api/credentials.js';
import { clientIdFor, installationId, openConfig } from '../../../main/engine/config.js';
import { EngineError } from '../../../main/engine/errors.js';
import { startEmulator } from '../../emulator/index.js';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { sleep, tokenPair } from './helpers.js';

function tmpHome(): { home: string; done(): void } {
  const root = mkdtempSync(join(tmpdir(), 'cr-cred-'));
  return { home: join(root, 'home'), done: () => rmSync(root, { recursive: true, force: true }) };
}

const REC: AccountRecord = {
  server: 'http://127.0.0.1:5212',
  email: 'a@b.c',
  userId: 'lUpa',
  nickname: 'alice',
  serverVersion: '4.18.0',
  tokens: tokenPair(3600, 86400),
};

test('save/load/clear: atomic, 0600 file in a 0700 dir, no temp files left', () => {
  const t = tmpHome();
  try {
    assert.equal(loadAccount(t.home), null);
    saveAccount(t.home, REC);
    assert.equal(statSync(t.home).mode & 0o777, 0o700);
    assert.equal(statSync(credentialsPath(t.home)).mode & 0o777, 0o600);
    assert.deepEqual(loadAccount(t.home), REC);
    saveAccount(t.home, { ...REC, nickname: 'bob', tokens: null });
    assert.deepEqual(loadAccount(t.home), { ...REC, nickname: 'bob', tokens: null });
    assert.deepEqual(readdirSync(t.home), ['credentials.json']);
    assert.equal(statSync(credentialsPath(t.home)).mode & 0o777, 0o600);
    clearAccount(t.home);
    clearAccount(t.home);
    assert.equal(loadAccount(t.home), null);
  } finally {
    t.done();
  }
});

test('a damaged credentials file is a clear local-io error without its content', () => {
  const t = tmpHome();
  try {
    saveAccount(t.home, REC);
    writeFileSync(credentialsPath(t.home), '{"server": "x", "tokens": {"access_token": "eyJsecret');
    assert.throws(
      () => loadAccount(t.home),
      (e: EngineError) => e.code === 'local-io' && /damaged/.test(e.message) && !e.message.includes('eyJsecret'),
    );
  } finally {
    t.done();
  }
});

test('config: one stable client id per installation, defaults, 0600', () => {
  const t = tmpHome();
  try {
    const id = clientIdFor(t.home);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(clientIdFor(t.home), id);
    assert.equal(installationId(t.home), id);
    const conf = openConfig(t.home);
    assert.equal(conf.get('clientId'), id);
    assert.equal(conf.get('maxActiveFiles'), 3);
    assert.deepEqual(conf.get('timeouts'), { connectMs: 10_000, responseMs: 30_000, idleMs: 30_000 });
    assert.equal(statSync(join(t.home, 'config.json')).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(join(t.home, 'config.json'), 'utf8')).clientId, id);
    const other = tmpHome();
    try {
      assert.notEqual(clientIdFor(other.home), id);
    } finally {
      other.done();
    }
  } finally {
    t.done();
  }
});

test('openClient: login-required without an account; refreshed tokens are persisted at once', async () => {
  const t = tmpHome();
  const emu = await startEmulator({ accessTtl: 2 });
  try {
    await assert.rejects(openClient(t.home), (e: EngineError) => e.code === 'login-required');
    const boot = new CloudreveClient({ baseUrl: emu.url, clientId: clientIdFor(t.home) });
    const { user, token } = await boot.login(emu.email, emu.password);
    boot.close();
    saveAccount(t.home, { server: emu.url, email: emu.email, userId: user.id, nickname: user.nickname, serverVersion: '4.18.0', tokens: token });
    const c = await openClient(t.home);
    assert.equal(c.serverVersion(), '4.18.0');
    assert.equal(c.baseUrl, emu.url);
    await sleep(1100);
    await c.me(); // refreshes first
    const stored = loadAccount(t.home)!;
    assert.notEqual(stored.tokens!.access_token, token.access_token);
    assert.deepEqual(stored.tokens, c.tokens());
    assert.equal(stored.email, emu.email);
    await c.logout();
    assert.equal(loadAccount(t.home)!.tokens, null);
    await assert.rejects(openClient(t.home), (e: EngineError) => e.code === 'login-required');
    c.close();
  } finally {
    await emu.close();
    t.done();
  }
});
