/**
 * What every benchmark section shares: scratch folders (emulator blobs in memory when possible), a fresh
 * emulator per run, client runs as child processes (the bundled child.ts, or the CLI exactly as the README
 * invokes it), medians, and the result table. A section is `(h: Harness) => Promise<void>` that adds rows
 * with h.row(); run.ts lists the sections.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions, type EmulatorPolicy } from '../emulator/index.js';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export interface ChildResult {
  ms: number;
  maxRssMB: number;
  cpuMs: number;
  files?: number;
}

export interface ProcessRun {
  /** wall time from spawn to exit */
  ms: number;
  code: number | null;
  out: string;
  err: string;
}

/** The project root (scripts/bench.mjs runs the bundle from dist/bench/, tsx from test/bench/). */
export const ROOT = new URL('../../', import.meta.url).pathname;
/** The CLI as the README invokes it from a checkout (the installed `cloudreve-sync` runs this same file). */
export const CLI = process.env.BENCH_CLI_ALL ?? join(ROOT, 'bin/cloudreve-sync.js');

export class Harness {
  readonly runs = Number(process.env.BENCH_RUNS ?? 3);
  readonly root = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'crs-bench-'));
  // The emulator's blobs go to memory when possible: this VM's disk write throttling, not the client, would
  // otherwise set the pace (measured: ~0.3 GB/s on disk vs ~0.5 GB/s on /dev/shm).
  readonly blobRoot = mkdtempSync(join(process.env.BENCH_BLOBS ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'crs-bench-blobs-'));
  readonly rows: string[][] = [];

  /** A fresh emulator whose data folder is removed on close. */
  async emulator(policy: Partial<EmulatorPolicy>, opts: Omit<EmulatorOptions, 'dataDir' | 'policy'> = {}): Promise<Emulator> {
    const dataDir = join(this.blobRoot, `emu-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dataDir);
    const emu = await startEmulator({ dataDir, quota: 64 * GiB, ...opts, policy: { type: 'local', ...policy } as EmulatorPolicy });
    const close = emu.close.bind(emu);
    emu.close = async () => {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    };
    return emu;
  }

  /** One measured run of child.ts (see there for the modes); resolves with its last stdout line. */
  child(args: string[], onSpawn?: (pid: number) => void): Promise<ChildResult> {
    // Bundled by scripts/bench.mjs: the child is plain JavaScript beside this file; under tsx, the TypeScript source.
    const entry = import.meta.url.endsWith('.mjs') ? [new URL('./child.mjs', import.meta.url).pathname] : ['--import', 'tsx', join(ROOT, 'test/bench/child.ts')];
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [...entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      onSpawn?.(p.pid!);
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code, signal) => {
        if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()!));
        else reject(Object.assign(new Error(`child ${args[0]} exited ${code ?? signal}: ${err.slice(-500)}`), { signal }));
      });
    });
  }

  /** `node bin/cloudreve-sync.js <args>`, timed from spawn to exit; a non-zero exit rejects. */
  cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessRun> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => {
        const run = { ms: performance.now() - t0, code, out, err };
        if (code === 0) resolve(run);
        else reject(new Error(`cloudreve-sync ${args.join(' ')} exited ${code}: ${err.slice(-500)}`));
      });
    });
  }

  /** A CLI home logged in to `emu` (not timed). */
  async cliHome(emu: Emulator, name: string): Promise<string> {
    const home = join(this.root, name);
    rmSync(home, { recursive: true, force: true });
    await this.cli(['--home', home, 'login', '--server', emu.url, '--email', emu.email], { CLOUDREVE_PASSWORD: emu.password });
    return home;
  }

  /** Runs `a` and `b` `runs` times each, alternating who goes first (drift on a noisy machine favours neither). */
  async alternate(a: (r: number) => Promise<void>, b: (r: number) => Promise<void>): Promise<void> {
    for (let r = 0; r < this.runs; r++) {
      if (r % 2 === 0) {
        await a(r);
        await b(r);
      } else {
        await b(r);
        await a(r);
      }
    }
  }

  row(...cells: string[]): void {
    this.rows.push(cells);
    console.error('  ' + cells.join(' | '));
  }

  table(): string {
    const header = ['measure', 'baseline / limit', 'measured', 'ratio', 'target', 'result'];
    const widths = header.map((h, i) => Math.max(h.length, ...this.rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) => '| ' + header.map((_, i) => (cells[i] ?? '').padEnd(widths[i])).join(' | ') + ' |';
    return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...this.rows.map(line)].join('\n');
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
    rmSync(this.blobRoot, { recursive: true, force: true });
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

export async function makeFile(path: string, size: number): Promise<void> {
  const block = randomBytes(8 * MiB);
  const ws = createWriteStream(path);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, block.length);
    if (!ws.write(n === block.length ? block : block.subarray(0, n))) await new Promise<void>((r) => ws.once('drain', () => r()));
    left -= n;
  }
  await new Promise<void>((r, j) => ws.end((e?: Error | null) => (e ? j(e) : r())));
}

/** Reads the file once so that no client is the one to pay for a cold page cache. */
export async function warm(file: string): Promise<void> {
  for await (const _ of createReadStream(file, { highWaterMark: 8 * MiB })) {
    /* discard */
  }
}

/** `count` files of `size` random bytes in sub-folders of 200 under `dir`. */
export async function makeSmallFiles(dir: string, count: number, size: number): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 200)}`);
    if (i % 200 === 0) mkdirSync(sub, { recursive: true });
    await writeFile(join(sub, `f${i}.bin`), randomBytes(size));
  }
}
