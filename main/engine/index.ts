/**
 * The engine's only entry for the shell and the CLI: createEngine(config) → Engine.
 * Plain Node: never imports electron. Whatever it needs from the host (paths, secrets) arrives in EngineConfig.
 */
import type { EngineEvents, TypedEmitter } from './events.js';
import type { AccountInfo, IfExists, OverallProgress, TransferSnapshot } from './types.js';

export interface EngineConfig {
  /** Folder holding config, credentials and the journal (created 0700). */
  home: string;
  /** Files in flight at once (default 3). */
  maxActiveFiles?: number;
  /** User cap on chunk concurrency per file (default 4); the policy's chunk_concurrency also caps it. */
  chunkConcurrencyCap?: number;
  /** Shared upload limit in bytes/s; 0 = unlimited. */
  bandwidthLimit?: number;
  /** What to do when the target exists (default 'rename'). */
  ifExists?: IfExists;
}

export interface EnqueueOptions {
  ifExists?: IfExists;
  priority?: number;
}

export interface Engine {
  readonly events: TypedEmitter<EngineEvents>;
  account(): AccountInfo | null;
  login(server: string, email: string, password: string, otp?: string): Promise<AccountInfo>;
  logout(): Promise<void>;
  /** Files and folders (recursively) to upload under the remote folder `targetFolderUri`. Returns transfer ids. */
  enqueue(paths: string[], targetFolderUri: string, opts?: EnqueueOptions): Promise<string[]>;
  listTransfers(): TransferSnapshot[];
  overall(): OverallProgress;
  /** Pause one transfer, or everything when id is omitted (keeps server sessions). */
  pause(id?: string): void;
  resume(id?: string): void;
  /** Cancel: stops the transfer and deletes its server session. */
  cancel(id: string): Promise<void>;
  retry(id: string): void;
  setPriority(id: string, priority: number): void;
  setBandwidthLimit(bytesPerSecond: number): void;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export declare function createEngine(config: EngineConfig): Promise<Engine>;
