/**
 * A small download's journal writes and its restart (downloader.ts, DownloadJob.small): a file of at most 256 KiB is
 * not written to the journal while it runs (its row stays queued), its end is written once among the journal's later()
 * writes, and an interrupted one is fetched again from its start (what a temp file left behind holds is not continued
 * with a Range request). The writes are counted by triggers in the journal itself (a second connection adds them).
 * And the small-file download slots (downloads.ts, smallDownloadSlots).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { createEngine, type DownloadRequest } from '../../main/engine/index.js';
import { fingerprintSync } from '../../main/engine/fs/file-source.js';
import { tempPathFor } from '../../main/engine/transfer/downloader.js';
import { startEmulator } from '../emulator/index.js';
import { tmpDir } from '../helpers/tmp-tree.js';
import { CLIENT_ID } from './api/helpers.js';

function addWriteLog(file: string): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE IF NOT EXISTS write_log (n INTEGER PRIMARY KEY, op TEXT, id TEXT, state TEXT);
    CREATE TRIGGER IF NOT EXISTS log_download_insert AFTER INSERT ON downloads BEGIN
      INSERT INTO write_log (op, id, state) VALUES ('insert', new.id, new.state); END;
    CREATE TRIGGER IF NOT EXISTS log_download_update AFTER UPDATE ON downloads BEGIN
      INSERT INTO write_log (op, id, state) VALUES ('update', new.id, new.state); END;`);
  db.close();
}

function committedLog(file: string): Array<{ op: string; id: string; state: string }> {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT op, id, state FROM write_log ORDER BY n').all() as Array<{ op: string; id: string; state: string }>;
  } finally {
    db.close();
  }
}

test('small downloads: two row writes each (queued, then its end); an interrupted one starts over, whatever its temp file holds', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
  const dir = tmpDir('crs-dlw-');
  const home = join(dir.path, 'home');
  const engine = await createEngine({ home });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const api = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
    await api.login(emu.email, emu.password);
    await engine.idle();
    addWriteLog(join(home, 'journal.db'));

    const reqs: DownloadRequest[] = [];
    const datas: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      const data = randomBytes(4096 + i);
      const f = await api.putContent(`cloudreve://my/w/f${i}.bin`, data, data.length);
      datas.push(data);
      reqs.push({ uri: f.path, target: join(dir.path, 'out', `f${i}.bin`), size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null, createFolders: true });
    }
    const outcomes = await engine.downloads.download(reqs);
    await engine.downloads.idle();
    outcomes.forEach((o, i) => {
      assert.equal(o.result, 'done');
      if (o.result !== 'done') return;
      assert.deepEqual(readFileSync(reqs[i].target), datas[i]);
      assert.deepEqual(o.fp, fingerprintSync(reqs[i].target), 'the outcome fingerprint is the file in place');
      const ops = committedLog(join(home, 'journal.db')).filter((r) => r.id === o.id).map((r) => `${r.op} ${r.state}`);
      assert.deepEqual(ops, ['insert queued', 'update done'], o.id);
      const snap = engine.downloads.get(o.id)!;
      assert.equal(snap.state, 'done');
      assert.equal(snap.bytesDone, reqs[i].size);
      assert.equal(snap.resultPath, reqs[i].target);
    });

    // interrupted (paused at once), with a temp file of other bytes left behind: resumed, it is fetched from its start
    const data = randomBytes(200 * 1024);
    const f = await api.putContent('cloudreve://my/w/again.bin', data, data.length);
    const target = join(dir.path, 'out', 'again.bin');
    const [h] = engine.downloads.enqueue([{ uri: f.path, target, size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null }]);
    engine.downloads.pause(h.id);
    const first = await h.outcome;
    assert.equal(first.result, 'waiting');
    writeFileSync(tempPathFor(target, h.id), randomBytes(100 * 1024));
    const [again] = engine.downloads.resume(h.id);
    const o = await again.outcome;
    assert.equal(o.result, 'done');
    assert.deepEqual(readFileSync(target), data, 'not continued from the temp file left behind');
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});

test('small-file download slots: beside maxActiveDownloads, 8 more for files of at most 64 KiB; larger ones wait for theirs', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
  const dir = tmpDir('crs-dls-');
  const engine = await createEngine({ home: join(dir.path, 'home'), maxActiveDownloads: 1 });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const api = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
    await api.login(emu.email, emu.password);
    const reqs: DownloadRequest[] = [];
    const add = async (name: string, size: number) => {
      const data = randomBytes(size);
      const f = await api.putContent(`cloudreve://my/s/${name}`, data, data.length);
      reqs.push({ uri: f.path, target: join(dir.path, 'out', name), size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null, createFolders: true });
    };
    await add('big1.bin', 100 * 1024);
    await add('big2.bin', 100 * 1024);
    for (let i = 0; i < 12; i++) await add(`s${i}.bin`, 4096);
    const handles = engine.downloads.enqueue(reqs);
    // the pump starts what it may at once: big1 in the one slot any file may use, 8 small ones in their slots
    const states = handles.map((h) => engine.downloads.get(h.id)!.state);
    assert.deepEqual(states, ['downloading', 'queued', ...Array(8).fill('downloading'), ...Array(4).fill('queued')]);
    const outcomes = await Promise.all(handles.map((h) => h.outcome));
    assert.ok(outcomes.every((o) => o.result === 'done'));
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});
