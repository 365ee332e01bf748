/** The soak's event log: one JSON line per decision or observation, with its time, appended as it happens. */
import { appendFileSync, writeFileSync } from 'node:fs';

export interface LoggedEvent {
  /** ISO time */
  t: string;
  /** ms since the soak started */
  ms: number;
  kind: string;
  [k: string]: unknown;
}

export class EventLog {
  private readonly started = Date.now();
  private readonly recent: string[] = [];

  constructor(readonly file: string, private readonly keep = 200) {
    writeFileSync(file, '');
  }

  write(kind: string, data: Record<string, unknown> = {}): void {
    const now = Date.now();
    const line = JSON.stringify({ t: new Date(now).toISOString(), ms: now - this.started, kind, ...data });
    appendFileSync(this.file, line + '\n');
    this.recent.push(line);
    if (this.recent.length > this.keep) this.recent.shift();
  }

  /** The last `n` lines written. */
  tail(n = 40): string[] {
    return this.recent.slice(-n);
  }
}
