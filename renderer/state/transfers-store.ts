/**
 * The queue's state, built for 10,000 transfers: a Map by id (updated in place: a progress event costs O(1), no
 * copy of the list), the display order rebuilt lazily (at most once per frame, only after something joined,
 * left or changed priority), and per-state counts kept incrementally so the toolbar never scans the list.
 * No DOM, no IPC: tested in plain Node. The views read rows by index (`at(i)`) for the visible window only.
 *
 * Rules:
 *   - A snapshot (listTransfers at start-up or after sign-in) replaces the list.
 *   - transfer-added / transfer-state-changed carry a whole transfer and upsert it.
 *   - transfer-progressed only updates a known, non-terminal transfer (a late progress value never
 *     un-finishes a transfer).
 *   - Rows are in run order: priority (higher first), then creation time, then id — as the engine picks them.
 *   - Uploads and downloads (`direction`) are rows of the same list, in the same order, with the same buttons; a
 *     download's own states are 'downloading' (running) and 'conflict' (finished, as a conflict copy).
 */
import type {
  ConnectivityDto,
  TransferDirectionDto,
  EventMap,
  EventName,
  OverallDto,
  TransferDto,
  TransferStateDto,
} from '../../main/ipc/contract.js';
import type { PluralKey, Translator } from '../i18n/translator.js';
import { displayUri } from './display-names.js';

export type EventAction = { [K in EventName]: { type: K; payload: EventMap[K] } }[EventName];
export type StoreAction = { type: 'snapshot'; transfers: readonly TransferDto[] } | { type: 'reset' } | EventAction;

const TERMINAL: ReadonlySet<TransferStateDto> = new Set(['done', 'conflict', 'skipped', 'failed', 'cancelled']);
const PAUSABLE: ReadonlySet<TransferStateDto> = new Set([
  'queued',
  'preflight',
  'creating-session',
  'uploading',
  'downloading',
  'waiting-retry',
  'waiting-file',
]);
const RUNNING: ReadonlySet<TransferStateDto> = new Set(['preflight', 'creating-session', 'uploading', 'downloading', 'completing']);
/** finished with every byte here (a download's conflict copy too) */
const COMPLETE: ReadonlySet<TransferStateDto> = new Set(['done', 'conflict']);

export function isTerminal(state: TransferStateDto): boolean {
  return TERMINAL.has(state);
}

export function compareTransfers(a: TransferDto, b: TransferDto): number {
  return b.priority - a.priority || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class TransfersStore {
  private readonly byId = new Map<string, TransferDto>();
  private order: string[] = [];
  /** the order must be rebuilt (something joined, left, or changed priority) */
  private orderDirty = false;
  private readonly counts = new Map<TransferStateDto, number>();
  /** running totals for the aggregate (what deriveOverall would compute), kept per change instead of per frame */
  private readonly sums = { bytesDone: 0, bytesTotal: 0, speed: 0 };
  private maxPriority = 0;
  /** how many of the transfers are downloads */
  private downloads = 0;
  /** The engine's aggregate once one has arrived; until then derived from the transfers. */
  overall: OverallDto | null = null;
  loaded = false;
  /** Bumped on every change: a view redraws only when it moved. */
  version = 0;

  /** Applies a snapshot or a pushed event; false when it changed nothing. */
  apply(action: StoreAction): boolean {
    switch (action.type) {
      case 'reset':
        this.clear();
        this.loaded = false;
        return this.bump();
      case 'snapshot':
        this.clear();
        for (const t of action.transfers) this.put(t);
        this.loaded = true;
        return this.bump();
      case 'transfer-added':
        this.put(action.payload);
        return this.bump();
      case 'transfer-state-changed':
        this.put(action.payload.transfer);
        return this.bump();
      case 'transfer-progressed': {
        const p = action.payload;
        const t = this.byId.get(p.id);
        if (!t || TERMINAL.has(t.state)) return false;
        if (t.bytesDone === p.bytesDone && t.speed === p.speed && t.eta === p.eta) return false;
        this.sum(t, -1);
        t.bytesDone = p.bytesDone;
        t.speed = p.speed;
        t.eta = p.eta;
        this.sum(t, 1);
        return this.bump();
      }
      case 'transfer-removed': {
        const t = this.byId.get(action.payload.id);
        if (!t) return false;
        this.byId.delete(t.id);
        if (t.direction === 'download') this.downloads--;
        this.count(t.state, -1);
        this.sum(t, -1);
        this.orderDirty = true;
        return this.bump();
      }
      case 'overall-progressed':
        this.overall = action.payload;
        return this.bump();
      case 'account-changed':
        // A different (or no) account: its transfers are not ours to show until the next snapshot.
        if (action.payload.account) return false;
        this.clear();
        this.loaded = false;
        return this.bump();
      default:
        return false; // connectivity, pairs, conflicts, history, sign-in and picker events belong elsewhere
    }
  }

  /** A local change after setPriority succeeded (the engine sends no event for it). */
  setPriority(id: string, priority: number): void {
    const t = this.byId.get(id);
    if (!t || t.priority === priority) return;
    t.priority = priority;
    this.maxPriority = Math.max(this.maxPriority, priority);
    this.orderDirty = true;
    this.bump();
  }

  /** The priority that puts a transfer ahead of every other one. */
  topPriority(): number {
    return this.maxPriority + 1;
  }

  get size(): number {
    return this.byId.size;
  }

  /** How many of the transfers are downloads (O(1)). */
  get downloadCount(): number {
    return this.downloads;
  }

  get(id: string): TransferDto | undefined {
    return this.byId.get(id);
  }

  /** The transfer at display position i (0 ≤ i < size). */
  at(i: number): TransferDto | undefined {
    return this.byId.get(this.ids()[i]);
  }

  /** The ids in display order (rebuilt here when needed: O(n log n) once per change batch, not per event). */
  ids(): readonly string[] {
    if (this.orderDirty) {
      this.order = [...this.byId.values()].sort(compareTransfers).map((t) => t.id);
      this.orderDirty = false;
    }
    return this.order;
  }

  countOf(state: TransferStateDto): number {
    return this.counts.get(state) ?? 0;
  }

  /** The aggregate from the transfers themselves (as deriveOverall, in O(1)): until the engine sends its own. */
  derivedOverall(): OverallDto {
    let active = 0;
    for (const s of RUNNING) active += this.countOf(s);
    const queued = this.countOf('queued') + this.countOf('waiting-retry') + this.countOf('waiting-file');
    const speed = active > 0 ? Math.max(0, this.sums.speed) : 0;
    const { bytesDone, bytesTotal } = this.sums;
    return { bytesDone, bytesTotal, speed, eta: speed > 0 ? (bytesTotal - bytesDone) / speed : null, active, queued };
  }

  /** Every transfer in display order (tests; never per event or per frame). */
  list(): TransferDto[] {
    return this.ids().map((id) => this.byId.get(id)!);
  }

  /**
   * Takes the DTO as its own and updates it in place from then on: every DTO arrives freshly deserialized (IPC's
   * structured clone, the HTTP bridge's JSON), so nobody else holds it; copying 10,000 of them would only cost.
   */
  private put(t: TransferDto): void {
    const prev = this.byId.get(t.id);
    if (prev) {
      this.count(prev.state, -1);
      this.sum(prev, -1);
      if (prev.direction === 'download') this.downloads--;
    }
    if (t.direction === 'download') this.downloads++;
    if (!prev || prev.priority !== t.priority) this.orderDirty = true;
    this.byId.set(t.id, t);
    this.count(t.state, 1);
    this.sum(t, 1);
    this.maxPriority = Math.max(this.maxPriority, t.priority);
  }

  /** adds (sign 1) or takes away (sign -1) what t contributes to the aggregate, by deriveOverall's rules */
  private sum(t: TransferDto, sign: 1 | -1): void {
    if (t.state === 'cancelled' || t.state === 'skipped') return;
    this.sums.bytesTotal += sign * t.size;
    this.sums.bytesDone += sign * (COMPLETE.has(t.state) ? t.size : Math.min(t.bytesDone, t.size));
    if (RUNNING.has(t.state)) this.sums.speed += sign * t.speed;
  }

  private count(state: TransferStateDto, delta: number): void {
    this.counts.set(state, (this.counts.get(state) ?? 0) + delta);
  }

  private clear(): void {
    this.byId.clear();
    this.counts.clear();
    this.sums.bytesDone = this.sums.bytesTotal = this.sums.speed = 0;
    this.order = [];
    this.orderDirty = false;
    this.overall = null;
    this.maxPriority = 0;
    this.downloads = 0;
  }

  private bump(): true {
    this.version++;
    return true;
  }
}

/** The status line while the server cannot be reached ('' while online). `now` in ms since the epoch. */
export function connectivityNotice(c: ConnectivityDto, now: number, tr: Translator): string {
  if (c.online) return '';
  const next =
    c.nextProbeAt === null ? tr.t('app.offline.now') : tr.t('app.offline.next', { seconds: Math.max(1, Math.round((c.nextProbeAt - now) / 1000)) });
  return tr.t('app.offline', { reason: c.reason ?? tr.t('app.offline.reason'), next });
}

/** The aggregate over a list of transfers, by definition: the store keeps the same figures as running totals (derivedOverall). */
export function deriveOverall(transfers: Iterable<TransferDto>): OverallDto {
  const o: OverallDto = { bytesDone: 0, bytesTotal: 0, speed: 0, eta: null, active: 0, queued: 0 };
  for (const t of transfers) {
    if (t.state === 'cancelled' || t.state === 'skipped') continue;
    o.bytesTotal += t.size;
    o.bytesDone += COMPLETE.has(t.state) ? t.size : Math.min(t.bytesDone, t.size);
    if (RUNNING.has(t.state)) {
      o.active++;
      o.speed += t.speed;
    } else if (t.state === 'queued' || t.state === 'waiting-retry' || t.state === 'waiting-file') o.queued++;
  }
  o.eta = o.speed > 0 ? (o.bytesTotal - o.bytesDone) / o.speed : null;
  return o;
}

/** Whole percent, clamped to 0–100; never rounds up to 100 before the last byte. */
export function percentOf(done: number, total: number): number {
  if (!(total > 0)) return 0;
  const p = Math.floor((Math.max(0, done) / total) * 100);
  return Math.min(100, Math.max(0, p));
}

// ---------------------------------------------------------------- view model

export type RowTone = 'active' | 'waiting' | 'paused' | 'done' | 'failed' | 'muted';
export type RowAction = 'pause' | 'resume' | 'cancel' | 'retry' | 'top';

export interface TransferRowVm {
  id: string;
  direction: TransferDirectionDto;
  /** ↑ for an upload, ↓ for a download */
  directionIcon: string;
  /** "Upload" / "Download" in the user's language */
  directionLabel: string;
  name: string;
  localPath: string;
  targetUri: string;
  state: TransferStateDto;
  stateLabel: string;
  tone: RowTone;
  percent: number;
  percentText: string;
  bytesText: string;
  speedText: string;
  etaText: string;
  errorText: string;
  actions: readonly RowAction[];
}

export interface OverallVm {
  percent: number;
  percentText: string;
  summary: string;
  detail: string;
  /** Something is queued or running. */
  busy: boolean;
}

export interface QueueToolbarVm {
  canPauseAll: boolean;
  canResumeAll: boolean;
  canClearFinished: boolean;
}

export function rowActions(state: TransferStateDto): RowAction[] {
  const actions: RowAction[] = [];
  if (PAUSABLE.has(state)) actions.push('pause');
  if (state === 'paused') actions.push('resume');
  if (state === 'failed') actions.push('retry');
  if (state === 'queued' || state === 'paused' || state === 'waiting-retry' || state === 'waiting-file') actions.push('top');
  if (!TERMINAL.has(state)) actions.push('cancel');
  return actions;
}

function toneOf(state: TransferStateDto): RowTone {
  if (RUNNING.has(state)) return 'active';
  if (state === 'paused') return 'paused';
  if (COMPLETE.has(state)) return 'done';
  if (state === 'failed') return 'failed';
  if (state === 'cancelled' || state === 'skipped') return 'muted';
  return 'waiting';
}

/** The reason shown under a row: a failure's, or a waiting transfer's with its next try (the row is redrawn on each). */
function errorTextOf(t: TransferDto, tr: Translator, now: number): string {
  if (t.state === 'conflict') return tr.t('queue.conflictCopy', { name: t.name });
  if (!t.error || (t.state !== 'failed' && t.state !== 'waiting-retry')) return '';
  if (t.state !== 'waiting-retry' || !t.retryAt) return t.error.message;
  return tr.t('queue.retryIn', { reason: t.error.message, time: tr.duration(Math.max(1, Math.round((t.retryAt - now) / 1000))) });
}

export function toRowVm(t: TransferDto, tr: Translator, now = Date.now()): TransferRowVm {
  const complete = COMPLETE.has(t.state);
  const percent = complete ? 100 : percentOf(t.bytesDone, t.size);
  const running = RUNNING.has(t.state);
  const direction: TransferDirectionDto = t.direction === 'download' ? 'download' : 'upload';
  return {
    id: t.id,
    direction,
    directionIcon: direction === 'download' ? '↓' : '↑',
    directionLabel: tr.t(`direction.${direction}`),
    name: t.name,
    localPath: t.localPath,
    targetUri: displayUri(t.targetUri),
    state: t.state,
    stateLabel: tr.t(`state.${t.state}`),
    tone: toneOf(t.state),
    percent,
    percentText: `${percent}%`,
    bytesText: complete ? tr.bytes(t.size) : tr.t('queue.bytes', { done: tr.bytes(Math.min(t.bytesDone, t.size)), total: tr.bytes(t.size) }),
    speedText: running && t.speed > 0 ? tr.speed(t.speed) : '',
    etaText: running && t.eta !== null ? tr.t('queue.left', { time: tr.duration(t.eta) }) : '',
    errorText: errorTextOf(t, tr, now),
    actions: rowActions(t.state),
  };
}

export function toOverallVm(store: TransfersStore, tr: Translator): OverallVm {
  // What runs and waits comes from the store's own counts (exact, O(1)); the engine's throttled aggregate gives
  // bytes and speed while something runs, and is not trusted once nothing does (its last word may predate the end).
  const own = store.derivedOverall();
  // (the engine's aggregate counts uploads only: while a download runs, the store's own figures cover both directions)
  const downloading = store.countOf('downloading');
  const o = store.overall && own.active > 0 && downloading === 0 ? { ...store.overall, active: own.active, queued: own.queued } : own;
  const percent = percentOf(o.bytesDone, o.bytesTotal);
  const busy = o.active + o.queued > 0;
  let summary: string;
  if (o.active > 0 && downloading === 0) summary = tr.plural('overall.uploading' satisfies PluralKey, o.active);
  else if (o.active > 0) summary = tr.plural(downloading === o.active ? 'overall.downloading' : 'overall.transferring', o.active);
  else if (o.queued > 0) summary = tr.t('overall.waiting', { count: tr.number(o.queued) });
  else if (store.size === 0) summary = tr.t('overall.nothing');
  else if (store.countOf('paused') > 0) summary = tr.t('overall.paused');
  else if (store.countOf('failed') > 0) summary = tr.t('overall.errors');
  else summary = tr.t(store.downloadCount > 0 ? 'overall.finishedBoth' : 'overall.finished');
  const detail = [
    o.bytesTotal > 0 ? tr.t('queue.bytes', { done: tr.bytes(o.bytesDone), total: tr.bytes(o.bytesTotal) }) : '',
    busy && o.speed > 0 ? tr.speed(o.speed) : '',
    busy && o.eta !== null ? tr.t('queue.left', { time: tr.duration(o.eta) }) : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return { percent, percentText: `${percent}%`, summary, detail, busy };
}

export function toToolbarVm(store: TransfersStore): QueueToolbarVm {
  let pausable = 0;
  for (const s of PAUSABLE) pausable += store.countOf(s);
  return {
    canPauseAll: pausable > 0,
    canResumeAll: store.countOf('paused') > 0,
    canClearFinished: store.countOf('done') + store.countOf('conflict') + store.countOf('skipped') + store.countOf('cancelled') > 0,
  };
}
