// `npm run bench`: bundles the benchmark (runner, client child, emulator and engine) with esbuild to plain
// JavaScript in dist/bench/ and runs it with node. Measuring under tsx's loader would roughly halve throughput
// for every client alike and hide the differences between them. The CLI section runs bin/cloudreve-sync.js,
// so the CLI's own bundle is brought up to date first (as `npm run cli` does).
// BENCH_ONLY=cli,engine,small,rss picks sections (see test/bench/run.ts).
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const cli = spawnSync(process.execPath, [root + 'scripts/bundle.mjs', '--cli'], { stdio: 'inherit' });
if (cli.status !== 0) process.exit(cli.status ?? 1);
await build({
  entryPoints: { run: root + 'test/bench/run.ts', child: root + 'test/bench/child.ts' },
  outdir: root + 'dist/bench',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: false,
  logLevel: 'warning',
});
const p = spawn(process.execPath, [root + 'dist/bench/run.mjs', ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
p.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
