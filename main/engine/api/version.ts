/**
 * Server identity and feature gates (spec §0, §3.1, §9).
 *
 * `GET /api/v4/site/ping` answers `{"code":0,"data":"4.18.0[-pro]"}` on every v4 server. Anything else
 * (gin's `404 page not found`, an HTML page from a proxy) makes us try `/api/v3/site/ping` so that a
 * Cloudreve 3.x server gets a precise "not supported" message instead of a vague one.
 */
import { EngineError } from '../errors.js';
import type { Envelope } from './types.js';
import { MasterHttp, describeBody, requestLine, type Timeouts } from './http.js';

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** pre-release identifiers other than the Cloudreve Pro marker, e.g. ['beta', '1'] */
  prerelease: string[];
  /** the build carries the `-pro` suffix */
  pro: boolean;
  raw: string;
}

const SEMVER_RE = /^v?(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses `4.18.0`, `4.18.0-pro`, `v4.1.0-beta.1`; null when the text is not a version. */
export function parseSemVer(text: string): SemVer | null {
  const m = SEMVER_RE.exec(text.trim());
  if (!m) return null;
  const pre = m[4] ? m[4].split('.') : [];
  const pro = pre.some((p) => p.toLowerCase() === 'pro');
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: pre.filter((p) => p.toLowerCase() !== 'pro'),
    pro,
    raw: text.trim(),
  };
}

/** SemVer precedence, ignoring the `pro` marker. Negative when a < b. */
export function compareVersions(a: SemVer | string, b: SemVer | string): number {
  const x = typeof a === 'string' ? parseSemVer(a) : a;
  const y = typeof b === 'string' ? parseSemVer(b) : b;
  if (!x || !y) throw new TypeError('compareVersions: not a version');
  for (const k of ['major', 'minor', 'patch'] as const) {
    if (x[k] !== y[k]) return x[k] - y[k];
  }
  // A pre-release ranks below its release (4.18.0-rc.1 < 4.18.0).
  if (x.prerelease.length === 0 || y.prerelease.length === 0) {
    return (x.prerelease.length === 0 ? 1 : 0) - (y.prerelease.length === 0 ? 1 : 0);
  }
  const n = Math.min(x.prerelease.length, y.prerelease.length);
  for (let i = 0; i < n; i++) {
    const p = x.prerelease[i];
    const q = y.prerelease[i];
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return x.prerelease.length - y.prerelease.length;
}

export function atLeast(version: string | undefined, min: string): boolean {
  if (!version) return false;
  const v = parseSemVer(version);
  return v !== null && compareVersions(v, min) >= 0;
}

/** Version where each optional feature arrived (spec §0). */
export const FEATURE_SINCE = {
  chunkConcurrency: '4.7.0',
  encryption: '4.10.0',
  events: '4.11.0',
  oauth: '4.12.0',
  allChunksRule: '4.18.0',
} as const;

export type Features = { -readonly [K in keyof typeof FEATURE_SINCE]: boolean };

/** Feature gates for a server version; an unknown version gets every gate closed (the safe side). */
export function featuresFor(version: string | undefined): Features {
  const out = {} as Features;
  for (const k of Object.keys(FEATURE_SINCE) as (keyof Features)[]) out[k] = atLeast(version, FEATURE_SINCE[k]);
  return out;
}

export const MIN_SUPPORTED = '4.0.0';

export interface PingAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** What one ping answer says, without judging it yet. */
export type PingReading =
  | { kind: 'version'; version: SemVer }
  | { kind: 'envelope-other'; envelope: Envelope } // JSON envelope, but data is not a version
  | { kind: 'foreign'; what: string }; // not a Cloudreve envelope at all

export function readPing(a: PingAnswer): PingReading {
  let parsed: unknown;
  try {
    parsed = a.body ? JSON.parse(a.body) : undefined;
  } catch {
    return { kind: 'foreign', what: describeBody(a.status, a.contentType, a.body) };
  }
  if (parsed === null || typeof parsed !== 'object' || typeof (parsed as Envelope).code !== 'number') {
    return { kind: 'foreign', what: describeBody(a.status, a.contentType, a.body) };
  }
  const env = parsed as Envelope;
  if (env.code === 0 && typeof env.data === 'string') {
    const v = parseSemVer(env.data);
    if (v) return { kind: 'version', version: v };
  }
  return { kind: 'envelope-other', envelope: env };
}

/**
 * Decide what the two ping answers mean. `v4` is the answer of /api/v4/site/ping; `v3` is only
 * requested (by the caller) when `v4` did not carry a version.
 */
export function judgePing(site: string, v4: PingAnswer, v3?: PingAnswer): { version: string; pro: boolean } {
  const r4 = readPing(v4);
  if (r4.kind === 'version') {
    const v = r4.version;
    if (v.major < 4) {
      throw new EngineError(
        'unsupported-version',
        `${site} runs Cloudreve ${v.raw}; Cloudreve ${v.major}.x is not supported, this client needs ${MIN_SUPPORTED} or newer`,
      );
    }
    return { version: v.raw, pro: v.pro };
  }
  if (v3) {
    const r3 = readPing(v3);
    if (r3.kind === 'version') {
      throw new EngineError(
        'unsupported-version',
        `${site} runs Cloudreve ${r3.version.raw}; Cloudreve ${r3.version.major}.x is not supported, this client needs ${MIN_SUPPORTED} or newer`,
      );
    }
  }
  if (r4.kind === 'envelope-other') {
    throw new EngineError(
      'not-cloudreve',
      `${site} answered ${requestLine(site, 'GET', '/api/v4/site/ping')} without a version (code ${r4.envelope.code}); is this a Cloudreve v4 server?`,
      { serverCode: r4.envelope.code },
    );
  }
  throw new EngineError(
    'not-cloudreve',
    `${site} does not look like a Cloudreve v4 server: ${requestLine(site, 'GET', '/api/v4/site/ping')} answered ${r4.what}`,
    { httpStatus: v4.status },
  );
}

/**
 * Asks the site which Cloudreve it runs (spec §9). Resolves with the version of a v4 server; throws
 * 'unsupported-version' (v3, < 4.0.0), 'not-cloudreve' (HTML page, gin 404, foreign JSON),
 * 'http-status' (a 5xx from the site or its proxy: probably down, not foreign), 'network', 'timeout'.
 */
export async function detectServer(baseUrl: string, opts: { timeouts?: Partial<Timeouts> } = {}): Promise<{ version: string; pro: boolean }> {
  const http = new MasterHttp(baseUrl, { timeouts: opts.timeouts });
  try {
    const ask = async (path: string): Promise<PingAnswer> => {
      const raw = await http.send({ method: 'GET', path, op: 'detect server', clientId: false });
      const ct = raw.headers['content-type'];
      return { status: raw.status, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '', body: raw.body };
    };
    const v4 = await ask('/api/v4/site/ping');
    if (readPing(v4).kind === 'version') return judgePing(http.baseUrl, v4);
    if (v4.status >= 500) {
      throw new EngineError('http-status', `detect server: ${http.baseUrl} answered ${requestLine(http.baseUrl, 'GET', '/api/v4/site/ping')} with ${describeBody(v4.status, v4.contentType, v4.body)}`, {
        httpStatus: v4.status,
      });
    }
    let v3: PingAnswer | undefined;
    try {
      v3 = await ask('/api/v3/site/ping');
    } catch {
      v3 = undefined;
    }
    return judgePing(http.baseUrl, v4, v3);
  } finally {
    http.close();
  }
}
