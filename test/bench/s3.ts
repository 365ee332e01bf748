/**
 * The S3 part of `npm run bench` (called from run.ts): a file to Swift (scripts/s3-server.mjs) through Cloudreve-style
 * pre-signed URLs, same part size (16 MiB) and concurrency (4) for every client, in the same run:
 *   ours         the engine, through the emulator's S3 policy on Swift (SigV4 pre-signed part and complete URLs)
 *   node:http    a bare client PUTting the same kind of pre-signed parts, then completing (the ceiling)
 *   rclone       Debian's rclone (`env -u AWS_CA_BUNDLE rclone copyto`), when installed
 *   lib-storage  @aws-sdk/lib-storage's Upload
 * Wall time and client CPU seconds for each (medians of BENCH_RUNS), then peak RSS of the engine per policy type over
 * BENCH_ADAPTER_RSS_GIB (default "1,4") against the emulated vendors. Each client is its own process, bundled here with
 * esbuild (a loader would slow every client alike and hide differences). BENCH_S3=0 skips all of it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { startEmulator, type Emulator, type EmulatorPolicy, type EmulatorPolicyType } from '../emulator/index.js';
import { presign, type S3Target } from '../emulator/sigv4.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const PART = 16 * MiB;
const CONC = 4;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const RSS_SIZES = (process.env.BENCH_ADAPTER_RSS_GIB ?? '1,4').split(',').map((s) => Number(s) * GiB);

type Row = (...cells: string[]) => void;
interface Result {
  ms: number;
  cpuMs: number;
  maxRssMB: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function bundleChild(): Promise<string> {
  const { build } = await import('esbuild');
  const out = join(process.cwd(), 'dist/bench/s3-child.mjs');
  await build({ entryPoints: [join(process.cwd(), 'test/bench/s3-child.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
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
  const p = spawn(process.execPath, ['scripts/s3-server.mjs', '--data', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
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

async function makeFile(path: string, size: number): Promise<void> {
  const block = randomBytes(8 * MiB);
  const ws = createWriteStream(path);
  for (let left = size; left > 0; left -= block.length) {
    if (!ws.write(left >= block.length ? block : block.subarray(0, left))) await new Promise<void>((r) => ws.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => ws.end((e?: Error | null) => (e ? j(e) : r())));
}

async function throughput(row: Row, bundle: string, t: S3Target, file: string, scratch: string): Promise<void> {
  const size = statSync(file).size;
  const results: Record<string, Result[]> = { ours: [], 'node:http': [], rclone: [], 'lib-storage': [] };
  const haveRclone = spawnSync('sh', ['-c', 'command -v rclone'], { stdio: 'ignore' }).status === 0;
  let lib = true;
  try {
    await import('@aws-sdk/lib-storage');
  } catch {
    lib = false;
  }
  for (let r = 0; r < RUNS; r++) {
    const clients: Array<[string, () => Promise<Result>]> = [
      [
        'ours',
        async () => {
          const emu = await startEmulator({ dataDir: join(scratch, `emu-${r}`), quota: 64 * GiB, policy: { type: 's3', s3: { ...t, mirror: false }, chunkSize: PART, chunkConcurrency: CONC } });
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
      row(`${label}: ${name}`, 'not installed', '', '', '', 'MISSING');
      continue;
    }
    const m = med(name);
    row(`${label}: ${name}`, `${(m.ms / 1000).toFixed(2)} s wall, ${(m.cpu / 1000).toFixed(2)} s CPU`, `${mibs(m.ms)} MiB/s`, '', '', '');
  }
  const ratioBare = bareM.ms / ours.ms;
  row('S3: ours vs bare node:http (speed)', `${mibs(bareM.ms)} MiB/s`, `${mibs(ours.ms)} MiB/s`, ratioBare.toFixed(2), '≥ 0.90', ratioBare >= 0.9 ? 'PASS' : 'FAIL');
  for (const peer of ['rclone', 'lib-storage']) {
    if (results[peer].length === 0) continue;
    const p = med(peer);
    const speed = p.ms / ours.ms;
    const want = peer === 'rclone' ? 1.5 : 1.0;
    row(`S3: ours vs ${peer} (speed)`, `${mibs(p.ms)} MiB/s`, `${mibs(ours.ms)} MiB/s`, speed.toFixed(2), peer === 'rclone' ? '≥ 1.50' : '> 1.00', speed >= want && (peer === 'rclone' || speed > 1) ? 'PASS' : 'FAIL');
    row(`S3: ours vs ${peer} (client CPU)`, `${(p.cpu / 1000).toFixed(2)} s`, `${(ours.cpu / 1000).toFixed(2)} s`, (ours.cpu / p.cpu).toFixed(2), '< 1.00', ours.cpu < p.cpu ? 'PASS' : 'FAIL');
  }
}

/** Peak RSS of the engine per policy type (emulated vendors), smallest to largest file: it must not grow. */
async function adapterRss(row: Row, bundle: string, scratch: string): Promise<void> {
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
      const dataDir = join(scratch, `rss-emu-${type}-${i}`);
      const emu: Emulator = await startEmulator({ dataDir, quota: 64 * GiB, policy });
      try {
        const res = await child(bundle, ['ours', join(scratch, `rss-home-${type}-${i}`), emu.url, emu.email, emu.password, `cloudreve://my/rss${i}`, f]);
        peaks.push(res.maxRssMB);
      } finally {
        await emu.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    const growth = peaks[peaks.length - 1] - peaks[0];
    row(
      `peak RSS, ${type}: ${RSS_SIZES.map((s) => `${(s / GiB).toFixed(2)} GiB`).join(' → ')}`,
      'not growing',
      peaks.map((p) => `${p.toFixed(0)} MB`).join(' → '),
      '',
      '≤ 32 MB growth',
      growth <= 32 ? 'PASS' : 'FAIL',
    );
  }
}

/** The hook run.ts calls; `file` is the big file it already made. */
export async function s3Bench(row: Row, file: string, scratchRoot: string): Promise<void> {
  if (process.env.BENCH_S3 === '0') return;
  const scratch = mkdtempSync(join(scratchRoot, 's3-'));
  const bundle = await bundleChild();
  let swift: Awaited<ReturnType<typeof startSwift>> | null = null;
  try {
    mkdirSync(join(scratch, 'swift'));
    swift = await startSwift(join(scratch, 'swift'));
    await throughput(row, bundle, swift.t, file, scratch);
  } catch (err) {
    row('S3 to Swift', 'could not run', (err as Error).message.slice(0, 120), '', '', 'MISSING');
  } finally {
    await swift?.stop();
  }
  await adapterRss(row, bundle, scratch);
  rmSync(scratch, { recursive: true, force: true });
}
