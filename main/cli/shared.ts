/**
 * What the CLI's command files share, below all of them: the version, Ctrl-C, stdin, and the engine on a home
 * (the tuning flags, the stored settings, the engine or the running process's control socket). The dispatch
 * (main/cli.ts) imports the command files, they import this and the modules beside it (command.ts, format.ts,
 * home.ts, batched-output.ts), and nothing here imports a command file or main/cli.ts: the imports go one way
 * (test/architecture.test.ts checks there is no circle). The engine is imported only when it is used.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ControlClient } from '../bridge/control-socket.js';
import type { Engine, EngineConfig } from '../engine/index.js';
import { EngineError } from '../engine/errors.js';
import { readSettings, type Settings } from '../engine/settings-schema.js';
import { UsageError, type CliContext, type ParsedArgs } from './command.js';

/** The version in package.json (found by walking up from this file: the sources, dist/ and the CLI bundle). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cloudreve-sync' && pkg.version) return pkg.version;
    } catch {
      // keep looking upward
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/**
 * Resolves when the user interrupts (Ctrl-C or SIGTERM). Further signals are swallowed until dispose() and for 2 s
 * after it: `conf` (through atomically → when-exit) re-raises the signal it saw, which would otherwise kill the
 * process in the middle of its clean shutdown. A signal after that (a second Ctrl-C later on) ends the process.
 */
export function interrupted(): { promise: Promise<void>; dispose(): void } {
  let done!: () => void;
  let fired = false;
  const promise = new Promise<void>((r) => (done = r));
  const on = () => {
    if (fired) return;
    fired = true;
    done();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  const off = () => (process.off('SIGINT', on), process.off('SIGTERM', on));
  return {
    promise,
    dispose: () => {
      if (fired) setTimeout(off, 2000).unref();
      else off();
    },
  };
}

/** Reads all of stdin (bounded), for --password-stdin (login, ui). */
export async function readAll(stream: Readable, limit = 64 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    n += b.length;
    if (n > limit) throw new UsageError('--password-stdin: input is too long');
    parts.push(b);
  }
  return Buffer.concat(parts).toString('utf8');
}

// ---------------------------------------------------------------- the engine on a home

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "10M" → 10 MiB/s, "512k", "1.5G", "1000000"; 0 or "off" = unlimited. Anything else is a usage error. */
export function parseRate(text: string, flag = 'limit-rate'): number {
  const t = text.trim();
  if (t === 'off') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?(?:\/s)?$/i.exec(t);
  if (!m) throw new UsageError(`--${flag}: invalid rate "${text}" (examples: 10M, 512k, 1G; 0 or off for no limit)`);
  const bytes = Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  if (bytes === 0 && Number(m[1]) !== 0) {
    throw new UsageError(`--${flag}: "${text}" is less than 1 byte/s (use 0 or off for no limit)`);
  }
  return bytes;
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--${flag} must be an integer from 1 to 64`);
  return n;
}

export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** The tuning flags, checked before anything is opened (a bad value is a usage error, exit 2). */
export function parseFlags(args: ParsedArgs): { bandwidthLimit?: number; downloadBandwidthLimit?: number; maxActiveFiles?: number; chunkConcurrencyCap?: number } {
  const rate = str(args, 'limit-rate');
  const downRate = str(args, 'download-limit-rate'); // `run`: the downloads' limit (two-way pairs)
  return {
    bandwidthLimit: rate === undefined ? undefined : parseRate(rate),
    downloadBandwidthLimit: downRate === undefined ? undefined : parseRate(downRate, 'download-limit-rate'),
    maxActiveFiles: positiveInt(str(args, 'concurrency'), 'concurrency'),
    chunkConcurrencyCap: positiveInt(str(args, 'chunk-concurrency'), 'chunk-concurrency'),
  };
}

/**
 * The engine on this home, or, when another process runs it (`run`, `ui`, the desktop app: the home's lock is held),
 * what `remote` does through that process's control socket. Without `remote`, or when nothing answers on the
 * socket, the 'busy' error stands.
 */
export async function engineOr(ctx: CliContext, open: () => Promise<Engine>, remote?: (control: ControlClient) => Promise<number>): Promise<Engine | number> {
  try {
    return await open();
  } catch (err) {
    if (!remote || !(err instanceof EngineError && err.code === 'busy')) throw err;
    const control = await (await import('../bridge/control-socket.js')).connectControl(ctx.home, { onRefused: (why) => ctx.stderr.write(`warning: ${why}\n`) });
    if (!control) throw err;
    return remote(control);
  }
}

/** The stored settings (config.json, shared with the desktop app); conf is loaded only to create or repair it. */
export async function storedSettings(home: string): Promise<Settings> {
  return readSettings(home) ?? { ...(await import('../engine/config.js')).openConfig(home).store };
}

/** The stored settings, overridden by the command line (the sync commands use it too). */
export async function engineConfig(ctx: CliContext, args: ParsedArgs): Promise<EngineConfig> {
  const flags = parseFlags(args);
  const settings = await storedSettings(ctx.home);
  return {
    home: ctx.home,
    autoResume: false,
    bandwidthLimit: flags.bandwidthLimit ?? settings.bandwidthLimit,
    downloadBandwidthLimit: flags.downloadBandwidthLimit ?? settings.downloadBandwidthLimit,
    maxActiveFiles: flags.maxActiveFiles ?? settings.maxActiveFiles,
    chunkConcurrencyCap: flags.chunkConcurrencyCap ?? settings.chunkConcurrencyCap,
    ifExists: settings.ifExists,
    timeouts: settings.timeouts,
    busyRetryMinutes: settings.busyRetryMinutes,
  };
}

/**
 * Runs `fn` with an engine on the command's home (autoResume: continue interrupted transfers, as `run` and `ui` do);
 * when another process runs the engine there, `remote` through its control socket instead (see engineOr).
 */
export async function withEngine(
  ctx: CliContext,
  args: ParsedArgs,
  fn: (engine: Engine) => Promise<number>,
  autoResume = false,
  remote?: (control: ControlClient) => Promise<number>,
): Promise<number> {
  const { createEngine } = await import('../engine/index.js'); // loaded on first use, like the transfer commands
  const config = { ...(await engineConfig(ctx, args)), autoResume };
  const opened = await engineOr(ctx, () => createEngine(config), remote);
  if (typeof opened === 'number') return opened;
  const engine = opened;
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
