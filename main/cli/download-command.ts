/**
 * `cloudreve-sync download <cloudreve-uri>... --to DIR` — remote files and folders (recursively) into a local folder,
 * through Engine.downloads: each file goes to a hidden temp file beside its target and is renamed into place once
 * whole (transfer/downloader.ts), so a local file is never overwritten unless `--if-exists overwrite` (then
 * atomically). Resumable: an interrupted download continues with `resume`, or by running the same command again (a
 * file already downloaded — same size, mtime = the server's time — is skipped, a half-done one continues).
 * Same report and exit codes as `upload`: 0 everything downloaded (or skipped), 1 some files failed (each named with
 * its reason), 2 usage, 3 other fatal errors, 4 not logged in, 130 interrupted (work kept for `resume`).
 * While another process drives the home (`run`, `ui`, the app), the downloads are queued in that process through its
 * control socket and followed from here (remote-commands.ts remoteDownload); 'busy' only when nothing answers there.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DownloadHandle, DownloadOnExists, DownloadOutcome, DownloadSnapshot, Engine, EngineConfig } from '../engine/index.js';
import { EngineError } from '../engine/errors.js';
import { toUri } from '../engine/api/uri.js';
import type { ControlClient } from '../bridge/control-socket.js';
import type { CliContext, CommandSpec, ParsedArgs } from './command.js';
import { UsageError } from './command.js';
import { BatchedOutput } from './batched-output.js';
import { formatBytes, nextTry } from './format.js';
import { engineConfig, interrupted, parseFlags, str } from './shared.js';

const IF_EXISTS: readonly DownloadOnExists[] = ['skip', 'overwrite', 'rename'];

function formatEta(s: number | null): string {
  if (s === null) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** The engine's configuration for downloading: the stored settings, --limit-rate and --concurrency for downloads. */
async function downloadConfig(ctx: CliContext, args: ParsedArgs): Promise<EngineConfig> {
  const flags = parseFlags(args);
  // the upload tuning stays as stored: these flags are the downloads'
  const base = await engineConfig(ctx, { positionals: [], flags: {} });
  return { ...base, downloadBandwidthLimit: flags.bandwidthLimit ?? base.downloadBandwidthLimit, maxActiveDownloads: flags.maxActiveFiles };
}

/** The engine on this home; when another process holds it, `remote` through its control socket (when it answers). */
async function openEngine(ctx: CliContext, config: EngineConfig, remote?: (control: ControlClient) => Promise<number>): Promise<Engine | number> {
  const { createEngine } = await import('../engine/index.js');
  try {
    return await createEngine(config);
  } catch (err) {
    if (err instanceof EngineError && err.code === 'busy') {
      if (remote) {
        const control = await (await import('../bridge/control-socket.js')).connectControl(ctx.home, { onRefused: (why) => ctx.stderr.write(`warning: ${why}\n`) });
        if (control) return remote(control);
      }
      throw new EngineError('busy', `${err.message} (and it does not answer on its control socket: run this when it has stopped)`);
    }
    throw err;
  }
}

export interface DownloadFailure {
  uri: string;
  reason: string;
}

/**
 * Starts downloads with `start` and reports them as they go (JSON lines, a live terminal line, or a plain line per
 * finished file) until every one ended or the user interrupts; returns the exit code. The reporting starts before
 * `start` (a download can change state at once). `failures`: what was left out before (named in the summary and on
 * stderr). Null (and nothing said) when `start` started nothing.
 */
export async function driveDownloads(ctx: CliContext, engine: Engine, start: () => DownloadHandle[], opts: { json: boolean; failures?: DownloadFailure[] }): Promise<number | null> {
  const json = opts.json;
  const failures = opts.failures ?? [];
  const batched = new BatchedOutput(ctx.stdout);
  const out = (s: string) => batched.write(s);
  const emit = (obj: unknown) => out(JSON.stringify(obj) + '\n');
  const live = ctx.isTTY && !json;
  /** null while starting: this process runs only the downloads this command starts, so every one is ours */
  let mine: Set<string> | null = null;
  const ours = (id: string) => mine === null || mine.has(id);
  const sizes = new Map<string, number>();
  const bytes = new Map<string, number>();
  const speeds = new Map<string, number>();
  let lastDraw = 0;
  let ended = 0;
  const draw = (force = false) => {
    if (!live || mine === null) return;
    const now = Date.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    let total = 0;
    let done = 0;
    for (const id of mine) {
      total += sizes.get(id) ?? 0;
      done += Math.min(bytes.get(id) ?? 0, sizes.get(id) ?? 0);
    }
    const speed = [...speeds.values()].reduce((a, b) => a + b, 0);
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const eta = speed > 0 ? Math.ceil((total - done) / speed) : null;
    const c = engine.connectivity();
    const state = c.online ? `${ended} of ${mine.size} ended` : `OFFLINE (${c.reason ?? 'server unreachable'})`;
    out(`\r\x1b[K${pct}%  ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(Math.round(speed))}/s  ETA ${formatEta(eta)}  ${state}`);
  };
  const line = (text: string) => {
    out(live ? `\r\x1b[K${text}\n` : `${text}\n`);
    draw(true);
  };
  const waitSaid = new Map<string, number>();
  let offlineSaid = false;
  const disposers = [
    engine.events.on('download-changed', ({ download: d, from }) => {
      if (!ours(d.id)) return;
      sizes.set(d.id, d.size);
      if (json) {
        emit({ event: 'state', id: d.id, uri: d.uri, path: d.target, from, state: d.state, error: d.error ?? undefined, result_path: d.resultPath ?? undefined, retry_at: d.retryAt ?? undefined });
        return;
      }
      if (d.state === 'waiting-retry') {
        const at = waitSaid.get(d.id) ?? 0;
        if (Date.now() - at < 60_000) return;
        waitSaid.set(d.id, Date.now());
        line(`waiting ${d.uri}: ${d.error?.message ?? 'the server failed'}${d.retryAt ? `; ${nextTry(d.retryAt, Date.now())}` : ''}`);
      }
    }),
    engine.events.on('download-progressed', (p) => {
      if (!ours(p.id)) return;
      bytes.set(p.id, p.bytesDone);
      speeds.set(p.id, p.speed);
      if (json) emit({ event: 'progress', id: p.id, bytes: p.bytesDone, speed: Math.round(p.speed), eta: p.eta });
      draw();
    }),
    engine.events.on('connectivity-changed', (c) => {
      if (json) emit({ event: 'connectivity', online: c.online, reason: c.reason ?? undefined, since: c.since ?? undefined, next_probe_at: c.nextProbeAt ?? undefined });
      else if (live) draw(true);
      else if (!c.online && !offlineSaid) {
        offlineSaid = true;
        batched.flush();
        ctx.stderr.write(`offline: ${c.reason ?? 'server unreachable'}; downloads wait and continue by themselves\n`);
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
  const outcomes = new Map<string, DownloadOutcome>();
  const say = (o: DownloadOutcome) => {
    ended++;
    speeds.delete(o.id);
    if (json) return;
    const d = engine.downloads.get(o.id);
    const uri = d?.uri ?? o.id;
    switch (o.result) {
      case 'done':
        line(`downloaded ${uri} → ${o.path}`);
        break;
      case 'conflict':
        line(`conflict ${uri}: the local file was kept, the download is ${o.path}`);
        break;
      case 'skipped':
        line(o.reason === 'identical' ? `skipped ${o.path}: already downloaded (same size and time)` : `skipped ${o.path}: ${o.reason === 'exists' ? 'exists' : 'replaced by another download'}`);
        break;
      case 'failed':
        line(`FAILED ${uri}: ${o.message}`);
        break;
      default:
        break;
    }
  };
  const stop = interrupted();
  let wasInterrupted = false;
  try {
    const handles = start();
    if (handles.length === 0 && failures.length === 0) return null;
    mine = new Set(handles.map((h) => h.id));
    for (const h of handles) {
      const s = engine.downloads.get(h.id);
      sizes.set(h.id, s?.size ?? 0);
      if (!bytes.has(h.id)) bytes.set(h.id, s?.bytesDone ?? 0);
    }
    const all = Promise.all(
      handles.map((h) =>
        h.outcome.then((o) => {
          outcomes.set(h.id, o);
          say(o);
        }),
      ),
    );
    await Promise.race([all, stop.promise.then(() => (wasInterrupted = true))]);
    if (wasInterrupted) {
      await engine.close(); // stops the downloads: their bytes stay in their temp files, the journal has them
      await all;
    }
    if (live) {
      draw(true);
      out('\n');
    }
    batched.flush();
    const list = handles.map((h) => outcomes.get(h.id)).filter((o): o is DownloadOutcome => !!o);
    if (wasInterrupted || list.some((o) => o.result === 'waiting')) {
      ctx.stderr.write('interrupted: run `cloudreve-sync resume` (or the same command again) to continue\n');
      return 130;
    }
    const done = list.filter((o) => o.result === 'done').length;
    const conflicts = list.filter((o) => o.result === 'conflict').length;
    const skipped = list.filter((o) => o.result === 'skipped').length;
    const failed = list.filter((o): o is Extract<DownloadOutcome, { result: 'failed' }> => o.result === 'failed');
    const failedCount = failed.length + failures.length;
    if (json) emit({ event: 'summary', downloaded: done, skipped, failed: failedCount, ...(conflicts ? { conflicts } : {}) });
    else out(`${done} downloaded, ${skipped} skipped, ${failedCount} failed${conflicts ? `, ${conflicts} kept as conflict copies` : ''}\n`);
    batched.flush();
    if (!json) {
      for (const o of failed) ctx.stderr.write(`failed: ${engine.downloads.get(o.id)?.uri ?? o.id}: ${o.message}\n`);
      for (const f of failures) ctx.stderr.write(`failed: ${f.uri}: ${f.reason}\n`);
    }
    return failedCount > 0 ? 1 : 0;
  } finally {
    stop.dispose();
    for (const d of disposers) d();
    batched.flush();
  }
}

const download: CommandSpec = {
  summary: 'download files and folders (recursively) from Cloudreve into a local folder; resumable',
  usage: 'download <cloudreve-uri...> --to DIR [--if-exists skip|overwrite|rename] [--limit-rate 10M] [--concurrency N] [--json]',
  flags: {
    to: { type: 'string', value: 'DIR', help: 'the local folder to download into (made when missing; required)' },
    'if-exists': {
      type: 'string',
      value: 'MODE',
      help: 'a local file in the way: skip it, overwrite it (atomically), or rename (keep both: "name (1).ext"; default); a file already downloaded is always skipped',
    },
    'limit-rate': { type: 'string', value: 'RATE', help: 'download bandwidth for all files together: 512k, 10M, 1G (bytes/s); 0 or off: no limit' },
    concurrency: { type: 'string', value: 'N', help: 'files downloading at once (1-64, default 3)' },
    json: { type: 'boolean', help: 'print one JSON event per line (state, progress, log, summary)' },
  },
  async run(ctx, args) {
    if (args.positionals.length === 0) throw new UsageError('give at least one cloudreve:// file or folder (or a path under cloudreve://my)');
    const to = str(args, 'to');
    if (!to) throw new UsageError('--to <local folder> is required');
    const ifExists = (str(args, 'if-exists') ?? 'rename') as DownloadOnExists;
    if (!IF_EXISTS.includes(ifExists)) throw new UsageError('--if-exists must be skip, overwrite or rename');
    const uris = args.positionals.map((p) => {
      try {
        return toUri(p);
      } catch (err) {
        if (err instanceof EngineError && err.code === 'usage') throw new UsageError(err.message);
        throw err;
      }
    });
    const dir = resolve(to);
    const json = args.flags.json === true;
    const config = await downloadConfig(ctx, args);
    const opened = await openEngine(ctx, config, async (control) => {
      const remote = await import('./remote-commands.js');
      remote.refuseProcessFlags(args, 'download'); // the running process has one download limit and concurrency for all
      return remote.remoteDownload(ctx, control, { uris, dir, ifExists: ifExists as 'skip' | 'overwrite' | 'rename', json });
    });
    if (typeof opened === 'number') return opened;
    const engine = opened;
    try {
      if (!engine.account()) throw new EngineError('login-required', 'not logged in: run `cloudreve-sync login` first');
      const got = await engine.downloads.collect(uris, dir, { onExists: ifExists });
      const failures: DownloadFailure[] = [];
      for (const s of got.skipped) {
        if (s.failure) failures.push({ uri: s.uri, reason: s.reason });
        if (json) ctx.stdout.write(JSON.stringify({ event: 'log', level: 'warn', message: `${s.uri}: ${s.reason}` }) + '\n');
        else ctx.stderr.write(`warning: ${s.uri}: ${s.reason}\n`);
      }
      mkdirSync(dir, { recursive: true });
      for (const f of got.folders) {
        try {
          mkdirSync(f, { recursive: true });
        } catch (err) {
          throw new EngineError('local-io', `cannot make the folder ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      if (got.files.length === 0) {
        if (json) ctx.stdout.write(JSON.stringify({ event: 'summary', downloaded: 0, skipped: 0, failed: failures.length }) + '\n');
        else {
          ctx.stdout.write('nothing to download\n');
          for (const f of failures) ctx.stderr.write(`failed: ${f.uri}: ${f.reason}\n`);
        }
        return failures.length > 0 ? 1 : 0;
      }
      return (await driveDownloads(ctx, engine, () => engine.downloads.enqueue(got.files), { json, failures })) ?? 0;
    } finally {
      await engine.close();
    }
  },
};

/**
 * `resume`'s download half: continues the interrupted downloads (all, or those of `ids` that are downloads) in an
 * engine of its own, reporting like `download`. Returns the exit code (null when there was nothing to continue) and
 * the ids that are not downloads (uploads, for the upload half). A home another process drives: nothing here (the
 * upload half goes through that process).
 */
export async function resumeDownloads(ctx: CliContext, args: ParsedArgs): Promise<{ code: number | null; otherIds: string[] }> {
  const config = await downloadConfig(ctx, args);
  let engine: Engine;
  try {
    engine = await (await import('../engine/index.js')).createEngine(config);
  } catch (err) {
    if (err instanceof EngineError && err.code === 'busy') return { code: null, otherIds: args.positionals };
    throw err;
  }
  try {
    if (!engine.account()) return { code: null, otherIds: args.positionals };
    const ids = args.positionals.filter((id) => engine.downloads.has(id));
    const otherIds = args.positionals.filter((id) => !engine.downloads.has(id));
    if (args.positionals.length > 0 && ids.length === 0) return { code: null, otherIds };
    return { code: await driveDownloads(ctx, engine, () => engine.downloads.resumeInterrupted(ids), { json: args.flags.json === true }), otherIds };
  } finally {
    await engine.close();
  }
}

/** Rows for `transfers`: this account's downloads (interrupted when no process drives the home). */
export function downloadRows(list: DownloadSnapshot[], running: boolean): Array<DownloadSnapshot & { direction: 'download'; interrupted: boolean }> {
  const open = new Set(['queued', 'downloading', 'waiting-retry']);
  return list.map((d) => ({ ...d, direction: 'download' as const, interrupted: !running && open.has(d.state) }));
}

export const downloadCommands: Record<string, CommandSpec> = { download };
