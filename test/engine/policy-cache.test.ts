/** Policy and capacity caches (main/engine/transfer/policy-cache.ts) over a scripted client. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudreveClient } from '../../main/engine/api/client.js';
import type { Capacity } from '../../main/engine/api/types.js';
import { EngineError } from '../../main/engine/errors.js';
import { CapacityCache, PolicyCache } from '../../main/engine/transfer/policy-cache.js';

/** A client whose listPage answers from `folders` (uri → policy id), not-found otherwise. */
function listingClient(folders: Record<string, string>, calls: string[], failOnce = new Set<string>()) {
  return {
    async listPage(uri: string) {
      calls.push(uri);
      await new Promise((r) => setImmediate(r));
      if (failOnce.delete(uri)) throw new EngineError('network', 'connection reset');
      if (!(uri in folders)) throw new EngineError('not-found', `${uri} not found`);
      return { files: [], storage_policy: { id: folders[uri], name: 'p', type: 'local', max_size: 0 } };
    },
  } as unknown as CloudreveClient;
}

test('one lookup per folder, shared by concurrent callers', async () => {
  const calls: string[] = [];
  const cache = new PolicyCache(() => listingClient({ 'cloudreve://my/a': 'P1' }, calls));
  const got = await Promise.all([1, 2, 3].map(() => cache.policyFor('cloudreve://my/a')));
  assert.deepEqual(got.map((p) => p?.id), ['P1', 'P1', 'P1']);
  assert.deepEqual(calls, ['cloudreve://my/a']);
  cache.clear();
  await cache.policyFor('cloudreve://my/a');
  assert.equal(calls.length, 2, 'cleared: looked up again');
});

test('a folder not created yet uses its nearest existing ancestor', async () => {
  const calls: string[] = [];
  const cache = new PolicyCache(() => listingClient({ 'cloudreve://my': 'ROOT' }, calls));
  assert.equal((await cache.policyFor('cloudreve://my/new/deeper'))?.id, 'ROOT');
  assert.deepEqual(calls, ['cloudreve://my/new/deeper', 'cloudreve://my/new', 'cloudreve://my']);
});

test('the new folders of a new tree share their parents\' lookups', async () => {
  const calls: string[] = [];
  const cache = new PolicyCache(() => listingClient({ 'cloudreve://my': 'ROOT' }, calls));
  const got = await Promise.all(['a', 'b', 'c'].map((n) => cache.policyFor(`cloudreve://my/new/${n}`)));
  assert.deepEqual(got.map((p) => p?.id), ['ROOT', 'ROOT', 'ROOT']);
  assert.deepEqual(calls.sort(), ['cloudreve://my', 'cloudreve://my/new', 'cloudreve://my/new/a', 'cloudreve://my/new/b', 'cloudreve://my/new/c']);
});

test('a failed lookup is not cached', async () => {
  const calls: string[] = [];
  const client = listingClient({ 'cloudreve://my/a': 'P1' }, calls, new Set(['cloudreve://my/a']));
  const cache = new PolicyCache(() => client);
  await assert.rejects(cache.policyFor('cloudreve://my/a'), { code: 'network' });
  assert.equal((await cache.policyFor('cloudreve://my/a'))?.id, 'P1');
});

test('capacity: what fits is reserved until the next refresh; an unreachable capacity lets the server decide', async () => {
  let now = 0;
  let capacity: Capacity | Error = { total: 1000, used: 200 };
  let reads = 0;
  const client = {
    async capacity() {
      reads++;
      if (capacity instanceof Error) throw capacity;
      return capacity;
    },
  } as unknown as CloudreveClient;
  const cache = new CapacityCache(() => client, 5000, () => now);
  now = 10_000;
  assert.equal(await cache.check('a', 500), null);
  assert.equal((await cache.check('b', 400))?.code, 'quota', '500 reserved + 400 > 800 free');
  assert.equal(await cache.check('c', 300), null);
  assert.equal(reads, 1, 'read once within the max age');
  now = 20_000;
  capacity = { total: 1000, used: 990 };
  assert.equal((await cache.check('d', 50))?.code, 'quota', 'refreshed: reservations restart from the server');
  now = 30_000;
  capacity = new EngineError('network', 'down');
  assert.equal(await cache.check('e', 10_000), null);
});

test('capacity: concurrent checks and warm() share one read', async () => {
  let reads = 0;
  let answer: (c: Capacity) => void = () => undefined;
  const client = {
    capacity() {
      reads++;
      return new Promise<Capacity>((r) => (answer = r));
    },
  } as unknown as CloudreveClient;
  const cache = new CapacityCache(() => client, 5000, () => 10_000);
  cache.warm();
  const checks = [100, 200, 300].map((n, i) => cache.check(`f${i}`, n));
  cache.warm();
  answer({ total: 1000, used: 500 });
  assert.deepEqual((await Promise.all(checks)).map((e) => e?.code ?? null), [null, null, 'quota'], '100 + 200 fit in 500, 300 more do not');
  assert.equal(reads, 1, 'one read for the warm-up and the three checks');
  cache.warm();
  assert.equal(reads, 1, 'a fresh reading is not read again');
});

test('capacity: no client at hand (logged out) lets the server decide, and the next check reads again', async () => {
  let client: CloudreveClient | null = null;
  let reads = 0;
  const cache = new CapacityCache(
    () => {
      if (!client) throw new EngineError('login-required', 'not logged in');
      return client;
    },
    5000,
    () => 10_000,
  );
  cache.warm();
  assert.equal(await cache.check('a', 10), null);
  client = {
    async capacity() {
      reads++;
      return { total: 100, used: 95 };
    },
  } as unknown as CloudreveClient;
  assert.equal((await cache.check('b', 10))?.code, 'quota', 'read once a client is there: 10 > 5 free');
  assert.equal(reads, 1);
});
