// Standalone emulator: `npm run emulator -- [flags]`. Prints one JSON line, serves until SIGTERM/SIGINT.
import { startEmulator } from './index.js';
import type { EmulatorOptions, EmulatorPolicy, EmulatorUser } from './types.js';

const USAGE = `usage: emulator [--port N] [--host H] [--data DIR] [--version V] [--policy local|remote]
  [--relay] [--encryption] [--no-pre-allocate] [--chunk-size BYTES] [--chunk-concurrency N]
  [--quota BYTES] [--user EMAIL:PASSWORD[:TOTPSECRET]]... [--access-ttl S] [--refresh-ttl S]
  [--session-ttl S] [--max-page-size N]`;

function fail(msg: string): never {
  process.stderr.write(`${msg}\n${USAGE}\n`);
  process.exit(2);
}

export function parseArgs(argv: string[]): EmulatorOptions {
  const opts: EmulatorOptions = {};
  const policy: EmulatorPolicy = { type: 'local' };
  const users: EmulatorUser[] = [];
  const num = (flag: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v)) fail(`${flag} needs a non-negative integer`);
    return parseInt(v, 10);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const val = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--port':
        opts.port = num(flag, val());
        break;
      case '--host':
        opts.host = val() ?? fail('--host needs a value');
        break;
      case '--data':
        opts.dataDir = val() ?? fail('--data needs a value');
        break;
      case '--version':
        opts.version = val() ?? fail('--version needs a value');
        break;
      case '--policy': {
        const t = val();
        if (t !== 'local' && t !== 'remote') fail('--policy must be local or remote');
        policy.type = t;
        break;
      }
      case '--relay':
        policy.relay = true;
        break;
      case '--encryption':
        policy.encryption = true;
        break;
      case '--no-pre-allocate':
        policy.preAllocate = false;
        break;
      case '--chunk-size':
        policy.chunkSize = num(flag, val());
        break;
      case '--chunk-concurrency':
        policy.chunkConcurrency = num(flag, val());
        break;
      case '--quota':
        opts.quota = num(flag, val());
        break;
      case '--user': {
        const v = val() ?? fail('--user needs EMAIL:PASSWORD[:TOTPSECRET]');
        const c = v.indexOf(':');
        if (c <= 0) fail('--user needs EMAIL:PASSWORD[:TOTPSECRET]');
        const email = v.slice(0, c);
        let password = v.slice(c + 1);
        let totpSecret: string | undefined;
        const last = password.lastIndexOf(':');
        if (last > 0 && /^[A-Z2-7]+=*$/i.test(password.slice(last + 1))) {
          totpSecret = password.slice(last + 1).toUpperCase();
          password = password.slice(0, last);
        }
        users.push(totpSecret ? { email, password, totpSecret } : { email, password });
        break;
      }
      case '--access-ttl':
        opts.accessTtl = num(flag, val());
        break;
      case '--refresh-ttl':
        opts.refreshTtl = num(flag, val());
        break;
      case '--session-ttl':
        opts.sessionTtl = num(flag, val());
        break;
      case '--max-page-size':
        opts.maxPageSize = num(flag, val());
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        fail(`unknown argument: ${a}`);
    }
  }
  opts.policy = policy;
  if (users.length) opts.users = users;
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const emu = await startEmulator(opts);
  process.stdout.write(
    JSON.stringify({ url: emu.url, email: emu.email, password: emu.password, port: emu.port, data: emu.dataDir, version: opts.version ?? '4.18.0' }) + '\n',
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    emu.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`emulator failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
