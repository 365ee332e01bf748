/**
 * `cloudreve-sync login | logout | whoami | ls` end to end against the emulator: runCli() in-process for
 * most cases, a real child process for the entry point (process.exit codes, --home, env).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandTable, EXIT, runCli } from '../../main/cli.js';
import { cli, Sink, type Run } from '../helpers/cli-run.js';
import { transferCommands } from '../../main/cli/transfer-commands.js';
import { authCommands } from '../../main/cli/auth-commands.js';
import { defaultHome, resolveHome } from '../../main/engine/home-folder.js';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { startEmulator, totp, type Emulator } from '../emulator/index.js';
import { refusedPort, sendJson, sendText, startServer } from '../engine/api/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The real entry point in a child process (async: the emulator lives in this process). */
function spawnCli(argv: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main/cli.ts'), ...argv], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: '/nonexistent-home', ...opts.env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.stdin.end(opts.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err });
    });
  });
}

function oneLine(r: Run): void {
  assert.equal(r.err.trim().split('\n').length, 1, `one line on stderr: ${JSON.stringify(r.err)}`);
}

function tmp(): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cr-cli-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('account commands against the emulator', () => {
  let emu: Emulator;
  let t: ReturnType<typeof tmp>;
  let home: string;
  before(async () => {
    emu = await startEmulator({ quota: 10 * 1024 * 1024 });
    t = tmp();
    home = join(t.dir, 'home');
  });
  after(async () => {
    await emu.close();
    t.done();
  });

  test('login with --password-stdin, then whoami (text and --json), ls, logout', async () => {
    const login = await cli(['--home', home, 'login', '--server', emu.url + '/', '--email', emu.email, '--password-stdin'], { stdin: emu.password + '\n' });
    assert.equal(login.code, 0, login.err);
    assert.match(login.out, new RegExp(`Logged in to ${emu.url} \\(Cloudreve 4\\.18\\.0\\) as ${emu.email}`));
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, 'credentials.json')).mode & 0o777, 0o600);
    const rec = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
    assert.equal(rec.server, emu.url);
    assert.equal(rec.serverVersion, '4.18.0');
    assert.ok(!login.out.includes(emu.password) && !login.err.includes(emu.password));

    const who = await cli(['--home', home, 'whoami']);
    assert.equal(who.code, 0, who.err);
    assert.match(who.out, new RegExp(`email: +${emu.email}`));
    assert.match(who.out, /nickname: +\S+/);
    assert.match(who.out, new RegExp(`server: +${emu.url}`));
    assert.match(who.out, /version: +4\.18\.0/);
    assert.match(who.out, /storage: +0 B of 10\.0 MiB used/);
    const whoJson = await cli(['whoami', '--json', '--home', home]);
    assert.equal(whoJson.code, 0, whoJson.err);
    const j = JSON.parse(whoJson.out);
    assert.deepEqual(
      { email: j.email, server: j.server, version: j.version, total: j.capacity.total, used: j.capacity.used },
      { email: emu.email, server: emu.url, version: '4.18.0', total: 10 * 1024 * 1024, used: 0 },
    );
    for (const r of [login, who, whoJson]) assert.ok(!r.out.includes(rec.tokens.access_token) && !r.out.includes(rec.tokens.refresh_token));

    // ls: default root, relative paths, full URIs, --json
    const c = new CloudreveClient({ baseUrl: emu.url, clientId: '0f0e0d0c-0b0a-4908-8706-050403020100', tokens: rec.tokens, version: '4.18.0' });
    await c.createFolder('cloudreve://my/docs/sub dir');
    await c.putContent('cloudreve://my/docs/a b.txt', Buffer.from('hello'), 5);
    c.close();
    const root = await cli(['--home', home, 'ls']);
    assert.equal(root.code, 0, root.err);
    assert.match(root.out, /^dir +- +\S+ +docs\/$/m);
    const docs = await cli(['--home', home, 'ls', 'docs']);
    assert.equal(docs.code, 0, docs.err);
    const lines = docs.out.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^dir +- +\d{4}-\d\d-\d\dT\S+ +sub dir\/$/);
    assert.match(lines[1], /^file +5 +\d{4}-\d\d-\d\dT\S+ +a b\.txt$/);
    const same = await cli(['--home', home, 'ls', 'cloudreve://my/docs/']);
    assert.equal(same.out, docs.out);
    const slash = await cli(['--home', home, 'ls', '/docs/']);
    assert.equal(slash.out, docs.out);
    const lsJson = await cli(['--home', home, 'ls', '--json', 'docs']);
    assert.equal(lsJson.code, 0);
    const arr = JSON.parse(lsJson.out) as Array<{ name: string; type: number; size: number; path: string }>;
    assert.deepEqual(arr.map((f) => [f.name, f.type, f.size]), [
      ['sub dir', 1, 0],
      ['a b.txt', 0, 5],
    ]);
    const missing = await cli(['--home', home, 'ls', 'docs/nope']);
    assert.equal(missing.code, EXIT.FAILED);
    oneLine(missing);
    assert.match(missing.err, /cloudreve:\/\/my\/docs\/nope.*Path not exist \(code 40016\)/);

    const out = await cli(['--home', home, 'logout']);
    assert.equal(out.code, 0, out.err);
    assert.match(out.out, /Logged out of/);
    assert.throws(() => statSync(join(home, 'credentials.json')));
    // the server revoked the chain: the old refresh token no longer works
    const d = new CloudreveClient({ baseUrl: emu.url, clientId: '0f0e0d0c-0b0a-4908-8706-050403020100', tokens: rec.tokens });
    await assert.rejects(d.refresh(), (e: Error & { code?: string }) => e.code === 'login-required');
    d.close();
    const again = await cli(['--home', home, 'logout']);
    assert.equal(again.code, 0);
    assert.match(again.out, /Not logged in/);
    const who2 = await cli(['--home', home, 'whoami']);
    assert.equal(who2.code, EXIT.LOGIN);
    oneLine(who2);
    assert.match(who2.err, /not logged in.*cloudreve-sync login/);
    const ls2 = await cli(['--home', home, 'ls']);
    assert.equal(ls2.code, EXIT.LOGIN);
  });

  test('ls follows every page (2,100 entries)', async () => {
    const h = join(t.dir, 'many');
    assert.equal((await cli(['--home', h, 'login', '--server', emu.url, '--email', emu.email], { env: { CLOUDREVE_PASSWORD: emu.password } })).code, 0);
    const rec = JSON.parse(readFileSync(join(h, 'credentials.json'), 'utf8'));
    const c = new CloudreveClient({ baseUrl: emu.url, clientId: '0f0e0d0c-0b0a-4908-8706-050403020100', tokens: rec.tokens, version: '4.18.0' });
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 2100) {
          const i = next++;
          await c.createFolder(`cloudreve://my/lots/f${String(i).padStart(4, '0')}`);
        }
      }),
    );
    c.close();
    const r = await cli(['--home', h, 'ls', 'lots']);
    assert.equal(r.code, 0, r.err);
    const names = r.out.trim().split('\n').map((l) => l.split(/\s+/).pop());
    assert.equal(names.length, 2100);
    assert.equal(new Set(names).size, 2100);
    const rj = await cli(['--home', h, 'ls', 'lots', '--json']);
    assert.equal(JSON.parse(rj.out).length, 2100);
  });

  test('wrong password → non-zero, one line, no password echoed', async () => {
    const h = join(t.dir, 'wrong');
    const r = await cli(['--home', h, 'login', '--server', emu.url, '--email', emu.email, '--password-stdin'], { stdin: 'Wr0ng-Secret-Pw\n' });
    assert.equal(r.code, EXIT.FAILED);
    oneLine(r);
    assert.match(r.err, /^cloudreve-sync login: login failed: wrong email or password$/m);
    assert.ok(!r.err.includes('Wr0ng-Secret-Pw'));
    assert.throws(() => statSync(join(h, 'credentials.json')));
  });

  test('password sources: stdin wins over env; no source and no TTY → usage error', async () => {
    const h = join(t.dir, 'pwsrc');
    const viaStdin = await cli(['--home', h, 'login', '--server', emu.url, '--email', emu.email, '--password-stdin'], {
      stdin: emu.password,
      env: { CLOUDREVE_PASSWORD: 'wrong-one' },
    });
    assert.equal(viaStdin.code, 0, viaStdin.err);
    const none = await cli(['--home', h, 'login', '--server', emu.url, '--email', emu.email]);
    assert.equal(none.code, EXIT.USAGE);
    oneLine(none);
    assert.match(none.err, /no password: use --password-stdin, set CLOUDREVE_PASSWORD, or run in a terminal/);
  });

  test('on a terminal: password and two-factor code are prompted without echo', async () => {
    const secret = 'JBSWY3DPEHPK3PXP';
    const emu2 = await startEmulator({ users: [{ email: 'tty@example.com', password: 'tty-password', totpSecret: secret }] });
    const h = join(t.dir, 'tty');
    try {
      const { PassThrough } = await import('node:stream');
      const stdin = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[] });
      (stdin as unknown as { setRawMode(on: boolean): unknown }).setRawMode = (on: boolean) => {
        stdin.rawModes.push(on);
        return stdin;
      };
      const stdout = new Sink();
      const stderr = new Sink();
      const run = runCli(['--home', h, 'login', '--server', emu2.url, '--email', 'tty@example.com'], {
        stdin,
        stdout,
        stderr,
        env: { PATH: process.env.PATH },
        isTTY: true,
      });
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 200 && !re.test(stderr.text); i++) await new Promise((r) => setTimeout(r, 25));
        assert.match(stderr.text, re);
      };
      await waitFor(/Password: /);
      stdin.write('tty-passwordX\u007f\r'); // typo fixed with backspace
      await waitFor(/Two-factor code: /);
      stdin.write(totp(secret) + '\n');
      const code = await run;
      assert.equal(code, 0, stderr.text);
      assert.match(stdout.text, /as tty@example\.com/);
      assert.ok(!stderr.text.includes('tty-password') && !stdout.text.includes('tty-password'), 'no echo');
      assert.deepEqual(stdin.rawModes, [true, false, true, false]);
    } finally {
      await emu2.close();
    }
  });

  test('usage errors → exit 2 with one line', async () => {
    const h = join(t.dir, 'usage');
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['--bogus', 'whoami'], /unknown option --bogus/],
      [['login', '--email', 'a@b.c'], /--server URL is required/],
      [['login', '--server', emu.url], /--email EMAIL is required/],
      [['login', '--server', 'ftp://x', '--email', 'a@b.c'], /--server: server address must start with http/],
      [['ls', '--wat'], /unknown option --wat/],
      [['ls', 'a', 'b'], /unexpected argument: b/],
      [['whoami', 'extra'], /unexpected argument: extra/],
      [['whoami', '--json=yes'], /json/],
      [['help', 'nope'], /unknown command "nope"/],
    ];
    for (const [argv, re] of cases) {
      const r = await cli(['--home', h, ...argv]);
      assert.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: ${r.err}`);
      oneLine(r);
      assert.match(r.err, re, argv.join(' '));
    }
    const bare = await cli([]);
    assert.equal(bare.code, EXIT.USAGE);
    assert.match(bare.err, /Usage: cloudreve-sync/);
  });

  test('help and version; transfer commands are dispatched from the same table', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    for (const name of [...Object.keys(authCommands), ...Object.keys(transferCommands)]) assert.match(help.out, new RegExp(`^  ${name} `, 'm'));
    const v = await cli(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.out, /^cloudreve-sync \d+\.\d+\.\d+\n$/);
    const lh = await cli(['login', '--help']);
    assert.equal(lh.code, 0);
    assert.match(lh.out, /--password-stdin/);
    const h2 = await cli(['help', 'ls']);
    assert.match(h2.out, /Usage: cloudreve-sync \[--home DIR\] ls/);
    const table = commandTable();
    for (const [name, spec] of Object.entries(transferCommands)) {
      assert.equal(table[name], spec);
      const r = await cli([name, '--help']);
      assert.equal(r.code, 0, name);
      assert.ok(r.out.includes(spec.usage), name);
    }
  });

  test('two-factor: no --otp → "two-factor code required: pass --otp"; with --otp → logged in', async () => {
    const secret = 'JBSWY3DPEHPK3PXP';
    const emu2 = await startEmulator({ users: [{ email: 'two@example.com', password: 'two-factor-pw', totpSecret: secret }] });
    const h = join(t.dir, 'otp');
    try {
      const base = ['--home', h, 'login', '--server', emu2.url, '--email', 'two@example.com'];
      const env = { CLOUDREVE_PASSWORD: 'two-factor-pw' };
      const no = await cli(base, { env });
      assert.notEqual(no.code, 0);
      oneLine(no);
      assert.match(no.err, /two-factor code required: pass --otp/);
      const bad = await cli([...base, '--otp', totp(secret) === '123456' ? '654321' : '123456'], { env });
      assert.equal(bad.code, EXIT.FAILED);
      assert.match(bad.err, /wrong two-factor code/);
      const ok = await cli([...base, '--otp', totp(secret)], { env });
      assert.equal(ok.code, 0, ok.err);
      assert.match(ok.out, /as two@example\.com/);
      const who = await cli(['--home', h, 'whoami', '--json']);
      assert.equal(JSON.parse(who.out).email, 'two@example.com');
    } finally {
      await emu2.close();
    }
  });

  test('a revoked/expired login → whoami exits 4 (login required)', async () => {
    const emu3 = await startEmulator({ accessTtl: 1, refreshTtl: 2 });
    const h = join(t.dir, 'expired');
    try {
      assert.equal((await cli(['--home', h, 'login', '--server', emu3.url, '--email', emu3.email], { env: { CLOUDREVE_PASSWORD: emu3.password } })).code, 0);
      await new Promise((r) => setTimeout(r, 2100));
      const who = await cli(['--home', h, 'whoami']);
      assert.equal(who.code, EXIT.LOGIN);
      oneLine(who);
      assert.match(who.err, /expired.*log in again/);
    } finally {
      await emu3.close();
    }
  });
});

describe('servers that are not what we need', () => {
  test('unreachable, v3, not Cloudreve, HTML proxy → exit 3 with a one-line reason', async () => {
    const t = tmp();
    const h = join(t.dir, 'h');
    const env = { CLOUDREVE_PASSWORD: 'whatever-pw' };
    try {
      const port = await refusedPort();
      const r1 = await cli(['--home', h, 'login', '--server', `http://127.0.0.1:${port}`, '--email', 'a@b.c'], { env });
      assert.equal(r1.code, EXIT.FAILED);
      oneLine(r1);
      assert.match(r1.err, new RegExp(`cannot reach 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));

      const v3 = await startServer((req, res) => {
        if (req.url === '/api/v3/site/ping') return sendJson(res, { code: 0, data: '3.8.3', msg: '' });
        sendText(res, '404 page not found', 404);
      });
      const r2 = await cli(['--home', h, 'login', '--server', v3.url, '--email', 'a@b.c'], { env });
      await v3.close();
      assert.equal(r2.code, EXIT.FAILED);
      oneLine(r2);
      assert.match(r2.err, /Cloudreve 3\.x is not supported/);

      const web = await startServer((_req, res) => sendText(res, '<!DOCTYPE html>\n<html>\n<body>Hello</body>\n</html>', 200, 'text/html'));
      const r3 = await cli(['--home', h, 'login', '--server', web.url, '--email', 'a@b.c'], { env });
      await web.close();
      assert.equal(r3.code, EXIT.FAILED);
      oneLine(r3);
      assert.match(r3.err, /does not look like a Cloudreve v4 server/);
      assert.equal(v3.seen.filter((s) => s.path === '/api/v4/session/token').length, 0, 'no password sent to a v3 server');
      for (const r of [r1, r2, r3]) assert.ok(!r.err.includes('whatever-pw'));
    } finally {
      t.done();
    }
  });
});

describe('the real entry point', () => {
  let emu: Emulator;
  let t: ReturnType<typeof tmp>;
  before(async () => {
    emu = await startEmulator({});
    t = tmp();
  });
  after(async () => {
    await emu.close();
    t.done();
  });

  test('exit codes through process.exit; --home and CLOUDREVE_SYNC_HOME', async () => {
    const h = join(t.dir, 'spawned');
    const login = await spawnCli(['login', '--server', emu.url, '--email', emu.email, '--password-stdin'], {
      stdin: emu.password + '\n',
      env: { CLOUDREVE_SYNC_HOME: h },
    });
    assert.equal(login.code, 0, login.err);
    assert.equal(statSync(join(h, 'credentials.json')).mode & 0o777, 0o600);
    const who = await spawnCli(['--home', h, 'whoami', '--json']);
    assert.equal(who.code, 0, who.err);
    assert.equal(JSON.parse(who.out).email, emu.email);
    const bad = await spawnCli(['--home', h, 'nope']);
    assert.equal(bad.code, 2);
    assert.equal(bad.err.trim().split('\n').length, 1);
    const elsewhere = await spawnCli(['whoami'], { env: { XDG_CONFIG_HOME: join(t.dir, 'xdg') } });
    assert.equal(elsewhere.code, 4, elsewhere.err);
    assert.ok(statSync(join(t.dir, 'xdg', 'cloudreve-sync')).isDirectory());
  });

  test('home resolution order', () => {
    assert.equal(resolveHome('/x/y', { CLOUDREVE_SYNC_HOME: '/a' }), '/x/y');
    assert.equal(resolveHome(undefined, { CLOUDREVE_SYNC_HOME: '/a', XDG_CONFIG_HOME: '/b' }), '/a');
    assert.equal(resolveHome(undefined, { XDG_CONFIG_HOME: '/b' }), '/b/cloudreve-sync');
    assert.equal(defaultHome({ HOME: '/home/u' }, 'linux'), '/home/u/.config/cloudreve-sync');
  });
});
