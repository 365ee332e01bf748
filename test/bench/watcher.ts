/**
 * Watcher section of `npm run bench`: our folder watcher (main/engine/watcher/watcher.ts) against @parcel/watcher
 * (the native watcher VS Code uses), each in its own child process (watcher-child.ts), alternating who goes first,
 * medians of BENCH_RUNS, on one tree of BENCH_WATCH_FILES files (default 100,000) in 1,000 folders made once in the
 * bench's scratch folder (BENCH_TMP or the system temp folder: on disk, see the first line it prints).
 * - start-up until ready (it would report a change from then on), RSS after it, CPU of BENCH_WATCH_IDLE_S seconds
 *   (default 10) of idling, RSS after the idle;
 * - latency: BENCH_WATCH_WRITES new files (default 20) in different folders, write → reported (median, p95), both
 *   with one 50 ms quiet window (see watcher-child.ts); a file written at once in a new folder; a folder of 10 files
 *   moved in;
 * - what changed while the app was not running: 100 files changed after @parcel/watcher's writeSnapshot, found
 *   by its getEventsSince (on Linux a brute-force walk of the tree compared with the snapshot) against what the
 *   product does at start today, a full discovery of the pair against the journal's records (local walk; remote
 *   listing from memory).
 * chokidar is not measured here (it is no longer installed); the README keeps its earlier figures.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { readLocal } from '../../main/engine/sync/discovery.js';
import type { SyncRecord } from '../../main/engine/sync/reconcile.js';
import { median, ROOT, type Harness } from './harness.js';

const FILES = Number(process.env.BENCH_WATCH_FILES ?? 100_000);
const FOLDERS = 1000;
const IDLE_S = Number(process.env.BENCH_WATCH_IDLE_S ?? 10);
const WRITES = Number(process.env.BENCH_WATCH_WRITES ?? 20);
const NEW_FOLDERS = 5;
const CHANGED = 100;

type Out = Record<string, any>;

/** The child as plain JavaScript beside the bundled runner (bundled here: scripts/bench.mjs bundles run and child only), or under tsx. */
async function childEntry(): Promise<string[]> {
  const src = join(ROOT, 'test/bench/watcher-child.ts');
  if (!import.meta.url.endsWith('.mjs')) return ['--import', 'tsx', src];
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'dist/bench/watcher-child.mjs');
  await build({ entryPoints: [src], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  return [outfile];
}

function runChild(entry: string[], args: string[]): Promise<Out> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', ...entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code, signal) => {
      if (err.trim()) console.error(`  (${args[0]} ${args[1]}: ${err.trim().slice(-300)})`);
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()!));
      else reject(new Error(`watcher child ${args.join(' ')} exited ${code ?? signal}: ${err.slice(-500)}`));
    });
  });
}

const fsName = (type: number) => ({ 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x9123683e: 'btrfs', 0x58465342: 'xfs', 0x794c7630: 'overlayfs' })[type] ?? `0x${type.toString(16)}`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const msF = (ms: number | null) => (ms === null || Number.isNaN(ms) ? 'n/a' : `${ms.toFixed(0)} ms`);

export async function watcherSection(h: Harness): Promise<void> {
  const root = join(h.root, 'watch-tree');
  const outside = join(h.root, 'watch-outside');
  const recordsFile = join(h.root, 'watch-records.json');
  const snapshot = join(h.root, 'watch-parcel.snapshot');
  mkdirSync(outside, { recursive: true });

  // the tree, once, and the journal's records of it (the state "when the app quit")
  const per = Math.ceil(FILES / FOLDERS);
  const tb = performance.now();
  const records: Array<[string, SyncRecord]> = [];
  for (let d = 0; d < FOLDERS; d++) {
    const folder = `d${String(d).padStart(4, '0')}`;
    mkdirSync(join(root, folder), { recursive: true });
    for (let f = 0; f < per && d * per + f < FILES; f++) writeFileSync(join(root, folder, `f${f}.txt`), `file ${d}/${f}`);
  }
  for (let d = 0; d < FOLDERS; d++) {
    const folder = `d${String(d).padStart(4, '0')}`;
    for (let f = 0; f < per && d * per + f < FILES; f++) {
      const l = readLocal(join(root, folder, `f${f}.txt`)) as { size: number; mtimeMs: number; inode: string };
      records.push([`${folder}/f${f}.txt`, { kind: 'file', size: l.size, mtimeMs: l.mtimeMs, inode: l.inode, remoteId: `${d}-${f}`, primaryEntity: `E${d}-${f}` }]);
    }
    const fl = readLocal(join(root, folder)) as { mtimeMs: number; inode: string };
    records.push([folder, { kind: 'folder', size: 0, mtimeMs: fl.mtimeMs, inode: fl.inode, remoteId: folder, primaryEntity: null }]);
  }
  writeFileSync(recordsFile, JSON.stringify(records));
  const entry = await childEntry();
  const loadStart = load();
  console.error(
    `  tree: ${FILES} files in ${FOLDERS} folders at ${root} (${fsName(Number(statfsSync(root).type))}, made in ${s(performance.now() - tb)}); ` +
      `load average ${load()}; inotify max_queued_events etc. as the system has them`,
  );

  // start-up, idle, latency: each watcher in its own process, alternating who goes first
  const runs: Record<'ours' | 'parcel', Out[]> = { ours: [], parcel: [] };
  const watchRun = (kind: 'ours' | 'parcel') => async () => {
    const r = await runChild(entry, ['watch', kind, root, String(IDLE_S), String(WRITES), String(NEW_FOLDERS), outside]);
    runs[kind].push(r);
    console.error(
      `  ${kind}: start ${s(r.startMs)} (cpu ${s(r.startCpuMs)}), rss ${r.rssStartMB.toFixed(0)} → ${r.rssIdleMB.toFixed(0)} MB, idle ${(r.idleCpuShare * 100).toFixed(3)}%, ` +
        `latency ${msF(r.latency.median)}/${msF(r.latency.p95)} (missed ${r.latency.missed}), new folder's file ${r.newFolder.n}/${NEW_FOLDERS} (${msF(r.newFolder.median)}), moved-in folder ${r.movedIn.files}/10 files`,
    );
  };
  await h.alternate(watchRun('ours'), watchRun('parcel'));

  // what changed while not running: snapshot (parcel), 100 files changed, then each looks (alternating)
  const offline: Record<'ours' | 'parcel' | 'snap', Out[]> = { ours: [], parcel: [], snap: [] };
  for (let r = 0; r < h.runs; r++) {
    offline.snap.push(await runChild(entry, ['snapshot', root, snapshot]));
    await new Promise((res) => setTimeout(res, 50));
    for (let i = 0; i < CHANGED; i++) {
      const d = (i * 10) % FOLDERS;
      writeFileSync(join(root, `d${String(d).padStart(4, '0')}`, `f${i % per}.txt`), `changed in run ${r}: ${'x'.repeat(r + 1)}`);
    }
    const ours = async () => void offline.ours.push(await runChild(entry, ['since-ours', root, recordsFile]));
    const parcel = async () => void offline.parcel.push(await runChild(entry, ['since-parcel', root, snapshot]));
    if (r % 2 === 0) {
      await ours();
      await parcel();
    } else {
      await parcel();
      await ours();
    }
    const o = offline.ours.at(-1)!;
    const p = offline.parcel.at(-1)!;
    console.error(`  offline changes: ours ${s(o.ms)} (${o.changes} ${o.kinds}), @parcel/watcher ${s(p.ms)} (${p.changes} ${p.kinds}; snapshot written in ${s(offline.snap.at(-1)!.ms)})`);
  }

  const m = (xs: Out[], f: (o: Out) => number) => median(xs.map(f));
  /** median, and the spread over the runs (the machine may be shared) */
  const spread = (xs: Out[], f: (o: Out) => number, fmt: (x: number) => string) => {
    const v = xs.map(f);
    return v.length > 1 ? `${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})` : fmt(median(v));
  };
  const ab = (what: string, f: (o: Out) => number, fmt: (x: number) => string) => {
    const ours = m(runs.ours, f);
    const parcel = m(runs.parcel, f);
    const better = ours === parcel ? 'even' : ours < parcel ? 'ours' : '@parcel/watcher';
    h.row(`watcher: ${what}`, `@parcel/watcher ${spread(runs.parcel, f, fmt)}`, `ours ${spread(runs.ours, f, fmt)}`, ours > 0 ? (parcel / ours).toFixed(2) : '', 'lower', `better: ${better}`);
  };
  ab(`start-up until ready, ${FILES} files`, (o) => o.startMs, s);
  ab('CPU of the start-up', (o) => o.startCpuMs, s);
  ab(`idle CPU over ${IDLE_S} s (% of a core)`, (o) => o.idleCpuShare * 100, (x) => `${x.toFixed(3)}%`);
  ab('RSS after start-up (whole child)', (o) => o.rssStartMB, (x) => `${x.toFixed(0)} MB`);
  ab(`RSS after ${IDLE_S} s idle, added by the watcher`, (o) => o.rssIdleMB - o.rssBeforeMB, (x) => `${x.toFixed(0)} MB`);
  ab(`write → reported, median of ${WRITES} (50 ms quiet window)`, (o) => o.latency.median, msF);
  ab(`write → reported, p95 of ${WRITES}`, (o) => o.latency.p95, msF);
  const nf = (o: Out) => `${o.newFolder.n}/${NEW_FOLDERS}`;
  h.row(`watcher: file written at once in a new folder: reported (median ms)`, `@parcel/watcher ${runs.parcel.map(nf).join(' ')}`, `ours ${runs.ours.map(nf).join(' ')} (${msF(m(runs.ours, (o) => o.newFolder.median))})`, '', 'all', '');
  const mv = (o: Out) => `${o.movedIn.files}/10`;
  h.row('watcher: folder of 10 files moved in: files reported', `@parcel/watcher ${runs.parcel.map(mv).join(' ')}`, `ours ${runs.ours.map(mv).join(' ')}`, '', 'all', '');
  const ot = median(offline.ours.map((o) => o.ms));
  const pt = median(offline.parcel.map((o) => o.ms));
  h.row(
    `watcher: at start, the ${CHANGED} files changed while not running (Linux: brute force)`,
    `@parcel/watcher getEventsSince ${spread(offline.parcel, (o) => o.ms, s)}, found ${offline.parcel.map((o) => o.changes).join('/')}`,
    `ours, full discovery ${spread(offline.ours, (o) => o.ms, s)}, found ${offline.ours.map((o) => o.changes).join('/')}`,
    (pt / ot).toFixed(2),
    'lower',
    `better: ${ot <= pt ? 'ours' : '@parcel/watcher'}`,
  );
  h.row('watcher: CPU of that look', `@parcel/watcher ${s(m(offline.parcel, (o) => o.cpuMs))}`, `ours ${s(m(offline.ours, (o) => o.cpuMs))}`, '', 'lower', '');
  h.row('watcher: …of which our local walk alone (readdir + lstat per entry, as discovery does)', '', `${spread(offline.ours, (o) => o.walkMs, s)}, CPU ${s(m(offline.ours, (o) => o.walkCpuMs))}`, '', '', '');
  h.row('watcher: …and @parcel/watcher\'s writeSnapshot when the app quits (ours: none, the journal is kept anyway)', `${spread(offline.snap, (o) => o.ms, s)}, CPU ${s(m(offline.snap, (o) => o.cpuMs))}`, '', '', '', '');
  const added = (o: Out) => o.maxRssMB - o.rssBeforeMB;
  h.row('watcher: memory the look added (peak RSS − RSS before; ours holds the records before)', `@parcel/watcher ${m(offline.parcel, added).toFixed(0)} MB`, `ours ${m(offline.ours, added).toFixed(0)} MB`, '', 'lower', '');
  h.row('watcher: load average (1, 5, 15 min) before → after this section', loadStart, load(), '', '', '');
}
