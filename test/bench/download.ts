/**
 * The `download` section of `npm run bench`: one big file (BENCH_GIB, default 1) downloaded by the CLI exactly as the
 * README invokes it (`node bin/cloudreve-sync.js download cloudreve://my/… --to DIR`) against a bare node:http GET of
 * the same signed URL into a file (baseline-http.ts baselineDownload), same emulator, same run, alternating who goes
 * first. The CLI's start-up (the median `whoami`) is subtracted, as in the `cli` section; its time includes the file
 * info, the download URL, the journal, the temp file, the fsync, the mtime and the rename.
 *
 * Where the file goes: the emulator's folder (memory, /dev/shm when there is one), so that the disk's write-back does
 * not set the pace for either; a second row writes to the scratch folder on disk, where the CLI's fsync (a download is
 * flushed before it is renamed into place) is compared with a baseline that fsyncs too.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GiB, MiB, makeFile, median, verdict, warm, type Harness } from './harness.js';

const BIG = Number(process.env.BENCH_GIB ?? 1) * GiB;
const POLICY = { chunkSize: 8 * MiB, chunkConcurrency: 3 };

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A signed download URL of `uri` (POST /api/v4/file/url), fetched with a fresh login. */
async function signedUrl(base: string, email: string, password: string, uri: string): Promise<string> {
  const post = async (path: string, body: unknown, token?: string) => {
    const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    const env = (await r.json()) as { code: number; data: any; msg: string };
    if (env.code !== 0) throw new Error(`${path}: ${env.msg} (${env.code})`);
    return env.data;
  };
  const { token } = await post('/api/v4/session/token', { email, password });
  const d = await post('/api/v4/file/url', { uris: [uri], download: true }, token.access_token);
  return d.urls[0].url as string;
}

async function startup(h: Harness, home: string): Promise<number> {
  await h.cli(['--home', home, 'whoami']);
  const times: number[] = [];
  for (let r = 0; r < Math.max(5, h.runs); r++) times.push((await h.cli(['--home', home, 'whoami'])).ms);
  return median(times);
}

export async function downloadSection(h: Harness): Promise<void> {
  const src = join(h.root, 'dl-src.bin');
  await makeFile(src, BIG);
  await warm(src);
  const emu = await h.emulator(POLICY);
  try {
    await h.child(['baseline', emu.url, emu.email, emu.password, src, 'cloudreve://my/big.bin', '0']);
    rmSync(src, { force: true });
    const home = await h.cliHome(emu, 'dl-home');
    const start = await startup(h, home);
    for (const where of ['memory', 'disk'] as const) {
      const root = where === 'memory' ? join(h.blobRoot, 'dl-out') : join(h.root, 'dl-out');
      const base: number[] = [];
      const cli: number[] = [];
      await h.alternate(
        async (r) => {
          const out = join(root, `b${r}`);
          mkdirSync(out, { recursive: true });
          const url = await signedUrl(emu.url, emu.email, emu.password, 'cloudreve://my/big.bin');
          const res = await h.child(['baseline-download', url, join(out, 'big.bin'), where === 'disk' ? '1' : '0']);
          base.push(res.ms);
          rmSync(out, { recursive: true, force: true });
        },
        async (r) => {
          const out = join(root, `c${r}`);
          const run = await h.cli(['--home', home, 'download', 'cloudreve://my/big.bin', '--to', out]);
          if (!run.out.includes('1 downloaded, 0 skipped, 0 failed')) throw new Error(`CLI download: ${run.out.slice(-300)} ${run.err.slice(-300)}`);
          cli.push(run.ms);
          rmSync(out, { recursive: true, force: true });
        },
      );
      const bare = median(base);
      const whole = median(cli);
      const ratio = bare / (whole - start);
      h.row(
        `CLI download ${(BIG / GiB).toFixed(2)} GiB, local policy, into ${where === 'memory' ? 'memory (tmpfs)' : 'the disk, both fsync'}, start-up subtracted`,
        `${s(bare)} (bare node:http GET${where === 'disk' ? ' + fsync' : ''})`,
        `${s(whole)} − ${s(start)} = ${s(whole - start)}`,
        ratio.toFixed(2),
        '≥ 0.90',
        verdict(ratio >= 0.9),
      );
    }
  } finally {
    await emu.close();
    rmSync(src, { force: true });
  }
}
