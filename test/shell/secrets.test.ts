/**
 * The desktop app's token storage: the safeStorage codec (main/shell/secrets.ts) and the engine's credential seam
 * (CredentialCodec in engine/api/credentials.ts, used by AccountSession) against the emulator.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AccountSession } from '../../main/engine/account.js';
import { credentialsPath, DESKTOP_SEALED_MESSAGE, openClient } from '../../main/engine/api/credentials.js';
import { createSafeStorageCodec, insecureReason, plainStorageQuestion, type SafeStorageLike } from '../../main/shell/secrets.js';
import { startEmulator } from '../emulator/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

/** A stand-in for Electron's safeStorage: XOR with a per-instance key (another instance = another OS user/keychain). */
function fakeSafeStorage(opts: { available?: boolean; backend?: string } = {}): SafeStorageLike & { key: number } {
  const key = 1 + Math.floor(Math.random() * 200);
  const xor = (b: Buffer) => Buffer.from(b.map((x) => x ^ key));
  return {
    key,
    isEncryptionAvailable: () => opts.available ?? true,
    getSelectedStorageBackend: () => opts.backend ?? 'gnome_libsecret',
    encryptString: (s) => Buffer.concat([Buffer.from('v10'), xor(Buffer.from(s))]),
    decryptString: (b) => {
      if (b.subarray(0, 3).toString() !== 'v10') throw new Error('not ours');
      const s = xor(b.subarray(3)).toString();
      if (!s.startsWith('{')) throw new Error('wrong key');
      return s;
    },
  };
}

test('insecureReason: keychain available, none, or Linux basic_text', () => {
  assert.equal(insecureReason(fakeSafeStorage(), 'linux'), null);
  assert.equal(insecureReason(fakeSafeStorage(), 'darwin'), null);
  assert.match(insecureReason(fakeSafeStorage({ available: false }), 'win32') ?? '', /no secure storage/);
  assert.match(insecureReason(fakeSafeStorage({ backend: 'basic_text' }), 'linux') ?? '', /No keyring/);
  assert.equal(insecureReason(fakeSafeStorage({ backend: 'basic_text' }), 'darwin'), null, 'the backend only matters on Linux');
});

test('codec: sealed with a keychain; without one the user is asked once; refused = this session only', async () => {
  const sealed = await createSafeStorageCodec({ safeStorage: fakeSafeStorage(), platform: 'linux', askPlainStorage: async () => assert.fail('not asked') }).seal('{"a":1}');
  assert.equal(sealed.store, 'sealed');

  let asked = 0;
  const refuse = createSafeStorageCodec({ safeStorage: fakeSafeStorage({ backend: 'basic_text' }), platform: 'linux', askPlainStorage: async () => (asked++, false) });
  assert.deepEqual(await refuse.seal('{}'), { store: 'memory' });
  assert.deepEqual(await refuse.seal('{}'), { store: 'memory' });
  assert.equal(asked, 1, 'asked once per run');
  const agree = createSafeStorageCodec({ safeStorage: fakeSafeStorage({ available: false }), platform: 'win32', askPlainStorage: async () => true });
  assert.deepEqual(await agree.seal('{}'), { store: 'plain' });
  const broken = createSafeStorageCodec({ safeStorage: fakeSafeStorage({ available: false }), platform: 'win32', askPlainStorage: async () => Promise.reject(new Error('no dialog')) });
  assert.deepEqual(await broken.seal('{}'), { store: 'memory' }, 'no answer = not stored');
  const q = plainStorageQuestion('why');
  assert.match(q.detail, /^why/);
  assert.equal(q.buttons.length, 2);
});

test('the app\'s login is sealed on disk, opens again in the app, and not in the CLI or with another keychain', async () => {
  const emu = await startEmulator();
  const d = tmpDir();
  try {
    const storage = fakeSafeStorage();
    const codec = createSafeStorageCodec({ safeStorage: storage, platform: 'linux', askPlainStorage: async () => assert.fail('not asked') });
    const a = await AccountSession.open(d.path, 'client-1', undefined, codec);
    await a.login(emu.url, emu.email, emu.password);
    const text = readFileSync(credentialsPath(d.path), 'utf8');
    const onDisk = JSON.parse(text);
    assert.equal(onDisk.tokens, null);
    assert.equal(onDisk.sealedTokens.by, 'electron-safeStorage');
    assert.ok(!text.includes(a.requireClient().tokens()!.refresh_token), 'the refresh token is not on disk in clear');

    // the app again: signed in, and a refresh is written back sealed
    const again = await AccountSession.open(d.path, 'client-1', undefined, codec);
    assert.equal(again.loggedIn, true);
    await again.requireClient().refresh();
    await new Promise((r) => setTimeout(r, 50));
    const after = JSON.parse(readFileSync(credentialsPath(d.path), 'utf8'));
    assert.equal(after.tokens, null);
    assert.notEqual(after.sealedTokens.data, onDisk.sealedTokens.data);

    // another keychain (another OS user, a reset keyring): not a login, nothing crashes
    const other = createSafeStorageCodec({ safeStorage: fakeSafeStorage(), platform: 'linux', askPlainStorage: async () => false });
    assert.equal((await AccountSession.open(d.path, 'client-1', undefined, other)).loggedIn, false);
    // the CLI (no codec): a clear message
    assert.equal((await AccountSession.open(d.path, 'client-1')).loggedIn, false);
    await assert.rejects(openClient(d.path), (err: Error) => err.message === DESKTOP_SEALED_MESSAGE);

    // signing in with the CLI afterwards replaces it with a plain record the app can read too
    const cli = await AccountSession.open(d.path, 'client-1');
    await cli.login(emu.url, emu.email, emu.password);
    assert.ok(JSON.parse(readFileSync(credentialsPath(d.path), 'utf8')).tokens.refresh_token);
    assert.equal((await AccountSession.open(d.path, 'client-1', undefined, codec)).loggedIn, true);
  } finally {
    d.cleanup();
    await emu.close();
  }
});
