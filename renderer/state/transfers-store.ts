/**
 * PURE state for the queue: a reducer from (snapshot | pushed event) to TransfersState, and a selector from
 * that state to the view model the DOM views draw. No DOM, no IPC: tested in plain Node.
 *
 * Ordering rules:
 *   - A snapshot (listTransfers at start-up or after sign-in) replaces the list.
 *   - transfer-added / transfer-state-changed carry a whole transfer and upsert it.
 *   - transfer-progressed only updates a known, non-terminal transfer (a late progress value never
 *     un-finishes a transfer).
 *   - Rows are ordered by creation time, then id.
 */
import type {
  ConnectivityDto,
  EventMap,
  EventName,
  OverallDto,
  TransferDto,
  TransferStateDto,
} from '../../main/ipc/contract.js';
import { formatBytes, formatEta, formatSpeed, percentOf } from './format.js';

export interface TransfersState {
  readonly byId: Readonly<Record<string, TransferDto>>;
  readonly order: readonly string[];
  /** The engine's aggregate once one has arrived; until then derived from the transfers. */
  readonly overall: OverallDto | null;
  readonly loaded: boolean;
}

export type EventAction = { [K in EventName]: { type: K; payload: EventMap[K] } }[EventName];
export type StoreAction = { type: 'snapshot'; transfers: readonly TransferDto[] } | { type: 'reset' } | EventAction;

export const initialTransfersState: TransfersState = Object.freeze({
  byId: Object.freeze({}),
  order: Object.freeze([]),
  overall: null,
  loaded: false,
});

const TERMINAL: ReadonlySet<TransferStateDto> = new Set(['done', 'skipped', 'failed', 'cancelled']);
const PAUSABLE: ReadonlySet<TransferStateDto> = new Set([
  'queued',
  'preflight',
  'creating-session',
  'uploading',
  'waiting-retry',
  'waiting-file',
]);
const RUNNING: ReadonlySet<TransferStateDto> = new Set(['preflight', 'creating-session', 'uploading', 'completing']);

export function isTerminal(state: TransferStateDto): boolean {
  return TERMINAL.has(state);
}

export function reduceTransfers(state: TransfersState, action: StoreAction): TransfersState {
  switch (action.type) {
    case 'reset':
      return initialTransfersState;
    case 'snapshot': {
      const byId: Record<string, TransferDto> = {};
      for (const t of action.transfers) byId[t.id] = t;
      return { byId, order: sortIds(byId), overall: null, loaded: true };
    }
    case 'transfer-added':
      return upsert(state, action.payload);
    case 'transfer-state-changed':
      return upsert(state, action.payload.transfer);
    case 'transfer-progressed': {
      const p = action.payload;
      const t = state.byId[p.id];
      if (!t || isTerminal(t.state)) return state;
      return { ...state, byId: { ...state.byId, [p.id]: { ...t, bytesDone: p.bytesDone, speed: p.speed, eta: p.eta } } };
    }
    case 'transfer-removed': {
      if (!state.byId[action.payload.id]) return state;
      const byId = { ...state.byId };
      delete byId[action.payload.id];
      return { ...state, byId, order: state.order.filter((id) => id !== action.payload.id) };
    }
    case 'overall-progressed':
      return { ...state, overall: action.payload };
    case 'account-changed':
      // A different (or no) account: its transfers are not ours to show until the next snapshot.
      return action.payload.account ? state : initialTransfersState;
    case 'connectivity-changed':
      return state; // shown on the status line (connectivityNotice), the transfers say waiting-retry themselves
    default:
      return state; // pairs, conflicts, history, sign-in and picker events belong to other stores
  }
}

/** The status line while the server cannot be reached ('' while online). `now` in ms since the epoch. */
export function connectivityNotice(c: ConnectivityDto, now: number): string {
  if (c.online) return '';
  const next =
    c.nextProbeAt === null ? 'trying again now' : `next try in ${Math.max(1, Math.round((c.nextProbeAt - now) / 1000))} s`;
  return `Offline: ${c.reason ?? 'the server cannot be reached'}. Uploads wait and continue by themselves (${next}).`;
}

function upsert(state: TransfersState, t: TransferDto): TransfersState {
  const known = state.byId[t.id] !== undefined;
  const byId = { ...state.byId, [t.id]: t };
  return { ...state, byId, order: known ? state.order : sortIds(byId) };
}

function sortIds(byId: Readonly<Record<string, TransferDto>>): string[] {
  return Object.values(byId)
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((t) => t.id);
}

/** An aggregate computed from the transfers themselves (used until the engine sends one). */
export function deriveOverall(transfers: readonly TransferDto[]): OverallDto {
  const o: OverallDto = { bytesDone: 0, bytesTotal: 0, speed: 0, eta: null, active: 0, queued: 0 };
  for (const t of transfers) {
    if (t.state === 'cancelled' || t.state === 'skipped') continue;
    o.bytesTotal += t.size;
    o.bytesDone += t.state === 'done' ? t.size : Math.min(t.bytesDone, t.size);
    if (RUNNING.has(t.state)) {
      o.active++;
      o.speed += t.speed;
    } else if (t.state === 'queued' || t.state === 'waiting-retry' || t.state === 'waiting-file') o.queued++;
  }
  o.eta = o.speed > 0 ? (o.bytesTotal - o.bytesDone) / o.speed : null;
  return o;
}

// ---------------------------------------------------------------- view model

export type RowTone = 'active' | 'waiting' | 'paused' | 'done' | 'failed' | 'muted';
export type RowAction = 'pause' | 'resume' | 'cancel' | 'retry';

export interface TransferRowVm {
  id: string;
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

export interface QueueVm {
  loaded: boolean;
  rows: TransferRowVm[];
  overall: OverallVm;
  canPauseAll: boolean;
  canResumeAll: boolean;
  canClearFinished: boolean;
}

const STATE_LABELS: Record<TransferStateDto, string> = {
  queued: 'Queued',
  preflight: 'Preparing',
  'creating-session': 'Starting',
  uploading: 'Uploading',
  completing: 'Finishing',
  paused: 'Paused',
  'waiting-retry': 'Retrying soon',
  'waiting-file': 'Waiting for file',
  done: 'Done',
  skipped: 'Skipped',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function stateLabel(state: TransferStateDto): string {
  return STATE_LABELS[state];
}

export function rowActions(state: TransferStateDto): RowAction[] {
  const actions: RowAction[] = [];
  if (PAUSABLE.has(state)) actions.push('pause');
  if (state === 'paused') actions.push('resume');
  if (state === 'failed') actions.push('retry');
  if (!TERMINAL.has(state)) actions.push('cancel');
  return actions;
}

function toneOf(state: TransferStateDto): RowTone {
  if (RUNNING.has(state)) return 'active';
  if (state === 'paused') return 'paused';
  if (state === 'done') return 'done';
  if (state === 'failed') return 'failed';
  if (state === 'cancelled' || state === 'skipped') return 'muted';
  return 'waiting';
}

export function toRowVm(t: TransferDto): TransferRowVm {
  const percent = t.state === 'done' ? 100 : percentOf(t.bytesDone, t.size);
  const running = RUNNING.has(t.state);
  return {
    id: t.id,
    name: t.name,
    localPath: t.localPath,
    targetUri: t.targetUri,
    state: t.state,
    stateLabel: STATE_LABELS[t.state],
    tone: toneOf(t.state),
    percent,
    percentText: `${percent}%`,
    bytesText: t.state === 'done' ? formatBytes(t.size) : `${formatBytes(Math.min(t.bytesDone, t.size))} of ${formatBytes(t.size)}`,
    speedText: running && t.speed > 0 ? formatSpeed(t.speed) : '',
    etaText: running && t.eta !== null ? `${formatEta(t.eta)} left` : '',
    errorText: t.state === 'failed' && t.error ? t.error.message : '',
    actions: rowActions(t.state),
  };
}

export function toOverallVm(o: OverallDto, transfers: readonly TransferDto[]): OverallVm {
  const percent = percentOf(o.bytesDone, o.bytesTotal);
  const busy = o.active + o.queued > 0;
  let summary: string;
  if (o.active > 0) summary = `Uploading ${o.active} ${o.active === 1 ? 'file' : 'files'}`;
  else if (o.queued > 0) summary = `${o.queued} waiting`;
  else if (transfers.length === 0) summary = 'Nothing to upload';
  else if (transfers.some((t) => t.state === 'paused')) summary = 'Paused';
  else if (transfers.some((t) => t.state === 'failed')) summary = 'Finished with errors';
  else summary = 'All uploads finished';
  const detail = [
    o.bytesTotal > 0 ? `${formatBytes(o.bytesDone)} of ${formatBytes(o.bytesTotal)}` : '',
    busy && o.speed > 0 ? formatSpeed(o.speed) : '',
    busy && o.eta !== null ? `${formatEta(o.eta)} left` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return { percent, percentText: `${percent}%`, summary, detail, busy };
}

export function toQueueVm(state: TransfersState): QueueVm {
  const transfers = state.order.map((id) => state.byId[id]);
  const overall = state.overall ?? deriveOverall(transfers);
  return {
    loaded: state.loaded,
    rows: transfers.map(toRowVm),
    overall: toOverallVm(overall, transfers),
    canPauseAll: transfers.some((t) => PAUSABLE.has(t.state)),
    canResumeAll: transfers.some((t) => t.state === 'paused'),
    canClearFinished: transfers.some((t) => t.state === 'done' || t.state === 'skipped' || t.state === 'cancelled'),
  };
}
