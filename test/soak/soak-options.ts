/** `npm run soak -- …` flags. */
import type { EmulatorPolicyType } from '../emulator/index.js';

export type SoakMode = 'backup' | 'mirror' | 'two-way';

export interface SoakOptions {
  minutes: number;
  seed: number;
  policy: EmulatorPolicyType;
  mode: SoakMode;
  encryption: boolean;
  /** bytes of the large sparse file; 0: none */
  bigBytes: number;
  burstFiles: number;
  maxFiles: number;
  /** how long the end may wait for the client to settle */
  settleTimeoutS: number;
  /** where the event log, the client's output and the summary go; a fresh temporary folder by default */
  out: string | null;
  /** keep the sync root, home and server data after a passing run */
  keep: boolean;
}

const POLICIES: EmulatorPolicyType[] = ['local', 'remote', 's3', 'ks3', 'oss', 'cos', 'obs', 'onedrive', 'qiniu', 'upyun'];

export const SOAK_USAGE = `usage: npm run soak -- [--minutes N] [--seed S] [--policy ${POLICIES.join('|')}]
    [--mode backup|mirror|two-way] [--no-encryption] [--big-size BYTES|64M|3G] [--burst N] [--max-files N]
    [--settle-timeout SECONDS] [--out DIR] [--keep]`;

export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(v);
  if (!m) throw new Error(`not a size: ${v}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(parseFloat(m[1]) * mult);
}

export function parseSoakArgs(argv: string[]): SoakOptions {
  const o: SoakOptions = {
    minutes: 3,
    seed: Date.now() % 1_000_000,
    policy: 'local',
    mode: 'backup',
    encryption: true,
    bigBytes: 64 * 1024 * 1024,
    burstFiles: 2000,
    maxFiles: 300,
    settleTimeoutS: 600,
    out: null,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const val = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = val();
      if (!/^\d+(\.\d+)?$/.test(v)) throw new Error(`${flag} needs a non-negative number, not ${v}`);
      return Number(v);
    };
    switch (flag) {
      case '--minutes':
        o.minutes = num();
        break;
      case '--seed':
        o.seed = Math.floor(num());
        break;
      case '--policy': {
        const v = val() as EmulatorPolicyType;
        if (!POLICIES.includes(v)) throw new Error(`--policy must be one of ${POLICIES.join(', ')}`);
        o.policy = v;
        break;
      }
      case '--mode': {
        const v = val();
        if (v !== 'backup' && v !== 'mirror' && v !== 'two-way') throw new Error('--mode must be backup, mirror or two-way');
        o.mode = v;
        break;
      }
      case '--no-encryption':
        o.encryption = false;
        break;
      case '--big-size':
        o.bigBytes = parseSize(val());
        break;
      case '--burst':
        o.burstFiles = Math.floor(num());
        break;
      case '--max-files':
        o.maxFiles = Math.max(5, Math.floor(num()));
        break;
      case '--settle-timeout':
        o.settleTimeoutS = num();
        break;
      case '--out':
        o.out = val();
        break;
      case '--keep':
        o.keep = true;
        break;
      default:
        throw new Error(`unknown argument: ${a}`);
    }
  }
  return o;
}
