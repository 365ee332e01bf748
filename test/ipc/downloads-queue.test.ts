/**
 * Downloads in the shared transfer queue (issue 17), through the app's contract:
 *   - toDownloadDto: a download as a queue row (direction, its states, a conflict copy is complete and not an error);
 *   - forwardEngineEvents: download-changed / -progressed / -removed reach the page as the transfer events (progress
 *     coalesced like an upload's);
 *   - the handlers against the real engine and the emulator: listTransfers lists downloads after uploads; pause,
 *     resume, cancel, setPriority (move to top) and clearFinished take a download's id; a higher priority starts
 *     first; the download limit is a setting (persisted, applied to engine.downloads at once).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CloudreveClient } from '../../main/engine/api/client.js';
import type { DownloadRequest, DownloadSnapshot } from '../../main/engine/download-types.js';
import { createEngine, type Engine } from '../../main/engine/index.js';
import { TypedEmitter, type EngineEvents } from '../../main/engine/events.js';
import { TRANSFER_STATES, type EventMap, type EventName, type MethodName, type MethodValue, type Result, type TransferDto } from '../../main/ipc/contract.js';
import { toDownloadDto } from '../../main/ipc/serialize.js';
import { createHandlers, dispatch, forwardEngineEvents, parseSettingsPatch } from '../../main/ipc/server.js';
import { applyToEngine, SettingsFile } from '../../main/shell/settings.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';
import { CLIENT_ID } from '../engine/api/helpers.js';

function download(over: Partial<DownloadSnapshot> = {}): DownloadSnapshot {
  return {
    id: 'd1',
    uri: 'cloudreve://my/Docs/report.pdf',
    target: '/home/ann/Docs/report.pdf',
    size: 1000,
    bytesDone: 400,
    state: 'downloading',
    error: null,
    resultPath: null,
    pairId: null,
    retryAt: null,
    priority: 0,
    speed: 200,
    eta: 3,
    createdAt: 5,
    updatedAt: 6,
    ...over,
  };
}

test('toDownloadDto: a download is a row of the queue, direction download, from the server to its target', () => {
  const dto = toDownloadDto(download());
  assert.deepEqual(dto, {
    id: 'd1',
    direction: 'download',
    name: 'report.pdf',
    localPath: '/home/ann/Docs/report.pdf',
    targetUri: 'cloudreve://my/Docs/report.pdf',
    size: 1000,
    state: 'downloading',
    priority: 0,
    bytesDone: 400,
    speed: 200,
    eta: 3,
    encrypted: false,
    error: null,
    retryAt: null,
    createdAt: 5,
    updatedAt: 6,
  } satisfies TransferDto);
  // every download state is a state of the contract
  for (const state of ['queued', 'downloading', 'waiting-retry', 'paused', 'done', 'conflict', 'skipped', 'failed', 'cancelled'] as const) {
    assert.ok((TRANSFER_STATES as readonly string[]).includes(toDownloadDto(download({ state })).state), state);
  }
  // a conflict copy: complete, shown where it went, and not an error (the engine keeps why in its record)
  const conflict = toDownloadDto(
    download({ state: 'conflict', bytesDone: 10, resultPath: '/home/ann/Docs/report (conflict 2026-01-02 030405 server).pdf', error: { code: 'conflict', message: 'changed here' } }),
  );
  assert.equal(conflict.bytesDone, 1000);
  assert.equal(conflict.name, 'report (conflict 2026-01-02 030405 server).pdf');
  assert.equal(conflict.error, null);
  // a failure keeps its reason, redacted like an upload's
  const failed = toDownloadDto(download({ state: 'failed', error: { code: 'local-io', message: 'not enough free space on the disk' } }));
  assert.deepEqual(failed.error, { code: 'local-io', message: 'not enough free space on the disk' });
  assert.equal(toDownloadDto(download({ state: 'waiting-retry', retryAt: 99 })).retryAt, 99);
});

test('forwardEngineEvents: downloads go out as the transfer events; their progress is coalesced like an upload\'s', () => {
  const events = new TypedEmitter<EngineEvents>();
  const engine = { events, account: () => null } as unknown as Engine;
  const sent: Array<{ name: EventName; payload: unknown }> = [];
  const pending: Array<() => void> = [];
  const dispose = forwardEngineEvents(engine, (name, payload) => void sent.push({ name, payload }), {
    setTimer: (fn) => pending.push(fn),
    clearTimer: () => void pending.splice(0),
  });
  events.emit('download-changed', { download: download({ state: 'queued', bytesDone: 0 }), from: 'queued' });
  assert.deepEqual(sent, [{ name: 'transfer-state-changed', payload: { transfer: toDownloadDto(download({ state: 'queued', bytesDone: 0 })), from: 'queued' } }]);
  for (let i = 1; i <= 5; i++) events.emit('download-progressed', { id: 'd1', bytesDone: i * 100, speed: i, eta: null });
  assert.equal(sent.length, 1, 'progress waits for the timer');
  pending.splice(0).forEach((fn) => fn());
  assert.deepEqual(sent[1], { name: 'transfer-progressed', payload: { id: 'd1', bytesDone: 500, speed: 5, eta: null } });
  // a state change drops the pending progress (a stale value never follows it)
  events.emit('download-progressed', { id: 'd1', bytesDone: 900, speed: 5, eta: 1 });
  events.emit('download-changed', { download: download({ state: 'done', bytesDone: 1000 }), from: 'downloading' });
  pending.splice(0).forEach((fn) => fn());
  assert.deepEqual(
    sent.slice(2).map((s) => s.name),
    ['transfer-state-changed'],
  );
  events.emit('download-removed', { id: 'd1' });
  assert.deepEqual(sent.at(-1), { name: 'transfer-removed', payload: { id: 'd1' } });
  dispose();
});

test('settings: downloadBandwidthLimit is a whole number of bytes/s, 0 = none; applied to engine.downloads', () => {
  assert.deepEqual(parseSettingsPatch({ downloadBandwidthLimit: 4096 }), { downloadBandwidthLimit: 4096 });
  for (const bad of [-1, 1.5, '10M']) assert.throws(() => parseSettingsPatch({ downloadBandwidthLimit: bad }), /downloadBandwidthLimit/);
  const calls: string[] = [];
  const fake = {
    setBandwidthLimit: (n: number) => void calls.push(`up ${n}`),
    setConcurrency: () => {},
    setIfExists: () => {},
    setSettleDelay: () => {},
    downloads: { setBandwidthLimit: (n: number) => void calls.push(`down ${n}`) },
  };
  const prev = { bandwidthLimit: 0, downloadBandwidthLimit: 0 } as Parameters<typeof applyToEngine>[1];
  applyToEngine(fake, { ...prev, downloadBandwidthLimit: 8192 }, prev);
  assert.deepEqual(calls, ['down 8192'], 'the download limit only: the upload limit did not change');
});

const FAST_RETRY = { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 8 };

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the handlers drive engine.downloads (real engine, emulator)', () => {
  let emu: Emulator;
  let dir: TmpDir;
  let engine: Engine;
  let api: CloudreveClient;
  let settings: SettingsFile;
  let call: <K extends MethodName>(name: K, ...args: unknown[]) => Promise<MethodValue<K>>;
  const sent: Array<{ name: EventName; payload: unknown }> = [];
  let stopForwarding: () => void;

  before(async () => {
    emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
    dir = tmpDir('crs-dlq-');
    const home = join(dir.path, 'home');
    // one download at a time, slowly: the others wait in the queue, in priority order
    engine = await createEngine({ home, retry: FAST_RETRY, maxActiveDownloads: 1, downloadBandwidthLimit: 48 * 1024, progressIntervalMs: 50 });
    await engine.login(emu.url, emu.email, emu.password);
    api = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
    await api.login(emu.email, emu.password);
    settings = SettingsFile.open(home, (next, prev) => applyToEngine(engine, next, prev));
    const handlers = createHandlers({ engine, settings, app: { mode: 'browser', version: '0' } });
    call = async (name, ...args) => {
      const r = (await dispatch({ handlers, isTrustedSender: () => true }, name, { sender: null, senderFrame: null }, args)) as Result<MethodValue<typeof name>>;
      if (!r.ok) assert.fail(`${name}: ${r.error.code}: ${r.error.message}`);
      return r.value;
    };
    stopForwarding = forwardEngineEvents(engine, (name, payload) => void sent.push({ name, payload }), { intervalMs: 20 });
  });
  after(async () => {
    stopForwarding();
    await engine.close();
    api.close();
    await emu.close();
    dir.cleanup();
  });

  /** the last state the page was told for `id` */
  const stateOf = (id: string): string | undefined =>
    sent
      .filter((s) => s.name === 'transfer-state-changed' && (s.payload as EventMap['transfer-state-changed']).transfer.id === id)
      .map((s) => (s.payload as EventMap['transfer-state-changed']).transfer.state)
      .at(-1);
  /** the order in which downloads were told 'downloading' (first time each) */
  const started = (): string[] => [
    ...new Set(
      sent
        .filter((s) => s.name === 'transfer-state-changed' && (s.payload as EventMap['transfer-state-changed']).transfer.state === 'downloading')
        .map((s) => (s.payload as EventMap['transfer-state-changed']).transfer.id),
    ),
  ];

  test('listTransfers, pause, move to top, cancel, the download limit, resume, clearFinished: on download ids', async () => {
    const local = join(dir.path, 'down');
    mkdirSync(local);
    const reqs: DownloadRequest[] = [];
    for (const name of ['a.bin', 'b.bin', 'c.bin']) {
      const data = randomBytes(256 * 1024);
      const f = await api.putContent(`cloudreve://my/q/${name}`, data, data.length);
      reqs.push({ uri: f.path || `cloudreve://my/q/${name}`, target: join(local, name), size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null });
    }
    // an upload too: the queue lists both directions, uploads first
    const upId = (await engine.enqueue([dir.file('up.txt', 'up')], 'cloudreve://my/q-up'))[0];
    const [a, b, c] = engine.downloads.enqueue(reqs).map((h) => h.id);

    const list = await call('listTransfers');
    assert.deepEqual(
      list.map((t) => [t.id, t.direction]),
      [
        [upId, 'upload'],
        [a, 'download'],
        [b, 'download'],
        [c, 'download'],
      ],
    );
    const rowB = list.find((t) => t.id === b)!;
    assert.equal(rowB.localPath, join(local, 'b.bin'));
    assert.match(rowB.targetUri, /^cloudreve:\/\/my\/q\/b\.bin$/);
    await until('a downloading', () => stateOf(a) === 'downloading');
    await until('progress of a', () => sent.some((s) => s.name === 'transfer-progressed' && (s.payload as EventMap['transfer-progressed']).id === a));

    // move c to the top: the page hears its new priority
    await call('setPriority', c, 7);
    await until('c priority told', () =>
      sent.some((s) => s.name === 'transfer-state-changed' && (s.payload as EventMap['transfer-state-changed']).transfer.id === c && (s.payload as EventMap['transfer-state-changed']).transfer.priority === 7),
    );
    // pause the running one: the slot goes to c (priority 7), not to b (queued first)
    await call('pause', a);
    await until('a paused', () => stateOf(a) === 'paused');
    await until('c downloading', () => stateOf(c) === 'downloading');
    assert.equal(stateOf(b), 'queued');
    assert.deepEqual(started(), [a, c]);

    // cancel the queued one
    await call('cancel', b);
    await until('b cancelled', () => stateOf(b) === 'cancelled');

    // the download limit off, through the settings (persisted): c finishes quickly
    await call('setSettings', { downloadBandwidthLimit: 0 });
    assert.equal(JSON.parse(readFileSync(join(dir.path, 'home', 'config.json'), 'utf8')).downloadBandwidthLimit, 0);
    await until('c done', () => stateOf(c) === 'done');

    // resume a, then everything is done
    await call('resume', a);
    await until('a done', () => stateOf(a) === 'done');
    assert.deepEqual(started(), [a, c]);
    assert.equal(readFileSync(join(local, 'a.bin')).length, 256 * 1024);

    // clear finished: the downloads leave the page's list too
    await engine.idle();
    const cleared = await call('clearFinished');
    assert.ok(cleared >= 3, `cleared ${cleared}`);
    for (const id of [a, b, c]) assert.ok(sent.some((s) => s.name === 'transfer-removed' && (s.payload as { id: string }).id === id), `removed ${id}`);
    assert.deepEqual((await call('listTransfers')).filter((t) => t.direction === 'download'), []);
  });

  test('a failed download (gone from the server) shows its reason; Retry queues it again', async () => {
    await call('setSettings', { downloadBandwidthLimit: 0 });
    const data = randomBytes(64 * 1024);
    const f = await api.putContent('cloudreve://my/q/gone.bin', data, data.length);
    await api.delete(['cloudreve://my/q/gone.bin'], { skipSoftDelete: true });
    const target = join(dir.path, 'down', 'gone.bin');
    const [h] = engine.downloads.enqueue([{ uri: 'cloudreve://my/q/gone.bin', target, size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null }]);
    await until('failed', () => stateOf(h.id) === 'failed');
    const row = (await call('listTransfers')).find((t) => t.id === h.id)!;
    assert.equal(row.direction, 'download');
    assert.ok(row.error && row.error.message.length > 0, 'the reason');
    // back on the server: Retry brings it down
    await api.putContent('cloudreve://my/q/gone.bin', data, data.length);
    await call('retry', h.id);
    await until('done after the retry', () => stateOf(h.id) === 'done');
    assert.deepEqual(readFileSync(target), data);
  });

  test('pause and resume without an id cover the downloads too', async () => {
    const data = randomBytes(512 * 1024);
    const f = await api.putContent('cloudreve://my/q/all.bin', data, data.length);
    await call('setSettings', { downloadBandwidthLimit: 32 * 1024 });
    const target = join(dir.path, 'down', 'all.bin');
    const [h] = engine.downloads.enqueue([{ uri: f.path || 'cloudreve://my/q/all.bin', target, size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null }]);
    await until('downloading', () => stateOf(h.id) === 'downloading');
    await call('pause');
    await until('paused', () => stateOf(h.id) === 'paused');
    await call('setSettings', { downloadBandwidthLimit: 0 });
    await call('resume');
    await until('done', () => stateOf(h.id) === 'done');
    assert.deepEqual(readFileSync(target), data);
  });

  test('a download moved to the top keeps its place across a restart (the journal keeps its priority)', async () => {
    await call('setSettings', { downloadBandwidthLimit: 16 * 1024 });
    const reqs: DownloadRequest[] = [];
    for (const name of ['r1.bin', 'r2.bin']) {
      const bytes = randomBytes(256 * 1024);
      const f = await api.putContent(`cloudreve://my/q/${name}`, bytes, bytes.length);
      reqs.push({ uri: f.path || `cloudreve://my/q/${name}`, target: join(dir.path, 'down', name), size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null });
    }
    const [r1, r2] = engine.downloads.enqueue(reqs).map((h) => h.id);
    await until('r1 downloading', () => stateOf(r1) === 'downloading');
    await call('setPriority', r2, 9);
    assert.equal((await call('listTransfers')).find((t) => t.id === r2)?.priority, 9);
    // a restart: the same home, a new engine
    stopForwarding();
    await engine.close();
    engine = await createEngine({ home: join(dir.path, 'home'), retry: FAST_RETRY, autoResume: false });
    assert.equal(engine.downloads.get(r2)?.priority, 9);
    assert.equal(engine.downloads.get(r1)?.priority, 0);
    const handlers = createHandlers({ engine, settings: SettingsFile.open(join(dir.path, 'home')), app: { mode: 'browser', version: '0' } });
    const r = await dispatch({ handlers, isTrustedSender: () => true }, 'listTransfers', { sender: null, senderFrame: null }, []);
    assert.ok(r.ok);
    assert.equal(r.value.find((t) => t.id === r2)?.priority, 9);
    stopForwarding = () => {};
  });
});
