/**
 * Downloads of a running engine through its control socket (issue 17): while an engine holds the home (here in this
 * process, as `run`/`ui`/the app would, with the same handlers and socket server), `cloudreve-sync transfers`,
 * `pause ID`, `resume ID`, `cancel ID` and `pause`/`resume` without ids reach its downloads, and the app's contract
 * over the socket lists them (direction 'download') and pushes their state changes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectControl, serveControlSocket, type ControlServer } from '../../main/bridge/control-socket.js';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { createEngine, type Engine } from '../../main/engine/index.js';
import type { EventMap, EventName } from '../../main/ipc/contract.js';
import { createHandlers } from '../../main/ipc/server.js';
import type { CliContext } from '../../main/cli/command.js';
import { engineConfig } from '../../main/cli/shared.js';
import { applyToEngine, SettingsFile } from '../../main/shell/settings.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { cli as runCli } from '../helpers/cli-run.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';
import { CLIENT_ID } from '../engine/api/helpers.js';

const UNIX = process.platform !== 'win32';
let emu: Emulator;
let dir: TmpDir;
let home: string;
let engine: Engine;
let server: ControlServer;
let api: CloudreveClient;
const cli = (...argv: string[]) => runCli(['--home', home, ...argv]);

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

before(async () => {
  if (!UNIX) return;
  emu = await startEmulator({ policy: { type: 'local', chunkSize: 1024 * 1024 } });
  dir = tmpDir('crs-dlsock-');
  home = join(dir.path, 'home');
  // the engine holds the home, as `run` does; downloads are slow (the limit) so they can be caught while they run
  engine = await createEngine({ home, maxActiveDownloads: 1, downloadBandwidthLimit: 32 * 1024, progressIntervalMs: 50 });
  await engine.login(emu.url, emu.email, emu.password);
  const settings = SettingsFile.open(home, (next, prev) => applyToEngine(engine, next, prev));
  server = await serveControlSocket({ home, engine, handlers: createHandlers({ engine, settings, app: { mode: 'browser', version: '0' } }) });
  api = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
  await api.login(emu.email, emu.password);
});

after(async () => {
  if (!UNIX) return;
  await server.close();
  await engine.close();
  api.close();
  await emu.close();
  dir.cleanup();
});

test('transfers, pause, resume and cancel reach the running engine\'s downloads', { skip: !UNIX && 'Unix sockets' }, async () => {
  const local = join(dir.path, 'down');
  mkdirSync(local);
  const data = new Map<string, Buffer>();
  const reqs = [];
  for (const name of ['one.bin', 'two.bin']) {
    const bytes = randomBytes(384 * 1024);
    data.set(name, bytes);
    const f = await api.putContent(`cloudreve://my/sock/${name}`, bytes, bytes.length);
    reqs.push({ uri: f.path || `cloudreve://my/sock/${name}`, target: join(local, name), size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null });
  }
  const [one, two] = engine.downloads.enqueue(reqs).map((h) => h.id);
  await until('one downloading', () => engine.downloads.get(one)?.state === 'downloading');

  // the contract over the socket: both downloads listed as such, their state changes pushed
  const control = await connectControl(home);
  assert.ok(control, 'the control socket answers');
  const pushed: Array<{ id: string; state: string; direction: string }> = [];
  const stop = await control.events(<E extends EventName>(name: E, payload: EventMap[E]) => {
    if (name !== 'transfer-state-changed') return;
    const t = (payload as EventMap['transfer-state-changed']).transfer;
    pushed.push({ id: t.id, state: t.state, direction: t.direction });
  });
  try {
    const listed = await control.invoke('listTransfers');
    assert.ok(listed.ok);
    assert.deepEqual(
      listed.value.filter((t) => t.direction === 'download').map((t) => [t.id, t.state]),
      [
        [one, 'downloading'],
        [two, 'queued'],
      ],
    );

    // `pause ID`: the running process pauses that download (kept, with its bytes)
    const paused = await cli('pause', one);
    assert.equal(paused.code, 0, paused.out + paused.err);
    assert.match(paused.err, /control socket/);
    assert.match(paused.out, new RegExp(`paused ${one}`));
    await until('one paused', () => engine.downloads.get(one)?.state === 'paused');
    await until('pushed: one paused', () => pushed.some((p) => p.id === one && p.state === 'paused' && p.direction === 'download'));
    // the slot went to the next download
    await until('two downloading', () => engine.downloads.get(two)?.state === 'downloading');

    // `transfers` while the process runs: the downloads with their live states, not "interrupted"
    const list = await cli('transfers', '--json');
    assert.equal(list.code, 0, list.out + list.err);
    const rows = JSON.parse(list.out) as Array<{ id: string; direction?: string; state: string; interrupted: boolean }>;
    const row = (id: string) => rows.find((r) => r.id === id);
    assert.equal(row(one)?.direction, 'download');
    assert.equal(row(one)?.state, 'paused');
    assert.equal(row(two)?.interrupted, false);

    // `cancel ID` on a download: stopped, its partial file removed
    const cancelled = await cli('cancel', two);
    assert.equal(cancelled.code, 0, cancelled.out + cancelled.err);
    assert.match(cancelled.out, new RegExp(`cancelled ${two}`));
    await until('two cancelled', () => engine.downloads.get(two)?.state === 'cancelled');
    assert.equal(existsSync(join(local, 'two.bin')), false);

    // `resume ID`: it continues, and comes down whole once the limit is lifted (the settings, over the socket)
    const limit = await control.invoke('setSettings', { downloadBandwidthLimit: 0 });
    assert.ok(limit.ok);
    const resumed = await cli('resume', one);
    assert.equal(resumed.code, 0, resumed.out + resumed.err);
    assert.match(resumed.out, new RegExp(`resumed ${one}`));
    await until('one done', () => engine.downloads.get(one)?.state === 'done');
    assert.deepEqual(readFileSync(join(local, 'one.bin')), data.get('one.bin'));

    // `pause` and `resume` without ids: every download of the running process too
    await control.invoke('setSettings', { downloadBandwidthLimit: 16 * 1024 });
    const bytes = randomBytes(256 * 1024);
    const f = await api.putContent('cloudreve://my/sock/three.bin', bytes, bytes.length);
    const [three] = engine.downloads.enqueue([{ uri: f.path || 'cloudreve://my/sock/three.bin', target: join(local, 'three.bin'), size: f.size, entity: f.primary_entity ?? null, updatedAtMs: Date.parse(f.updated_at), expectLocal: null }]);
    await until('three downloading', () => engine.downloads.get(three.id)?.state === 'downloading');
    const all = await cli('pause');
    assert.equal(all.code, 0, all.out + all.err);
    await until('three paused', () => engine.downloads.get(three.id)?.state === 'paused');
    await control.invoke('setSettings', { downloadBandwidthLimit: 0 });
    const again = await cli('resume');
    assert.equal(again.code, 0, again.out + again.err);
    await until('three done', () => engine.downloads.get(three.id)?.state === 'done');
    assert.deepEqual(readFileSync(join(local, 'three.bin')), bytes);
  } finally {
    stop();
  }
});

test('download while the engine runs: queued in its transfer queue through the socket, followed to the end', { skip: !UNIX && 'Unix sockets' }, async () => {
  await engine.downloads.idle();
  const bytes = randomBytes(200 * 1024);
  await api.putContent('cloudreve://my/remote-dl/folder/four.bin', bytes, bytes.length);
  await api.putContent('cloudreve://my/remote-dl/five.txt', Buffer.from('five'), 4);
  const into = join(dir.path, 'into');
  const r = await cli('download', 'cloudreve://my/remote-dl/folder', 'cloudreve://my/remote-dl/five.txt', 'cloudreve://my/remote-dl/missing.bin', '--to', into);
  assert.equal(r.code, 1, r.out + r.err); // the missing one counts as failed
  assert.match(r.err, /control socket/);
  assert.match(r.out, /downloaded cloudreve:\/\/my\/remote-dl\/folder\/four\.bin → .*into\/folder\/four\.bin/);
  assert.match(r.out, /2 downloaded, 0 skipped, 1 failed/);
  assert.match(r.err, /failed: cloudreve:\/\/my\/remote-dl\/missing\.bin: not found on the server/);
  assert.deepEqual(readFileSync(join(into, 'folder', 'four.bin')), bytes);
  assert.equal(readFileSync(join(into, 'five.txt'), 'utf8'), 'five');
  // they are the running engine's downloads (its queue, its journal), not this command's own
  assert.ok(engine.downloads.list().some((d) => d.target === join(into, 'five.txt') && d.state === 'done'));

  // the same again: already there, skipped; --json speaks the download format
  const again = await cli('download', 'cloudreve://my/remote-dl/five.txt', '--to', into, '--json');
  assert.equal(again.code, 0, again.out + again.err);
  const summary = again.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'summary');
  assert.deepEqual(summary, { event: 'summary', downloaded: 0, skipped: 1, failed: 0 });

  // a flag the running process cannot honour for one command is refused before anything is queued
  const limited = await cli('download', 'cloudreve://my/remote-dl/five.txt', '--to', join(dir.path, 'never'), '--limit-rate', '1M');
  assert.equal(limited.code, 2, limited.out + limited.err);
  assert.match(limited.err, /--limit-rate/);
  assert.equal(existsSync(join(dir.path, 'never')), false);
});

test('run --download-limit-rate: the process\'s download limit (the setting otherwise); a bad rate is a usage error', { skip: !UNIX && 'Unix sockets' }, async () => {
  const ctx = { home } as CliContext;
  const given = await engineConfig(ctx, { positionals: [], flags: { 'download-limit-rate': '2M', 'limit-rate': '512k' } });
  assert.equal(given.downloadBandwidthLimit, 2 * 1024 * 1024);
  assert.equal(given.bandwidthLimit, 512 * 1024);
  // the setting (set over the socket in the first test: 0) when the flag is absent
  await engine.downloads.idle();
  const control = await connectControl(home);
  assert.ok(control);
  assert.ok((await control.invoke('setSettings', { downloadBandwidthLimit: 3000 })).ok);
  assert.equal((await engineConfig(ctx, { positionals: [], flags: {} })).downloadBandwidthLimit, 3000);
  assert.ok((await control.invoke('setSettings', { downloadBandwidthLimit: 0 })).ok);
  const bad = await cli('run', '--download-limit-rate', 'fast');
  assert.equal(bad.code, 2, bad.out + bad.err);
  assert.match(bad.err, /--download-limit-rate: invalid rate "fast"/);
});
