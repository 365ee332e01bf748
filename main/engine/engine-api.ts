/**
 * The engine's public surface: what createEngine (index.ts) is configured with and what it returns. The configuration
 * types are defined in engine-types.ts (below the parts that implement them, which use them too) and re-exported here.
 */
import type { TypedEmitter, EngineEvents } from './events.js';
import type { SyncApi } from './sync/sync-service.js';
import type { OAuthAppConfig } from './api/oauth.js';
import type { RemoteFolderListing } from './api/remote-folders.js';
import type { DownloadsApi } from './download-types.js';
import type { AccountInfo, ConnectivityState, HistoryEntry, HistoryQuery, IfExists, OverallProgress, TransferSnapshot } from './types.js';
import type { EnqueueOptions } from './engine-types.js';

export type { BusyRetry, EngineConfig, EnqueueOptions } from './engine-types.js';

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
  /**
   * Pause one transfer, or everything when id is omitted (keeps server sessions). pause, resume, cancel, retry and
   * setPriority take an upload's id or a download's (engine.downloads): the two directions share one queue.
   */
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
  /** Remove finished (done/skipped/cancelled; downloads: also conflict) transfers from the list (the history keeps uploads). */
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
