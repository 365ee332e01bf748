/**
 * `cloudreve-sync login --browser` against the emulator: the CLI prints the authorize URL, the test plays the browser
 * (the emulator's sign-in-and-consent form, then the 302 to the loopback listener), and the CLI says who signed in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../../main/cli.js';
import { Sink, cli } from '../helpers/cli-run.js';
import { startEmulator } from '../emulator/index.js';
import { reservablePort } from '../engine/api/helpers.js';

const CLIENT = 'c7d6f1e0-1b2a-4c3d-8e9f-0a1b2c3d4e5f';
const SECRET = 'cli-secret-5678';
const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'UserInfo.Read', 'Files.Write', 'Shares.Write'];

/** The browser: the emulator's authorize page form, allow, follow the redirect. */
async function playBrowser(url: string, email: string, password: string): Promise<void> {
  const form = new URLSearchParams(new URL(url).searchParams);
  form.set('email', email);
  form.set('password', password);
  form.set('decision', 'allow');
  const r = await fetch(new URL('/session/authorize', url), { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(r.status, 302);
  await (await fetch(r.headers.get('location')!)).text();
}

test('login --browser: prints the URL, waits, says who signed in; whoami then works', async () => {
  const port = await reservablePort();
  const emu = await startEmulator({ oauthClients: [{ id: CLIENT, secret: SECRET, redirectUris: [`http://127.0.0.1:${port}/callback`], scopes: SCOPES }] });
  const home = mkdtempSync(join(tmpdir(), 'cr-cli-oauth-'));
  try {
    const stdout = new Sink();
    const stderr = new Sink();
    let played: Promise<void> | null = null;
    const origWrite = stdout._write.bind(stdout);
    stdout._write = (chunk, enc, cb) => {
      const m = /^(http:\/\/\S+\/session\/authorize\?\S+)$/m.exec(chunk.toString());
      if (m && !played) played = playBrowser(m[1], emu.email, emu.password);
      origWrite(chunk, enc, cb);
    };
    const code = await runCli(['login', '--browser', '--server', emu.url, '--client-id', CLIENT, '--port', String(port), '--home', home], {
      stdin: Readable.from([]),
      stdout,
      stderr,
      env: { PATH: process.env.PATH, HOME: '/nonexistent-home', CLOUDREVE_OAUTH_CLIENT_SECRET: SECRET },
      isTTY: false,
    });
    assert.equal(code, 0, stderr.text);
    await played;
    assert.match(stdout.text, /^Open this address in a browser to sign in to http:\/\/127\.0\.0\.1:\d+:\n/);
    assert.ok(!stdout.text.includes('opened in your browser'), 'no desktop here: nothing is opened');
    assert.match(stdout.text, new RegExp(`Logged in to ${emu.url.replace(/\./g, '\\.')} \\(Cloudreve 4\\.18\\.0\\) as ${emu.email} .*through the browser\\n$`));
    assert.ok(!stdout.text.includes(SECRET));
    const stored = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
    assert.equal(stored.email, emu.email);
    const who = await cli(['whoami', '--json', '--home', home]);
    assert.equal(who.code, 0, who.err);
    assert.equal(JSON.parse(who.out).email, emu.email);
  } finally {
    rmSync(home, { recursive: true, force: true });
    await emu.close();
  }
});

test('login --browser: usage errors, no app configured, an old server', async () => {
  const emu = await startEmulator({ version: '4.11.2' });
  const home = mkdtempSync(join(tmpdir(), 'cr-cli-oauth-'));
  try {
    let r = await cli(['login', '--browser', '--server', emu.url, '--email', 'a@b.c', '--home', home]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--browser signs in on the site itself/);
    r = await cli(['login', '--browser', '--server', emu.url, '--port', 'abc', '--home', home]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--port must be a port number/);
    r = await cli(['login', '--browser', '--server', emu.url, '--home', home]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /needs the client id of an OAuth app registered on the server/);
    r = await cli(['login', '--browser', '--server', emu.url, '--client-id', CLIENT, '--home', home], { env: { CLOUDREVE_OAUTH_CLIENT_SECRET: SECRET } });
    assert.notEqual(r.code, 0);
    assert.match(r.err, /this server has no browser sign-in \(needs Cloudreve 4\.12\.0\+\)/);
  } finally {
    rmSync(home, { recursive: true, force: true });
    await emu.close();
  }
});

test('a login the desktop app sealed with the OS keychain: the CLI says so instead of "not logged in"', async () => {
  const home = mkdtempSync(join(tmpdir(), 'cr-cli-oauth-'));
  try {
    mkdirSync(home, { recursive: true });
    writeFileSync(
      join(home, 'credentials.json'),
      JSON.stringify({ server: 'http://127.0.0.1:9', email: 'a@b.c', userId: 'x', nickname: 'n', serverVersion: '4.18.0', tokens: null, sealedTokens: { by: 'electron-safeStorage', data: 'AAAA' } }),
      { mode: 0o600 },
    );
    const r = await cli(['whoami', '--home', home]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /signed in through the desktop app.*sign in here too with `cloudreve-sync login`, or use the app/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
