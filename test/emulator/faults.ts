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
 * Link faults that let the request be handled normally: `stall` holds the body back for `ms` once `afterBytes` of it
 * went through (a stall mid-part); `slow` lets at most `bytesPerSec` of it through (a slow link). The body is
 * re-timed between the HTTP parser and the handler (the request's push is wrapped, with back-pressure to the socket),
 * so the handler reads it exactly as it would from a slow or stalling link. When the whole body had already arrived,
 * the same delay falls on the answer instead. Resolves when the handler may start.
 */
export async function shapeLink(req: IncomingMessage, action: Extract<FaultRule['action'], { type: 'stall' | 'slow' }>): Promise<void> {
  const state = (req as unknown as { _readableState: { ended: boolean; length: number } })._readableState;
  const rate = action.type === 'slow' ? Math.max(1, action.bytesPerSec) : 0;
  if (state.ended) {
    await new Promise((r) => setTimeout(r, action.type === 'stall' ? action.ms : (state.length / rate) * 1000));
    return;
  }
  const push = req.push.bind(req);
  const queue: Array<Buffer | null> = [];
  let queued = 0;
  let passed = 0;
  let stalled = false;
  let timer: NodeJS.Timeout | null = null;
  const started = Date.now();
  const wait = (ms: number) => {
    timer = setTimeout(() => {
      timer = null;
      pump();
    }, ms);
  };
  const pump = () => {
    while (queue.length && !timer) {
      const next = queue[0];
      if (next === null) {
        queue.shift();
        req.push = push;
        push(null);
        return;
      }
      let n = next.length;
      if (action.type === 'stall' && !stalled) {
        const room = Math.max(0, (action.afterBytes ?? 0) - passed);
        if (room === 0) {
          stalled = true;
          return wait(action.ms);
        }
        n = Math.min(n, room);
      } else if (action.type === 'slow') {
        const early = (passed / rate) * 1000 - (Date.now() - started);
        if (early > 5) return wait(early);
        n = Math.min(n, Math.max(1024, Math.floor(rate / 20)));
      }
      const piece = n === next.length ? next : next.subarray(0, n);
      if (n === next.length) queue.shift();
      else queue[0] = next.subarray(n);
      queued -= n;
      passed += n;
      push(piece);
    }
  };
  req.push = ((chunk: Buffer | null) => {
    if (chunk === null) queue.push(null);
    else {
      queue.push(chunk);
      queued += chunk.length;
    }
    pump();
    return queued < 64 * 1024;
  }) as typeof req.push;
  // what the parser handed over before the rule applied goes through the same shaping
  let c: Buffer | null;
  const early: Buffer[] = [];
  while ((c = req.read() as Buffer | null) !== null) early.push(c);
  if (early.length) {
    queue.unshift(...early);
    queued += early.reduce((s, b) => s + b.length, 0);
  }
  req.once('close', () => {
    if (timer) clearTimeout(timer);
    timer = null;
  });
  pump();
}
