/**
 * Sign-in through the browser (main/engine/api/oauth.ts) against the emulator's OAuth endpoints (test/emulator/oauth.ts).
 * The "browser" is plain HTTP: it signs in to the site with a password (as a user of the web app would be), consents
 * through POST /api/v4/session/oauth/consent as the web app does, and follows the redirect to the loopback listener.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { AccountSession } from '../../../main/engine/account.js';
import { credentialsPath, openClient } from '../../../main/engine/api/credentials.js';
import { createPkce, exchangeCode, pkceChallenge, redirectUriFor } from '../../../main/engine/api/oauth.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { tmpDir } from '../../helpers/tmp-tree.js';
import { reservablePort } from './helpers.js';

const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'UserInfo.Read', 'Files.Write', 'Shares.Write'];
const SECRET = 'app-secret-1234';
const CLIENT = '0f7c6a52-8a0c-4d9a-9d77-54d0d2bb7a11';

async function setup(version?: string): Promise<{ emu: Emulator; port: number; cleanup: () => Promise<void> }> {
  const port = await reservablePort();
  const emu = await startEmulator({ version, oauthClients: [{ id: CLIENT, secret: SECRET, redirectUris: [redirectUriFor(port)], scopes: SCOPES }] });
  return { emu, port, cleanup: () => emu.close() };
}

/** The web app's part: a signed-in user consents; returns where the browser is sent next. */
async function consent(emu: Emulator, authorizeUrl: string, override: Record<string, string> = {}): Promise<URL> {
  const q = new URL(authorizeUrl).searchParams;
  const login = (await (await fetch(`${emu.url}/api/v4/session/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: emu.email, password: emu.password }),
  })).json()) as { data: { token: { access_token: string } } };
  const body = Object.fromEntries(['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'].map((k) => [k, q.get(k) ?? '']));
  const res = (await (await fetch(`${emu.url}/api/v4/session/oauth/consent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${login.data.token.access_token}` },
    body: JSON.stringify({ ...body, ...override }),
  })).json()) as { code: number; data: { code: string; state: string }; msg: string };
  assert.equal(res.code, 0, res.msg);
  const back = new URL(q.get('redirect_uri')!);
  back.searchParams.set('code', res.data.code);
  back.searchParams.set('state', res.data.state);
  return back;
}

test('browser sign-in: authorize URL, consent, loopback redirect, token exchange; stored like a password login and refreshable', async () => {
  const { emu, port, cleanup } = await setup();
  const d = tmpDir();
  try {
    const a = await AccountSession.open(d.path, '11111111-2222-4333-8444-555555555555');
    let url = '';
    let landing: { status: number; text: string } | null = null;
    const info = await a.loginWithBrowser({
      server: emu.url,
      clientId: CLIENT,
      clientSecret: SECRET,
      redirectPort: port,
      onUrl: (u) => {
        url = u;
        void (async () => {
          const back = await consent(emu, u);
          const r = await fetch(back);
          landing = { status: r.status, text: await r.text() };
        })();
      },
    });
    const q = new URL(url).searchParams;
    assert.equal(new URL(url).pathname, '/session/authorize');
    assert.equal(q.get('client_id'), CLIENT);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('redirect_uri'), `http://127.0.0.1:${port}/callback`);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok((q.get('state') ?? '').length >= 32);
    assert.deepEqual(q.get('scope')?.split(' '), SCOPES);

    assert.equal(info.email, emu.email);
    assert.equal(info.server, emu.url);
    assert.equal(info.serverVersion, '4.18.0');
    await a.requireClient().capacity(); // signed in
    for (let i = 0; i < 50 && !landing; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(landing!.status, 200);
    assert.match(landing!.text, /Signed in/);

    // stored exactly like a password login: a plain token pair with absolute expiries, usable by the CLI
    const stored = JSON.parse(readFileSync(credentialsPath(d.path), 'utf8'));
    assert.equal(stored.email, emu.email);
    assert.ok(Date.parse(stored.tokens.access_expires) > Date.now() + 3000_000);
    assert.ok(Date.parse(stored.tokens.refresh_expires) > Date.now() + 86400_000);
    const cli = await openClient(d.path);
    const before = cli.tokens()!.refresh_token;
    // JWT times are whole seconds (spec §11.6): a refresh within the same second would issue the very same token
    await new Promise((r) => setTimeout(r, 1100));
    await cli.refresh(); // the normal refresh endpoint
    assert.notEqual(cli.tokens()!.refresh_token, before);
    await cli.me();
    cli.close();
  } finally {
    d.cleanup();
    await cleanup();
  }
});

test('browser sign-in through the emulator\'s authorize page (a form, then a 302 to the loopback listener)', async () => {
  const { emu, port, cleanup } = await setup();
  const d = tmpDir();
  try {
    const a = await AccountSession.open(d.path, '11111111-2222-4333-8444-555555555555');
    const info = await a.loginWithBrowser({
      server: emu.url,
      clientId: CLIENT,
      clientSecret: SECRET,
      redirectPort: port,
      onUrl: (u) => {
        void (async () => {
          const page = await fetch(u);
          assert.equal(page.status, 200);
          const form = new URLSearchParams();
          for (const [k, v] of new URL(u).searchParams) form.set(k, v);
          form.set('email', emu.email);
          form.set('password', emu.password);
          form.set('decision', 'allow');
          const r = await fetch(new URL('/session/authorize', emu.url), { method: 'POST', body: form, redirect: 'manual' });
          assert.equal(r.status, 302);
          await (await fetch(r.headers.get('location')!)).text();
        })();
      },
    });
    assert.equal(info.email, emu.email);
  } finally {
    d.cleanup();
    await cleanup();
  }
});

test('a redirect carrying another state is ignored (an error page), the wait goes on, and the right one then signs in', async () => {
  const { emu, port, cleanup } = await setup();
  const d = tmpDir();
  try {
    const a = await AccountSession.open(d.path, '11111111-2222-4333-8444-555555555555');
    const forged: { status: number; text: string }[] = [];
    let right = 0;
    const info = await a.loginWithBrowser({
      server: emu.url,
      clientId: CLIENT,
      clientSecret: SECRET,
      redirectPort: port,
      timeoutMs: 60_000,
      onUrl: (u) => {
        void (async () => {
          // a page of another site makes the browser hit the loopback redirect: another state, no state, an error
          for (const back of [
            await consent(emu, u, { state: 'forged-state' }),
            new URL(`http://127.0.0.1:${port}/callback?code=abc`),
            new URL(`http://127.0.0.1:${port}/callback?error=access_denied&state=forged-state`),
          ]) {
            const r = await fetch(back);
            forged.push({ status: r.status, text: await r.text() });
          }
          assert.equal(a.loggedIn, false, 'nothing is stored for a forged callback');
          right = (await fetch(await consent(emu, u))).status;
        })();
      },
    });
    assert.equal(info.email, emu.email);
    assert.equal(forged.length, 3);
    for (const f of forged) {
      assert.equal(f.status, 400);
      assert.match(f.text, /does not belong to the sign-in/);
    }
    for (let i = 0; i < 50 && right === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(right, 200);
    assert.equal(JSON.parse(readFileSync(credentialsPath(d.path), 'utf8')).email, emu.email);
  } finally {
    d.cleanup();
    await cleanup();
  }
});

test('only forged callbacks: the wait ends at the timeout, nothing is stored', async () => {
  const { emu, port, cleanup } = await setup();
  const d = tmpDir();
  try {
    const a = await AccountSession.open(d.path, '11111111-2222-4333-8444-555555555555');
    let status = 0;
    const started = Date.now();
    await assert.rejects(
      a.loginWithBrowser({
        server: emu.url,
        clientId: CLIENT,
        clientSecret: SECRET,
        redirectPort: port,
        timeoutMs: 1500,
        onUrl: (u) => {
          void (async () => {
            status = (await fetch(await consent(emu, u, { state: 'forged-state' }))).status;
          })();
        },
      }),
      (err: Error & { code?: string }) => err.code === 'timeout',
    );
    assert.ok(Date.now() - started >= 1400, 'the forged callback did not end the wait');
    assert.equal(status, 400);
    assert.equal(a.loggedIn, false);
    assert.throws(() => readFileSync(credentialsPath(d.path)), { code: 'ENOENT' });
  } finally {
    d.cleanup();
    await cleanup();
  }
});

test('token exchange: a code works once; a wrong verifier or secret is refused (HTTP 400, 40020)', async () => {
  const { emu, port, cleanup } = await setup();
  try {
    const issue = async (challenge: string) => {
      const u = new URL(`${emu.url}/session/authorize`);
      for (const [k, v] of Object.entries({
        client_id: CLIENT,
        response_type: 'code',
        redirect_uri: redirectUriFor(port),
        scope: SCOPES.join(' '),
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }))
        u.searchParams.set(k, v);
      return (await consent(emu, u.href)).searchParams.get('code')!;
    };
    const pkce = createPkce();
    assert.equal(pkce.challenge, pkceChallenge(pkce.verifier));
    assert.match(pkce.verifier, /^[A-Za-z0-9_-]{43}$/);
    const code = await issue(pkce.challenge);
    const base = { site: emu.url, clientId: CLIENT, clientSecret: SECRET, code, verifier: pkce.verifier };
    const now = Date.now();
    const pair = await exchangeCode({ ...base, now: () => now });
    assert.ok(Math.abs(Date.parse(pair.access_expires) - (now + 3600_000)) <= 2000);
    assert.ok(Math.abs(Date.parse(pair.refresh_expires) - (now + 1209600_000)) <= 2000);

    await assert.rejects(exchangeCode(base), (err: Error & { code?: string; serverCode?: number; httpStatus?: number }) => {
      assert.equal(err.code, 'login-required');
      assert.equal(err.serverCode, 40020);
      assert.equal(err.httpStatus, 400);
      assert.match(err.message, /Invalid or expired authorization code/);
      assert.ok(!err.message.includes(code), 'the code never appears in a message');
      return true;
    });

    const code2 = await issue(pkce.challenge);
    await assert.rejects(exchangeCode({ ...base, code: code2, verifier: createPkce().verifier }), /Invalid code verifier/);
    // the code is gone after the failed attempt too (single use)
    await assert.rejects(exchangeCode({ ...base, code: code2 }), /Invalid or expired authorization code/);

    const code3 = await issue(pkce.challenge);
    await assert.rejects(exchangeCode({ ...base, code: code3, clientSecret: 'not-the-secret' }), (err: Error) => {
      assert.match(err.message, /Invalid client secret/);
      assert.ok(!err.message.includes('not-the-secret'));
      return true;
    });
  } finally {
    await cleanup();
  }
});

test('a server before 4.12 has no browser sign-in: a clear error, and no listener is opened', async () => {
  const { emu, port, cleanup } = await setup('4.11.0');
  const d = tmpDir();
  try {
    const a = await AccountSession.open(d.path, '11111111-2222-4333-8444-555555555555');
    let opened = false;
    await assert.rejects(
      a.loginWithBrowser({ server: emu.url, clientId: CLIENT, clientSecret: SECRET, redirectPort: port, onUrl: () => (opened = true) }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'unsupported-feature');
        assert.match(err.message, /runs Cloudreve 4\.11\.0: this server has no browser sign-in \(needs Cloudreve 4\.12\.0\+\)/);
        return true;
      },
    );
    assert.equal(opened, false);
    // the old server answers the OAuth routes like any unknown path
    const r = await fetch(`${emu.url}/api/v4/session/oauth/token`, { method: 'POST' });
    assert.equal(r.status, 404);
    assert.equal(await r.text(), '404 page not found');
  } finally {
    d.cleanup();
    await cleanup();
  }
});

test('no app configured, or the port taken: clear errors before anything is opened', async () => {
  const { emu, port, cleanup } = await setup();
  const d = tmpDir();
  const blocker = createServer();
  try {
    const a = await AccountSession.open(d.path, '11111111-2222-4333-8444-555555555555');
    await assert.rejects(
      a.loginWithBrowser({ server: emu.url, clientId: '', clientSecret: '', redirectPort: port, onUrl: () => assert.fail('no URL') }),
      (err: Error & { code?: string }) => err.code === 'usage' && /client id of an OAuth app registered on the server/.test(err.message) && err.message.includes(redirectUriFor(port)),
    );
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    await assert.rejects(
      a.loginWithBrowser({ server: emu.url, clientId: CLIENT, clientSecret: SECRET, redirectPort: port, onUrl: () => assert.fail('no URL') }),
      /the port is in use/,
    );
  } finally {
    blocker.close();
    d.cleanup();
    await cleanup();
  }
});
