/**
 * Start-up stays cheap: the CLI's entry loads no HTTP client, settings store, SQLite or engine until a command
 * that needs them runs (`whoami` loads the client but no SQLite or engine; `transfers` loads SQLite).
 * Each test file runs in its own process, so what is traced here is what this CLI run loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { MessageChannel } from 'node:worker_threads';

const loaded = new Set<string>();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url: string) => loaded.add(url));
port1.unref();
register('../helpers/module-trace.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });

/** Lets the hook thread's messages arrive. */
const settle = () => new Promise((r) => setTimeout(r, 100));

const HEAVY: Array<[string, RegExp]> = [
  ['the HTTP client', /\/main\/engine\/api\/transport\.ts$/],
  ['conf', /\/node_modules\/conf\//],
  ['better-sqlite3', /\/node_modules\/better-sqlite3\//],
  ['the engine', /\/main\/engine\/index\.ts$/],
  ['the journal', /\/main\/engine\/journal\//],
  ['the upload job', /\/main\/engine\/transfer\/upload-job\.ts$/],
];
const heavyLoaded = () => HEAVY.filter(([, re]) => [...loaded].some((u) => re.test(u))).map(([name]) => name);

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

test('help, version, usage errors and login-less commands load nothing heavy; each command loads what it uses', async () => {
  const home = mkdtempSync(join(tmpdir(), 'crs-startup-'));
  try {
    const { runCli } = await import('../../main/cli.js');
    const cli = async (argv: string[]) => {
      const stdout = new Sink();
      const stderr = new Sink();
      const code = await runCli(argv, { stdin: Readable.from([]), stdout, stderr, env: { PATH: process.env.PATH, HOME: home }, isTTY: false, home });
      return { code, out: stdout.text, err: stderr.text };
    };
    assert.equal((await cli(['--version'])).code, 0);
    assert.equal((await cli(['--help'])).code, 0);
    assert.equal((await cli(['upload', '--help'])).code, 0);
    assert.equal((await cli(['nope'])).code, 2);
    assert.equal((await cli(['upload', '--to', 'x'])).code, 2, 'upload without paths is a usage error');
    await settle();
    assert.ok([...loaded].some((u) => u.endsWith('/main/cli.ts')), 'the hook sees the CLI load');
    assert.deepEqual(heavyLoaded(), [], 'nothing heavy at start-up');

    const who = await cli(['whoami']);
    assert.equal(who.code, 4, 'not logged in');
    await settle();
    assert.deepEqual(heavyLoaded(), ['the HTTP client'], 'whoami: the HTTP client only (no settings store while the file is valid, no SQLite, no engine)');

    const list = await cli(['transfers']);
    assert.equal(list.code, 0, list.err);
    await settle();
    assert.ok(heavyLoaded().includes('better-sqlite3') && heavyLoaded().includes('the engine'), 'transfers loads the journal and the engine');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
