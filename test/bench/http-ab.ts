/**
 * `http-ab`: the CLI's HTTP layer A/B (issue 18) — the CLI process as the README invokes it, with its requests on
 * node:http (`CLOUDREVE_SYNC_HTTP=node`, the default) and on undici (`CLOUDREVE_SYNC_HTTP=undici`), against the bare
 * node:http client of baseline-http.ts, all three in the same round on a fresh emulator each, in rotating order
 * (drift on a shared machine favours none); medians over BENCH_RUNS rounds. Measures:
 *  - 2,000 files of 4 KiB (BENCH_FILES): the bare client with 7 files in flight, the CLI start-up (its median
 *    `whoami` of the same variant) subtracted;
 *  - 1 GiB (BENCH_GIB), local policy, 8 MiB parts, 3 in flight, start-up subtracted.
 * Each CLI run reports its own CPU (user + system, all threads, from a preload that prints process.resourceUsage()
 * at exit); the bare client's is its cpuMs. The per-round ratio (bare / CLI) is also kept, and its median printed.
 * Prints one `SUMMARY` line per measure and variant (stderr), so a re-run on a quiet machine is read at a glance.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { CLI, GiB, MiB, makeFile, makeSmallFiles, median, verdict, warm, type Harness } from './harness.js';

const BIG = Number(process.env.BENCH_GIB ?? 1) * GiB;
const FILES = Number(process.env.BENCH_FILES ?? 2000);
const POLICY = { chunkSize: 8 * MiB, chunkConcurrency: 3 };
const SMALL_IN_FLIGHT = 7;
const VARIANTS = (process.env.BENCH_HTTP ?? 'node,undici').split(',').map((v) => v.trim()) as Array<'node' | 'undici'>;

// BENCH_CLI: a copy of bin/ + dist/cli/ to run instead (kept inside the checkout, so that better-sqlite3 resolves), for a
// machine where something else may rebuild dist/cli/ during the run
const CLI_PATH = process.env.BENCH_CLI ?? CLI;

// printed by the CLI process at exit: its wall clock is ours (spawn → exit), its CPU its own (every thread)
const CPU_HOOK = `data:text/javascript,process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('\\nBENCH_CPU_MS='+Math.round((u.userCPUTime+u.systemCPUTime)/1000)+'\\n')})`;

interface Run {
  ms: number;
  cpuMs: number;
  out: string;
}

function cli(args: string[], variant: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, ['--import', CPU_HOOK, CLI_PATH, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, CLOUDREVE_SYNC_HTTP: variant },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`cloudreve-sync ${args.join(' ')} (${variant}) exited ${code}: ${err.slice(-500)}`));
      const m = /BENCH_CPU_MS=(\d+)/.exec(err);
      resolve({ ms, cpuMs: m ? Number(m[1]) : NaN, out });
    });
  });
}

/** A CLI home logged in to `emu` (not timed), by the same CLI the runs use. */
async function cliHome(h: Harness, emu: { url: string; email: string; password: string }, name: string): Promise<string> {
  const home = join(h.root, name);
  rmSync(home, { recursive: true, force: true });
  await cli(['--home', home, 'login', '--server', emu.url, '--email', emu.email], 'node', { CLOUDREVE_PASSWORD: emu.password });
  return home;
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Rotates the order of `fns` each round: round r starts with fns[r % n]. */
async function rotate(round: number, fns: Array<() => Promise<void>>): Promise<void> {
  for (let i = 0; i < fns.length; i++) await fns[(round + i) % fns.length]();
}

interface Series {
  wall: number[];
  cpu: number[];
  ratio: number[];
}
const series = (): Series => ({ wall: [], cpu: [], ratio: [] });

async function startupOf(h: Harness, variant: string, home: string): Promise<{ ms: number; cpuMs: number }> {
  await cli(['--home', home, 'whoami'], variant);
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < Math.max(5, h.runs); r++) {
    const run = await cli(['--home', home, 'whoami'], variant);
    ms.push(run.ms);
    cpu.push(run.cpuMs);
  }
  return { ms: median(ms), cpuMs: median(cpu) };
}

function report(h: Harness, what: string, target: number, bare: Series, runs: Record<string, Series>, start: Record<string, { ms: number; cpuMs: number }>): void {
  const bareWall = median(bare.wall);
  const bareCpu = median(bare.cpu);
  for (const v of VARIANTS) {
    const r = runs[v];
    const wall = median(r.wall);
    const net = wall - start[v].ms;
    const ratio = bareWall / net;
    const paired = median(r.ratio);
    const cpu = median(r.cpu) - start[v].cpuMs;
    h.row(
      `${what}, CLI on ${v}, start-up subtracted`,
      `${s(bareWall)} bare node:http, CPU ${s(bareCpu)}`,
      `${s(wall)} − ${s(start[v].ms)} = ${s(net)}, CPU ${s(cpu)}`,
      `${ratio.toFixed(2)} (paired ${paired.toFixed(2)})`,
      `≥ ${target.toFixed(2)}`,
      verdict(ratio >= target),
    );
    console.error(
      `SUMMARY http-ab ${what} | ${v} | ratio ${ratio.toFixed(2)} (median of per-round ${paired.toFixed(2)}; rounds ${r.ratio.map((x) => x.toFixed(2)).join(' ')}) | CLI ${s(net)} CPU ${s(cpu)} | bare ${s(bareWall)} CPU ${s(bareCpu)} | target ≥ ${target} | load ${load()}`,
    );
  }
}

export async function httpAbSection(h: Harness): Promise<void> {
  console.error(`bench: http-ab variants ${VARIANTS.join(', ')}; load average ${load()}`);
  const start: Record<string, { ms: number; cpuMs: number }> = {};
  {
    const emu = await h.emulator(POLICY);
    try {
      const home = await cliHome(h, emu, 'ab-startup');
      for (const v of VARIANTS) start[v] = await startupOf(h, v, home);
    } finally {
      await emu.close();
    }
    for (const v of VARIANTS) console.error(`  start-up (${v}): ${s(start[v].ms)}, CPU ${s(start[v].cpuMs)}`);
  }

  // small files
  const dir = join(h.root, 'ab-small');
  await makeSmallFiles(dir, FILES, 4096);
  try {
    const bare = series();
    const runs: Record<string, Series> = Object.fromEntries(VARIANTS.map((v) => [v, series()]));
    for (let r = 0; r < h.runs; r++) {
      let bareMs = NaN;
      const ms: Record<string, number> = {};
      await rotate(r, [
        async () => {
          const emu = await h.emulator(POLICY);
          const res = await h.child(['baseline-small', emu.url, emu.email, emu.password, dir, `cloudreve://my/b${r}`, String(SMALL_IN_FLIGHT)]);
          await emu.close();
          if (res.files !== FILES) throw new Error(`baseline uploaded ${res.files} of ${FILES} files`);
          bare.wall.push((bareMs = res.ms));
          bare.cpu.push(res.cpuMs);
        },
        ...VARIANTS.map((v) => async () => {
          const emu = await h.emulator(POLICY);
          const home = await cliHome(h, emu, `ab-small-${v}-${r}`);
          const run = await cli(['--home', home, 'upload', dir, '--to', `cloudreve://my/c${r}`], v);
          await emu.close();
          rmSync(home, { recursive: true, force: true });
          if (!run.out.includes(`${FILES} uploaded, 0 skipped, 0 failed`)) throw new Error(`CLI (${v}) small files: ${run.out.slice(-300)}`);
          runs[v].wall.push((ms[v] = run.ms));
          runs[v].cpu.push(run.cpuMs);
        }),
      ]);
      for (const v of VARIANTS) runs[v].ratio.push(bareMs / (ms[v] - start[v].ms));
      console.error(`  small round ${r + 1}: bare ${s(bareMs)}, ${VARIANTS.map((v) => `${v} ${s(ms[v])}`).join(', ')}; load ${load()}`);
    }
    report(h, `${FILES} × 4 KiB`, 0.85, bare, runs, start);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // one big file
  const file = join(h.root, 'ab-big.bin');
  await makeFile(file, BIG);
  await warm(file);
  try {
    const bare = series();
    const runs: Record<string, Series> = Object.fromEntries(VARIANTS.map((v) => [v, series()]));
    for (let r = 0; r < h.runs; r++) {
      let bareMs = NaN;
      const ms: Record<string, number> = {};
      await rotate(r, [
        async () => {
          const emu = await h.emulator(POLICY);
          const res = await h.child(['baseline', emu.url, emu.email, emu.password, file, `cloudreve://my/b${r}.bin`, '0']);
          await emu.close();
          bare.wall.push((bareMs = res.ms));
          bare.cpu.push(res.cpuMs);
        },
        ...VARIANTS.map((v) => async () => {
          const emu = await h.emulator(POLICY);
          const home = await cliHome(h, emu, `ab-big-${v}-${r}`);
          const run = await cli(['--home', home, 'upload', file, '--to', `cloudreve://my/c${r}`], v);
          await emu.close();
          rmSync(home, { recursive: true, force: true });
          runs[v].wall.push((ms[v] = run.ms));
          runs[v].cpu.push(run.cpuMs);
        }),
      ]);
      for (const v of VARIANTS) runs[v].ratio.push(bareMs / (ms[v] - start[v].ms));
      console.error(`  1 GiB round ${r + 1}: bare ${s(bareMs)}, ${VARIANTS.map((v) => `${v} ${s(ms[v])}`).join(', ')}; load ${load()}`);
    }
    report(h, `${(BIG / GiB).toFixed(2)} GiB, 8 MiB × 3`, 0.9, bare, runs, start);
  } finally {
    rmSync(file, { force: true });
  }
}
