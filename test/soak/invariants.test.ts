// The soak's own parts, so that a soak that "passes" means something: the seeded source replays, the local model
// notices a file changed behind its back, and each invariant fails on the violation it is there to catch.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, lstatSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RandomSource } from './random-source.js';
import { LocalModel, hashFile, sha256, type FileRecord } from './local-model.js';
import {
  checkDeletions,
  checkJournal,
  checkLocalUntouched,
  checkRemoteContent,
  checkResend,
  checkSessions,
  conflictOriginal,
  remoteDeletions,
  resendAfterCrashes,
  type RemoteContent,
} from './invariants.js';
import { parseSize, parseSoakArgs } from './soak-options.js';

describe('RandomSource', () => {
  it('replays the same decisions for the same seed; forks are independent streams', () => {
    const a = new RandomSource(42);
    const b = new RandomSource(42);
    const seqA = Array.from({ length: 50 }, () => a.u32());
    assert.deepEqual(Array.from({ length: 50 }, () => b.u32()), seqA);
    assert.notDeepEqual(Array.from({ length: 50 }, () => new RandomSource(43).u32()), seqA);
    assert.deepEqual(new RandomSource(42).fork(1).bytes(33), new RandomSource(42).fork(1).bytes(33));
    assert.notDeepEqual(new RandomSource(42).fork(1).bytes(33), new RandomSource(42).fork(2).bytes(33));
    const r = new RandomSource(7);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(3, 9);
      assert.ok(v >= 3 && v <= 9 && Number.isInteger(v));
    }
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 4000; i++) counts[r.weighted({ a: 3, b: 1 })]++;
    assert.ok(counts.a > 2600 && counts.a < 3400, JSON.stringify(counts));
  });

  it('soak flags: sizes, bad values are usage errors', () => {
    assert.equal(parseSize('3G'), 3 * 1024 ** 3);
    assert.equal(parseSize('64M'), 64 * 1024 ** 2);
    assert.equal(parseSize('100'), 100);
    const o = parseSoakArgs(['--minutes', '2', '--seed=9', '--policy', 's3', '--mode', 'mirror', '--no-encryption', '--big-size', '1G']);
    assert.deepEqual([o.minutes, o.seed, o.policy, o.mode, o.encryption, o.bigBytes], [2, 9, 's3', 'mirror', false, 1024 ** 3]);
    assert.throws(() => parseSoakArgs(['--policy', 'ftp']), /--policy/);
    assert.throws(() => parseSoakArgs(['--mode', 'sync']), /--mode/);
    assert.throws(() => parseSoakArgs(['--minutes', '-1']), /non-negative/);
    assert.throws(() => parseSoakArgs(['--what']), /unknown argument/);
  });
});

describe('local model and the local invariant', () => {
  let dir: string;
  let model: LocalModel;
  const walk = async (): Promise<Map<string, FileRecord>> => {
    const out = new Map<string, FileRecord>();
    for (const rel of ['a.bin', 'b.bin', 'c.bin', 'extra.bin']) {
      try {
        const st = lstatSync(join(dir, rel));
        out.set(rel, { hash: await hashFile(join(dir, rel)), size: st.size, ino: st.ino, ctimeMs: st.ctimeMs });
      } catch {
        /* absent */
      }
    }
    return out;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'soak-model-'));
    model = new LocalModel(dir);
    for (const [rel, text] of [['a.bin', 'alpha'], ['b.bin', 'bravo'], ['c.bin', 'charlie']]) {
      writeFileSync(join(dir, rel), text);
      model.record(rel, sha256(Buffer.from(text)));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds while only the driver wrote', async () => {
    assert.deepEqual(checkLocalUntouched(model, await walk()), []);
  });

  it('catches a file written, deleted, touched or created behind the driver', async () => {
    appendFileSync(join(dir, 'a.bin'), 'x'); // written
    rmSync(join(dir, 'b.bin')); // deleted
    await new Promise((r) => setTimeout(r, 20));
    utimesSync(join(dir, 'c.bin'), new Date(), new Date()); // only its times: the ctime moves
    writeFileSync(join(dir, 'extra.bin'), 'new'); // created
    model.check('a.bin');
    const v = checkLocalUntouched(model, await walk());
    const paths = v.flatMap((x) => x.paths).join('\n');
    assert.match(paths, /^a\.bin: changed behind/m);
    assert.match(paths, /^b\.bin$/m);
    assert.match(paths, /^c\.bin$/m);
    assert.match(paths, /^extra\.bin$/m);
    assert.ok(v.every((x) => x.invariant === 'local files untouched'));
  });
});

describe('remote content, deletions, sessions, journal and re-sent bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-remote-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const model = new LocalModel(dir);
  const h = (s: string) => sha256(Buffer.from(s));
  writeFileSync(join(dir, 'doc.txt'), 'v1');
  model.record('doc.txt', h('v1'));
  writeFileSync(join(dir, 'doc.txt'), 'v2');
  model.record('doc.txt', h('v2'));
  writeFileSync(join(dir, 'gone.txt'), 'g');
  model.record('gone.txt', h('g'));
  rmSync(join(dir, 'gone.txt'));
  model.forget('gone.txt');

  it('conflict copies map back to their file', () => {
    assert.equal(conflictOriginal('d/doc (conflict 2026-01-02 030405 host).txt'), 'd/doc.txt');
    assert.equal(conflictOriginal('noext (conflict 2026-01-02 030405 host)'), 'noext');
    assert.equal(conflictOriginal('plain.txt'), 'plain.txt');
  });

  it('holds when the server has the current content (and older contents at removed or conflict paths)', () => {
    const remote = new Map<string, RemoteContent>([
      ['doc.txt', { hash: h('v2'), uploading: false }],
      ['doc (conflict 2026-01-02 030405 host).txt', { hash: h('v1'), uploading: false }],
      ['gone.txt', { hash: h('g'), uploading: false }],
    ]);
    assert.deepEqual(checkRemoteContent(model, remote), []);
  });

  it('fails on a missing, stale, unfinished or never-at-rest remote file', () => {
    assert.match(JSON.stringify(checkRemoteContent(model, new Map())), /on disk but not on the server.*doc\.txt/);
    assert.match(JSON.stringify(checkRemoteContent(model, new Map([['doc.txt', { hash: h('v1'), uploading: false }]]))), /another content/);
    assert.match(JSON.stringify(checkRemoteContent(model, new Map([['doc.txt', { hash: '', uploading: true }]]))), /unfinished upload/);
    writeFileSync(join(dir, 'empty.txt'), '');
    model.record('empty.txt', h(''));
    const remote = new Map([['doc.txt', { hash: h('v2'), uploading: false }]]);
    assert.match(JSON.stringify(checkRemoteContent(model, remote)), /empty\.txt/);
    assert.deepEqual(checkRemoteContent(model, remote, { emptyFilesUpload: false }), []);
    model.forget('empty.txt');
    const half = checkRemoteContent(model, new Map([['doc.txt', { hash: h('v2'), uploading: false }], ['gone.txt', { hash: h('half'), uploading: false }]]));
    assert.equal(half.length, 1);
    assert.equal(half[0].invariant, 'nothing half-written committed');
    assert.deepEqual(half[0].paths, ['gone.txt']);
  });

  it('remote deletions come from committed files only (a cancelled placeholder is not one); folder deletes and renames count', () => {
    const d = remoteDeletions([
      { kind: 'create', from: 'p.bin', at: 1 },
      { kind: 'delete', from: 'p.bin', at: 2 }, // placeholder of a cancelled upload
      { kind: 'modify', from: 'f/a.bin', at: 3 },
      { kind: 'modify', from: 'f/b.bin', at: 4 },
      { kind: 'modify', from: 'r.bin', at: 5 },
      { kind: 'rename', from: 'r.bin', to: 's.bin', at: 6 },
      { kind: 'delete', from: 'f', at: 7 },
    ]);
    assert.deepEqual(d.map((x) => [x.path, x.how, x.at]), [
      ['r.bin', 'renamed', 6],
      ['f/a.bin', 'deleted', 7],
      ['f/b.bin', 'deleted', 7],
    ]);
  });

  it('backup: any deletion fails; mirror: only what was removed locally, never a held-back mass delete', () => {
    const later = Date.now() + 1000;
    const gone = [{ path: 'gone.txt', at: later, how: 'deleted' as const }];
    assert.equal(checkDeletions('backup', model, gone, []).length, 1);
    assert.deepEqual(checkDeletions('mirror', model, gone, []), []);
    const early = [{ path: 'gone.txt', at: 0, how: 'deleted' as const }];
    assert.match(JSON.stringify(checkDeletions('mirror', model, early, [])), /still on disk/);
    assert.match(JSON.stringify(checkDeletions('mirror', model, gone, ['gone.txt'])), /past the guard/);
    assert.match(JSON.stringify(checkDeletions('mirror', model, [{ path: 'doc.txt', at: later, how: 'deleted' }], [])), /still on disk/);
  });

  it('sessions left open and unfinished transfers fail', () => {
    assert.deepEqual(checkSessions([]), []);
    assert.equal(checkSessions([{ id: 's', uri: 'cloudreve://my/x', expires: 0, received: [0] }]).length, 1);
    assert.deepEqual(checkJournal([{ id: '1', localPath: '/a', state: 'done' }, { id: '2', localPath: '/b', state: 'failed' }]), []);
    assert.match(JSON.stringify(checkJournal([{ id: '3', localPath: '/c', state: 'uploading' }])), /\/c \(uploading, 3\)/);
  });

  it('re-sent bytes: a part accepted again after a kill is allowed only among the last parts of its session', () => {
    const P = (session: string, index: number, at: number, bytes = 100) => ({ session, uri: `cloudreve://my/${session}`, index, of: 9, bytes, at });
    const parts = [
      P('s1', 0, 1000),
      P('s1', 1, 2000),
      P('s1', 2, 3000),
      P('s1', 3, 4000), // the last two accepted before the kill at 10 s: their answers may not be recorded
      P('s1', 1, 11_000), // re-sent though two later parts were accepted after it: recorded, so a violation
      P('s1', 3, 11_500), // re-sent, allowed
      P('s1', 4, 12_000), // new
      P('s2', 0, 12_500), // another session
    ];
    const [r] = resendAfterCrashes(parts, [{ at: 10_000, partsInFlight: 1 }], { perSession: 2, maxPart: 50 });
    assert.equal(r.resentBytes, 200);
    assert.equal(r.allowedBytes, 50 + 200);
    assert.ok(r.beyond);
    assert.match(r.resentParts.join('\n'), /s1 part 1 \(recorded long before the kill\)/);
    assert.equal(checkResend([r]).length, 1);
    const [ok] = resendAfterCrashes(parts.filter((p) => !(p.index === 1 && p.at === 11_000)), [{ at: 10_000, partsInFlight: 0 }], { perSession: 2, maxPart: 50 });
    assert.equal(ok.resentBytes, 100);
    assert.ok(!ok.beyond);
    assert.deepEqual(checkResend([ok]), []);
  });
});
