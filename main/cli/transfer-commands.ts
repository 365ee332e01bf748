/**
 * `cloudreve-sync upload | transfers | resume | cancel` — the upload engine, headless (`transfers` and `resume` cover the
 * downloads of download-command.ts too).
 * Exit codes: 0 everything uploaded (or skipped as already there), 1 some files failed (each named with its
 * reason), 2 usage, 3 other fatal errors (thrown to main/cli.ts), 130 interrupted (work kept for `resume`).
 * The engine (SQLite, got, conf, crypto) is imported when one of these commands runs, never at start-up.
 */
import { resolve } from 'node:path';
import type { Engine, SkippedEntry } from '../engine/index.js';
import { EngineError } from '../engine/errors.js';
import { toUri } from '../engine/api/uri.js';
import { TERMINAL_STATES, type ConnectivityState, type IfExists, type TransferSnapshot } from '../engine/types.js';
import type { ControlClient } from '../bridge/control-socket.js';
import type { CliContext, CommandSpec, ParsedArgs } from './command.js';
import { BatchedOutput } from './batched-output.js';
import { formatBytes, nextTry, WaitLines } from './format.js';
import { UsageError } from './command.js';
import { engineConfig, engineOr, parseFlags, storedSettings, str } from './shared.js';
import { downloadRows, resumeDownloads } from './download-command.js';

/** `--to`: a cloudreve:// URI or a folder path under cloudreve://my; anything else (http://…) is a usage error. */
function destination(text: string): string {
  try {
    return toUri(text);
  } catch (err) {
    if (err instanceof EngineError && err.code === 'usage') throw new UsageError(`--to: ${err.message}`);
    throw err;
  }
}

/** The remote variants, loaded only when a running engine is found. */
const remoteCommands = () => import('./remote-commands.js');

/** The engine's entry, loaded on first use. */
async function engineModules() {
  return { createEngine: (await import('../engine/index.js')).createEngine };
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

/** What a command admitted: the transfers, and what was left out while the paths were collected. */
interface Picked {
  ids: string[];
  skipped: SkippedEntry[];
}

/**
 * Opens the engine (logged in), admits transfers with `pick`, and drives them to the end, reporting as it goes: JSON
 * lines, a live terminal display, or one plain line per finished file. The reporting starts before `pick`, so the
 * warnings raised while folders are collected are shown too. Ctrl-C stops cleanly; the journal keeps the work.
 */
async function runTransfers(
  ctx: CliContext,
  args: ParsedArgs,
  nothing: string,
  pick: (engine: Engine) => Promise<Picked>,
  remote?: (control: ControlClient) => Promise<number>,
): Promise<number> {
  const json = args.flags.json === true;
  const { createEngine } = await engineModules();
  const config = await engineConfig(ctx, args);
  const opened = await engineOr(ctx, () => createEngine(config), remote);
  if (typeof opened === 'number') return opened;
  const engine = opened;
  const batched = new BatchedOutput(ctx.stdout);
  const out = (s: string) => batched.write(s);
  const emit = (obj: unknown) => out(JSON.stringify(obj) + '\n');
  const live = ctx.isTTY && !json;
  /** null while picking: this process runs only what this command admits, so every transfer is ours */
  let mine: Set<string> | null = null;
  const ours = (id: string) => mine === null || mine.has(id);
  let lastDraw = 0;
  const draw = (force = false) => {
    if (!live || mine === null) return;
    const now = Date.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    const o = engine.overall();
    const pct = o.bytesTotal > 0 ? Math.floor((o.bytesDone / o.bytesTotal) * 100) : 100;
    const c = engine.connectivity();
    let state = c.online ? `active ${o.active}, queued ${o.queued}` : `OFFLINE, ${nextProbe(c, now)} (${c.reason ?? 'server unreachable'})`;
    if (c.online && waiting.size > 0) state += `, ${waiting.size} waiting to retry (${nextTry(Math.min(...waiting.values()), now)})`;
    out(`\r\x1b[K${pct}%  ${formatBytes(o.bytesDone)} / ${formatBytes(o.bytesTotal)}  ${formatBytes(Math.round(o.speed))}/s  ETA ${formatEta(o.eta)}  ${state}`);
  };
  let offlineSaid = false;
  /** each transfer's last reported state: the summary needs no journal read per file */
  const last = new Map<string, TransferSnapshot>();
  /** transfers waiting to try again, and when (the live line shows the soonest) */
  const waiting = new Map<string, number>();
  const waitLines = new WaitLines();
  const disposers = [
    engine.events.on('transfer-state-changed', ({ transfer: t, from }) => {
      if (!ours(t.id)) return;
      last.set(t.id, t);
      if (t.state === 'waiting-retry' && t.retryAt) waiting.set(t.id, t.retryAt);
      else waiting.delete(t.id);
      if (json) emit({ event: 'state', id: t.id, path: t.localPath, uri: t.targetUri, from, state: t.state, error: t.error ?? undefined, retry_at: t.retryAt ?? undefined });
      else {
        const line = waitLines.line(t);
        if (line === null) return;
        out(live ? `\r\x1b[K${line}\n` : `${line}\n`);
        draw(true);
      }
    }),
    engine.events.on('transfer-progressed', (p) => {
      if (!ours(p.id)) return;
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
      else if (l.level === 'warn' || l.level === 'error') {
        batched.flush();
        ctx.stderr.write(`${live ? '\r\x1b[K' : ''}${l.level === 'warn' ? 'warning' : 'error'}: ${l.message}\n`);
      }
    }),
  ];
  let interrupted = false;
  const onSig = () => {
    interrupted = true;
    void engine.close();
  };
  try {
    if (!engine.account()) throw new EngineError('login-required', 'not logged in: run `cloudreve-sync login` first');
    const picked = await pick(engine);
    mine = new Set(picked.ids);
    const notUploaded = picked.skipped.filter((s) => s.failure);
    if (picked.ids.length === 0) {
      if (json) emit({ event: 'summary', uploaded: 0, skipped: 0, failed: notUploaded.length });
      else out(`${nothing}\n`);
      batched.flush();
      if (!json) for (const s of notUploaded) ctx.stderr.write(`failed: ${s.path}: ${s.reason}\n`);
      return notUploaded.length > 0 ? 1 : 0;
    }
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    try {
      await Promise.race([engine.idle(), new Promise<void>((r) => process.once('SIGINT', () => r()))]);
    } finally {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
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
    const results = picked.ids
      .map((id) => {
        const t = last.get(id);
        return t && TERMINAL_STATES.has(t.state) ? t : engine.transfer(id);
      })
      .filter((t): t is TransferSnapshot => !!t);
    const failed = results.filter((t) => t.state !== 'done' && t.state !== 'skipped');
    const done = results.filter((t) => t.state === 'done').length;
    const skipped = results.filter((t) => t.state === 'skipped').length;
    const failedCount = failed.length + notUploaded.length;
    if (json) emit({ event: 'summary', uploaded: done, skipped, failed: failedCount });
    else out(`${done} uploaded, ${skipped} skipped, ${failedCount} failed\n`);
    batched.flush();
    if (!json) {
      for (const t of failed) ctx.stderr.write(`failed: ${t.localPath}: ${t.error?.message ?? t.state}\n`);
      for (const s of notUploaded) ctx.stderr.write(`failed: ${s.path}: ${s.reason}\n`);
    }
    return failedCount > 0 ? 1 : 0;
  } finally {
    for (const d of disposers) d();
    batched.flush();
    await engine.close();
  }
}

const upload: CommandSpec = {
  summary: 'upload files and folders (recursively) to a Cloudreve folder',
  usage:
    'upload <path...> --to <cloudreve-uri|folder> [--if-exists skip|overwrite|rename] [--limit-rate 10M] [--concurrency N] [--chunk-concurrency N] [--priority N] [--json]',
  flags: {
    to: { type: 'string', value: 'DEST', help: 'the remote folder: cloudreve://my/backup, or a path meaning under cloudreve://my (required)' },
    'if-exists': { type: 'string', value: 'MODE', help: 'skip, overwrite (a new version) or rename (keep both; default); identical files are always skipped' },
    'limit-rate': { type: 'string', value: 'RATE', help: 'upload bandwidth for all files together: 512k, 10M, 1G (bytes/s); 0 or off: no limit' },
    concurrency: { type: 'string', value: 'N', help: 'files in flight (1-64, default 3; small files get 8 more slots)' },
    'chunk-concurrency': { type: 'string', value: 'N', help: 'parts in flight per file (1-64, default 4; the storage policy may allow fewer)' },
    priority: { type: 'string', value: 'N', help: 'queue order: higher first (default 0); ties go oldest first' },
    json: { type: 'boolean', help: 'print one JSON event per line (state, progress, log, summary)' },
  },
  async run(ctx, args) {
    if (args.positionals.length === 0) throw new UsageError('give at least one file or folder');
    const text = str(args, 'to');
    if (!text) throw new UsageError('--to <cloudreve-uri|folder> is required');
    const to = destination(text);
    parseFlags(args);
    const ifExists = str(args, 'if-exists') ?? (await storedSettings(ctx.home)).ifExists;
    if (!['skip', 'overwrite', 'rename'].includes(ifExists)) throw new UsageError('--if-exists must be skip, overwrite or rename');
    const priority = str(args, 'priority');
    if (priority !== undefined && !/^-?\d+$/.test(priority)) throw new UsageError('--priority must be an integer');
    return runTransfers(
      ctx,
      args,
      'nothing to upload',
      async (engine) => {
        const skipped: SkippedEntry[] = [];
        const ids = await engine.enqueue(args.positionals, to, {
          ifExists: ifExists as IfExists,
          priority: priority ? Number(priority) : 0,
          onSkipped: (s) => skipped.push(s),
        });
        return { ids, skipped };
      },
      async (control) => {
        const remote = await remoteCommands();
        remote.refuseProcessFlags(args, 'upload'); // before anything is queued there
        return remote.remoteUpload(ctx, control, {
          paths: args.positionals.map((p) => resolve(p)),
          to,
          ifExists: ifExists as IfExists,
          priority: priority ? Number(priority) : undefined,
          json: args.flags.json === true,
        });
      },
    );
  },
};

const transfers: CommandSpec = {
  summary: 'list transfers in the journal (interrupted, failed, finished)',
  usage: 'transfers [--json]',
  flags: { json: { type: 'boolean', help: 'print the list as JSON' } },
  async run(ctx, args) {
    const [{ createEngine }, { lockHolder }, { RESUMABLE_STATES }] = await Promise.all([
      engineModules(),
      import('../engine/home-lock.js'),
      import('../engine/transfer/queue.js'),
    ]);
    const engine = await createEngine({ home: ctx.home, autoResume: false, exclusive: false });
    try {
      // Unfinished transfers are moving only while a process drives this home; otherwise they wait for `resume`.
      const running = lockHolder(ctx.home) !== null;
      const list = engine.listTransfers().map((t) => ({ ...t, interrupted: !running && t.state !== 'paused' && RESUMABLE_STATES.has(t.state) }));
      // downloads: after the uploads, marked `direction: "download"` (their own fields: uri, target, resultPath)
      const downloads = downloadRows(engine.downloads.list(), running);
      if (args.flags.json) {
        ctx.stdout.write(JSON.stringify([...list, ...downloads]) + '\n');
        return 0;
      }
      if (list.length === 0 && downloads.length === 0) {
        ctx.stdout.write('no transfers\n');
        return 0;
      }
      const pctOf = (size: number, bytes: number, done: boolean) => (size > 0 ? Math.floor((bytes / size) * 100) : done ? 100 : 0);
      for (const t of list) {
        const pct = pctOf(t.size, t.bytesDone, t.state === 'done');
        const why = t.error ? `  (${t.error.message})` : '';
        const state = t.interrupted ? 'interrupted' : t.state;
        ctx.stdout.write(`${t.id}  ${state.padEnd(16)} ${String(pct).padStart(3)}%  ${formatBytes(t.size).padStart(9)}  ${t.localPath} → ${t.targetUri}${why}\n`);
      }
      if (downloads.length > 0) {
        if (list.length > 0) ctx.stdout.write('\n');
        ctx.stdout.write('downloads:\n');
        for (const d of downloads) {
          const pct = pctOf(d.size, d.bytesDone, d.state === 'done' || d.state === 'conflict');
          const why = d.error ? `  (${d.error.message})` : '';
          const state = d.interrupted ? 'interrupted' : d.state;
          const where = d.resultPath && d.resultPath !== d.target ? `${d.target} (as ${d.resultPath})` : d.target;
          ctx.stdout.write(`${d.id}  ${state.padEnd(16)} ${String(pct).padStart(3)}%  ${formatBytes(d.size).padStart(9)}  ${d.uri} → ${where}${why}\n`);
        }
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};

const resume: CommandSpec = {
  summary: 'continue interrupted uploads and downloads (all, or the given ids)',
  usage: 'resume [ID...] [--limit-rate 10M] [--concurrency N] [--json]',
  flags: {
    'limit-rate': { type: 'string', value: 'RATE', help: 'upload bandwidth for all files together: 512k, 10M, 1G (bytes/s); 0 or off: no limit' },
    concurrency: { type: 'string', value: 'N', help: 'files in flight (1-64, default 3)' },
    'chunk-concurrency': { type: 'string', value: 'N', help: 'parts in flight per file (1-64, default 4)' },
    json: { type: 'boolean', help: 'print one JSON event per line (state, progress, log, summary)' },
  },
  async run(ctx, args) {
    parseFlags(args);
    // downloads first (download-command.ts), in an engine of their own; then the uploads, as before
    const downloads = await resumeDownloads(ctx, args);
    if (downloads.code === 130) return 130;
    if (downloads.code !== null && args.positionals.length > 0 && downloads.otherIds.length === 0) return downloads.code;
    const uploads = await runTransfers(
      ctx,
      { ...args, positionals: downloads.otherIds },
      downloads.code === null ? 'nothing to resume' : 'no interrupted uploads',
      async (engine) => ({ ids: engine.resumeInterrupted(downloads.otherIds), skipped: [] }),
      async (control) => {
        const remote = await remoteCommands();
        remote.refuseProcessFlags(args, 'resume');
        return remote.remoteTransferVerb(ctx, control, 'resume', args.positionals, args.flags.json === true);
      },
    );
    return downloads.code === null || uploads === 130 ? uploads : Math.max(uploads, downloads.code);
  },
};

const cancel: CommandSpec = {
  summary: 'cancel a transfer: an upload (its upload session on the server is deleted) or a download (its partial file is removed)',
  usage: 'cancel <ID...>',
  flags: {},
  async run(ctx, args) {
    if (args.positionals.length === 0) throw new UsageError('give a transfer id (see `cloudreve-sync transfers`)');
    const { createEngine } = await engineModules();
    const timeouts = (await storedSettings(ctx.home)).timeouts;
    const opened = await engineOr(
      ctx,
      () => createEngine({ home: ctx.home, autoResume: false, timeouts }),
      async (control) => (await remoteCommands()).remoteTransferVerb(ctx, control, 'cancel', args.positionals),
    );
    if (typeof opened === 'number') return opened;
    const engine = opened;
    try {
      for (const id of args.positionals) {
        if (!engine.transfer(id) && !engine.downloads.has(id)) throw new EngineError('not-found', `no transfer ${id} (\`cloudreve-sync transfers\` lists them)`);
        await engine.cancel(id);
        ctx.stdout.write(`cancelled ${id}\n`);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};

const pause: CommandSpec = {
  summary: 'pause transfers of the running engine (all, or the given ids); `resume` continues them',
  usage: 'pause [ID...]',
  flags: {},
  async run(ctx, args) {
    const { createEngine } = await engineModules();
    const opened = await engineOr(
      ctx,
      () => createEngine({ home: ctx.home, autoResume: false }),
      async (control) => (await remoteCommands()).remoteTransferVerb(ctx, control, 'pause', args.positionals),
    );
    if (typeof opened === 'number') return opened;
    await opened.close();
    ctx.stdout.write('no cloudreve-sync process runs this home, so nothing is moving: interrupted transfers wait for `cloudreve-sync resume`\n');
    return 0;
  },
};

export const transferCommands: Record<string, CommandSpec> = { upload, transfers, resume, cancel, pause };
