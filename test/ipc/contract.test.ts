import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Engine } from '../../main/engine/index.js';
import { EngineError } from '../../main/engine/errors.js';
import { TypedEmitter, type EngineEvents } from '../../main/engine/events.js';
import type { AccountInfo, TransferSnapshot } from '../../main/engine/types.js';
import {
  eventChannel,
  EVENT_NAMES,
  invokeChannel,
  isEventName,
  isMethodName,
  METHOD_NAMES,
  TRANSFER_STATES,
  type EventMap,
  type EventName,
  type SettingsDto,
} from '../../main/ipc/contract.js';
import { DEFAULT_SETTINGS } from '../../main/shell/settings.js';
import { displayName, toAccountDto, toErrorData, toOverallDto, toTransferDto } from '../../main/ipc/serialize.js';
import {
  createHandlers,
  createSenderCheck,
  dispatch,
  forwardEngineEvents,
  parseSettingsPatch,
  registerIpcServer,
  type SenderInfo,
  type SettingsPort,
} from '../../main/ipc/server.js';

// ---------------------------------------------------------------- fakes

const account: AccountInfo = { server: 'https://cloud.example', email: 'ann@example.com', userId: 'u1', nickname: 'Ann', serverVersion: '4.3.0' };

function snapshot(over: Partial<TransferSnapshot> = {}): TransferSnapshot {
  return {
    id: 't1',
    localPath: '/home/ann/Pictures/cat.jpg',
    targetUri: 'cloudreve://my/Pictures/cat.jpg',
    size: 1000,
    state: 'uploading',
    priority: 0,
    bytesDone: 250,
    speed: 100,
    eta: 7.5,
    encrypted: false,
    error: null,
    createdAt: 1,
    updatedAt: 2,
    ...over,
  };
}

function fakeEngine() {
  const calls: Array<[string, ...unknown[]]> = [];
  let current: AccountInfo | null = account;
  const engine: Engine = {
    events: new TypedEmitter<EngineEvents>(),
    // the fake has no sync: a test touching it fails (the sync handlers are tested against the real engine, test/ipc/)
    sync: new Proxy({} as Engine['sync'], {
      get: (_t, name) => {
        throw new Error(`IPC touched engine.sync.${String(name)}`);
      },
    }),
    downloads: new Proxy({} as Engine['downloads'], {
      get: (_t, name) => {
        throw new Error(`IPC touched engine.downloads.${String(name)}`);
      },
    }),
    account: () => current,
    connectivity: () => ({ online: false, reason: 'cannot reach cloud.example: ECONNREFUSED', since: 1000, nextProbeAt: 5000 }),
    login: async (...args) => {
      calls.push(['login', ...args]);
      if (args[2] === 'wrong') throw new EngineError('invalid-password', 'Wrong password', { serverCode: 40080 });
      current = account;
      return account;
    },
    loginWithBrowser: async (server, opts) => {
      calls.push(['loginWithBrowser', server]);
      opts.onUrl(`${server}/session/authorize?state=s`);
      current = account;
      return account;
    },
    logout: async () => {
      calls.push(['logout']);
      current = null;
    },
    reloadAccount: async () => false,
    enqueue: async (paths, target) => {
      calls.push(['enqueue', paths, target]);
      return paths.map((_, i) => `id${i}`);
    },
    resumeInterrupted: () => [],
    listTransfers: () => [snapshot()],
    transfer: () => snapshot(),
    overall: () => ({ bytesDone: 0, bytesTotal: 0, speed: 0, eta: null, active: 0, queued: 0 }),
    pause: (id) => void calls.push(['pause', id]),
    resume: (id) => void calls.push(['resume', id]),
    cancel: async (id) => void calls.push(['cancel', id]),
    retry: (id) => {
      calls.push(['retry', id]);
      throw new Error('boom');
    },
    setPriority: (id, p) => void calls.push(['setPriority', id, p]),
    setBandwidthLimit: (bps) => void calls.push(['setBandwidthLimit', bps]),
    setIfExists: (mode) => void calls.push(['setIfExists', mode]),
    setConcurrency: (limits) => void calls.push(['setConcurrency', limits]),
    setSettleDelay: (ms) => void calls.push(['setSettleDelay', ms]),
    clearFinished: () => (calls.push(['clearFinished']), 2),
    history: (q) => (calls.push(['history', q]), []),
    clearHistory: () => (calls.push(['clearHistory']), 0),
    listRemoteFolders: async (uri) => (calls.push(['listRemoteFolders', uri]), { uri, parentUri: null, folders: [] }),
    createRemoteFolder: async (parent, name) => (calls.push(['createRemoteFolder', parent, name]), { uri: parent, parentUri: null, folders: [] }),
    createShareLink: async (uri) => (calls.push(['createShareLink', uri]), 'https://cloud.example/s/abc'),
    idle: async () => {},
    close: async () => {},
  };
  return { engine, calls, setAccount: (a: AccountInfo | null) => (current = a) };
}

function fakeSettings(): SettingsPort & { patches: Partial<SettingsDto>[] } {
  let s: SettingsDto = { ...DEFAULT_SETTINGS };
  const patches: Partial<SettingsDto>[] = [];
  return {
    patches,
    get: () => ({ ...s }),
    update: async (p) => {
      patches.push(p);
      s = { ...s, ...p };
      return { ...s };
    },
  };
}

const APP = { mode: 'desktop', version: '9.9.9' } as const;

const trusted: SenderInfo = { sender: 'ours', senderFrame: { url: 'file:///app/dist/renderer/index.html', parent: null } };
const always = () => true;

// ---------------------------------------------------------------- the contract itself

test('method and event lists are unique, and channels are namespaced', () => {
  assert.equal(new Set(METHOD_NAMES).size, METHOD_NAMES.length);
  assert.equal(new Set(EVENT_NAMES).size, EVENT_NAMES.length);
  assert.equal(invokeChannel('pause'), 'cloudreve:invoke:pause');
  assert.equal(eventChannel('transfer-added'), 'cloudreve:event:transfer-added');
  assert.ok(isMethodName('login') && !isMethodName('constructor') && !isMethodName(42));
  assert.ok(isEventName('overall-progressed') && !isEventName('log'));
});

test('every contract method has exactly one handler entry', () => {
  const { engine } = fakeEngine();
  const handlers = createHandlers({ engine, settings: fakeSettings(), app: APP });
  assert.deepEqual(Object.keys(handlers).sort(), [...METHOD_NAMES].sort());
  for (const name of METHOD_NAMES) assert.equal(typeof handlers[name], 'function', name);
});

test('registerIpcServer handles one channel per method and removes them again', () => {
  const handled = new Map<string, (...a: unknown[]) => unknown>();
  const ipcMain = {
    handle: (channel: string, fn: (...a: unknown[]) => unknown) => void handled.set(channel, fn),
    removeHandler: (channel: string) => void handled.delete(channel),
  };
  const { engine } = fakeEngine();
  const dispose = registerIpcServer({
    ipcMain: ipcMain as never,
    handlers: createHandlers({ engine, settings: fakeSettings(), app: APP }),
    isTrustedSender: always,
  });
  assert.deepEqual([...handled.keys()].sort(), METHOD_NAMES.map((n) => `cloudreve:invoke:${n}`).sort());
  dispose();
  assert.equal(handled.size, 0);
});

// ---------------------------------------------------------------- calls through dispatch

test('calls resolve to Results: values, engine errors with codes, internal errors, bad arguments', async () => {
  const { engine, calls } = fakeEngine();
  const settings = fakeSettings();
  const opts = { handlers: createHandlers({ engine, settings, app: APP }), isTrustedSender: always };

  assert.deepEqual(await dispatch(opts, 'getAccount', trusted, []), { ok: true, value: toAccountDto(account) });
  assert.deepEqual(await dispatch(opts, 'getConnectivity', trusted, []), {
    ok: true,
    value: { online: false, reason: 'cannot reach cloud.example: ECONNREFUSED', since: 1000, nextProbeAt: 5000 },
  });
  assert.deepEqual(await dispatch(opts, 'enqueuePaths', trusted, [['/a', 'C:\\b'], 'cloudreve://my/X']), { ok: true, value: ['id0', 'id1'] });
  assert.deepEqual(calls.at(-1), ['enqueue', ['/a', 'C:\\b'], 'cloudreve://my/X']);

  assert.deepEqual(await dispatch(opts, 'pause', trusted, []), { ok: true, value: null });
  assert.deepEqual(calls.at(-1), ['pause', undefined]);
  assert.deepEqual(await dispatch(opts, 'pause', trusted, ['t1']), { ok: true, value: null });
  assert.deepEqual(calls.at(-1), ['pause', 't1']);

  assert.deepEqual(await dispatch(opts, 'login', trusted, ['https://s', 'a@b', 'wrong']), {
    ok: false,
    error: { code: 'invalid-password', message: 'Wrong password', retryable: false },
  });
  const internal: unknown[] = [];
  const retried = await dispatch({ ...opts, onInternalError: (m, e) => void internal.push(m, e) }, 'retry', trusted, ['t1']);
  assert.deepEqual(retried, { ok: false, error: { code: 'internal', message: 'boom', retryable: false } });
  assert.equal(internal[0], 'retry');

  const bad: Array<[Parameters<typeof dispatch>[1], unknown[]]> = [
    ['enqueuePaths', [[], 'cloudreve://my/']],
    ['enqueuePaths', [['relative/path'], 'cloudreve://my/']],
    ['enqueuePaths', [['/a'], 'https://not-a-cloudreve-uri']],
    ['enqueuePaths', ['/a', 'cloudreve://my/']],
    ['cancel', []],
    ['cancel', [7]],
    ['setPriority', ['t1', 1.5]],
    ['setBandwidthLimit', [-1]],
    ['login', ['https://s', '', 'pw']],
    ['setSettings', [{ nope: 1 }]],
    ['setSettings', [{ maxActiveFiles: 0 }]],
    ['setSettings', [null]],
  ];
  for (const [name, args] of bad) {
    const r = await dispatch(opts, name, trusted, args);
    assert.equal(r.ok, false, `${name} ${JSON.stringify(args)}`);
    if (!r.ok) assert.equal(r.error.code, 'invalid-argument', `${name} ${JSON.stringify(args)}`);
  }

  assert.deepEqual(await dispatch(opts, 'clearFinished', trusted, []), { ok: true, value: 2 });
  assert.deepEqual(await dispatch(opts, 'setBandwidthLimit', trusted, [2048]), { ok: true, value: null });
  assert.deepEqual(settings.patches.at(-1), { bandwidthLimit: 2048 });
  const after = await dispatch(opts, 'setSettings', trusted, [{ ifExists: 'skip', shellIntegration: true }]);
  assert.ok(after.ok && after.value.ifExists === 'skip' && after.value.shellIntegration === true);
});

test('untrusted senders are refused before any handler runs', async () => {
  const { engine, calls } = fakeEngine();
  const check = createSenderCheck(() => 'ours', 'file:///app/dist/renderer/index.html');
  const opts = { handlers: createHandlers({ engine, settings: fakeSettings(), app: APP }), isTrustedSender: check };
  const cases: SenderInfo[] = [
    { sender: 'other', senderFrame: trusted.senderFrame },
    { sender: 'ours', senderFrame: null },
    { sender: 'ours', senderFrame: { url: 'file:///app/dist/renderer/index.html', parent: {} } }, // a subframe
    { sender: 'ours', senderFrame: { url: 'https://evil.example/index.html', parent: null } },
    { sender: 'ours', senderFrame: { url: 'file:///tmp/other.html', parent: null } },
  ];
  for (const event of cases) {
    const r = await dispatch(opts, 'pause', event, []);
    assert.deepEqual(r, { ok: false, error: { code: 'untrusted-sender', message: 'Refused pause from an untrusted frame', retryable: false } });
  }
  assert.equal(calls.length, 0);
  assert.ok(check({ sender: 'ours', senderFrame: { url: 'file:///app/dist/renderer/index.html#queue', parent: null } }));
  assert.equal(createSenderCheck(() => null, 'file:///x')(trusted), false);
});

// ---------------------------------------------------------------- serialization

test('serialize: DTOs are plain data and survive structured clone and JSON unchanged', () => {
  const dto = toTransferDto(snapshot({ error: { code: 'quota', message: 'Quota exceeded', serverCode: 40051 } }));
  assert.equal(dto.name, 'cat.jpg');
  assert.deepEqual(dto.error, { code: 'quota', message: 'Quota exceeded' });
  assert.ok(!('serverCode' in (dto.error ?? {})));
  for (const value of [dto, toOverallDto({ bytesDone: 1, bytesTotal: 2, speed: 3, eta: null, active: 1, queued: 0 }), toAccountDto(account)]) {
    assert.deepEqual(structuredClone(value), value);
    assert.deepEqual(JSON.parse(JSON.stringify(value)), value);
    assert.ok(!JSON.stringify(value).includes('undefined'));
  }
  assert.equal(toAccountDto(null), null);
  // an engine state the contract does not know would show up here
  assert.ok((TRANSFER_STATES as readonly string[]).includes(toTransferDto(snapshot()).state));
});

test('serialize: display names and errors', () => {
  assert.equal(displayName('/a/b/c.txt'), 'c.txt');
  assert.equal(displayName('C:\\Users\\ann\\d.txt'), 'd.txt');
  assert.equal(displayName('/'), '/');
  assert.deepEqual(toErrorData(new EngineError('network', 'socket hang up')), { code: 'network', message: 'socket hang up', retryable: true });
  assert.deepEqual(toErrorData(new EngineError('quota', 'full')), { code: 'quota', message: 'full', retryable: false });
  assert.deepEqual(toErrorData('text'), { code: 'internal', message: 'text', retryable: false });
  const leaky = toErrorData(new Error('GET https://s3.example/x?X-Amz-Signature=abc123 failed'));
  assert.ok(!leaky.message.includes('abc123'));
  assert.deepEqual(structuredClone(toErrorData(new EngineError('timeout', 't'))), toErrorData(new EngineError('timeout', 't')));
});

test('parseSettingsPatch accepts each field and rejects wrong types', () => {
  assert.deepEqual(parseSettingsPatch({}), {});
  assert.deepEqual(
    parseSettingsPatch({ defaultTargetFolderUri: 'cloudreve://my/B', bandwidthLimit: 0, maxActiveFiles: 2, chunkConcurrencyCap: 8, ifExists: 'overwrite', shellIntegration: false }),
    { defaultTargetFolderUri: 'cloudreve://my/B', bandwidthLimit: 0, maxActiveFiles: 2, chunkConcurrencyCap: 8, ifExists: 'overwrite', shellIntegration: false },
  );
  for (const bad of [{ ifExists: 'merge' }, { shellIntegration: 'yes' }, { bandwidthLimit: 1.5 }, { defaultTargetFolderUri: '/tmp' }, []]) {
    assert.throws(() => parseSettingsPatch(bad), /must|unknown|object/);
  }
});

// ---------------------------------------------------------------- event forwarding

function manualTimers() {
  const pending: Array<() => void> = [];
  return {
    opts: { setTimer: (fn: () => void) => (pending.push(fn), pending.length), clearTimer: () => void pending.splice(0) },
    fire: () => pending.splice(0).forEach((fn) => fn()),
    get count() {
      return pending.length;
    },
  };
}

test('events: discrete facts go at once, progress is coalesced per transfer, stale progress is dropped', () => {
  const { engine, setAccount } = fakeEngine();
  const sent: Array<{ name: EventName; payload: unknown }> = [];
  const timers = manualTimers();
  const dispose = forwardEngineEvents(engine, (name, payload) => void sent.push({ name, payload }), timers.opts);
  const ev = engine.events;

  ev.emit('transfer-added', snapshot({ id: 'a' }));
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0], { name: 'transfer-added', payload: toTransferDto(snapshot({ id: 'a' })) });

  for (let i = 1; i <= 10; i++) ev.emit('transfer-progressed', { id: 'a', bytesDone: i * 10, speed: i, eta: null });
  ev.emit('transfer-progressed', { id: 'b', bytesDone: 5, speed: 1, eta: 3 });
  ev.emit('overall-progressed', { bytesDone: 1, bytesTotal: 9, speed: 1, eta: 8, active: 1, queued: 0 });
  ev.emit('overall-progressed', { bytesDone: 2, bytesTotal: 9, speed: 1, eta: 7, active: 1, queued: 0 });
  assert.equal(sent.length, 1, 'nothing sent before the timer fires');
  assert.equal(timers.count, 1, 'one timer for the whole burst');
  timers.fire();
  assert.deepEqual(
    sent.slice(1),
    [
      { name: 'transfer-progressed', payload: { id: 'a', bytesDone: 100, speed: 10, eta: null } },
      { name: 'transfer-progressed', payload: { id: 'b', bytesDone: 5, speed: 1, eta: 3 } },
      { name: 'overall-progressed', payload: { bytesDone: 2, bytesTotal: 9, speed: 1, eta: 7, active: 1, queued: 0 } },
    ] satisfies Array<{ name: EventName; payload: EventMap[EventName] }>,
  );

  // progress pending when the transfer finishes must not arrive after the state change
  sent.length = 0;
  ev.emit('transfer-progressed', { id: 'a', bytesDone: 900, speed: 1, eta: 1 });
  ev.emit('transfer-state-changed', { transfer: snapshot({ id: 'a', state: 'done', bytesDone: 1000 }), from: 'uploading' });
  timers.fire();
  assert.deepEqual(sent.map((s) => s.name), ['transfer-state-changed']);

  sent.length = 0;
  ev.emit('transfer-removed', { id: 'a' });
  ev.emit('account-changed', { loggedIn: true, email: account.email });
  setAccount(null);
  ev.emit('account-changed', { loggedIn: false });
  const offline = { online: false, reason: 'upload chunk 2: cannot reach h:5212: ECONNREFUSED', since: 10, nextProbeAt: 2010 };
  ev.emit('connectivity-changed', offline);
  ev.emit('connectivity-changed', { online: true, reason: null, since: null, nextProbeAt: null });
  assert.deepEqual(sent, [
    { name: 'transfer-removed', payload: { id: 'a' } },
    { name: 'account-changed', payload: { account: toAccountDto(account) } },
    { name: 'account-changed', payload: { account: null } },
    { name: 'connectivity-changed', payload: offline },
    { name: 'connectivity-changed', payload: { online: true, reason: null, since: null, nextProbeAt: null } },
  ]);

  // log events are engine-internal: never forwarded
  ev.emit('log', { level: 'info', message: 'x' });
  dispose();
  ev.emit('transfer-added', snapshot({ id: 'z' }));
  assert.equal(sent.length, 5);
  for (const s of sent) assert.deepEqual(structuredClone(s.payload), s.payload);
});
