// Public types of the Cloudreve v4 server emulator (test/emulator).
// The emulator is written from /work/shared/spec/cloudreve-v4-protocol.md only;
// it must never import client code from main/.

export interface EmulatorUser {
  email: string;
  password: string;
  /** base32; when set the account has 2FA */
  totpSecret?: string;
}

export type EmulatorPolicyType = 'local' | 'remote' | 's3' | 'ks3' | 'oss' | 'cos' | 'obs' | 'onedrive' | 'qiniu' | 'upyun';

/**
 * A real S3 server the `s3`/`ks3` policy stores on (e.g. Swift from `npm run s3-server`); the bucket is created when
 * missing. Committed objects stay there (the callback HEADs them, as Cloudreve does): downloads get pre-signed GETs of
 * them, the master's content route and `blob()` read them from there.
 */
export interface EmulatorS3Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** default us-east-1 */
  region?: string;
}

export interface EmulatorPolicy {
  type: EmulatorPolicyType;
  /** relay: chunk_size forced 0, no encrypt_metadata, server encrypts if encryption */
  relay?: boolean;
  encryption?: boolean;
  /** default 25 MiB (26214400) */
  chunkSize?: number;
  /** omitted from policy JSON when undefined */
  chunkConcurrency?: number;
  /** local: default true. false → a chunk whose offset is beyond current stored length → 50004 */
  preAllocate?: boolean;
  /** 0 = unlimited */
  maxSize?: number;
  /** s3/ks3: store on this real S3 server instead of the emulated one */
  s3?: EmulatorS3Server;
  /** emulated S3-like vendors and Qiniu: smallest non-last part accepted (default: the vendor's documented minimum) */
  minPartSize?: number;
  /**
   * upyun: hand out a chunked session for Upyun's multi-stage REST upload (initiate / upload / complete) instead of the
   * form upload Cloudreve 4.x hands out. `chunk_size` is `chunkSize` (a multiple of 1 MiB is what a client can use;
   * the emulator hands out any value), `upload_urls[0]` the object's REST URL, `credential` the REST `Authorization`
   * signing `PUT&/{bucket}/{key}&{date}`, `upload_policy` base64 JSON `{"date", "expiration"}`.
   */
  upyunChunked?: boolean;
  allowedSuffix?: string[];
  deniedSuffix?: string[];
  allowedNameRegexp?: string;
  deniedNameRegexp?: string;
}

/** An OAuth app as the admin registers it (dashboard → OAuth apps): redirect URIs are matched exactly. */
export interface EmulatorOAuthClient {
  id: string;
  secret: string;
  name?: string;
  redirectUris: string[];
  scopes: string[];
}

export interface EmulatorOptions {
  host?: string;
  port?: number;
  dataDir?: string;
  version?: string;
  policy?: EmulatorPolicy;
  quota?: number;
  users?: EmulatorUser[];
  accessTtl?: number;
  refreshTtl?: number;
  sessionTtl?: number;
  maxPageSize?: number;
  keepAliveMs?: number;
  eventDebounceMs?: number;
  maxEditSize?: number;
  /** OAuth apps registered on the site (server ≥ 4.12); default: oauth.ts DEMO_OAUTH_CLIENT */
  oauthClients?: EmulatorOAuthClient[];
}

export interface FaultRule {
  method?: string;
  /** RegExp source matched against the URL pathname */
  path: string;
  /** how many matching requests it affects, default 1 (unlimited when `forMs` is given) */
  times?: number;
  /** the rule affects matching requests for this long after it was added, then goes away */
  forMs?: number;
  action:
    | { type: 'reset'; afterBytes: number }
    /** the request is handled normally, but its connection is dropped once `afterBytes` of the answer's body went out */
    | { type: 'cut'; afterBytes: number }
    | { type: 'status'; status: number; body?: string; headers?: Record<string, string> }
    | { type: 'envelope'; code: number; msg?: string }
    | { type: 'delay'; ms: number }
    /** the request is handled normally, but its connection stops being read for `ms` once `afterBytes` arrived */
    | { type: 'stall'; ms: number; afterBytes?: number }
    /** the request is handled normally over a link that carries at most `bytesPerSec` of its body */
    | { type: 'slow'; bytesPerSec: number };
}

/** One upload part the server accepted (master, slave or emulated vendor), for the soak's re-send accounting. */
export interface PartAccepted {
  session: string;
  uri: string;
  /** 0-based part index */
  index: number;
  /** how many parts the session has */
  of: number;
  bytes: number;
  at: number;
}

/** A file change on the server: paths are relative to the user's root ("docs/a.txt"); `to` only for renames. */
export interface FileEventInfo {
  kind: 'create' | 'modify' | 'rename' | 'delete';
  from: string;
  to?: string;
  at: number;
}

/** Server settings the tests may change while it runs. */
export interface EmulatorTuning {
  /** bytes; the account's capacity */
  quota?: number;
  /** seconds an access token issued from now on lives */
  accessTtl?: number;
  /** seconds an upload session created from now on lives */
  sessionTtl?: number;
  /**
   * ms added to the clock the emulated Upyun signs chunked sessions' dates with and checks every request's date
   * against (its 30-minute window): 31 minutes expire every date signed before, as if that much time had passed.
   */
  upyunClockOffsetMs?: number;
}

export interface EmulatorStats {
  bytes_received: number;
  requests: number;
  chunk_requests: number;
  sessions_created: number;
  sessions_completed: number;
  sessions_cancelled: number;
  /** most parts of one upload session the server was receiving at the same time (master and slave) */
  max_parts_in_flight: number;
  /** sessions that had more parts in flight than the policy's chunk_concurrency allows (absent or < 4.7.0: 1) */
  chunk_concurrency_violations: Array<{ session: string; uri: string; in_flight: number; limit: number }>;
  /** body bytes of download answers: the master's signed content route and the emulated storages' GETs */
  bytes_sent: number;
  /** GET/HEAD requests to those */
  download_requests: number;
}

export interface EntityInfo {
  size: number;
  encrypted: boolean;
  /** base64 */
  key?: string;
  /** base64 */
  iv?: string;
}

export interface SessionInfo {
  id: string;
  uri: string;
  expires: number;
  received: number[];
}

export interface Emulator {
  url: string;
  port: number;
  email: string;
  password: string;
  dataDir: string;
  stats(): EmulatorStats;
  resetStats(): void;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  setPolicy(p: Partial<EmulatorPolicy>): void;
  setVersion(v: string): void;
  blob(uri: string): Buffer | null;
  /**
   * Puts a file straight into the first user's tree (no HTTP, no session, no event): folders made as needed, the
   * content stored as its entity, `updatedAtMs` as its modification time (default now). For setting up large trees
   * fast (the bench); a path that exists already throws.
   */
  seed(uri: string, body: Buffer, updatedAtMs?: number): void;
  entity(uri: string): EntityInfo | null;
  file(uri: string): unknown | null;
  sessions(): SessionInfo[];
  /** Share links created with PUT /api/v4/share (share.ts), oldest first. */
  shares(): Array<{ id: string; uri: string; password: string; downloads: number; expires: number | null }>;
  /** Expires the given upload sessions now (all when no ids), as their TTL passing would; returns how many. */
  expireSessions(ids?: string[]): number;
  /** Changes quota, token or session lifetimes for what comes next. */
  tune(t: EmulatorTuning): void;
  /** Calls `fn` for every upload part the server accepts; returns the unsubscriber. */
  onPart(fn: (p: PartAccepted) => void): () => void;
  /** Calls `fn` for every file change the server makes (what its SSE stream reports); returns the unsubscriber. */
  onFileEvent(fn: (e: FileEventInfo) => void): () => void;
  /** Parts being received right now, over all sessions. */
  partsInFlight(): number;
  /** Stops listening and drops every connection, keeping all state (a server restart or outage). */
  stop(): Promise<void>;
  /** Listens again on the same host and port after stop(). */
  start(): Promise<void>;
  close(): Promise<void>;
}
