// Fault injection (test hook): rules matched against method + pathname before normal handling.
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
