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

/** Mirrors the engine's TransferState (kept as its own union: this file imports nothing). */
export type TransferStateDto =
  | 'queued'
  | 'preflight'
  | 'creating-session'
  | 'uploading'
  | 'completing'
  | 'paused'
  | 'waiting-retry'
  | 'waiting-file'
  | 'done'
  | 'skipped'
  | 'failed'
  | 'cancelled';

export const TRANSFER_STATES = [
  'queued',
  'preflight',
  'creating-session',
  'uploading',
  'completing',
  'paused',
  'waiting-retry',
  'waiting-file',
  'done',
  'skipped',
  'failed',
  'cancelled',
] as const satisfies readonly TransferStateDto[];

export const TERMINAL_TRANSFER_STATES = ['done', 'skipped', 'failed', 'cancelled'] as const satisfies readonly TransferStateDto[];

export interface TransferDto {
  id: string;
  /** Display name: the last segment of localPath. */
  name: string;
  localPath: string;
  /** Remote target (a Cloudreve URI, e.g. cloudreve://my/Backups/photo.jpg). */
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
  error: { code: string; message: string } | null;
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

export interface SettingsDto {
  /** Where dropped files and shell-menu uploads go unless told otherwise. */
  defaultTargetFolderUri: string;
  /** Shared upload limit in bytes/s; 0 = unlimited. Applied immediately. */
  bandwidthLimit: number;
  /** Files in flight at once (1–32). Applied immediately. */
  maxActiveFiles: number;
  /** Chunk concurrency cap per file (1–32; the storage policy may allow fewer). Applied to files that start next. */
  chunkConcurrencyCap: number;
  /** What an upload does when its target exists (identical files are always skipped). Applied to new uploads. */
  ifExists: IfExistsDto;
  /** "Upload to Cloudreve" in the OS file manager's context menu. */
  shellIntegration: boolean;
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
  listTransfers(): TransferDto[];
  /** Returns the new transfer ids. */
  enqueuePaths(paths: string[], targetFolderUri: string): string[];
  /** Pause one transfer, or everything when id is omitted. */
  pause(id?: string): null;
  resume(id?: string): null;
  cancel(id: string): null;
  retry(id: string): null;
  setPriority(id: string, priority: number): null;
  setBandwidthLimit(bytesPerSecond: number): null;
  /** Removes finished (done, skipped, cancelled) transfers from the list; returns how many. */
  clearFinished(): number;
  getSettings(): SettingsDto;
  /** Returns the settings after the change. */
  setSettings(partial: Partial<SettingsDto>): SettingsDto;
}

export type MethodName = keyof Methods;
export type MethodArgs<K extends MethodName> = Parameters<Methods[K]>;
export type MethodValue<K extends MethodName> = ReturnType<Methods[K]>;

export const METHOD_NAMES = [
  'getAccount',
  'getConnectivity',
  'login',
  'logout',
  'listTransfers',
  'enqueuePaths',
  'pause',
  'resume',
  'cancel',
  'retry',
  'setPriority',
  'setBandwidthLimit',
  'clearFinished',
  'getSettings',
  'setSettings',
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
  'transfer-added': TransferDto;
  'transfer-state-changed': { transfer: TransferDto; from: TransferStateDto };
  /** Throttled; the latest value per transfer wins. */
  'transfer-progressed': { id: string; bytesDone: number; speed: number; eta: number | null };
  'transfer-removed': { id: string };
  /** Throttled aggregate over all transfers. */
  'overall-progressed': OverallDto;
  'account-changed': { account: AccountDto | null };
  /** The server became unreachable (again before each probe, with the next probe time) or answered again. */
  'connectivity-changed': ConnectivityDto;
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
