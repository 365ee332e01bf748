// The soak's own parts, so that a soak that "passes" means something: the seeded source replays, the local model
// notices a file changed behind its back, and each invariant fails on the violation it is there to catch.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RandomSource } from './random-source.js';
import { EMPTY_HASH, LocalModel, VersionLedger, hashFile, sha256, type FileRecord } from './local-model.js';
import {
  checkConflictVersions,
  checkConverged,
  checkDeletions,
  checkJournal,
  checkLocalRemovals,
  checkLocalUntouched,
  checkNoConflictsLeft,
  checkQuietMoves,
  checkRemoteContent,
  checkRemovals,
  checkResend,
  checkResolutions,
  checkServerTrashSeen,
  checkSessions,
  checkTrashKept,
  checkVersionsKept,
  checkWhole,
  conflictCopies,
  conflictOriginal,
  remoteArrivals,
  remoteDeletions,
  remoteOrigins,
  renamedContentArrived,
  resendAfterCrashes,
  type RemoteContent,
  type ResolutionObserved,
} from './invariants.js';
import { caseSwapped, type DriverMove } from './file-chaos.js';
import { relOfUri } from './conflict-chaos.js';
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

describe('renames and moves: what the server may move or trash, and the quiet round', () => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-moves-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const h = (s: string) => sha256(Buffer.from(s));
  const model = new LocalModel(dir);
  const put = (rel: string, text: string) => {
    writeFileSync(join(dir, rel), text);
    model.record(rel, h(text));
  };
  const mv = (from: string, to: string) => {
    renameSync(join(dir, from), join(dir, to));
    return model.renamed(from, to);
  };
  const t0 = Date.now() - 10_000;
  put('a.txt', 'alpha');
  put('b.txt', 'bravo');
  put('c.txt', 'charlie');
  put('keep.txt', 'kept');
  mkdirSync(join(dir, 'f'));
  model.folders.add('f');
  put('f/x.txt', 'x');
  let renamedAt = 0;

  it('the model follows renames and folder moves: old paths removed, new ones held, where each went', () => {
    mv('a.txt', 'A.txt'); // case only
    renamedAt = Date.now();
    mv('b.txt', 'f/b.txt');
    renameSync(join(dir, 'f'), join(dir, 'g'));
    model.moveFolder('f', 'g');
    assert.ok(model.files.has('A.txt') && !model.files.has('a.txt'));
    assert.deepEqual([...model.files.keys()].sort(), ['A.txt', 'c.txt', 'g/b.txt', 'g/x.txt', 'keep.txt']);
    assert.deepEqual(model.renamedTo.get('a.txt')!.map((r) => r.to), ['A.txt']);
    assert.deepEqual(model.renamedTo.get('f/b.txt')!.map((r) => r.to), ['g/b.txt']);
    assert.ok(model.removedBy('f/x.txt', Date.now()));
    assert.ok(model.everAt('g/x.txt', Date.now()) && !model.everAt('f/zz.txt', Date.now()));
    assert.equal(caseSwapped('ab1c.bin'), 'AB1C.bin');
    assert.equal(caseSwapped('123.bin'), null);
  });

  it('server moves: of what the driver moved away, or a name the client used on the way; never of a file still there', () => {
    const now = Date.now() + 1;
    const ok = checkRemovals('backup', model, [
      { path: 'a.txt', at: now, how: 'renamed' },
      { path: 'f/tmpname.txt', at: now, how: 'renamed' }, // never a file of the driver's: a step of a move
    ]);
    assert.deepEqual(ok, []);
    const bad = checkRemovals('backup', model, [{ path: 'keep.txt', at: now, how: 'renamed' }]);
    assert.equal(bad.length, 1);
    assert.equal(bad[0].invariant, 'the server moves only what was moved locally');
    assert.deepEqual(bad[0].paths, ['keep.txt']);
    // in mirror mode too; before the driver had a file there it was a name of the client's own
    assert.equal(checkRemovals('mirror', model, [{ path: 'c.txt', at: now, how: 'renamed' }]).length, 1);
    assert.deepEqual(checkRemovals('mirror', model, [{ path: 'c.txt', at: t0, how: 'renamed' }]), []);
  });

  it('trash: backup never (a keep-mine copy aside); mirror only what was removed, a renamed file only once its copy arrived', () => {
    const later = Date.now() + 5000;
    const trashA = [{ path: 'a.txt', at: later, how: 'deleted' as const }];
    assert.match(JSON.stringify(checkRemovals('backup', model, trashA)), /backup trashes nothing/);
    const copy = { path: 'c (conflict 2026-01-02 030405 h).txt', at: later, how: 'deleted' as const };
    assert.deepEqual(checkRemovals('backup', model, [copy], { keepMineCopies: [{ path: copy.path, at: later - 1 }] }), []);
    assert.equal(checkRemovals('backup', model, [copy], { keepMineCopies: [{ path: copy.path, at: later + 1 }] }).length, 1, 'trashed before keep-mine was asked');
    // mirror: a.txt was renamed to A.txt; trashing a.txt before A.txt arrived on the server loses the only copy
    const early = checkRemovals('mirror', model, trashA, { arrivals: new Map() });
    assert.equal(early.length, 1);
    assert.equal(early[0].invariant, 'mirror never trashes the only copy of a renamed file');
    assert.deepEqual(checkRemovals('mirror', model, trashA, { arrivals: new Map([['A.txt', [renamedAt + 100]]]) }), []);
    assert.equal(checkRemovals('mirror', model, trashA, { arrivals: new Map([['A.txt', [renamedAt - 5000]]]) }).length, 1, 'an arrival before the rename is not its copy');
    // b.txt went f/b.txt, then with its folder to g/b.txt: an arrival at the end of the chain counts
    assert.ok(renamedContentArrived(model, 'b.txt', later, new Map([['g/b.txt', [later - 1]]])));
    assert.ok(!renamedContentArrived(model, 'b.txt', later, new Map()));
    assert.ok(renamedContentArrived(model, 'c.txt', later, new Map()), 'never renamed: nothing to wait for');
  });

  it('a file deleted here, then its folder moved before the client saw the delete: trashed at the new place is fine', () => {
    const d = mkdtempSync(join(tmpdir(), 'soak-was-'));
    try {
      const m = new LocalModel(d);
      mkdirSync(join(d, 'f'));
      m.folders.add('f');
      writeFileSync(join(d, 'f', 'gone.txt'), 'g');
      m.record('f/gone.txt', h('g'));
      writeFileSync(join(d, 'f', 'kept.txt'), 'k');
      m.record('f/kept.txt', h('k'));
      rmSync(join(d, 'f', 'gone.txt'));
      m.forget('f/gone.txt');
      renameSync(join(d, 'f'), join(d, 'g'));
      m.moveFolder('f', 'g');
      const at = Date.now() + 10;
      const events = [
        { kind: 'modify' as const, from: 'f/gone.txt', at: 1 },
        { kind: 'modify' as const, from: 'f/kept.txt', at: 1 },
        { kind: 'rename' as const, from: 'f', to: 'g', at },
        { kind: 'delete' as const, from: 'g/gone.txt', at: at + 1 },
      ];
      const dels = remoteDeletions(events);
      assert.deepEqual(dels.find((x) => x.how === 'deleted'), { path: 'g/gone.txt', at: at + 1, how: 'deleted', was: ['f/gone.txt'] });
      assert.deepEqual(checkRemovals('mirror', m, dels, { arrivals: remoteArrivals(events) }), []);
      // the kept file trashed at the new place: still on disk there, a violation
      const bad = checkRemovals('mirror', m, [...dels, { path: 'g/kept.txt', at: at + 2, how: 'deleted', was: ['f/kept.txt'] }], { arrivals: remoteArrivals(events) });
      assert.deepEqual(bad.map((v) => [v.invariant, v.paths]), [['mirror deletes only what was deleted locally', ['g/kept.txt']]]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('arrivals: commits and moves (a folder carries its files)', () => {
    const a = remoteArrivals([
      { kind: 'modify', from: 'f/x.txt', at: 1 },
      { kind: 'rename', from: 'f', to: 'g', at: 2 },
      { kind: 'modify', from: 'z.txt', at: 3 },
      { kind: 'delete', from: 'z.txt', at: 4 },
      { kind: 'rename', from: 'z.txt', to: 'y.txt', at: 5 }, // nothing committed there any more
    ]);
    assert.deepEqual([...a.entries()].sort(), [['f/x.txt', [1]], ['g/x.txt', [2]], ['z.txt', [3]]]);
  });

  it('origins: an old copy carried along by a folder move holds a content at rest where it was', () => {
    const events = [
      { kind: 'modify' as const, from: 'f/old.txt', at: 1 },
      { kind: 'rename' as const, from: 'f', to: 'g', at: 2 },
      { kind: 'rename' as const, from: 'g/old.txt', to: 'h/old.txt', at: 3 },
    ];
    const origins = remoteOrigins(events);
    assert.deepEqual([...origins.get('h/old.txt')!].sort(), ['f/old.txt', 'g/old.txt']);
    const d = mkdtempSync(join(tmpdir(), 'soak-origins-'));
    try {
      const m = new LocalModel(d);
      mkdirSync(join(d, 'f'));
      writeFileSync(join(d, 'f', 'old.txt'), 'old');
      m.record('f/old.txt', h('old'));
      const remote = new Map([['h/old.txt', { hash: h('old'), uploading: false }]]);
      const foreign = (v: ReturnType<typeof checkRemoteContent>) => v.filter((x) => x.invariant === 'nothing half-written committed');
      assert.equal(foreign(checkRemoteContent(m, remote)).length, 1, 'never at rest at h/old.txt itself');
      assert.deepEqual(foreign(checkRemoteContent(m, remote, { origins })), []);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('deleted means trashed: a deletion not in the trash is a violation', () => {
    const d = [
      { path: 'g/x.txt', at: 1, how: 'deleted' as const },
      { path: 'r.txt', at: 1, how: 'renamed' as const },
    ];
    assert.deepEqual(checkTrashKept(d, ['g']), [], 'in a trashed folder');
    assert.deepEqual(checkTrashKept(d, ['g/x.txt']), []);
    const v = checkTrashKept(d, ['gx', 'h']);
    assert.equal(v.length, 1);
    assert.deepEqual(v[0].paths, ['g/x.txt']);
  });

  it('the quiet round: no session, no byte, nothing trashed or committed, each a move, a folder as one', () => {
    const moves: DriverMove[] = [
      { op: 'rename', kind: 'file', from: 'd/a.bin', to: 'd/b.bin', files: 1 },
      { op: 'move-folder', kind: 'folder', from: 'd', to: 'e/d', files: 3 },
    ];
    const stats = { sessions_created: 10, bytes_received: 1000 };
    // the engine moved the folder, then renamed the file in it (its place after the folder's move)
    const good = [
      { kind: 'rename' as const, from: 'd', to: 'e/d', at: 1 },
      { kind: 'rename' as const, from: 'e/d/a.bin', to: 'e/d/b.bin', at: 2 },
    ];
    assert.deepEqual(checkQuietMoves(moves, stats, stats, good, []), []);
    const sent = checkQuietMoves(moves, stats, { sessions_created: 11, bytes_received: 1500 }, good, [{ uri: 'cloudreve://my/soak/e/d/b.bin', bytes: 500 }]);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].invariant, 'a pure rename sends no content');
    assert.match(sent[0].detail, /1 upload session\(s\) created and 500 byte/);
    const trashed = checkQuietMoves(moves, stats, stats, [...good, { kind: 'delete', from: 'd/a.bin', at: 3 }], []);
    assert.deepEqual(trashed.map((v) => v.invariant), ['a rename trashes nothing']);
    const notMoved = checkQuietMoves(moves, stats, stats, [good[0]], []);
    assert.deepEqual(notMoved.map((v) => [v.invariant, v.paths]), [['renames are moves on the server', ['d/a.bin → d/b.bin']]]);
    const perFile = checkQuietMoves([moves[1]], stats, stats, [good[0], { kind: 'rename', from: 'd/c.bin', to: 'e/d/c.bin', at: 2 }], []);
    assert.deepEqual(perFile.map((v) => v.invariant), ['a folder rename is one move']);
    const commit = checkQuietMoves(moves, stats, stats, [...good, { kind: 'modify', from: 'e/d/b.bin', at: 3 }], []);
    assert.deepEqual(commit.map((v) => v.invariant), ['a pure rename sends no content']);
  });
});

describe('conflicts: every version somewhere, resolutions as chosen', () => {
  const copy = 'c/doc (conflict 2026-01-02 030405 host).txt';
  const remote = (entries: Array<[string, string]>) => new Map(entries.map(([p, hash]) => [p, { hash, uploading: false }]));

  it('conflict copies and URIs map back to their file', () => {
    assert.deepEqual(conflictCopies('c/doc.txt', ['c/doc.txt', copy, 'c/other.txt', 'doc (conflict x).txt']), [copy]);
    assert.equal(relOfUri('cloudreve://my/soak', 'cloudreve://my/soak/c/doc%20(conflict%202026).txt'), 'c/doc (conflict 2026).txt');
    assert.equal(relOfUri('cloudreve://my/soak', 'cloudreve://my/elsewhere/x'), null);
  });

  it('before resolving: theirs at the path, ours in one copy, listed', () => {
    const exp = [{ rel: 'c/doc.txt', theirs: 'T', mine: 'M' }];
    const listed = [{ relPath: 'c/doc.txt' }];
    assert.deepEqual(checkConflictVersions(exp, remote([['c/doc.txt', 'T'], [copy, 'M']]), listed), []);
    const lostTheirs = checkConflictVersions(exp, remote([['c/doc.txt', 'M'], [copy, 'M']]), listed);
    assert.match(JSON.stringify(lostTheirs), /other side's version is not at the file's path/);
    const lostMine = checkConflictVersions(exp, remote([['c/doc.txt', 'T'], [copy, 'old']]), listed);
    assert.match(JSON.stringify(lostMine), /our last save .* is in no conflict copy/);
    const two = checkConflictVersions(exp, remote([['c/doc.txt', 'T'], [copy, 'old'], ['c/doc (conflict 2026-01-02 030406 host).txt', 'M']]), listed);
    assert.deepEqual(two.map((v) => v.invariant), ['one conflict copy per conflict']);
    assert.deepEqual(checkConflictVersions(exp, remote([['c/doc.txt', 'T'], [copy, 'M']]), []).map((v) => v.invariant), ['open conflicts are listed']);
    // its last save waits for a retry time (a faked lock): an earlier save of ours in the copy is enough, theirs is not
    const waiting = [{ ...exp[0], ours: ['M0', 'M'], waiting: true }];
    assert.deepEqual(checkConflictVersions(waiting, remote([['c/doc.txt', 'T'], [copy, 'M0']]), listed), []);
    assert.match(JSON.stringify(checkConflictVersions(waiting, remote([['c/doc.txt', 'T'], [copy, 'T']]), listed)), /is in no conflict copy/);
    assert.match(JSON.stringify(checkConflictVersions([{ ...waiting[0], waiting: false }], remote([['c/doc.txt', 'T'], [copy, 'M0']]), listed)), /is in no conflict copy/);
  });

  it('keep-mine: ours at the path, the copy in the trash (with ours), unlisted; keep-both: the copy stays, a later save goes to the file', () => {
    const base: ResolutionObserved = {
      rel: 'c/doc.txt',
      choice: 'keep-mine',
      exitCode: 0,
      listedAfter: false,
      original: 'M',
      copyPath: copy,
      copyAtPath: null,
      copyInTrash: 'M',
      local: 'M',
      theirs: 'T',
      mine: 'M',
    };
    assert.deepEqual(checkResolutions([base]), []);
    for (const [patch, why] of [
      [{ original: 'T' }, /server's version is still at its path/],
      [{ copyAtPath: 'M' }, /still at its path/],
      [{ copyInTrash: null }, /not in the trash/],
      [{ copyInTrash: 'X' }, /another content as the conflict copy/],
      [{ listedAfter: true }, /still listed/],
      [{ exitCode: 1 }, /exited 1/],
    ] as Array<[Partial<ResolutionObserved>, RegExp]>) {
      const v = checkResolutions([{ ...base, ...patch }]);
      assert.equal(v.length, 1, JSON.stringify(patch));
      assert.match(v[0].paths[0], why);
    }
    // keep-mine: the copy in the trash may hold an earlier save of ours, never theirs
    assert.deepEqual(checkResolutions([{ ...base, copyInTrash: 'M0', ours: ['M0', 'M'] }]), []);
    assert.equal(checkResolutions([{ ...base, copyInTrash: 'T', ours: ['M0', 'M'] }]).length, 1);
    const both: ResolutionObserved = { ...base, choice: 'keep-both', original: 'T', copyAtPath: 'M', copyInTrash: null, afterSave: { original: 'M2', local: 'M2', copies: 1 } };
    assert.deepEqual(checkResolutions([both]), []);
    assert.match(checkResolutions([{ ...both, copyAtPath: null }])[0].paths[0], /copy is gone/);
    assert.match(checkResolutions([{ ...both, copyAtPath: 'M0', ours: ['M0', 'M'] }])[0].paths[0], /holds another content/);
    assert.deepEqual(checkResolutions([{ ...both, copyAtPath: 'M0', ours: ['M0', 'M'], waiting: true }]), []);
    assert.match(checkResolutions([{ ...both, original: 'M' }])[0].paths[0], /no longer at its path/);
    assert.match(checkResolutions([{ ...both, afterSave: { original: 'T', local: 'M2', copies: 1 } }])[0].paths[0], /did not reach the file's path/);
    assert.match(checkResolutions([{ ...both, afterSave: { original: 'M2', local: 'M2', copies: 2 } }])[0].paths[0], /2 conflict copies/);
    // two-way, a conflict the download side found: theirs in the copy (made here, then uploaded), ours at the path
    const down: ResolutionObserved = { ...base, copyPath: 'c/doc (conflict 2026-01-02 030405 server).txt', downloadSide: true, copyInTrash: 'T' };
    assert.deepEqual(checkResolutions([down]), []);
    assert.deepEqual(checkResolutions([{ ...down, copyInTrash: null }]), []); // only in this computer's trash
    assert.match(checkResolutions([{ ...down, copyInTrash: 'X' }])[0].paths[0], /another content as the conflict copy/);
    assert.deepEqual(checkResolutions([{ ...down, copyInTrash: 'X', theirs: '' }]), []); // not the soak's: theirs unknown
    assert.match(checkResolutions([{ ...down, original: 'T' }])[0].paths[0], /server's version is still at its path/);
    const downBoth: ResolutionObserved = { ...down, choice: 'keep-both', copyAtPath: 'T', copyInTrash: null, afterSave: { original: 'M2', local: 'M2', copies: 1 } };
    assert.deepEqual(checkResolutions([downBoth]), []);
    assert.match(checkResolutions([{ ...downBoth, copyAtPath: 'M' }])[0].paths[0], /holds another content than the server's version/);
    assert.match(checkResolutions([{ ...downBoth, afterSave: { original: 'T', local: 'M2', copies: 1 } }])[0].paths[0], /did not reach the file's path/);
    assert.deepEqual(checkNoConflictsLeft([]), []);
    assert.deepEqual(checkNoConflictsLeft([{ id: 3, relPath: 'c/doc.txt' }])[0].paths, ['c/doc.txt (#3)']);
  });

  it('remote equals local: a path waiting for its retry time by design is not required yet; a server-made content is not half-written', () => {
    const d = mkdtempSync(join(tmpdir(), 'soak-wait-'));
    try {
      const m = new LocalModel(d);
      writeFileSync(join(d, 'w.bin'), 'w');
      m.record('w.bin', sha256(Buffer.from('w')));
      assert.equal(checkRemoteContent(m, new Map()).length, 1);
      assert.deepEqual(checkRemoteContent(m, new Map(), { waiting: new Set(['w.bin']) }), []);
      m.wroteOnServer('s.txt', 'S');
      assert.deepEqual(checkRemoteContent(m, new Map([['w.bin', { hash: sha256(Buffer.from('w')), uploading: false }], ['s.txt', { hash: 'S', uploading: false }]])), []);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('two-way: every version somewhere, converging, nothing deleted here but through the trash', () => {
  const remote = (entries: Array<[string, string]>) => new Map(entries.map(([p, hash]) => [p, { hash, uploading: false }]));

  it('the ledger: a version superseded by its writer (saved over, deleted) is no longer required; empty content never is', () => {
    const l = new VersionLedger();
    l.wrote('A', 'local write at a.bin');
    l.wrote('B', 'local write at a.bin', 'A'); // an append: A superseded here
    l.wrote('S', 'API write at s.bin');
    l.wrote('S2', 'API write at s.bin', 'S'); // another device's new version over S
    l.wrote('D', 'local write at d.bin');
    l.removed('D');
    l.wrote(EMPTY_HASH, 'local write at e.bin');
    assert.deepEqual([...l.required.keys()].sort(), ['B', 'S2']);
    assert.deepEqual([...l.replaced].sort(), ['A', 'S']);
    assert.deepEqual([...l.deleted], ['D']);
    assert.deepEqual([...l.everWritten].sort(), ['A', 'B', 'D', 'S', 'S2', EMPTY_HASH].sort());
  });

  it('every version is somewhere: found anywhere holds; a required version nowhere fails', () => {
    const required = new Map([
      ['B', 'local write at a.bin'],
      ['S2', 'API write at s.bin'],
      ['C', 'local write at c.bin'],
      ['T', 'API write at t.bin'],
    ]);
    const places = new Map([
      ['B', ['local:a.bin', 'server:a.bin']],
      ['S2', ['local:s (conflict 2026-01-02 030405 server).bin']],
      ['C', ['server-trash:c.bin']],
      ['T', ['local-trash:t.bin']],
    ]);
    assert.deepEqual(checkVersionsKept(required, places), []);
    // the client downloaded the server's version over a local edit nobody had seen: that edit is nowhere
    const lost = checkVersionsKept(new Map([...required, ['L', 'local write at x.bin (12:00)']]), places);
    assert.equal(lost.length, 1);
    assert.equal(lost[0].invariant, 'every version is somewhere');
    assert.match(lost[0].paths[0], /^local write at x\.bin/);
    assert.equal(checkVersionsKept(required, new Map([...places, ['T', []]])).length, 1);
  });

  it('converging: the same paths with the same contents, but what the pair reports as not synced', () => {
    const local = new Map([
      ['a.bin', 'A'],
      ['b.bin', 'B'],
      ['held.bin', 'H'],
    ]);
    const exempt = (p: string) => p === 'held.bin';
    assert.deepEqual(checkConverged(local, remote([['a.bin', 'A'], ['b.bin', 'B']]), exempt), []);
    const v = checkConverged(local, new Map([...remote([['a.bin', 'A2'], ['r.bin', 'R']]), ['b.bin', { hash: '', uploading: true }]]), () => false);
    assert.deepEqual(v.map((x) => x.detail), [
      'here but not on the server',
      'on the server but not here',
      'here and on the server with different contents',
      'on the server only as an unfinished upload',
    ]);
    assert.deepEqual(v.map((x) => x.paths), [['held.bin'], ['r.bin'], ['a.bin'], ['b.bin']]);
    // an empty file OneDrive cannot take is not required there
    assert.deepEqual(checkConverged(new Map([['e.bin', EMPTY_HASH]]), new Map(), () => false, { emptyFilesUpload: false, emptyLocal: new Set(['e.bin']) }), []);
  });

  it('the server\'s trash: another device\'s version that never was here is never trashed by the client', () => {
    const trash = new Map([
      ['a.bin', 'MINE'], // ours, deleted here: fine
      ['b.bin', 'THEIRS-SEEN'], // theirs, brought down, then deleted here: fine
      ['c.bin', 'THEIRS-DELETED'], // deleted by the other device itself: fine
      ['d.bin', 'THEIRS-UNSEEN'], // theirs, never here: the client must not have trashed it
    ]);
    const apiWritten = new Set(['THEIRS-SEEN', 'THEIRS-DELETED', 'THEIRS-UNSEEN']);
    const v = checkServerTrashSeen(trash, apiWritten, new Set(['THEIRS-DELETED']), new Set(['MINE', 'THEIRS-SEEN']));
    assert.equal(v.length, 1);
    assert.equal(v[0].invariant, 'two-way trashes on the server only what was here');
    assert.deepEqual(v[0].paths, ['d.bin']);
    assert.deepEqual(checkServerTrashSeen(trash, apiWritten, new Set(['THEIRS-DELETED']), new Set(['MINE', 'THEIRS-SEEN', 'THEIRS-UNSEEN'])), []);
  });

  it('nothing half-written on either side: a content nobody wrote at rest fails', () => {
    const written = new Set(['A', 'S']);
    assert.deepEqual(checkWhole(new Map([['a.bin', 'A'], ['s.bin', 'S']]), written, 'here'), []);
    const v = checkWhole(new Map([['a.bin', 'A-half'], ['s.bin', 'S']]), written, 'here');
    assert.equal(v[0].invariant, 'nothing half-written downloaded');
    assert.deepEqual(v[0].paths, ['a.bin']);
    assert.equal(checkWhole(new Map([['x', 'X']]), written, 'on the server')[0].invariant, 'nothing half-written committed');
  });

  it('nothing deleted here but through the trash: a vanished file must be in the local trash, unless its writer replaced it', () => {
    const vanished = [
      { path: 'a.bin', hash: 'A', at: 1 },
      { path: 'b.bin', hash: 'B', at: 2 },
    ];
    assert.deepEqual(checkLocalRemovals(vanished, new Set(['A']), new Set(['B'])), []);
    const v = checkLocalRemovals(vanished, new Set(['A']), new Set());
    assert.equal(v[0].invariant, 'nothing local deleted except through the trash');
    assert.match(v[0].paths[0], /^b\.bin/);
  });

  it('the shared model takes in what the client changed and notes a file gone with its content nowhere else here', async () => {
    const d = mkdtempSync(join(tmpdir(), 'soak-shared-'));
    try {
      const m = new LocalModel(d);
      m.shared = true;
      m.ledger = new VersionLedger();
      writeFileSync(join(d, 'a.bin'), 'a');
      m.record('a.bin', sha256(Buffer.from('a')));
      writeFileSync(join(d, 'b.bin'), 'b');
      m.record('b.bin', sha256(Buffer.from('b')));
      writeFileSync(join(d, 'g.bin'), 'g');
      m.record('g.bin', sha256(Buffer.from('g')));
      // the client: renames a.bin (a move on the server), downloads a new file, trashes g.bin, leaves a partial download
      mkdirSync(join(d, 'sub'));
      renameSync(join(d, 'a.bin'), join(d, 'sub', 'a.bin'));
      writeFileSync(join(d, 'n.bin'), 'new');
      rmSync(join(d, 'g.bin'));
      writeFileSync(join(d, 'sub', '.cloudreve-sync-1.part'), 'par');
      const r = await m.resync();
      assert.deepEqual([...m.files.keys()].sort(), ['b.bin', 'n.bin', 'sub/a.bin']);
      assert.ok(m.folders.has('sub'));
      assert.deepEqual(r, { adopted: 2, gone: 2, vanished: 1 });
      assert.deepEqual(m.vanished.map((x) => x.path), ['g.bin']);
      // check() of a file the client replaced takes it in instead of calling it tampering
      writeFileSync(join(d, 'b.bin'), 'theirs, longer');
      m.check('b.bin');
      assert.deepEqual(m.tampered, []);
      assert.equal(m.files.get('b.bin')!.hash, sha256(Buffer.from('theirs, longer')));
      // the driver's delete supersedes the content; a rename supersedes nothing
      rmSync(join(d, 'n.bin'));
      m.deleted('n.bin');
      renameSync(join(d, 'sub', 'a.bin'), join(d, 'a2.bin'));
      m.renamed('sub/a.bin', 'a2.bin');
      assert.ok(m.ledger.required.has(sha256(Buffer.from('a'))));
      // g.bin was trashed by the client, not deleted by the driver: its content is still required (the local trash)
      assert.ok(m.ledger.required.has(sha256(Buffer.from('g'))));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
