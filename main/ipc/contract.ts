/**
 * THE contract between the main process and the renderer. Zero imports (test/architecture.test.ts checks it).
 *
 * One place to add a method: put its signature in `Methods` and its name in `METHOD_NAMES`. Everything else is
 * derived, so the compiler points at each gap:
 *   - the preload's exposed `invoke` object iterates METHOD_NAMES (preload/index.ts);
 *   - the main side's handler table is a `Handlers` = Record over the names (main/ipc/server.ts);
 *   - the renderer's `window.cloudreve` is typed as `CloudreveBridge` (renderer/global.d.ts).
 *
 * Rules of the wire:
 *   - Invoke methods never throw across IPC (Electron keeps only an error's message). They resolve to
 *     `Result<T>`: `{ok:true, value}` or `{ok:false, error: ErrorData}`.
 *   - Everything that crosses is plain data (structured-clone safe): no class instances, no functions,
 *     `null` rather than `undefined` for "no value".
 *   - Events are past-tense facts pushed from main; progress events are throttled before they cross.
 *   - Channels: `cloudreve:invoke:<method>` and `cloudreve:event:<event>`; nothing else is handled.
 */

// ---------------------------------------------------------------- results and errors

export interface ErrorData {
  /** Stable code: an engine ErrorCode ('network', 'login-required', 'otp-required', …) or an IPC one
   *  ('invalid-argument', 'untrusted-sender', 'internal'). */
  code: string;
  /** Human-readable, already redacted (no tokens, passwords or signed URLs). */
  message: string;
  /** True when trying the same thing again later may succeed (network trouble, server faults). */
  retryable: boolean;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorData };

// ---------------------------------------------------------------- wire DTOs

/**
 * Mirrors the engine's TransferState and DownloadState (kept as its own union: this file imports nothing). Only
 * downloads are 'downloading' or 'conflict' (done, but written beside a local file that changed, as a conflict copy:
 * `localPath`); only uploads are 'preflight', 'creating-session', 'uploading', 'completing' or 'waiting-file'.
 */
export type TransferStateDto =
  | 'queued'
  | 'preflight'
  | 'creating-session'
  | 'uploading'
  | 'downloading'
  | 'completing'
  | 'paused'
  | 'waiting-retry'
  | 'waiting-file'
  | 'done'
  | 'conflict'
  | 'skipped'
  | 'failed'
  | 'cancelled';

export const TRANSFER_STATES = [
  'queued',
  'preflight',
  'creating-session',
  'uploading',
  'downloading',
  'completing',
  'paused',
  'waiting-retry',
  'waiting-file',
  'done',
  'conflict',
  'skipped',
  'failed',
  'cancelled',
] as const satisfies readonly TransferStateDto[];

export const TERMINAL_TRANSFER_STATES = ['done', 'conflict', 'skipped', 'failed', 'cancelled'] as const satisfies readonly TransferStateDto[];

/** Which way a transfer goes: up to the server (an upload) or down to this machine (engine.downloads). */
export type TransferDirectionDto = 'upload' | 'download';

/**
 * One file of the queue, an upload or a download (`direction`): both share the list, the order (priority, then age),
 * pause / resume / cancel / retry / setPriority (by id) and the events.
 */
export interface TransferDto {
  id: string;
  direction: TransferDirectionDto;
  /** Display name: the last segment of localPath. */
  name: string;
  /** An upload's source; a download's target (once done: where it ended, e.g. a conflict copy or "name (1).ext"). */
  localPath: string;
  /** The remote file (a Cloudreve URI, e.g. cloudreve://my/Backups/photo.jpg): an upload's target, a download's source. */
  targetUri: string;
  /** Bytes. */
  size: number;
  state: TransferStateDto;
  priority: number;
  bytesDone: number;
  /** Bytes per second, smoothed. */
  speed: number;
  /** Seconds; null when unknown. */
  eta: number | null;
  encrypted: boolean;
  /** Why it failed, or (waiting-retry) the failure it waits to try again after. Not set for a download's 'conflict'. */
  error: { code: string; message: string } | null;
  /** waiting-retry: when the next try goes out (epoch ms); null when not waiting or not known (offline). */
  retryAt?: number | null;
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
}

export interface OverallDto {
  bytesDone: number;
  bytesTotal: number;
  speed: number;
  eta: number | null;
  /** Transfers running right now. */
  active: number;
  /** Transfers waiting for a slot. */
  queued: number;
}

export interface AccountDto {
  server: string;
  email: string;
  userId: string;
  nickname: string;
  serverVersion: string;
}

export type IfExistsDto = 'skip' | 'overwrite' | 'rename';

/** Whether the server can be reached. Offline, transfers wait (waiting-retry) and continue by themselves. */
export interface ConnectivityDto {
  online: boolean;
  /** why the server is taken as unreachable; null while online */
  reason: string | null;
  /** ms since the epoch; null while online */
  since: number | null;
  /** when the next probe goes out (ms since the epoch); null while online or while a probe runs */
  nextProbeAt: number | null;
}

export type LanguageDto = 'system' | 'en' | 'zh-CN';
export type ThemeDto = 'system' | 'light' | 'dark';

/** Where the renderer runs: the Electron window ('desktop') or a browser over `cloudreve-sync ui` ('browser'). */
export interface AppInfoDto {
  mode: 'desktop' | 'browser';
  version: string;
  /** process.platform of the machine running the engine */
  platform: string;
  /** the OS/user locale of the engine's machine (BCP 47, e.g. 'zh-CN'); the renderer may prefer navigator.language */
  locale: string;
  /** the engine machine's home folder: where the local folder browser starts */
  homeDir: string;
}

/** One level of a remote folder, for the destination picker and the pair form (folders only). */
export interface RemoteFolderDto {
  uri: string;
  /** null at the root of the account's space */
  parentUri: string | null;
  folders: { name: string; uri: string }[];
}

/** One level of a folder on the engine's machine (the folder browser of `cloudreve-sync ui` and the pair form). */
export interface LocalFolderDto {
  path: string;
  /** null at a filesystem root */
  parent: string | null;
  /** folders first, then files, each by name; dot-entries are listed (a pair may be ~/.config) with hidden: true */
  entries: { name: string; path: string; kind: 'folder' | 'file'; hidden: boolean }[];
}

/** A finished transfer as kept in the history (survives clearFinished and restarts). */
export interface HistoryEntryDto {
  /** the history entry (unique; a transfer that failed, was retried and then finished has two entries) */
  id: string;
  /** the transfer it records (may be gone from the queue after clearFinished) */
  transferId: string;
  name: string;
  localPath: string;
  targetUri: string;
  size: number;
  state: 'done' | 'skipped' | 'failed' | 'cancelled';
  error: { code: string; message: string } | null;
  /** the sync pair that queued it; null for manual uploads */
  pairId: string | null;
  /** Epoch milliseconds. */
  finishedAt: number;
}

export interface HistoryQueryDto {
  /** case-insensitive substring of the name, local path or target */
  text?: string;
  state?: HistoryEntryDto['state'];
  /** newest first; default 200, at most 1000 */
  limit?: number;
  /** entries finished strictly before this time (paging) */
  before?: number;
}

export type SyncModeDto = 'backup' | 'mirror' | 'two-way';
export type PairStateDto =
  | 'idle'
  | 'incomplete'
  | 'remote-missing'
  | 'scanning'
  | 'syncing'
  | 'paused'
  | 'offline'
  | 'login-required'
  | 'unavailable'
  | 'needs-confirmation'
  | 'error';

export interface PairDto {
  id: string;
  localPath: string;
  remoteUri: string;
  mode: SyncModeDto;
  ignore: string[];
  /** folders excluded from the pair (selective sync), relative to its folder, NFC, '/'-separated, sorted */
  excludeRemote: string[];
  paused: boolean;
  state: PairStateDto;
  /** why the pair is in its state (the message is the engine's English, for logs: screens word the code and data) */
  stateDetail: PairStateDetailDto | null;
  /** the last pass (quick or full); epoch ms */
  lastScanAt: number | null;
  /** the last full scan (every folder looked at); epoch ms */
  lastFullScanAt: number | null;
  /** the last local or remote change seen (a watcher or change-stream event); epoch ms */
  lastChangeAt: number | null;
  /** the pair became a mirror: its first mirror pass holds back every deletion until confirmed (stateDetail.paths) */
  confirmMirror: boolean;
  createdAt: number;
}

/** Mirrors the engine's SyncIssueCode: why a path of a pair is not on the server. */
export type SyncIssueCodeDto =
  | 'quota'
  | 'too-large'
  | 'name-refused'
  | 'unreadable'
  | 'special-file'
  | 'name-twins'
  | 'type-clash'
  | 'locked'
  | 'retry-spent'
  | 'vanished'
  | 'failed';

export interface PairStateDetailDto {
  code: string;
  /** the engine's English wording (logs, the CLI) */
  message: string;
  /** needs-confirmation: the deletions held back */
  pendingDeletes: number | null;
  /** needs-confirmation: (up to 200 of) the paths that would go to the server's trash, relative to the pair */
  paths: string[] | null;
  /** files (and folders) not on the server after the last pass, by reason; null when every file is there */
  notSynced: { count: number; byCode: Partial<Record<SyncIssueCodeDto, number>> } | null;
}

/** A path of a pair that is not on the server (listSyncIssues). */
export interface SyncIssueDto {
  pairId: string;
  /** relative to the pair's folder, '/'-separated */
  relPath: string;
  code: SyncIssueCodeDto;
  /** the engine's English wording (logs); screens word `code` */
  message: string;
  /** not tried again before this time (epoch ms); null: on the next pass */
  retryAt: number | null;
  attempts: number;
  /** not on the server since (epoch ms) */
  since: number;
}

/**
 * What one pass would do, changing nothing (previewSync: `cloudreve-sync sync --dry-run` through the control socket;
 * the engine's PassReport of a dry run): every path with something to do, the paths that cannot be synced, the
 * deletions the guard would hold back.
 */
export interface DryRunReportDto {
  pairId: string;
  dryRun: true;
  actions: Array<{ rel: string; action: string; reason?: string; from?: string }>;
  problems: Array<{ rel: string; code?: string; reason: string }>;
  blocked: { code: string; message: string; pendingDeletes: number; paths: string[] } | null;
  /** paths of the pair not on the server after its last pass */
  notSynced: number;
  /** the pair's folder is gone on the server (everything would be uploaded again) */
  remoteRootMissing: boolean;
}

export interface PairSpecDto {
  localPath: string;
  remoteUri: string;
  mode: SyncModeDto;
  ignore?: string[];
  /** folders excluded from the pair (selective sync), relative to remoteUri */
  excludeRemote?: string[];
}

/** Mirrors the engine's ConflictReasonCode: why a pass kept both versions. */
export type ConflictReasonCodeDto =
  | 'changed-both' // changed here and on the server since our last upload
  | 'exists-different' // a different file of the same name was already on the server
  | 'changed-remote' // the server's file moved on while our upload ran
  | 'appeared-remote'; // a different file of the same name appeared on the server while our upload ran

/** How a conflict ends: ours wins (the copy goes to the trash), both stay, or theirs wins (with two-way sync only). */
export type ConflictChoiceDto = 'keep-mine' | 'keep-both' | 'keep-theirs';

export const CONFLICT_CHOICES = ['keep-mine', 'keep-both', 'keep-theirs'] as const satisfies readonly ConflictChoiceDto[];

/** A conflict a pair kept both versions of: theirs stays at remoteUri, ours was uploaded to conflictUri. */
export interface ConflictDto {
  id: number;
  pairId: string;
  relPath: string;
  remoteUri: string;
  conflictUri: string;
  /** what screens word in the user's language */
  reasonCode: ConflictReasonCodeDto;
  /** the engine's English wording (logs) */
  reason: string;
  createdAt: number;
}

/** enqueueDownload's answer: the new downloads' ids, and the remote entries left out (`failure`: asked for, not downloaded). */
export interface EnqueueDownloadResultDto {
  ids: string[];
  skipped: { uri: string; reason: string; failure: boolean }[];
}

export interface EnqueueResultDto {
  ids: string[];
  skipped: { path: string; reason: string; failure: boolean }[];
}

export interface SettingsDto {
  /** Where dropped files and shell-menu uploads go unless told otherwise. */
  defaultTargetFolderUri: string;
  /** Shared upload limit in bytes/s; 0 = unlimited. Applied immediately. */
  bandwidthLimit: number;
  /** Shared download limit in bytes/s (separate from the upload limit); 0 = unlimited. Applied immediately. */
  downloadBandwidthLimit: number;
  /** Files in flight at once (1–32). Applied immediately. */
  maxActiveFiles: number;
  /** Chunk concurrency cap per file (1–32; the storage policy may allow fewer). Applied to files that start next. */
  chunkConcurrencyCap: number;
  /** What an upload does when its target exists (identical files are always skipped). Applied to new uploads. */
  ifExists: IfExistsDto;
  /** "Upload to Cloudreve" in the OS file manager's context menu. */
  shellIntegration: boolean;
  /** Shell-menu uploads: false = ask with the destination picker, true = go straight to defaultTargetFolderUri. */
  uploadWithoutAsking: boolean;
  /** Start the app (to the tray) when the user logs in to the OS. Default on. */
  launchAtLogin: boolean;
  /** How long a changed file must stay still before it is uploaded (ms, 200–600000). */
  settleDelayMs: number;
  language: LanguageDto;
  theme: ThemeDto;
}

// ---------------------------------------------------------------- invoke methods

/**
 * Method signatures as "arguments → value". The renderer sees each as
 * `(...args) => Promise<Result<value>>` (see RendererApi).
 */
export interface Methods {
  getAccount(): AccountDto | null;
  getConnectivity(): ConnectivityDto;
  login(server: string, email: string, password: string, otp?: string): AccountDto;
  logout(): null;
  /**
   * Takes a login another process stored in the home (`cloudreve-sync login` while this engine runs); true when the
   * login in use changed. The engine holding the home also notices a changed credentials.json by itself.
   */
  reloadAccount(): boolean;
  /** The queue: every upload, then every download (direction 'download') of the signed-in account. */
  listTransfers(): TransferDto[];
  /** Returns the new transfer ids. */
  enqueuePaths(paths: string[], targetFolderUri: string): string[];
  /**
   * enqueuePaths with the CLI's options (what `cloudreve-sync upload` sends over the control socket): the new ids, and
   * the entries left out while folders were collected (FIFOs, broken links, litter; `failure` = asked for, not uploaded).
   */
  enqueueUpload(paths: string[], targetFolderUri: string, options: { ifExists?: IfExistsDto; priority?: number }): EnqueueResultDto;
  /**
   * `cloudreve-sync download` through the control socket: the remote files and folders (recursively; cloudreve:// URIs)
   * into `localDir` on the engine's machine (an absolute path, made when missing), queued as downloads of this
   * engine's transfer queue. ifExists: a local file in the way is skipped, overwritten or kept beside (default rename).
   */
  enqueueDownload(uris: string[], localDir: string, options: { ifExists?: IfExistsDto }): EnqueueDownloadResultDto;
  /** Pause one transfer (an upload or a download), or everything (both directions) when id is omitted. */
  pause(id?: string): null;
  resume(id?: string): null;
  cancel(id: string): null;
  retry(id: string): null;
  /** Run order among the queued transfers: higher first, one scale for uploads and downloads (each has its own slots). */
  setPriority(id: string, priority: number): null;
  /** The upload limit (settings' bandwidthLimit); the download limit is the setting downloadBandwidthLimit. */
  setBandwidthLimit(bytesPerSecond: number): null;
  /** Removes finished (done, skipped, cancelled; a download's conflict) transfers from the list; returns how many. */
  clearFinished(): number;
  getSettings(): SettingsDto;
  /** Returns the settings after the change. */
  setSettings(partial: Partial<SettingsDto>): SettingsDto;
  getAppInfo(): AppInfoDto;
  /** Folders directly inside a remote folder ('cloudreve://my/' is the root). */
  listRemoteFolders(uri: string): RemoteFolderDto;
  /** Creates a folder inside parentUri (the picker's "New folder"); returns the parent's new listing. */
  createRemoteFolder(parentUri: string, name: string): RemoteFolderDto;
  /** One level of a folder on the engine's machine; null = the home folder. */
  browseLocal(path: string | null): LocalFolderDto;
  listHistory(query: HistoryQueryDto): HistoryEntryDto[];
  /** Forgets the history; returns how many entries. */
  clearHistory(): number;
  listPairs(): PairDto[];
  addPair(spec: PairSpecDto): PairDto;
  updatePair(id: string, patch: { mode?: SyncModeDto; ignore?: string[] }): PairDto;
  /**
   * Sets the folders excluded from the pair (selective sync: the window's tick boxes, `pairs exclude|include`), paths
   * relative to its folder; the whole list, replacing the old one. Nothing is deleted anywhere; a folder taken back in
   * is looked at whole by the pair's next pass.
   */
  setExcludedFolders(id: string, folders: string[]): PairDto;
  /** Stops syncing and forgets the pair's records; never deletes a file on either side. */
  removePair(id: string): null;
  pausePair(id: string): PairDto;
  resumePair(id: string): PairDto;
  /** Starts a pass of one pair, or of every pair when id is omitted, in the background. */
  syncNow(id?: string): null;
  /**
   * What one pass over the folder would do, changing nothing (`cloudreve-sync sync --dry-run` through the control
   * socket). A configured pair's mode, ignore rules and excluded folders apply unless given.
   */
  previewSync(spec: { localPath: string; remoteUri: string; mode?: SyncModeDto; ignore?: string[]; excludeRemote?: string[] }): DryRunReportDto;
  /** Lets the deletions the mass-delete guard held back go ahead (count = what the user was shown). */
  confirmDeletes(id: string, count: number): null;
  /**
   * A two-way pair whose folder on the server is gone or emptied (state needs-confirmation, code remote-gone): puts
   * the server's folder back from this computer (one backup pass: everything uploaded, nothing trashed or deleted),
   * in the background; refused ('usage') for a pair that is not two-way.
   */
  restoreRemote(id: string): null;
  listConflicts(pairId?: string): ConflictDto[];
  dismissConflict(id: number): null;
  /**
   * Ends a conflict: keep-mine (ours becomes the file's new version, the conflict copy goes to the server's trash),
   * keep-both (the copy stays, the pair tracks the original from now on). keep-theirs is refused ('usage') until
   * two-way sync exists. Resolves with the conflict that left the list (also pushed as 'conflict-resolved').
   */
  resolveConflict(id: number, choice: ConflictChoiceDto): ConflictDto;
  /** The paths of one pair (or every pair) that are not on the server, and why. */
  listSyncIssues(pairId?: string): SyncIssueDto[];
  /** A public share link for a remote file or folder (Cloudreve's share API). */
  createShareLink(uri: string): string;
  /**
   * Sign in through the browser (OAuth 2.0 + PKCE, servers >= 4.12). Pushes 'browser-login-started' with the URL to
   * open, then resolves once the browser has come back to the loopback redirect (or fails after 5 minutes).
   */
  loginWithBrowser(server: string): AccountDto;
  /**
   * The answer to a 'destination-requested' event: queue the paths under targetFolderUri (remembered as the last
   * destination), or drop the request when null. Returns the new transfer ids.
   */
  resolveDestination(requestId: string, targetFolderUri: string | null): string[];
}

export type MethodName = keyof Methods;
export type MethodArgs<K extends MethodName> = Parameters<Methods[K]>;
export type MethodValue<K extends MethodName> = ReturnType<Methods[K]>;

export const METHOD_NAMES = [
  'getAccount',
  'getConnectivity',
  'login',
  'logout',
  'reloadAccount',
  'listTransfers',
  'enqueuePaths',
  'enqueueUpload',
  'enqueueDownload',
  'pause',
  'resume',
  'cancel',
  'retry',
  'setPriority',
  'setBandwidthLimit',
  'clearFinished',
  'getSettings',
  'setSettings',
  'getAppInfo',
  'listRemoteFolders',
  'createRemoteFolder',
  'browseLocal',
  'listHistory',
  'clearHistory',
  'listPairs',
  'addPair',
  'updatePair',
  'setExcludedFolders',
  'removePair',
  'pausePair',
  'resumePair',
  'syncNow',
  'previewSync',
  'confirmDeletes',
  'restoreRemote',
  'listConflicts',
  'dismissConflict',
  'resolveConflict',
  'listSyncIssues',
  'createShareLink',
  'loginWithBrowser',
  'resolveDestination',
] as const satisfies readonly MethodName[];

/** Compile-time proof that METHOD_NAMES lists every method: fails to type-check with the missing names. */
type MissingMethodNames = Exclude<MethodName, (typeof METHOD_NAMES)[number]>;
export const METHOD_NAMES_ARE_COMPLETE: [MissingMethodNames] extends [never] ? true : MissingMethodNames = true;

/** What the renderer calls: every method returns a Result and never rejects for domain errors. */
export type RendererApi = {
  [K in MethodName]: (...args: MethodArgs<K>) => Promise<Result<MethodValue<K>>>;
};

// ---------------------------------------------------------------- pushed events

export interface EventMap {
  /** An upload joined the queue (a download's first event is a transfer-state-changed: the store upserts either way). */
  'transfer-added': TransferDto;
  /** An upload or a download changed state (or priority); the whole transfer. */
  'transfer-state-changed': { transfer: TransferDto; from: TransferStateDto };
  /** Throttled; the latest value per transfer wins. */
  'transfer-progressed': { id: string; bytesDone: number; speed: number; eta: number | null };
  'transfer-removed': { id: string };
  /** Throttled aggregate over all transfers. */
  'overall-progressed': OverallDto;
  'account-changed': { account: AccountDto | null };
  /** The server became unreachable (again before each probe, with the next probe time) or answered again. */
  'connectivity-changed': ConnectivityDto;
  'pair-changed': PairDto;
  'pair-removed': { id: string };
  'conflict-added': ConflictDto;
  /** The user (here, in another window or the CLI) resolved a conflict: it left the list. */
  'conflict-resolved': { conflict: ConflictDto; choice: ConflictChoiceDto };
  'history-added': HistoryEntryDto;
  /** Open this URL to continue a loginWithBrowser sign-in (the desktop shell opens it itself; the browser UI offers a link). */
  'browser-login-started': { url: string };
  /** Files arrived from the shell menu (or a second launch) and the user must pick where they go. */
  'destination-requested': { requestId: string; paths: string[]; lastDestinationUri: string | null };
}

export type EventName = keyof EventMap;

export const EVENT_NAMES = [
  'transfer-added',
  'transfer-state-changed',
  'transfer-progressed',
  'transfer-removed',
  'overall-progressed',
  'account-changed',
  'connectivity-changed',
  'pair-changed',
  'pair-removed',
  'conflict-added',
  'conflict-resolved',
  'history-added',
  'browser-login-started',
  'destination-requested',
] as const satisfies readonly EventName[];

type MissingEventNames = Exclude<EventName, (typeof EVENT_NAMES)[number]>;
export const EVENT_NAMES_ARE_COMPLETE: [MissingEventNames] extends [never] ? true : MissingEventNames = true;

// ---------------------------------------------------------------- channels

export const CHANNEL_PREFIX = 'cloudreve:';

export function invokeChannel<K extends MethodName>(name: K): `cloudreve:invoke:${K}` {
  return `cloudreve:invoke:${name}`;
}

export function eventChannel<K extends EventName>(name: K): `cloudreve:event:${K}` {
  return `cloudreve:event:${name}`;
}

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && (METHOD_NAMES as readonly string[]).includes(name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && (EVENT_NAMES as readonly string[]).includes(name);
}

// ---------------------------------------------------------------- the bridge the preload exposes

export type Unsubscribe = () => void;

/** `window.cloudreve` in the renderer. */
export interface CloudreveBridge {
  invoke: RendererApi;
  /** Subscribe to a pushed event; returns the function that unsubscribes. */
  on<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void): Unsubscribe;
  /** The local path of a dropped or chosen File ('' when it has none); wraps webUtils.getPathForFile. */
  getPathForFile(file: File): string;
}

/** The key under which the preload exposes the bridge on `window`. */
export const BRIDGE_KEY = 'cloudreve';
