/**
 * Sync section of `npm run bench`: a tree of BENCH_SYNC_FILES files (default 100,000) in 1,000 folders whose
 * journal records and remote listing already match.
 * - scan: discovery + plan of the whole tree (local walk, records, a remote listing answered from memory so the
 *   emulator's HTTP is not what is measured), against a bare recursive readdir + lstat of the same tree; and the
 *   RSS it added to this process (in-process: the runner's own memory is not counted).
 * - idle watch: CPU time of watching the tree for BENCH_SYNC_IDLE_S seconds (default 60) with nothing changing.
 * - latency: last write of a file → the watcher handing it on, minus the settle delay (the pass that follows is
 *   one folder listing and a stat per entry).
 */
import { lstatSync, mkdirSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileResponse } from '../../main/engine/api/types.js';
import { discover, readLocal } from '../../main/engine/sync/discovery.js';
import { IgnoreRules } from '../../main/engine/sync/ignore-rules.js';
import type { SyncRecord } from '../../main/engine/sync/reconcile.js';
import { planPass } from '../../main/engine/sync/sync-plan.js';
import { watchFolder } from '../../main/engine/watcher/watcher.js';
import { median, type Harness } from './harness.js';

const FILES = Number(process.env.BENCH_SYNC_FILES ?? 100_000);
const FOLDERS = 1000;
const IDLE_S = Number(process.env.BENCH_SYNC_IDLE_S ?? 60);
const SETTLE_MS = 2000;

function walk(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    n++;
    if (lstatSync(p).isDirectory()) n += walk(p);
  }
  return n;
}

export async function syncSection(h: Harness): Promise<void> {
  const root = join(h.root, 'sync-tree');
  const per = Math.ceil(FILES / FOLDERS);
  const records = new Map<string, SyncRecord>();
  const remote = new Map<string, FileResponse[]>();
  const remoteRoot = 'cloudreve://my/bench';
  for (let d = 0; d < FOLDERS; d++) {
    const folder = `d${String(d).padStart(4, '0')}`;
    mkdirSync(join(root, folder), { recursive: true });
    const listing: FileResponse[] = [];
    for (let f = 0; f < per && d * per + f < FILES; f++) {
      const name = `f${f}.txt`;
      const path = join(root, folder, name);
      writeFileSync(path, `file ${d}/${f}`);
      const l = readLocal(path) as { size: number; mtimeMs: number; inode: string };
      records.set(`${folder}/${name}`, { kind: 'file', size: l.size, mtimeMs: l.mtimeMs, inode: l.inode, remoteId: `${d}-${f}`, primaryEntity: `E${d}-${f}` });
      const t = new Date(Math.floor(l.mtimeMs)).toISOString();
      listing.push({ type: 0, id: `${d}-${f}`, name, created_at: t, updated_at: t, size: l.size, metadata: null, path: `${remoteRoot}/${folder}/${name}`, primary_entity: `E${d}-${f}` });
    }
    remote.set(`${remoteRoot}/${folder}`, listing);
    const fl = readLocal(join(root, folder)) as { mtimeMs: number; inode: string };
    records.set(folder, { kind: 'folder', size: 0, mtimeMs: fl.mtimeMs, inode: fl.inode, remoteId: folder, primaryEntity: null });
  }
  const t0 = new Date().toISOString();
  remote.set(remoteRoot, [...Array(FOLDERS).keys()].map((d) => {
    const name = `d${String(d).padStart(4, '0')}`;
    return { type: 1, id: name, name, created_at: t0, updated_at: t0, size: 0, metadata: null, path: `${remoteRoot}/${name}` } as FileResponse;
  }));

  const scans: number[] = [];
  const bases: number[] = [];
  let rssAdded = 0;
  for (let r = 0; r < h.runs; r++) {
    let t = performance.now();
    walk(root);
    bases.push(performance.now() - t);
    const rss0 = process.memoryUsage().rss;
    t = performance.now();
    const discovery = await discover({ localRoot: root, remoteRoot, records, ignore: new IgnoreRules([]), listRemote: async (uri) => remote.get(uri) ?? null });
    const plan = planPass(discovery, { mode: 'mirror', records, rootEmpty: false });
    scans.push(performance.now() - t);
    rssAdded = Math.max(rssAdded, process.memoryUsage().rss - rss0);
    const work = plan.items.filter((i) => i.action.type !== 'skip').length;
    if (work !== 0) throw new Error(`bench: a matching tree should need nothing, got ${work} actions`);
  }
  const scan = median(scans);
  const base = median(bases);
  h.row(`sync: scan of ${FILES} files in ${FOLDERS} folders (s)`, `readdir+lstat ${(base / 1000).toFixed(2)} s`, `${(scan / 1000).toFixed(2)} s`, (base / scan).toFixed(2), '≤ 30 s', scan <= 30_000 ? 'ok' : 'SLOW');
  h.row('sync: RSS the scan added (MB, in-process)', 'limit 300 MB', `${(rssAdded / 2 ** 20).toFixed(0)} MB`, '', '≤ 300 MB', rssAdded <= 300 * 2 ** 20 ? 'ok' : 'OVER');

  // idle watch CPU, then write → hand-on latency
  const latencies: number[] = [];
  let lastWrite = 0;
  let waiting: ((at: number) => void) | null = null;
  const ignore = new IgnoreRules([]);
  const tw = performance.now();
  const w = await watchFolder({
    root,
    settleMs: SETTLE_MS,
    maxWaitMs: 600_000,
    ignored: (rel, isFolder) => ignore.ignores(rel, isFolder),
    onChanges: () => waiting?.(performance.now()),
    onFallback: (reason) => console.error(`bench: watcher fell back: ${reason}`),
  });
  const watchStart = performance.now() - tw;
  try {
    const cpu0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const cpu = process.cpuUsage(cpu0);
    const share = (cpu.user + cpu.system) / 1000 / (IDLE_S * 1000);
    h.row(`sync: idle watch of ${FILES} files, CPU (${IDLE_S} s; start-up ${(watchStart / 1000).toFixed(1)} s)`, 'limit 1% of a core', `${(share * 100).toFixed(2)}%`, '', '< 1%', share < 0.01 ? 'ok' : 'OVER');
    for (let r = 0; r < h.runs; r++) {
      const p = join(root, 'd0000', `latency-${r}.txt`);
      const handed = new Promise<number>((resolve) => (waiting = resolve));
      writeFileSync(p, 'a');
      appendFileSync(p, 'b');
      lastWrite = performance.now();
      const at = await handed;
      waiting = null;
      latencies.push(at - lastWrite - SETTLE_MS);
    }
  } finally {
    await w.close();
  }
  const lat = median(latencies);
  h.row('sync: last write → watcher hands it on, beyond the settle delay (ms)', 'limit 200 ms', `${lat.toFixed(0)} ms`, '', '≤ 200 ms', lat <= 200 ? 'ok' : 'SLOW');
}
