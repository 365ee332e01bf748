/**
 * A journal SQLite cannot read (issue 16 §9 "Damaged state"), with real files: cut short, overwritten at its start, a
 * page damaged in the middle (found at open after a crash, or while running). The message names the file and what to
 * do; the engine moves the damaged file aside (nothing deleted), opens a new journal and re-creates the pairs from
 * pairs-backup.json; the CLI, run as a process, says so and lists the pairs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../../main/engine/errors.js';
import { createEngine } from '../../main/engine/index.js';
import { openJournal, type Journal } from '../../main/engine/journal/journal.js';
import { PAIRS_BACKUP_FILE, readPairsBackup } from '../../main/engine/journal/pairs-backup.js';
import { setNoticeSink } from '../../main/engine/notices.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let dir: TmpDir;
let seq = 0;
const notices: string[] = [];
let restoreSink: ReturnType<typeof setNoticeSink>;
before(() => {
  dir = tmpDir('crs-journal-damage-');
  restoreSink = setNoticeSink((m) => void notices.push(m));
});
after(() => {
  setNoticeSink(restoreSink);
  dir.cleanup();
});

/** A home whose journal holds two pairs (one a paused mirror with ignore rules) and 3,000 sync records. */
function homeWithPairs(): { home: string; db: string } {
  const home = join(dir.path, `home${++seq}`);
  mkdirSync(home, { recursive: true });
  const db = join(home, 'journal.db');
  const j = openJournal(db, { pairsBackup: join(home, PAIRS_BACKUP_FILE), groupCommit: false });
  j.pairs.insert({ id: 'pair-photos', account: 'http://s|1', localPath: '/data/photos', remoteUri: 'cloudreve://my/photos', mode: 'backup', ignore: [] });
  j.pairs.insert({ id: 'pair-docs', account: 'http://s|1', localPath: '/data/docs', remoteUri: 'cloudreve://my/docs', mode: 'mirror', ignore: ['*.tmp', 'cache/'] });
  j.pairs.update('pair-docs', { paused: true });
  j.pairs.update('pair-docs', { state: 'syncing' }); // not a definition: no rewrite needed, nothing breaks
  j.transaction(() => {
    for (let i = 0; i < 3000; i++) {
      j.syncEntries.upsert({ pairId: 'pair-photos', relPath: `d${i % 100}/f${i}.jpg`, kind: 'file', size: i, mtimeMs: i, inode: String(i), remoteId: `r${i}`, primaryEntity: `e${i}` });
    }
  });
  j.close();
  return { home, db };
}

function definitions(j: Pick<Journal, 'pairs'>) {
  return j.pairs.list().map((p) => ({ id: p.id, mode: p.mode, ignore: p.ignore, paused: p.paused, watched: p.watched, localPath: p.localPath, remoteUri: p.remoteUri }));
}

const EXPECTED = [
  { id: 'pair-photos', mode: 'backup', ignore: [], paused: false, watched: true, localPath: '/data/photos', remoteUri: 'cloudreve://my/photos' },
  { id: 'pair-docs', mode: 'mirror', ignore: ['*.tmp', 'cache/'], paused: true, watched: true, localPath: '/data/docs', remoteUri: 'cloudreve://my/docs' },
];

/** Overwrites `length` bytes at `offset` with a pattern SQLite cannot take for a page. */
function scribble(file: string, offset: number, length: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(length, 0x5a), 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

const damagedCopies = (home: string) => readdirSync(home).filter((n) => /^journal\.damaged-\d{8}-\d{6}Z(-\d+)?\.db$/.test(n));

describe('the pairs backup', () => {
  test('mirrors every change of a definition, atomically, and not state changes', () => {
    const { home } = homeWithPairs();
    const backup = join(home, PAIRS_BACKUP_FILE);
    assert.equal(statSync(backup).mode & 0o777, 0o600);
    const read = readPairsBackup(backup);
    assert.equal(read.problem, null);
    assert.deepEqual(
      read.pairs.map((p) => ({ id: p.id, mode: p.mode, ignore: p.ignore, paused: p.paused, watched: p.watched, localPath: p.localPath, remoteUri: p.remoteUri })),
      EXPECTED,
    );
    const j = openJournal(join(home, 'journal.db'), { pairsBackup: backup });
    const before = readFileSync(backup, 'utf8');
    j.pairs.update('pair-photos', { state: 'error', lastScanAt: 5 });
    assert.equal(readFileSync(backup, 'utf8'), before, 'state and scan times are not definitions');
    j.pairs.delete('pair-photos');
    assert.deepEqual(readPairsBackup(backup).pairs.map((p) => p.id), ['pair-docs']);
    j.close();
    assert.deepEqual(readdirSync(home).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left behind');
  });

  test('a journal that was missing gets its pairs back from the backup', () => {
    const { home, db } = homeWithPairs();
    // as a user who moved the journal away by hand would: the journal is gone, the backup is not
    const away = join(dir.path, `away${seq}.db`);
    copyFileSync(db, away);
    truncateSync(db, 0); // an empty file reads as a new database
    const j = openJournal(db, { pairsBackup: join(home, PAIRS_BACKUP_FILE) });
    try {
      assert.deepEqual(definitions(j), EXPECTED);
      assert.equal(j.recovery?.restoredPairs, 2);
      assert.equal(j.recovery?.movedTo, null);
      assert.match(j.recovery!.message, /missing or empty: 2 pairs re-created from .*pairs-backup\.json/);
    } finally {
      j.close();
    }
  });

  test('an unreadable backup is moved aside, never overwritten', () => {
    const { home, db } = homeWithPairs();
    const backup = join(home, PAIRS_BACKUP_FILE);
    writeFileSync(backup, '{ this is not json');
    const j = openJournal(db, { pairsBackup: backup });
    j.close();
    const kept = readdirSync(home).filter((n) => n.startsWith('pairs-backup.unreadable-'));
    assert.equal(kept.length, 1);
    assert.equal(readFileSync(join(home, kept[0]), 'utf8'), '{ this is not json');
    assert.deepEqual(readPairsBackup(backup).pairs.map((p) => p.id), ['pair-photos', 'pair-docs'], 'rewritten from the journal');
  });
});

describe('a damaged journal', () => {
  test('cut short: without recovery the error names the file and says what to do; nothing is touched', () => {
    const { home, db } = homeWithPairs();
    truncateSync(db, Math.floor(statSync(db).size / 2));
    const size = statSync(db).size;
    assert.throws(
      () => openJournal(db, { pairsBackup: join(home, PAIRS_BACKUP_FILE) }),
      (e: unknown) =>
        e instanceof EngineError &&
        e.code === 'local-io' &&
        e.message.includes(db) &&
        /damaged \(database disk image is malformed\)/.test(e.message) &&
        /moved aside \(kept, not deleted\)/.test(e.message) &&
        e.message.includes('pairs-backup.json'),
    );
    assert.equal(statSync(db).size, size, 'left as it was');
    assert.deepEqual(damagedCopies(home), []);
  });

  test('cut short: the engine moves it aside, opens a new journal and re-creates the pairs', async () => {
    const { home, db } = homeWithPairs();
    truncateSync(db, Math.floor(statSync(db).size / 2));
    const cut = readFileSync(db);
    notices.length = 0;
    const engine = await createEngine({ home });
    try {
      assert.deepEqual(
        engine.sync.listPairs().map((p) => ({ id: p.id, mode: p.mode, ignore: p.ignore, paused: p.paused, watched: p.watched, localPath: p.localPath, remoteUri: p.remoteUri })),
        EXPECTED,
      );
    } finally {
      await engine.close();
    }
    const copies = damagedCopies(home);
    assert.equal(copies.length, 1);
    assert.ok(readFileSync(join(home, copies[0])).equals(cut), 'the damaged file is kept byte for byte');
    assert.equal(notices.length, 1);
    const m = notices[0];
    assert.ok(m.includes(db), m);
    assert.ok(m.includes(join(home, copies[0])), m);
    assert.match(m, /database disk image is malformed/);
    assert.match(m, /2 pairs re-created from .*pairs-backup\.json/);
    assert.match(m, /not uploaded again/);
    assert.match(m, /not deleted/);
    // the new journal is whole and keeps the pairs from now on
    const j = openJournal(db);
    assert.deepEqual(definitions(j), EXPECTED);
    j.close();
  });

  test('overwritten at its start (not a database any more): moved aside the same way', async () => {
    const { home, db } = homeWithPairs();
    scribble(db, 0, 100);
    notices.length = 0;
    const engine = await createEngine({ home });
    try {
      assert.deepEqual(engine.sync.listPairs().map((p) => p.id), ['pair-photos', 'pair-docs']);
    } finally {
      await engine.close();
    }
    assert.equal(damagedCopies(home).length, 1);
    assert.match(notices[0], /file is not a database/);
  });

  test('a page damaged in the middle is found at open after a crash (the WAL left behind) by the integrity check', () => {
    const { home, db } = homeWithPairs();
    const size = statSync(db).size;
    scribble(db, size - 8 * 4096, 4 * 4096); // sync records' pages, not the schema
    writeFileSync(`${db}-wal`, ''); // what a process killed while it had the journal open leaves
    const j = openJournal(db, { pairsBackup: join(home, PAIRS_BACKUP_FILE), recoverDamaged: true });
    try {
      assert.ok(j.recovery?.movedTo, 'moved aside');
      assert.match(j.recovery!.reason!, /integrity check failed|malformed/);
      assert.deepEqual(definitions(j), EXPECTED);
    } finally {
      j.close();
    }
    const [copy] = damagedCopies(home);
    assert.equal(statSync(join(home, copy)).size, size, 'kept whole');
  });

  test('damage met while running names the file, and the next open checks and recovers', () => {
    const { home, db } = homeWithPairs();
    const size = statSync(db).size;
    scribble(db, size - 8 * 4096, 4 * 4096);
    // a clean close before: no WAL, so the open does not check, and the damaged pages are only met when read
    const j = openJournal(db, { pairsBackup: join(home, PAIRS_BACKUP_FILE), recoverDamaged: true });
    assert.equal(j.recovery, null);
    assert.throws(
      () => j.syncEntries.map('pair-photos'),
      (e: unknown) => e instanceof EngineError && e.message.includes(db) && /damaged/.test(e.message) && /stop every cloudreve-sync process/.test(e.message),
    );
    j.close();
    assert.ok(existsSync(`${db}.check`), 'the next open is told to check');
    const j2 = openJournal(db, { pairsBackup: join(home, PAIRS_BACKUP_FILE), recoverDamaged: true });
    try {
      assert.ok(j2.recovery?.movedTo);
      assert.deepEqual(definitions(j2), EXPECTED);
      assert.equal(j2.syncEntries.count('pair-photos'), 0, 'records are rebuilt by the next pass');
    } finally {
      j2.close();
    }
    assert.ok(!existsSync(`${db}.check`));
    assert.equal(damagedCopies(home).length, 1);
  });

  test('a healthy journal left by a crash passes the check and is kept as it is', () => {
    const { home, db } = homeWithPairs();
    writeFileSync(`${db}-wal`, '');
    const j = openJournal(db, { pairsBackup: join(home, PAIRS_BACKUP_FILE), recoverDamaged: true });
    try {
      assert.equal(j.recovery, null);
      assert.equal(j.syncEntries.count('pair-photos'), 3000);
    } finally {
      j.close();
    }
    assert.deepEqual(damagedCopies(home), []);
  });
});

describe('the CLI on a damaged journal (a real process)', () => {
  function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main/cli.ts'), ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: dir.path },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, out, err }));
    });
  }

  test('`pairs list` says what happened, where the old file is, and lists the pairs', async () => {
    const { home, db } = homeWithPairs();
    truncateSync(db, Math.floor(statSync(db).size / 3));
    const r = await runCli(['--home', home, 'pairs', 'list']);
    assert.equal(r.code, 0, r.err);
    const [copy] = damagedCopies(home);
    assert.ok(copy, 'moved aside');
    assert.ok(r.err.includes(db), r.err);
    assert.ok(r.err.includes(copy), r.err);
    assert.match(r.err, /2 pairs re-created/);
    assert.match(r.out, /\/data\/photos/);
    assert.match(r.out, /\/data\/docs/);
    // the next command has nothing more to say
    const again = await runCli(['--home', home, 'pairs', 'list']);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.err, '');
    assert.equal(damagedCopies(home).length, 1);
  });
});
