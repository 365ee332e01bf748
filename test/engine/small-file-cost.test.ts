/**
 * What one small file costs the engine, counted rather than timed: journal commits (read from the WAL itself),
 * the queue's work to pick the next file, and the CLI's writes to stdout. Each of these once grew per file
 * (four commits per one-part file, later two, a scan of every queued file per pick, one write per output line).
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { startEmulator } from '../emulator/index.js';
import { createEngine } from '../../main/engine/index.js';
import { openJournal, type Journal, type UploadRow } from '../../main/engine/journal/journal.js';
import { TransferQueue, DEFAULT_QUEUE } from '../../main/engine/transfer/queue.js';
import type { UploadJob } from '../../main/engine/transfer/upload-job.js';
import { runCli } from '../../main/cli.js';
import { BatchedOutput } from '../../main/cli/batched-output.js';
import { tmpDir } from '../helpers/tmp-tree.js';

/** Commits in a SQLite WAL file: frames whose "database size after commit" field is set, up to the first stale frame. */
function walCommits(path: string): number {
  let wal: Buffer;
  try {
    wal = readFileSync(path);
  } catch {
    return 0;
  }
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let commits = 0;
  for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
    if (wal.readUInt32BE(off + 8) !== salt1 || wal.readUInt32BE(off + 12) !== salt2) break;
    if (wal.readUInt32BE(off + 4) !== 0) commits++;
  }
  return commits;
}

test('a file of one part costs one journal write transaction, its end (its session is never recorded)', async () => {
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  // without group commit, so that each write transaction is one commit in the WAL (with it, files in flight share them)
  const engine = await createEngine({ home, groupCommit: false });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const N = 12;
    const files = Array.from({ length: N }, (_, i) => dir.random(`small/f${i}.bin`, 1000 + i).path);
    const big = dir.random('big.bin', 3 * 64 * 1024 + 5).path; // 4 parts: each acknowledged part is its own commit
    const before = walCommits(join(home, 'journal.db-wal'));
    const ids = await engine.enqueue(files, 'cloudreve://my/cost');
    await engine.idle();
    const afterSmall = walCommits(join(home, 'journal.db-wal'));
    assert.deepEqual(new Set(ids.map((id) => engine.transfer(id)!.state)), new Set(['done']));
    // one transaction for the enqueue, then one per file
    assert.equal(afterSmall - before, 1 + N, 'commits for N one-part files');

    const [bigId] = await engine.enqueue([big], 'cloudreve://my/cost');
    await engine.idle();
    assert.equal(engine.transfer(bigId)!.state, 'done');
    // enqueue, session, 'uploading', 3 acknowledged parts, the end (the last part's answer)
    assert.equal(walCommits(join(home, 'journal.db-wal')) - afterSmall, 1 + 1 + 1 + 3 + 1, 'commits for a 4-part file');
    assert.equal(emu.stats().bytes_received, files.reduce((s, _, i) => s + 1000 + i, 0) + 3 * 64 * 1024 + 5);
  } finally {
    await engine.close();
    await emu.close();
    dir.cleanup();
  }
});

/** `n` queued transfers of 10 bytes, inserted in one transaction, with the given ids and priorities. */
function queuedRows(journal: Journal, n: number, id: (i: number) => string, priority: (i: number) => number): UploadRow[] {
  const rows: UploadRow[] = [];
  journal.transaction(() => {
    for (let i = 0; i < n; i++) {
      rows.push(
        journal.uploads.insert({
          id: id(i), account: 'a', localPath: `/x/${i}`, targetUri: `cloudreve://my/${i}`, size: 10, mtimeMs: 0,
          inode: '1', ifExists: 'rename', priority: priority(i), state: 'queued', session: null, sessionUri: null, bytesDone: 0, error: null, attempts: 0,
        }),
      );
    }
  });
  return rows;
}

test('picking the next file does not scan every queued file (2,000 queued)', async () => {
  const journal = openJournal(':memory:');
  const N = 2000;
  const rows = queuedRows(journal, N, (i) => `t${String(i).padStart(5, '0')}`, (i) => i % 3);
  const started: string[] = [];
  // jobs that end at once: the queue, the journal and the scheduling are real
  const makeJob = (row: UploadRow) =>
    ({
      run: async () => {
        started.push(row.id);
        await Promise.resolve();
        journal.uploads.update(row.id, { state: 'done' });
        const done = { ...row, state: 'done' };
        queue.noteState(done);
        return done;
      },
    }) as unknown as UploadJob;
  const queue = new TransferQueue(journal, makeJob, DEFAULT_QUEUE, (row) => queue.noteState(row));
  // count lookups of queue entries: a scan per pick makes N²/2 of them
  const admitted = (queue as unknown as { admitted: Map<string, unknown> }).admitted;
  let lookups = 0;
  const get = admitted.get.bind(admitted);
  admitted.get = (k: string) => {
    lookups++;
    return get(k);
  };
  queue.admit(rows.map((r) => r.id));
  await queue.idle();
  assert.equal(started.length, N);
  // priority first (2, then 1, then 0), then age (insertion order here)
  const expected = [...rows].sort((a, b) => b.priority - a.priority || Number(a.id.slice(1)) - Number(b.id.slice(1))).map((r) => r.id);
  assert.deepEqual(started, expected);
  assert.ok(lookups < 40 * N, `${lookups} entry lookups for ${N} files`);
  journal.close();
});

test('newly queued transfers start from the rows they were queued with: no journal read, unless changed meanwhile', async () => {
  const journal = openJournal(':memory:');
  const N = 50;
  const rows = queuedRows(journal, N, (i) => `n${i}`, () => 0);
  let reads = 0;
  const get = journal.uploads.get.bind(journal.uploads);
  journal.uploads.get = (id: string) => {
    reads++;
    return get(id);
  };
  const started: string[] = [];
  const makeJob = (row: UploadRow) =>
    ({
      run: async () => {
        started.push(row.id);
        await Promise.resolve();
        const done = { ...row, state: 'done' };
        queue.noteState(done);
        return done;
      },
    }) as unknown as UploadJob;
  const queue = new TransferQueue(journal, makeJob, DEFAULT_QUEUE, (row) => queue.noteState(row));
  // the first slots start at once; a priority change of a waiting one goes through the journal, so it is read again
  queue.admitNew(rows);
  queue.setPriority(rows[N - 1].id, 5);
  await queue.idle();
  assert.equal(started.length, N);
  assert.equal(started.indexOf(rows[N - 1].id), DEFAULT_QUEUE.maxActiveFiles + DEFAULT_QUEUE.smallFileSlots, 'the raised one starts next');
  assert.equal(reads, 1, 'only the transfer changed after it was queued is read back');
  journal.close();
});

test('the CLI writes its per-file lines in batches, not one write per line', async () => {
  const emu = await startEmulator({});
  const dir = tmpDir();
  const home = join(dir.path, 'home');
  try {
    const N = 60;
    for (let i = 0; i < N; i++) dir.file(`many/f${i}.txt`, `file ${i}\n`);
    const writes: string[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _enc, cb) {
        writes.push(chunk.toString());
        cb();
      },
    });
    const stderr = new Writable({ write: (_c, _e, cb) => cb() });
    const ctx = { stdin: Readable.from([]), stdout, stderr, env: { PATH: process.env.PATH, HOME: dir.path, CLOUDREVE_PASSWORD: emu.password }, isTTY: false };
    assert.equal(await runCli(['--home', home, 'login', '--server', emu.url, '--email', emu.email], ctx), 0);
    writes.length = 0;
    const t0 = performance.now();
    assert.equal(await runCli(['--home', home, 'upload', join(dir.path, 'many'), '--to', 'batched'], ctx), 0);
    const elapsed = performance.now() - t0;
    const lines = writes.join('').split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => l.startsWith('uploaded ')).length, N, 'a line per file');
    assert.equal(lines.at(-1), `${N} uploaded, 0 skipped, 0 failed`);
    // at most one write per 100 ms batch, plus the final flushes (a slow machine makes more batches, not more writes per batch)
    assert.ok(writes.length <= Math.ceil(elapsed / 100) + 3 && writes.length < lines.length, `${writes.length} writes for ${lines.length} lines in ${elapsed.toFixed(0)} ms`);
  } finally {
    await emu.close();
    dir.cleanup();
  }
});

test('the token check before each request decodes the JWTs once per token pair, not per request', async () => {
  const { CloudreveClient } = await import('../../main/engine/api/client.js');
  const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
  const now = Math.floor(Date.now() / 1000);
  const tokens = {
    access_token: jwt({ iat: now, exp: now + 3600 }),
    refresh_token: jwt({ iat: now, exp: now + 7 * 86400 }),
    access_expires: new Date((now + 3600) * 1000).toISOString(),
    refresh_expires: new Date((now + 7 * 86400) * 1000).toISOString(),
  };
  const client = new CloudreveClient({ baseUrl: 'http://127.0.0.1:9', clientId: '0f8fad5b-d9cb-469f-a165-70867728950e', tokens });
  const parse = JSON.parse;
  let parses = 0;
  JSON.parse = ((...args: Parameters<typeof JSON.parse>) => {
    parses++;
    return parse(...args);
  }) as typeof JSON.parse;
  try {
    for (let i = 0; i < 1000; i++) await client.ensureFreshToken();
  } finally {
    JSON.parse = parse;
    client.close();
  }
  assert.ok(parses <= 4, `${parses} JSON decodes for 1,000 checks`);
});

test('BatchedOutput: what is written within one interval goes out as one write; flush() writes at once', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const writes: string[] = [];
    const out = new BatchedOutput(new Writable({ write: (c: Buffer, _e, cb) => (writes.push(c.toString()), cb()) }), 100);
    for (let i = 0; i < 50; i++) out.write(`line ${i}\n`);
    assert.equal(writes.length, 0, 'nothing before the interval ends');
    mock.timers.tick(100);
    assert.equal(writes.length, 1);
    assert.equal(writes[0].split('\n').length, 51);
    out.write('a\n');
    out.flush();
    assert.deepEqual(writes.slice(1), ['a\n'], 'flush writes what is pending at once');
    mock.timers.tick(500);
    out.flush();
    assert.equal(writes.length, 2, 'no empty writes');
  } finally {
    mock.timers.reset();
  }
});
