/**
 * The CLI while the server is unreachable for a while: `upload --json` reports the offline state (reason, next
 * probe time) and its end, the plain output says it once each way, and the upload finishes by itself (exit 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { runCli } from '../../main/cli.js';
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
  test(`upload${json ? ' --json' : ''} rides out a server answering 503 and says so`, async () => {
    const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
    const dir = tmpDir();
    try {
      const home = join(dir.path, 'home');
      const env = { PATH: process.env.PATH, HOME: dir.path, CLOUDREVE_PASSWORD: emu.password };
      const ctx = () => ({ stdin: Readable.from([]), stdout: new Sink(), stderr: new Sink(), env, isTTY: false });
      assert.equal(await runCli(['--home', home, 'login', '--server', emu.url, '--email', emu.email], ctx()), 0);
      const f = dir.random('m.bin', 4 * 64 * 1024);
      // the first part and the first ping answer 503 (the folder listing and the session still work): offline
      // until the next probe (about 2 s later) finds the server back
      const unavailable = { type: 'status', status: 503, body: 'maintenance' } as const;
      emu.addFault({ method: 'POST', path: '^/api/v4/file/upload/[^/]+/\\d+$', times: 1, action: unavailable });
      emu.addFault({ method: 'GET', path: '^/api/v4/site/ping$', times: 1, action: unavailable });
      const c = ctx();
      const code = await runCli(['--home', home, 'upload', f.path, '--to', 'up', ...(json ? ['--json'] : [])], c);
      assert.equal(code, 0, c.stderr.text);
      assert.ok(emu.blob('cloudreve://my/up/m.bin')!.equals(f.data));
      if (json) {
        const events = c.stdout.text.trim().split('\n').map((l) => JSON.parse(l));
        const conn = events.filter((e) => e.event === 'connectivity');
        assert.ok(conn.length >= 2, c.stdout.text);
        assert.equal(conn[0].online, false);
        assert.match(conn[0].reason, /503/);
        assert.ok(conn.some((e) => e.online === false && typeof e.next_probe_at === 'number'));
        assert.equal(conn.at(-1).online, true);
        assert.ok(events.some((e) => e.event === 'state' && e.state === 'waiting-retry'));
        assert.deepEqual(events.at(-1), { event: 'summary', uploaded: 1, skipped: 0, failed: 0 });
      } else {
        assert.match(c.stderr.text, /^offline: .*503.*; uploads wait and continue by themselves \((next try in \d+ s|trying now)\)\nonline again: continuing\n$/);
        assert.match(c.stdout.text, /1 uploaded, 0 skipped, 0 failed/);
      }
    } finally {
      await emu.close();
      dir.cleanup();
    }
  });
}
