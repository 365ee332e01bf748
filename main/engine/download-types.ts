/** The download side's public types: what Engine.downloads takes, says and returns (downloads.ts, transfer/downloader.ts). */
import type { Fingerprint } from './fs/file-source.js';

/** What a download does when the local target is not as `expectLocal` said at rename time. */
export type DownloadOnExists = 'conflict' | 'overwrite' | 'skip' | 'rename';

export interface DownloadRequest {
  /** cloudreve://my/... (a file) */
  uri: string;
  /** absolute local path */
  target: string;
  /** what the pass saw on the server: the file's size, primary entity (null: not known, looked up) and updated_at */
  size: number;
  entity: string | null;
  updatedAtMs: number;
  /**
   * What the local target must still be at rename time: null = it must not exist; else its fingerprint then. A target
   * that is not as said is never overwritten (unless onExists 'overwrite'): see onExists. A target expected but gone
   * is no loss: the download takes its place.
   */
  expectLocal: Fingerprint | null;
  /** the sync pair asking (kept on the journal row); null for a manual download */
  pairId?: string | null;
  /**
   * When the target is not as expected (default 'conflict'):
   * - 'conflict': the target is kept, the download is written next to it under conflictName(name) → result 'conflict';
   * - 'overwrite': replaced atomically (rename over it) → 'done';
   * - 'skip': the download is dropped → 'skipped' (reason 'exists');
   * - 'rename': written as "name (1).ext", "name (2).ext", … → 'done' with that path.
   * With 'overwrite', 'skip' and 'rename' a target that already is the server's file (same size, mtime = updated_at) is
   * not downloaded at all → 'skipped' (reason 'identical'); with 'skip' an existing target is not downloaded either.
   */
  onExists?: DownloadOnExists;
  /**
   * The conflict copy's name for a name (a base name, no folder); default serverConflictName(): `name (conflict
   * YYYY-MM-DD HHMMSS server).ext`. Not kept across a restart (a download resumed then uses the default).
   */
  conflictName?: (name: string) => string;
  /** make the target's missing parent folders (the CLI); default false: a missing folder fails the file */
  createFolders?: boolean;
  /**
   * Queue order among the downloads waiting for a slot: higher first, then the order they were queued (default 0, as
   * uploads). Kept in the journal (setPriority changes it), so it outlives a restart.
   */
  priority?: number;
}

/** What the server's file was when it was downloaded (it may differ from the request: a new version started it over). */
export interface DownloadedRemote {
  entity: string | null;
  size: number;
  updatedAtMs: number;
}

export type DownloadOutcome =
  | { result: 'done'; id: string; path: string; fp: Fingerprint; remote: DownloadedRemote }
  | { result: 'conflict'; id: string; path: string; fp: Fingerprint; remote: DownloadedRemote }
  | { result: 'skipped'; id: string; reason: 'exists' | 'identical' | 'superseded'; path: string }
  | { result: 'failed'; id: string; code: string; message: string }
  /** stopped before its end (paused, the engine closing, the login lost): the journal keeps it for a resume */
  | { result: 'waiting'; id: string; reason: string };

export type DownloadState = 'queued' | 'downloading' | 'waiting-retry' | 'paused' | 'done' | 'conflict' | 'skipped' | 'failed' | 'cancelled';

export const DOWNLOAD_TERMINAL: ReadonlySet<DownloadState> = new Set(['done', 'conflict', 'skipped', 'failed', 'cancelled']);

export interface DownloadSnapshot {
  id: string;
  uri: string;
  target: string;
  size: number;
  bytesDone: number;
  state: DownloadState;
  error: { code: string; message: string; serverCode?: number; httpStatus?: number } | null;
  /** where the file ended (the target, a conflict copy, a numbered name) once done */
  resultPath: string | null;
  pairId: string | null;
  /** when a waiting-retry download tries again (ms since the epoch), else null */
  retryAt: number | null;
  /** queue order (higher first; see DownloadRequest.priority) */
  priority: number;
  /** bytes per second while it runs (smoothed; 0 otherwise) and the seconds left (null when not known) */
  speed: number;
  eta: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface DownloadHandle {
  id: string;
  outcome: Promise<DownloadOutcome>;
}

/** One file, folder or the whole of a remote folder collected for download (DownloadsApi.collect). */
export interface CollectedDownloads {
  files: DownloadRequest[];
  /** local folders to make (a remote folder's, empty ones too), parents first */
  folders: string[];
  /** remote entries left out, with why (an upload in progress, a name this system cannot hold, not found) */
  skipped: Array<{ uri: string; reason: string; failure: boolean }>;
}

export interface DownloadsApi {
  /**
   * Queues the requests (at most maxActiveDownloads run at once, plus smallDownloadSlots for files of at most 64 KiB) and resolves with every outcome, in order. An
   * unfinished download of the same remote file to the same target (an earlier call, a crash) is continued, not
   * started over. `signal` stops these downloads (kept for a resume: outcome 'waiting').
   */
  download(reqs: DownloadRequest[], opts?: { signal?: AbortSignal }): Promise<DownloadOutcome[]>;
  /** download(), one handle per request (an id at once, the outcome when it ends). */
  enqueue(reqs: DownloadRequest[], opts?: { signal?: AbortSignal }): DownloadHandle[];
  /** The files (recursively) of remote files and folders, as requests into localDir (the CLI's `download`). */
  collect(uris: string[], localDir: string, opts?: { onExists?: DownloadOnExists }): Promise<CollectedDownloads>;
  /** Continues interrupted downloads from the journal (all, or the given ids; paused ones only when named). */
  resumeInterrupted(ids?: string[]): DownloadHandle[];
  /** Whether `id` is a download in the journal (any state, any account). */
  has(id: string): boolean;
  /** This account's downloads in the journal, oldest first. */
  list(): DownloadSnapshot[];
  get(id: string): DownloadSnapshot | null;
  /** Pause one download or all (kept, with its bytes); resume() continues it. */
  pause(id?: string): void;
  resume(id?: string): DownloadHandle[];
  /** Stops it and removes its temp file; outcome 'failed' with code 'cancelled'. */
  cancel(id: string): Promise<void>;
  /** Queues a failed download again (from the bytes it has, if its temp file is still there). */
  retry(id: string): DownloadHandle[];
  /** Its place among the queued downloads: higher first (the window's "move to top"). */
  setPriority(id: string, priority: number): void;
  /** The download limit in bytes/s (0: none), separate from the upload limit. */
  setBandwidthLimit(bytesPerSecond: number): void;
  setConcurrency(maxActiveDownloads: number): void;
  /** Forgets finished downloads (done, conflict, skipped, cancelled; each told by 'download-removed'); returns how many. */
  clearFinished(): number;
  /** Resolves when no download is queued or running. */
  idle(): Promise<void>;
}
