/** The offline state machine on its own: which failures mean "unreachable", one probe for many, backoff, release. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Connectivity, isUnreachable } from '../../main/engine/connectivity.js';
import type { ConnectivityState } from '../../main/engine/types.js';
import { EngineError, isAbort } from '../../main/engine/errors.js';

const net = () => new EngineError('network', 'upload chunk 3: cannot reach 127.0.0.1:5212: ECONNREFUSED');

describe('isUnreachable', () => {
  it('network, timeouts and 502/503/504 mean unreachable; refusals and other statuses do not', () => {
    const yes = [
      net(),
      new EngineError('timeout', 't'),
      new EngineError('http-status', 'bad gateway', { httpStatus: 502 }),
      new EngineError('http-status', 'unavailable', { httpStatus: 503 }),
      new EngineError('http-status', 'gateway timeout', { httpStatus: 504 }),
    ];
    const no = [
      new EngineError('http-status', 'boom', { httpStatus: 500 }),
      new EngineError('http-status', 'nope', { httpStatus: 404 }),
      new EngineError('quota', 'full', { serverCode: 40051 }),
      new EngineError('name-rejected', 'bad name', { serverCode: 40052 }),
      new EngineError('too-large', 'big', { serverCode: 40049 }),
      new EngineError('exists', 'there', { serverCode: 40004 }),
      new EngineError('server', 'db', { serverCode: 50001 }),
      Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      null,
    ];
    for (const e of yes) assert.equal(isUnreachable(e), true, (e as Error).message);
    for (const e of no) assert.equal(isUnreachable(e), false, String((e as Error | null)?.message));
  });
});

describe('Connectivity', () => {
  function setup(answers: boolean[]) {
    let probes = 0;
    const states: ConnectivityState[] = [];
    const c = new Connectivity({
      probe: async () => {
        const ok = answers[Math.min(probes, answers.length - 1)];
        probes++;
        await new Promise((r) => setTimeout(r, 5));
        if (!ok) throw new EngineError('network', `detect server: cannot reach 127.0.0.1:1: ECONNREFUSED (probe ${probes})`);
      },
      timing: { baseMs: 30, maxMs: 60 },
      random: () => 1,
      onChange: (s) => states.push(s),
    });
    return { c, states, probes: () => probes };
  }

  it('a per-file refusal never probes; a blip the probe sees answered goes back to the caller budget', async () => {
    const { c, states, probes } = setup([true]);
    const signal = new AbortController().signal;
    assert.equal(await c.ride(new EngineError('quota', 'full'), signal), false);
    assert.equal(probes(), 0);
    const answers = await Promise.all(Array.from({ length: 5 }, () => c.ride(net(), signal)));
    assert.deepEqual(answers, [false, false, false, false, false]);
    assert.equal(probes(), 1, 'one probe for five failures at once');
    assert.equal(states.length, 0, 'never offline');
    assert.equal(c.state().online, true);
  });

  it('unreachable: offline with reason and next probe time, probes with backoff, releases everyone when back', async () => {
    const { c, states, probes } = setup([false, false, false, true]);
    const signal = new AbortController().signal;
    const t0 = Date.now();
    const rides = Array.from({ length: 4 }, () => c.ride(net(), signal));
    await new Promise((r) => setTimeout(r, 20));
    const s = c.state();
    assert.equal(s.online, false);
    assert.match(s.reason!, /cannot reach 127\.0\.0\.1:1: ECONNREFUSED \(probe 1\)/);
    assert.ok(s.since! >= t0 && s.nextProbeAt! > s.since!);
    // a failure arriving while offline waits too, without a probe of its own
    rides.push(c.ride(new EngineError('http-status', 'unavailable', { httpStatus: 503 }), signal));
    assert.deepEqual(await Promise.all(rides), [true, true, true, true, true]);
    assert.equal(probes(), 4);
    assert.equal(c.state().online, true);
    const last = states.at(-1)!;
    assert.deepEqual(last, { online: true, reason: null, since: null, nextProbeAt: null });
    const waits = states.filter((x) => !x.online && x.nextProbeAt !== null);
    assert.equal(waits.length, 3, 'a next-probe time before each of the three later probes');
    assert.match(waits[2].reason!, /probe 3/, 'the reason follows the latest probe');
    // delays 30, 60, 60 (capped): backoff, not a busy loop
    assert.ok(Date.now() - t0 >= 140, `back after ${Date.now() - t0} ms`);
  });

  it('a waiter that is paused leaves with an AbortError; the others stay until the server is back', async () => {
    const { c } = setup([false, false, true]);
    const ac = new AbortController();
    const paused = c.ride(net(), ac.signal);
    const other = c.ride(net(), new AbortController().signal);
    await new Promise((r) => setTimeout(r, 15));
    ac.abort('pause');
    await assert.rejects(paused, (e: Error) => isAbort(e));
    assert.equal(await other, true);
  });

  it('close() stops probing', async () => {
    const { c, probes } = setup([false]);
    const ac = new AbortController();
    const p = c.ride(net(), ac.signal).catch((e) => e);
    await new Promise((r) => setTimeout(r, 15));
    c.close();
    ac.abort('shutdown');
    assert.ok(isAbort(await p));
    const n = probes();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(probes(), n);
  });
});
