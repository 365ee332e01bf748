/**
 * `cloudreve-sync upload | transfers | resume | cancel` — the upload engine, headless.
 * Exit codes: 0 everything uploaded (or skipped as already there), 1 some files failed (each named with its
 * reason), 2 usage, 3 other fatal errors (thrown to main/cli.ts), 130 interrupted (work kept for `resume`).
 * The engine (SQLite, got, conf, crypto) is imported when one of these commands runs, never at start-up.
 */
import type { Engine, EngineConfig } from '../engine/index.js';
import { readSettings, type Settings } from '../engine/settings-schema.js';
import { EngineError } from '../engine/errors.js';
import type { ConnectivityState, IfExists, TransferSnapshot } from '../engine/types.js';
import type { CliContext, CommandSpec, ParsedArgs } from './command.js';
import { BatchedOutput } from './batched-output.js';
import { formatBytes } from './format.js';
import { UsageError } from './command.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "10M" → 10 MiB/s, "512k", "1.5G", "1000000"; 0 or "off" = unlimited. */
export function parseRate(text: string): number {
  if (text === 'off') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?(?:\/s)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`invalid rate "${text}" (examples: 10M, 512k, 1G, off)`);
  return Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--${flag} must be an integer from 1 to 64`);
  return n;
}

function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** The engine's entry, loaded on first use. */
async function engineModules() {
  return { createEngine: (await import('../engine/index.js')).createEngine };
}

/** The stored settings (config.json, shared with the desktop app); conf is loaded only to create or repair it. */
async function storedSettings(home: string): Promise<Settings> {
  return readSettings(home) ?? { ...(await import('../engine/config.js')).openConfig(home).store };
}

/** The stored settings, overridden by the command line. */
async function engineConfig(ctx: CliContext, args: ParsedArgs): Promise<EngineConfig> {
  const settings = await storedSettings(ctx.home);
  const rate = str(args, 'limit-rate');
  return {
    home: ctx.home,
    autoResume: false,
    bandwidthLimit: rate === undefined ? settings.bandwidthLimit : parseRate(rate),
    maxActiveFiles: positiveInt(str(args, 'concurrency'), 'concurrency') ?? settings.maxActiveFiles,
    chunkConcurrencyCap: positiveInt(str(args, 'chunk-concurrency'), 'chunk-concurrency') ?? settings.chunkConcurrencyCap,
    ifExists: settings.ifExists,
  };
}

function formatEta(s: number | null): string {
  if (s === null) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** "next try in 12 s" (or "trying now" while a probe runs). */
function nextProbe(c: ConnectivityState, now: number): string {
  return c.nextProbeAt === null ? 'trying now' : `next try in ${Math.max(1, Math.round((c.nextProbeAt - now) / 1000))} s`;
}

/**
 * Runs the engine until the given transfers settle, reporting as it goes: JSON lines, a live terminal
 * display, or one plain line per finished file. Ctrl-C stops cleanly; the journal keeps the work.
 */
async function drive(ctx: CliContext, engine: Engine, ids: string[], json: boolean): Promise<number> {
  const mine = new Set(ids);
  const batched = new BatchedOutput(ctx.stdout);
  const out = (s: string) => batched.write(s);
  const emit = (obj: unknown) => out(JSON.stringify(obj) + '\n');
  const live = ctx.isTTY && !json;
  let lastDraw = 0;
  const draw = (force = false) => {
    if (!live) return;
    const now = Date.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    const o = engine.overall();
    const pct = o.bytesTotal > 0 ? Math.floor((o.bytesDone / o.bytesTotal) * 100) : 100;
    const c = engine.connectivity();
    const state = c.online ? `active ${o.active}, queued ${o.queued}` : `OFFLINE, ${nextProbe(c, now)} (${c.reason ?? 'server unreachable'})`;
    out(`\r\x1b[K${pct}%  ${formatBytes(o.bytesDone)} / ${formatBytes(o.bytesTotal)}  ${formatBytes(Math.round(o.speed))}/s  ETA ${formatEta(o.eta)}  ${state}`);
  };
  let offlineSaid = false;
  const disposers = [
    engine.events.on('transfer-state-changed', ({ transfer: t, from }) => {
      if (!mine.has(t.id)) return;
      if (json) emit({ event: 'state', id: t.id, path: t.localPath, uri: t.targetUri, from, state: t.state, error: t.error ?? undefined });
      else if (t.state === 'done' || t.state === 'skipped' || t.state === 'failed' || t.state === 'waiting-file') {
        const line =
          t.state === 'done' ? `uploaded ${t.localPath} → ${t.targetUri}` :
          t.state === 'skipped' ? `skipped ${t.localPath}: ${t.error?.message ?? 'exists'}` :
          t.state === 'waiting-file' ? `changed while uploading, will retry when it settles: ${t.localPath}` :
          `FAILED ${t.localPath}: ${t.error?.message ?? 'unknown error'}`;
        out(live ? `\r\x1b[K${line}\n` : `${line}\n`);
        draw(true);
      }
    }),
    engine.events.on('transfer-progressed', (p) => {
      if (!mine.has(p.id)) return;
      if (json) emit({ event: 'progress', id: p.id, bytes: p.bytesDone, speed: Math.round(p.speed), eta: p.eta });
      draw();
    }),
    engine.events.on('connectivity-changed', (c) => {
      if (json) {
        emit({ event: 'connectivity', online: c.online, reason: c.reason ?? undefined, since: c.since ?? undefined, next_probe_at: c.nextProbeAt ?? undefined });
      } else if (live) {
        draw(true);
      } else if (!c.online && !offlineSaid) {
        // plain output: one line when the server goes away, one when it is back (not one per probe)
        offlineSaid = true;
        batched.flush();
        ctx.stderr.write(`offline: ${c.reason ?? 'server unreachable'}; uploads wait and continue by themselves (${nextProbe(c, Date.now())})\n`);
      } else if (c.online && offlineSaid) {
        offlineSaid = false;
        batched.flush();
        ctx.stderr.write('online again: continuing\n');
      }
    }),
    engine.events.on('log', (l) => {
      if (json) emit({ event: 'log', level: l.level, message: l.message });
      else if (l.level === 'warn') {
        batched.flush();
        ctx.stderr.write(`${live ? '\r\x1b[K' : ''}warning: ${l.message}\n`);
      }
    }),
  ];
  let interrupted = false;
  const onSig = () => {
    interrupted = true;
    void engine.close();
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  try {
    await Promise.race([engine.idle(), new Promise<void>((r) => process.once('SIGINT', () => r()))]);
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    for (const d of disposers) d();
  }
  if (live) {
    draw(true);
    out('\n');
  }
  batched.flush();
  if (interrupted) {
    ctx.stderr.write('interrupted: run `cloudreve-sync resume` to continue\n');
    return 130;
  }
  const results = ids.map((id) => engine.transfer(id)).filter((t): t is TransferSnapshot => !!t);
  const failed = results.filter((t) => t.state !== 'done' && t.state !== 'skipped');
  const done = results.filter((t) => t.state === 'done').length;
  const skipped = results.filter((t) => t.state === 'skipped').length;
  if (json) emit({ event: 'summary', uploaded: done, skipped, failed: failed.length });
  else out(`${done} uploaded, ${skipped} skipped, ${failed.length} failed\n`);
  batched.flush();
  if (!json) {
    for (const t of failed) ctx.stderr.write(`failed: ${t.localPath}: ${t.error?.message ?? t.state}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

/** Opens the engine (logged in), admits transfers with `pick`, and drives them to the end. */
async function runTransfers(ctx: CliContext, args: ParsedArgs, nothing: string, pick: (engine: Engine) => Promise<string[]>): Promise<number> {
  const { createEngine } = await engineModules();
  const engine = await createEngine(await engineConfig(ctx, args));
  try {
    if (!engine.account()) throw new EngineError('login-required', 'not logged in: run `cloudreve-sync login` first');
    const ids = await pick(engine);
    if (ids.length === 0) {
      ctx.stdout.write(args.flags.json ? JSON.stringify({ event: 'summary', uploaded: 0, skipped: 0, failed: 0 }) + '\n' : `${nothing}\n`);
      return 0;
    }
    return await drive(ctx, engine, ids, args.flags.json === true);
  } finally {
    await engine.close();
  }
}

const upload: CommandSpec = {
  summary: 'upload files and folders (recursively) to a Cloudreve folder',
  usage: 'upload <path...> --to <cloudreve-uri|folder> [--if-exists skip|overwrite|rename] [--limit-rate 10M] [--concurrency N] [--chunk-concurrency N] [--json]',
  flags: {
    to: { type: 'string' },
    'if-exists': { type: 'string' },
    'limit-rate': { type: 'string' },
    concurrency: { type: 'string' },
    'chunk-concurrency': { type: 'string' },
    priority: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(ctx, args) {
    if (args.positionals.length === 0) throw new UsageError('upload: give at least one file or folder');
    const to = str(args, 'to');
    if (!to) throw new UsageError('upload: --to <cloudreve-uri|folder> is required');
    const ifExists = str(args, 'if-exists') ?? (await storedSettings(ctx.home)).ifExists;
    if (!['skip', 'overwrite', 'rename'].includes(ifExists)) throw new UsageError('--if-exists must be skip, overwrite or rename');
    const priority = str(args, 'priority');
    if (priority !== undefined && !/^-?\d+$/.test(priority)) throw new UsageError('--priority must be an integer');
    return runTransfers(ctx, args, 'nothing to upload', (engine) =>
      engine.enqueue(args.positionals, to, { ifExists: ifExists as IfExists, priority: priority ? Number(priority) : 0 }),
    );
  },
};

const transfers: CommandSpec = {
  summary: 'list transfers in the journal (interrupted, failed, finished)',
  usage: 'transfers [--json]',
  flags: { json: { type: 'boolean' } },
  async run(ctx, args) {
    const { createEngine } = await engineModules();
    const engine = await createEngine({ home: ctx.home, autoResume: false, exclusive: false });
    try {
      const list = engine.listTransfers();
      if (args.flags.json) {
        ctx.stdout.write(JSON.stringify(list) + '\n');
        return 0;
      }
      if (list.length === 0) {
        ctx.stdout.write('no transfers\n');
        return 0;
      }
      for (const t of list) {
        const pct = t.size > 0 ? Math.floor((t.bytesDone / t.size) * 100) : t.state === 'done' ? 100 : 0;
        const why = t.error ? `  (${t.error.message})` : '';
        ctx.stdout.write(`${t.id}  ${t.state.padEnd(16)} ${String(pct).padStart(3)}%  ${formatBytes(t.size).padStart(9)}  ${t.localPath} → ${t.targetUri}${why}\n`);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};

const resume: CommandSpec = {
  summary: 'continue interrupted uploads (all, or the given ids)',
  usage: 'resume [ID...] [--limit-rate 10M] [--concurrency N] [--json]',
  flags: {
    'limit-rate': { type: 'string' },
    concurrency: { type: 'string' },
    'chunk-concurrency': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(ctx, args) {
    return runTransfers(ctx, args, 'nothing to resume', async (engine) => engine.resumeInterrupted(args.positionals));
  },
};

const cancel: CommandSpec = {
  summary: 'cancel a transfer and delete its upload session on the server',
  usage: 'cancel <ID...>',
  flags: {},
  async run(ctx, args) {
    if (args.positionals.length === 0) throw new UsageError('cancel: give a transfer id (see `cloudreve-sync transfers`)');
    const { createEngine } = await engineModules();
    const engine = await createEngine({ home: ctx.home, autoResume: false });
    try {
      for (const id of args.positionals) {
        if (!engine.transfer(id)) throw new UsageError(`cancel: no transfer ${id}`);
        await engine.cancel(id);
        ctx.stdout.write(`cancelled ${id}\n`);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};

export const transferCommands: Record<string, CommandSpec> = { upload, transfers, resume, cancel };
