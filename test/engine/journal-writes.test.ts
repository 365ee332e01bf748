/**
 * Row writes per file, counted by triggers in the journal itself (a second connection adds them; they log every
 * INSERT and UPDATE of `uploads` and every history entry into a table of their own). A queued row is held until the
 * turn's later() writes run (journal.ts, withStagedInserts): a one-request upload that ends within that window is
 * written once, in its final state, with its history entry — two row writes instead of three — and a queued row is
 * still committed within LATER_COMMIT_MS whether or not its upload ever ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { LATER_COMMIT_MS, openJournal, type UploadRow } from '../../main/engine/journal/journal.js';
import { tmpDir } from '../helpers/tmp-tree.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Adds the logging triggers to the journal at `file` (through a connection of its own, closed again). */
function addWriteLog(file: string): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE IF NOT EXISTS write_log (n INTEGER PRIMARY KEY, tbl TEXT, op TEXT, id TEXT, state TEXT);
    CREATE TRIGGER IF NOT EXISTS log_upload_insert AFTER INSERT ON uploads BEGIN
      INSERT INTO write_log (tbl, op, id, state) VALUES ('uploads', 'insert', new.id, new.state); END;
    CREATE TRIGGER IF NOT EXISTS log_upload_update AFTER UPDATE ON uploads BEGIN
      INSERT INTO write_log (tbl, op, id, state) VALUES ('uploads', 'update', new.id, new.state); END;
    CREATE TRIGGER IF NOT EXISTS log_history_insert AFTER INSERT ON transfer_history BEGIN
      INSERT INTO write_log (tbl, op, id, state) VALUES ('history', 'insert', new.transfer_id, new.state); END;`);
  db.close();
}

/** The committed log, read through another connection (what a crash would leave). */
function committedLog(file: string): Array<{ tbl: string; op: string; id: string; state: string }> {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT tbl, op, id, state FROM write_log ORDER BY n').all() as Array<{ tbl: string; op: string; id: string; state: string }>;
  } finally {
    db.close();
  }
}

const queued = (id: string): Omit<UploadRow, 'createdAt' | 'updatedAt'> => ({
  id, account: 'a', localPath: `/x/${id}`, targetUri: `cloudreve://my/${id}`, size: 10, mtimeMs: 0, inode: '1', ifExists: 'rename',
  priority: 0, state: 'queued', session: null, sessionUri: null, bytesDone: 0, error: null, attempts: 0,
});

test('journal: a queued row ended within the window is inserted once, in its end state; one that is not is committed within the window as queued', async () => {
  const dir = tmpDir();
  const file = join(dir.path, 'journal.db');
  openJournal(file).close(); // the schema
  addWriteLog(file);
  const journal = openJournal(file);
  try {
    // queued and ended in the same window, as a one-request upload's end (upload-job finish(): journal.later)
    journal.uploads.insertLater([queued('fast')]);
    // queued and left queued (a file waiting for a slot, or whose upload is still running when the window closes)
    journal.uploads.insertLater([queued('slow')]);
    await sleep(5);
    journal.later(() => {
      journal.uploads.update('fast', { state: 'done', bytesDone: 10, error: null });
      journal.history.insert({ account: 'a', transferId: 'fast', name: 'fast', localPath: '/x/fast', targetUri: 'cloudreve://my/fast', size: 10, state: 'done', error: null, pairId: null });
    });
    assert.deepEqual(committedLog(file), [], 'nothing committed yet: all of it waits for the window');
    await sleep(LATER_COMMIT_MS * 4);
    assert.deepEqual(committedLog(file).map((r) => `${r.tbl} ${r.op} ${r.id} ${r.state}`), [
      'history insert fast done',
      'uploads insert fast done',
      'uploads insert slow queued',
    ], 'the ended one: its row once, in its end state, and its history entry; the other committed as queued without anything else happening');
    const fast = journal.uploads.get('fast')!;
    assert.equal(fast.state, 'done');
    assert.equal(fast.bytesDone, 10);
    assert.ok(fast.updatedAt >= fast.createdAt);

    // its end, later: the usual update
    journal.later(() => journal.uploads.update('slow', { state: 'done', bytesDone: 10 }));
    await journal.committed();
    await sleep(LATER_COMMIT_MS * 2);
    assert.deepEqual(committedLog(file).slice(3).map((r) => `${r.tbl} ${r.op} ${r.id} ${r.state}`), ['uploads update slow done']);

    // a read sees a held row: it is written first
    journal.uploads.insertLater([queued('read')]);
    assert.equal(journal.uploads.get('read')?.state, 'queued');
    journal.uploads.insertLater([queued('seen')]);
    assert.equal(journal.uploads.list().filter((r) => r.id === 'seen').length, 1);
    await journal.committed();
    assert.deepEqual(committedLog(file).slice(4).map((r) => `${r.op} ${r.id} ${r.state}`), ['insert read queued', 'insert seen queued']);
  } finally {
    journal.close();
    dir.cleanup();
  }
});

test('journal: without group commit a queued row is written at once', () => {
  const dir = tmpDir();
  const file = join(dir.path, 'journal.db');
  openJournal(file).close();
  addWriteLog(file);
  const journal = openJournal(file, { groupCommit: false });
  try {
    journal.uploads.insertLater([queued('now')]);
    assert.deepEqual(committedLog(file).map((r) => `${r.op} ${r.id} ${r.state}`), ['insert now queued']);
  } finally {
    journal.close();
    dir.cleanup();
  }
});

test('engine: a small file whose upload ends within the window costs two row writes (its row, in its end state, and its history entry), not three', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  const engine = await createEngine({ home });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    await engine.idle();
    addWriteLog(join(home, 'journal.db'));
    // one at a time, each waited for: most end within the window (two requests to a loopback emulator); on a busy
    // machine some take longer, and those are written as before (queued, then their end). Up to 40 files, until 5
    // were written once.
    let once = 0;
    let n = 0;
    for (; n < 40 && once < 5; n++) {
      const f = dir.random(`one${n}.bin`, 4096);
      const [id] = await engine.enqueue([f.path], 'cloudreve://my/w');
      await engine.idle();
      assert.equal(engine.transfer(id)?.state, 'done');
      const ops = committedLog(join(home, 'journal.db')).filter((r) => r.id === id).map((r) => `${r.tbl} ${r.op} ${r.state}`).sort();
      if (ops.length === 2) {
        assert.deepEqual(ops, ['history insert done', 'uploads insert done'], id);
        once++;
      } else assert.deepEqual(ops, ['history insert done', 'uploads insert queued', 'uploads update done'], id);
    }
    console.log(`# ${once} of ${n} small files written once (the others outlived the ${LATER_COMMIT_MS} ms window)`);
    assert.ok(once >= 1, 'small files that end within the window are written once');
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
