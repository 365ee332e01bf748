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
  error: TransferError | null;
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
