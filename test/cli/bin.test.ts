/**
 * The documented ways to run the CLI run compiled JavaScript (the bundle in dist/cli/), and with --json they
 * print JSON lines and nothing else on stdout: `node bin/cloudreve-sync.js` from a checkout, the installed
 * `cloudreve-sync` (a symlink to the bin, as npm installs it) and `npm run -s cli --`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/index.js';

const root = new URL('../..', import.meta.url).pathname;
const BIN = join(root, 'bin/cloudreve-sync.js');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command line asynchronously (the emulator lives in this process) with a clean environment. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: { PATH: process.env.PATH, HOME: scratch, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** Every stdout line parses as JSON (no npm banner, no progress bar, no stray text); returns them. */
function jsonLines(r: Run, what: string): Array<Record<string, unknown>> {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.err}`);
  assert.ok(r.out.endsWith('\n'), `${what}: output ends with a newline`);
  const lines = r.out.slice(0, -1).split('\n');
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      assert.fail(`${what}: stdout line ${i + 1} is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
    }
  });
}

let scratch = '';
let emu: Emulator;

before(async () => {
  // what `npm ci` / `npm run build` / `npm run cli` do for the CLI (quick when nothing changed)
  execFileSync(process.execPath, [join(root, 'scripts/bundle.mjs'), '--cli'], { cwd: root, stdio: 'inherit' });
  scratch = mkdtempSync(join(tmpdir(), 'crs-bin-'));
  emu = await startEmulator({});
});

after(async () => {
  await emu?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('the bin runs the compiled bundle, not TypeScript', () => {
  const bin = readFileSync(BIN, 'utf8');
  const load = /const \{ main \} = await import\('([^']+)'\)/.exec(bin);
  assert.equal(load?.[1], '../dist/cli/cloudreve-sync.mjs');
  // the JIT settings apply only to code loaded after they were set
  const budget = /setFlagsFromString\('--interrupt-budget=\d+'\)/.exec(bin);
  const inlining = /setFlagsFromString\('--max-inlined-bytecode-size-cumulative=\d+'\)/.exec(bin);
  assert.ok(budget && budget.index < load!.index, 'the interrupt budget is set before the bundle loads');
  assert.ok(inlining && inlining.index < load!.index, 'the inlining limits are set before the bundle loads');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  assert.equal(pkg.bin['cloudreve-sync'], 'bin/cloudreve-sync.js');
  assert.doesNotMatch(pkg.scripts.cli, /\btsx\b/, 'npm run cli does not run TypeScript through tsx');
  assert.match(pkg.scripts.cli, /node bin\/cloudreve-sync\.js$/);
});

test('installed through a symlink (as npm links bins): version, and a usage error is one line on stderr', async () => {
  const link = join(scratch, 'cloudreve-sync');
  symlinkSync(BIN, link);
  const version = await run(link, ['--version']);
  assert.equal(version.code, 0, version.err);
  assert.match(version.out, /^cloudreve-sync \d+\.\d+\.\d+\n$/);
  const usage = await run(link, ['no-such-command']);
  assert.equal(usage.code, 2, 'usage error exit code');
  assert.equal(usage.out, '', 'nothing on stdout');
  assert.deepEqual(usage.err.split('\n'), [`cloudreve-sync: unknown command "no-such-command" (see 'cloudreve-sync --help')`, '']);
});

test('--json prints JSON lines only, in every documented form (checkout, installed, npm run -s cli)', async () => {
  const home = join(scratch, 'home');
  const env = { CLOUDREVE_SYNC_HOME: home, CLOUDREVE_PASSWORD: emu.password };
  const login = await run(process.execPath, [BIN, 'login', '--server', emu.url, '--email', emu.email], env);
  assert.equal(login.code, 0, login.err);
  const folder = join(scratch, 'docs');
  mkdirSync(folder);
  for (let i = 0; i < 3; i++) writeFileSync(join(folder, `f${i}.txt`), `file ${i}\n`);

  const forms: Array<[string, string, string[]]> = [
    ['node bin/cloudreve-sync.js', process.execPath, [BIN]],
    ['cloudreve-sync (installed)', join(scratch, 'cloudreve-sync'), []],
    ['npm run -s cli --', 'npm', ['run', '-s', 'cli', '--']],
  ];
  for (const [name, cmd, pre] of forms) {
    const who = jsonLines(await run(cmd, [...pre, 'whoami', '--json'], env), `${name} whoami --json`);
    assert.equal(who.length, 1);
    assert.equal(who[0].email, emu.email);
    const up = jsonLines(await run(cmd, [...pre, 'upload', folder, '--to', `bin-test/${name.split(' ')[0]}`, '--json'], env), `${name} upload --json`);
    assert.ok(up.length > 3, `${name}: state events and a summary`);
    assert.deepEqual(up.at(-1), { event: 'summary', uploaded: 3, skipped: 0, failed: 0 });
    const list = jsonLines(await run(cmd, [...pre, 'transfers', '--json'], env), `${name} transfers --json`);
    assert.equal(list.length, 1);
  }
});

test('a reader that goes away (`upload … | head -1`) does not stop the upload: it runs to the end, exit 0', async () => {
  const home = join(scratch, 'home-epipe');
  const env = { CLOUDREVE_SYNC_HOME: home, CLOUDREVE_PASSWORD: emu.password };
  assert.equal((await run(process.execPath, [BIN, 'login', '--server', emu.url, '--email', emu.email], env)).code, 0);
  const folder = join(scratch, 'many');
  mkdirSync(folder);
  for (let i = 0; i < 60; i++) writeFileSync(join(folder, `f${i}.txt`), `file ${i}\n`.repeat(100));
  const r = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'upload', folder, '--to', 'epipe', '--json'], { cwd: root, env: { PATH: process.env.PATH, HOME: scratch, ...env } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    // read the first line, then close the pipe as `head -1` does
    child.stdout.once('data', () => child.stdout.destroy());
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, err }));
  });
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.err, /EPIPE|Unhandled/);
  const list = await run(process.execPath, [BIN, 'ls', 'epipe/many', '--json'], env);
  assert.equal(list.code, 0, list.err);
  const names = (JSON.parse(list.out) as Array<{ name: string }>).map((f) => f.name);
  assert.equal(names.length, 60, `every file reached the server: ${names.join(' ')}`);
});
