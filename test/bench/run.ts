/**
 * `npm run bench`: speed and memory as ratios against baselines measured in the same run, one section after
 * another, then one table. Every client run is a child process; the emulators run in this process with their
 * blobs on /dev/shm (see harness.ts).
 *
 * Environment: BENCH_ONLY=cli,engine,… (run only these sections, in this order), BENCH_RUNS (default 3), and
 * each section's own (see its file).
 *
 * Adding a section: write test/bench/<name>.ts exporting `async (h: Harness) => void` that measures with the
 * harness (h.emulator, h.child, h.cli, h.alternate, median) and adds rows with h.row(); import it here and add
 * one line to SECTIONS. scripts/bench.mjs bundles whatever this file imports.
 */
import { Harness } from './harness.js';
import { cliProcess } from './cli-process.js';
import { engineRss, engineSmallFiles, engineThroughput } from './engine.js';
import { adapterRssSection, s3Section } from './s3.js';
import { rendererSection } from './renderer.js';
import { syncSection } from './sync.js';
import { downloadSection } from './download.js';
import { httpAbSection } from './http-ab.js';
import { twoWaySection } from './two-way.js';

const SECTIONS: Record<string, { what: string; run: (h: Harness) => Promise<void> }> = {
  cli: { what: 'the CLI process as the README invokes it vs a bare node:http client: start-up, 1 GiB, 2,000 small files', run: cliProcess },
  engine: { what: 'the engine vs node:http, plain and encrypted; bytes re-sent after kill -9 and resume', run: engineThroughput },
  small: { what: 'the engine with 2,000 files of 4 KiB vs 200 files/s', run: engineSmallFiles },
  rss: { what: 'peak RSS of the engine uploading 1 and 4 GiB', run: engineRss },
  sync: { what: 'folder sync: scan of 100,000 files in 1,000 folders (time, RSS), idle-watch CPU, write → watcher latency', run: syncSection },
  renderer: { what: 'the app page in chromium: first render of a 10,000-transfer queue, frame times while 50 transfers progress', run: rendererSection },
  s3: { what: 'S3 to Swift via pre-signed URLs: engine vs node:http, rclone, lib-storage', run: s3Section },
  'adapters-rss': { what: 'peak RSS of the engine per policy type (emulated vendors), 1 GiB → 4 GiB', run: adapterRssSection },
  'http-ab': { what: 'the CLI on node:http vs on undici vs a bare node:http client: 2,000 small files and 1 GiB, CPU, paired rounds', run: httpAbSection },
  download: { what: 'the CLI downloading 1 GiB vs a bare node:http GET of the same URL into a file', run: downloadSection },
  watcher: { what: 'our folder watcher vs @parcel/watcher on 100,000 files: start-up, idle CPU, RSS, event latency, changes made while not running', run: async (h) => (await import('./watcher.js')).watcherSection(h) },
  'two-way': { what: 'two-way sync through the CLI: 2,000 × 4 KiB brought down vs a bare node:http client; a pass over 100,000 files with nothing changed (time, peak RSS)', run: twoWaySection },
};

const only = (process.env.BENCH_ONLY ?? '').split(',').map((x) => x.trim()).filter(Boolean);
const unknown = only.filter((n) => !(n in SECTIONS));
if (unknown.length > 0) {
  console.error(`bench: unknown section(s) ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
const chosen = only.length > 0 ? only : Object.keys(SECTIONS);

const h = new Harness();
try {
  console.error(`bench: sections ${chosen.join(', ')}; ${h.runs} runs each; scratch ${h.root}, emulator blobs ${h.blobRoot}`);
  for (const name of chosen) {
    console.error(`bench: ${name} — ${SECTIONS[name].what}`);
    await SECTIONS[name].run(h);
  }
  console.log(h.table());
  console.log(`(medians of ${h.runs} runs; throughput ratio = baseline time / measured time, so ≥ target is good)`);
} finally {
  h.cleanup();
}
