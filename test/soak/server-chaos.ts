/**
 * The network and server side of the soak: fault rules on the emulator (resets mid-part, stalls, 5xx, throttling
 * with Retry-After, slow links), protocol trouble (a short-lived access token, a 40011 on a part, upload sessions
 * expiring under the client, a 40073 lock conflict, the quota running out and coming back) and the server itself
 * restarting (sessions lost) or being unreachable for a while. Every decision is the soak's RandomSource's, logged.
 */
import type { Emulator, EmulatorPolicyType, FaultRule } from '../emulator/index.js';
import type { EventLog } from './event-log.js';
import type { RandomSource } from './random-source.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type ServerFault =
  | 'reset-mid-part'
  | 'stall'
  | 'http-5xx'
  | 'throttle-retry-after'
  | 'slow-link'
  | 'token-expired'
  | 'part-40011'
  | 'session-expired'
  | 'lock-conflict'
  | 'quota-out'
  | 'server-restart'
  | 'server-unreachable';

/** The requests that carry part bodies for each policy type (master, slave node, or the emulated vendor). */
export function partPath(policy: EmulatorPolicyType): string {
  if (policy === 'local') return '^/api/v4/file/upload/[^/]+/\\d+$';
  if (policy === 'remote') return '^/api/v4/slave/upload/';
  return '^/__vendor/';
}

export const BIG_QUOTA = 1024 ** 4;

export class ServerChaos {
  readonly injected = new Map<ServerFault, number>();
  /** sessions the chaos expired (their parts are lost on purpose, not re-sent by mistake) */
  readonly expiredSessions = new Set<string>();
  /** server outages as [from, to] (ms since the epoch) */
  readonly outages: Array<[number, number]> = [];

  constructor(
    private readonly emu: Emulator,
    private readonly rnd: RandomSource,
    private readonly log: EventLog,
    private readonly policy: EmulatorPolicyType,
  ) {}

  private fault(kind: ServerFault, detail: Record<string, unknown>, rules: FaultRule[] = []): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
    this.log.write('fault', { fault: kind, ...detail });
    for (const r of rules) this.emu.addFault(r);
  }

  /** One random fault; the long ones (outages, quota) run to their end before this resolves. */
  async step(): Promise<void> {
    const rnd = this.rnd;
    const part = partPath(this.policy);
    const kind = rnd.weighted<ServerFault>({
      'reset-mid-part': 14,
      stall: 6,
      'http-5xx': 10,
      'throttle-retry-after': 8,
      'slow-link': 5,
      'token-expired': 6,
      'part-40011': 5,
      'session-expired': 6,
      'lock-conflict': 5,
      'quota-out': 3,
      'server-restart': 3,
      'server-unreachable': 3,
    });
    switch (kind) {
      case 'reset-mid-part': {
        const afterBytes = rnd.int(0, 512 * 1024);
        const times = rnd.int(1, 3);
        this.fault(kind, { afterBytes, times }, [{ path: part, times, action: { type: 'reset', afterBytes } }]);
        break;
      }
      case 'stall': {
        // mostly shorter than the client's no-progress timeout, sometimes longer
        const ms = rnd.chance(0.75) ? rnd.int(1000, 15_000) : rnd.int(31_000, 45_000);
        const afterBytes = rnd.int(0, 256 * 1024);
        this.fault(kind, { stallMs: ms, afterBytes }, [{ path: part, action: { type: 'stall', ms, afterBytes } }]);
        break;
      }
      case 'http-5xx': {
        const status = rnd.pick([500, 502, 503, 504]);
        const path = rnd.pick([part, '^/api/v4/file/upload$', '^/api/v4/file$', '^/api/v4/']);
        const times = rnd.int(1, 4);
        this.fault(kind, { status, path, times }, [{ path, times, action: { type: 'status', status, body: 'server error' } }]);
        break;
      }
      case 'throttle-retry-after': {
        const status = rnd.pick([429, 503]);
        const retryAfter = rnd.int(1, 5);
        const forMs = rnd.int(1000, 6000);
        this.fault(kind, { status, retryAfter, forMs }, [
          { path: part, forMs, action: { type: 'status', status, headers: { 'Retry-After': String(retryAfter) }, body: 'slow down' } },
        ]);
        break;
      }
      case 'slow-link': {
        const bytesPerSec = rnd.int(32, 1024) * 1024;
        const forMs = rnd.int(5000, 30_000);
        this.fault(kind, { bytesPerSec, forMs }, [{ path: part, forMs, action: { type: 'slow', bytesPerSec } }]);
        break;
      }
      case 'token-expired': {
        // the next call to the master is refused as an expired login would be (401 on the API, 40011 on a part);
        // tokens issued meanwhile live only seconds
        const ttl = rnd.int(2, 8);
        const forMs = rnd.int(10_000, 40_000);
        this.fault(kind, { accessTtl: ttl, forMs }, [
          { path: '^/api/v4/file/upload/[^/]+/\\d+$', action: { type: 'envelope', code: 40011, msg: 'Login required' } },
          // not on part uploads: there an expired token is answered 40011, never 401 (spec §2.5)
          { path: '^/api/v4/file(?!/upload/[^/]+/\\d+$)', action: { type: 'envelope', code: 401, msg: 'Login required' } },
        ]);
        this.emu.tune({ accessTtl: ttl });
        await sleep(forMs);
        this.emu.tune({ accessTtl: 3600 });
        this.log.write('fault-end', { fault: kind });
        break;
      }
      case 'part-40011': {
        const times = rnd.int(1, 2);
        this.fault(kind, { times }, [{ path: '^/api/v4/file/upload/[^/]+/\\d+$', times, action: { type: 'envelope', code: 40011, msg: 'Upload session expired' } }]);
        break;
      }
      case 'session-expired': {
        const live = this.emu.sessions();
        if (live.length === 0) {
          this.log.write('fault-skipped', { fault: kind, why: 'no session open' });
          return;
        }
        const s = rnd.pick(live);
        this.expiredSessions.add(s.id);
        this.fault(kind, { session: s.id, uri: s.uri, received: s.received.length });
        this.emu.expireSessions([s.id]);
        break;
      }
      case 'lock-conflict': {
        const times = rnd.int(1, 3);
        this.fault(kind, { times }, [{ method: 'PUT', path: '^/api/v4/file/upload$', times, action: { type: 'envelope', code: 40073, msg: 'Lock conflict' } }]);
        break;
      }
      case 'quota-out': {
        const forMs = rnd.int(5000, 25_000);
        this.fault(kind, { forMs });
        this.emu.tune({ quota: 1 });
        await sleep(forMs);
        this.emu.tune({ quota: BIG_QUOTA });
        this.log.write('fault-end', { fault: kind });
        break;
      }
      case 'server-restart': {
        const downMs = rnd.int(500, 8000);
        this.fault(kind, { downMs });
        await this.outage(downMs, true);
        break;
      }
      case 'server-unreachable': {
        const downMs = rnd.int(2000, 20_000);
        this.fault(kind, { downMs });
        await this.outage(downMs, false);
        break;
      }
    }
  }

  private async outage(ms: number, loseSessions: boolean): Promise<void> {
    const from = Date.now();
    await this.emu.stop();
    await sleep(ms);
    if (loseSessions) {
      for (const s of this.emu.sessions()) this.expiredSessions.add(s.id);
      const n = this.emu.expireSessions();
      this.log.write('fault-detail', { sessionsLost: n });
    }
    await this.emu.start();
    this.outages.push([from, Date.now()]);
    this.log.write('fault-end', { fault: loseSessions ? 'server-restart' : 'server-unreachable' });
  }

  /** Everything off: rules cleared, quota and token lifetime back, the server listening. */
  async calm(): Promise<void> {
    this.emu.clearFaults();
    this.emu.tune({ quota: BIG_QUOTA, accessTtl: 3600 });
    await this.emu.start();
  }
}
