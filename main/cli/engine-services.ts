/**
 * What a long-running CLI process (`run`, `ui`) offers around its engine: the app's contract handlers (with the settings
 * file the desktop app uses, applied live) and the home's control socket, through which the other CLI commands on the
 * same home reach this engine instead of failing with "busy" (main/bridge/control-socket.ts).
 */
import type { Engine } from '../engine/index.js';
import type { EventSink, Handlers } from '../ipc/server.js';
import type { CliContext } from './command.js';
import { packageVersion } from './shared.js';

export interface EngineServices {
  handlers: Handlers;
  /** where the control socket listens (null when it could not be opened: said on stderr, the process goes on) */
  controlPath: string | null;
  close(): Promise<void>;
}

/** `emit`: where handlers push the events they raise themselves ('browser-login-started'): the ui's pages. */
export async function startEngineServices(ctx: CliContext, engine: Engine, opts: { emit?: EventSink } = {}): Promise<EngineServices> {
  const [{ createHandlers }, { SettingsFile, applyToEngine }, { serveControlSocket }] = await Promise.all([
    import('../ipc/server.js'),
    import('../shell/settings.js'),
    import('../bridge/control-socket.js'),
  ]);
  const logError = (what: string, err: unknown) => ctx.stderr.write(`${what} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  const settings = SettingsFile.open(ctx.home, (next, prev) => applyToEngine(engine, next, prev));
  // 'browser': the page is served by this process (ui), not the Electron shell
  const handlers = createHandlers({ engine, settings, app: { mode: 'browser', version: packageVersion() }, onBackgroundError: logError, emit: opts.emit });
  let control: Awaited<ReturnType<typeof serveControlSocket>> | null = null;
  try {
    control = await serveControlSocket({ home: ctx.home, engine, handlers, onInternalError: logError });
  } catch (err) {
    ctx.stderr.write(`warning: no control socket (${err instanceof Error ? err.message : String(err)}): other cloudreve-sync commands on this home will say it is busy\n`);
  }
  return { handlers, controlPath: control?.path ?? null, close: async () => void (await control?.close()) };
}
