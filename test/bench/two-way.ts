/**
 * The `two-way` section of `npm run bench` (issue 17), the CLI exactly as users run it:
 *
 * 1. Bring down: BENCH_TWO_WAY_FILES files of 4 KiB (default 2,000, in folders of 200) put straight into the emulator
 *    (Emulator.seed, not timed), then `node bin/cloudreve-sync.js sync LOCAL REMOTE --mode two-way` into an empty
 *    folder (a fresh home each run, logged in untimed), timed from spawn to exit with the CLI's start-up (the median
 *    `whoami`) subtracted, as in the `cli` section; against the bare node:http client of baseline-http.ts
 *    (baselineTreeDownload: the same listings, then per file POST /file/url and the GET into a file, as many files in
 *    flight as the CLI: see IN_FLIGHT). Same emulator, same run, alternating who goes first; both write into memory
 *    (/dev/shm when there is one), so the disk's write-back sets the pace of neither (the CLI flushes every file).
 * 2. Nothing changed: BENCH_TWO_WAY_BIG files (default 100,000) of 0–1 KiB in 1,000 folders, the same bytes and
 *    modification times here and on the server; a first two-way pass records them as twins (nothing comes down; not
 *    timed, its time is printed), then a second pass with nothing changed is measured: wall time from spawn to exit
 *    (start-up included) against 30 s, and the CLI process's peak RSS against 300 MB, measured by the kernel (GNU
 *    `/usr/bin/time -f %M`, i.e. wait4's ru_maxrss of the child; where that is missing, VmHWM polled in /proc).
 * Both parts also print each client process's CPU time (user + system; the CLI's from /usr/bin/time), which a loaded
 * machine stretches far less than wall time.
 *
 * Environment: BENCH_TWO_WAY_FILES, BENCH_TWO_WAY_BIG (0 leaves part 2 out), BENCH_TWO_WAY_FOLDERS (default 1,000),
 * BENCH_TWO_WAY_SMALL=0 leaves part 1 out.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CLI, median, verdict, type Harness } from './harness.js';

const FILES = Number(process.env.BENCH_TWO_WAY_FILES ?? 2000);
const BIG = Number(process.env.BENCH_TWO_WAY_BIG ?? 100_000);
const FOLDERS = Number(process.env.BENCH_TWO_WAY_FOLDERS ?? 1000);
const SMALL = process.env.BENCH_TWO_WAY_SMALL !== '0';
/**
 * The bare client's files in flight: as many as the CLI has for these files (maxActiveDownloads' 3 and the 8
 * smallDownloadSlots of files of at most 64 KiB: 11), so the ratio compares the per-file cost, not the concurrency.
 * BENCH_TWO_WAY_IN_FLIGHT=3 runs the bare client at the default for larger files.
 */
const IN_FLIGHT = Number(process.env.BENCH_TWO_WAY_IN_FLIGHT ?? 11);
const POLICY = { chunkSize: 8 * 1024 * 1024, chunkConcurrency: 3 };

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Median wall time and CPU time of `whoami` against the running emulator: the CLI's start-up. */
async function startup(h: Harness, home: string): Promise<{ ms: number; cpuMs: number }> {
  await h.cli(['--home', home, 'whoami']);
  const times: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < Math.max(5, h.runs); r++) {
    const run = await cliWithRss(['--home', home, 'whoami'], h.root);
    if (run.code !== 0) throw new Error(`whoami exited ${run.code}: ${run.err.slice(-300)}`);
    times.push(run.ms);
    cpu.push(run.cpuMs);
  }
  return { ms: median(times), cpuMs: median(cpu) };
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}

async function bringDown(h: Harness): Promise<void> {
  const emu = await h.emulator(POLICY);
  const mem = join(h.blobRoot, 'tw-out');
  try {
    const block = randomBytes(4096 * 16);
    for (let i = 0; i < FILES; i++) {
      const off = (i % 16) * 4096;
      emu.seed(`cloudreve://my/tw/d${Math.floor(i / 200)}/f${i}.bin`, Buffer.concat([block.subarray(off, off + 4088), Buffer.from(String(i).padStart(8, '0'))]));
    }
    const home0 = await h.cliHome(emu, 'tw-startup');
    const { ms: start, cpuMs: startCpu } = await startup(h, home0);
    const base: number[] = [];
    const baseCpu: number[] = [];
    const cli: number[] = [];
    const cliCpu: number[] = [];
    await h.alternate(
      async (r) => {
        const out = join(mem, `b${r}`);
        const res = await h.child(['baseline-tree', emu.url, emu.email, emu.password, 'cloudreve://my/tw', out, String(IN_FLIGHT)]);
        if (res.files !== FILES) throw new Error(`baseline brought down ${res.files} of ${FILES} files`);
        base.push(res.ms);
        baseCpu.push(res.cpuMs);
        rmSync(out, { recursive: true, force: true });
      },
      async (r) => {
        const out = join(mem, `c${r}`);
        mkdirSync(out, { recursive: true });
        const home = await h.cliHome(emu, `tw-${r}`);
        const run = await cliWithRss(['--home', home, 'sync', out, 'cloudreve://my/tw', '--mode', 'two-way'], h.root);
        if (run.code !== 0) throw new Error(`two-way pass exited ${run.code}: ${run.err.slice(-500)}`);
        const got = countFiles(out);
        if (got !== FILES) throw new Error(`two-way pass brought down ${got} of ${FILES} files: ${run.out.slice(-300)} ${run.err.slice(-300)}`);
        cli.push(run.ms);
        cliCpu.push(run.cpuMs);
        rmSync(out, { recursive: true, force: true });
        rmSync(home, { recursive: true, force: true });
      },
    );
    const bare = median(base);
    const whole = median(cli);
    const ratio = bare / (whole - start);
    const rate = (ms: number) => `${((FILES / ms) * 1000).toFixed(0)} files/s`;
    console.error(`  two-way: bring-down runs, bare ${base.map(s).join(' ')}; CLI ${cli.map(s).join(' ')}; start-up ${s(start)}`);
    h.row(
      `two-way pass bringing down ${FILES} files of 4 KiB into an empty folder (tmpfs), start-up subtracted`,
      `${s(bare)}, ${rate(bare)} (bare node:http: list, /file/url + GET, ${IN_FLIGHT} in flight)`,
      `${s(whole)} − ${s(start)} = ${s(whole - start)}, ${rate(whole - start)}`,
      ratio.toFixed(2),
      '≥ 0.80',
      verdict(ratio >= 0.8),
    );
    // CPU time (user + system) of each client process: on a loaded machine steadier than wall time (the bare client's
    // from its start, after its imports; the CLI's from /usr/bin/time, the median whoami's subtracted)
    const bCpu = median(baseCpu);
    const cCpu = median(cliCpu);
    const cpuRatio = bCpu / (cCpu - startCpu);
    console.error(`  two-way: CPU bare ${baseCpu.map(s).join(' ')}; CLI ${cliCpu.map(s).join(' ')}; whoami ${s(startCpu)}`);
    h.row(
      `  the same, CPU time (user + system) of the client process, start-up's subtracted`,
      `${s(bCpu)} (bare node:http)`,
      `${s(cCpu)} − ${s(startCpu)} = ${s(cCpu - startCpu)}`,
      cpuRatio.toFixed(2),
      '(≥ 0.80)',
      '',
    );
    console.error(
      `two-way summary: bring-down ${FILES} × 4 KiB: bare ${s(bare)}, CLI ${s(whole)} − start-up ${s(start)} = ${s(whole - start)}; ratio ${ratio.toFixed(2)} (target ≥ 0.80) ${verdict(ratio >= 0.8)}; ` +
        `CPU bare ${s(bCpu)}, CLI ${s(cCpu - startCpu)}, ratio ${cpuRatio.toFixed(2)}`,
    );
  } finally {
    await emu.close();
    rmSync(mem, { recursive: true, force: true });
  }
}

/** `node bin/cloudreve-sync.js <args>` with its peak RSS (KiB) as the kernel counts it. */
function cliWithRss(args: string[], scratch: string): Promise<{ ms: number; code: number | null; out: string; err: string; maxRssKiB: number; cpuMs: number; how: string }> {
  const time = '/usr/bin/time';
  const useTime = existsSync(time);
  const rssFile = join(scratch, `rss-${Date.now()}.txt`);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = useTime
      ? spawn(time, ['-f', '%M %U %S', '-o', rssFile, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let hwm = 0;
    const poll = useTime
      ? null
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]));
          } catch {
            /* gone */
          }
        }, 20);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (poll) clearInterval(poll);
      let maxRssKiB = hwm;
      let cpuMs = NaN;
      if (useTime) {
        const [rss, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        maxRssKiB = rss;
        cpuMs = (user + sys) * 1000;
        rmSync(rssFile, { force: true });
      }
      resolve({ ms, code, out, err, maxRssKiB, cpuMs, how: useTime ? 'ru_maxrss via /usr/bin/time' : 'VmHWM polled every 20 ms' });
    });
  });
}

async function nothingChanged(h: Harness): Promise<void> {
  const emu = await h.emulator(POLICY);
  const local = join(h.root, 'tw-big');
  try {
    // the same bytes and modification time on both sides: a first pass records them as twins
    let t = performance.now();
    const mtime = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    const per = Math.ceil(BIG / FOLDERS);
    const pool = randomBytes(2048);
    for (let d = 0, i = 0; d < FOLDERS && i < BIG; d++) {
      const folder = `d${String(d).padStart(4, '0')}`;
      mkdirSync(join(local, folder), { recursive: true });
      for (let f = 0; f < per && i < BIG; f++, i++) {
        const body = pool.subarray(i % 1024, (i % 1024) + ((i * 37) % 1025));
        const path = join(local, folder, `f${f}.txt`);
        writeFileSync(path, body);
        utimesSync(path, mtime / 1000, mtime / 1000);
        emu.seed(`cloudreve://my/big/${folder}/f${f}.txt`, body, mtime);
      }
    }
    console.error(`  two-way: ${BIG} files in ${FOLDERS} folders made here and on the server in ${s(performance.now() - t)}`);
    const home = await h.cliHome(emu, 'tw-big-home');
    const args = ['--home', home, 'sync', local, 'cloudreve://my/big', '--mode', 'two-way'];
    t = performance.now();
    const first = await cliWithRss(args, h.root);
    if (first.code !== 0) throw new Error(`first two-way pass exited ${first.code}: ${first.err.slice(-500)}`);
    const recorded = Number(/(\d+) already there/.exec(first.out)?.[1] ?? -1);
    if (recorded < BIG || /^download /m.test(first.out)) throw new Error(`first pass: ${first.out.slice(-300)}`);
    console.error(`  two-way: first pass (records ${BIG} twins, not measured) ${s(first.ms)}, peak RSS ${(first.maxRssKiB / 1024).toFixed(0)} MB`);
    const times: number[] = [];
    const rss: number[] = [];
    const cpu: number[] = [];
    let how = '';
    for (let r = 0; r < h.runs; r++) {
      const run = await cliWithRss(args, h.root);
      if (run.code !== 0) throw new Error(`two-way pass exited ${run.code}: ${run.err.slice(-500)}`);
      if (!/^0 uploaded, 0 failed, 0 renamed or moved, 0 folders created, 0 already there, 0 moved to the server's trash, 0 conflicts kept$/m.test(run.out) || run.out.split('\n').filter(Boolean).length !== 1) {
        throw new Error(`a pass with nothing changed did something: ${run.out.slice(0, 500)} ${run.err.slice(-300)}`);
      }
      times.push(run.ms);
      rss.push(run.maxRssKiB / 1024);
      cpu.push(run.cpuMs);
      how = run.how;
    }
    const m = median(times);
    const peak = Math.max(...rss);
    console.error(`  two-way: nothing-changed passes ${times.map(s).join(' ')}; CPU ${cpu.map(s).join(' ')}; peak RSS ${rss.map((x) => x.toFixed(0)).join(' ')} MB (${how})`);
    h.row(`two-way pass over ${BIG} files in ${FOLDERS} folders, nothing changed, wall from spawn to exit`, 'limit 30 s', `${s(m)} (CPU ${s(median(cpu))})`, (m / 30_000).toFixed(2), '≤ 1.00', verdict(m <= 30_000));
    h.row(`two-way pass over ${BIG} files, nothing changed: peak RSS of the CLI process (${how}, max of ${h.runs})`, 'limit 300 MB', `${peak.toFixed(0)} MB`, (peak / 300).toFixed(2), '≤ 1.00', verdict(peak <= 300));
    console.error(`two-way summary: ${BIG} files nothing changed: pass ${s(m)}, CPU ${s(median(cpu))} (limit 30 s) ${verdict(m <= 30_000)}; peak RSS ${peak.toFixed(0)} MB (limit 300 MB) ${verdict(peak <= 300)}`);
  } finally {
    await emu.close();
    rmSync(local, { recursive: true, force: true });
  }
}

export async function twoWaySection(h: Harness): Promise<void> {
  if (SMALL && FILES > 0) await bringDown(h);
  if (BIG > 0) await nothingChanged(h);
}
