/**
 * The soak's invariants, as functions of what was observed (no I/O here, so each can be tested on its own):
 * local files untouched by the client, remote content equal to local content and never anything that was not at
 * rest locally, deletions only as the mode allows, no orphaned sessions, no stuck transfers, and re-sent bytes after
 * each crash within the parts in flight at it.
 */
import type { FileEventInfo, PartAccepted, SessionInfo } from '../emulator/index.js';
import type { FileRecord, LocalModel } from './local-model.js';
import type { SoakMode } from './soak-options.js';

export interface Violation {
  invariant: string;
  detail: string;
  paths: string[];
}

/** "a (conflict 2026-01-02 030405 host).txt" → "a.txt"; other names unchanged. */
export function conflictOriginal(path: string): string {
  return path.replace(/ \(conflict [^)]*\)(?=(\.[^./]*)?$)/, '');
}

function violation(invariant: string, detail: string, paths: string[]): Violation[] {
  return paths.length ? [{ invariant, detail, paths: paths.sort() }] : [];
}

/** No local file was modified, deleted or created by anyone but the driver. */
export function checkLocalUntouched(model: LocalModel, local: Map<string, FileRecord>): Violation[] {
  const out: Violation[] = [];
  out.push(...violation('local files untouched', 'changed behind the driver\'s back while it ran', model.tampered.map((t) => `${t.path}: ${t.why}`)));
  const missing: string[] = [];
  const changed: string[] = [];
  for (const [p, rec] of model.files) {
    const now = local.get(p);
    if (!now) missing.push(p);
    else if (now.hash !== rec.hash || now.ino !== rec.ino || now.ctimeMs !== rec.ctimeMs || now.size !== rec.size) changed.push(p);
  }
  const extra = [...local.keys()].filter((p) => !model.files.has(p));
  out.push(...violation('local files untouched', 'deleted or moved locally, not by the driver', missing));
  out.push(...violation('local files untouched', 'content, inode or ctime differs from what the driver left', changed));
  out.push(...violation('local files untouched', 'created under the sync root, not by the driver', extra));
  return out;
}

export interface RemoteContent {
  hash: string;
  uploading: boolean;
}

/** Every local file is on the server with the same content; every remote file holds a content that was at rest locally. */
export function checkRemoteContent(model: LocalModel, remote: Map<string, RemoteContent>, opts: { emptyFilesUpload?: boolean } = {}): Violation[] {
  const missing: string[] = [];
  const differs: string[] = [];
  const placeholder: string[] = [];
  for (const [p, rec] of model.files) {
    // OneDrive cannot take an empty file: the client refuses those before any session (README, Storage policies)
    if (opts.emptyFilesUpload === false && rec.size === 0) continue;
    const r = remote.get(p);
    if (!r) missing.push(p);
    else if (r.uploading) placeholder.push(p);
    else if (r.hash !== rec.hash) differs.push(p);
  }
  const foreign: string[] = [];
  for (const [p, r] of remote) {
    if (r.uploading) continue;
    if (!model.heldAt(conflictOriginal(p), r.hash)) foreign.push(p);
  }
  return [
    ...violation('remote equals local', 'on disk but not on the server', missing),
    ...violation('remote equals local', 'on the server only as an unfinished upload', placeholder),
    ...violation('remote equals local', 'the server holds another content than the file on disk', differs),
    ...violation('nothing half-written committed', 'the server holds a content that never was at rest at that path (half-written or corrupted)', foreign),
  ];
}

export interface RemoteDeletion {
  path: string;
  at: number;
  how: 'deleted' | 'renamed';
}

/**
 * Committed files the server lost, from its file events: 'modify' commits a file (an upload's completion), 'delete'
 * of a file or of a folder above it removes it, 'rename' moves it away. Placeholders deleted before any commit
 * (a cancelled upload) are not deletions.
 */
export function remoteDeletions(events: FileEventInfo[]): RemoteDeletion[] {
  const committed = new Set<string>();
  const out: RemoteDeletion[] = [];
  const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');
  for (const e of events) {
    if (e.kind === 'modify') committed.add(e.from);
    else if (e.kind === 'delete') {
      for (const p of [...committed]) {
        if (under(p, e.from)) {
          committed.delete(p);
          out.push({ path: p, at: e.at, how: 'deleted' });
        }
      }
    } else if (e.kind === 'rename' && e.to !== undefined) {
      for (const p of [...committed]) {
        if (under(p, e.from)) {
          committed.delete(p);
          committed.add(e.to + p.slice(e.from.length));
          out.push({ path: p, at: e.at, how: 'renamed' });
        }
      }
    }
  }
  return out;
}

/**
 * backup: nothing committed was deleted or moved on the server. mirror: only files the driver had removed locally by
 * then, and none of a mass delete the guard must hold back.
 */
export function checkDeletions(mode: SoakMode, model: LocalModel, deletions: RemoteDeletion[], massDeleted: string[]): Violation[] {
  if (mode === 'backup') {
    return violation('backup deletes nothing remote', 'committed on the server, then deleted or moved away there', deletions.map((d) => `${d.path} (${d.how})`));
  }
  const held = new Set(massDeleted);
  const unasked = deletions.filter((d) => !model.removedBy(d.path, d.at)).map((d) => `${d.path} (${d.how})`);
  const pastGuard = deletions.filter((d) => held.has(d.path)).map((d) => d.path);
  return [
    ...violation('mirror deletes only what was deleted locally', 'deleted on the server while still on disk', unasked),
    ...violation('mirror never deletes past the guard', 'trashed as part of a mass delete the guard must hold back', pastGuard),
  ];
}

export function checkSessions(sessions: SessionInfo[]): Violation[] {
  return violation('no orphaned upload sessions', 'upload sessions still open on the server after the client settled', sessions.map((s) => `${s.uri} (session ${s.id}, ${s.received.length} parts)`));
}

const TERMINAL = new Set(['done', 'skipped', 'failed', 'cancelled']);

export function checkJournal(transfers: Array<{ id: string; localPath: string; state: string }>): Violation[] {
  return violation('no stuck transfers', 'unfinished transfers left in the journal', transfers.filter((t) => !TERMINAL.has(t.state)).map((t) => `${t.localPath} (${t.state}, ${t.id})`));
}

export interface Crash {
  at: number;
  /** parts the server was receiving at the kill */
  partsInFlight: number;
}

export interface ResendReport {
  crash: number;
  at: number;
  resentBytes: number;
  allowedBytes: number;
  resentParts: string[];
  /** a part outside what may have been unrecorded at the kill was sent again */
  beyond: boolean;
}

/**
 * Parts of the same upload session accepted again after a kill -9 although the server had accepted them before it.
 * Allowed: the parts whose acceptance the client may not have recorded yet. The client has at most `perSession`
 * parts of a session in flight and records each answer before that slot takes another part, so an accepted part it
 * had not recorded at the kill is among the last `perSession` parts of its session the server accepted. No timing
 * enters the rule. `allowedBytes` adds up those parts for the sessions that were re-sent to, plus one `maxPart` per
 * part the server was still receiving at the kill.
 */
export function resendAfterCrashes(parts: PartAccepted[], crashes: Crash[], opts: { perSession: number; maxPart: number }): ResendReport[] {
  const out: ResendReport[] = [];
  const sorted = [...parts].sort((a, b) => a.at - b.at);
  crashes.forEach((c, i) => {
    const end = crashes[i + 1]?.at ?? Infinity;
    // per session, the parts accepted before the kill in order of acceptance (a part accepted twice: its last time)
    const before = new Map<string, Map<number, PartAccepted>>();
    for (const p of sorted) {
      if (p.at > c.at) break;
      const m = before.get(p.session) ?? new Map<number, PartAccepted>();
      m.delete(p.index);
      m.set(p.index, p);
      before.set(p.session, m);
    }
    const mayBeUnrecorded = (session: string, index: number): boolean => {
      const order = [...(before.get(session)?.keys() ?? [])];
      return order.slice(-opts.perSession).includes(index);
    };
    let resent = 0;
    let allowed = c.partsInFlight * opts.maxPart;
    const resentParts: string[] = [];
    const counted = new Set<string>();
    const sessions = new Set<string>();
    let beyond = false;
    for (const p of sorted) {
      if (p.at <= c.at || p.at >= end) continue;
      const k = `${p.session}#${p.index}`;
      if (!before.get(p.session)?.has(p.index) || counted.has(k)) continue;
      counted.add(k);
      resent += p.bytes;
      sessions.add(p.session);
      const ok = mayBeUnrecorded(p.session, p.index);
      if (!ok) beyond = true;
      resentParts.push(`${p.uri} part ${p.index}${ok ? '' : ' (recorded long before the kill)'}`);
    }
    for (const s of sessions) for (const p of [...before.get(s)!.values()].slice(-opts.perSession)) allowed += p.bytes;
    out.push({ crash: i + 1, at: c.at, resentBytes: resent, allowedBytes: allowed, resentParts, beyond });
  });
  return out;
}

export function checkResend(reports: ResendReport[]): Violation[] {
  return reports
    .filter((r) => r.beyond || r.resentBytes > r.allowedBytes)
    .map((r) => ({
      invariant: 'bytes re-sent after a crash within the parts in flight',
      detail: `crash #${r.crash}: ${r.resentBytes} bytes of parts the server had already accepted were sent again (${r.allowedBytes} may be: the last parts of each session)`,
      paths: r.resentParts,
    }));
}
