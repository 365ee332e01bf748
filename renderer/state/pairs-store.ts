/**
 * PURE: sync pairs and conflicts as the screens show them. Pairs and conflicts arrive as whole objects
 * (listPairs / pair-changed / pair-removed, listConflicts / conflict-added), so the state is small lists
 * replaced by id.
 */
import type { ConflictDto, PairDto, PairStateDto } from '../../main/ipc/contract.js';
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

export type PairTone = 'ok' | 'busy' | 'paused' | 'warn' | 'error';

export interface PairVm {
  id: string;
  localPath: string;
  remoteUri: string;
  modeLabel: string;
  mirror: boolean;
  stateLabel: string;
  tone: PairTone;
  /** why the pair is in its state ('' when there is nothing to add) */
  detail: string;
  lastScan: string;
  paused: boolean;
  /** deletions waiting for the user's go-ahead; null unless needs-confirmation */
  pendingDeletes: number | null;
  ignore: string;
}

const TONES: Record<PairStateDto, PairTone> = {
  idle: 'ok',
  scanning: 'busy',
  syncing: 'busy',
  paused: 'paused',
  offline: 'warn',
  'login-required': 'error',
  unavailable: 'error',
  'needs-confirmation': 'warn',
  error: 'error',
};

export function toPairVm(p: PairDto, tr: Translator): PairVm {
  const pending = p.state === 'needs-confirmation' ? (p.stateDetail?.pendingDeletes ?? 0) : null;
  return {
    id: p.id,
    localPath: p.localPath,
    remoteUri: displayUri(p.remoteUri),
    modeLabel: tr.t(`pairs.modeBadge.${p.mode}`),
    mirror: p.mode === 'mirror',
    stateLabel: tr.t(`pairs.state.${p.state}`),
    tone: TONES[p.state],
    detail: p.state === 'needs-confirmation' ? tr.plural('pairs.confirmDeletesAsk', pending ?? 0) : (p.stateDetail?.message ?? ''),
    lastScan: p.lastScanAt === null ? tr.t('pairs.neverScanned') : tr.t('pairs.lastScan', { when: tr.dateTime(p.lastScanAt) }),
    paused: p.paused,
    pendingDeletes: pending,
    ignore: p.ignore.join('\n'),
  };
}

/** Ignore rules from the form's textarea: one per line, blank lines and surrounding spaces dropped. */
export function parseIgnoreRules(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
