/**
 * One measured client run, in its own process (so that its RSS and CPU are its own, and it does not share an
 * event loop with the emulator). Prints one JSON line: { ms, maxRssMB, cpuMs, files? }.
 *   child.ts baseline <server> <email> <password> <file> <uri> <encrypt 0|1>
 *   child.ts baseline-small <server> <email> <password> <dir> <folderUri> <inFlight>
 *   child.ts engine   <home> <server> <email> <password> <targetFolderUri> <path...>
 *   child.ts resume   <home>
 *   child.ts baseline-download <url> <out file> <fsync 0|1>
 *   child.ts baseline-tree <server> <email> <password> <folderUri> <outDir> <inFlight>
 */
import { createEngine } from '../../main/engine/index.js';
import { baselineDownload, baselineSmallFiles, baselineTreeDownload, baselineUpload } from './baseline-http.js';

const [mode, ...rest] = process.argv.slice(2);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let extra: Record<string, unknown> = {};
let start = t0;

if (mode === 'baseline') {
  const [server, email, password, file, uri, enc] = rest;
  start = performance.now();
  await baselineUpload(server, email, password, file, uri, enc === '1');
} else if (mode === 'baseline-small') {
  const [server, email, password, dir, folderUri, inFlight] = rest;
  start = performance.now();
  extra.files = await baselineSmallFiles(server, email, password, dir, folderUri, Number(inFlight));
} else if (mode === 'baseline-download') {
  const [url, out, fsync] = rest;
  start = performance.now();
  extra.bytes = await baselineDownload(url, out, fsync === '1');
} else if (mode === 'baseline-tree') {
  const [server, email, password, folderUri, outDir, inFlight] = rest;
  start = performance.now();
  extra.files = await baselineTreeDownload(server, email, password, folderUri, outDir, Number(inFlight));
} else if (mode === 'engine' || mode === 'resume') {
  const home = rest[0];
  const engine = await createEngine({ home, autoResume: false, maxActiveFiles: 3, smallFileSlots: 8 });
  if (mode === 'engine') {
    const [, server, email, password, target, ...paths] = rest;
    if (!engine.account()) await engine.login(server, email, password);
    start = performance.now();
    const ids = await engine.enqueue(paths, target);
    extra.files = ids.length;
  } else {
    start = performance.now();
    extra.files = engine.resumeInterrupted().length;
  }
  await engine.idle();
  const failed = engine.listTransfers().filter((t) => t.state !== 'done' && t.state !== 'skipped');
  if (failed.length > 0) throw new Error(`${failed.length} failed: ${failed[0].error?.message}`);
  await engine.close();
} else {
  throw new Error(`unknown mode ${mode}`);
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  JSON.stringify({ ms: performance.now() - start, maxRssMB: process.resourceUsage().maxRSS / 1024, cpuMs: (cpu.user + cpu.system) / 1000, ...extra }) + '\n',
);
