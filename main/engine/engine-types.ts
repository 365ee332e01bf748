/**
 * The engine's contract types that its parts share: how the engine is configured (EngineConfig, and SyncSettings for
 * folder sync) and how uploads are admitted (EnqueueOptions, BusyRetry). They sit below engine-api.ts (the Engine
 * interface, which re-exports them) and below the code that implements them (transfers.ts, downloads.ts,
 * sync/sync-service.ts), so neither side imports the other for a type (test/architecture.test.ts: no import circle).
 */
import type { ClientOptions } from './api/client.js';
import type { CredentialCodec } from './api/credentials.js';
import type { ProbeTiming } from './connectivity.js';
import type { SkippedEntry } from './fs/local-tree.js';
import type { DeleteGuard } from './sync/sync-plan.js';
import type { StatFs } from './transfer/downloader.js';
import type { RetryPolicy } from './transfer/retry.js';
import type { IfExists } from './types.js';
import type { WatchOptions, Watcher } from './watcher/watcher.js';

export interface EngineConfig {
  /** Folder holding config, credentials and the journal (created 0700). */
  home: string;
  /** Files in flight at once (default 3), plus `smallFileSlots` (default 8) only small files may use. */
  maxActiveFiles?: number;
  smallFileSlots?: number;
  /** User cap on chunk concurrency per file (default 4); the policy's chunk_concurrency also caps it. */
  chunkConcurrencyCap?: number;
  /** Shared upload limit in bytes/s; 0 = unlimited. */
  bandwidthLimit?: number;
  /** Shared download limit in bytes/s; 0 = unlimited (separate from the upload limit). */
  downloadBandwidthLimit?: number;
  /** Downloads in flight at once (default 3), plus `smallDownloadSlots` (default 8) only small files (≤ 64 KiB) may use. */
  maxActiveDownloads?: number;
  smallDownloadSlots?: number;
  /** What to do when the target exists (default 'rename'). */
  ifExists?: IfExists;
  /** Continue interrupted transfers from the journal at start (the desktop app: true; the CLI: false). */
  autoResume?: boolean;
  /** How long a changed file must stay still before it is uploaded again (ms, default 2000). */
  settleMs?: number;
  /**
   * Take the home folder's lock (default true): one engine drives a journal at a time. A read-only look
   * (`cloudreve-sync transfers`) passes false.
   */
  exclusive?: boolean;
  /** @internal tests: the journal's group commit (default on; journal.ts) */
  groupCommit?: boolean;
  /** Folder sync: scan intervals, write settling, the mass-delete guard. */
  sync?: SyncSettings;
  /**
   * How long an upload waits out a busy server (HTTP 429/502/503/504, a storage provider's "slow down") before the
   * file fails, in minutes (the busyRetryMinutes setting; default 15; fractions for tests). Uploads of sync pairs wait
   * for ever (FileUpload.busyRetry).
   */
  busyRetryMinutes?: number;
  /** API client timeouts (the `timeouts` setting; ClientOptions['timeouts'] of api/client.ts). */
  timeouts?: ClientOptions['timeouts'];
  /**
   * How the tokens are kept: the desktop app seals them with the OS keychain (main/shell/secrets.ts); without a codec
   * (the CLI) they are stored in credentials.json, mode 0600.
   */
  credentialCodec?: CredentialCodec;
  /** Overrides for tests. */
  retry?: RetryPolicy;
  /** @internal tests: the free space of a download's folder (default fs.statfs) */
  statfs?: StatFs;
  /** how often an unreachable server is probed (the second probe after baseMs, doubling up to maxMs) */
  offlineProbe?: Partial<ProbeTiming>;
  progressIntervalMs?: number;
}

export interface SyncSettings {
  /** full scan of every pair (ms, default 1 h) */
  scanIntervalMs?: number;
  /** full scan of a pair without watch events: watch limit reached, network share (ms, default 5 min) */
  pollIntervalMs?: number;
  /** quiet period before a changed file is looked at (ms, default 2000) */
  settleMs?: number;
  /** a file that never goes quiet is looked at this long after its first change at most (ms, default 10 min) */
  maxSettleWaitMs?: number;
  guard?: DeleteGuard;
  /** tests: replaces the folder watcher */
  watch?: (opts: WatchOptions) => Promise<Watcher>;
  /** follow the server's change stream as a rescan hint (default true; remote-hints.ts) */
  remoteHints?: boolean;
  /** tests: reconnect delays of the change stream */
  remoteHintRetry?: { baseMs: number; maxMs: number };
  /** tests: replaces the OS trash (two-way pairs' local deletions) */
  trashLocal?: (paths: string[]) => Promise<void>;
  /** tests: replaces the network-share check */
  isNetworkFolder?: (path: string) => Promise<boolean>;
}

/**
 * How an upload treats a busy server (HTTP 429/502/503/504, a storage provider's "slow down"): 'bounded' waits it out
 * for busyRetryMinutes, then the file fails; 'forever' never fails the file for it (it waits like offline).
 */
export type BusyRetry = 'bounded' | 'forever';

export interface EnqueueOptions {
  ifExists?: IfExists;
  priority?: number;
  /** default 'bounded' */
  busyRetry?: BusyRetry;
  /**
   * Told about each entry left out while the paths are collected (also emitted as a 'warn' log event): FIFOs, sockets,
   * devices, link loops, dangling links, links to folders inside folders, unreadable folders, given paths that do not
   * exist, and OS/editor litter inside folders (sync's default ignore rules, `DEFAULT_IGNORES`). `failure` marks those that mean data the caller asked for is not uploaded.
   */
  onSkipped?: (entry: SkippedEntry) => void;
}
