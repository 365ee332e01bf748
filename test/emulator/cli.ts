// Standalone emulator: `npm run emulator -- [flags]`. Prints one JSON line, serves until SIGTERM/SIGINT.
import { DEMO_OAUTH_CLIENT, startEmulator } from './index.js';
import type { EmulatorOptions, EmulatorPolicy, EmulatorUser } from './types.js';

const POLICY_TYPES = ['local', 'remote', 's3', 'ks3', 'oss', 'cos', 'obs', 'onedrive', 'qiniu', 'upyun'] as const;

const USAGE = `usage: emulator [--port N] [--host H] [--data DIR] [--version V]
  [--policy local|remote|s3|ks3|oss|cos|obs|onedrive|qiniu|upyun]
  [--s3-endpoint URL --s3-access-key K --s3-secret-key S --s3-bucket B [--s3-region R]] [--min-part-size BYTES]
  [--relay] [--encryption] [--no-pre-allocate] [--chunk-size BYTES] [--chunk-concurrency N] [--upyun-chunked]
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
  const s3: Partial<Record<'endpoint' | 'accessKey' | 'secretKey' | 'bucket' | 'region', string>> = {};
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
        if (!POLICY_TYPES.includes(t as EmulatorPolicy['type'])) fail(`--policy must be one of ${POLICY_TYPES.join(', ')}`);
        policy.type = t as EmulatorPolicy['type'];
        break;
      }
      case '--s3-endpoint':
      case '--s3-access-key':
      case '--s3-secret-key':
      case '--s3-bucket':
      case '--s3-region': {
        const v = val() ?? fail(`${flag} needs a value`);
        const key = ({ '--s3-endpoint': 'endpoint', '--s3-access-key': 'accessKey', '--s3-secret-key': 'secretKey', '--s3-bucket': 'bucket', '--s3-region': 'region' } as const)[flag];
        s3[key] = v;
        break;
      }
      case '--min-part-size':
        policy.minPartSize = num(flag, val());
        break;
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
      case '--upyun-chunked':
        policy.upyunChunked = true;
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
  if (Object.keys(s3).length) {
    if (policy.type !== 's3' && policy.type !== 'ks3') fail('--s3-* flags need --policy s3 or ks3');
    const { endpoint, accessKey, secretKey, bucket, region } = s3;
    if (!endpoint || !accessKey || !secretKey || !bucket) fail('--s3-endpoint, --s3-access-key, --s3-secret-key and --s3-bucket go together');
    try {
      new URL(endpoint);
    } catch {
      fail(`--s3-endpoint ${endpoint} is not a URL`);
    }
    policy.s3 = { endpoint, accessKey, secretKey, bucket, ...(region ? { region } : {}) };
  }
  if (policy.upyunChunked && policy.type !== 'upyun') fail('--upyun-chunked needs --policy upyun');
  opts.policy = policy;
  if (users.length) opts.users = users;
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const emu = await startEmulator(opts);
  process.stdout.write(
    JSON.stringify({
      url: emu.url,
      email: emu.email,
      password: emu.password,
      port: emu.port,
      data: emu.dataDir,
      version: opts.version ?? '4.18.0',
      // the registered demo OAuth app (browser sign-in, oauth.ts): what goes in the client's `oauth` setting
      oauth: { clientId: DEMO_OAUTH_CLIENT.id, clientSecret: DEMO_OAUTH_CLIENT.secret, redirectUri: DEMO_OAUTH_CLIENT.redirectUris[0] },
    }) + '\n',
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
