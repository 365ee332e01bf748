/**
 * The upload engine in a child process (bundled JavaScript, no CLI around it), as ratios against baselines
 * measured in the same run: throughput plain and encrypted against node:http, bytes sent again after kill -9
 * and resume, small files against 200 files/s, peak RSS against 200 MB.
 * Environment: BENCH_GIB (big file, default 1), BENCH_RSS_GIB (default "1,4"), BENCH_FILES (default 2000).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { GiB, MiB, makeFile, makeSmallFiles, median, verdict, warm, type Harness } from './harness.js';

const BIG = Number(process.env.BENCH_GIB ?? 1) * GiB;
const RSS_SIZES = (process.env.BENCH_RSS_GIB ?? '1,4').split(',').map((s) => Number(s) * GiB);
const FILES = Number(process.env.BENCH_FILES ?? 2000);
const CHUNK = 16 * MiB;
const CONC = 4;
const POLICY = { chunkSize: CHUNK, chunkConcurrency: CONC };

async function throughput(h: Harness, encryption: boolean, file: string, size: number): Promise<void> {
  const base: number[] = [];
  const eng: number[] = [];
  await warm(file);
  await h.alternate(
    async (r) => {
      const emu = await h.emulator({ ...POLICY, encryption });
      const res = await h.child(['baseline', emu.url, emu.email, emu.password, file, `cloudreve://my/b${r}.bin`, encryption ? '1' : '0']);
      base.push(res.ms);
      await emu.close();
    },
    async (r) => {
      const emu = await h.emulator({ ...POLICY, encryption });
      const home = join(h.root, `home-${encryption}-${r}`);
      const res = await h.child(['engine', home, emu.url, emu.email, emu.password, 'cloudreve://my/e', file]);
      eng.push(res.ms);
      await emu.close();
      rmSync(home, { recursive: true, force: true });
    },
  );
  const mibs = (ms: number) => (size / MiB / (ms / 1000)).toFixed(0);
  const ratio = median(base) / median(eng);
  const target = encryption ? 0.75 : 0.85;
  h.row(
    `engine: ${(size / GiB).toFixed(2)} GiB, local policy, ${CHUNK / MiB} MiB × ${CONC}${encryption ? ', AES-256-CTR' : ''}`,
    `${mibs(median(base))} MiB/s (plain node:http${encryption ? ' + createCipheriv' : ''})`,
    `${mibs(median(eng))} MiB/s`,
    ratio.toFixed(2),
    `≥ ${target}`,
    verdict(ratio >= target),
  );
}

async function killResume(h: Harness, file: string, size: number): Promise<void> {
  const emu = await h.emulator(POLICY);
  const home = join(h.root, 'home-kill');
  let pid = 0;
  const run = h.child(['engine', home, emu.url, emu.email, emu.password, 'cloudreve://my/k', file], (p) => (pid = p)).catch((e) => e);
  for (let i = 0; i < 6000 && emu.stats().bytes_received < size / 2; i++) await new Promise((r) => setTimeout(r, 10));
  process.kill(pid, 'SIGKILL');
  await run;
  const before = emu.stats().bytes_received;
  await h.child(['resume', home]);
  const total = emu.stats().bytes_received;
  const resent = total - size;
  const limit = CHUNK * CONC;
  h.row(
    `engine: bytes sent again after kill -9 at ${((before / size) * 100).toFixed(0)}%, then resume`,
    `limit chunk × concurrency = ${limit / MiB} MiB`,
    `${(resent / MiB).toFixed(1)} MiB`,
    (resent / limit).toFixed(2),
    '≤ 1.00',
    verdict(resent <= limit),
  );
  await emu.close();
  rmSync(home, { recursive: true, force: true });
}

/** Throughput plain and encrypted, then kill -9 and resume, on one big file. */
export async function engineThroughput(h: Harness): Promise<void> {
  const big = join(h.root, 'engine-big.bin');
  await makeFile(big, BIG);
  try {
    await throughput(h, false, big, BIG);
    await throughput(h, true, big, BIG);
    await killResume(h, big, BIG);
  } finally {
    rmSync(big, { force: true });
  }
}

export async function engineSmallFiles(h: Harness): Promise<void> {
  const dir = join(h.root, 'engine-small');
  await makeSmallFiles(dir, FILES, 4096);
  const rates: number[] = [];
  for (let r = 0; r < h.runs; r++) {
    const emu = await h.emulator(POLICY);
    const home = join(h.root, `home-small-${r}`);
    const res = await h.child(['engine', home, emu.url, emu.email, emu.password, 'cloudreve://my/s', dir]);
    rates.push((res.files! / res.ms) * 1000);
    await emu.close();
    rmSync(home, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
  const m = median(rates);
  h.row(`engine: ${FILES} files of 4 KiB (files/s)`, 'target 200/s', `${m.toFixed(0)} files/s`, (m / 200).toFixed(2), '≥ 1.00', verdict(m >= 200));
}

export async function engineRss(h: Harness): Promise<void> {
  const peaks: number[] = [];
  for (const size of RSS_SIZES) {
    const file = join(h.root, `rss-${size}.bin`);
    await makeFile(file, size);
    const emu = await h.emulator(POLICY);
    const home = join(h.root, `home-rss-${size}`);
    const res = await h.child(['engine', home, emu.url, emu.email, emu.password, 'cloudreve://my/r', file]);
    peaks.push(res.maxRssMB);
    await emu.close();
    rmSync(file);
    rmSync(home, { recursive: true, force: true });
    h.row(`engine: peak RSS uploading ${(size / GiB).toFixed(2)} GiB`, 'limit 200 MB', `${res.maxRssMB.toFixed(0)} MB`, (res.maxRssMB / 200).toFixed(2), '≤ 1.00', verdict(res.maxRssMB <= 200));
  }
  if (peaks.length > 1) {
    const growth = peaks[peaks.length - 1] - peaks[0];
    h.row('engine: RSS growth from smallest to largest file', 'not growing', `${growth.toFixed(0)} MB`, '', '≤ 32 MB', verdict(growth <= 32));
  }
}
