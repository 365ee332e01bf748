/**
 * The CLI process exactly as the README invokes it (`node bin/cloudreve-sync.js …`, what the installed
 * `cloudreve-sync` runs), against the bare node:http client of baseline-http.ts on the same emulator in the same
 * run: start-up alone (`whoami`), one big file (local policy, 8 MiB parts, 3 in flight) and many small files
 * (the bare client with 7 files in flight, as the issue that set the target defines it; the CLI has 3 + 8 small-file
 * slots; target ≥ 0.85, issue 18). Each measure also prints one `SUMMARY cli …` line (stderr) with the load average.
 * The CLI's times are from spawn to exit; its start-up (the median `whoami`) is subtracted from the uploads.
 * Environment: BENCH_GIB (big file, default 1), BENCH_FILES (small files, default 2000).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { GiB, MiB, makeFile, makeSmallFiles, median, verdict, warm, type Harness } from './harness.js';

const BIG = Number(process.env.BENCH_GIB ?? 1) * GiB;
const FILES = Number(process.env.BENCH_FILES ?? 2000);
const POLICY = { chunkSize: 8 * MiB, chunkConcurrency: 3 };
const SMALL_IN_FLIGHT = 7;

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Wall time of `node -e 0`. */
function nodeStart(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('exit', () => resolve(performance.now() - t0));
  });
}

/** Median wall time of `whoami` against a running emulator: the CLI's start-up. */
async function startup(h: Harness): Promise<number> {
  const emu = await h.emulator(POLICY);
  try {
    const home = await h.cliHome(emu, 'cli-startup');
    await h.cli(['--home', home, 'whoami']); // page cache warm, as for any command run twice
    const times: number[] = [];
    const bare: number[] = [];
    for (let r = 0; r < Math.max(5, h.runs); r++) {
      times.push((await h.cli(['--home', home, 'whoami'])).ms);
      bare.push(await nodeStart());
    }
    const m = median(times);
    // node's own start-up in the same run tells a slow CLI from a slow machine
    h.row('CLI start-up: `cloudreve-sync whoami`, wall', `limit 0.40 s (\`node -e 0\`: ${s(median(bare))})`, s(m), (m / 400).toFixed(2), '≤ 1.00', verdict(m <= 400));
    console.error(`SUMMARY cli start-up | ${s(m)} (node -e 0: ${s(median(bare))}) | target ≤ 0.40 s | load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    return m;
  } finally {
    await emu.close();
  }
}

async function bigFile(h: Harness, start: number): Promise<void> {
  const file = join(h.root, 'cli-big.bin');
  await makeFile(file, BIG);
  await warm(file);
  const base: number[] = [];
  const cli: number[] = [];
  try {
    await h.alternate(
      async (r) => {
        const emu = await h.emulator(POLICY);
        base.push((await h.child(['baseline', emu.url, emu.email, emu.password, file, `cloudreve://my/b${r}.bin`, '0'])).ms);
        await emu.close();
      },
      async (r) => {
        const emu = await h.emulator(POLICY);
        const home = await h.cliHome(emu, `cli-big-${r}`);
        cli.push((await h.cli(['--home', home, 'upload', file, '--to', `cloudreve://my/c${r}`])).ms);
        await emu.close();
        rmSync(home, { recursive: true, force: true });
      },
    );
  } finally {
    rmSync(file, { force: true });
  }
  const bare = median(base);
  const whole = median(cli);
  const ratio = bare / (whole - start);
  h.row(
    `CLI upload ${(BIG / GiB).toFixed(2)} GiB, local policy, 8 MiB × 3, start-up subtracted`,
    `${s(bare)} (bare node:http)`,
    `${s(whole)} − ${s(start)} = ${s(whole - start)}`,
    ratio.toFixed(2),
    '≥ 0.90',
    verdict(ratio >= 0.9),
  );
  console.error(`SUMMARY cli ${(BIG / GiB).toFixed(2)} GiB | ratio ${ratio.toFixed(2)} | CLI ${s(whole)} − start-up ${s(start)} = ${s(whole - start)} | bare ${s(bare)} | target ≥ 0.90 | load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

async function smallFiles(h: Harness, start: number): Promise<void> {
  const dir = join(h.root, 'cli-small');
  await makeSmallFiles(dir, FILES, 4096);
  const base: number[] = [];
  const cli: number[] = [];
  try {
    await h.alternate(
      async (r) => {
        const emu = await h.emulator(POLICY);
        const res = await h.child(['baseline-small', emu.url, emu.email, emu.password, dir, `cloudreve://my/b${r}`, String(SMALL_IN_FLIGHT)]);
        if (res.files !== FILES) throw new Error(`baseline uploaded ${res.files} of ${FILES} files`);
        base.push(res.ms);
        await emu.close();
      },
      async (r) => {
        const emu = await h.emulator(POLICY);
        const home = await h.cliHome(emu, `cli-small-${r}`);
        const run = await h.cli(['--home', home, 'upload', dir, '--to', `cloudreve://my/c${r}`]);
        if (!run.out.includes(`${FILES} uploaded, 0 skipped, 0 failed`)) throw new Error(`CLI small files: ${run.out.slice(-300)}`);
        cli.push(run.ms);
        await emu.close();
        rmSync(home, { recursive: true, force: true });
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bare = median(base);
  const whole = median(cli);
  const ratio = bare / (whole - start);
  const rate = (ms: number) => `${((FILES / ms) * 1000).toFixed(0)} files/s`;
  h.row(
    `CLI upload ${FILES} files of 4 KiB, start-up subtracted`,
    `${s(bare)}, ${rate(bare)} (bare node:http, ${SMALL_IN_FLIGHT} in flight)`,
    `${s(whole)} − ${s(start)} = ${s(whole - start)}, ${rate(whole - start)}`,
    ratio.toFixed(2),
    '≥ 0.85',
    verdict(ratio >= 0.85),
  );
  console.error(`SUMMARY cli ${FILES} × 4 KiB | ratio ${ratio.toFixed(2)} | CLI ${s(whole)} − start-up ${s(start)} = ${s(whole - start)} | bare ${s(bare)} | target ≥ 0.85 | load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

export async function cliProcess(h: Harness): Promise<void> {
  const start = await startup(h);
  await bigFile(h, start);
  await smallFiles(h, start);
}
