/**
 * Engine values → wire DTOs (main/ipc/contract.ts), and thrown errors → ErrorData.
 * Every function returns fresh plain data: safe for structured clone, no `undefined` fields.
 */
import { basename, win32 } from 'node:path';
import { classify, EngineError, redact } from '../engine/errors.js';
import type { AccountInfo, OverallProgress, TransferSnapshot } from '../engine/types.js';
import type { AccountDto, ErrorData, OverallDto, Result, TransferDto } from './contract.js';

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(error: ErrorData): Result<never> {
  return { ok: false, error };
}

/** The last path segment, for POSIX and Windows paths alike. */
export function displayName(localPath: string): string {
  const name = localPath.includes('\\') ? win32.basename(localPath) : basename(localPath);
  return name || localPath;
}

export function toTransferDto(t: TransferSnapshot): TransferDto {
  return {
    id: t.id,
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
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
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
