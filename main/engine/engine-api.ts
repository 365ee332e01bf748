/** The engine's public surface: what createEngine (index.ts) is configured with and what it returns. */
import type { TypedEmitter, EngineEvents } from './events.js';
import type { SyncApi, SyncSettings } from './sync/sync-service.js';
import type { ClientOptions } from './api/client.js';
import type { CredentialCodec } from './api/credentials.js';
import type { OAuthAppConfig } from './api/oauth.js';
import type { SkippedEntry } from './fs/local-tree.js';
import type { ProbeTiming } from './connectivity.js';
import type { RetryPolicy } from './transfer/retry.js';
import type { RemoteFolderListing } from './api/remote-folders.js';
import type { DownloadsApi } from './download-types.js';
import type { StatFs } from './transfer/downloader.js';
import type { AccountInfo, ConnectivityState, HistoryEntry, HistoryQuery, IfExists, OverallProgress, TransferSnapshot } from './types.js';

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
  /** Downloads in flight at once (default 3). */
  maxActiveDownloads?: number;
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

export interface BrowserSignIn {
  /** Called once with the URL the user must open in a browser. */
  onUrl: (url: string) => void;
  /** The OAuth app; missing fields come from the `oauth` setting. */
  app?: Partial<OAuthAppConfig>;
  /** default 5 minutes */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Engine {
  readonly events: TypedEmitter<EngineEvents>;
  /** Folder sync: pairs, passes, conflicts; start() runs the watched pairs in the background. */
  readonly sync: SyncApi;
  /** Downloads to local paths: resumable, written safely (transfer/downloader.ts); `cloudreve-sync download`. */
  readonly downloads: DownloadsApi;
  account(): AccountInfo | null;
  login(server: string, email: string, password: string, otp?: string): Promise<AccountInfo>;
  /** Sign in through the browser (OAuth 2.0 + PKCE, Cloudreve ≥ 4.12); stored like a password login. */
  loginWithBrowser(server: string, opts: BrowserSignIn): Promise<AccountInfo>;
  logout(): Promise<void>;
  /**
   * Takes a login another process stored in the home (`cloudreve-sync login` while this engine runs): transfers and
   * pairs waiting for a login go on. False when the stored login is the one in use (or there is none). The engine
   * holding the home also does this by itself when credentials.json changes.
   */
  reloadAccount(): Promise<boolean>;
  /** Files and folders (recursively) to upload under the remote folder `targetFolderUri`. Returns transfer ids. */
  enqueue(paths: string[], targetFolderUri: string, opts?: EnqueueOptions): Promise<string[]>;
  /** Continue interrupted (or paused) transfers from the journal: all of them, or the given ids. */
  resumeInterrupted(ids?: string[]): string[];
  listTransfers(): TransferSnapshot[];
  transfer(id: string): TransferSnapshot | null;
  overall(): OverallProgress;
  /** Whether the server can be reached; offline, transfers wait and continue by themselves (connectivity.ts). */
  connectivity(): ConnectivityState;
  /** Pause one transfer, or everything when id is omitted (keeps server sessions). */
  pause(id?: string): void;
  resume(id?: string): void;
  /** Cancel: stops the transfer and deletes its server session. */
  cancel(id: string): Promise<void>;
  retry(id: string): void;
  setPriority(id: string, priority: number): void;
  setBandwidthLimit(bytesPerSecond: number): void;
  /** What uploads enqueued from now on do when their target exists (unless enqueue() is told otherwise). */
  setIfExists(mode: IfExists): void;
  /** Files in flight and the per-file cap on parts in flight; applies to what starts from now on. */
  setConcurrency(limits: { maxActiveFiles?: number; chunkConcurrencyCap?: number }): void;
  /**
   * The settle delay: how long a changed file must stay still before it is uploaded (folder sync) or queued again
   * (a file that changed mid-upload). Applies at once, to changes already waiting too.
   */
  setSettleDelay(ms: number): void;
  /** Remove finished (done/skipped/cancelled) transfers from the list (the history keeps them). */
  clearFinished(): number;
  /** Finished transfers of the signed-in account, newest first; kept across clearFinished and restarts. */
  history(query?: HistoryQuery): HistoryEntry[];
  /** Forgets the signed-in account's history; returns how many entries. */
  clearHistory(): number;
  /** The folders directly inside a remote folder, by name (every page). */
  listRemoteFolders(uri: string): Promise<RemoteFolderListing>;
  /** Creates a folder inside parentUri; returns the parent's new listing. */
  createRemoteFolder(parentUri: string, name: string): Promise<RemoteFolderListing>;
  /** A public share link (no password, no expiry) for a remote file or folder. */
  createShareLink(uri: string): Promise<string>;
  /** Resolves when nothing admitted is queued, running or waiting. */
  idle(): Promise<void>;
  close(): Promise<void>;
}
