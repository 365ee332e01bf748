// Bundles what runs as one file or a few:
//  - main/cli.ts → dist/cli/cloudreve-sync.mjs (+ chunks/ that commands import when they run): the headless
//    CLI that bin/cloudreve-sync.js runs. Its packages (conf, …) are bundled in, which halves their load
//    time; better-sqlite3 stays external (native addon). `--cli` bundles only the CLI, and only when a source
//    it was built from changed since (`npm run cli` does this before every run).
//  - preload/index.ts → dist/preload/index.cjs (a sandboxed preload must be one CommonJS file)
//  - renderer/main.ts → dist/renderer/main.js (one ES module for the page), plus index.html / styles: the Electron
//    window's page and what `cloudreve-sync ui` serves. `--cli` rebuilds it too, when a source changed since.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const cliOnly = process.argv.includes('--cli');

const CLI_OUT = root + 'dist/cli/';
const CLI_META = CLI_OUT + 'inputs.json';

const RENDERER_OUT = root + 'dist/renderer/';
const RENDERER_META = RENDERER_OUT + 'inputs.json';
const RENDERER_STATIC = ['index.html', 'styles.css'];

/** True when `output` exists and none of the files listed in `meta` (it was built from) is newer than it. */
function isFresh(output, meta) {
  try {
    const built = statSync(output).mtimeMs;
    const inputs = JSON.parse(readFileSync(meta, 'utf8'));
    return inputs.every((f) => statSync(root + f).mtimeMs <= built);
  } catch {
    return false;
  }
}

function cliIsFresh() {
  return isFresh(CLI_OUT + 'cloudreve-sync.mjs', CLI_META);
}

async function bundleCli() {
  if (cliOnly && cliIsFresh()) return;
  const { build } = await import('esbuild');
  // built beside and swapped in, so that a CLI starting meanwhile finds the old bundle or the new one, whole
  const tmp = root + `dist/cli-${process.pid}/`;
  rmSync(tmp, { recursive: true, force: true });
  const result = await build({
    entryPoints: { 'cloudreve-sync': root + 'main/cli.ts' },
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // `trash` (loaded when a two-way pair first trashes a local file) stays external: on Linux it reads
    // /proc/self/mountinfo through @stroncium/procfs, whose parsers are a computed require() esbuild cannot bundle
    // ("Module not found in bundle: ./parsers/processMountinfo": every local trash of the CLI failed; found by the
    // two-way soak)
    external: ['better-sqlite3', 'electron', 'trash'],
    // CommonJS packages bundled into ES modules call require() for node built-ins
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    metafile: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('<'));
  writeFileSync(tmp + 'inputs.json', JSON.stringify([...inputs, 'package.json', 'scripts/bundle.mjs']));
  rmSync(CLI_OUT, { recursive: true, force: true });
  renameSync(tmp, CLI_OUT);
}

await bundleCli();
const { build } = cliOnly ? {} : await import('esbuild');
if (!cliOnly && existsSync(root + 'preload/index.ts')) {
  await build({
    entryPoints: [root + 'preload/index.ts'],
    outfile: root + 'dist/preload/index.cjs',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: ['electron'],
    target: 'node20',
    logLevel: 'warning',
  });
}
if (existsSync(root + 'renderer/main.ts') && !(cliOnly && isFresh(RENDERER_OUT + 'main.js', RENDERER_META))) {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [root + 'renderer/main.ts'],
    outfile: RENDERER_OUT + 'main.js',
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome120',
    metafile: true,
    logLevel: 'warning',
  });
  mkdirSync(RENDERER_OUT, { recursive: true });
  const statics = RENDERER_STATIC.filter((f) => existsSync(root + 'renderer/' + f));
  for (const f of statics) cpSync(root + 'renderer/' + f, RENDERER_OUT + f);
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('<'));
  writeFileSync(RENDERER_META, JSON.stringify([...inputs, ...statics.map((f) => 'renderer/' + f), 'scripts/bundle.mjs']));
}
