/**
 * PURE: sync pairs and conflicts as the screens show them. Pairs and conflicts arrive as whole objects
 * (listPairs / pair-changed / pair-removed, listConflicts / conflict-added / conflict-resolved), so the state is
 * small lists replaced by id. Every reason is worded here from the engine's codes and data, in the user's language
 * (the engine's English `message`s are for logs).
 */
import type { ConflictDto, PairDto, PairStateDto, SyncIssueCodeDto, SyncIssueDto } from '../../main/ipc/contract.js';
import type { Translator } from '../i18n/translator.js';
import { displayUri } from './display-names.js';

export function upsertPair(pairs: readonly PairDto[], pair: PairDto): PairDto[] {
  const rest = pairs.filter((p) => p.id !== pair.id);
  return [...rest, pair].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

export function removePair(pairs: readonly PairDto[], id: string): PairDto[] {
  return pairs.filter((p) => p.id !== id);
}

/** Newest first; a conflict already listed is replaced. */
export function addConflict(conflicts: readonly ConflictDto[], c: ConflictDto): ConflictDto[] {
  return [c, ...conflicts.filter((x) => x.id !== c.id)].sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
}

export function dismissConflict(conflicts: readonly ConflictDto[], id: number): ConflictDto[] {
  return conflicts.filter((c) => c.id !== id);
}

/** Every issue code (the renderer imports only types from the contract), in the order equal counts are named. */
const SYNC_ISSUE_CODES = [
  'quota',
  'too-large',
  'name-refused',
  'unreadable',
  'special-file',
  'name-twins',
  'type-clash',
  'locked',
  'retry-spent',
  'vanished',
  'failed',
] as const satisfies readonly SyncIssueCodeDto[];
type MissingIssueCodes = Exclude<SyncIssueCodeDto, (typeof SYNC_ISSUE_CODES)[number]>;
export const ISSUE_CODES_ARE_COMPLETE: [MissingIssueCodes] extends [never] ? true : MissingIssueCodes = true;

export type PairTone = 'ok' | 'busy' | 'paused' | 'warn' | 'error';

export interface PairVm {
  id: string;
  localPath: string;
  remoteUri: string;
  modeLabel: string;
  mirror: boolean;
  /** the state shown: 'idle' with files missing on the server is shown as 'incomplete' (never "up to date") */
  state: PairStateDto;
  stateLabel: string;
  tone: PairTone;
  /** why the pair is in its state ('' when there is nothing to add) */
  detail: string;
  /** "12 files not backed up: storage full (10), cannot be read (2)"; '' when every file is on the server */
  notSynced: string;
  notSyncedCount: number;
  /** "Last full scan 5 minutes ago · last change 20 seconds ago" */
  freshness: string;
  /** the same as dates and times (a tooltip) */
  freshnessTitle: string;
  paused: boolean;
  /** deletions waiting for the user's go-ahead; null unless needs-confirmation */
  pendingDeletes: number | null;
  /** two-way, the pair's folder on the server gone or emptied: the window offers to put it back from here */
  remoteGone: boolean;
  /** needs-confirmation: the paths that would go to the server's trash (as many as the engine listed) */
  heldPaths: string[];
  /** needs-confirmation: how many more are held back than listed */
  heldMore: number;
  ignore: string;
}

/** States that want the user to look (the sidebar's badge). */
export const PAIR_ATTENTION_STATES: readonly PairStateDto[] = ['needs-confirmation', 'error', 'incomplete', 'remote-missing'];

const TONES: Record<PairStateDto, PairTone> = {
  idle: 'ok',
  incomplete: 'warn',
  'remote-missing': 'error',
  scanning: 'busy',
  syncing: 'busy',
  paused: 'paused',
  offline: 'warn',
  'login-required': 'error',
  unavailable: 'error',
  'needs-confirmation': 'warn',
  error: 'error',
};

/** How many of a pair's files are not on the server (0 when none or not known). */
export function notSyncedCount(p: PairDto): number {
  return p.stateDetail?.notSynced?.count ?? 0;
}

/** The state to show: a pair that reads idle while files are missing on the server is not up to date. */
export function shownState(p: PairDto): PairStateDto {
  return p.state === 'idle' && notSyncedCount(p) > 0 ? 'incomplete' : p.state;
}

/** A reason code in the user's words ("storage full"); an unknown code (a newer engine) reads as a failure. */
export function issueReason(code: string, tr: Translator): string {
  return tr.t(`issue.${(SYNC_ISSUE_CODES as readonly string[]).includes(code) ? (code as SyncIssueCodeDto) : 'failed'}`);
}

/**
 * "12 files not backed up: storage full" — or, with several reasons, the most frequent first with their counts:
 * "12 files not backed up: storage full (10), cannot be read (2)" (at most three named, then "…").
 */
export function notSyncedText(notSynced: NonNullable<PairDto['stateDetail']>['notSynced'], tr: Translator): string {
  if (!notSynced || notSynced.count <= 0) return '';
  const order = (c: string) => {
    const i = (SYNC_ISSUE_CODES as readonly string[]).indexOf(c);
    return i < 0 ? SYNC_ISSUE_CODES.length : i;
  };
  const ranked = Object.entries(notSynced.byCode)
    .filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > 0)
    .sort((a, b) => b[1] - a[1] || order(a[0]) - order(b[0]));
  let reasons: string;
  if (ranked.length <= 1) reasons = issueReason(ranked[0]?.[0] ?? 'failed', tr);
  else {
    const named = ranked.slice(0, 3).map(([code, n]) => tr.t('pairs.reasonCount', { reason: issueReason(code, tr), count: tr.number(n) }));
    reasons = named.join(tr.t('pairs.reasonSeparator')) + (ranked.length > 3 ? tr.t('pairs.reasonSeparator') + '…' : '');
  }
  return tr.plural('pairs.notSynced', notSynced.count, { reasons });
}

/** One not-synced path in the user's words: the reason, and when it is tried again (if it waits). */
export function issueText(i: SyncIssueDto, tr: Translator, now = Date.now()): string {
  const reason = issueReason(i.code, tr);
  return i.retryAt !== null && i.retryAt > now ? `${reason} · ${tr.t('pairs.issueRetry', { when: tr.relative(i.retryAt, now) })}` : reason;
}

/** "Last full scan 5 minutes ago · last change 20 seconds ago", and the same as dates for a tooltip. */
export function freshness(p: PairDto, tr: Translator, now = Date.now()): { text: string; title: string } {
  const scan =
    p.lastFullScanAt !== null ? ['pairs.lastFullScan', p.lastFullScanAt] as const : p.lastScanAt !== null ? ['pairs.lastScan', p.lastScanAt] as const : null;
  if (!scan) return { text: tr.t('pairs.neverScanned'), title: '' };
  const text = [tr.t(scan[0], { when: tr.relative(scan[1], now) })];
  const title = [tr.t(scan[0], { when: tr.dateTime(scan[1]) })];
  if (p.lastChangeAt !== null) {
    text.push(tr.t('pairs.lastChange', { when: tr.relative(p.lastChangeAt, now) }));
    title.push(tr.t('pairs.lastChange', { when: tr.dateTime(p.lastChangeAt) }));
  }
  return { text: text.join(' · '), title: title.join(' · ') };
}

function detailOf(p: PairDto, state: PairStateDto, pending: number | null, tr: Translator): string {
  switch (state) {
    case 'needs-confirmation':
      if (p.stateDetail?.code === 'remote-gone') return tr.plural('pairs.remoteGoneAsk', pending ?? 0);
      if (p.mode === 'two-way') return tr.plural('pairs.confirmTwoWayAsk', pending ?? 0);
      return tr.plural(p.confirmMirror ? 'pairs.confirmMirrorAsk' : 'pairs.confirmDeletesAsk', pending ?? 0);
    case 'remote-missing':
      return tr.t('pairs.remoteMissing');
    case 'idle':
    case 'incomplete':
      // the not-synced line says it (the engine's sentence is English)
      return p.stateDetail?.notSynced ? '' : (p.stateDetail?.message ?? '');
    default:
      return p.stateDetail?.message ?? '';
  }
}

export function toPairVm(p: PairDto, tr: Translator, now = Date.now()): PairVm {
  const state = shownState(p);
  const pending = state === 'needs-confirmation' ? (p.stateDetail?.pendingDeletes ?? p.stateDetail?.paths?.length ?? 0) : null;
  const heldPaths = state === 'needs-confirmation' ? (p.stateDetail?.paths ?? []) : [];
  const fresh = freshness(p, tr, now);
  return {
    id: p.id,
    localPath: p.localPath,
    remoteUri: displayUri(p.remoteUri),
    modeLabel: tr.t(`pairs.modeBadge.${p.mode}`),
    mirror: p.mode !== 'backup',
    state,
    stateLabel: tr.t(`pairs.state.${state}`),
    tone: TONES[state] ?? 'warn',
    detail: detailOf(p, state, pending, tr),
    notSynced: notSyncedText(p.stateDetail?.notSynced ?? null, tr),
    notSyncedCount: notSyncedCount(p),
    freshness: fresh.text,
    freshnessTitle: fresh.title,
    paused: p.paused,
    pendingDeletes: pending,
    remoteGone: state === 'needs-confirmation' && p.stateDetail?.code === 'remote-gone',
    heldPaths,
    heldMore: pending !== null ? Math.max(0, pending - heldPaths.length) : 0,
    ignore: p.ignore.join('\n'),
  };
}

/** A conflict's reason in the user's words; the engine's sentence only for a code this window does not know. */
export function conflictReason(c: ConflictDto, tr: Translator): string {
  switch (c.reasonCode) {
    case 'changed-both':
    case 'exists-different':
    case 'changed-remote':
    case 'appeared-remote':
      return tr.t(`conflicts.reason.${c.reasonCode}`);
    default:
      return c.reason;
  }
}

/** Ignore rules from the form's textarea: one per line, blank lines and surrounding spaces dropped. */
export function parseIgnoreRules(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
