#!/usr/bin/env node
// `npm run demo`: Cloudreve Sync working with one command and no Cloudreve server of your own.
//
//   1. starts the project's Cloudreve v4 emulator (test/emulator/) on 127.0.0.1 with a demo account holding a few
//      folders and files (kept in a temporary folder, gone when the demo stops);
//   2. signs a temporary home in to it (the same home format the app and the CLI use);
//   3. starts the desktop app on that home when an Electron binary is installed (`--browser` skips it), otherwise
//      `cloudreve-sync ui` and prints the URL to open (the first line of output, as `ui` prints it);
//   4. on Ctrl-C (or SIGTERM) stops everything and removes the temporary folders.
//
// It is a demo: the emulator keeps everything in a temporary folder. To use a real server, sign out in the app and
// sign in to your own Cloudreve (or run `cloudreve-sync login --server URL --email EMAIL`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

const root = new URL('..', import.meta.url).pathname;
const DEMO_USER = { email: 'demo@cloudreve-sync.local', password: 'demo-password' };
const browserOnly = process.argv.includes('--browser');
const log = (s) => process.stderr.write(`[demo] ${s}\n`);

const scratch = mkdtempSync(join(tmpdir(), 'cloudreve-sync-demo-'));
const home = join(scratch, 'home');
const samples = join(scratch, 'samples');
let emulator = null;
let child = null;
let stopping = false;

async function stop(code) {
  if (stopping) return;
  stopping = true;
  if (child && child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
  await emulator?.close().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
  log('stopped; the demo data is gone');
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

/**
 * The Electron binary's path when one is installed: the electron package writes path.txt once its download worked
 * (read here directly: requiring the package without it starts a download attempt).
 */
function electronBinary() {
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const bin = join(dir, 'dist', readFileSync(join(dir, 'path.txt'), 'utf8').trim());
    return existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

try {
  const { startEmulator } = await tsImport('../test/emulator/index.ts', import.meta.url);
  const { createEngine } = await tsImport('../main/engine/index.ts', import.meta.url);
  emulator = await startEmulator({ host: '127.0.0.1', users: [DEMO_USER], dataDir: join(scratch, 'emulator') });
  log(`Cloudreve emulator on ${emulator.url} (account ${DEMO_USER.email} / ${DEMO_USER.password})`);

  // A few folders and files in the demo account, uploaded by the engine itself.
  const files = {
    'Documents/Welcome.txt': 'Welcome to the Cloudreve Sync demo.\nEverything here lives in a temporary emulator and is gone when the demo stops.\n',
    'Documents/Notes/ideas.md': '# Ideas\n\n- back up ~/Pictures\n- share a folder with a link\n',
    'Photos/2026/README.txt': 'Drop photos here.\n',
    'Backups/.keep': '',
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(samples, rel, '..'), { recursive: true });
    writeFileSync(join(samples, rel), text);
  }
  const engine = await createEngine({ home });
  try {
    await engine.login(emulator.url, DEMO_USER.email, DEMO_USER.password);
    await engine.enqueue(['Documents', 'Photos', 'Backups'].map((d) => join(samples, d)), 'cloudreve://my/');
    await engine.idle();
    engine.clearFinished();
    engine.clearHistory();
  } finally {
    await engine.close();
  }

  const electron = browserOnly ? null : electronBinary();
  const env = { ...process.env, CLOUDREVE_SYNC_HOME: home };
  if (electron) {
    log('starting the desktop app (Electron) on the demo home; run `npm run demo -- --browser` for the browser UI instead');
    const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('the build failed');
    spawnSync(process.execPath, [join(root, 'scripts', 'bundle.mjs')], { cwd: root, stdio: 'inherit' });
    child = spawn(electron, [root], { cwd: root, env, stdio: 'inherit' });
  } else {
    const bundle = spawnSync(process.execPath, [join(root, 'scripts', 'bundle.mjs'), '--cli'], { cwd: root, stdio: 'inherit' });
    if (bundle.status !== 0) throw new Error('bundling the CLI failed');
    child = spawn(process.execPath, [join(root, 'bin', 'cloudreve-sync.js'), '--home', home, 'ui'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => {
      if (out.includes('\n')) return void process.stdout.write(c);
      out += c;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      process.stdout.write(out);
      log(`open the URL above in a browser on this machine (Electron cannot start here, so this is the browser UI: \`cloudreve-sync ui\`)`);
      log('it is a demo: sign out in the app and sign in to your own Cloudreve to use a real server; Ctrl-C stops everything');
    });
  }
  child.once('exit', (code) => {
    if (!stopping) {
      log(`the ${electron ? 'app' : 'ui'} exited (${code})`);
      void stop(code ?? 1);
    }
  });
} catch (err) {
  log(`could not start: ${err instanceof Error ? err.message : String(err)}`);
  await stop(1);
}
