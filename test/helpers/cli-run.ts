/** Runs the CLI in-process (runCli) with captured output, for the CLI tests. */
import { Readable, Writable } from 'node:stream';
import { runCli } from '../../main/cli.js';

export class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface Run {
  code: number;
  out: string;
  err: string;
}

export async function cli(argv: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(argv, {
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    stdout,
    stderr,
    env: { PATH: process.env.PATH, HOME: '/nonexistent-home', ...opts.env },
    isTTY: false,
  });
  return { code, out: stdout.text, err: stderr.text };
}
