// Fault injection (test hook): rules matched against method + pathname before normal handling.
import type { IncomingMessage } from 'node:http';
import type { FaultRule } from './types.js';

interface Armed {
  rule: FaultRule;
  re: RegExp;
  remaining: number;
  /** Date.now() after which the rule is gone (rules with `forMs`) */
  until: number;
}

export class Faults {
  private rules: Armed[] = [];

  add(rule: FaultRule): void {
    if (!rule || typeof rule.path !== 'string' || !rule.action || typeof rule.action !== 'object') {
      throw new Error('invalid fault rule');
    }
    const a = rule.action;
    if (a.type === 'slow' && !(a.bytesPerSec > 0)) throw new Error('invalid fault rule: slow needs bytesPerSec > 0');
    if (a.type === 'stall' && !(a.ms > 0)) throw new Error('invalid fault rule: stall needs ms > 0');
    if (rule.forMs !== undefined && !(rule.forMs > 0)) throw new Error('invalid fault rule: forMs must be > 0');
    // A rule with forMs hits every matching request for that long, unless `times` also limits it.
    const times = rule.times ?? (rule.forMs !== undefined ? Infinity : 1);
    const until = rule.forMs !== undefined ? Date.now() + rule.forMs : Infinity;
    this.rules.push({ rule, re: new RegExp(rule.path), remaining: times, until });
  }

  clear(): void {
    this.rules = [];
  }

  /** First armed rule matching; consumes one use. */
  take(method: string, pathname: string): FaultRule | null {
    const now = Date.now();
    if (this.rules.some((a) => a.until <= now)) this.rules = this.rules.filter((a) => a.until > now);
    for (const a of this.rules) {
      if (a.remaining <= 0) continue;
      if (a.rule.method && a.rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (!a.re.test(pathname)) continue;
      a.remaining--;
      if (a.remaining <= 0) this.rules = this.rules.filter((x) => x !== a);
      return a.rule;
    }
    return null;
  }

  list(): FaultRule[] {
    const now = Date.now();
    return this.rules
      .filter((a) => a.until > now)
      .map((a) => ({ ...a.rule, times: a.remaining, ...(a.until < Infinity ? { forMs: a.until - now } : {}) }));
  }
}

/**
 * Link faults that let the request be handled normally: `stall` stops reading the connection for `ms` once
 * `afterBytes` of the body arrived (a stall mid-part); `slow` lets at most `bytesPerSec` of the body through (a slow
 * link). Both work by pausing the socket, so the client sees TCP back-pressure as on a real link.
 */
export function shapeLink(req: IncomingMessage, action: Extract<FaultRule['action'], { type: 'stall' | 'slow' }>): void {
  const sock = req.socket;
  let timer: NodeJS.Timeout | null = null;
  let seen = 0;
  let stalled = false;
  const started = Date.now();
  const done = () => {
    sock.off('data', onData);
    if (timer) clearTimeout(timer);
    timer = null;
    if (!sock.destroyed) sock.resume();
  };
  const pauseFor = (ms: number) => {
    if (timer || sock.destroyed) return;
    sock.pause();
    timer = setTimeout(() => {
      timer = null;
      if (!sock.destroyed) sock.resume();
    }, ms);
  };
  const onData = (c: Buffer) => {
    seen += c.length;
    if (action.type === 'stall') {
      if (!stalled && seen >= (action.afterBytes ?? 0)) {
        stalled = true;
        pauseFor(action.ms);
      }
    } else {
      // ahead of the allowed rate: wait until the bytes seen are due
      const dueMs = (seen / Math.max(1, action.bytesPerSec)) * 1000 - (Date.now() - started);
      if (dueMs > 5) pauseFor(dueMs);
    }
  };
  if (action.type === 'stall' && (action.afterBytes ?? 0) <= 0) {
    stalled = true;
    pauseFor(action.ms);
  }
  sock.on('data', onData);
  req.once('end', done);
  req.once('close', done);
}
