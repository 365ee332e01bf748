/** The shell-menu upload flow (main/shell/upload-requests.ts) with a small fake engine. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypedEmitter, type EngineEvents } from '../../main/engine/events.js';
import type { TransferSnapshot } from '../../main/engine/index.js';
import { childUri, UploadRequests, type UploadRequestsDeps } from '../../main/shell/upload-requests.js';
import type { ShellEvent } from '../../main/shell/notifications.js';

function setup(settings = { uploadWithoutAsking: false, defaultTargetFolderUri: 'cloudreve://my/Default' }) {
  const events = new TypedEmitter<EngineEvents>();
  const transfers = new Map<string, Pick<TransferSnapshot, 'id' | 'state' | 'targetUri'>>();
  const log: unknown[] = [];
  let last: string | null = null;
  let nextId = 0;
  let enqueueError: Error | null = null;
  /** transfers that finish while enqueue() is still resolving */
  let finishDuringEnqueue = false;
  const engine = {
    events,
    enqueue: async (paths: string[], target: string) => {
      if (enqueueError) throw enqueueError;
      log.push(['enqueue', paths, target]);
      const ids = paths.map((p, i) => {
        const id = `t${nextId++}`;
        transfers.set(id, { id, state: finishDuringEnqueue && i === 0 ? 'done' : 'queued', targetUri: `${target}/${p.split('/').pop()}` });
        return id;
      });
      return ids;
    },
    transfer: (id: string) => (transfers.get(id) as TransferSnapshot | undefined) ?? null,
  } as unknown as UploadRequestsDeps['engine'];
  const finished: Array<Extract<ShellEvent, { type: 'upload-finished' }>> = [];
  const errors: string[] = [];
  const flow = new UploadRequests({
    engine,
    settings: () => settings,
    lastDestination: { get: () => last, set: (u) => void (last = u) },
    emit: (name, payload) => void log.push([name, payload]),
    showWindow: () => void log.push(['show-window']),
    onFinished: (s) => void finished.push(s),
    onError: (m) => void errors.push(m),
    newId: () => `req${log.length}`,
  });
  const finish = (id: string, state: TransferSnapshot['state']) => {
    const t = { ...transfers.get(id)!, state };
    transfers.set(id, t);
    events.emit('transfer-state-changed', { transfer: t as TransferSnapshot, from: 'uploading' });
  };
  return {
    flow,
    log,
    finished,
    errors,
    finish,
    last: () => last,
    failEnqueue: (e: Error | null) => void (enqueueError = e),
    finishDuringEnqueue: () => void (finishDuringEnqueue = true),
  };
}

test('asks with the picker: window shown, event pushed with the last destination, answered once', async () => {
  const s = setup();
  const id = await s.flow.receive({ paths: ['/home/u/a.txt', '/home/u/Photos'], targetUri: null });
  assert.equal(id, 'req0');
  assert.deepEqual(s.log, [['show-window'], ['destination-requested', { requestId: 'req0', paths: ['/home/u/a.txt', '/home/u/Photos'], lastDestinationUri: null }]]);
  s.flow.replay();
  assert.equal(s.log.length, 3, 'replayed for a page that just loaded');
  const ids = await s.flow.resolve('req0', 'cloudreve://my/Inbox');
  assert.deepEqual(ids, ['t0', 't1']);
  assert.equal(s.last(), 'cloudreve://my/Inbox');
  await assert.rejects(s.flow.resolve('req0', 'cloudreve://my/Inbox'), { code: 'invalid-argument' });
  assert.equal(s.flow.pending(), 0);
  // the next request offers the last destination first
  await s.flow.receive({ paths: ['/b'], targetUri: null });
  assert.deepEqual((s.log.at(-1) as [string, { lastDestinationUri: string }])[1].lastDestinationUri, 'cloudreve://my/Inbox');
});

test('dropped (null): nothing is queued, nothing remembered', async () => {
  const s = setup();
  await s.flow.receive({ paths: ['/a'], targetUri: null });
  assert.deepEqual(await s.flow.resolve('req0', null), []);
  assert.ok(!s.log.some((e) => (e as string[])[0] === 'enqueue'));
  assert.equal(s.last(), null);
});

test('uploadWithoutAsking and --to go straight through, without the picker', async () => {
  const s = setup({ uploadWithoutAsking: true, defaultTargetFolderUri: 'cloudreve://my/Default' });
  assert.equal(await s.flow.receive({ paths: ['/a'], targetUri: null }), null);
  const t = setup();
  assert.equal(await t.flow.receive({ paths: ['/b'], targetUri: 'cloudreve://my/Given' }), null);
  assert.deepEqual(s.log, [['enqueue', ['/a'], 'cloudreve://my/Default']]);
  assert.deepEqual(t.log, [['enqueue', ['/b'], 'cloudreve://my/Given']]);
});

test('finished when every transfer is terminal (also those that finished before enqueue resolved); share link target', async () => {
  const s = setup();
  s.finishDuringEnqueue();
  await s.flow.receive({ paths: ['/x/a.txt', '/x/b.txt', '/x/c.txt'], targetUri: 'cloudreve://my/Up' });
  s.finish('t1', 'skipped');
  assert.equal(s.finished.length, 0);
  s.finish('t1', 'done'); // a second terminal event for the same transfer does not count twice
  s.finish('t2', 'failed');
  assert.deepEqual(s.finished, [
    { type: 'upload-finished', requestId: 'req0', names: ['a.txt', 'b.txt', 'c.txt'], targetUri: 'cloudreve://my/Up', done: 1, skipped: 1, failed: 1, cancelled: 0, shareUri: 'cloudreve://my/Up' },
  ]);

  const one = setup();
  await one.flow.receive({ paths: ['/x/one file.txt'], targetUri: 'cloudreve://my/Up' });
  one.finish('t0', 'done');
  assert.equal(one.finished[0].shareUri, 'cloudreve://my/Up/one file.txt', 'the transfer\'s own target');
  assert.equal(childUri('cloudreve://my/Up/', 'a b#.txt'), 'cloudreve://my/Up/a%20b%23.txt');
});

test('a failed enqueue loses nothing: the picker answer can be given again; a straight-through failure is reported', async () => {
  const s = setup();
  await s.flow.receive({ paths: ['/gone'], targetUri: null });
  s.failEnqueue(new Error('path does not exist'));
  await assert.rejects(s.flow.resolve('req0', 'cloudreve://my/'), /path does not exist/);
  assert.equal(s.flow.pending(), 1);
  s.failEnqueue(null);
  assert.deepEqual(await s.flow.resolve('req0', 'cloudreve://my/'), ['t0']);

  const d = setup({ uploadWithoutAsking: true, defaultTargetFolderUri: 'cloudreve://my/' });
  d.failEnqueue(new Error('nope'));
  await d.flow.receive({ paths: ['/a'], targetUri: null });
  assert.deepEqual(d.errors, ['nope']);
});
