/** Write settling and coalescing with a fake clock: no real waiting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteSettle } from '../../../main/engine/watcher/write-settle.js';

function fakeClock() {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let next = 1;
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimer: (id: unknown) => {
      timers = timers.filter((t) => t.id !== id);
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.fn();
      }
      now = end;
    },
  };
}

function setup(settleMs = 2000, maxWaitMs = 60_000) {
  const clock = fakeClock();
  const batches: string[][] = [];
  const s = new WriteSettle({ settleMs, maxWaitMs, onSettled: (p) => batches.push(p), ...clock });
  return { s, clock, batches };
}

test('a path is handed on once it has been quiet for the settle time, once', () => {
  const { s, clock, batches } = setup();
  s.touch('a.txt');
  clock.advance(1999);
  assert.deepEqual(batches, []);
  clock.advance(1);
  assert.deepEqual(batches, [['a.txt']]);
  clock.advance(10_000);
  assert.deepEqual(batches, [['a.txt']]);
});

test('a file written slowly (an event every second for 10 s) is handed on once, after the last write', () => {
  const { s, clock, batches } = setup();
  for (let i = 0; i < 10; i++) {
    s.touch('slow.bin');
    clock.advance(1000);
  }
  assert.deepEqual(batches, []);
  clock.advance(999);
  assert.deepEqual(batches, []);
  clock.advance(1);
  assert.deepEqual(batches, [['slow.bin']]);
});

test('events are coalesced per path, and paths settling together come as one batch', () => {
  const { s, clock, batches } = setup();
  s.touch('b');
  s.touch('a');
  s.touch('b');
  s.touch('c');
  assert.equal(s.size, 3);
  clock.advance(2000);
  assert.deepEqual(batches, [['a', 'b', 'c']]);
});

test('a file that never goes quiet is handed on at most every maxWait', () => {
  const { s, clock, batches } = setup(2000, 10_000);
  for (let t = 0; t < 25_000; t += 500) {
    s.touch('log.txt');
    clock.advance(500);
  }
  assert.deepEqual(batches, [['log.txt'], ['log.txt']]); // at 10 s and at 20 s
});

test('clear() drops what is pending', () => {
  const { s, clock, batches } = setup();
  s.touch('x');
  s.clear();
  clock.advance(5000);
  assert.deepEqual(batches, []);
});

test('a new settle time applies at once, to what is already pending: shorter hands it on sooner, longer holds it', () => {
  const { s, clock, batches } = setup(10_000);
  s.touch('a.txt');
  clock.advance(1000);
  s.setSettleMs(3000); // due 3 s after its last event: at 3000, not 10000
  clock.advance(1999);
  assert.deepEqual(batches, []);
  clock.advance(1);
  assert.deepEqual(batches, [['a.txt']]);

  s.touch('b.txt'); // at 3000, due at 6000
  s.setSettleMs(8000); // now due at 11000
  clock.advance(7999);
  assert.deepEqual(batches, [['a.txt']]);
  clock.advance(1);
  assert.deepEqual(batches, [['a.txt'], ['b.txt']]);
});

test('lastTouchAt: the time of the last event, null before any, kept when what is pending is dropped', () => {
  const { s, clock } = setup();
  assert.equal(s.lastTouchAt, null);
  clock.advance(500);
  s.touch('a');
  clock.advance(700);
  s.touch('b');
  assert.equal(s.lastTouchAt, 1200);
  clock.advance(5000); // both handed on: the time stays
  assert.equal(s.lastTouchAt, 1200);
  s.clear();
  assert.equal(s.lastTouchAt, 1200);
});
