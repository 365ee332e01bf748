// Bundles what cannot run as plain tsc output:
//  - preload/index.ts → dist/preload/index.cjs (a sandboxed preload must be one CommonJS file)
//  - renderer/main.ts → dist/renderer/main.js (one ES module for the page), plus index.html / styles
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
if (existsSync(root + 'preload/index.ts')) {
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
if (existsSync(root + 'renderer/main.ts')) {
  await build({
    entryPoints: [root + 'renderer/main.ts'],
    outfile: root + 'dist/renderer/main.js',
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome120',
    logLevel: 'warning',
  });
  mkdirSync(root + 'dist/renderer', { recursive: true });
  for (const f of ['index.html', 'styles.css']) {
    if (existsSync(root + 'renderer/' + f)) cpSync(root + 'renderer/' + f, root + 'dist/renderer/' + f);
  }
}
