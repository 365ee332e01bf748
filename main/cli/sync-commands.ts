/**
 * `cloudreve-sync sync | pairs | run` — folder sync, headless.
 *
 *   sync <local-dir> <cloudreve-uri> [--watch] [--mode backup|mirror|two-way] [--dry-run] [--ignore PATTERN]... [--exclude-remote FOLDER]... [--json]
 *   pairs add <local-dir> <cloudreve-uri> [--mode backup|mirror] [--ignore PATTERN]... [--exclude-remote FOLDER]...
 *   pairs exclude ID FOLDER... | include ID FOLDER...   (selective sync: folders relative to the pair's folder)
 *   pairs list | remove ID | pause ID | resume ID | conflicts | resolve N keep-mine|keep-both|keep-theirs | issues [ID] | confirm ID COUNT | restore ID
 *   (pair IDs may be shortened)
 *   run      every configured pair in the foreground until Ctrl-C / SIGTERM (a headless daemon)
 *
 * Exit codes: 0 in sync, 1 some paths could not be synced or deletions are held back for confirmation,
 * 2 usage, 3/4 fatal (thrown to main/cli.ts), 130 interrupted.
 */
import { resolve } from 'node:path';
import type { Engine, PassReport, SyncPair } from '../engine/index.js';
import { toUri } from '../engine/api/uri.js';
import { EngineError } from '../engine/errors.js';
import type { ConflictChoice, SyncMode } from '../engine/types.js';
import { normalizeExcluded } from '../engine/sync/ignore-rules.js';
import { UsageError, type CliContext, type CommandSpec, type ParsedArgs } from './command.js';
import type { ControlClient } from '../bridge/control-socket.js';
import { interrupted, withEngine } from './shared.js';

const remoteCommands = () => import('./remote-commands.js');

function mode(args: ParsedArgs): SyncMode | undefined {
  const m = args.flags.mode;
  if (m === undefined) return undefined;
  if (m !== 'backup' && m !== 'mirror' && m !== 'two-way') throw new UsageError(`--mode must be backup, mirror or two-way, not "${String(m)}"`);
  return m;
}

function patterns(args: ParsedArgs): string[] {
  const v = args.flags.ignore;
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** --exclude-remote FOLDER (repeatable); undefined when not given (a configured pair keeps its own list). */
function excludedFlag(args: ParsedArgs): string[] | undefined {
  const v = args.flags['exclude-remote'];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined;
}

/**
 * `pairs exclude|include ID FOLDER...`: the pair's new list. Including a folder inside an excluded one cannot be
 * said (the list holds whole folders): the command says what to do instead.
 */
export function changeExcluded(current: readonly string[], verb: 'exclude' | 'include', given: readonly string[]): string[] {
  if (given.length === 0) throw new UsageError(`pairs ${verb} needs a pair ID and one or more folders (relative to the pair's folder)`);
  const folders = normalizeExcluded(given);
  if (verb === 'exclude') return normalizeExcluded([...current, ...folders]);
  for (const f of folders) {
    if (current.includes(f)) continue;
    const outer = current.find((c) => f.startsWith(`${c}/`));
    if (outer) throw new UsageError(`${f} is inside the excluded folder ${outer}: include ${outer}, then exclude its other folders`);
    throw new UsageError(`${f} is not excluded (excluded: ${current.join(', ') || 'nothing'})`);
  }
  return current.filter((c) => !folders.includes(c));
}

/** A cloudreve:// URI as a person reads it: its path segments decoded (`doc (conflict …).txt`, not `doc%20(…`). */
export function readableUri(uri: string): string {
  const m = /^(cloudreve:\/\/[^/]*)(\/.*)?$/.exec(uri);
  if (!m || !m[2]) return uri;
  return m[1] + m[2].split('/').map((seg) => {
    try {
      return decodeURIComponent(seg);
    } catch {
      return seg;
    }
  }).join('/');
}

/**
 * The pass's outcome, file by file. Exit 0 only when every file the pass looked at is on the server: a failed
 * upload, a path that cannot be synced, one still waiting for a retry, or deletions held back make it 1.
 */
function printReport(ctx: CliContext, r: PassReport, json: boolean): number {
  if (json) {
    ctx.stdout.write(JSON.stringify({ event: 'pass', ...r }) + '\n');
  } else {
    const verb = r.dryRun ? 'would ' : '';
    for (const a of r.actions) {
      if (a.action === 'upload' || a.action === 'conflict') continue; // their outcome is printed below
      ctx.stdout.write(`${verb}${a.action.padEnd(13)} ${a.from ? `${a.from} → ` : ''}${a.rel}${a.reason ? `  (${a.reason})` : ''}\n`);
    }
    if (r.dryRun) {
      for (const a of r.actions) if (a.action === 'upload' || a.action === 'conflict') ctx.stdout.write(`${verb}${a.action.padEnd(13)} ${a.rel}${a.reason ? `  (${a.reason})` : ''}\n`);
    }
    for (const o of r.outcomes) {
      if (o.result === 'uploaded') ctx.stdout.write(`uploaded      ${o.rel}\n`);
      else if (o.result === 'conflict') ctx.stdout.write(`conflict      ${o.rel}  (both kept; ours is ${readableUri(o.conflictUri ?? '')})\n`);
      else if (o.result === 'waiting') ctx.stdout.write(`waiting       ${o.rel}  (${o.reason ?? 'paused'}; not on the server yet)\n`);
    }
    for (const p of r.problems) ctx.stderr.write(`not synced ${p.rel}: ${p.reason}\n`);
    if (r.remoteRootMissing) ctx.stderr.write(`the folder on the server was gone: everything was uploaded again (nothing was deleted)\n`);
    if (r.blocked) {
      ctx.stderr.write(`deletions held back: ${r.blocked.message}\n`);
      for (const path of r.blocked.paths) ctx.stderr.write(`  would trash ${path}\n`);
      if (r.blocked.pendingDeletes > r.blocked.paths.length) ctx.stderr.write(`  … and ${r.blocked.pendingDeletes - r.blocked.paths.length} more\n`);
    }
    if (!r.dryRun) {
      ctx.stdout.write(
        `${r.uploads} uploaded, ${r.failed} failed, ${r.moved} renamed or moved, ${r.foldersCreated} folders created, ${r.recorded} already there, ${r.deleted} moved to the server's trash, ${r.conflicts} conflicts kept` +
          `${r.waiting ? `, ${r.waiting} waiting` : ''}\n`,
      );
      if (r.notSynced > 0) ctx.stderr.write(`${r.notSynced} path(s) of this folder are not on the server (\`cloudreve-sync pairs issues\` lists them with the reason)\n`);
    } else if (r.actions.length === 0) ctx.stdout.write('nothing to do\n');
  }
  if (r.dryRun) return r.problems.length > 0 || r.blocked ? 1 : 0;
  return r.problems.length > 0 || r.failed > 0 || r.waiting > 0 || r.notSynced > 0 || r.blocked ? 1 : 0;
}

/** A pair by id or unique id prefix. */
function findPair(engine: Engine, id: string | undefined): SyncPair {
  if (!id) throw new UsageError('a pair ID is needed (see `cloudreve-sync pairs list`)');
  const matches = engine.sync.listPairs().filter((p) => p.id === id || p.id.startsWith(id));
  if (matches.length === 0) throw new EngineError('not-found', `no sync pair ${id}`);
  if (matches.length > 1) throw new UsageError(`${id} matches several pairs; give more of the ID`);
  return matches[0];
}

function describePair(p: Pick<SyncPair, 'id' | 'mode' | 'paused' | 'state' | 'localPath' | 'remoteUri' | 'ignore'> & { excludeRemote?: string[]; stateDetail: { message: string; paths?: string[] | null } | null }): string {
  const state = p.paused ? 'paused' : p.state;
  const paths = p.stateDetail?.paths?.length ? `\n${p.stateDetail.paths.map((x) => `    would trash ${x}`).join('\n')}` : '';
  const detail = p.stateDetail ? `  (${p.stateDetail.message})${paths}` : '';
  return `${p.id.slice(0, 8)}  ${p.mode.padEnd(6)}  ${state.padEnd(18)} ${p.localPath} → ${p.remoteUri}${p.ignore.length ? `  ignore: ${p.ignore.join(' ')}` : ''}${p.excludeRemote?.length ? `  excluded: ${p.excludeRemote.join(' ')}` : ''}${detail}`;
}

const sync: CommandSpec = {
  summary: 'sync a local folder to a Cloudreve folder once (or keep watching with --watch)',
  usage: 'sync <local-dir> <cloudreve-uri|folder> [--watch] [--mode backup|mirror|two-way] [--dry-run] [--ignore PATTERN]... [--exclude-remote FOLDER]... [--json]',
  flags: {
    watch: { type: 'boolean', help: 'after the pass, keep watching the folder and sync changes until Ctrl-C' },
    mode: { type: 'string', value: 'backup|mirror|two-way', help: 'backup (default) never deletes; mirror moves local deletions to the server trash; two-way also brings the server\'s changes down' },
    'dry-run': { type: 'boolean', help: 'print what would be done, change nothing' },
    ignore: { type: 'string', multiple: true, value: 'PATTERN', help: 'gitignore-style pattern to leave out (repeatable), on top of the default litter list' },
    'exclude-remote': { type: 'string', multiple: true, value: 'FOLDER', help: 'a folder (relative to the pair\'s folder) left out on both sides: neither transferred nor deleted (repeatable)' },
    json: { type: 'boolean', help: 'one JSON object per line' },
    'limit-rate': { type: 'string', value: 'RATE', help: 'upload bandwidth limit, e.g. 10M, 512k, off' },
  },
  async run(ctx, args) {
    const [local, remote, extra] = args.positionals;
    if (!local || !remote || extra !== undefined) throw new UsageError('sync needs exactly a local folder and a Cloudreve folder');
    const dryRun = args.flags['dry-run'] === true;
    if (dryRun && args.flags.watch) throw new UsageError('--dry-run and --watch do not go together');
    const json = args.flags.json === true;
    return withEngine(ctx, args, async (engine) => {
      // no --ignore: a configured pair keeps its own rules (an empty list would drop them for this pass)
      const spec = { localPath: local, remoteUri: remote, mode: mode(args), ignore: patterns(args).length > 0 ? patterns(args) : undefined, excludeRemote: excludedFlag(args), dryRun };
      const report = await engine.sync.syncOnce(spec);
      const first = printReport(ctx, report, json);
      if (!args.flags.watch) return first;
      const stopWatching = await engine.sync.follow(report.pairId);
      const off = logEvents(ctx, engine, json);
      ctx.stderr.write('watching for changes; Ctrl-C to stop\n');
      const sig = interrupted();
      await sig.promise;
      sig.dispose();
      off();
      await stopWatching();
      return 130;
    }, false, async (control) => {
      // Another process runs the engine here. Every flag is honoured through it or the command is refused, saying why.
      const { followRemotePair, refuseProcessFlags, remotePairFor, sayRemote, unwrap } = await remoteCommands();
      const m = mode(args);
      const ignore = args.flags.ignore === undefined ? undefined : patterns(args);
      const excludeRemote = excludedFlag(args);
      if (dryRun) {
        // changes nothing, uploads nothing (--limit-rate has nothing to limit): the running engine looks at the folder
        // with this command's --mode and --ignore (a configured pair's own when not given) and says what it would do
        if (!json) sayRemote(ctx);
        const r = unwrap(await control.invoke('previewSync', { localPath: resolve(local), remoteUri: toUri(remote), ...(m ? { mode: m } : {}), ...(ignore ? { ignore } : {}), ...(excludeRemote ? { excludeRemote } : {}) }));
        const none = { queued: 0, uploads: 0, failed: 0, conflicts: 0, waiting: 0, foldersCreated: 0, recorded: 0, deleted: 0, moved: 0, trashed: [], outcomes: [], durationMs: 0 };
        return printReport(ctx, { ...none, ...r } as unknown as PassReport, json);
      }
      refuseProcessFlags(args, 'sync');
      // the running engine syncs its configured pairs: ask it for a pass of this one, if it is one
      const p = await remotePairFor(control, local, remote);
      if (!p) {
        throw new EngineError(
          'busy',
          `another cloudreve-sync process runs this home; a one-off sync cannot run beside it. Add the folder as a pair (\`cloudreve-sync pairs add ${local} ${remote}\`) and the running process syncs it (\`sync --dry-run\` works through it)`,
        );
      }
      // its pass follows the pair's settings: a different mode or ignore list for this pass alone cannot go through it
      if (m !== undefined && m !== p.mode) {
        throw new UsageError(`--mode ${m}: another cloudreve-sync process runs this home and syncs this pair in ${p.mode} mode; a pass through it follows the pair's settings. Leave --mode out (or change the pair's mode in the app or the browser UI)`);
      }
      if (ignore !== undefined && [...new Set(ignore)].sort().join('\n') !== [...new Set(p.ignore)].sort().join('\n')) {
        throw new UsageError(`--ignore: another cloudreve-sync process runs this home and syncs this pair with its own ignore rules (${p.ignore.join(' ') || 'none'}); a pass through it follows them. Leave --ignore out (or change the pair's rules in the app or the browser UI)`);
      }
      if (excludeRemote !== undefined && normalizeExcluded(excludeRemote).join('\n') !== p.excludeRemote.join('\n')) {
        throw new UsageError(`--exclude-remote: another cloudreve-sync process runs this home and syncs this pair with its own excluded folders (${p.excludeRemote.join(' ') || 'none'}); a pass through it follows them. Leave --exclude-remote out (or use \`cloudreve-sync pairs exclude|include\`)`);
      }
      if (!json) sayRemote(ctx);
      unwrap(await control.invoke('syncNow', p.id));
      ctx.stdout.write(json ? JSON.stringify({ event: 'sync-requested', pairId: p.id }) + '\n' : `asked for a pass of ${describePair(p)}\n(\`cloudreve-sync pairs list\` shows its state)\n`);
      return args.flags.watch ? followRemotePair(ctx, control, p, json, describePair) : 0;
    });
  },
};

/** One line per pair state change, conflict and finished upload while running in the foreground. */
function logEvents(ctx: CliContext, engine: Engine, json: boolean): () => void {
  const line = (obj: Record<string, unknown>, text: string) => ctx.stdout.write(json ? JSON.stringify(obj) + '\n' : `${text}\n`);
  const offs = [
    engine.events.on('pair-changed', (p) => line({ event: 'pair', id: p.id, state: p.state, detail: p.stateDetail }, describePair(p))),
    engine.events.on('sync-conflict', (c) => line({ event: 'conflict', ...c }, `conflict: ${c.relPath} — both kept, ours is ${readableUri(c.conflictUri)}`)),
    engine.events.on('sync-conflict-resolved', ({ conflict: c, choice }) => line({ event: 'conflict-resolved', id: c.id, relPath: c.relPath, choice }, `conflict resolved: ${c.relPath} — ${choice}`)),
    engine.events.on('sync-trashed', ({ pairId, paths }) => {
      for (const rel of paths) line({ event: 'trashed', pairId, path: rel }, `moved to the server's trash: ${rel}`);
    }),
    engine.events.on('transfer-state-changed', ({ transfer: t }) => {
      if (t.state === 'done' || t.state === 'failed') {
        line({ event: 'transfer', id: t.id, path: t.localPath, state: t.state, error: t.error ?? undefined }, `${t.state === 'done' ? 'uploaded' : 'failed  '} ${t.localPath}${t.error ? `  (${t.error.message})` : ''}`);
      }
    }),
    engine.events.on('log', (l) => {
      if (l.level === 'warn' || l.level === 'error') ctx.stderr.write(`${l.message}\n`);
    }),
  ];
  return () => offs.forEach((o) => o());
}

const pairs: CommandSpec = {
  summary: 'configure the folders `run` and the app keep in sync: add, list, exclude, include, remove, pause, resume, conflicts, confirm',
  usage:
    'pairs add <local-dir> <cloudreve-uri> [--mode backup|mirror|two-way] [--ignore PATTERN]... [--exclude-remote FOLDER]... | exclude ID FOLDER... | include ID FOLDER... | list | remove ID | pause ID | resume ID | conflicts | resolve N keep-mine|keep-both | issues [ID] | confirm ID COUNT | restore ID  [--json]',
  flags: {
    mode: { type: 'string', value: 'backup|mirror|two-way', help: 'pairs add: backup (default), mirror or two-way' },
    ignore: { type: 'string', multiple: true, value: 'PATTERN', help: 'pairs add: gitignore-style pattern to leave out (repeatable)' },
    'exclude-remote': { type: 'string', multiple: true, value: 'FOLDER', help: 'pairs add: a folder (relative to the pair\'s folder) left out on both sides (repeatable); later: pairs exclude|include' },
    json: { type: 'boolean', help: 'JSON output' },
  },
  async run(ctx, args) {
    const [verb, ...rest] = args.positionals;
    const json = args.flags.json === true;
    const out = (obj: unknown, text: string) => ctx.stdout.write(json ? JSON.stringify(obj) + '\n' : `${text}\n`);
    /** the same verb on the engine another process runs here (its control socket) */
    const viaControl = async (control: ControlClient): Promise<number> => {
      const { remotePair, sayRemote, unwrap } = await remoteCommands();
      if (!json) sayRemote(ctx);
      switch (verb) {
        case 'add': {
          const p = unwrap(await control.invoke('addPair', { localPath: resolve(rest[0]), remoteUri: toUri(rest[1]), mode: mode(args) ?? 'backup', ignore: patterns(args), excludeRemote: excludedFlag(args) ?? [] }));
          out(p, `added ${describePair(p)}`);
          return 0;
        }
        case 'list': {
          const list = unwrap(await control.invoke('listPairs'));
          if (json) out(list, '');
          else if (list.length === 0) ctx.stdout.write('no sync pairs (add one with `cloudreve-sync pairs add <folder> <cloudreve-uri>`)\n');
          else for (const p of list) ctx.stdout.write(`${describePair(p)}\n`);
          return 0;
        }
        case 'remove': {
          const p = await remotePair(control, rest[0]);
          unwrap(await control.invoke('removePair', p.id));
          out({ removed: p.id }, `removed ${p.id.slice(0, 8)} (no file was deleted anywhere)`);
          return 0;
        }
        case 'pause':
        case 'resume': {
          const p = await remotePair(control, rest[0]);
          const q = unwrap(await (verb === 'pause' ? control.invoke('pausePair', p.id) : control.invoke('resumePair', p.id)));
          out(q, describePair(q));
          return 0;
        }
        case 'conflicts': {
          const list = unwrap(await control.invoke('listConflicts'));
          if (json) out(list, '');
          else if (list.length === 0) ctx.stdout.write('no conflicts\n');
          else for (const c of list) ctx.stdout.write(describeConflict(c));
          return 0;
        }
        case 'issues': {
          const list = unwrap(await control.invoke('listSyncIssues', rest[0] ? (await remotePair(control, rest[0])).id : undefined));
          if (json) out(list, '');
          else printIssues(ctx, list);
          return 0;
        }
        case 'exclude':
        case 'include': {
          const p = await remotePair(control, rest[0]);
          const q = unwrap(await control.invoke('setExcludedFolders', p.id, changeExcluded(p.excludeRemote, verb, rest.slice(1))));
          out(q, describePair(q));
          return 0;
        }
        case 'resolve': {
          const [id, choice] = conflictArgs(rest);
          const c = unwrap(await control.invoke('resolveConflict', id, choice));
          out({ resolved: c.id, choice }, `conflict ${c.id} (${c.relPath}): ${choice}`);
          return 0;
        }
        case 'restore': {
          const p = await remotePair(control, rest[0]);
          unwrap(await control.invoke('restoreRemote', p.id));
          out({ restoring: p.id }, `restoring: the running process uploads ${p.localPath} to ${p.remoteUri} again (nothing is trashed); \`pairs list\` tells when it is done`);
          return 0;
        }
        default: {
          const p = await remotePair(control, rest[0]);
          unwrap(await control.invoke('confirmDeletes', p.id, Number(rest[1])));
          out({ confirmed: p.id, count: Number(rest[1]) }, `confirmed: the running process goes ahead with the ${rest[1]} deletion(s) of ${p.id.slice(0, 8)}`);
          return 0;
        }
      }
    };
    switch (verb) {
      case 'add': {
        const [local, remote, extra] = rest;
        if (!local || !remote || extra !== undefined) throw new UsageError('pairs add needs a local folder and a Cloudreve folder');
        return withEngine(ctx, args, async (engine) => {
          const p = engine.sync.addPair({ localPath: local, remoteUri: remote, mode: mode(args), ignore: patterns(args), excludeRemote: excludedFlag(args) });
          out(p, `added ${describePair(p)}`);
          return 0;
        }, false, viaControl);
      }
      case 'list':
        return withEngine(ctx, args, async (engine) => {
          const list = engine.sync.listPairs();
          if (json) out(list, '');
          else if (list.length === 0) ctx.stdout.write('no sync pairs (add one with `cloudreve-sync pairs add <folder> <cloudreve-uri>`)\n');
          else for (const p of list) ctx.stdout.write(`${describePair(p)}\n`);
          return 0;
        }, false, viaControl);
      case 'remove':
      case 'pause':
      case 'resume':
        return withEngine(ctx, args, async (engine) => {
          const p = findPair(engine, rest[0]);
          if (verb === 'remove') {
            await engine.sync.removePair(p.id);
            out({ removed: p.id }, `removed ${p.id.slice(0, 8)} (no file was deleted anywhere)`);
          } else {
            const q = verb === 'pause' ? engine.sync.pausePair(p.id) : engine.sync.resumePair(p.id);
            out(q, describePair(q));
          }
          return 0;
        }, false, viaControl);
      case 'exclude':
      case 'include':
        if (!rest[0]) throw new UsageError(`pairs ${verb} needs a pair ID and one or more folders (relative to the pair's folder)`);
        changeExcluded([], 'exclude', rest.slice(1)); // a usage error before the engine starts
        return withEngine(ctx, args, async (engine) => {
          const p = findPair(engine, rest[0]);
          const q = engine.sync.setExcludedFolders(p.id, changeExcluded(p.excludeRemote, verb, rest.slice(1)));
          out(q, describePair(q));
          return 0;
        }, false, viaControl);
      case 'conflicts':
        return withEngine(ctx, args, async (engine) => {
          const list = engine.sync.conflicts();
          if (json) out(list, '');
          else if (list.length === 0) ctx.stdout.write('no conflicts\n');
          else for (const c of list) ctx.stdout.write(describeConflict(c));
          return 0;
        }, false, viaControl);
      case 'issues':
        return withEngine(ctx, args, async (engine) => {
          const list = engine.sync.issues(rest[0] ? findPair(engine, rest[0]).id : undefined);
          if (json) out(list, '');
          else printIssues(ctx, list);
          return 0;
        }, false, viaControl);
      case 'resolve': {
        const [id, choice] = conflictArgs(rest);
        return withEngine(ctx, args, async (engine) => {
          const c = await engine.sync.resolveConflict(id, choice);
          if (choice === 'keep-mine') await engine.idle();
          const left = engine.sync.conflicts().some((x) => x.id === id);
          out({ resolved: c.id, choice, open: left }, left ? `conflict ${c.id} (${c.relPath}): ${choice} did not finish; it stays listed (see the log above)` : `conflict ${c.id} (${c.relPath}): ${choice} done`);
          return left ? 1 : 0;
        }, false, viaControl);
      }
      case 'confirm': {
        const count = Number(rest[1]);
        if (!Number.isInteger(count) || count < 1) throw new UsageError('pairs confirm needs a pair ID and the number of deletions shown by `pairs list` (a two-way pair whose server folder is gone with nothing to trash: `pairs restore ID` uploads it again)');
        return withEngine(ctx, args, async (engine) => printReport(ctx, await engine.sync.confirmDeletes(findPair(engine, rest[0]).id, count), json), false, viaControl);
      }
      case 'restore':
        if (!rest[0] || rest.length > 1) throw new UsageError('pairs restore needs a pair ID (a two-way pair whose folder on the server is gone)');
        return withEngine(ctx, args, async (engine) => printReport(ctx, await engine.sync.restoreRemote(findPair(engine, rest[0]).id), json), false, viaControl);
      default:
        throw new UsageError(verb ? `unknown pairs command "${verb}"` : 'pairs needs a command: add, list, exclude, include, remove, pause, resume, conflicts, resolve, issues, confirm or restore');
    }
  },
};

function describeConflict(c: { id: number; createdAt: number; relPath: string; remoteUri: string; conflictUri: string; reason: string }): string {
  return `${String(c.id).padStart(4)}  ${new Date(c.createdAt).toISOString()}  ${c.relPath}: theirs at ${readableUri(c.remoteUri)}, ours at ${readableUri(c.conflictUri)} (${c.reason})\n`;
}

function printIssues(ctx: CliContext, list: ReadonlyArray<{ relPath: string; code: string; message: string; retryAt: number | null }>): void {
  if (list.length === 0) {
    ctx.stdout.write('every path is on the server\n');
    return;
  }
  for (const i of list) {
    const retry = i.retryAt ? `  (tried again ${new Date(i.retryAt).toISOString()} or when it changes)` : '';
    ctx.stdout.write(`${i.code.padEnd(13)} ${i.relPath}: ${i.message}${retry}\n`);
  }
}

function conflictArgs(rest: string[]): [number, ConflictChoice] {
  const id = Number(rest[0]);
  const choice = rest[1];
  if (!Number.isInteger(id) || id < 1) throw new UsageError('pairs resolve needs a conflict number (see `cloudreve-sync pairs conflicts`) and keep-mine, keep-both or keep-theirs');
  if (choice !== 'keep-mine' && choice !== 'keep-both' && choice !== 'keep-theirs') throw new UsageError(`resolve with keep-mine, keep-both or keep-theirs, not "${String(choice)}"`);
  return [id, choice];
}

const run: CommandSpec = {
  summary: 'run every configured sync pair in the foreground until stopped (a headless daemon)',
  usage: 'run [--limit-rate 10M] [--download-limit-rate 10M] [--json]',
  flags: {
    json: { type: 'boolean', help: 'one JSON object per line' },
    'limit-rate': { type: 'string', value: 'RATE', help: 'upload bandwidth limit, e.g. 10M, 512k, off' },
    'download-limit-rate': { type: 'string', value: 'RATE', help: 'download bandwidth limit (two-way pairs), e.g. 10M, 512k, off; default: the setting downloadBandwidthLimit' },
  },
  async run(ctx, args) {
    return withEngine(
      ctx,
      args,
      async (engine) => {
        const list = engine.sync.listPairs();
        if (list.length === 0) ctx.stderr.write('no sync pairs configured yet; waiting anyway (add one with `cloudreve-sync pairs add`)\n');
        const off = logEvents(ctx, engine, args.flags.json === true);
        const sig = interrupted();
        const services = await (await import('./engine-services.js')).startEngineServices(ctx, engine);
        try {
          await engine.sync.start();
          ctx.stderr.write(`syncing ${list.length} pair(s); Ctrl-C to stop${services.controlPath ? '; other commands on this home reach this process' : ''}\n`);
          await sig.promise;
        } finally {
          sig.dispose();
          off();
          await services.close();
          await engine.sync.stop();
        }
        return 0;
      },
      true,
    );
  },
};

export const syncCommands: Record<string, CommandSpec> = { sync, pairs, run };
