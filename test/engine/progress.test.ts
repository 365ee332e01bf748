import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmitThrottle, SpeedMeter, eta } from '../../main/engine/transfer/progress.js';

test('speed converges to the steady rate', () => {
  let t = 0;
  const m = new SpeedMeter(1000, () => t);
  let bytes = 0;
  for (let i = 0; i < 50; i++) {
    m.sample(bytes);
    t += 500;
    bytes += 500_000; // 1 MB/s
  }
  assert.ok(Math.abs(m.bytesPerSecond - 1_000_000) < 20_000, String(m.bytesPerSecond));
});

test('eta', () => {
  assert.equal(eta(0, 0), 0);
  assert.equal(eta(100, 0), null);
  assert.equal(eta(1000, 100), 10);
});

test('throttle lets one event per interval through and never loses the last value', () => {
  let t = 0;
  const seen: number[] = [];
  const th = new EmitThrottle<number>(100, (_k, v) => seen.push(v), () => t);
  th.push('a', 1);
  th.push('a', 2);
  t = 50;
  th.push('a', 3);
  assert.deepEqual(seen, [1]);
  t = 120;
  th.push('a', 4);
  assert.deepEqual(seen, [1, 4]);
  th.push('a', 5);
  th.flush('a');
  assert.deepEqual(seen, [1, 4, 5]);
});
