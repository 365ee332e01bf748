/**
 * The `s3` section of `npm run bench`: a file (BENCH_GIB, default 1) to Swift (scripts/s3-server.mjs) through Cloudreve-style
 * pre-signed URLs, same part size (16 MiB) and concurrency (4) for every client, in the same run:
 *   ours         the engine, through the emulator's S3 policy on Swift (SigV4 pre-signed part and complete URLs)
 *   node:http    a bare client PUTting the same kind of pre-signed parts, then completing (the ceiling)
 *   rclone       Debian's rclone (`env -u AWS_CA_BUNDLE rclone copyto`), when installed
 *   lib-storage  @aws-sdk/lib-storage's Upload
 * Wall time and client CPU seconds for each (medians of BENCH_RUNS). The `adapters-rss` section: peak RSS of the engine
 * per policy type over BENCH_ADAPTER_RSS_GIB (default "1,4") against the emulated vendors. Each client is its own process, bundled here with
 * esbuild (a loader would slow every client alike and hide differences).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { EmulatorPolicy, EmulatorPolicyType } from '../emulator/index.js';
import { presign, type S3Target } from '../emulator/sigv4.js';
import { GiB, MiB, ROOT, makeFile, median, verdict, warm, type Harness } from './harness.js';

const PART = 16 * MiB;
const CONC = 4;
const BIG = Number(process.env.BENCH_GIB ?? 1) * GiB;
const RSS_SIZES = (process.env.BENCH_ADAPTER_RSS_GIB ?? '1,4').split(',').map((s) => Number(s) * GiB);

interface Result {
  ms: number;
  cpuMs: number;
  maxRssMB: number;
}

async function bundleChild(): Promise<string> {
  const { build } = await import('esbuild');
  const out = join(ROOT, 'dist/bench/s3-child.mjs');
  await build({ entryPoints: [join(ROOT, 'test/bench/s3-child.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  return out;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve(out + err) : reject(new Error(`${cmd} ${args[0]} exited ${code}: ${err.slice(-400)}`))));
  });
}

async function child(bundle: string, args: string[]): Promise<Result> {
  const out = await run(process.execPath, [bundle, ...args]);
  return JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as Result;
}

/** rclone under /usr/bin/time: wall, user+system CPU and max RSS of the process. */
async function rclone(t: S3Target, file: string, key: string): Promise<Result> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_S3R_TYPE: 's3',
    RCLONE_CONFIG_S3R_PROVIDER: 'Other',
    RCLONE_CONFIG_S3R_ENDPOINT: t.endpoint,
    RCLONE_CONFIG_S3R_ACCESS_KEY_ID: t.accessKey,
    RCLONE_CONFIG_S3R_SECRET_ACCESS_KEY: t.secretKey,
    RCLONE_CONFIG_S3R_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_S3R_REGION: t.region,
  };
  delete env.AWS_CA_BUNDLE; // rclone (aws-sdk-go v1) fails on this environment's bundle
  const out = await run(
    '/usr/bin/time',
    ['-f', 'TIME %e %U %S %M', 'rclone', 'copyto', file, `s3r:${t.bucket}/${key}`, '--s3-upload-cutoff', '100M', '--s3-chunk-size', '16M', '--s3-upload-concurrency', String(CONC)],
    env,
  );
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(out);
  if (!m) throw new Error(`rclone: no timing in ${out.slice(-300)}`);
  return { ms: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, maxRssMB: Number(m[4]) / 1024 };
}

async function headSize(t: S3Target, key: string): Promise<number> {
  const r = await fetch(presign(t, 'HEAD', key, {}, 300), { method: 'HEAD' });
  return r.ok ? Number(r.headers.get('content-length')) : -1;
}

/** What Cloudreve's S3 driver does for a session: CreateMultipartUpload, pre-signed UploadPart and Complete URLs. */
async function presignedJob(t: S3Target, key: string, size: number): Promise<{ urls: string[]; completeURL: string; partSize: number; concurrency: number }> {
  const r = await fetch(presign(t, 'POST', key, { uploads: '' }, 600), { method: 'POST' });
  const id = /<UploadId>([^<]+)<\/UploadId>/.exec(await r.text())?.[1];
  if (!id) throw new Error(`CreateMultipartUpload failed: HTTP ${r.status}`);
  const n = Math.max(1, Math.ceil(size / PART));
  return {
    urls: Array.from({ length: n }, (_, i) => presign(t, 'PUT', key, { partNumber: String(i + 1), uploadId: id }, 600)),
    completeURL: presign(t, 'POST', key, { uploadId: id }, 600),
    partSize: PART,
    concurrency: CONC,
  };
}

async function startSwift(dir: string): Promise<{ t: S3Target; stop: () => Promise<void> }> {
  const p = spawn(process.execPath, [join(ROOT, 'scripts/s3-server.mjs'), '--data', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: p.stdout }).once('line', resolve);
    p.once('exit', (c) => reject(new Error(`s3-server exited ${c}`)));
  });
  const j = JSON.parse(line) as { endpoint: string; accessKey: string; secretKey: string; region: string };
  const t: S3Target = { endpoint: j.endpoint, accessKey: j.accessKey, secretKey: j.secretKey, region: j.region, bucket: 'bench' };
  await fetch(presign(t, 'PUT', '', {}, 300), { method: 'PUT' });
  return {
    t,
    stop: async () => {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    },
  };
}

async function throughput(h: Harness, bundle: string, t: S3Target, file: string, scratch: string): Promise<void> {
  const size = statSync(file).size;
  const results: Record<string, Result[]> = { ours: [], 'node:http': [], rclone: [], 'lib-storage': [] };
  const haveRclone = spawnSync('sh', ['-c', 'command -v rclone'], { stdio: 'ignore' }).status === 0;
  let lib = true;
  try {
    await import('@aws-sdk/lib-storage');
  } catch {
    lib = false;
  }
  for (let r = 0; r < h.runs; r++) {
    const clients: Array<[string, () => Promise<Result>]> = [
      [
        'ours',
        async () => {
          const emu = await h.emulator({ type: 's3', s3: t, chunkSize: PART, chunkConcurrency: CONC });
          try {
            return await child(bundle, ['ours', join(scratch, `home-${r}`), emu.url, emu.email, emu.password, `cloudreve://my/r${r}`, file]);
          } finally {
            await emu.close();
          }
        },
      ],
      [
        'node:http',
        async () => {
          const key = `bare-${r}`;
          const jobFile = join(scratch, `job-${r}.json`);
          writeFileSync(jobFile, JSON.stringify(await presignedJob(t, key, size)));
          const res = await child(bundle, ['bare', jobFile, file]);
          if ((await headSize(t, key)) !== size) throw new Error('node:http: object has the wrong size');
          return res;
        },
      ],
    ];
    if (haveRclone) clients.push(['rclone', () => rclone(t, file, `rclone-${r}`)]);
    if (lib) clients.push(['lib-storage', () => child(bundle, ['lib-storage', t.endpoint, t.accessKey, t.secretKey, t.bucket, `lib-${r}`, file, String(PART), String(CONC)])]);
    // rotate who goes first, so that drift on a noisy machine favours no one
    await warm(file);
    for (let k = 0; k < clients.length; k++) {
      const [name, fn] = clients[(k + r) % clients.length];
      results[name].push(await fn());
    }
  }
  const med = (name: string) => ({ ms: median(results[name].map((x) => x.ms)), cpu: median(results[name].map((x) => x.cpuMs)) });
  const ours = med('ours');
  const bareM = med('node:http');
  const mibs = (ms: number) => (size / MiB / (ms / 1000)).toFixed(0);
  const label = `${(size / GiB).toFixed(2)} GiB to Swift, ${PART / MiB} MiB × ${CONC}`;
  for (const name of Object.keys(results)) {
    if (results[name].length === 0) {
      h.row(`${label}: ${name}`, 'not installed', '', '', '', 'MISSING');
      continue;
    }
    const m = med(name);
    h.row(`${label}: ${name}`, `${(m.ms / 1000).toFixed(2)} s wall, ${(m.cpu / 1000).toFixed(2)} s CPU`, `${mibs(m.ms)} MiB/s`, '', '', '');
  }
  const ratioBare = bareM.ms / ours.ms;
  h.row('S3: ours vs bare node:http (speed)', `${mibs(bareM.ms)} MiB/s`, `${mibs(ours.ms)} MiB/s`, ratioBare.toFixed(2), '≥ 0.90', verdict(ratioBare >= 0.9));
  for (const peer of ['rclone', 'lib-storage']) {
    if (results[peer].length === 0) continue;
    const p = med(peer);
    const speed = p.ms / ours.ms;
    const want = peer === 'rclone' ? 1.5 : 1.0;
    h.row(`S3: ours vs ${peer} (speed)`, `${mibs(p.ms)} MiB/s`, `${mibs(ours.ms)} MiB/s`, speed.toFixed(2), peer === 'rclone' ? '≥ 1.50' : '> 1.00', verdict(speed >= want && (peer === 'rclone' || speed > 1)));
    h.row(`S3: ours vs ${peer} (client CPU)`, `${(p.cpu / 1000).toFixed(2)} s`, `${(ours.cpu / 1000).toFixed(2)} s`, (ours.cpu / p.cpu).toFixed(2), '< 1.00', verdict(ours.cpu < p.cpu));
  }
}

/** Peak RSS of the engine per policy type (emulated vendors), smallest to largest file: it must not grow. */
async function adapterRss(h: Harness, bundle: string, scratch: string): Promise<void> {
  const types: EmulatorPolicyType[] = ['s3', 'oss', 'cos', 'obs', 'ks3', 'onedrive', 'qiniu', 'upyun'];
  const files: string[] = [];
  for (const size of RSS_SIZES) {
    const f = join(scratch, `rss-${size}.bin`);
    await makeFile(f, size);
    files.push(f);
  }
  for (const type of types) {
    const peaks: number[] = [];
    for (const [i, f] of files.entries()) {
      // OneDrive fragments are multiples of 320 KiB: 51 × 320 KiB ≈ 16 MiB
      const policy: EmulatorPolicy = { type, chunkSize: type === 'onedrive' ? 51 * 320 * 1024 : PART, chunkConcurrency: type === 'onedrive' || type === 'upyun' ? undefined : CONC };
      const emu = await h.emulator(policy);
      try {
        const res = await child(bundle, ['ours', join(scratch, `rss-home-${type}-${i}`), emu.url, emu.email, emu.password, `cloudreve://my/rss${i}`, f]);
        peaks.push(res.maxRssMB);
      } finally {
        await emu.close();
      }
    }
    const growth = peaks[peaks.length - 1] - peaks[0];
    h.row(
      `peak RSS, ${type}: ${RSS_SIZES.map((s) => `${(s / GiB).toFixed(2)} GiB`).join(' → ')}`,
      'not growing',
      peaks.map((p) => `${p.toFixed(0)} MB`).join(' → '),
      '',
      '≤ 32 MB growth',
      verdict(growth <= 32),
    );
  }
}

export async function s3Section(h: Harness): Promise<void> {
  const scratch = mkdtempSync(join(h.root, 's3-'));
  const bundle = await bundleChild();
  const file = join(scratch, 'big.bin');
  await makeFile(file, BIG);
  let swift: Awaited<ReturnType<typeof startSwift>> | null = null;
  try {
    mkdirSync(join(scratch, 'swift'));
    swift = await startSwift(join(scratch, 'swift'));
    await throughput(h, bundle, swift.t, file, scratch);
  } catch (err) {
    h.row('S3 to Swift', 'could not run', (err as Error).message.slice(0, 120), '', '', 'MISSING');
  } finally {
    await swift?.stop();
    rmSync(file, { force: true });
  }
  rmSync(scratch, { recursive: true, force: true });
}

/** `BENCH_ONLY=adapters-rss`: peak RSS per policy type, 1 → 4 GiB (BENCH_ADAPTER_RSS_GIB). */
export async function adapterRssSection(h: Harness): Promise<void> {
  const scratch = mkdtempSync(join(h.root, 'rss-'));
  try {
    await adapterRss(h, await bundleChild(), scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
