/**
 * Engine values → wire DTOs (main/ipc/contract.ts), and thrown errors → ErrorData.
 * Every function returns fresh plain data: safe for structured clone, no `undefined` fields.
 */
import { classify, EngineError, redact } from '../engine/errors.js';
import { displayName } from '../engine/fs/local-folder.js';
import type { DownloadSnapshot, DownloadState } from '../engine/download-types.js';
import type {
  AccountInfo,
  ConflictChoice,
  ConflictReasonCode,
  HistoryEntry,
  OverallProgress,
  PairState,
  SyncConflict,
  SyncIssue,
  SyncIssueCode,
  SyncPair,
  TransferSnapshot,
  TransferState,
} from '../engine/types.js';
import type {
  AccountDto,
  ConflictChoiceDto,
  ConflictDto,
  ConflictReasonCodeDto,
  ErrorData,
  HistoryEntryDto,
  OverallDto,
  PairDto,
  PairStateDto,
  Result,
  SyncIssueCodeDto,
  SyncIssueDto,
  TransferDto,
  TransferStateDto,
} from './contract.js';

/** Compile-time proof that the contract's unions (it imports nothing) name exactly the engine's values. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const CONTRACT_UNIONS_MATCH_THE_ENGINE: [
  Same<PairState, PairStateDto>,
  Same<SyncIssueCode, SyncIssueCodeDto>,
  Same<ConflictReasonCode, ConflictReasonCodeDto>,
  Same<ConflictChoice, ConflictChoiceDto>,
] = [true, true, true, true];

/** ...and that every upload and download state has its name in TransferStateDto (one queue, one union of states). */
type Within<A, B> = [A] extends [B] ? true : false;
export const TRANSFER_STATES_COVER_BOTH_DIRECTIONS: [Within<TransferState, TransferStateDto>, Within<DownloadState, TransferStateDto>, Same<TransferState | DownloadState, TransferStateDto>] = [
  true,
  true,
  true,
];

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(error: ErrorData): Result<never> {
  return { ok: false, error };
}

export { displayName };

export function toTransferDto(t: TransferSnapshot): TransferDto {
  return {
    id: t.id,
    direction: 'upload',
    name: displayName(t.localPath),
    localPath: t.localPath,
    targetUri: t.targetUri,
    size: t.size,
    state: t.state,
    priority: t.priority,
    bytesDone: t.bytesDone,
    speed: t.speed,
    eta: t.eta ?? null,
    encrypted: t.encrypted,
    error: t.error ? { code: t.error.code, message: redact(t.error.message) } : null,
    retryAt: t.retryAt ?? null,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

/**
 * A download as a row of the shared queue: localPath is its target (once it ended: where it went, a conflict copy or a
 * numbered name), targetUri the remote file it comes from.
 */
export function toDownloadDto(d: DownloadSnapshot): TransferDto {
  const localPath = d.resultPath ?? d.target;
  return {
    id: d.id,
    direction: 'download',
    name: displayName(localPath),
    localPath,
    targetUri: d.uri,
    size: d.size,
    state: d.state,
    priority: d.priority,
    bytesDone: d.state === 'done' || d.state === 'conflict' ? d.size : d.bytesDone,
    speed: d.speed,
    eta: d.eta,
    encrypted: false,
    error: d.error && d.state !== 'conflict' ? { code: d.error.code, message: redact(d.error.message) } : null,
    retryAt: d.retryAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

export function toOverallDto(o: OverallProgress): OverallDto {
  return {
    bytesDone: o.bytesDone,
    bytesTotal: o.bytesTotal,
    speed: o.speed,
    eta: o.eta ?? null,
    active: o.active,
    queued: o.queued,
  };
}

export function toAccountDto(a: AccountInfo | null): AccountDto | null {
  if (!a) return null;
  return {
    server: a.server,
    email: a.email,
    userId: a.userId,
    nickname: a.nickname,
    serverVersion: a.serverVersion,
  };
}

export function toHistoryEntryDto(e: HistoryEntry): HistoryEntryDto {
  return {
    id: String(e.seq),
    transferId: e.transferId,
    name: e.name,
    localPath: e.localPath,
    targetUri: e.targetUri,
    size: e.size,
    state: e.state,
    error: e.error ? { code: e.error.code, message: redact(e.error.message) } : null,
    pairId: e.pairId,
    finishedAt: e.finishedAt,
  };
}

export function toPairDto(p: SyncPair): PairDto {
  return {
    id: p.id,
    localPath: p.localPath,
    remoteUri: p.remoteUri,
    mode: p.mode,
    ignore: [...p.ignore],
    excludeRemote: [...(p.excludeRemote ?? [])],
    paused: p.paused,
    state: p.state,
    stateDetail: p.stateDetail
      ? {
          code: p.stateDetail.code,
          message: redact(p.stateDetail.message),
          pendingDeletes: p.stateDetail.pendingDeletes ?? null,
          paths: p.stateDetail.paths ? [...p.stateDetail.paths] : null,
          notSynced: p.stateDetail.notSynced ? { count: p.stateDetail.notSynced.count, byCode: { ...p.stateDetail.notSynced.byCode } } : null,
        }
      : null,
    lastScanAt: p.lastScanAt,
    lastFullScanAt: p.lastFullScanAt ?? null,
    lastChangeAt: p.lastChangeAt ?? null,
    confirmMirror: p.confirmMirror === true,
    createdAt: p.createdAt,
  };
}

export function toSyncIssueDto(i: SyncIssue): SyncIssueDto {
  return {
    pairId: i.pairId,
    relPath: i.relPath,
    code: i.code,
    message: redact(i.message),
    retryAt: i.retryAt ?? null,
    attempts: i.attempts,
    since: i.since,
  };
}

export function toConflictDto(c: SyncConflict): ConflictDto {
  return {
    id: c.id,
    pairId: c.pairId,
    relPath: c.relPath,
    remoteUri: c.remoteUri,
    conflictUri: c.conflictUri,
    reasonCode: c.reasonCode,
    reason: c.reason,
    createdAt: c.createdAt,
  };
}

/** Errors raised by the IPC layer itself (bad arguments, foreign senders). */
export class IpcError extends Error {
  constructor(
    readonly code: 'invalid-argument' | 'untrusted-sender' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

/** Anything thrown → ErrorData. Engine errors keep their code; the rest become 'internal'. */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof EngineError) {
    return { code: err.code, message: err.message, retryable: classify(err) === 'retry' };
  }
  if (err instanceof IpcError) {
    return { code: err.code, message: err.message, retryable: false };
  }
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'Unexpected error';
  return { code: 'internal', message: redact(message || 'Unexpected error'), retryable: false };
}
