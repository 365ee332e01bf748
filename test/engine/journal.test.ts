import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LATER_COMMIT_MS, openJournal, type Journal, type UploadRow } from '../../main/engine/journal/journal.js';
import { MIGRATIONS, type Migration } from '../../main/engine/journal/migrations/index.js';
import { EngineError } from '../../main/engine/errors.js';
import type { UploadSession } from '../../main/engine/api/types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ACKER = fileURLToPath(new URL('./fixtures/journal-acker.ts', import.meta.url));
const posix = process.platform !== 'win32';

let tmp = '';
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'crs-journal-'));
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});
let seq = 0;
const dbPath = () => join(tmp, `j${++seq}`, 'journal.db');

function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const session: UploadSession = {
  session_id: '5a0c0b6e-8d9f-4f7e-9b1b-3f2c7a1d2e4f',
  upload_id: 'mp-upload-1',
  chunk_size: 26214400,
  expires: 1736086400,
  upload_urls: ['https://bucket.example/obj?partNumber=1&X-Amz-Signature=abc', 'https://bucket.example/obj?partNumber=2&X-Amz-Signature=def'],
  credential: 'hmac-credential-value',
  completeURL: 'https://bucket.example/obj?uploadId=mp-upload-1',
  storage_policy: { id: 'pol1', name: 'S3', type: 's3', max_size: 0, relay: false, chunk_concurrency: 3, encryption: true },
  uri: 'cloudreve://my/dir/file%20one.bin',
  callback_secret: 'abcdefghijklmnopqrstuvwxyz012345',
  encrypt_metadata: {
    algorithm: 'aes-256-ctr',
    key: null,
    key_plain_text: Buffer.alloc(32, 7).toString('base64'),
    iv: Buffer.alloc(16, 9).toString('base64'),
  },
};

function sampleRow(over: Partial<UploadRow> = {}): Omit<UploadRow, 'createdAt' | 'updatedAt'> {
  return {
    id: over.id ?? `id-${Math.random().toString(36).slice(2)}`,
    account: 'https://cloud.example|u1',
    localPath: '/home/me/Documents/file one.bin',
    targetUri: 'cloudreve://my/dir/file%20one.bin',
    size: 123_456_789_012,
    mtimeMs: 1736000000123.4567,
    inode: '18446744073709551615', // 2^64 - 1, far above 2^53
    ifExists: 'rename',
    priority: 0,
    state: 'queued',
    session: null,
    sessionUri: null,
    bytesDone: 0,
    error: null,
    attempts: 0,
    previous: null,
    pairId: null,
    ...over,
  };
}

/** Raw read-only look at a journal file from a second connection. */
function peek<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('migrations', () => {
  it('a fresh database gets every migration and user_version = latest', () => {
    const p = dbPath();
    const j = openJournal(p);
    j.close();
    peek(p, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      assert.deepEqual(tables, ['downloads', 'files', 'sync_conflicts', 'sync_entries', 'sync_issues', 'sync_pairs', 'transfer_history', 'upload_parts', 'uploads']);
    });
    assert.equal(MIGRATIONS[0].version, 1);
  });

  it('reopening does not re-run migrations and keeps the data', () => {
    const p = dbPath();
    let ran = 0;
    const counting: Migration[] = MIGRATIONS.map((m) => ({ ...m, up: (db) => (ran++, m.up(db)) }));
    const j = openJournal(p, { migrations: counting });
    j.uploads.insert(sampleRow({ id: 'keep' }));
    j.close();
    assert.equal(ran, MIGRATIONS.length);
    const j2 = openJournal(p, { migrations: counting });
    assert.equal(ran, MIGRATIONS.length);
    assert.ok(j2.uploads.get('keep'));
    j2.close();
  });

  it('a failing migration rolls back its own changes and the version, then throws', () => {
    const p = dbPath();
    const j = openJournal(p);
    j.uploads.insert(sampleRow({ id: 'before' }));
    j.close();
    const broken: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'broken',
      up(db) {
        db.exec('CREATE TABLE extra (x TEXT); ALTER TABLE uploads ADD COLUMN y TEXT; DELETE FROM uploads;');
        throw new Error('boom');
      },
    };
    assert.throws(
      () => openJournal(p, { migrations: [...MIGRATIONS, broken] }),
      (err: unknown) => {
        assert.ok(err instanceof EngineError);
        assert.equal(err.code, 'local-io');
        assert.match(err.message, new RegExp(`${String(broken.version).padStart(4, '0')}-broken failed: boom`));
        assert.equal((err.cause as Error).message, 'boom');
        return true;
      },
    );
    peek(p, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").pluck().get(), 0);
      const cols = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('uploads');
      assert.ok(!cols.includes('y'));
      assert.equal(db.prepare('SELECT count(*) FROM uploads').pluck().get(), 1);
    });
    // Still usable with the real list.
    const j2 = openJournal(p);
    assert.ok(j2.uploads.get('before'));
    j2.close();
  });

  it('on a fresh database, earlier steps commit and the failing one does not', () => {
    const p = dbPath();
    const bad: Migration = { version: 2, name: 'bad-sql', up: (db) => db.exec('CREATE TABLE t2 (a); CREATE TABLEX nope;') };
    assert.throws(() => openJournal(p, { migrations: [MIGRATIONS[0], bad] }), /0002-bad-sql failed/);
    peek(p, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), 1);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 't2'").pluck().get(), 0);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'uploads'").pluck().get(), 1);
    });
  });

  it('a failing first migration leaves version 0 and no tables', () => {
    const p = dbPath();
    const bad: Migration = { version: 1, name: 'first', up: (db) => (db.exec('CREATE TABLE t1 (a)'), db.exec('SELECT * FROM missing_table')) };
    assert.throws(() => openJournal(p, { migrations: [bad] }), EngineError);
    peek(p, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), 0);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get(), 0);
    });
  });

  it('a later migration applies on top of an existing database', () => {
    const p = dbPath();
    openJournal(p).close();
    const next: Migration = { version: MIGRATIONS.length + 1, name: 'add-note', up: (db) => db.exec('ALTER TABLE files ADD COLUMN note TEXT') };
    openJournal(p, { migrations: [...MIGRATIONS, next] }).close();
    peek(p, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length + 1);
      assert.ok(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('files').includes('note'));
    });
  });

  it('refuses a database from a newer schema and a list with gaps', () => {
    const p = dbPath();
    openJournal(p).close();
    const db = new Database(p);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => openJournal(p), (e: unknown) => e instanceof EngineError && e.code === 'usage' && /99/.test(e.message));
    const gap: Migration = { version: 3, name: 'gap', up: () => {} };
    assert.throws(() => openJournal(':memory:', { migrations: [MIGRATIONS[0], gap] }), /without gaps/);
  });
});

describe('uploads repo', () => {
  let j: Journal;
  let clock: ReturnType<typeof fakeClock>;
  let p = '';
  before(() => {
    clock = fakeClock();
    p = dbPath();
    // each write commits at once: these tests read the file from other connections within the same turn
    j = openJournal(p, { now: clock.now, groupCommit: false });
  });
  after(() => j.close());

  it('round-trips every field, including the session JSON and a 64-bit inode', () => {
    const row = sampleRow({
      id: 'rt-1',
      ifExists: 'overwrite',
      priority: -3,
      state: 'uploading',
      session,
      sessionUri: 'cloudreve://my/dir/file%20one%20(1).bin',
      bytesDone: 52_428_800,
      error: { code: 'server', message: 'Internal error', serverCode: 50001 },
      attempts: 4,
    });
    const inserted = j.uploads.insert(row);
    assert.deepEqual(inserted, { ...row, createdAt: clock.now(), updatedAt: clock.now() });
    const got = j.uploads.get('rt-1');
    assert.deepEqual(got, inserted);
    assert.equal(got!.inode, '18446744073709551615');
    assert.equal(got!.mtimeMs, 1736000000123.4567);
    assert.deepEqual(got!.session!.encrypt_metadata, session.encrypt_metadata);
    // Survives a reopen from disk (a new connection, no caches).
    const j2 = openJournal(p);
    assert.deepEqual(j2.uploads.get('rt-1'), inserted);
    j2.close();
  });

  it('round-trips each ifExists value and rejects an invalid one or a non-decimal inode', () => {
    for (const v of ['skip', 'overwrite', 'rename'] as const) {
      j.uploads.insert(sampleRow({ id: `ie-${v}`, ifExists: v }));
      assert.equal(j.uploads.get(`ie-${v}`)!.ifExists, v);
    }
    assert.throws(() => j.uploads.insert(sampleRow({ id: 'ie-bad', ifExists: 'merge' as never })), /CHECK/);
    assert.throws(() => j.uploads.insert(sampleRow({ id: 'in-bad', inode: '12abc' })), /CHECK/);
    assert.throws(() => j.uploads.insert(sampleRow({ id: 'in-num', inode: 12 as unknown as string })), /cannot store|datatype|CHECK/i);
    assert.equal(j.uploads.get('ie-bad'), undefined);
    assert.throws(() => j.uploads.insert(sampleRow({ id: 'ie-skip' })), /UNIQUE|PRIMARY/);
  });

  it('get returns undefined for an unknown id', () => {
    assert.equal(j.uploads.get('nope'), undefined);
  });

  it('update patches given fields, bumps updatedAt, leaves undefined alone, clears with null', () => {
    j.uploads.insert(sampleRow({ id: 'up-1', session, sessionUri: session.uri, error: { code: 'network', message: 'x' } }));
    const created = j.uploads.get('up-1')!;
    clock.advance(1000);
    assert.equal(j.uploads.update('up-1', { state: 'paused', attempts: 2, priority: 9, error: null, localPath: undefined }), true);
    const a = j.uploads.get('up-1')!;
    assert.equal(a.state, 'paused');
    assert.equal(a.attempts, 2);
    assert.equal(a.priority, 9);
    assert.equal(a.error, null);
    assert.equal(a.localPath, created.localPath);
    assert.deepEqual(a.session, session);
    assert.equal(a.createdAt, created.createdAt);
    assert.equal(a.updatedAt, created.createdAt + 1000);
    // every patchable field at once, in another key order
    const patch = {
      updatedAt: 42,
      inode: '9007199254740993',
      mtimeMs: 1.5,
      size: 7,
      targetUri: 'cloudreve://my/other',
      account: 'acc2',
      ifExists: 'skip' as const,
      session: null,
      sessionUri: null,
      bytesDone: 3,
      error: { code: 'quota', message: 'full', serverCode: 40051 },
      localPath: '/x',
      state: 'failed',
      priority: 1,
      attempts: 0,
      previous: 'E-prev',
      pairId: 'pair-1',
    };
    j.uploads.update('up-1', patch);
    assert.deepEqual(j.uploads.get('up-1'), { id: 'up-1', createdAt: created.createdAt, ...patch });
  });

  it('update ignores id/createdAt, rejects unknown fields, and reports a missing row', () => {
    j.uploads.insert(sampleRow({ id: 'up-2' }));
    const before = j.uploads.get('up-2')!;
    j.uploads.update('up-2', { ...before, id: 'other', createdAt: 1, state: 'done' } as never);
    const after = j.uploads.get('up-2')!;
    assert.equal(after.state, 'done');
    assert.equal(after.createdAt, before.createdAt);
    assert.equal(j.uploads.get('other'), undefined);
    assert.throws(() => j.uploads.update('up-2', { colour: 'red' } as never), /unknown field colour/);
    assert.equal(j.uploads.update('missing', { state: 'done' }), false);
  });

  it('list orders by priority desc then createdAt asc, and filters by states and account', () => {
    const c = fakeClock(1);
    const jj = openJournal(':memory:', { now: c.now });
    const add = (id: string, priority: number, state: string, account = 'A') => {
      jj.uploads.insert(sampleRow({ id, priority, state, account }));
      c.advance(1);
    };
    add('low-old', 0, 'queued');
    add('high', 5, 'paused');
    add('low-new', 0, 'failed', 'B');
    add('neg', -1, 'queued');
    add('high-new', 5, 'queued', 'B');
    const ids = (rows: UploadRow[]) => rows.map((r) => r.id);
    assert.deepEqual(ids(jj.uploads.list()), ['high', 'high-new', 'low-old', 'low-new', 'neg']);
    assert.deepEqual(ids(jj.uploads.list({ states: ['queued'] })), ['high-new', 'low-old', 'neg']);
    assert.deepEqual(ids(jj.uploads.list({ states: ['queued', 'failed'], account: 'B' })), ['high-new', 'low-new']);
    assert.deepEqual(ids(jj.uploads.list({ account: 'A' })), ['high', 'low-old', 'neg']);
    assert.deepEqual(ids(jj.uploads.list({ states: [] })), []);
    // Same createdAt: insertion order breaks the tie.
    const jt = openJournal(':memory:', { now: () => 5 });
    for (const id of ['t3', 't1', 't2']) jt.uploads.insert(sampleRow({ id }));
    assert.deepEqual(ids(jt.uploads.list()), ['t3', 't1', 't2']);
    jj.close();
    jt.close();
  });

  it('ackPart stores parts (ascending, replace on the same index) with bytesDone and updatedAt', () => {
    j.uploads.insert(sampleRow({ id: 'ack-1', session, sessionUri: session.uri }));
    clock.advance(10);
    assert.equal(j.uploads.ackPart('ack-1', { index: 2, etag: '"c"', size: 10 }, 10), true);
    assert.equal(j.uploads.ackPart('ack-1', { index: 0, etag: null, size: 10 }, 20), true);
    assert.equal(j.uploads.ackPart('ack-1', { index: 2, etag: '"c2"', size: 10 }, 20), true);
    assert.deepEqual(j.uploads.parts('ack-1'), [
      { index: 0, etag: null, size: 10 },
      { index: 2, etag: '"c2"', size: 10 },
    ]);
    const r = j.uploads.get('ack-1')!;
    assert.equal(r.bytesDone, 20);
    assert.equal(r.updatedAt, clock.now());
    assert.deepEqual(j.uploads.parts('unknown'), []);
  });

  it('ackPart on a missing upload writes nothing and returns false', () => {
    assert.equal(j.uploads.ackPart('ghost', { index: 0, etag: 'e', size: 1 }, 1), false);
    peek(p, (db) => assert.equal(db.prepare("SELECT count(*) FROM upload_parts WHERE upload_id = 'ghost'").pluck().get(), 0));
  });

  it('ackPart is atomic: a failing part write leaves bytesDone untouched', () => {
    j.uploads.insert(sampleRow({ id: 'ack-2' }));
    j.uploads.ackPart('ack-2', { index: 0, etag: 'a', size: 5 }, 5);
    // CHECK (size >= 0) fails after bytes_done was already updated inside the transaction
    assert.throws(() => j.uploads.ackPart('ack-2', { index: 1, etag: 'b', size: -1 }, 999), /CHECK/);
    assert.equal(j.uploads.get('ack-2')!.bytesDone, 5);
    // A trigger from another connection makes the part insert fail.
    const w = new Database(p);
    w.exec("CREATE TRIGGER no_parts BEFORE INSERT ON upload_parts BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    try {
      assert.throws(() => j.uploads.ackPart('ack-2', { index: 1, etag: 'b', size: 5 }, 10), /injected failure/);
      assert.equal(j.uploads.get('ack-2')!.bytesDone, 5);
      assert.deepEqual(j.uploads.parts('ack-2'), [{ index: 0, etag: 'a', size: 5 }]);
    } finally {
      w.exec('DROP TRIGGER no_parts');
      w.close();
    }
    assert.equal(j.uploads.ackPart('ack-2', { index: 1, etag: 'b', size: 5 }, 10), true);
    assert.equal(j.uploads.parts('ack-2').length, 2);
  });

  it('setSession replaces the session, deletes the old parts and resets bytesDone', () => {
    j.uploads.insert(sampleRow({ id: 'ss-1', session, sessionUri: session.uri }));
    j.uploads.insert(sampleRow({ id: 'ss-other', session, sessionUri: session.uri }));
    for (let i = 0; i < 3; i++) j.uploads.ackPart('ss-1', { index: i, etag: `e${i}`, size: 4 }, (i + 1) * 4);
    j.uploads.ackPart('ss-other', { index: 0, etag: 'x', size: 4 }, 4);
    const fresh: UploadSession = { ...session, session_id: 'new-session', encrypt_metadata: undefined };
    delete fresh.encrypt_metadata;
    clock.advance(5);
    assert.equal(j.uploads.setSession('ss-1', fresh, 'cloudreve://my/renamed.bin'), true);
    const r = j.uploads.get('ss-1')!;
    assert.deepEqual(r.session, fresh);
    assert.equal(r.sessionUri, 'cloudreve://my/renamed.bin');
    assert.equal(r.bytesDone, 0);
    assert.equal(r.updatedAt, clock.now());
    assert.deepEqual(j.uploads.parts('ss-1'), []);
    assert.equal(j.uploads.parts('ss-other').length, 1, 'other uploads keep their parts');
    assert.equal(j.uploads.setSession('ss-1', null, null), true);
    assert.equal(j.uploads.get('ss-1')!.session, null);
    assert.equal(j.uploads.setSession('ghost', fresh, null), false);
  });

  it('setSession is atomic: if the parts cannot be deleted, the old session stays', () => {
    j.uploads.insert(sampleRow({ id: 'ss-2', session, sessionUri: session.uri }));
    j.uploads.ackPart('ss-2', { index: 0, etag: 'e', size: 4 }, 4);
    const w = new Database(p);
    w.exec("CREATE TRIGGER keep_parts BEFORE DELETE ON upload_parts BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    try {
      assert.throws(() => j.uploads.setSession('ss-2', { ...session, session_id: 'other' }, 'u'), /injected failure/);
    } finally {
      w.exec('DROP TRIGGER keep_parts');
      w.close();
    }
    const r = j.uploads.get('ss-2')!;
    assert.equal(r.session!.session_id, session.session_id);
    assert.equal(r.sessionUri, session.uri);
    assert.equal(r.bytesDone, 4);
    assert.equal(j.uploads.parts('ss-2').length, 1);
  });

  it('delete cascades to the parts', () => {
    j.uploads.insert(sampleRow({ id: 'del-1' }));
    j.uploads.ackPart('del-1', { index: 0, etag: 'e', size: 1 }, 1);
    assert.equal(j.uploads.delete('del-1'), true);
    assert.equal(j.uploads.get('del-1'), undefined);
    assert.equal(j.uploads.delete('del-1'), false);
    peek(p, (db) => assert.equal(db.prepare("SELECT count(*) FROM upload_parts WHERE upload_id = 'del-1'").pluck().get(), 0));
  });
});

describe('journal.transaction', () => {
  it('commits together, rolls back together on throw, nests, and returns the value', () => {
    const j = openJournal(':memory:');
    const v = j.transaction(() => {
      j.uploads.insert(sampleRow({ id: 'tx-1' }));
      j.uploads.ackPart('tx-1', { index: 0, etag: 'e', size: 3 }, 3);
      return 'ok';
    });
    assert.equal(v, 'ok');
    assert.throws(() =>
      j.transaction(() => {
        j.uploads.ackPart('tx-1', { index: 1, etag: 'e', size: 3 }, 6);
        j.uploads.update('tx-1', { state: 'done' });
        j.files.upsert({ path: '/a', size: 1, mtimeMs: 1, inode: '1', remoteId: null, primaryEntity: null });
        throw new Error('abort the batch');
      }),
    );
    assert.equal(j.uploads.get('tx-1')!.bytesDone, 3);
    assert.equal(j.uploads.get('tx-1')!.state, 'queued');
    assert.equal(j.uploads.parts('tx-1').length, 1);
    assert.equal(j.files.get('/a'), undefined);
    // nested: inner failure caught, outer commits
    j.transaction(() => {
      j.uploads.update('tx-1', { state: 'paused' });
      assert.throws(() => j.transaction(() => (j.uploads.update('tx-1', { attempts: 9 }), assert.fail('inner'))));
    });
    assert.equal(j.uploads.get('tx-1')!.state, 'paused');
    assert.equal(j.uploads.get('tx-1')!.attempts, 0);
    j.close();
    j.close(); // idempotent
  });

  it('enforces foreign keys (parts cannot outlive or precede their upload)', () => {
    const j = openJournal(':memory:');
    j.uploads.insert(sampleRow({ id: 'fk' }));
    j.uploads.ackPart('fk', { index: 0, etag: null, size: 1 }, 1);
    j.uploads.delete('fk');
    j.uploads.insert(sampleRow({ id: 'fk' }));
    assert.deepEqual(j.uploads.parts('fk'), [], 'a reinserted id does not inherit the old parts');
    j.close();
  });
});

describe('files repo', () => {
  it('upsert/get/delete/list round-trip, with big inodes and fractional mtimes', () => {
    const c = fakeClock(100);
    const j = openJournal(':memory:', { now: c.now });
    const a = j.files.upsert({ path: '/data/a.txt', size: 3, mtimeMs: 1.25, inode: '18446744073709551614', remoteId: 'f1', primaryEntity: 'e1' });
    assert.deepEqual(a, { path: '/data/a.txt', size: 3, mtimeMs: 1.25, inode: '18446744073709551614', remoteId: 'f1', primaryEntity: 'e1', updatedAt: 100 });
    assert.deepEqual(j.files.get('/data/a.txt'), a);
    c.advance(5);
    const a2 = j.files.upsert({ ...a, size: 4, primaryEntity: null, updatedAt: undefined });
    assert.equal(a2.updatedAt, 105);
    assert.deepEqual(j.files.get('/data/a.txt'), a2);
    assert.equal(j.files.upsert({ ...a, updatedAt: 7 }).updatedAt, 7);
    assert.equal(j.files.delete('/data/a.txt'), true);
    assert.equal(j.files.delete('/data/a.txt'), false);
    assert.equal(j.files.get('/data/a.txt'), undefined);
    j.close();
  });

  it('list({under}) matches a directory prefix exactly, with % and _ and either separator', () => {
    const j = openJournal(':memory:');
    const paths = ['/d/a', '/d/sub/b', '/d2/c', '/d%/x', '/dx/y', '/D/z', 'C:\\w\\f', 'C:\\w2\\f', '/d_/q', '/d/ü/😀'];
    for (const p of paths) j.files.upsert({ path: p, size: 0, mtimeMs: 0, inode: '0', remoteId: null, primaryEntity: null });
    const under = (u: string) => j.files.list({ under: u }).map((f) => f.path);
    assert.deepEqual(under('/d'), ['/d/a', '/d/sub/b', '/d/ü/😀']);
    assert.deepEqual(under('/d/'), ['/d/a', '/d/sub/b', '/d/ü/😀']);
    assert.deepEqual(under('/d%'), ['/d%/x']);
    assert.deepEqual(under('/d_'), ['/d_/q']);
    assert.deepEqual(under('C:\\w'), ['C:\\w\\f']);
    assert.deepEqual(under('/nothing'), []);
    assert.equal(j.files.list().length, paths.length);
    j.close();
  });
});

describe('files on disk', { skip: posix ? false : 'POSIX modes only' }, () => {
  it('creates the directory 0700 and the database, -wal and -shm 0600, even with umask 0', () => {
    const old = process.umask(0);
    try {
      const p = join(tmp, 'modes', 'deeper', 'journal.db');
      const j = openJournal(p);
      j.uploads.insert(sampleRow({ id: 'm' }));
      assert.equal(statSync(join(tmp, 'modes', 'deeper')).mode & 0o777, 0o700);
      assert.equal(statSync(p).mode & 0o777, 0o600);
      assert.ok(existsSync(`${p}-wal`), 'WAL file exists while open');
      assert.equal(statSync(`${p}-wal`).mode & 0o777, 0o600);
      assert.equal(statSync(`${p}-shm`).mode & 0o777, 0o600);
      j.close();
    } finally {
      process.umask(old);
    }
  });

  it('tightens an existing database file that was world-readable', () => {
    const p = dbPath();
    openJournal(p).close();
    chmodSync(p, 0o644);
    const j = openJournal(p);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    j.close();
  });

  it('refuses a path whose directory cannot be created', () => {
    const blocker = join(tmp, 'blocker');
    writeFileSync(blocker, 'x');
    assert.throws(() => openJournal(join(blocker, 'journal.db')), /EEXIST|ENOTDIR/);
  });
});

describe('crash durability', () => {
  function runAcker(p: string, id: string, partSize: number, killAfter: number): Promise<{ lastAcked: number; start: number; signal: string | null }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', ACKER, p, id, String(partSize)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      let start = -1;
      let lastAcked = -1;
      let seen = 0;
      let stderr = '';
      let killed = false;
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const line of lines) {
          const [word, n] = line.split(' ');
          if (word === 'ready') {
            start = Number(n);
            // a disk stalled by its neighbours can make commits crawl: after 15 s any number of acks will do
            setTimeout(() => {
              if (!killed && seen > 0) {
                killed = true;
                child.kill('SIGKILL');
              }
            }, 15_000).unref();
          }
          if (word === 'acked') {
            lastAcked = Number(n);
            seen++;
          }
        }
        if (!killed && seen >= killAfter) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (!killed) reject(new Error(`acker exited on its own (code ${code}): ${stderr}`));
        else resolve({ lastAcked, start, signal });
      });
    });
  }

  it('kill -9 while acking: the journal opens, passes integrity_check, and holds a consistent prefix of parts', async (t) => {
    const p = dbPath();
    const partSize = 5 * 1024 * 1024;
    const j = openJournal(p);
    j.uploads.insert(sampleRow({ id: 'crash', size: 10_000_000 * partSize, session, sessionUri: session.uri, state: 'uploading' }));
    j.close();

    let expectedStart = 0;
    for (let round = 0; round < 3; round++) {
      // each ack is a durable commit (an fsync): on a busy disk hundreds take minutes, so the rounds stay short
      const killAfter = 100 + round * 150;
      const { lastAcked, start, signal } = await runAcker(p, 'crash', partSize, killAfter);
      assert.equal(signal, 'SIGKILL');
      assert.equal(start, expectedStart, 'the child resumed after the parts already recorded');
      assert.ok(lastAcked >= start, `round ${round}: child reported ${lastAcked}, resumed at ${start}`);

      const db = new Database(p);
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        assert.deepEqual(db.pragma('foreign_key_check'), []);
      } finally {
        db.close();
      }
      const jr = openJournal(p);
      const parts = jr.uploads.parts('crash');
      const row = jr.uploads.get('crash')!;
      jr.close();
      // Every part whose commit returned (flush) before the kill is there (kill -9 keeps committed WAL frames) …
      assert.ok(parts.length >= lastAcked + 1, `round ${round}: ${parts.length} parts, child acked up to ${lastAcked}`);
      // … as a gap-free prefix with the right ETags, and bytesDone matches the last committed ack exactly.
      parts.forEach((part, i) => assert.deepEqual(part, { index: i, etag: `"etag-${i}"`, size: partSize }));
      assert.equal(row.bytesDone, parts.length * partSize);
      assert.deepEqual(row.session, session, 'the session survives intact');
      t.diagnostic(`round ${round}: the child reported ${lastAcked + 1} acks, the journal holds ${parts.length}`);
      expectedStart = parts.length;
    }
  });
});

describe('group commit', () => {
  const BATCHER = fileURLToPath(new URL('./fixtures/journal-batcher.ts', import.meta.url));
  const turn = () => new Promise<void>((r) => setImmediate(r));
  /** What another connection (another process's view) sees: committed rows only. */
  const committedIds = (p: string): string[] => {
    const db = new Database(p, { readonly: true });
    try {
      return db.prepare<[], { id: string }>('SELECT id FROM uploads ORDER BY id').all().map((r) => r.id);
    } finally {
      db.close();
    }
  };
  /** A row's committed state, as another connection sees it. */
  const committedState = (p: string, id: string): string | undefined => {
    const db = new Database(p, { readonly: true });
    try {
      return db.prepare<[string], { state: string }>('SELECT state FROM uploads WHERE id = ?').get(id)?.state;
    } finally {
      db.close();
    }
  };
  const run = (args: string[], shell?: string) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const cmd = shell ? ['bash', ['-c', `${shell}; exec "$0" "$@"`, process.execPath, '--import', 'tsx', BATCHER, ...args]] as const : [process.execPath, ['--import', 'tsx', BATCHER, ...args]] as const;
      const child = spawn(cmd[0], [...cmd[1]], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (err += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      });
    });

  it("writes of one turn share one commit, made before the next turn's I/O; each write stays atomic", async () => {
    const p = dbPath();
    const j = openJournal(p);
    try {
      await turn();
      j.uploads.insert(sampleRow({ id: 'g1' }));
      j.uploads.insert(sampleRow({ id: 'g2' }));
      // a write that fails inside the batch takes only itself back
      assert.throws(() => j.transaction(() => {
        j.uploads.insert(sampleRow({ id: 'g-bad' }));
        throw new Error('no');
      }), /no/);
      j.uploads.ackPart('g1', { index: 0, etag: 'e', size: 5 }, 5);
      assert.deepEqual(j.uploads.get('g1')?.bytesDone, 5, 'this connection sees its own pending writes');
      assert.deepEqual(committedIds(p), [], 'nothing committed within the turn');
      await turn();
      assert.deepEqual(committedIds(p), ['g1', 'g2']);
      // flush() commits at once
      j.uploads.insert(sampleRow({ id: 'g3' }));
      j.flush();
      assert.deepEqual(committedIds(p), ['g1', 'g2', 'g3']);
    } finally {
      j.close();
    }
  });

  it("later(): runs just before the turn's commit, after the turn's other writes; any read or transaction sees it first", async () => {
    const p = dbPath();
    const j = openJournal(p);
    try {
      await turn();
      const order: string[] = [];
      j.uploads.insert(sampleRow({ id: 'l1' }));
      j.later(() => {
        order.push('later');
        j.uploads.update('l1', { state: 'done' });
      });
      order.push('after');
      assert.deepEqual(order, ['after'], 'held back');
      assert.equal(j.uploads.get('l1')?.state, 'done', 'a read runs it first');
      assert.deepEqual(order, ['after', 'later']);
      j.later(() => j.history.insert({ account: 'a', transferId: 'l1', name: 'f', localPath: '/f', targetUri: 'cloudreve://my/f', size: 1, state: 'done', error: null, pairId: null }));
      j.transaction(() => assert.equal(j.history.count(), 1, 'a transaction runs it first'));
      j.later(() => j.uploads.update('l1', { state: 'failed' }));
      await j.committed();
      assert.equal(committedState(p, 'l1'), 'failed', 'run with the commit');
    } finally {
      j.close();
    }
  });

  it('a batch of only later() writes commits within LATER_COMMIT_MS, or with the next turn that writes anything else', async () => {
    const p = dbPath();
    const j = openJournal(p);
    try {
      await turn();
      j.uploads.insert(sampleRow({ id: 'z1' }));
      j.uploads.insert(sampleRow({ id: 'z2' }));
      await turn();
      assert.deepEqual(committedIds(p), ['z1', 'z2']);
      const state = (id: string) => committedState(p, id);
      const t0 = Date.now();
      j.later(() => j.uploads.update('z1', { state: 'done' }));
      await turn();
      await turn();
      assert.equal(state('z1'), 'queued', 'not committed at the end of its turn');
      for (let i = 0; i < 100 && state('z1') !== 'done'; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(state('z1'), 'done');
      assert.ok(Date.now() - t0 >= LATER_COMMIT_MS - 2, 'committed by the timer');
      // another write joins the open batch and commits it at the end of its turn
      j.later(() => j.uploads.update('z2', { state: 'done' }));
      await turn();
      j.uploads.update('z1', { attempts: 1 });
      await turn();
      assert.equal(state('z2'), 'done', 'committed with the next ordinary write');
    } finally {
      j.close();
    }
  });

  it('later() without group commit runs at once; one that throws loses the batch like a failed commit', async () => {
    const mem = openJournal(':memory:');
    let ran = false;
    mem.later(() => (ran = true));
    assert.equal(ran, true);
    mem.close();

    const p = dbPath();
    const errors: Error[] = [];
    const j = openJournal(p, { onCommitError: (e) => errors.push(e) });
    try {
      await turn();
      j.uploads.insert(sampleRow({ id: 'x1' }));
      j.later(() => {
        throw new Error('disk on fire');
      });
      j.flush();
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /could not save the latest changes \(disk on fire\)/);
      assert.deepEqual(committedIds(p), [], 'the batch was rolled back');
      // batching is off: a write commits at once, later() runs at once
      j.uploads.insert(sampleRow({ id: 'x2' }));
      j.later(() => j.uploads.update('x2', { state: 'done' }));
      assert.deepEqual(committedIds(p), ['x2']);
      assert.equal(j.uploads.get('x2')?.state, 'done');
    } finally {
      j.close();
    }
  });

  it('close() commits what is pending', () => {
    const p = dbPath();
    const j = openJournal(p);
    j.uploads.insert(sampleRow({ id: 'c1' }));
    j.close();
    assert.deepEqual(committedIds(p), ['c1']);
  });

  it('process.exit() in the same turn commits what is pending', { skip: !posix }, async () => {
    const p = dbPath();
    openJournal(p).close();
    const r = await run([p, 'exit']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(committedIds(p), ['exit-1', 'exit-2']);
  });

  it('a batch the disk cannot take (file-size limit) is rolled back and reported; later writes commit one by one', { skip: !posix }, async () => {
    const p = dbPath();
    openJournal(p).close();
    // 1 MiB per file for the child; SIGXFSZ ignored, so the write fails with EFBIG as on a full disk
    const r = await run([p, 'full'], "trap '' XFSZ; ulimit -f 1024");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /commit-error journal: could not save the latest changes \(.+\); they will be redone/);
    assert.match(r.out, /after rows=0/);
    assert.match(r.out, /later write: committed/);
    assert.deepEqual(committedIds(p), ['small']);
  });
});

describe('downloads repo', () => {
  it('insert, update (nulls written where meant), the open rows of a target, list by account and pair, delete', () => {
    const clock = fakeClock();
    const j = openJournal(':memory:', { now: clock.now });
    try {
      const base = {
        account: 'srv|u1',
        uri: 'cloudreve://my/a.bin',
        entity: 'E1',
        target: '/tmp/x/a.bin',
        tempPath: '/tmp/x/.cloudreve-sync-1.part',
        size: 10,
        bytesDone: 0,
        bytesSynced: 0,
        bootMs: null,
        serverUpdatedAt: 1_700_000_000_123,
        expectLocal: { size: 3, mtimeMs: 1.5, inode: '42' },
        onExists: 'conflict' as const,
        createFolders: false,
        state: 'queued' as const,
        error: null,
        resultPath: null,
        attempts: 0,
        pairId: 'p1',
      };
      const a = j.downloads.insert({ ...base, id: 'd1' });
      assert.equal(a.createdAt, clock.now());
      j.downloads.insert({ ...base, id: 'd2', account: 'srv|u2', pairId: null, expectLocal: null });
      clock.advance(5);
      assert.equal(j.downloads.update('d1', { bytesDone: 7, state: 'downloading', expectLocal: null, entity: null, error: { code: 'network', message: 'x' } }), true);
      const d1 = j.downloads.get('d1')!;
      assert.equal(d1.bytesDone, 7);
      assert.equal(d1.expectLocal, null);
      assert.equal(d1.entity, null);
      assert.deepEqual(d1.error, { code: 'network', message: 'x' });
      assert.equal(d1.updatedAt, clock.now());
      assert.deepEqual(j.downloads.get('d2')!.expectLocal, null);
      assert.deepEqual(j.downloads.openFor('/tmp/x/a.bin').map((r) => r.id), ['d1', 'd2']);
      j.downloads.update('d2', { state: 'done', resultPath: '/tmp/x/a.bin' });
      assert.deepEqual(j.downloads.openFor('/tmp/x/a.bin').map((r) => r.id), ['d1']);
      assert.deepEqual(j.downloads.list({ account: 'srv|u2' }).map((r) => r.id), ['d2']);
      assert.deepEqual(j.downloads.list({ pairId: 'p1' }).map((r) => r.id), ['d1']);
      assert.deepEqual(j.downloads.list({ states: ['done'] }).map((r) => r.id), ['d2']);
      assert.equal(j.downloads.update('nope', { state: 'done' }), false);
      assert.equal(j.downloads.delete('d2'), true);
      assert.equal(j.downloads.get('d2'), undefined);
    } finally {
      j.close();
    }
  });
});
