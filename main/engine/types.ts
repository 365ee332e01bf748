/** Domain types shared by the engine, the CLI and (mapped to wire DTOs) the desktop shell. */

export type IfExists = 'skip' | 'overwrite' | 'rename';

/**
 * States of one upload transfer (see transfer/upload-job.ts for the machine).
 * Terminal: done, skipped, failed, cancelled.
 */
export type TransferState =
  | 'queued'
  | 'preflight'
  | 'creating-session'
  | 'uploading'
  | 'completing'
  | 'paused'
  | 'waiting-retry'
  | 'waiting-file' // the file changed during upload; re-queued once it settles
  | 'done'
  | 'skipped'
  | 'failed'
  | 'cancelled';

export const TERMINAL_STATES: ReadonlySet<TransferState> = new Set(['done', 'skipped', 'failed', 'cancelled']);

export interface TransferError {
  code: string;
  message: string;
  serverCode?: number;
  /** the HTTP status of an answer without a Cloudreve envelope (kept so that a 5xx stays transient after a restart) */
  httpStatus?: number;
}

/** A read-only view of one transfer, as the CLI and the UI show it. */
export interface TransferSnapshot {
  id: string;
  localPath: string;
  targetUri: string;
  size: number;
  state: TransferState;
  priority: number;
  bytesDone: number;
  /** bytes/s, smoothed */
  speed: number;
  /** seconds, null when unknown */
  eta: number | null;
  encrypted: boolean;
  /** why it failed, or (waiting-retry) the failure it waits to try again after */
  error: TransferError | null;
  /** waiting-retry: when the next try goes out (ms since the epoch); null when not waiting or not known (offline) */
  retryAt?: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface OverallProgress {
  bytesDone: number;
  bytesTotal: number;
  speed: number;
  eta: number | null;
  active: number;
  queued: number;
}

export interface AccountInfo {
  server: string;
  email: string;
  userId: string;
  nickname: string;
  serverVersion: string;
}

/**
 * How a sync pair treats changes: backup never deletes; mirror trashes local deletions remotely (guarded); two-way also
 * brings the server's changes down (downloads, server deletions to this computer's trash, server renames done here;
 * guarded the same way).
 */
export type SyncMode = 'backup' | 'mirror' | 'two-way';

/**
 * What a sync pair is doing or waiting for. None of offline, login-required, unavailable is ever read as
 * "files were deleted": the pair just waits and tries again.
 */
export type PairState =
  | 'idle' // in sync as of the last pass: every file is on the server
  | 'incomplete' // the last pass left files not backed up (stateDetail.notSynced says how many and why)
  | 'remote-missing' // the pair's folder on the server is gone (deleted on the web page?): nothing is trashed, a full pass follows
  | 'scanning'
  | 'syncing' // uploads of the last pass still running
  | 'paused' // by the user
  | 'offline' // the server cannot be reached
  | 'login-required'
  | 'unavailable' // the local folder is missing, unmounted or unreadable
  | 'needs-confirmation' // the mass-delete guard stopped a mirror pass: confirm or pause
  | 'error';

/** A local folder kept backed up to a folder on the account. */
export interface SyncPair {
  id: string;
  /** `server|userId` */
  account: string;
  /** absolute */
  localPath: string;
  /** cloudreve://my/… */
  remoteUri: string;
  mode: SyncMode;
  /** gitignore-syntax patterns, on top of the default ignore list */
  ignore: string[];
  /**
   * Folders left out of the pair (selective sync), relative to its root: NFC, '/'-separated, sorted, none under
   * another. Neither side of such a folder is listed, transferred, trashed or deleted (sync/ignore-rules.ts).
   */
  excludeRemote: string[];
  paused: boolean;
  /** false: the record of a one-off `sync` pass, not run in the background */
  watched: boolean;
  state: PairState;
  /** why the pair is in its state (code + message; for needs-confirmation also the deletions it holds back) */
  stateDetail: PairStateDetail | null;
  lastScanAt: number | null;
  lastScanMs: number | null;
  /** the last full scan (every folder looked at) */
  lastFullScanAt: number | null;
  /** the last local or remote change seen (a watcher or change-stream event) */
  lastChangeAt: number | null;
  /** the pair became a mirror: its first mirror pass holds back every deletion until confirmed (paths listed) */
  confirmMirror: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface PairStateDetail {
  code: string;
  message: string;
  /** needs-confirmation: the deletions held back, and (up to 200 of) their paths */
  pendingDeletes?: number;
  paths?: string[];
  /** files (and folders) not on the server after the last pass, by reason code (see SyncIssueCode) */
  notSynced?: { count: number; byCode: Partial<Record<SyncIssueCode, number>> };
}

/**
 * Why a path of a pair is not on the server. Codes (not sentences) so every screen words them in its own language;
 * `message` is the engine's English wording for logs and the CLI.
 */
export type SyncIssueCode =
  | 'quota' // the account's storage is full
  | 'too-large' // larger than the storage policy allows
  | 'name-refused' // a name Cloudreve rejects (characters, length, the policy's rules)
  | 'unreadable' // the local file or folder cannot be read (permissions, I/O error)
  | 'special-file' // socket, FIFO, device, broken link, link to a folder
  | 'name-twins' // two local names that differ only in Unicode normalisation (one server name)
  | 'type-clash' // a file here where the server has a folder, or the other way round
  | 'locked' // the server holds a lock on the path (another upload, WebDAV, an edit)
  | 'retry-spent' // the server or the network kept failing until the retry budget was spent
  | 'vanished' // the file went away or kept changing while it was read
  | 'failed'; // anything else (the message says what)

/** A path of a pair that is not on the server, and when it is tried again. */
export interface SyncIssue {
  pairId: string;
  relPath: string;
  code: SyncIssueCode;
  message: string;
  /** the local fingerprint it failed with: a change of the file retries it at once */
  size: number | null;
  mtimeMs: number | null;
  /** not tried again before this time (ms since the epoch); null: on the next pass */
  retryAt: number | null;
  /** quota: the free space when it failed (a pass retries once the free space grew) */
  freeAtFailure: number | null;
  attempts: number;
  since: number;
}

export type ConflictReasonCode =
  | 'changed-both' // changed here and on the server since our last upload
  | 'exists-different' // a different file of the same name was already on the server
  | 'changed-remote' // the server's file moved on while our upload ran (40076)
  | 'appeared-remote'; // a different file of the same name appeared on the server while our upload ran

export type ConflictChoice = 'keep-mine' | 'keep-both' | 'keep-theirs';

/** A conflict a pair kept both versions of: theirs at remoteUri, ours uploaded to conflictUri. */
export interface SyncConflict {
  id: number;
  pairId: string;
  relPath: string;
  remoteUri: string;
  conflictUri: string;
  /** English wording of reasonCode */
  reason: string;
  reasonCode: ConflictReasonCode;
  createdAt: number;
}

/**
 * Whether the server can be reached (see connectivity.ts). Offline, transfers wait with their sessions and parts
 * kept (state waiting-retry) and continue by themselves when a probe finds the server back.
 */
export interface ConnectivityState {
  online: boolean;
  /** why the server is taken as unreachable (the last failure's message); null while online */
  reason: string | null;
  /** when the engine went offline (ms since the epoch); null while online */
  since: number | null;
  /** when the next probe goes out (ms since the epoch); null while online or while a probe runs */
  nextProbeAt: number | null;
}

/** A transfer that reached a terminal state, as kept in the history (journal table transfer_history). */
export interface HistoryEntry {
  /** the history row (increasing); a transfer that failed, was retried and finished has two entries */
  seq: number;
  transferId: string;
  /** display name: the last segment of localPath */
  name: string;
  localPath: string;
  targetUri: string;
  size: number;
  state: 'done' | 'skipped' | 'failed' | 'cancelled';
  error: { code: string; message: string } | null;
  /** the sync pair that queued it; null for a manual upload */
  pairId: string | null;
  /** ms since the epoch */
  finishedAt: number;
}

export interface HistoryQuery {
  /** case-insensitive (ASCII) substring of the name, local path or target */
  text?: string;
  state?: HistoryEntry['state'];
  /** newest first; default 200, at most 1000 */
  limit?: number;
  /** entries finished strictly before this time (paging) */
  before?: number;
}
