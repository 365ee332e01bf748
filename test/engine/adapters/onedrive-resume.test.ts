/**
 * OneDrive resumes from the provider's truth (`nextExpectedRanges`), not only from the journal: a fragment that
 * OneDrive accepted but whose answer the client never saw (here: sent by hand while the transfer was paused) is not
 * sent again, and the upload continues exactly where OneDrive stands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEmulator } from '../../emulator/index.js';
import { createEngine } from '../../../main/engine/index.js';
import { openJournal } from '../../../main/engine/journal/journal.js';
import { tmpDir } from '../../helpers/tmp-tree.js';
import { expectStored } from './conformance.js';

const P = 320 * 1024;

test('onedrive: a fragment accepted behind the journal’s back is skipped on resume', async () => {
  const emu = await startEmulator({ policy: { type: 'onedrive', chunkSize: P } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  const engine = await createEngine({ home, settleMs: 200, bandwidthLimit: 1024 * 1024, retry: { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 8 } });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const f = dir.random('od.bin', 8 * P + 999);
    const [id] = await engine.enqueue([f.path], 'cloudreve://my/od');
    await new Promise<void>((resolve) => {
      const off = engine.events.on('transfer-progressed', (p) => {
        if (p.id === id && p.bytesDone > 2.5 * P) {
          off();
          resolve();
        }
      });
    });
    engine.pause(id);
    await engine.idle();
    assert.equal(engine.transfer(id)!.state, 'paused');

    const j = openJournal(join(home, 'journal.db'));
    const url = j.uploads.get(id)!.session!.upload_urls![0];
    j.close();
    const status = (await (await fetch(url)).json()) as { nextExpectedRanges: string[] };
    const held = Number(status.nextExpectedRanges[0].split('-')[0]);
    assert.ok(held >= 2 * P && held % P === 0, `OneDrive holds ${held}`);
    // the next fragment lands at OneDrive without the client knowing
    const put = await fetch(url, {
      method: 'PUT',
      headers: { 'content-range': `bytes ${held}-${held + P - 1}/${f.data.length}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(f.data.subarray(held, held + P)),
    });
    assert.equal(put.status, 202);

    emu.resetStats();
    engine.resume(id);
    await engine.idle();
    const t = engine.transfer(id)!;
    assert.equal(t.state, 'done', JSON.stringify(t.error));
    expectStored(emu, 'cloudreve://my/od/od.bin', f.data);
    const remaining = Math.ceil((f.data.length - (held + P)) / P);
    assert.equal(emu.stats().chunk_requests, remaining, 'only the fragments OneDrive did not have went out');
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
