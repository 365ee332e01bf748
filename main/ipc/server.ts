/**
 * The main-process side of the contract:
 *   - createHandlers(): one handler per contract method, as a `Handlers` record, so a method without a
 *     handler does not compile. Handlers receive the raw (untrusted) argument list and validate it.
 *   - registerIpcServer(): `ipcMain.handle('cloudreve:invoke:<name>')` for every method; rejects callers that
 *     are not our window's top frame showing our page; turns every outcome into a Result.
 *   - forwardEngineEvents(): engine events → DTOs → the window, with progress coalesced per transfer.
 *
 * Electron is imported for types only and handed in (`ipcMain`, the sender check), so this file loads
 * in plain Node for the tests.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import type { Engine } from '../engine/index.js';
import type { Disposer } from '../engine/events.js';
import { listLocalFolder } from '../engine/fs/local-folder.js';
import type { HistoryQuery } from '../engine/types.js';
import {
  CONFLICT_CHOICES,
  invokeChannel,
  METHOD_NAMES,
  type ConflictChoiceDto,
  type AppInfoDto,
  type EventMap,
  type EventName,
  type HistoryEntryDto,
  type EnqueueResultDto,
  type IfExistsDto,
  type PairSpecDto,
  type SyncModeDto,
  type LanguageDto,
  type ThemeDto,
  type MethodName,
  type MethodValue,
  type OverallDto,
  type Result,
  type SettingsDto,
} from './contract.js';
import {
  fail,
  IpcError,
  ok,
  toAccountDto,
  toConflictDto,
  toDownloadDto,
  toErrorData,
  toHistoryEntryDto,
  toOverallDto,
  toPairDto,
  toSyncIssueDto,
  toTransferDto,
} from './serialize.js';

// ---------------------------------------------------------------- handlers

/** Persisted settings, owned by the shell. `update` applies side effects (bandwidth limit, shell menu). */
export interface SettingsPort {
  get(): SettingsDto;
  update(patch: Partial<SettingsDto>): Promise<SettingsDto>;
}

/** The desktop shell's shell-menu uploads waiting for the destination picker (main/shell/upload-requests.ts). */
export interface DestinationPort {
  resolve(requestId: string, targetFolderUri: string | null): Promise<string[]>;
}

export interface HandlerDeps {
  engine: Engine;
  settings: SettingsPort;
  /** Who serves the renderer: the Electron shell ('desktop') or `cloudreve-sync ui` ('browser'), and our version. */
  app: { mode: AppInfoDto['mode']; version: string };
  /** Called for failures of work a handler started in the background (confirmDeletes), e.g. to log them. */
  onBackgroundError?: (what: string, err: unknown) => void;
  /** Pushes an event to the page ('browser-login-started'). */
  emit?: EventSink;
  /** Opens a URL in the user's browser (the desktop shell); without it the page offers the link itself. */
  openExternal?: (url: string) => void;
  /** Shell-menu uploads waiting for a destination; absent where there is no shell menu (`cloudreve-sync ui`). */
  destinations?: DestinationPort;
}

/** One entry per contract method; `args` is whatever the renderer sent and must be validated. */
export type Handlers = {
  [K in MethodName]: (args: readonly unknown[]) => MethodValue<K> | Promise<MethodValue<K>>;
};

export function createHandlers({ engine, settings, app, onBackgroundError, emit, openExternal, destinations }: HandlerDeps): Handlers {
  const requirePair = (id: string) => {
    const p = engine.sync.pair(id);
    if (!p || !p.watched) throw new IpcError('invalid-argument', `no sync pair ${id}`);
    return p;
  };
  /** the browser sign-in in progress: a second click starts over (the loopback port is free again at once) */
  let browserLogin: AbortController | null = null;
  return {
    getAccount: () => toAccountDto(engine.account()),
    getConnectivity: () => ({ ...engine.connectivity() }),
    login: async (args) => {
      const server = argString(args, 0, 'server');
      const email = argString(args, 1, 'email');
      const password = argString(args, 2, 'password', { allowEmpty: true });
      const otp = argOptionalString(args, 3, 'otp');
      const account = toAccountDto(await engine.login(server, email, password, otp));
      if (!account) throw new IpcError('unavailable', 'Login did not produce an account');
      return account;
    },
    logout: async () => {
      await engine.logout();
      return null;
    },
    reloadAccount: () => engine.reloadAccount(),
    // one queue: the uploads, then the downloads (engine.downloads); pause/resume/cancel/retry/setPriority take either id
    listTransfers: () => [...engine.listTransfers().map(toTransferDto), ...engine.downloads.list().map(toDownloadDto)],
    enqueuePaths: async (args) => {
      const paths = argPaths(args, 0);
      const target = argFolderUri(args, 1, 'targetFolderUri');
      return engine.enqueue(paths, target);
    },
    enqueueUpload: async (args) => {
      const paths = argPaths(args, 0);
      const target = argFolderUri(args, 1, 'targetFolderUri');
      const o = args[2];
      if (typeof o !== 'object' || o === null || Array.isArray(o)) throw invalid('options must be an object');
      const { ifExists, priority } = o as Record<string, unknown>;
      if (ifExists !== undefined && !IF_EXISTS.includes(ifExists as IfExistsDto)) throw invalid(`ifExists must be one of ${IF_EXISTS.join(', ')}`);
      const skipped: EnqueueResultDto['skipped'] = [];
      const ids = await engine.enqueue(paths, target, {
        ifExists: ifExists as IfExistsDto | undefined,
        priority: priority === undefined ? undefined : argInteger([priority], 0, 'priority', { min: -1_000_000, max: 1_000_000 }),
        onSkipped: (e) => skipped.push({ path: e.path, reason: e.reason, failure: e.failure === true }),
      });
      return { ids, skipped };
    },
    enqueueDownload: async (args) => {
      const uris = argUris(args, 0);
      const dir = argAbsolutePath(args, 1, 'localDir');
      const o = plainObject(args[2] ?? {}, 'options');
      onlyKeys(o, 'options', ['ifExists']);
      if (o.ifExists !== undefined && !IF_EXISTS.includes(o.ifExists as IfExistsDto)) throw invalid(`ifExists must be one of ${IF_EXISTS.join(', ')}`);
      const got = await engine.downloads.collect(uris, dir, { onExists: (o.ifExists as IfExistsDto | undefined) ?? 'rename' });
      for (const folder of [dir, ...got.folders]) {
        try {
          mkdirSync(folder, { recursive: true });
        } catch (err) {
          throw new IpcError('unavailable', `cannot make the folder ${folder}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      const ids = engine.downloads.enqueue(got.files).map((h) => h.id); // their outcomes come as transfer events
      return { ids, skipped: got.skipped.map((s) => ({ uri: s.uri, reason: s.reason, failure: s.failure })) };
    },
    pause: (args) => {
      engine.pause(argOptionalString(args, 0, 'id'));
      return null;
    },
    resume: (args) => {
      engine.resume(argOptionalString(args, 0, 'id'));
      return null;
    },
    cancel: async (args) => {
      await engine.cancel(argString(args, 0, 'id'));
      return null;
    },
    retry: (args) => {
      engine.retry(argString(args, 0, 'id'));
      return null;
    },
    setPriority: (args) => {
      engine.setPriority(argString(args, 0, 'id'), argInteger(args, 1, 'priority', { min: -1_000_000, max: 1_000_000 }));
      return null;
    },
    setBandwidthLimit: async (args) => {
      await settings.update({ bandwidthLimit: argInteger(args, 0, 'bytesPerSecond', { min: 0 }) });
      return null;
    },
    clearFinished: () => engine.clearFinished(),
    getSettings: () => settings.get(),
    setSettings: (args) => settings.update(parseSettingsPatch(args[0])),
    getAppInfo: () => ({
      mode: app.mode,
      version: app.version,
      platform: process.platform,
      locale: Intl.DateTimeFormat().resolvedOptions().locale,
      homeDir: homedir(),
    }),
    listRemoteFolders: (args) => engine.listRemoteFolders(argFolderUri(args, 0, 'uri')),
    createRemoteFolder: (args) =>
      engine.createRemoteFolder(argFolderUri(args, 0, 'parentUri'), argString(args, 1, 'name', { maxLength: 255 })),
    browseLocal: (args) => {
      const v = args[0];
      if (v === null || v === undefined) return listLocalFolder(homedir());
      return listLocalFolder(argAbsolutePath(args, 0, 'path'));
    },
    listHistory: (args) => engine.history(parseHistoryQuery(args[0])).map(toHistoryEntryDto),
    clearHistory: () => engine.clearHistory(),
    listPairs: () => engine.sync.listPairs().map(toPairDto),
    addPair: (args) => toPairDto(engine.sync.addPair(parsePairSpec(args[0]))),
    updatePair: (args) => {
      const id = argString(args, 0, 'id');
      requirePair(id);
      return toPairDto(engine.sync.updatePair(id, parsePairPatch(args[1])));
    },
    setExcludedFolders: (args) => {
      const id = argString(args, 0, 'id');
      requirePair(id);
      return toPairDto(engine.sync.setExcludedFolders(id, parseExcluded(args[1], 'folders')));
    },
    removePair: async (args) => {
      const id = argString(args, 0, 'id');
      requirePair(id);
      await engine.sync.removePair(id);
      return null;
    },
    pausePair: (args) => toPairDto(engine.sync.pausePair(requirePair(argString(args, 0, 'id')).id)),
    resumePair: (args) => toPairDto(engine.sync.resumePair(requirePair(argString(args, 0, 'id')).id)),
    syncNow: (args) => {
      const id = argOptionalString(args, 0, 'id');
      if (id !== undefined) requirePair(id);
      engine.sync.requestPass(id);
      return null;
    },
    previewSync: async (args) => {
      const r = await engine.sync.syncOnce({ ...parseSyncSpec(args[0]), dryRun: true });
      return {
        pairId: r.pairId,
        dryRun: true,
        actions: r.actions.map((a) => ({ rel: a.rel, action: a.action, ...(a.reason === undefined ? {} : { reason: a.reason }), ...(a.from === undefined ? {} : { from: a.from }) })),
        problems: r.problems.map((p) => ({ rel: p.rel, reason: p.reason, ...(p.code === undefined ? {} : { code: p.code }) })),
        blocked: r.blocked ? { code: r.blocked.code, message: r.blocked.message, pendingDeletes: r.blocked.pendingDeletes, paths: [...r.blocked.paths] } : null,
        notSynced: r.notSynced,
        remoteRootMissing: r.remoteRootMissing,
      };
    },
    confirmDeletes: (args) => {
      const id = requirePair(argString(args, 0, 'id')).id;
      const count = argInteger(args, 1, 'count', { min: 1 });
      // A pass that also waits for its uploads: it runs in the background; the pair's state (pair-changed) tells how it went.
      engine.sync.confirmDeletes(id, count).catch((err: unknown) => onBackgroundError?.(`confirmDeletes ${id}`, err));
      return null;
    },
    restoreRemote: (args) => {
      const pair = requirePair(argString(args, 0, 'id'));
      if (pair.mode !== 'two-way') throw invalid(`restore is for a two-way pair whose folder on the server is gone; this is a ${pair.mode} pair`);
      engine.sync.restoreRemote(pair.id).catch((err: unknown) => onBackgroundError?.(`restoreRemote ${pair.id}`, err));
      return null;
    },
    listConflicts: (args) => {
      const pairId = argOptionalString(args, 0, 'pairId');
      return engine.sync.conflicts(pairId).map(toConflictDto);
    },
    dismissConflict: (args) => {
      const id = argInteger(args, 0, 'id', { min: 1 });
      if (!engine.sync.dismissConflict(id)) throw invalid(`no conflict ${id}`);
      return null;
    },
    resolveConflict: async (args) => {
      const id = argInteger(args, 0, 'id', { min: 1 });
      const choice = args[1];
      if (!CONFLICT_CHOICES.includes(choice as ConflictChoiceDto)) throw invalid(`choice must be one of ${CONFLICT_CHOICES.join(', ')}`);
      return toConflictDto(await engine.sync.resolveConflict(id, choice as ConflictChoiceDto));
    },
    listSyncIssues: (args) => {
      const pairId = argOptionalString(args, 0, 'pairId');
      return engine.sync.issues(pairId).map(toSyncIssueDto);
    },
    createShareLink: (args) => engine.createShareLink(argFileUri(args, 0, 'uri')),
    loginWithBrowser: async (args) => {
      const server = argString(args, 0, 'server');
      if (!/^https?:\/\//i.test(server)) throw invalid('server must be an http(s) URL');
      browserLogin?.abort();
      const abort = new AbortController();
      browserLogin = abort;
      try {
        const account = toAccountDto(
          await engine.loginWithBrowser(server, {
            signal: abort.signal,
            onUrl: (url) => {
              emit?.('browser-login-started', { url });
              openExternal?.(url);
            },
          }),
        );
        if (!account) throw new IpcError('unavailable', 'Login did not produce an account');
        return account;
      } finally {
        if (browserLogin === abort) browserLogin = null;
      }
    },
    resolveDestination: async (args) => {
      const requestId = argString(args, 0, 'requestId');
      const target = args[1] === null ? null : argFolderUri(args, 1, 'targetFolderUri');
      if (!destinations) throw new IpcError('unavailable', 'no upload is waiting for a destination here');
      return destinations.resolve(requestId, target);
    },
  };
}

// ---------------------------------------------------------------- argument validation

function invalid(message: string): IpcError {
  return new IpcError('invalid-argument', message);
}

function argString(args: readonly unknown[], i: number, name: string, opts: { allowEmpty?: boolean; maxLength?: number } = {}): string {
  const v = args[i];
  if (typeof v !== 'string' || (!opts.allowEmpty && v.length === 0)) throw invalid(`${name} must be a non-empty string`);
  if (opts.maxLength !== undefined && v.length > opts.maxLength) throw invalid(`${name} must be at most ${opts.maxLength} characters`);
  return v;
}

function argOptionalString(args: readonly unknown[], i: number, name: string): string | undefined {
  const v = args[i];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${name} must be a non-empty string when given`);
  return v;
}

function argInteger(args: readonly unknown[], i: number, name: string, range: { min?: number; max?: number } = {}): number {
  const v = args[i];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(`${name} must be an integer`);
  if (range.min !== undefined && v < range.min) throw invalid(`${name} must be ≥ ${range.min}`);
  if (range.max !== undefined && v > range.max) throw invalid(`${name} must be ≤ ${range.max}`);
  return v;
}

function argPaths(args: readonly unknown[], i: number): string[] {
  const v = args[i];
  if (!Array.isArray(v) || v.length === 0) throw invalid('paths must be a non-empty array');
  if (v.length > 100_000) throw invalid('too many paths');
  for (const p of v) {
    if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) throw invalid('each path must be a non-empty string');
    if (!isAbsolutePath(p)) throw invalid(`not an absolute path: ${p}`);
  }
  return [...(v as string[])];
}

function argUris(args: readonly unknown[], i: number): string[] {
  const v = args[i];
  if (!Array.isArray(v) || v.length === 0) throw invalid('uris must be a non-empty array');
  if (v.length > 100_000) throw invalid('too many uris');
  for (const u of v) if (typeof u !== 'string' || !isCloudreveUri(u)) throw invalid(`each uri must be a cloudreve:// URI: ${String(u)}`);
  return [...(v as string[])];
}

function isAbsolutePath(p: string): boolean {
  return p.length > 0 && !p.includes('\0') && (posix.isAbsolute(p) || win32.isAbsolute(p));
}

function argAbsolutePath(args: readonly unknown[], i: number, name: string): string {
  const v = argString(args, i, name, { maxLength: 4096 });
  if (!isAbsolutePath(v)) throw invalid(`${name} must be an absolute path`);
  return v;
}

/** A file or folder below a file system's root (a share link of the root itself is refused by the server anyway). */
function argFileUri(args: readonly unknown[], i: number, name: string): string {
  const v = argFolderUri(args, i, name);
  if (!/^cloudreve:\/\/[^/]+\/[^/]/.test(v)) throw invalid(`${name} must name a file or folder, not the root`);
  return v;
}

function argFolderUri(args: readonly unknown[], i: number, name: string): string {
  const v = argString(args, i, name);
  if (!isCloudreveUri(v)) throw invalid(`${name} must be a cloudreve:// URI`);
  return v;
}

function isCloudreveUri(v: string): boolean {
  return /^cloudreve:\/\/[^\s]*$/.test(v);
}

const HISTORY_STATES: readonly HistoryEntryDto['state'][] = ['done', 'skipped', 'failed', 'cancelled'];
const SYNC_MODES: readonly SyncModeDto[] = ['backup', 'mirror'];

function plainObject(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${name} must be an object`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, name: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw invalid(`unknown field in ${name}: ${k}`);
}

/** listHistory's query: every field optional; an absent query is the newest 200. */
export function parseHistoryQuery(v: unknown): HistoryQuery {
  if (v === undefined || v === null) return {};
  const o = plainObject(v, 'query');
  onlyKeys(o, 'query', ['text', 'state', 'limit', 'before']);
  const out: HistoryQuery = {};
  if (o.text !== undefined && o.text !== null && o.text !== '') out.text = argString([o.text], 0, 'query.text', { maxLength: 1000 });
  if (o.state !== undefined && o.state !== null) {
    if (!HISTORY_STATES.includes(o.state as HistoryEntryDto['state'])) throw invalid(`query.state must be one of ${HISTORY_STATES.join(', ')}`);
    out.state = o.state as HistoryEntryDto['state'];
  }
  if (o.limit !== undefined && o.limit !== null) out.limit = argInteger([o.limit], 0, 'query.limit', { min: 1, max: 1000 });
  if (o.before !== undefined && o.before !== null) out.before = argInteger([o.before], 0, 'query.before', { min: 0 });
  return out;
}

function parseIgnore(v: unknown, name: string): string[] {
  if (!Array.isArray(v)) throw invalid(`${name} must be an array of patterns`);
  if (v.length > 1000) throw invalid(`${name}: at most 1000 patterns`);
  return v.map((p, i) => argString([p], 0, `${name}[${i}]`, { maxLength: 1000 }));
}

function parseMode(v: unknown, name: string): SyncModeDto {
  if (!SYNC_MODES.includes(v as SyncModeDto)) throw invalid(`${name} must be one of ${SYNC_MODES.join(', ')}`);
  return v as SyncModeDto;
}

export function parsePairSpec(v: unknown): PairSpecDto {
  const o = plainObject(v, 'spec');
  onlyKeys(o, 'spec', ['localPath', 'remoteUri', 'mode', 'ignore', 'excludeRemote']);
  return {
    localPath: argAbsolutePath([o.localPath], 0, 'spec.localPath'),
    remoteUri: argFolderUri([o.remoteUri], 0, 'spec.remoteUri'),
    mode: parseMode(o.mode, 'spec.mode'),
    ...(o.ignore === undefined ? {} : { ignore: parseIgnore(o.ignore, 'spec.ignore') }),
    ...(o.excludeRemote === undefined ? {} : { excludeRemote: parseExcluded(o.excludeRemote, 'spec.excludeRemote') }),
  };
}

/** Excluded folders: a list of relative paths (the engine normalizes them and refuses the root, '..' and URIs). */
function parseExcluded(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) throw invalid(`${what} must be a list of folder paths relative to the pair's folder`);
  if (v.length > 10_000) throw invalid(`${what}: at most 10000 folders`);
  return v.map((p, i) => argString([p], 0, `${what}[${i}]`, { maxLength: 4096 }));
}

/** previewSync's folder pair: mode and ignore optional (absent: a configured pair's own, else the defaults). */
function parseSyncSpec(v: unknown): { localPath: string; remoteUri: string; mode?: SyncModeDto; ignore?: string[]; excludeRemote?: string[] } {
  const o = plainObject(v, 'spec');
  onlyKeys(o, 'spec', ['localPath', 'remoteUri', 'mode', 'ignore', 'excludeRemote']);
  return {
    localPath: argAbsolutePath([o.localPath], 0, 'spec.localPath'),
    remoteUri: argFolderUri([o.remoteUri], 0, 'spec.remoteUri'),
    ...(o.mode === undefined ? {} : { mode: parseMode(o.mode, 'spec.mode') }),
    ...(o.ignore === undefined ? {} : { ignore: parseIgnore(o.ignore, 'spec.ignore') }),
    ...(o.excludeRemote === undefined ? {} : { excludeRemote: parseExcluded(o.excludeRemote, 'spec.excludeRemote') }),
  };
}

function parsePairPatch(v: unknown): { mode?: SyncModeDto; ignore?: string[] } {
  const o = plainObject(v, 'patch');
  onlyKeys(o, 'patch', ['mode', 'ignore']);
  return {
    ...(o.mode === undefined ? {} : { mode: parseMode(o.mode, 'patch.mode') }),
    ...(o.ignore === undefined ? {} : { ignore: parseIgnore(o.ignore, 'patch.ignore') }),
  };
}

const IF_EXISTS: readonly IfExistsDto[] = ['skip', 'overwrite', 'rename'];
const LANGUAGES: readonly LanguageDto[] = ['system', 'en', 'zh-CN'];
const THEMES: readonly ThemeDto[] = ['system', 'light', 'dark'];

/** Validates a settings patch field by field; unknown keys are rejected so typos do not vanish silently. */
export function parseSettingsPatch(v: unknown): Partial<SettingsDto> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('settings must be an object');
  const out: Partial<SettingsDto> = {};
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    switch (key) {
      case 'defaultTargetFolderUri':
        if (typeof value !== 'string' || !isCloudreveUri(value)) throw invalid(`${key} must be a cloudreve:// URI`);
        out.defaultTargetFolderUri = value;
        break;
      case 'bandwidthLimit':
      case 'downloadBandwidthLimit':
        out[key] = argInteger([value], 0, key, { min: 0 });
        break;
      case 'maxActiveFiles':
        out.maxActiveFiles = argInteger([value], 0, key, { min: 1, max: 32 });
        break;
      case 'chunkConcurrencyCap':
        out.chunkConcurrencyCap = argInteger([value], 0, key, { min: 1, max: 32 });
        break;
      case 'ifExists':
        if (!IF_EXISTS.includes(value as IfExistsDto)) throw invalid(`${key} must be one of ${IF_EXISTS.join(', ')}`);
        out.ifExists = value as IfExistsDto;
        break;
      case 'shellIntegration':
      case 'uploadWithoutAsking':
      case 'launchAtLogin':
        if (typeof value !== 'boolean') throw invalid(`${key} must be a boolean`);
        out[key] = value;
        break;
      case 'settleDelayMs':
        out.settleDelayMs = argInteger([value], 0, key, { min: 200, max: 600_000 });
        break;
      case 'language':
        if (!LANGUAGES.includes(value as LanguageDto)) throw invalid(`${key} must be one of ${LANGUAGES.join(', ')}`);
        out.language = value as LanguageDto;
        break;
      case 'theme':
        if (!THEMES.includes(value as ThemeDto)) throw invalid(`${key} must be one of ${THEMES.join(', ')}`);
        out.theme = value as ThemeDto;
        break;
      default:
        throw invalid(`unknown setting: ${key}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- registration

/** The parts of an invoke event the sender check reads (structural, so tests can fake it). */
export interface SenderInfo {
  sender: unknown;
  senderFrame: { url: string; parent: unknown } | null;
}

export interface IpcServerOptions {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  handlers: Handlers;
  /** Only our window's top frame, showing our page, may call. */
  isTrustedSender: (event: SenderInfo) => boolean;
  /** Called for unexpected (non-domain) failures, e.g. to log them. */
  onInternalError?: (method: MethodName, err: unknown) => void;
}

export function registerIpcServer(opts: IpcServerOptions): Disposer {
  for (const name of METHOD_NAMES) {
    opts.ipcMain.handle(invokeChannel(name), (event: IpcMainInvokeEvent, ...args: unknown[]) =>
      dispatch(opts, name, event, args),
    );
  }
  return () => {
    for (const name of METHOD_NAMES) opts.ipcMain.removeHandler(invokeChannel(name));
  };
}

/** Runs one call: sender check, then the handler; always resolves to a Result. */
export async function dispatch<K extends MethodName>(
  opts: Pick<IpcServerOptions, 'handlers' | 'isTrustedSender' | 'onInternalError'>,
  name: K,
  event: SenderInfo,
  args: readonly unknown[],
): Promise<Result<MethodValue<K>>> {
  if (!opts.isTrustedSender(event)) {
    return fail(toErrorData(new IpcError('untrusted-sender', `Refused ${name} from an untrusted frame`)));
  }
  try {
    const handler = opts.handlers[name] as (a: readonly unknown[]) => MethodValue<K> | Promise<MethodValue<K>>;
    return ok(await handler(args));
  } catch (err) {
    const data = toErrorData(err);
    if (data.code === 'internal') opts.onInternalError?.(name, err);
    return fail(data);
  }
}

/**
 * A sender check for one window: the call must come from that window's webContents, from its top frame,
 * and the frame must show `pageUrl` (query and hash ignored).
 */
export function createSenderCheck(
  getWebContents: () => unknown,
  pageUrl: string,
): (event: SenderInfo) => boolean {
  const expected = stripUrl(pageUrl);
  return (event) => {
    const contents = getWebContents();
    if (!contents || event.sender !== contents) return false;
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null) return false;
    return stripUrl(frame.url) === expected;
  };
}

function stripUrl(url: string): string {
  try {
    const u = new URL(url);
    u.hash = '';
    u.search = '';
    return u.href;
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- events

export type EventSink = <K extends EventName>(name: K, payload: EventMap[K]) => void;

export interface ForwardOptions {
  /** Progress is coalesced and sent at most once per interval (default 200 ms). */
  intervalMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * Engine events → DTO events on `send`. Discrete facts (added, state changed, removed, account) go at once;
 * progress for each transfer and the overall aggregate are coalesced (latest wins) and flushed on a timer.
 * A discrete event for a transfer drops that transfer's pending progress, so a stale progress value can never
 * arrive after the state change that superseded it.
 */
export function forwardEngineEvents(engine: Engine, send: EventSink, opts: ForwardOptions = {}): Disposer {
  const intervalMs = opts.intervalMs ?? 200;
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const progress = new Map<string, EventMap['transfer-progressed']>();
  let overall: OverallDto | null = null;
  let timer: unknown = null;

  const flush = (): void => {
    timer = null;
    const batch = [...progress.values()];
    progress.clear();
    for (const p of batch) send('transfer-progressed', p);
    if (overall) {
      const o = overall;
      overall = null;
      send('overall-progressed', o);
    }
  };
  const schedule = (): void => {
    if (timer === null) timer = setTimer(flush, intervalMs);
  };

  const ev = engine.events;
  const disposers: Disposer[] = [
    ev.on('transfer-added', (t) => {
      progress.delete(t.id);
      send('transfer-added', toTransferDto(t));
    }),
    ev.on('transfer-state-changed', ({ transfer, from }) => {
      progress.delete(transfer.id);
      send('transfer-state-changed', { transfer: toTransferDto(transfer), from });
    }),
    ev.on('transfer-removed', ({ id }) => {
      progress.delete(id);
      send('transfer-removed', { id });
    }),
    ev.on('transfer-progressed', (p) => {
      progress.set(p.id, { id: p.id, bytesDone: p.bytesDone, speed: p.speed, eta: p.eta ?? null });
      schedule();
    }),
    // downloads: the same events as uploads, as rows of the same queue (direction 'download')
    ev.on('download-changed', ({ download, from }) => {
      progress.delete(download.id);
      send('transfer-state-changed', { transfer: toDownloadDto(download), from });
    }),
    ev.on('download-progressed', (p) => {
      progress.set(p.id, { id: p.id, bytesDone: p.bytesDone, speed: p.speed, eta: p.eta ?? null });
      schedule();
    }),
    ev.on('download-removed', ({ id }) => {
      progress.delete(id);
      send('transfer-removed', { id });
    }),
    ev.on('overall-progressed', (o) => {
      overall = toOverallDto(o);
      schedule();
    }),
    ev.on('account-changed', ({ loggedIn }) => {
      send('account-changed', { account: loggedIn ? toAccountDto(engine.account()) : null });
    }),
    ev.on('connectivity-changed', (state) => send('connectivity-changed', { ...state })),
    ev.on('pair-changed', (p) => {
      if (p.watched) send('pair-changed', toPairDto(p));
    }),
    ev.on('pair-removed', ({ id }) => send('pair-removed', { id })),
    ev.on('sync-conflict', (c) => send('conflict-added', toConflictDto(c))),
    ev.on('sync-conflict-resolved', ({ conflict, choice }) => send('conflict-resolved', { conflict: toConflictDto(conflict), choice })),
    ev.on('history-added', (e) => send('history-added', toHistoryEntryDto(e))),
  ];

  return () => {
    for (const d of disposers) d();
    if (timer !== null) clearTimer(timer);
    timer = null;
    progress.clear();
    overall = null;
  };
}
