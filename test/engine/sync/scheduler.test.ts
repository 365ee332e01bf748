/** The pair scheduler with injected timers: one pass at a time, merged requests, periodic scans, backoff. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PairScheduler, retryBackoff, type PassOutcome, type PassScope } from '../../../main/engine/sync/scheduler.js';

function harness(outcomes: PassOutcome[] = []) {
  const timers: Array<{ fn: () => void; ms: number; id: number }> = [];
  let next = 1;
  const runs: PassScope[] = [];
  let release: (() => void) | null = null;
  const sched = new PairScheduler(
    async (scope) => {
      runs.push(scope);
      await new Promise<void>((r) => (release = r));
      return outcomes.shift() ?? 'ok';
    },
    {
      scanIntervalMs: 3_600_000,
      pollIntervalMs: 300_000,
      retryDelayMs: retryBackoff,
      setTimer: (fn, ms) => {
        const id = next++;
        timers.push({ fn, ms, id });
        return id;
      },
      clearTimer: (id) => {
        const i = timers.findIndex((t) => t.id === id);
        if (i >= 0) timers.splice(i, 1);
      },
    },
  );
  const finish = async () => {
    const r = release!;
    release = null;
    r();
    await new Promise((r2) => setImmediate(r2));
  };
  /** The armed timer goes off (and is gone, as a real one would be). */
  const fire = () => timers.pop()!.fn();
  return { sched, runs, timers, finish, fire };
}

test('starts with a full scan, then arms the hourly scan', async () => {
  const { sched, runs, timers, finish, fire } = harness();
  sched.start();
  assert.deepEqual(runs, [{}]);
  await finish();
  assert.deepEqual(timers.map((t) => t.ms), [3_600_000]);
  fire();
  assert.equal(runs.length, 2);
  await finish();
  await sched.stop();
});

test('requests during a pass are merged into one pass right after it', async () => {
  const { sched, runs, finish } = harness();
  sched.start();
  sched.requestFolders(['b']);
  sched.requestFolders(['a', 'b']);
  assert.equal(runs.length, 1, 'never two passes at once');
  await finish();
  assert.deepEqual(runs[1], { folders: ['a', 'b'] });
  await finish();
  await sched.stop();
});

test('a failed pass is retried after a growing delay; polling mode scans every pollInterval', async () => {
  const { sched, runs, timers, finish, fire } = harness(['ok', 'retry', 'retry']);
  sched.start();
  await finish();
  fire();
  await finish(); // fails
  assert.equal(timers.at(-1)!.ms, 15_000);
  fire();
  await finish(); // fails again
  assert.equal(timers.at(-1)!.ms, 30_000);
  fire();
  await finish(); // ok
  assert.equal(timers.at(-1)!.ms, 3_600_000);
  sched.setPolling(true);
  assert.equal(timers.at(-1)!.ms, 300_000);
  assert.equal(runs.length, 4);
  await sched.stop();
  assert.equal(timers.length, 0, 'stop clears the timer');
});

test('the backoff is capped at five minutes', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map(retryBackoff), [15_000, 30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
});
