/**
 * The CLI against a busy server (issue 16 §7): the chunk endpoint answers 503 a few times in a row while the rest of the
 * server (and its ping) answers. `upload` waits it out and exits 0; `--json` reports the waiting-retry states with the
 * reason and the next try's time (`retry_at`), the plain output a `waiting …; next try in N s` line (not one per try).
 * The busyRetryMinutes setting reaches the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { runCli } from '../../main/cli.js';
import { WaitLines } from '../../main/cli/format.js';
import { engineConfig } from '../../main/cli/shared.js';
import { startEmulator } from '../emulator/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

for (const json of [true, false]) {
  test(`upload${json ? ' --json' : ''} waits out a chunk endpoint answering 503 and says so`, async () => {
    const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    const dir = tmpDir();
    try {
      const home = join(dir.path, 'home');
      const env = { PATH: process.env.PATH, HOME: dir.path, CLOUDREVE_PASSWORD: emu.password };
      const ctx = () => ({ stdin: Readable.from([]), stdout: new Sink(), stderr: new Sink(), env, isTTY: false });
      assert.equal(await runCli(['--home', home, 'login', '--server', emu.url, '--email', emu.email], ctx()), 0);
      const f = dir.random('m.bin', 3 * 64 * 1024);
      // four busy answers in a row, whenever the upload gets there (the default backoff: about 3 s of waiting); how long
      // a busy server is waited out is the engine's tests' (test/engine/busy-server.test.ts)
      emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/\\d+$', times: 4, action: { type: 'status', status: 503, body: '' } });
      const c = ctx();
      const code = await runCli(['--home', home, 'upload', f.path, '--to', 'up', ...(json ? ['--json'] : [])], c);
      assert.equal(code, 0, c.stderr.text);
      assert.ok(emu.blob('cloudreve://my/up/m.bin')!.equals(f.data));
      if (json) {
        const events = c.stdout.text.trim().split('\n').map((l) => JSON.parse(l));
        const waits = events.filter((e) => e.event === 'state' && e.state === 'waiting-retry' && typeof e.retry_at === 'number');
        assert.ok(waits.length >= 3, c.stdout.text);
        for (const w of waits) {
          assert.match(w.error.message, /HTTP 503 .*with an empty body/);
          assert.equal(w.error.httpStatus, 503);
        }
        assert.deepEqual(events.at(-1), { event: 'summary', uploaded: 1, skipped: 0, failed: 0 });
      } else {
        const lines = c.stdout.text.split('\n').filter((l) => l.startsWith('waiting '));
        assert.equal(lines.length, 1, `one line for the wait, not one per try:\n${c.stdout.text}`);
        assert.match(lines[0], new RegExp(`^waiting ${f.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*HTTP 503 .*; next try in \\d+ s$`));
        assert.match(c.stdout.text, /1 uploaded, 0 skipped, 0 failed/);
        assert.equal(c.stderr.text, '', 'a busy server is not offline');
      }
    } finally {
      await emu.close();
      dir.cleanup();
    }
  });
}

test('the busyRetryMinutes setting reaches the engine (default 15)', async () => {
  const dir = tmpDir();
  try {
    const home = join(dir.path, 'home');
    const ctx: Parameters<typeof engineConfig>[0] = { home, stdin: Readable.from([]), stdout: new Sink(), stderr: new Sink(), env: {}, isTTY: false };
    assert.equal((await engineConfig(ctx, { positionals: [], flags: {} })).busyRetryMinutes, 15);
    const file = join(home, 'config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), busyRetryMinutes: 60 }));
    assert.equal((await engineConfig(ctx, { positionals: [], flags: {} })).busyRetryMinutes, 60);
  } finally {
    dir.cleanup();
  }
});

test('waiting lines: the first, a new reason, then at most one a minute; a transfer that ends starts over', () => {
  const w = new WaitLines();
  const t = (state: string, message = 'HTTP 503', retryAt: number | null = 5_000) => ({ id: 'a', state, localPath: '/x', targetUri: 'cloudreve://my/x', error: { message, code: 'http-status', httpStatus: Number(message.slice(5)) || undefined }, retryAt });
  assert.equal(w.line(t('waiting-retry'), 1_000), 'waiting /x: HTTP 503; next try in 4 s');
  assert.equal(w.line(t('uploading'), 2_000), null);
  assert.equal(w.line(t('waiting-retry'), 3_000), null, 'the same reason within a minute');
  assert.equal(w.line({ ...t('waiting-retry'), error: { message: 'HTTP 503 on another part', code: 'http-status', httpStatus: 503 } }, 3_500), null, 'the same kind of failure');
  assert.equal(w.line(t('waiting-retry', 'HTTP 429'), 4_000), 'waiting /x: HTTP 429; next try in 1 s');
  assert.equal(w.line(t('waiting-retry', 'HTTP 429', 370_000), 70_000), 'waiting /x: HTTP 429; next try in 5 min');
  assert.equal(w.line(t('waiting-retry', 'offline', null), 80_000), null, 'offline has its own line');
  assert.match(w.line(t('failed'), 90_000)!, /^FAILED \/x/);
  assert.equal(w.line(t('waiting-retry', 'HTTP 429', 95_000), 91_000), 'waiting /x: HTTP 429; next try in 4 s');
});
