/**
 * `cloudreve-sync download` against the emulator: files and folders come down exact; the same command again skips
 * what is there; --if-exists rename / skip / overwrite; usage errors; a file not on the server; and kill -9 in the
 * middle of a download, then `resume` or the same command again, sends only the missing bytes and never leaves a
 * partial file at the target. `transfers` lists downloads in a section of their own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EXIT } from '../../main/cli.js';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { TEMP_NAME_RE, sameMtime } from '../../main/engine/transfer/downloader.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { cli } from '../helpers/cli-run.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';
import { CLIENT_ID } from '../engine/api/helpers.js';

const CLI = ['--import', 'tsx', 'main/cli.ts'];

/** The CLI in a child process (the emulator lives in this process's event loop). */
function child(home: string, args: string[]): { proc: ReturnType<typeof spawn>; done: Promise<{ code: number | null; out: string; err: string }> } {
  const proc = spawn(process.execPath, [...CLI, '--home', home, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: '/nonexistent-home' } });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    }),
  );
  return { proc, done };
}

function temps(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder).filter((n) => TEMP_NAME_RE.test(n)) : [];
}

describe('download', () => {
  let emu: Emulator;
  let d: TmpDir;
  let home: string;
  let api: CloudreveClient;
  const a = randomBytes(200_000);
  const b = randomBytes(5000);
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
    d = tmpDir();
    home = join(d.path, 'home');
    const login = await cli(['--home', home, 'login', '--server', emu.url, '--email', emu.email, '--password-stdin'], { stdin: emu.password });
    assert.equal(login.code, 0, login.err);
    api = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
    await api.login(emu.email, emu.password);
    await api.putContent('cloudreve://my/docs/a.bin', a, a.length);
    await api.putContent('cloudreve://my/docs/sub/b.txt', b, b.length);
    await api.createFolder('cloudreve://my/docs/empty');
  });
  after(async () => {
    api.close();
    await emu.close();
    d.cleanup();
  });

  test('a folder and a file: exact, mtime = the server time, empty folders made; again: everything skipped', async () => {
    const to = join(d.path, 'out1');
    const r = await cli(['--home', home, 'download', 'cloudreve://my/docs', 'cloudreve://my/docs/sub/b.txt', '--to', to]);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.match(r.out, /downloaded cloudreve:\/\/my\/docs\/a\.bin → .*out1\/docs\/a\.bin/);
    assert.match(r.out, /3 downloaded, 0 skipped, 0 failed/);
    assert.ok(readFileSync(join(to, 'docs', 'a.bin')).equals(a));
    assert.ok(readFileSync(join(to, 'docs', 'sub', 'b.txt')).equals(b));
    assert.ok(readFileSync(join(to, 'b.txt')).equals(b));
    assert.ok(statSync(join(to, 'docs', 'empty')).isDirectory());
    const info = await api.info('cloudreve://my/docs/a.bin');
    const mt = statSync(join(to, 'docs', 'a.bin')).mtimeMs;
    assert.ok(sameMtime(mt, Date.parse(info.updated_at)), `${mt} vs ${info.updated_at}`);
    assert.deepEqual(temps(join(to, 'docs')), []);
    const again = await cli(['--home', home, 'download', 'cloudreve://my/docs', 'cloudreve://my/docs/sub/b.txt', '--to', to]);
    assert.equal(again.code, EXIT.OK, again.err);
    assert.match(again.out, /skipped .*a\.bin: already downloaded/);
    assert.match(again.out, /0 downloaded, 3 skipped, 0 failed/);
  });

  test('--if-exists: rename (the default) keeps both, skip leaves it, overwrite replaces it; --json events', async () => {
    const to = join(d.path, 'out2');
    mkdirSync(to);
    writeFileSync(join(to, 'b.txt'), 'mine');
    const r = await cli(['--home', home, 'download', 'cloudreve://my/docs/sub/b.txt', '--to', to]);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.equal(readFileSync(join(to, 'b.txt'), 'utf8'), 'mine');
    assert.ok(readFileSync(join(to, 'b (1).txt')).equals(b));
    writeFileSync(join(to, 'b.txt'), 'mine again');
    const s = await cli(['--home', home, 'download', 'cloudreve://my/docs/sub/b.txt', '--to', to, '--if-exists', 'skip', '--json']);
    assert.equal(s.code, EXIT.OK, s.err);
    const events = s.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(events.at(-1), { event: 'summary', downloaded: 0, skipped: 1, failed: 0 });
    assert.ok(events.some((e) => e.event === 'state' && e.state === 'skipped' && e.uri === 'cloudreve://my/docs/sub/b.txt'));
    assert.equal(readFileSync(join(to, 'b.txt'), 'utf8'), 'mine again');
    const o = await cli(['--home', home, 'download', 'cloudreve://my/docs/sub/b.txt', '--to', to, '--if-exists', 'overwrite', '--json']);
    assert.equal(o.code, EXIT.OK, o.err);
    const oe = o.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(oe.at(-1), { event: 'summary', downloaded: 1, skipped: 0, failed: 0 });
    assert.ok(oe.some((e) => e.event === 'state' && e.state === 'downloading'));
    assert.ok(readFileSync(join(to, 'b.txt')).equals(b));
    assert.deepEqual(temps(to), []);
  });

  test('usage errors exit 2; a file not on the server exits 1 naming it; `transfers` lists the downloads', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['download', '--to', d.path], /give at least one cloudreve:\/\/ file or folder/],
      [['download', 'cloudreve://my/docs'], /--to <local folder> is required/],
      [['download', 'cloudreve://my/docs', '--to', d.path, '--if-exists', 'ask'], /--if-exists must be skip, overwrite or rename/],
      [['download', 'http://example.com/x', '--to', d.path], /is not a Cloudreve/],
      [['download', 'cloudreve://my/docs', '--to', d.path, '--limit-rate', 'fast'], /--limit-rate: invalid rate "fast"/],
    ];
    for (const [argv, re] of cases) {
      const r = await cli(['--home', home, ...argv]);
      assert.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
    }
    const missing = await cli(['--home', home, 'download', 'cloudreve://my/nope.txt', 'cloudreve://my/docs/sub/b.txt', '--to', join(d.path, 'out3')]);
    assert.equal(missing.code, EXIT.PARTIAL, missing.err);
    assert.match(missing.out, /1 downloaded, 0 skipped, 1 failed/);
    assert.match(missing.err, /failed: cloudreve:\/\/my\/nope\.txt: not found on the server/);
    const list = await cli(['--home', home, 'transfers']);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^downloads:$/m);
    assert.match(list.out, /done .* cloudreve:\/\/my\/docs\/a\.bin → /);
    const j = await cli(['--home', home, 'transfers', '--json']);
    const rows = JSON.parse(j.out) as Array<{ direction?: string; uri?: string; state: string }>;
    assert.ok(rows.some((r) => r.direction === 'download' && r.uri === 'cloudreve://my/docs/a.bin' && r.state === 'done'));
  });
});

describe('download: kill -9 in the middle', () => {
  let emu: Emulator;
  let d: TmpDir;
  let home: string;
  let api: CloudreveClient;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 4 * 1024 * 1024 } });
    d = tmpDir();
    home = join(d.path, 'home');
    const login = await cli(['--home', home, 'login', '--server', emu.url, '--email', emu.email, '--password-stdin'], { stdin: emu.password });
    assert.equal(login.code, 0, login.err);
    api = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
    await api.login(emu.email, emu.password);
  });
  after(async () => {
    api.close();
    await emu.close();
    d.cleanup();
  });

  /** Starts the download in a child, kills it (SIGKILL) once its temp file holds > `at` bytes; returns the bytes there. */
  async function killMidway(uri: string, to: string, at: number): Promise<number> {
    const c = child(home, ['download', uri, '--to', to, '--limit-rate', '2M', '--json']);
    let have = 0;
    for (let i = 0; i < 600 && c.proc.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const t = temps(to);
      if (t.length === 1) {
        have = statSync(join(to, t[0])).size;
        if (have > at) break;
      }
    }
    c.proc.kill('SIGKILL');
    const r = await c.done;
    assert.equal(r.code, null, `killed, not ended: ${r.err}`);
    const t = temps(to);
    assert.equal(t.length, 1, 'the partial download is in its temp file');
    return statSync(join(to, t[0])).size;
  }

  test('`resume` and the same command again send only the missing bytes; no partial file ever at the target', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    await api.putContent('cloudreve://my/big/x.bin', data, data.length);
    await api.putContent('cloudreve://my/big/y.bin', data, data.length);
    const to = join(d.path, 'got');

    // killed, then `resume`
    const have = await killMidway('cloudreve://my/big/x.bin', to, 1024 * 1024);
    assert.ok(have > 1024 * 1024 && have < data.length, String(have));
    assert.equal(existsSync(join(to, 'x.bin')), false, 'nothing at the target');
    const list = await cli(['--home', home, 'transfers']);
    assert.match(list.out, /interrupted .* cloudreve:\/\/my\/big\/x\.bin → /);
    emu.resetStats();
    const r = child(home, ['resume']);
    const res = await r.done;
    assert.equal(res.code, 0, res.out + res.err);
    assert.match(res.out, /1 downloaded, 0 skipped, 0 failed/);
    assert.ok(readFileSync(join(to, 'x.bin')).equals(data));
    assert.equal(emu.stats().bytes_sent, data.length - have, 'only the missing bytes');
    assert.deepEqual(temps(to), []);

    // killed, then the same command again
    const have2 = await killMidway('cloudreve://my/big/y.bin', to, 512 * 1024);
    assert.equal(existsSync(join(to, 'y.bin')), false);
    emu.resetStats();
    const again = child(home, ['download', 'cloudreve://my/big/y.bin', '--to', to]);
    const res2 = await again.done;
    assert.equal(res2.code, 0, res2.out + res2.err);
    assert.ok(readFileSync(join(to, 'y.bin')).equals(data));
    assert.equal(emu.stats().bytes_sent, data.length - have2, 'only the missing bytes');
    assert.deepEqual(temps(to), []);
    assert.deepEqual(readdirSync(to).sort(), ['x.bin', 'y.bin']);
  });
});
