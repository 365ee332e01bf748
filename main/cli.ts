/**
 * `cloudreve-sync` — the headless front door to the engine.
 *
 *   cloudreve-sync [--home DIR] <command> [flags] [args]
 *
 * Home: --home, else $CLOUDREVE_SYNC_HOME, else $XDG_CONFIG_HOME/cloudreve-sync (~/.config/cloudreve-sync).
 * Commands come from one table: the account commands (cli/auth-commands.ts) and the transfer
 * commands (cli/transfer-commands.ts). Each command's flags are parsed with node:util parseArgs.
 *
 * Exit codes: 0 ok · 1 some work failed (a command's own verdict) · 2 usage error ·
 * 3 failed (server unreachable, wrong password, not a Cloudreve v4 server, …) · 4 not logged in /
 * login expired · 130 cancelled. Every failure is one line on stderr.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { authCommands } from './cli/auth-commands.js';
import { UsageError, type CliContext, type CommandSpec, type ParsedArgs } from './cli/command.js';
import { ensureHome } from './cli/home.js';
import { packageVersion } from './cli/shared.js';
import { resolveHome } from './engine/home-folder.js';
import { syncCommands } from './cli/sync-commands.js';
import { transferCommands } from './cli/transfer-commands.js';
import { downloadCommands } from './cli/download-command.js';
import { uiCommands } from './cli/ui-command.js';
import { EngineError, redact } from './engine/errors.js';

export const EXIT = { OK: 0, PARTIAL: 1, USAGE: 2, FAILED: 3, LOGIN: 4, CANCELLED: 130 } as const;

const PROG = 'cloudreve-sync';

/** The dispatch table: account ∪ transfer ∪ download ∪ sync ∪ ui commands (a name may not be defined twice). */
export function commandTable(): Record<string, CommandSpec> {
  const table: Record<string, CommandSpec> = { ...authCommands };
  for (const [name, spec] of [
    ...Object.entries(transferCommands),
    ...Object.entries(downloadCommands),
    ...Object.entries(syncCommands),
    ...Object.entries(uiCommands),
  ]) {
    if (name in table) throw new Error(`command "${name}" is defined twice`);
    table[name] = spec;
  }
  return table;
}

function mainHelp(table: Record<string, CommandSpec>): string {
  const names = Object.keys(table).sort();
  const w = Math.max(8, ...names.map((n) => n.length));
  return [
    `Usage: ${PROG} [--home DIR] <command> [flags]`,
    '',
    'Back up local folders to a Cloudreve v4 server.',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(w)}  ${table[n].summary}`),
    '',
    'Global flags:',
    '  --home DIR     where config, login and journal live',
    '                 (default: $CLOUDREVE_SYNC_HOME, else $XDG_CONFIG_HOME/cloudreve-sync or ~/.config/cloudreve-sync)',
    '  -h, --help     show help (also: <command> --help)',
    '  -V, --version  show the version',
    '',
    'Exit codes: 0 ok, 1 some work failed, 2 usage error, 3 failed, 4 not logged in, 130 cancelled.',
    '',
  ].join('\n');
}

function commandHelp(name: string, spec: CommandSpec): string {
  const rows: Array<[string, string]> = Object.entries(spec.flags).map(([f, s]) => [
    `${s.short ? `-${s.short}, ` : ''}--${f}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`,
    s.help,
  ]);
  rows.push(['--home DIR', 'where config, login and journal live (see `cloudreve-sync --help`)'], ['-h, --help', 'show this help']);
  const w = Math.max(...rows.map(([l]) => l.length));
  const flags = rows.map(([l, h]) => `  ${l.padEnd(w)}  ${h}`);
  return [`Usage: ${PROG} [--home DIR] ${spec.usage}`, '', spec.summary, '', 'Flags:', ...flags, ''].join('\n');
}

interface GlobalArgs {
  home?: string;
  help: boolean;
  version: boolean;
  command?: string;
  rest: string[];
}

/** Global flags are the ones before the command name. */
function parseGlobal(argv: string[]): GlobalArgs {
  const out: GlobalArgs = { help: false, version: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--home') {
      if (i + 1 >= argv.length) throw new UsageError('--home needs a directory');
      out.home = argv[++i];
    } else if (a.startsWith('--home=')) {
      out.home = a.slice('--home='.length);
    } else if (a === '-h' || a === '--help') {
      out.help = true;
    } else if (a === '-V' || a === '--version') {
      out.version = true;
    } else if (a === '--') {
      continue;
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option ${a.split('=')[0]}`);
    } else {
      out.command = a;
      out.rest = argv.slice(i + 1);
      return out;
    }
  }
  return out;
}

function parseCommand(spec: CommandSpec, rest: string[]): ParsedArgs & { help: boolean; home?: string } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) };
  }
  if (!('help' in options)) options.help = { type: 'boolean', short: 'h' };
  if (!('home' in options)) options.home = { type: 'string' };
  // A string flag takes the next argument as its value even when it starts with '-' (`--limit-rate -5M` is then
  // refused by the flag's own check with a clear message, not as "ambiguous").
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') {
      args.push(...rest.slice(i));
      break;
    }
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    const next = rest[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && next.startsWith('-') && next !== '--') {
      args.push(`${a}=${next}`);
      i++;
    } else {
      args.push(a);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // node's messages are multi-line and mention `parseArgs`; keep the gist on one line
    const m = (err as Error).message.split('\n')[0].replace(/\.\s*To specify a positional argument.*$/, '');
    throw new UsageError(m.replace(/^Unknown option '([^']+)'.*/, 'unknown option $1'));
  }
  const flags = { ...(parsed.values as ParsedArgs['flags']) };
  const help = flags.help === true && !('help' in spec.flags);
  const home = !('home' in spec.flags) && typeof flags.home === 'string' ? flags.home : undefined;
  if (!('help' in spec.flags)) delete flags.help;
  if (!('home' in spec.flags)) delete flags.home;
  return { positionals: parsed.positionals, flags, help, home };
}

function oneLine(s: string): string {
  return redact(s).replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** What the user reads for an engine error, and the exit code. */
export function describeFailure(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.USAGE, message: err.message };
  if (err instanceof EngineError) {
    switch (err.code) {
      case 'usage':
        return { code: EXIT.USAGE, message: err.message };
      case 'login-required':
        return {
          code: EXIT.LOGIN,
          message: err.message.includes(`${PROG} login`) ? err.message : `${err.message} (run \`${PROG} login --server URL --email EMAIL\`)`,
        };
      case 'invalid-password':
        return { code: EXIT.FAILED, message: 'login failed: wrong email or password' };
      case 'otp-required':
        return { code: EXIT.FAILED, message: 'two-factor code required: pass --otp' };
      case 'otp-invalid':
        return { code: EXIT.FAILED, message: 'login failed: wrong two-factor code' };
      case 'captcha-required':
        return { code: EXIT.FAILED, message: `login failed: the server asks for a captcha, which ${PROG} cannot show (${err.message})` };
      case 'cancelled':
        return { code: EXIT.CANCELLED, message: 'cancelled' };
      default:
        return { code: EXIT.FAILED, message: err.message };
    }
  }
  const e = err as { message?: string; code?: string } | null;
  return { code: EXIT.FAILED, message: `unexpected error: ${e?.code ?? ''} ${e?.message ?? String(err)}`.replace(/\s+/g, ' ') };
}

export type RunCliContext = Partial<CliContext>;

/**
 * Runs one command line (argv without node and the script) and returns the exit code. `ctx`
 * overrides the process streams/env (tests); `ctx.home` is used when neither --home nor
 * CLOUDREVE_SYNC_HOME is given.
 */
export async function runCli(argv: string[], ctx: RunCliContext = {}): Promise<number> {
  const stdout = ctx.stdout ?? process.stdout;
  const stderr = ctx.stderr ?? process.stderr;
  const env = ctx.env ?? process.env;
  const fail = (code: number, message: string, command?: string) => {
    stderr.write(`${PROG}${command ? ` ${command}` : ''}: ${oneLine(message)}${code === EXIT.USAGE ? ` (see '${PROG}${command ? ` ${command}` : ''} --help')` : ''}\n`);
    return code;
  };
  let table: Record<string, CommandSpec>;
  let g: GlobalArgs;
  try {
    table = commandTable();
    g = parseGlobal(argv);
  } catch (err) {
    return fail(describeFailure(err).code, describeFailure(err).message);
  }
  if (g.version) {
    stdout.write(`${PROG} ${packageVersion()}\n`);
    return EXIT.OK;
  }
  if (g.command === 'help') {
    const topic = g.rest[0];
    if (topic && table[topic]) stdout.write(commandHelp(topic, table[topic]));
    else if (topic) return fail(EXIT.USAGE, `unknown command "${topic}"`);
    else stdout.write(mainHelp(table));
    return EXIT.OK;
  }
  if (g.help || !g.command) {
    if (!g.command && !g.help) {
      stderr.write(mainHelp(table));
      return EXIT.USAGE;
    }
    if (!g.command) {
      stdout.write(mainHelp(table));
      return EXIT.OK;
    }
  }
  const name = g.command as string;
  const spec = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  if (!spec) return fail(EXIT.USAGE, `unknown command "${name}"`);
  if (g.help) {
    stdout.write(commandHelp(name, spec));
    return EXIT.OK;
  }
  try {
    const args = parseCommand(spec, g.rest);
    if (args.help) {
      stdout.write(commandHelp(name, spec));
      return EXIT.OK;
    }
    const flagHome = args.home ?? g.home;
    const home = flagHome || env.CLOUDREVE_SYNC_HOME || !ctx.home ? resolveHome(flagHome, env) : ctx.home;
    ensureHome(home);
    const full: CliContext = {
      home,
      stdin: ctx.stdin ?? process.stdin,
      stdout,
      stderr,
      isTTY: ctx.isTTY ?? Boolean((stdout as { isTTY?: boolean }).isTTY),
      env,
    };
    return await spec.run(full, { positionals: args.positionals, flags: args.flags });
  } catch (err) {
    const f = describeFailure(err);
    if (env.CLOUDREVE_SYNC_DEBUG && err instanceof Error && err.stack) stderr.write(redact(err.stack) + '\n');
    return fail(f.code, f.message, name);
  }
}

function isMainModule(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs the CLI on process.argv and exits with its code (the `cloudreve-sync` bin and `npm run cli`). */
export function main(): void {
  // A reader that goes away (`… | head`, a closed terminal) must not stop the work: an upload goes on to the end,
  // and what it would have printed is dropped. Without this, EPIPE is an unhandled 'error' that kills the process.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    });
  }
  runCli(process.argv.slice(2)).then(
    (code) => {
      // let piped output drain before exiting
      process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
    },
    (err) => {
      process.stderr.write(`${PROG}: ${oneLine(String((err as Error)?.message ?? err))}\n`);
      process.exit(EXIT.FAILED);
    },
  );
}

if (isMainModule()) main();
