/** Typed engine events: past-tense facts. Subscriptions return a disposer. */
import { EventEmitter } from 'node:events';
import type { DownloadSnapshot, DownloadState } from './download-types.js';
import type { ConflictChoice, ConnectivityState, HistoryEntry, OverallProgress, SyncConflict, SyncPair, TransferSnapshot, TransferState } from './types.js';

export interface EngineEvents {
  'transfer-added': TransferSnapshot;
  'transfer-state-changed': { transfer: TransferSnapshot; from: TransferState };
  /** throttled: at most a few per second per transfer */
  'transfer-progressed': { id: string; bytesDone: number; speed: number; eta: number | null };
  'transfer-removed': { id: string };
  /** throttled aggregate over all transfers */
  'overall-progressed': OverallProgress;
  'account-changed': { loggedIn: boolean; email?: string };
  /** a sync pair was added or changed (settings, state, last scan) */
  'pair-changed': SyncPair;
  'pair-removed': { id: string };
  /** a sync pass kept both versions of a file: theirs in place, ours under a conflict name */
  'sync-conflict': SyncConflict;
  /** the user resolved a conflict (keep-mine, keep-both, keep-theirs): it left the list */
  'sync-conflict-resolved': { conflict: SyncConflict; choice: ConflictChoice };
  /** a sync pass moved files to the server's trash (mirror): the audit trail, one entry per path */
  'sync-trashed': { pairId: string; paths: string[] };
  /** the server became unreachable (with the reason and the next probe time, again before each probe) or answered again */
  'connectivity-changed': ConnectivityState;
  /** a transfer reached a terminal state and was written to the history */
  'history-added': HistoryEntry;
  /** a download was queued, changed state (downloading, waiting-retry, done, conflict, failed…) or was resumed */
  'download-changed': { download: DownloadSnapshot; from: DownloadState };
  /** throttled: at most a few per second per download */
  'download-progressed': { id: string; bytesDone: number; speed: number; eta: number | null };
  /** a finished download was forgotten (clearFinished) */
  'download-removed': { id: string };
  'log': { level: 'debug' | 'info' | 'warn' | 'error'; message: string };
}

export type Disposer = () => void;

export class TypedEmitter<M extends { [K in keyof M]: unknown }> {
  private readonly ee = new EventEmitter();
  constructor() {
    this.ee.setMaxListeners(100);
  }
  on<K extends keyof M & string>(name: K, fn: (payload: M[K]) => void): Disposer {
    this.ee.on(name, fn);
    return () => this.ee.off(name, fn);
  }
  once<K extends keyof M & string>(name: K, fn: (payload: M[K]) => void): Disposer {
    this.ee.once(name, fn);
    return () => this.ee.off(name, fn);
  }
  emit<K extends keyof M & string>(name: K, payload: M[K]): void {
    this.ee.emit(name, payload);
  }
}
