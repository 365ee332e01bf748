/**
 * Upyun's multi-stage upload, for a server that hands out a chunked session (the session's shape is the client's
 * assumption: README, "Storage policies"). The shared conformance suite (see conformance.ts), then what it does not
 * reach: two Upyun parts per engine part, a part Upyun holds that the journal does not (skipped, never sent twice), the
 * signed date past Upyun's 30 minutes (a new session), a chunk size Upyun cannot take, and the adapter on its own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import { UPYUN_PART, upyunAdapter } from '../../../main/engine/adapters/upyun.js';
import type { PartReceipt } from '../../../main/engine/adapters/adapter.js';
import { EngineError } from '../../../main/engine/errors.js';
import { createEngine, type Engine } from '../../../main/engine/index.js';
import { openJournal } from '../../../main/engine/journal/journal.js';
import { startEmulator, type Emulator, type EmulatorPolicy } from '../../emulator/index.js';
import { tmpDir, type TmpDir } from '../../helpers/tmp-tree.js';
import { CLIENT_ID } from '../api/helpers.js';
import { conformance, expectStored } from './conformance.js';
import { upyunChunked } from './targets.js';

conformance(upyunChunked);

const MiB = 1024 * 1024;
const FAST_RETRY = { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 8 };
const MINUTE = 60_000;

interface Rig {
  emu: Emulator;
  dir: TmpDir;
  engine: Engine;
  home: string;
  /** every Upyun part index the emulator accepted, in order */
  accepted: number[];
  close(): Promise<void>;
}

async function rig(policy: Partial<EmulatorPolicy>, bandwidthLimit?: number): Promise<Rig> {
  const emu = await startEmulator({ policy: { type: 'upyun', upyunChunked: true, ...policy } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  const engine = await createEngine({ home, retry: FAST_RETRY, settleMs: 200, bandwidthLimit });
  await engine.login(emu.url, emu.email, emu.password);
  const accepted: number[] = [];
  const off = emu.onPart((p) => accepted.push(p.index));
  return {
    emu,
    dir,
    engine,
    home,
    accepted,
    close: async () => {
      off();
      await engine.close();
      await emu.close();
      dir.cleanup();
    },
  };
}

async function upload(r: Rig, path: string, to: string) {
  const [id] = await r.engine.enqueue([path], to);
  await r.engine.idle();
  return r.engine.transfer(id)!;
}

describe('upyun chunked: beyond the shared suite', () => {
  test('a 2 MiB chunk is two Upyun parts; a part failing after its first half landed continues where Upyun stands', async () => {
    const r = await rig({ chunkSize: 2 * MiB });
    try {
      // Upyun parts 0..5 in engine parts [0,1] [2,3] [4,5]; part 3 fails once, after part 2 was accepted
      let armed = false;
      r.emu.onPart((p) => {
        if (p.index === 2 && !armed) {
          armed = true;
          r.emu.addFault({ method: 'PUT', path: '^/__vendor/upyun/', times: 1, action: { type: 'status', status: 503, body: '' } });
        }
      });
      const counts = new Set<number>();
      r.emu.onPart((p) => counts.add(p.of));
      const f = r.dir.random('two/f.bin', 5 * MiB + 12_345);
      const t = await upload(r, f.path, 'cloudreve://my/two');
      assert.deepEqual([...counts], [6], 'the emulator reports Upyun parts of 1 MiB (6), not the session chunks (3)');
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      assert.ok(armed, 'the fault was armed');
      expectStored(r.emu, 'cloudreve://my/two/f.bin', f.data);
      assert.deepEqual(r.accepted, [0, 1, 2, 3, 4, 5], 'every Upyun part accepted once, in order');
      // the retried engine part sent part 2 again, Upyun turned it away (40011061, next part 3), part 3 followed
      assert.equal(r.emu.stats().chunk_requests, 7, 'six parts and the one turned away');
      assert.equal(r.emu.stats().sessions_created, 1, 'the same session and upload went on');
    } finally {
      await r.close();
    }
  });

  test('a part Upyun accepted behind the journal’s back is turned away and skipped on resume, never sent twice', async () => {
    const r = await rig({ chunkSize: MiB }, 2 * MiB);
    try {
      const f = r.dir.random('behind/f.bin', 8 * MiB + 999);
      const total = 9;
      const [id] = await r.engine.enqueue([f.path], 'cloudreve://my/behind');
      await new Promise<void>((resolve) => {
        const off = r.engine.events.on('transfer-progressed', (p) => {
          if (p.id === id && p.bytesDone > 2.5 * MiB) {
            off();
            resolve();
          }
        });
      });
      r.engine.pause(id);
      await r.engine.idle();
      assert.equal(r.engine.transfer(id)!.state, 'paused');

      const j = openJournal(join(r.home, 'journal.db'));
      const session = j.uploads.get(id)!.session!;
      const parts = j.uploads.parts(id);
      j.close();
      const k = parts.length;
      assert.ok(k >= 2, `the journal holds ${k} parts`);
      const uuid = parts[0].etag!;
      assert.match(uuid, /^[0-9a-f-]{36}$/, 'part 1 keeps the multi-stage upload id');
      assert.ok(parts.every((p) => p.etag === uuid), 'every receipt carries the same upload id');
      // the next part lands at Upyun without the client knowing (a lost answer, or a kill before the journal wrote it)
      const date = (JSON.parse(Buffer.from(session.upload_policy!, 'base64').toString()) as { date: string }).date;
      let held = k;
      for (let n = k; n < k + 2 && held === k; n++) {
        const put = await fetch(session.upload_urls![0], {
          method: 'PUT',
          headers: { authorization: session.credential!, 'x-date': date, 'x-upyun-multi-stage': 'upload', 'x-upyun-multi-uuid': uuid, 'x-upyun-part-id': String(n) },
          body: new Uint8Array(f.data.subarray(n * MiB, (n + 1) * MiB)),
        });
        // 40011061: the paused part had landed after all (its answer was lost); Upyun says where it stands
        held = put.status === 204 ? n + 1 : Number(put.headers.get('x-upyun-next-part-id'));
      }
      assert.ok(held > k && held < total, `Upyun holds ${held} parts, the journal ${k}`);

      r.emu.resetStats();
      r.engine.resume(id);
      await r.engine.idle();
      const t = r.engine.transfer(id)!;
      assert.equal(t.state, 'done', JSON.stringify(t.error));
      expectStored(r.emu, 'cloudreve://my/behind/f.bin', f.data);
      assert.deepEqual(r.accepted, Array.from({ length: total }, (_, i) => i), 'no part was accepted twice');
      // parts k..held-1 were sent once more and turned away (40011061); the rest went once
      assert.equal(r.emu.stats().chunk_requests, total - k);
      assert.equal(r.emu.stats().sessions_created, 0, 'the session was continued');
    } finally {
      await r.close();
    }
  });

  test('the signed date past Upyun’s 30 minutes (401 40100002) gets a new session; inside them the upload goes on', async () => {
    const r = await rig({ chunkSize: MiB });
    try {
      // 29 minutes pass while part 1 is accepted: the date is still good
      let jump = 29 * MINUTE;
      r.emu.onPart((p) => {
        if (p.index === 1 && jump) {
          r.emu.tune({ upyunClockOffsetMs: jump });
          jump = 0;
        }
      });
      const a = r.dir.random('date/a.bin', 4 * MiB + 5);
      const ta = await upload(r, a.path, 'cloudreve://my/date');
      assert.equal(ta.state, 'done', JSON.stringify(ta.error));
      assert.equal(r.emu.stats().sessions_created, 1, '29 minutes: the same session');
      expectStored(r.emu, 'cloudreve://my/date/a.bin', a.data);

      // the next session is signed at +29 min; 31 more minutes pass while its part 1 is accepted
      jump = 60 * MINUTE;
      r.accepted.length = 0;
      const b = r.dir.random('date/b.bin', 4 * MiB + 5);
      const tb = await upload(r, b.path, 'cloudreve://my/date');
      assert.equal(tb.state, 'done', JSON.stringify(tb.error));
      assert.equal(r.emu.stats().sessions_created, 3, 'the refused date made a new session');
      assert.deepEqual(r.accepted, [0, 1, 0, 1, 2, 3, 4], 'the new session uploaded from the start');
      expectStored(r.emu, 'cloudreve://my/date/b.bin', b.data);
    } finally {
      await r.close();
    }
  });

  test('a chunk size that is not a multiple of 1 MiB fails the file at once, before any byte (bad-response)', async () => {
    const r = await rig({ chunkSize: 1_500_000 });
    try {
      for (const size of [1, 3 * MiB]) {
        const f = r.dir.random(`bad/${size}.bin`, size);
        const t = await upload(r, f.path, 'cloudreve://my/bad');
        assert.equal(t.state, 'failed');
        assert.equal(t.error?.code, 'bad-response');
        assert.match(t.error?.message ?? '', /chunk size 1500000 is not a multiple of Upyun's 1 MiB/);
      }
      assert.equal(r.emu.stats().sessions_created, 2, 'each file got its session');
      const vendor = r.emu.stats();
      assert.equal(vendor.chunk_requests, 0, 'no part went out');
      assert.equal(vendor.bytes_received, 0, 'no byte went out');
    } finally {
      await r.close();
    }
  });

  test('the adapter on its own: capabilities by session, the upload id in receipts, parts Upyun holds or lost, complete twice', async () => {
    const emu = await startEmulator({ policy: { type: 'upyun', upyunChunked: true, chunkSize: 2 * MiB } });
    const client = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
    const accepted: number[] = [];
    emu.onPart((p) => accepted.push(p.index));
    const ac = new AbortController();
    try {
      await client.login(emu.email, emu.password);
      const data = Buffer.alloc(4 * MiB + 100);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
      const s = await client.createUploadSession({ uri: 'cloudreve://my/ad/f.bin', size: data.length });
      assert.equal(s.chunk_size, 2 * MiB);
      assert.match(s.upload_urls![0], /\/__vendor\/upyun\/cloudreve\/uploads\//);
      assert.match(s.credential!, /^UPYUN emulator:/);

      // capabilities follow the session; the policy alone (no session yet) is the form upload
      const a = upyunAdapter({ client, session: s });
      assert.deepEqual(
        [a.capabilities.chunked, a.capabilities.parallelParts, a.capabilities.resumable, a.capabilities.partMultiple],
        [true, false, true, UPYUN_PART],
      );
      assert.equal(upyunAdapter({ client }).capabilities.resumable, false);
      assert.equal(upyunAdapter({ client, session: { ...s, chunk_size: 0 } }).capabilities.chunked, false);
      assert.throws(
        () => upyunAdapter({ client, session: { ...s, chunk_size: 3 * 1000 * 1000 } }),
        (e: unknown) => e instanceof EngineError && e.code === 'bad-response' && /not a multiple/.test(e.message),
      );
      assert.throws(
        () => upyunAdapter({ client, session: { ...s, upload_policy: Buffer.from('{"expiration":1}').toString('base64') } }),
        (e: unknown) => e instanceof EngineError && e.code === 'bad-response' && /signed date/.test(e.message),
      );

      const part = (index: number) => {
        const start = index * 2 * MiB;
        const end = Math.min(data.length, start + 2 * MiB);
        return { index, start, end, length: end - start };
      };
      const send = (index: number, receipts: Map<number, PartReceipt>, stream = false) => {
        const p = part(index);
        const bytes = data.subarray(p.start, p.end);
        // a stream in odd pieces, or one Buffer
        const body = stream ? Readable.from(Array.from({ length: Math.ceil(bytes.length / 100_000) }, (_, i) => bytes.subarray(i * 100_000, (i + 1) * 100_000))) : bytes;
        return a.uploadPart({ session: s, part: p, size: data.length, body, signal: ac.signal, receipts });
      };
      const rejects = (p: Promise<unknown>, code: string, text: RegExp) =>
        assert.rejects(p, (e: unknown) => {
          assert.ok(e instanceof EngineError, String(e));
          assert.equal(e.code, code, e.message);
          assert.match(e.message, text);
          assert.doesNotMatch(e.message, /UPYUN emulator:/, 'no credential in the message');
          return true;
        });

      await rejects(send(1, new Map()), 'session-expired', /upload id/);
      const r0 = await send(0, new Map(), true);
      assert.match(r0.etag ?? '', /^[0-9a-f-]{36}$/);
      const receipts = new Map([[0, r0]]);
      // part 3 of the engine is Upyun part 4; Upyun expects part 2: it does not hold what we think it holds
      await rejects(send(2, receipts), 'session-expired', /lost parts it had accepted/);
      const r1 = await send(1, receipts);
      assert.equal(r1.etag, r0.etag);
      // sent again (its answer lost): Upyun turns both Upyun parts away, the part counts as done
      assert.deepEqual(await send(1, receipts, true), r1);
      receipts.set(1, r1);
      // 31 minutes later the signed date is no good: a new session is what it takes
      emu.tune({ upyunClockOffsetMs: 31 * MINUTE });
      await rejects(send(2, receipts), 'session-expired', /date offset error \(40100002\)/);
      emu.tune({ upyunClockOffsetMs: 0 });
      receipts.set(2, await send(2, receipts));
      assert.deepEqual(accepted, [0, 1, 2, 3, 4]);

      await a.complete(s, [...receipts.values()], ac.signal);
      assert.ok(emu.blob('cloudreve://my/ad/f.bin')!.equals(data), 'stored byte for byte');
      // a complete whose answer was lost, sent again: Upyun says "file already upload" (40011059), which is done
      await a.complete(s, [...receipts.values()], ac.signal);
      const info = await client.info('cloudreve://my/ad/f.bin');
      assert.equal(info.size, data.length);
      assert.equal(info.metadata?.['sys:upload_session_id'], undefined);
    } finally {
      client.close();
      await emu.close();
    }
  });
});
