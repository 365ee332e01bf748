/**
 * One watcher run for the `watcher` bench section (watcher.ts), in its own process so that its RSS and CPU are its
 * own. Prints one JSON line on stdout.
 *
 *   watch <ours|parcel> <root> <idleS> <writes> <newFolders> <outside>
 *     start-up until ready (ours: watchFolder resolved; @parcel/watcher: subscribe resolved — both would report a
 *     change from then on), RSS after start-up, CPU of idling idleS seconds, RSS after it; then event latency:
 *     `writes` new files written in different existing folders, `newFolders` folders made with a file written in
 *     each at once, and one folder of 10 files moved in from `outside` (same disk): what each reports of it.
 *     Ours runs with a 50 ms settle time, the quiet period @parcel/watcher's own debounce waits (MIN_WAIT_TIME),
 *     so both latencies include one 50 ms quiet window; the product's settle time (2 s) comes on top of either.
 *   snapshot <root> <file>               @parcel/watcher writeSnapshot (what the app would do when it quits)
 *   since-parcel <root> <file>           @parcel/watcher getEventsSince: what changed since the snapshot
 *   since-ours <root> <records.json>     what the product does at start today: a full discovery of the pair (the
 *     local walk against the journal's records; the remote listing answered from memory, as in the sync section)
 *     and its plan; counts the paths it would upload. Then, apart, the local walk alone (readdir + readLocal). The records' loading is not timed, and its memory is in
 *     rssBeforeMB (the product holds them too, read from its journal).
 */
import { mkdirSync, renameSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const [mode, ...args] = process.argv.slice(2);
const out: Record<string, unknown> = {};
const mb = (b: number) => b / 2 ** 20;
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a collection when the child runs with --expose-gc (watcher.ts starts it so), so RSS baselines hold no garbage */
const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** A watcher under test: its changes arrive as relative '/'-separated paths. */
interface Subject {
  close(): Promise<void>;
}

async function start(kind: string, root: string, onPaths: (rels: string[]) => void): Promise<Subject> {
  if (kind === 'ours') {
    const { watchFolder } = await import('../../main/engine/watcher/watcher.js');
    const { IgnoreRules } = await import('../../main/engine/sync/ignore-rules.js');
    const ignore = new IgnoreRules([]);
    return watchFolder({
      root,
      settleMs: 50,
      maxWaitMs: 600_000,
      ignored: (rel, isFolder) => ignore.ignores(rel, isFolder),
      onChanges: onPaths,
      onFallback: (reason) => console.error(`watcher fell back: ${reason}`),
    });
  }
  if (kind === 'parcel') {
    const parcel = await import('@parcel/watcher');
    const sub = await parcel.subscribe(root, (err, events) => {
      if (err) console.error(`@parcel/watcher: ${err.message}`);
      else onPaths(events.map((e) => relative(root, e.path).split(sep).join('/')));
    });
    return { close: () => sub.unsubscribe() };
  }
  throw new Error(`unknown watcher ${kind}`);
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

if (mode === 'watch') {
  const [kind, root, idleS, writes, newFolders, outside] = args;
  const seen = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  const onPaths = (rels: string[]) => {
    const at = performance.now();
    for (const rel of rels) {
      if (!seen.has(rel)) seen.set(rel, at);
      waiters.get(rel)?.(at);
    }
  };
  /** when `rel` is reported (performance.now()), or null after `ms` */
  const reported = (rel: string, ms: number) =>
    new Promise<number | null>((resolve) => {
      if (seen.has(rel)) return resolve(seen.get(rel)!);
      const t = setTimeout(() => {
        waiters.delete(rel);
        resolve(null);
      }, ms);
      waiters.set(rel, (at) => {
        clearTimeout(t);
        waiters.delete(rel);
        resolve(at);
      });
    });

  gc();
  const rss0 = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const w = await start(kind, root, onPaths);
  out.startMs = performance.now() - t0;
  out.startCpuMs = cpuMs(process.cpuUsage(cpu0));
  out.rssBeforeMB = mb(rss0);
  out.rssStartMB = mb(process.memoryUsage().rss);
  const idle0 = process.cpuUsage();
  const ti = performance.now();
  await sleep(Number(idleS) * 1000);
  out.idleCpuShare = cpuMs(process.cpuUsage(idle0)) / (performance.now() - ti);
  out.rssIdleMB = mb(process.memoryUsage().rss);
  out.idleEvents = seen.size; // nothing changes while idle: should be 0

  const made: string[] = [];
  try {
    // a new file in each of `writes` different existing folders
    const lat: number[] = [];
    let missed = 0;
    for (let i = 0; i < Number(writes); i++) {
      const rel = `d${String((i * 37) % 1000).padStart(4, '0')}/lat-${process.pid}-${i}.txt`;
      const abs = join(root, ...rel.split('/'));
      made.push(abs);
      writeFileSync(abs, `latency ${i}`);
      const t = performance.now();
      const at = await reported(rel, 5000);
      if (at === null) missed++;
      else lat.push(at - t);
      await sleep(100);
    }
    out.latency = { median: pct(lat, 50), p95: pct(lat, 95), n: lat.length, missed };

    // a new folder, a file written in it at once: when is the file reported (the folder itself, when it is not)
    const nf: number[] = [];
    let fileMissed = 0;
    for (let i = 0; i < Number(newFolders); i++) {
      const folder = `new-${process.pid}-${i}`;
      const abs = join(root, folder);
      made.push(abs);
      mkdirSync(abs);
      writeFileSync(join(abs, 'f.txt'), 'new');
      const t = performance.now();
      const at = await reported(`${folder}/f.txt`, 3000);
      if (at === null) fileMissed++;
      else nf.push(at - t);
      await sleep(100);
    }
    out.newFolder = { median: pct(nf, 50), n: nf.length, fileMissed, folderSeen: [...Array(Number(newFolders)).keys()].filter((i) => seen.has(`new-${process.pid}-${i}`)).length };

    // a folder of 10 files moved in from outside the tree
    const src = join(outside, `moved-${process.pid}`);
    mkdirSync(src, { recursive: true });
    for (let i = 0; i < 10; i++) writeFileSync(join(src, `m${i}.txt`), `moved ${i}`);
    const dst = join(root, `moved-${process.pid}`);
    made.push(dst);
    renameSync(src, dst);
    await reported(`moved-${process.pid}/m9.txt`, 3000);
    await sleep(500);
    out.movedIn = { folder: seen.has(`moved-${process.pid}`), files: [...Array(10).keys()].filter((i) => seen.has(`moved-${process.pid}/m${i}.txt`)).length };
  } finally {
    await w.close();
    for (const p of made) rmSync(p, { recursive: true, force: true });
  }
  out.maxRssMB = process.resourceUsage().maxRSS / 1024;
} else if (mode === 'snapshot' || mode === 'since-parcel') {
  const [root, file] = args;
  gc();
  out.rssBeforeMB = mb(process.memoryUsage().rss);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const parcel = await import('@parcel/watcher');
  if (mode === 'snapshot') {
    await parcel.writeSnapshot(root, file);
  } else {
    const events = await parcel.getEventsSince(root, file);
    out.changes = events.length;
    out.kinds = [...new Set(events.map((e) => e.type))].join(',');
  }
  out.ms = performance.now() - t0;
  out.cpuMs = cpuMs(process.cpuUsage(cpu0));
  out.maxRssMB = process.resourceUsage().maxRSS / 1024;
} else if (mode === 'since-ours') {
  const [root, recordsFile] = args;
  const { discover } = await import('../../main/engine/sync/discovery.js');
  const { IgnoreRules } = await import('../../main/engine/sync/ignore-rules.js');
  const { planPass } = await import('../../main/engine/sync/sync-plan.js');
  type SyncRecord = import('../../main/engine/sync/reconcile.js').SyncRecord;
  type FileResponse = import('../../main/engine/api/types.js').FileResponse;
  // not timed: the journal's records as they were when the app quit, and a server listing that matches them
  const t1 = performance.now();
  const records = new Map<string, SyncRecord>(JSON.parse(readFileSync(recordsFile, 'utf8')));
  out.loadMs = performance.now() - t1;
  const remoteRoot = 'cloudreve://my/bench';
  const remote = new Map<string, FileResponse[]>();
  for (const [rel, r] of records) {
    const t = new Date(Math.floor(r.mtimeMs)).toISOString();
    const i = rel.lastIndexOf('/');
    const parent = i < 0 ? remoteRoot : `${remoteRoot}/${rel.slice(0, i)}`;
    const name = rel.slice(i + 1);
    let list = remote.get(parent);
    if (!list) remote.set(parent, (list = []));
    list.push({ type: r.kind === 'folder' ? 1 : 0, id: r.remoteId!, name, created_at: t, updated_at: t, size: r.size, metadata: null, path: `${parent}/${name}`, primary_entity: r.primaryEntity ?? undefined } as FileResponse);
  }
  gc();
  out.rssBeforeMB = mb(process.memoryUsage().rss);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const discovery = await discover({ localRoot: root, remoteRoot, records, ignore: new IgnoreRules([]), listRemote: async (uri) => remote.get(uri) ?? null });
  const plan = planPass(discovery, { mode: 'mirror', records, rootEmpty: false });
  out.ms = performance.now() - t0;
  out.cpuMs = cpuMs(process.cpuUsage(cpu0));
  const work = plan.items.filter((i) => i.action.type !== 'skip');
  out.changes = work.length;
  out.kinds = [...new Set(work.map((i) => i.action.type))].join(',');
  out.maxRssMB = process.resourceUsage().maxRSS / 1024;
  // of which the local walk alone: the same calls discovery makes (readdir, and readLocal's lstat per entry)
  const { readLocal } = await import('../../main/engine/sync/discovery.js');
  const { readdirSync } = await import('node:fs');
  const wc0 = process.cpuUsage();
  const w0 = performance.now();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const l = readLocal(p);
      if (l && 'kind' in l && l.kind === 'folder') walk(p);
    }
  };
  walk(root);
  out.walkMs = performance.now() - w0;
  out.walkCpuMs = cpuMs(process.cpuUsage(wc0));
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
