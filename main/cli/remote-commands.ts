/**
 * The CLI's commands when another process runs the engine on the same home (`run`, `ui` or the desktop app hold its
 * lock): they talk to it through its control socket (main/bridge/control-socket.ts, the app's contract) instead of
 * failing with "busy". Output follows the local commands' formats; what the running engine does afterwards (an
 * upload that is still going when this command is interrupted, a pass asked for) it keeps doing.
 */
import { resolve, sep } from 'node:path';
import type { ControlClient } from '../bridge/control-socket.js';
import { toUri } from '../engine/api/uri.js';
import { EngineError } from '../engine/errors.js';
import type { ErrorData, EventMap, EventName, MethodValue, PairDto, Result, TransferDto } from '../ipc/contract.js';
import { UsageError, type CliContext, type ParsedArgs } from './command.js';
import { WaitLines } from './format.js';
import { interrupted } from './shared.js';

const TERMINAL = new Set(['done', 'skipped', 'failed', 'cancelled']);

/** The value of a Result, or its error as an EngineError (so main/cli.ts prints and exits as for a local failure). */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new EngineError(r.error.code as ConstructorParameters<typeof EngineError>[0], (r.error as ErrorData).message);
}

export function sayRemote(ctx: CliContext): void {
  ctx.stderr.write('(another cloudreve-sync process runs this home: sent to it through its control socket)\n');
}

/** The flags that tune a whole process's uploads, and what the running process calls them. */
const PROCESS_FLAGS: Record<string, string> = {
  'limit-rate': 'bandwidth limit (bandwidthLimit)',
  concurrency: 'number of files in flight (maxActiveFiles)',
  'chunk-concurrency': 'number of parts in flight per file (chunkConcurrencyCap)',
};

/**
 * Refuses, before anything reaches the running engine, the flags it cannot honour for one command: it has one
 * bandwidth limit and one number of files/parts in flight for all its transfers (its settings, or its own
 * `run --limit-rate`), not one per command. Silently dropping them would run the command unlimited.
 */
export function refuseProcessFlags(args: ParsedArgs, command: string): void {
  const given = Object.keys(PROCESS_FLAGS).filter((f) => args.flags[f] !== undefined);
  if (given.length === 0) return;
  throw new UsageError(
    `${given.map((f) => `--${f}`).join(', ')}: another cloudreve-sync process (run, ui or the app) runs this home and ${command} goes to it, ` +
      `but it uses one ${given.map((f) => PROCESS_FLAGS[f]).join(' and one ')} for all its transfers and cannot take one for this command alone. ` +
      `Leave the flag out, change that setting in the running process (the app's or the browser UI's settings; \`run --limit-rate\`), or stop it and run the command again`,
  );
}

/**
 * Queues paths in the running engine and follows them to the end, printing as `upload` does. Ctrl-C stops
 * following; the running engine keeps uploading.
 */
export async function remoteUpload(
  ctx: CliContext,
  control: ControlClient,
  req: { paths: string[]; to: string; ifExists?: 'skip' | 'overwrite' | 'rename'; priority?: number; json: boolean },
): Promise<number> {
  const emit = (obj: unknown) => ctx.stdout.write(JSON.stringify(obj) + '\n');
  const finalState = new Map<string, TransferDto>();
  let mine: Set<string> | null = null;
  const early: TransferDto[] = [];
  let wake = () => {};
  const onEvent = <E extends EventName>(name: E, payload: EventMap[E]) => {
    if (name === 'transfer-state-changed') {
      const { transfer: t, from } = payload as EventMap['transfer-state-changed'];
      if (mine === null) return void early.push(t);
      if (!mine.has(t.id)) return;
      report(t, from);
    } else if (name === 'transfer-progressed' && req.json) {
      const p = payload as EventMap['transfer-progressed'];
      if (mine?.has(p.id)) emit({ event: 'progress', id: p.id, bytes: p.bytesDone, speed: Math.round(p.speed), eta: p.eta });
    }
  };
  const waitLines = new WaitLines();
  const report = (t: TransferDto, from: string | null) => {
    if (req.json) emit({ event: 'state', id: t.id, path: t.localPath, uri: t.targetUri, from: from ?? undefined, state: t.state, error: t.error ?? undefined, retry_at: t.retryAt ?? undefined });
    else {
      const line = waitLines.line(t);
      if (line) ctx.stdout.write(`${line}\n`);
    }
    if (TERMINAL.has(t.state)) {
      finalState.set(t.id, t);
      wake();
    }
  };
  const stop = await control.events(onEvent); // before queuing, so no state change is missed
  const sig = interrupted();
  try {
    if (!req.json) sayRemote(ctx);
    const res: MethodValue<'enqueueUpload'> = unwrap(await control.invoke('enqueueUpload', req.paths, req.to, { ifExists: req.ifExists, priority: req.priority }));
    mine = new Set(res.ids);
    for (const t of early) if (mine.has(t.id)) report(t, null);
    const failedSkips = res.skipped.filter((s) => s.failure);
    for (const s of res.skipped) ctx.stderr.write(`${s.failure ? 'failed' : 'warning'}: ${s.path}: ${s.reason}\n`);
    // anything that finished before the stream told us
    for (const t of unwrap(await control.invoke('listTransfers'))) if (mine.has(t.id) && TERMINAL.has(t.state) && !finalState.has(t.id)) report(t, null);
    let stopped = false;
    void sig.promise.then(() => {
      stopped = true;
      wake();
    });
    while (!stopped && finalState.size < mine.size) await new Promise<void>((r) => (wake = r));
    if (stopped) {
      ctx.stderr.write('stopped following: the running engine goes on with the uploads (`cloudreve-sync transfers`)\n');
      return 130;
    }
    const results = [...finalState.values()];
    const done = results.filter((t) => t.state === 'done').length;
    const skipped = results.filter((t) => t.state === 'skipped').length;
    const failed = results.filter((t) => t.state === 'failed' || t.state === 'cancelled');
    const failedCount = failed.length + failedSkips.length;
    if (req.json) emit({ event: 'summary', uploaded: done, skipped, failed: failedCount });
    else {
      if (mine.size === 0) ctx.stdout.write('nothing to upload\n');
      ctx.stdout.write(`${done} uploaded, ${skipped} skipped, ${failedCount} failed\n`);
      for (const t of failed) ctx.stderr.write(`failed: ${t.localPath}: ${t.error?.message ?? t.state}\n`);
    }
    return failedCount > 0 ? 1 : 0;
  } finally {
    sig.dispose();
    stop();
  }
}

const DOWNLOAD_ENDS = new Set(['done', 'conflict', 'skipped', 'failed', 'cancelled']);

/**
 * `download` through the running engine: the remote files and folders are queued in its transfer queue (into the
 * folder given, on that machine: the same one, the socket is local) and followed to their end, printed as `download`
 * does. Ctrl-C stops following; the running engine keeps downloading.
 */
export async function remoteDownload(
  ctx: CliContext,
  control: ControlClient,
  req: { uris: string[]; dir: string; ifExists?: 'skip' | 'overwrite' | 'rename'; json: boolean },
): Promise<number> {
  const emit = (obj: unknown) => ctx.stdout.write(JSON.stringify(obj) + '\n');
  const ended = new Map<string, TransferDto>();
  let mine: Set<string> | null = null;
  const early: Array<{ t: TransferDto; from: string | null }> = [];
  let wake = () => {};
  const report = (t: TransferDto, from: string | null) => {
    if (req.json) emit({ event: 'state', id: t.id, uri: t.targetUri, path: t.localPath, from: from ?? undefined, state: t.state, error: t.error ?? undefined, retry_at: t.retryAt ?? undefined });
    else if (t.state === 'done') ctx.stdout.write(`downloaded ${t.targetUri} → ${t.localPath}\n`);
    else if (t.state === 'conflict') ctx.stdout.write(`conflict ${t.targetUri}: the local file was kept, the download is ${t.localPath}\n`);
    else if (t.state === 'skipped') ctx.stdout.write(`skipped ${t.localPath}\n`);
    else if (t.state === 'failed') ctx.stdout.write(`FAILED ${t.targetUri}: ${t.error?.message ?? 'unknown error'}\n`);
    if (DOWNLOAD_ENDS.has(t.state) && !ended.has(t.id)) {
      ended.set(t.id, t);
      wake();
    }
  };
  const stop = await control.events((name, payload) => {
    if (name === 'transfer-state-changed') {
      const { transfer: t, from } = payload as EventMap['transfer-state-changed'];
      if (t.direction !== 'download') return;
      if (mine === null) return void early.push({ t, from });
      if (mine.has(t.id)) report(t, from);
    } else if (name === 'transfer-progressed' && req.json) {
      const p = payload as EventMap['transfer-progressed'];
      if (mine?.has(p.id)) emit({ event: 'progress', id: p.id, bytes: p.bytesDone, speed: Math.round(p.speed), eta: p.eta });
    }
  }); // before queuing, so no state change is missed
  const sig = interrupted();
  try {
    if (!req.json) sayRemote(ctx);
    const res: MethodValue<'enqueueDownload'> = unwrap(await control.invoke('enqueueDownload', req.uris, req.dir, { ifExists: req.ifExists }));
    mine = new Set(res.ids);
    for (const e of early) if (mine.has(e.t.id)) report(e.t, e.from);
    const failedSkips = res.skipped.filter((s) => s.failure);
    for (const s of res.skipped) {
      if (req.json) emit({ event: 'log', level: 'warn', message: `${s.uri}: ${s.reason}` });
      else ctx.stderr.write(`warning: ${s.uri}: ${s.reason}\n`);
    }
    // anything that ended before the stream told us
    for (const t of unwrap(await control.invoke('listTransfers'))) if (mine.has(t.id) && DOWNLOAD_ENDS.has(t.state) && !ended.has(t.id)) report(t, null);
    let stopped = false;
    void sig.promise.then(() => {
      stopped = true;
      wake();
    });
    while (!stopped && ended.size < mine.size) await new Promise<void>((r) => (wake = r));
    if (stopped) {
      ctx.stderr.write('stopped following: the running engine goes on with the downloads (`cloudreve-sync transfers`)\n');
      return 130;
    }
    const results = [...ended.values()];
    const done = results.filter((t) => t.state === 'done').length;
    const conflicts = results.filter((t) => t.state === 'conflict').length;
    const skipped = results.filter((t) => t.state === 'skipped').length;
    const failed = results.filter((t) => t.state === 'failed' || t.state === 'cancelled');
    const failedCount = failed.length + failedSkips.length;
    if (req.json) emit({ event: 'summary', downloaded: done, skipped, failed: failedCount, ...(conflicts ? { conflicts } : {}) });
    else {
      if (mine.size === 0 && failedCount === 0) ctx.stdout.write('nothing to download\n');
      ctx.stdout.write(`${done} downloaded, ${skipped} skipped, ${failedCount} failed${conflicts ? `, ${conflicts} kept as conflict copies` : ''}\n`);
      for (const t of failed) ctx.stderr.write(`failed: ${t.targetUri}: ${t.error?.message ?? t.state}\n`);
      for (const s of failedSkips) ctx.stderr.write(`failed: ${s.uri}: ${s.reason}\n`);
    }
    return failedCount > 0 ? 1 : 0;
  } finally {
    sig.dispose();
    stop();
  }
}

/** `resume [ID...]` / `cancel ID...` / `pause [ID...]` on the running engine (`json`: one JSON line per action). */
export async function remoteTransferVerb(ctx: CliContext, control: ControlClient, verb: 'pause' | 'resume' | 'cancel', ids: string[], json = false): Promise<number> {
  if (!json) sayRemote(ctx);
  const done = verb === 'cancel' ? 'cancelled' : verb === 'pause' ? 'paused' : 'resumed';
  if (ids.length === 0) {
    unwrap(await control.invoke(verb === 'pause' ? 'pause' : 'resume'));
    ctx.stdout.write(json ? JSON.stringify({ event: done, all: true }) + '\n' : verb === 'pause' ? 'paused every transfer\n' : 'resumed every paused transfer\n');
    return 0;
  }
  const known = new Set(unwrap(await control.invoke('listTransfers')).map((t) => t.id));
  for (const id of ids) {
    if (!known.has(id)) throw new EngineError('not-found', `no transfer ${id} (\`cloudreve-sync transfers\` lists them)`);
    unwrap(await (verb === 'cancel' ? control.invoke('cancel', id) : control.invoke(verb, id)));
    ctx.stdout.write(json ? JSON.stringify({ event: done, id }) + '\n' : `${done} ${id}\n`);
  }
  return 0;
}

/**
 * `sync --watch` through the control socket: the running process watches its configured pair anyway; this prints
 * what it does with it (state changes, conflicts, finished uploads under the folder) until Ctrl-C, which stops only
 * the following (exit 130, as a local `sync --watch`).
 */
export async function followRemotePair(ctx: CliContext, control: ControlClient, pair: PairDto, json: boolean, describe: (p: PairDto) => string): Promise<number> {
  const line = (obj: Record<string, unknown>, text: string) => ctx.stdout.write(json ? JSON.stringify(obj) + '\n' : `${text}\n`);
  const root = resolve(pair.localPath);
  const under = (path: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
  const stop = await control.events((name, payload) => {
    if (name === 'pair-changed') {
      const p = payload as EventMap['pair-changed'];
      if (p.id === pair.id) line({ event: 'pair', id: p.id, state: p.state, detail: p.stateDetail }, describe(p));
    } else if (name === 'conflict-added') {
      const c = payload as EventMap['conflict-added'];
      if (c.pairId === pair.id) line({ event: 'conflict', ...c }, `conflict: ${c.relPath} — both kept, ours is ${c.conflictUri}`);
    } else if (name === 'transfer-state-changed') {
      const t = (payload as EventMap['transfer-state-changed']).transfer;
      if ((t.state === 'done' || t.state === 'conflict' || t.state === 'failed') && under(t.localPath)) {
        // the pair's downloads (two-way) are transfers too: said as such
        const down = t.direction === 'download';
        const word = t.state === 'failed' ? 'failed  ' : t.state === 'conflict' ? 'downloaded (as a conflict copy)' : down ? 'downloaded' : 'uploaded';
        line({ event: 'transfer', id: t.id, direction: t.direction, path: t.localPath, state: t.state, error: t.error ?? undefined }, `${word} ${t.localPath}${t.error ? `  (${t.error.message})` : ''}`);
      }
    }
  });
  ctx.stderr.write('watching for changes (the running process syncs them); Ctrl-C stops following\n');
  const sig = interrupted();
  try {
    await sig.promise;
  } finally {
    sig.dispose();
    stop();
  }
  return 130;
}

/** A pair of the running engine by id or unique id prefix. */
export async function remotePair(control: ControlClient, id: string | undefined): Promise<PairDto> {
  if (!id) throw new EngineError('usage', 'a pair ID is needed (see `cloudreve-sync pairs list`)');
  const matches = unwrap(await control.invoke('listPairs')).filter((p) => p.id === id || p.id.startsWith(id));
  if (matches.length === 0) throw new EngineError('not-found', `no sync pair ${id}`);
  if (matches.length > 1) throw new EngineError('usage', `${id} matches several pairs; give more of the ID`);
  return matches[0];
}

/** The running engine's pair for this local folder and Cloudreve folder, if one is configured. */
export async function remotePairFor(control: ControlClient, local: string, remote: string): Promise<PairDto | null> {
  const localPath = resolve(local);
  let uri: string;
  try {
    uri = toUri(remote);
  } catch {
    return null;
  }
  const strip = (u: string) => u.replace(/\/+$/, '');
  return unwrap(await control.invoke('listPairs')).find((p) => resolve(p.localPath) === localPath && strip(p.remoteUri) === strip(uri)) ?? null;
}
