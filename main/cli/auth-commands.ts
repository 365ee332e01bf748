/**
 * login, logout, whoami, ls — the account half of `cloudreve-sync`.
 * The HTTP client (got) and the settings store (conf) are imported when a command runs, not when the CLI
 * starts: `--help`, `--version` and usage errors never load them (see account()).
 */
import { spawn } from 'node:child_process';
import type { ReadStream } from 'node:tty';
import type { FileResponse } from '../engine/api/types.js';
import { toUri } from '../engine/api/uri.js';
import { formatBytes } from './format.js';
import { EngineError } from '../engine/errors.js';
import { UsageError, type CliContext, type CommandSpec, type ParsedArgs } from './command.js';
import { openClient } from './home.js';
import { readAll } from './shared.js';

/** What the account commands need from the engine, loaded on first use. */
async function account() {
  const [{ CloudreveClient }, { clearAccount, loadAccount, saveAccount }, { normalizeBaseUrl }, { openConfig }] = await Promise.all([
    import('../engine/api/client.js'),
    import('../engine/api/credentials.js'),
    import('../engine/api/http.js'),
    import('../engine/config.js'),
  ]);
  return { CloudreveClient, clearAccount, loadAccount, saveAccount, normalizeBaseUrl, openConfig };
}

function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  if (Array.isArray(v)) return v[v.length - 1];
  return typeof v === 'string' ? v : undefined;
}

function noPositionals(args: ParsedArgs, max = 0): void {
  if (args.positionals.length > max) throw new UsageError(`unexpected argument: ${args.positionals[max]}`);
}

function stdinIsTTY(ctx: CliContext): boolean {
  return (ctx.stdin as Partial<ReadStream>).isTTY === true && typeof (ctx.stdin as Partial<ReadStream>).setRawMode === 'function';
}

/** Prompts on stderr and reads one line from a TTY without echo. */
export function promptHidden(ctx: CliContext, question: string): Promise<string> {
  const input = ctx.stdin as ReadStream;
  ctx.stderr.write(question);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (err: Error | null) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      ctx.stderr.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new EngineError('cancelled', 'cancelled'));
        if (ch === '\u0004') return finish(buf ? null : new EngineError('cancelled', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    input.on('data', onData);
  });
}

async function readPassword(ctx: CliContext, args: ParsedArgs): Promise<string> {
  let pw: string;
  if (args.flags['password-stdin'] === true) {
    pw = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
  } else if (ctx.env.CLOUDREVE_PASSWORD !== undefined && ctx.env.CLOUDREVE_PASSWORD !== '') {
    pw = ctx.env.CLOUDREVE_PASSWORD;
  } else if (stdinIsTTY(ctx)) {
    pw = await promptHidden(ctx, 'Password: ');
  } else {
    throw new UsageError('no password: use --password-stdin, set CLOUDREVE_PASSWORD, or run in a terminal');
  }
  if (pw === '') throw new UsageError('the password is empty');
  return pw;
}

const login: CommandSpec = {
  summary: 'sign in to a Cloudreve v4 server (password, or --browser) and remember the login',
  usage: 'login --server URL (--email EMAIL [--password-stdin] [--otp CODE] | --browser [--client-id ID] [--port N])',
  flags: {
    server: { type: 'string', value: 'URL', help: 'the Cloudreve site, e.g. https://cloud.example.com' },
    email: { type: 'string', value: 'EMAIL', help: 'the account\'s email address' },
    'password-stdin': { type: 'boolean', help: 'read the password from standard input (else $CLOUDREVE_PASSWORD, else a prompt)' },
    otp: { type: 'string', value: 'CODE', help: 'the two-factor code, when the account has two-factor sign-in' },
    browser: { type: 'boolean', help: 'sign in through the browser (OAuth; Cloudreve 4.12+; for passkey or external logins)' },
    'client-id': { type: 'string', value: 'ID', help: 'with --browser: the OAuth app id the admin registered (else the oauth.clientId setting)' },
    port: { type: 'string', value: 'N', help: 'with --browser: the loopback port of the registered redirect URI (else oauth.redirectPort, 47821)' },
  },
  async run(ctx, args) {
    noPositionals(args);
    const serverFlag = str(args, 'server');
    const email = str(args, 'email');
    if (!serverFlag) throw new UsageError('--server URL is required');
    if (args.flags.browser === true) return loginWithBrowser(ctx, args, serverFlag);
    if (!email) throw new UsageError('--email EMAIL is required (or sign in with --browser)');
    const { CloudreveClient, normalizeBaseUrl, openConfig, saveAccount } = await account();
    let server: string;
    try {
      server = normalizeBaseUrl(serverFlag);
    } catch (err) {
      throw new UsageError(`--server: ${(err as Error).message}`);
    }
    const password = await readPassword(ctx, args);
    const settings = openConfig(ctx.home);
    const timeouts = settings.get('timeouts');
    const { version } = await CloudreveClient.detect(server, { timeouts });
    const clientId = settings.get('clientId');
    const client = new CloudreveClient({ baseUrl: server, clientId, version, timeouts });
    try {
      let result;
      try {
        result = await client.login(email, password);
      } catch (err) {
        if (!(err instanceof EngineError) || err.code !== 'otp-required') throw err;
        const sessionId = (err.data as { sessionId: string }).sessionId;
        let otp = str(args, 'otp');
        if (!otp && stdinIsTTY(ctx)) otp = await promptHidden(ctx, 'Two-factor code: ');
        if (!otp) throw new EngineError('otp-required', 'two-factor code required: pass --otp');
        result = await client.login2fa(sessionId, otp.trim());
      }
      const { user, token } = result;
      saveAccount(ctx.home, {
        server,
        email: user.email ?? email,
        userId: user.id,
        nickname: user.nickname,
        serverVersion: version,
        tokens: token,
      });
      ctx.stdout.write(`Logged in to ${server} (Cloudreve ${version}) as ${user.email ?? email}${user.nickname ? ` (${user.nickname})` : ''}\n`);
      await tellRunningEngine(ctx);
      return 0;
    } finally {
      client.close();
    }
  },
};

/**
 * `login --browser`: prints the URL (and opens it when a desktop is there), waits for the browser to come back to the
 * loopback listener, stores the account like a password login. The app's secret comes from the `oauth.clientSecret`
 * setting or $CLOUDREVE_OAUTH_CLIENT_SECRET (never a flag: flags show in the process list).
 */
async function loginWithBrowser(ctx: CliContext, args: ParsedArgs, serverFlag: string): Promise<number> {
  if (str(args, 'email') !== undefined || args.flags['password-stdin'] === true || str(args, 'otp') !== undefined) {
    throw new UsageError('--browser signs in on the site itself: leave out --email, --password-stdin and --otp');
  }
  const portFlag = str(args, 'port');
  if (portFlag !== undefined && !/^\d{1,5}$/.test(portFlag)) throw new UsageError(`--port must be a port number, not ${portFlag}`);
  const [{ normalizeBaseUrl, openConfig, saveAccount }, oauth] = await Promise.all([account(), import('../engine/api/oauth.js')]);
  let server: string;
  try {
    server = normalizeBaseUrl(serverFlag);
  } catch (err) {
    throw new UsageError(`--server: ${(err as Error).message}`);
  }
  const settings = openConfig(ctx.home);
  const stored = settings.get('oauth');
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const r = await oauth.loginWithBrowser({
      server,
      installationId: settings.get('clientId'),
      clientId: str(args, 'client-id') ?? stored.clientId,
      clientSecret: ctx.env.CLOUDREVE_OAUTH_CLIENT_SECRET || stored.clientSecret,
      redirectPort: portFlag !== undefined ? Number(portFlag) : stored.redirectPort,
      timeouts: settings.get('timeouts'),
      signal: abort.signal,
      onUrl: (url) => {
        ctx.stdout.write(`Open this address in a browser to sign in to ${server}:\n${url}\n`);
        if (openInBrowser(url, ctx.env)) ctx.stdout.write('(opened in your browser)\n');
        ctx.stdout.write('Waiting for the browser to come back (5 minutes; Ctrl-C cancels)…\n');
      },
    });
    const email = r.user.email ?? '';
    saveAccount(ctx.home, { server: r.server, email, userId: r.user.id, nickname: r.user.nickname, serverVersion: r.version, tokens: r.token });
    ctx.stdout.write(`Logged in to ${r.server} (Cloudreve ${r.version}) as ${email || r.user.id}${r.user.nickname ? ` (${r.user.nickname})` : ''} through the browser\n`);
    await tellRunningEngine(ctx);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * A process running the engine on this home (`run`, `ui`, the app) takes the login just stored at once, through its
 * control socket: transfers and pairs that were waiting for a login go on without a restart. (It would also notice
 * the changed credentials.json by itself within seconds; this makes it immediate and says so.) Bounded: 10 s.
 */
async function tellRunningEngine(ctx: CliContext): Promise<void> {
  const { connectControl } = await import('../bridge/control-socket.js');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 10_000);
    timer.unref?.();
  });
  try {
    const told = await Promise.race([
      (async () => {
        const control = await connectControl(ctx.home, { onRefused: (why) => ctx.stderr.write(`warning: ${why}\n`) });
        if (!control) return 'none' as const;
        const r = await control.invoke('reloadAccount');
        return r.ok ? ('taken' as const) : r.error.message;
      })(),
      timeout,
    ]);
    if (told === 'taken') ctx.stdout.write('The cloudreve-sync process running on this home (run, ui or the app) uses this login now\n');
    else if (told === 'timeout') ctx.stderr.write('warning: the cloudreve-sync process running on this home did not answer; it takes the new login by itself within seconds\n');
    else if (told !== 'none') ctx.stderr.write(`warning: the cloudreve-sync process running on this home did not take the new login: ${told}\n`);
  } catch (err) {
    ctx.stderr.write(`warning: could not tell the cloudreve-sync process running on this home about the new login (${err instanceof Error ? err.message : String(err)}); it takes it by itself within seconds\n`);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens `url` with the desktop's opener when there is a desktop; false when there is none (or it failed to start). */
function openInBrowser(url: string, env: NodeJS.ProcessEnv): boolean {
  const platform = process.platform;
  if (env.CLOUDREVE_SYNC_NO_BROWSER) return false;
  if (platform !== 'darwin' && platform !== 'win32' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return false;
  const [cmd, argv] =
    platform === 'darwin' ? ['open', [url]] : platform === 'win32' ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, argv, { stdio: 'ignore', detached: true, windowsHide: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

const logout: CommandSpec = {
  summary: 'sign out (revokes the login on the server when it is reachable) and forget it',
  usage: 'logout',
  flags: {},
  async run(ctx, args) {
    noPositionals(args);
    const { CloudreveClient, clearAccount, loadAccount, openConfig } = await account();
    const rec = loadAccount(ctx.home);
    if (!rec) {
      ctx.stdout.write('Not logged in\n');
      return 0;
    }
    if (rec.tokens) {
      const settings = openConfig(ctx.home);
      const client = new CloudreveClient({
        baseUrl: rec.server,
        clientId: settings.get('clientId'),
        tokens: rec.tokens,
        version: rec.serverVersion || undefined,
        timeouts: settings.get('timeouts'),
      });
      try {
        await client.logout();
      } finally {
        client.close();
      }
    }
    clearAccount(ctx.home);
    ctx.stdout.write(`Logged out of ${rec.server} (${rec.email})\n`);
    return 0;
  },
};

const whoami: CommandSpec = {
  summary: 'show the signed-in account, the server and the storage used',
  usage: 'whoami [--json]',
  flags: { json: { type: 'boolean', help: 'print JSON instead of text' } },
  async run(ctx, args) {
    noPositionals(args);
    const client = await openClient(ctx.home);
    const { loadAccount, saveAccount } = await import('../engine/api/credentials.js');
    try {
      const [user, cap] = await Promise.all([client.me(), client.capacity()]);
      const rec = loadAccount(ctx.home);
      const info = {
        email: user.email ?? rec?.email ?? '',
        nickname: user.nickname,
        userId: user.id,
        server: client.baseUrl,
        version: client.serverVersion() ?? rec?.serverVersion ?? '',
        capacity: { used: cap.used, total: cap.total },
      };
      if (rec && (rec.nickname !== user.nickname || rec.userId !== user.id)) {
        saveAccount(ctx.home, { ...rec, nickname: user.nickname, userId: user.id });
      }
      if (args.flags.json === true) {
        ctx.stdout.write(JSON.stringify(info) + '\n');
      } else {
        const pct = cap.total > 0 ? ` (${((cap.used / cap.total) * 100).toFixed(1)}%)` : '';
        ctx.stdout.write(
          [
            `email:    ${info.email}`,
            `nickname: ${info.nickname}`,
            `server:   ${info.server}`,
            `version:  ${info.version}`,
            `storage:  ${formatBytes(cap.used)} of ${formatBytes(cap.total)} used${pct}`,
          ].join('\n') + '\n',
        );
      }
      return 0;
    } finally {
      client.close();
    }
  },
};

function lsLine(f: FileResponse, sizeWidth: number): string {
  const kind = f.type === 1 ? 'dir ' : 'file';
  const size = f.type === 1 ? '-' : String(f.size);
  const uploading = f.metadata && typeof f.metadata === 'object' && 'sys:upload_session_id' in f.metadata ? '  (uploading)' : '';
  return `${kind}  ${size.padStart(sizeWidth)}  ${f.updated_at}  ${f.name}${f.type === 1 ? '/' : ''}${uploading}`;
}

const ls: CommandSpec = {
  summary: 'list a remote folder (default cloudreve://my; plain paths are under cloudreve://my)',
  usage: 'ls [URI|PATH] [--json]',
  flags: { json: { type: 'boolean', help: 'print JSON instead of text' } },
  async run(ctx, args) {
    noPositionals(args, 1);
    const uri = toUri(args.positionals[0] ?? '');
    const client = await openClient(ctx.home);
    try {
      if (args.flags.json === true) {
        const all = await client.listAll(uri);
        ctx.stdout.write(JSON.stringify(all) + '\n');
        return 0;
      }
      // Print page by page: a huge folder starts showing at once and never sits in memory whole.
      const WIDTH = 12;
      for await (const f of client.list(uri)) ctx.stdout.write(lsLine(f, WIDTH) + '\n');
      return 0;
    } finally {
      client.close();
    }
  },
};

export const authCommands: Record<string, CommandSpec> = { login, logout, whoami, ls };
