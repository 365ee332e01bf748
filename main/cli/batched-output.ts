/**
 * Output written in batches: what is written within `intervalMs` goes out as one write. An upload of
 * thousands of small files prints a line (or a JSON event) per file and per state change; written one by
 * one, each is a system call on a synchronous pipe or terminal, and on a busy machine those writes cost
 * more than the uploads themselves (profiled: ~0.5 ms per line, 2,000 files). flush() writes what is pending
 * at once (before exiting, and before anything printed on another stream must appear after it).
 */
import type { Writable } from 'node:stream';

export class BatchedOutput {
  private pending = '';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: Writable,
    private readonly intervalMs = 100,
  ) {}

  write(text: string): void {
    this.pending += text;
    if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.stream.write(text);
  }
}
