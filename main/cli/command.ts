/** The shape every `cloudreve-sync` subcommand implements (see main/cli.ts for dispatch). */
import type { Readable, Writable } from 'node:stream';

export interface CliContext {
  /** --home or CLOUDREVE_SYNC_HOME or the platform default; holds config, credentials and the journal. */
  home: string;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** true when stdout is a terminal (progress display instead of plain lines) */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export type FlagSpec = {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** the value's name in help (string flags; default VALUE) */
  value?: string;
  /** one line for `<command> --help` */
  help: string;
};

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
}

export interface CommandSpec {
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Returns the exit code: 0 success, 1 some work failed, 2 usage error, other non-zero = fatal. */
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

/** Thrown for bad command lines: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
