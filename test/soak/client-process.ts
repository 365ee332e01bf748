/**
 * The client under test: the real CLI (`node bin/cloudreve-sync.js`) as a separate process on its own home.
 * `run --json` is started, killed with SIGKILL at random moments and restarted; its JSON lines are followed to
 * know the pair's state (idle, syncing, offline, …) and when it last said anything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/cloudreve-sync.js', import.meta.url));

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs one CLI command to its end (bounded by `timeoutMs`, then SIGKILL). */
export function runCliCommand(home: string, args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--home', home, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: cliEnv() });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/**
 * Variables set for every client process on top of the minimal environment (two-way soaks: HOME and XDG_DATA_HOME
 * in the soak's folder, so that the client's freedesktop trash is one the soak can read, on the sync root's disk).
 */
export const clientEnvExtra: Record<string, string> = {};

function cliEnv(): NodeJS.ProcessEnv {
  // no proxy, no inherited home: the client talks to the loopback emulator only
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', ...clientEnvExtra };
  return env;
}

export class ClientProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private buf = '';
  /** the pair's last reported state */
  pairState = 'starting';
  pairDetail: unknown = null;
  lastOutputAt = 0;
  starts = 0;
  uploadsDone = 0;
  uploadsFailed = 0;
  /** local path → when the client last said it finished uploading it */
  readonly doneAt = new Map<string, number>();
  /** unexpected exits (not our SIGKILL or SIGTERM) */
  readonly crashes: Array<{ code: number | null; signal: string | null; at: number }> = [];
  private expectExit = false;
  private readonly out: WriteStream;

  constructor(
    readonly home: string,
    outFile: string,
    private readonly onLine: (obj: Record<string, unknown>) => void = () => {},
  ) {
    this.out = createWriteStream(outFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.child) return;
    this.starts++;
    this.expectExit = false;
    this.pairState = 'starting';
    this.lastOutputAt = Date.now();
    const child = spawn(process.execPath, [BIN, '--home', this.home, 'run', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv() });
    this.child = child;
    this.out.write(`--- start #${this.starts} pid ${child.pid} at ${new Date().toISOString()}\n`);
    child.stdout!.on('data', (c: Buffer) => this.data(c));
    child.stderr!.on('data', (c: Buffer) => {
      this.lastOutputAt = Date.now();
      this.out.write(`${new Date().toISOString()} [stderr] ${c.toString()}`);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.out.write(`--- exit pid ${child.pid} code ${code} signal ${signal} at ${new Date().toISOString()}\n`);
        if (!this.expectExit) this.crashes.push({ code, signal, at: Date.now() });
        if (this.child === child) this.child = null;
        resolve();
      });
    });
  }

  private data(c: Buffer): void {
    this.lastOutputAt = Date.now();
    this.buf += c.toString();
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      // each line with the time it arrived (the event log's clock), to line it up with the soak's events
      this.out.write(`${new Date().toISOString()} ${line}\n`);
      if (!line.startsWith('{')) continue;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line);
      } catch {
        continue;
      }
      if (obj.event === 'pair' && typeof obj.state === 'string') {
        this.pairState = obj.state;
        this.pairDetail = obj.detail ?? null;
      }
      if (obj.event === 'transfer') {
        if (obj.state === 'done') {
          this.uploadsDone++;
          if (typeof obj.path === 'string') this.doneAt.set(obj.path, Date.now());
        }
        else if (obj.state === 'failed') this.uploadsFailed++;
      }
      this.onLine(obj);
    }
  }

  /** kill -9: no chance to save anything. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.expectExit = true;
    c.kill('SIGKILL');
    await this.exited;
    if (this.buf) this.out.write(`${new Date().toISOString()} ${this.buf} (cut by the kill)\n`);
    this.buf = '';
  }

  /** SIGTERM (what Ctrl-C does), SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<boolean> {
    const c = this.child;
    if (!c) return true;
    this.expectExit = true;
    c.kill('SIGTERM');
    let clean = true;
    const t = setTimeout(() => {
      clean = false;
      c.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(t);
    return clean;
  }

  async close(): Promise<void> {
    await this.kill9();
    await new Promise<void>((r) => this.out.end(r));
  }
}
