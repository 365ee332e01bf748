// The emulator additions the soak drives: the stall and slow link faults, expiring sessions, changing the quota and
// token lifetime, and the part and file-event observers (in-process and over the /__emulator/ hooks).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type Emulator, type FileEventInfo, type PartAccepted } from '../emulator/index.js';
import { api, createSession, login, putChunk, uploadFile } from '../emulator/helpers.js';

describe('emulator hooks for the soak', () => {
  let emu: Emulator;
  let token: string;
  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024, chunkConcurrency: 2 } });
    token = (await login(emu)).access;
  });
  after(() => emu.close());

  it('slow: a part body is let through no faster than bytesPerSec, and still stored', async () => {
    const s = await createSession(emu, token, { uri: 'cloudreve://my/slow.bin', size: 60 * 1024 });
    emu.addFault({ path: '^/api/v4/file/upload/[^/]+/\\d+$', action: { type: 'slow', bytesPerSec: 30 * 1024 } });
    const t0 = Date.now();
    const r = await putChunk(emu, token, s.json.data.session_id, 0, Buffer.alloc(60 * 1024, 7));
    const took = Date.now() - t0;
    assert.equal(r.json.code, 0, r.text);
    // 60 KiB at 30 KiB/s: about 2 s (a lower bound only; the machine may be slower)
    assert.ok(took >= 1500, `took ${took} ms`);
    assert.deepEqual(emu.blob('cloudreve://my/slow.bin'), Buffer.alloc(60 * 1024, 7));
  });

  it('stall: the connection stops being read for ms after afterBytes, then the part goes through', async () => {
    const s = await createSession(emu, token, { uri: 'cloudreve://my/stall.bin', size: 10 });
    emu.addFault({ path: '^/api/v4/file/upload/', action: { type: 'stall', ms: 1200, afterBytes: 0 } });
    const t0 = Date.now();
    const r = await putChunk(emu, token, s.json.data.session_id, 0, Buffer.from('0123456789'));
    assert.equal(r.json.code, 0, r.text);
    assert.ok(Date.now() - t0 >= 1000, `took ${Date.now() - t0} ms`);
    assert.throws(() => emu.addFault({ path: 'x', action: { type: 'slow', bytesPerSec: 0 } }), /bytesPerSec/);
    assert.throws(() => emu.addFault({ path: 'x', action: { type: 'stall', ms: -1 } }), /ms > 0/);
  });

  it('expireSessions: the session is gone (40011 on its next part), its placeholder stays; HTTP hook too', async () => {
    const a = await createSession(emu, token, { uri: 'cloudreve://my/exp-a.bin', size: 100 * 1024 });
    const b = await createSession(emu, token, { uri: 'cloudreve://my/exp-b.bin', size: 10 });
    const ida: string = a.json.data.session_id;
    assert.equal(emu.expireSessions([ida]), 1);
    assert.ok(!emu.sessions().some((s) => s.id === ida));
    assert.ok(emu.sessions().some((s) => s.id === b.json.data.session_id));
    const r = await putChunk(emu, token, ida, 0, Buffer.alloc(64 * 1024));
    assert.equal(r.json.code, 40011);
    const h = await api(emu, 'POST', '/__emulator/sessions/expire', { body: {} });
    assert.ok(h.json.expired >= 1);
    assert.equal(emu.sessions().length, 0);
  });

  it('tune: quota out refuses new sessions (40051) until it comes back; accessTtl applies to new tokens', async () => {
    emu.tune({ quota: 1 });
    const r = await createSession(emu, token, { uri: 'cloudreve://my/q.bin', size: 10 });
    assert.equal(r.json.code, 40051);
    const h = await api(emu, 'POST', '/__emulator/tune', { body: { quota: 1024 ** 3 } });
    assert.equal(h.json.quota, 1024 ** 3);
    const ok = await createSession(emu, token, { uri: 'cloudreve://my/q.bin', size: 10 });
    assert.equal(ok.json.code, 0, ok.text);
    const bad = await api(emu, 'POST', '/__emulator/tune', { body: { quota: -5 } });
    assert.equal(bad.status, 400);
    emu.tune({ accessTtl: 1 });
    const short = await login(emu);
    emu.tune({ accessTtl: 3600 });
    await new Promise((r) => setTimeout(r, 2100));
    const me = await api(emu, 'GET', '/api/v4/user/me', { token: short.access });
    assert.equal(me.json.code, 401);
    emu.expireSessions();
  });

  it('onPart and onFileEvent report accepted parts and committed, renamed and deleted files', async () => {
    const parts: PartAccepted[] = [];
    const events: FileEventInfo[] = [];
    const offP = emu.onPart((p) => parts.push(p));
    const offE = emu.onFileEvent((e) => events.push(e));
    await uploadFile(emu, token, 'cloudreve://my/obs/seen.bin', Buffer.alloc(100 * 1024, 1));
    assert.deepEqual(
      parts.map((p) => [p.uri, p.index, p.of, p.bytes]),
      [
        ['cloudreve://my/obs/seen.bin', 0, 2, 64 * 1024],
        ['cloudreve://my/obs/seen.bin', 1, 2, 36 * 1024],
      ],
    );
    const del = await api(emu, 'DELETE', '/api/v4/file', { token, body: { uris: ['cloudreve://my/obs'] } });
    assert.equal(del.json.code, 0, del.text);
    assert.ok(events.some((e) => e.kind === 'modify' && e.from === 'obs/seen.bin'), JSON.stringify(events));
    assert.ok(events.some((e) => e.kind === 'delete' && e.from === 'obs'), JSON.stringify(events));
    offP();
    offE();
    await uploadFile(emu, token, 'cloudreve://my/after.bin', Buffer.alloc(10));
    assert.equal(parts.length, 2);
  });
});
