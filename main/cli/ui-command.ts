/**
 * `cloudreve-sync ui [--port N] [--listen ADDR --password P]` — the desktop app's screens in a browser, for machines
 * without a desktop (a NAS, a server): runs the engine like `run` (interrupted transfers resume, sync pairs run in
 * the background) and serves the bundled renderer with the HTTP bridge (main/bridge/bridge-server.ts), which speaks
 * the app's contract through the same handlers as Electron's IPC.
 *
 * The first line of output is the URL to open (with the per-launch token); everything else goes to stderr.
 * Bound to 127.0.0.1 unless --listen names another address, which also needs a password: --password-stdin or
 * $CLOUDREVE_SYNC_UI_PASSWORD (both stay out of `ps`), or --password P (visible in `ps`: a warning says so). The
 * password is never written anywhere (engine-lock.json names the command with `--password ***`).
 * Runs until Ctrl-C / SIGTERM (exit 0).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, type CliContext, type CommandSpec, type ParsedArgs } from './command.js';
import { interrupted, readAll, withEngine } from './shared.js';

/** dist/renderer of this installation: beside the CLI bundle (dist/cli/…) or under the checkout (main/cli/…). */
export function rendererDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'cloudreve-sync') return join(dir, 'dist', 'renderer');
    } catch {
      // keep looking upward
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the cloudreve-sync package folder (for dist/renderer)');
}

function port(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`--port must be a port number from 0 (any free port) to 65535, not "${text}"`);
  return n;
}

/** The browser's password: --password-stdin, --password P (with a warning) or $CLOUDREVE_SYNC_UI_PASSWORD; else none. */
async function uiPassword(ctx: CliContext, args: ParsedArgs): Promise<string | undefined> {
  const flag = typeof args.flags.password === 'string' ? args.flags.password : undefined;
  if (args.flags['password-stdin'] === true) {
    if (flag !== undefined) throw new UsageError('give the password once: --password or --password-stdin');
    const pw = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
    if (pw === '') throw new UsageError('--password-stdin: the password is empty');
    return pw;
  }
  if (flag !== undefined) {
    ctx.stderr.write('warning: a password given with --password is visible to other users of this machine (`ps`); prefer --password-stdin or $CLOUDREVE_SYNC_UI_PASSWORD\n');
    return flag;
  }
  return ctx.env.CLOUDREVE_SYNC_UI_PASSWORD || undefined;
}

const ui: CommandSpec = {
  summary: 'run the engine and serve the app to a browser (loopback only unless --listen with --password)',
  usage: 'ui [--port N] [--listen ADDR (--password-stdin | --password P)]',
  flags: {
    port: { type: 'string', value: 'N', help: 'port to serve on (default: any free port)' },
    listen: { type: 'string', value: 'ADDR', help: 'address to bind (default 127.0.0.1); anything but loopback needs a password' },
    'password-stdin': { type: 'boolean', help: 'read the password the browser asks for (HTTP Basic) from standard input' },
    password: { type: 'string', value: 'P', help: 'the password on the command line (visible in `ps`: prefer --password-stdin or $CLOUDREVE_SYNC_UI_PASSWORD)' },
  },
  async run(ctx, args) {
    const listen = typeof args.flags.listen === 'string' ? args.flags.listen : '127.0.0.1';
    const password = await uiPassword(ctx, args);
    const portNumber = port(typeof args.flags.port === 'string' ? args.flags.port : undefined);
    const { BridgeConfigError, isLoopbackAddress, startBridgeServer } = await import('../bridge/bridge-server.js');
    if (!isLoopbackAddress(listen) && !password) {
      throw new UsageError(`--listen ${listen} is reachable from other machines: it needs a password (--password-stdin or $CLOUDREVE_SYNC_UI_PASSWORD); to use the UI from elsewhere, an SSH tunnel to the default 127.0.0.1 is safer`);
    }
    const staticDir = rendererDir();
    if (!existsSync(join(staticDir, 'main.js'))) throw new UsageError(`the app's page is not built (${staticDir}): run \`npm run build\``);
    const { startEngineServices } = await import('./engine-services.js');
    return withEngine(
      ctx,
      args,
      async (engine) => {
        const logError = (what: string, err: unknown) => ctx.stderr.write(`${what} failed: ${err instanceof Error ? err.message : String(err)}\n`);
        // handlers push their own events ('browser-login-started': the page shows the sign-in link) to the pages
        let server: Awaited<ReturnType<typeof startBridgeServer>> | undefined;
        const services = await startEngineServices(ctx, engine, { emit: (name, payload) => server?.broadcast(name, payload) });
        try {
          server = await startBridgeServer({ engine, handlers: services.handlers, staticDir, host: listen, port: portNumber, password, onInternalError: logError });
        } catch (err) {
          await services.close();
          if (err instanceof BridgeConfigError) throw new UsageError(err.message);
          throw err;
        }
        ctx.stdout.write(`${server.url}\n`);
        const sig = interrupted();
        try {
          await engine.sync.start();
          const pairs = engine.sync.listPairs().length;
          ctx.stderr.write(`open the address above in a browser on this machine${isLoopbackAddress(listen) ? '' : ' or, with the password, from your network'}; ${pairs} sync pair(s) running; Ctrl-C to stop\n`);
          await sig.promise;
        } finally {
          sig.dispose();
          await server.close();
          await services.close();
          await engine.sync.stop();
        }
        return 0;
      },
      true,
    );
  },
};

export const uiCommands: Record<string, CommandSpec> = { ui };
