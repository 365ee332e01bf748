// Fault injection (test hook): rules matched against method + pathname before normal handling.
import type { FaultRule } from './types.js';

interface Armed {
  rule: FaultRule;
  re: RegExp;
  remaining: number;
}

export class Faults {
  private rules: Armed[] = [];

  add(rule: FaultRule): void {
    if (!rule || typeof rule.path !== 'string' || !rule.action || typeof rule.action !== 'object') {
      throw new Error('invalid fault rule');
    }
    const times = rule.times ?? 1;
    this.rules.push({ rule, re: new RegExp(rule.path), remaining: times });
  }

  clear(): void {
    this.rules = [];
  }

  /** First armed rule matching; consumes one use. */
  take(method: string, pathname: string): FaultRule | null {
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
    return this.rules.map((a) => ({ ...a.rule, times: a.remaining }));
  }
}
