/**
 * `<home>/pairs-backup.json`: the pair definitions (id, account, local folder, remote folder, mode, ignore rules,
 * excluded folders, paused, watched) mirrored outside the journal, so that a journal SQLite can no longer read does not take the
 * user's pairs with it.
 *
 * - Written atomically (temporary file + fsync + rename, mode 0600) after every change of a definition through the
 *   journal's pairs repository (insert, delete, an update of mode/ignore/excluded folders/paused/watched). A pair's state and scan
 *   times are not definitions and do not rewrite it.
 * - Brought in line with the journal each time the journal opens (the journal is the truth while it can be read):
 *   a write rolled back with its transaction, or a backup older than the journal, is corrected there.
 * - Read back only when a journal starts empty: after a damaged one was moved aside, or when journal.db was missing
 *   (journal.ts). The per-path records (sync_entries) are not in it: the next pass rebuilds them, a file identical
 *   on both sides being recorded without an upload (sync/reconcile.ts, action 'record'); a restored mirror pair
 *   trashes nothing before then, having no record of anything being its own.
 * - A failure to write it never fails the change of the pair (the journal has it): it is reported once per process
 *   (notices.ts) and tried again at the next change.
 */
import { readFileSync, renameSync } from 'node:fs';
import { notice } from '../notices.js';
import { asideName, writeFileAtomic } from '../set-aside.js';
import type { SyncPair } from '../types.js';
import type { PairPatch, PairsRepo } from './pairs-repo.js';

export const PAIRS_BACKUP_FILE = 'pairs-backup.json';

const DEFINITION_KEYS = ['id', 'account', 'localPath', 'remoteUri', 'mode', 'ignore', 'excludeRemote', 'paused', 'watched'] as const;
export type PairDefinition = Pick<SyncPair, (typeof DEFINITION_KEYS)[number]>;
/** the updates that change a definition (and so rewrite the backup) */
const DEFINITION_PATCH_KEYS: readonly (keyof PairPatch)[] = ['mode', 'ignore', 'excludeRemote', 'paused', 'watched'];

const FORMAT = 'cloudreve-sync pairs backup';

interface BackupFile {
  format: typeof FORMAT;
  version: 1;
  /** ISO time of the write (informational) */
  savedAt: string;
  pairs: PairDefinition[];
}

export function definitionOf(p: SyncPair): PairDefinition {
  return { id: p.id, account: p.account, localPath: p.localPath, remoteUri: p.remoteUri, mode: p.mode, ignore: [...p.ignore], excludeRemote: [...(p.excludeRemote ?? [])], paused: p.paused, watched: p.watched };
}

function isDefinition(v: unknown): v is PairDefinition {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return (
    typeof d.id === 'string' &&
    d.id !== '' &&
    typeof d.account === 'string' &&
    typeof d.localPath === 'string' &&
    d.localPath !== '' &&
    typeof d.remoteUri === 'string' &&
    d.remoteUri.startsWith('cloudreve://') &&
    (d.mode === 'backup' || d.mode === 'mirror' || d.mode === 'two-way') &&
    Array.isArray(d.ignore) &&
    d.ignore.every((p) => typeof p === 'string') &&
    // absent in a backup written before excluded folders existed
    (d.excludeRemote === undefined || (Array.isArray(d.excludeRemote) && d.excludeRemote.every((p) => typeof p === 'string'))) &&
    typeof d.paused === 'boolean' &&
    typeof d.watched === 'boolean'
  );
}

export interface BackupRead {
  /** the definitions that could be read (empty when the file is missing or unreadable) */
  pairs: PairDefinition[];
  /** the file is absent */
  missing: boolean;
  /** why the file (or some of its entries) could not be used; null when all of it was */
  problem: string | null;
}

/** Reads a backup; never throws. */
export function readPairsBackup(path: string): BackupRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { pairs: [], missing: true, problem: null };
    return { pairs: [], missing: false, problem: `cannot read ${path} (${code ?? (err as Error).message})` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { pairs: [], missing: false, problem: `${path} is not valid JSON (${(err as Error).message})` };
  }
  const list = (data as Partial<BackupFile> | null)?.pairs;
  if ((data as Partial<BackupFile> | null)?.format !== FORMAT || !Array.isArray(list)) {
    return { pairs: [], missing: false, problem: `${path} is not a pairs backup of this app` };
  }
  const pairs = list.filter(isDefinition).map((d) => ({ ...pick(d), ignore: [...d.ignore], excludeRemote: [...(d.excludeRemote ?? [])] }));
  const skipped = list.length - pairs.length;
  return { pairs, missing: false, problem: skipped ? `${skipped} of its ${list.length} entries are not pairs and were left out` : null };
}

function pick(d: PairDefinition): PairDefinition {
  const out = {} as Record<string, unknown>;
  for (const k of DEFINITION_KEYS) out[k] = d[k];
  return out as PairDefinition;
}

/** The backup file of one journal: writes when the definitions differ from what it last wrote (or found). */
export class PairsBackup {
  /** JSON of the definitions the file holds, as far as this process knows (null: unknown, read it first) */
  private written: string | null = null;
  private reportedFailure = false;

  constructor(readonly path: string) {}

  /** A backup this process cannot use is never overwritten: it is moved aside first (and the user told). */
  private keepUnreadable(problem: string | null): void {
    const kept = asideName(this.path, 'unreadable');
    try {
      renameSync(this.path, kept);
      notice(`the pairs' backup could not be used (${problem ?? 'unknown problem'}): kept as ${kept}; a new one is written from the journal`);
    } catch {
      // gone meanwhile, or the folder is read-only (the write below fails too, and says so)
    }
  }

  /** Makes the file hold `pairs`' definitions; a no-op when it already does. Never throws (see the header). */
  save(pairs: readonly SyncPair[]): void {
    const defs = pairs.map(definitionOf);
    const json = JSON.stringify(defs);
    if (this.written === null) {
      const current = readPairsBackup(this.path);
      if (!current.missing && current.problem === null) this.written = JSON.stringify(current.pairs);
      else if (!current.missing) this.keepUnreadable(current.problem);
    }
    if (json === this.written) return;
    const file: BackupFile = { format: FORMAT, version: 1, savedAt: new Date().toISOString(), pairs: defs };
    try {
      writeFileAtomic(this.path, JSON.stringify(file, null, 2) + '\n');
      this.written = json;
      this.reportedFailure = false;
    } catch (err) {
      this.written = null;
      if (!this.reportedFailure) {
        this.reportedFailure = true;
        const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        notice(`could not write the pairs' backup ${this.path} (${why}); the pairs are in the journal, and the backup is tried again at the next change of a pair`);
      }
    }
  }
}

/** `repo` with every change of a definition mirrored to `backup` once it is made. */
export function withPairsBackup(repo: PairsRepo, backup: PairsBackup): PairsRepo {
  const save = (): void => backup.save(repo.list());
  return {
    ...repo,
    insert(pair) {
      const row = repo.insert(pair);
      save();
      return row;
    },
    update(id, patch) {
      const changed = repo.update(id, patch);
      if (changed && DEFINITION_PATCH_KEYS.some((k) => patch[k] !== undefined)) save();
      return changed;
    },
    delete(id) {
      const deleted = repo.delete(id);
      if (deleted) save();
      return deleted;
    },
  };
}

/**
 * Re-creates the backed-up pairs missing from `repo` (by id, or by the same account and folders), in the backup's
 * order; returns how many were added. The caller runs it in a transaction.
 */
export function restorePairs(repo: PairsRepo, defs: readonly PairDefinition[]): number {
  let added = 0;
  for (const d of defs) {
    if (repo.get(d.id) || repo.find(d.account, d.localPath, d.remoteUri)) continue;
    repo.insert({ ...d, ignore: [...d.ignore], excludeRemote: [...(d.excludeRemote ?? [])] });
    added++;
  }
  return added;
}
