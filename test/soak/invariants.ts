/**
 * The soak's invariants, as functions of what was observed (no I/O here, so each can be tested on its own):
 * local files untouched by the client, remote content equal to local content and never anything that was not at
 * rest locally, deletions and moves on the server only as local deletions and moves allow (and nothing trashed
 * for good), a quiet round of renames carried out as moves (no byte sent, nothing trashed, a folder as one move),
 * conflicts that keep every version and end as resolved, no orphaned sessions, no stuck transfers, and re-sent
 * bytes after each crash within the parts in flight at it.
 */
import type { EmulatorStats, FileEventInfo, PartAccepted, SessionInfo } from '../emulator/index.js';
import type { DriverMove } from './file-chaos.js';
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

/**
 * Every local file is on the server with the same content; every remote file holds a content that was at rest
 * locally (or that the soak wrote there on the server). `waiting`: paths the pair lists as waiting for a retry time
 * by design (a lock the soak faked), not required yet.
 */
export function checkRemoteContent(
  model: LocalModel,
  remote: Map<string, RemoteContent>,
  opts: { emptyFilesUpload?: boolean; waiting?: ReadonlySet<string>; origins?: Map<string, Set<string>> } = {},
): Violation[] {
  const missing: string[] = [];
  const differs: string[] = [];
  const placeholder: string[] = [];
  for (const [p, rec] of model.files) {
    // OneDrive cannot take an empty file: the client refuses those before any session (README, Storage policies)
    if (opts.emptyFilesUpload === false && rec.size === 0) continue;
    if (opts.waiting?.has(p)) continue;
    const r = remote.get(p);
    if (!r) missing.push(p);
    else if (r.uploading) placeholder.push(p);
    else if (r.hash !== rec.hash) differs.push(p);
  }
  const foreign: string[] = [];
  for (const [p, r] of remote) {
    if (r.uploading) continue;
    // at rest here, or at a path the server moved it from (a backup's old copy carried along with its folder)
    const paths = [p, ...(opts.origins?.get(p) ?? [])];
    if (!paths.some((q) => model.heldAt(conflictOriginal(q), r.hash))) foreign.push(p);
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
  /** the paths the file had on the server before (its own or its folder's moves there), oldest first */
  was?: string[];
}

/**
 * Committed files the server lost, from its file events: 'modify' commits a file (an upload's completion), 'delete'
 * of a file or of a folder above it removes it, 'rename' moves it away. Placeholders deleted before any commit
 * (a cancelled upload) are not deletions.
 */
export function remoteDeletions(events: FileEventInfo[]): RemoteDeletion[] {
  /** committed path → the paths the server moved it from since its last commit */
  const committed = new Map<string, string[]>();
  const out: RemoteDeletion[] = [];
  const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');
  for (const e of events) {
    if (e.kind === 'modify') committed.set(e.from, []);
    else if (e.kind === 'delete') {
      for (const [p, was] of [...committed]) {
        if (under(p, e.from)) {
          committed.delete(p);
          out.push({ path: p, at: e.at, how: 'deleted', was });
        }
      }
    } else if (e.kind === 'rename' && e.to !== undefined) {
      for (const [p, was] of [...committed]) {
        if (under(p, e.from)) {
          committed.delete(p);
          committed.set(e.to + p.slice(e.from.length), [...was, p]);
          out.push({ path: p, at: e.at, how: 'renamed', was });
        }
      }
    }
  }
  return out;
}

/** The paths each committed file on the server had before the server moved or renamed it (itself or its folder). */
export function remoteOrigins(events: FileEventInfo[]): Map<string, Set<string>> {
  const origins = new Map<string, Set<string>>();
  const committed = new Set<string>();
  const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');
  for (const e of events) {
    if (e.kind === 'modify') committed.add(e.from);
    else if (e.kind === 'delete') {
      for (const p of [...committed]) {
        if (!under(p, e.from)) continue;
        committed.delete(p);
        origins.delete(p);
      }
    } else if (e.kind === 'rename' && e.to !== undefined) {
      for (const p of [...committed]) {
        if (!under(p, e.from)) continue;
        const np = e.to + p.slice(e.from.length);
        const o = new Set(origins.get(p) ?? []);
        o.add(p);
        committed.delete(p);
        origins.delete(p);
        committed.add(np);
        origins.set(np, o);
      }
    }
  }
  return origins;
}

/**
 * When a committed file arrived at each path on the server (ms since the epoch): committed there ('modify': an
 * upload's completion or an edit), or moved or renamed there, itself or with its folder.
 */
export function remoteArrivals(events: FileEventInfo[]): Map<string, number[]> {
  const committed = new Set<string>();
  const out = new Map<string, number[]>();
  const arrive = (p: string, at: number) => {
    const a = out.get(p);
    if (a) a.push(at);
    else out.set(p, [at]);
  };
  const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');
  for (const e of events) {
    if (e.kind === 'modify') {
      committed.add(e.from);
      arrive(e.from, e.at);
    } else if (e.kind === 'delete') {
      for (const p of [...committed]) if (under(p, e.from)) committed.delete(p);
    } else if (e.kind === 'rename' && e.to !== undefined) {
      for (const p of [...committed]) {
        if (!under(p, e.from)) continue;
        committed.delete(p);
        const np = e.to + p.slice(e.from.length);
        committed.add(np);
        arrive(np, e.at);
      }
    }
  }
  return out;
}

/**
 * Whether the content the driver renamed away from `path` (its last rename at or before `at`) was on the server
 * again by `at`: committed at its new path (or wherever the driver took it next) after it got there, or deleted
 * locally meanwhile (then nothing is left to keep). A path deleted, not renamed, is "safe" too.
 */
export function renamedContentArrived(model: LocalModel, path: string, at: number, arrivals: Map<string, number[]>): boolean {
  const renames = (model.renamedTo.get(path) ?? []).filter((r) => r.at <= at);
  if (renames.length === 0) return true; // deleted, not renamed
  const last = renames[renames.length - 1];
  // deleted again later (re-created after the rename, then deleted): nothing of it to keep
  if ((model.removed.get(path) ?? []).some((t) => t > last.at + 50 && t <= at)) return true;
  let q = last.to;
  let since = last.at;
  for (let hop = 0; hop < 64; hop++) {
    if ((arrivals.get(q) ?? []).some((t) => t > since && t <= at)) return true;
    // (the driver may move it on within the same millisecond: a folder moved right after the file went into it)
    const next = (model.renamedTo.get(q) ?? []).find((r) => r.at >= since && r.at <= at);
    const deleted = (model.removed.get(q) ?? []).some((t) => t >= since && t <= at);
    if (!next) return deleted; // still at q with no copy there yet (false), or deleted locally (true)
    q = next.to;
    since = next.at;
  }
  return true;
}

/**
 * What the server lost, against what the driver did:
 * - trashed (a 'delete' of a committed file): backup mode never; mirror mode only a file the driver had removed by
 *   then, never one of a mass delete the guard must hold back, and a file the driver renamed or moved only once its
 *   content was on the server at the new path (never trash the only complete copy); in both modes the conflict copy
 *   a keep-mine resolution sends to the trash is expected;
 * - moved or renamed away (a 'rename'): in both modes only a file the driver renamed, moved or deleted there by
 *   then, or a name the client used on the way (a file renamed in its folder, then moved) that never held a file of
 *   the driver's.
 */
export function checkRemovals(
  mode: SoakMode,
  model: LocalModel,
  deletions: RemoteDeletion[],
  opts: { massDeleted?: string[]; arrivals?: Map<string, number[]>; keepMineCopies?: Array<{ path: string; at: number }> } = {},
): Violation[] {
  const held = new Set(opts.massDeleted ?? []);
  const arrivals = opts.arrivals ?? new Map<string, number[]>();
  const expectedCopy = (d: RemoteDeletion) => (opts.keepMineCopies ?? []).some((c) => c.path === d.path && d.at >= c.at);
  // the file's paths on the server: where it is, and where the server moved it from (with its folder, say: a file
  // deleted here, then its folder moved before the pass saw the delete, is trashed at the folder's new place)
  const paths = (d: RemoteDeletion) => [d.path, ...(d.was ?? [])];
  // removed here by then: at its own path (if the driver ever had a file there, it must be gone by then), or, at a
  // path the driver never had, where the server moved it from
  const removed = (d: RemoteDeletion) =>
    model.everAt(d.path, d.at) ? model.removedBy(d.path, d.at) : paths(d).some((p) => model.removedBy(p, d.at));
  const trashed = deletions.filter((d) => d.how === 'deleted' && !expectedCopy(d));
  const moved = deletions.filter((d) => d.how === 'renamed');
  const movedUnasked = moved.filter((d) => !removed(d) && model.everAt(d.path, d.at)).map((d) => d.path);
  const out = violation('the server moves only what was moved locally', 'moved or renamed away on the server while the driver still had it there', movedUnasked);
  if (mode === 'backup') {
    return [...out, ...violation('backup trashes nothing', 'committed on the server, then moved to its trash (backup mode deletes nothing there)', trashed.map((d) => d.path))];
  }
  const unasked = trashed.filter((d) => !removed(d)).map((d) => d.path);
  const pastGuard = trashed.filter((d) => held.has(d.path)).map((d) => d.path);
  const early = trashed
    .filter((d) => removed(d) && paths(d).some((p) => model.removedBy(p, d.at) && !renamedContentArrived(model, p, d.at, arrivals)))
    .map((d) => {
      const p = paths(d).find((q) => model.removedBy(q, d.at) && !renamedContentArrived(model, q, d.at, arrivals))!;
      const r = (model.renamedTo.get(p) ?? []).filter((x) => x.at <= d.at).pop();
      return `${d.path}${p !== d.path ? ` (was ${p})` : ''} (renamed to ${r?.to} by the driver; trashed before a copy was at the new path)`;
    });
  return [
    ...out,
    ...violation('mirror deletes only what was deleted locally', 'deleted on the server while still on disk', unasked),
    ...violation('mirror never deletes past the guard', 'trashed as part of a mass delete the guard must hold back', pastGuard),
    ...violation('mirror never trashes the only copy of a renamed file', 'a renamed or moved file\'s old path went to the trash before its content was on the server at the new path', early),
  ];
}

/** backup: nothing committed was deleted or moved on the server. mirror: only files the driver had removed locally by
 * then, and none of a mass delete the guard must hold back. (The rules before renames became moves; checkRemovals.) */
export function checkDeletions(mode: SoakMode, model: LocalModel, deletions: RemoteDeletion[], massDeleted: string[]): Violation[] {
  return checkRemovals(mode, model, deletions, { massDeleted });
}

/**
 * Deleted means trashed: every committed file the server lost by a delete is in its trash at the end (itself or in a
 * trashed folder), never deleted for good. `trashed` are the trash's entries' former paths, relative to the pair.
 */
export function checkTrashKept(deletions: RemoteDeletion[], trashed: string[]): Violation[] {
  const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');
  const lost = deletions.filter((d) => d.how === 'deleted' && !trashed.some((t) => under(d.path, t))).map((d) => d.path);
  return violation('deleted means trashed', 'deleted on the server but not in its trash (deleted for good)', [...new Set(lost)]);
}

/**
 * The quiet round of renames and moves (everything on the server before it, no fault, no kill, nothing else
 * changing): each is a move on the server. Zero upload sessions and zero bytes received in the round, nothing
 * trashed or committed, every move ending with a rename on the server to its new path, and a folder moved as a
 * folder (no rename of a file inside it).
 */
export function checkQuietMoves(
  moves: DriverMove[],
  before: Pick<EmulatorStats, 'sessions_created' | 'bytes_received'>,
  after: Pick<EmulatorStats, 'sessions_created' | 'bytes_received'>,
  events: FileEventInfo[],
  parts: Array<Pick<PartAccepted, 'uri' | 'bytes'>>,
): Violation[] {
  const sessions = after.sessions_created - before.sessions_created;
  const bytes = after.bytes_received - before.bytes_received;
  const out: Violation[] = [];
  if (sessions > 0 || bytes > 0) {
    const uris = [...new Set(parts.map((p) => p.uri))];
    const commits = events.filter((e) => e.kind === 'modify').map((e) => `${e.from} (committed)`);
    out.push({
      invariant: 'a pure rename sends no content',
      detail: `${sessions} upload session(s) created and ${bytes} byte(s) received during a round of ${moves.length} renames and moves`,
      paths: [...uris, ...commits].sort(),
    });
  } else {
    out.push(...violation('a pure rename sends no content', 'committed again during a round of renames and moves', events.filter((e) => e.kind === 'modify').map((e) => e.from)));
  }
  out.push(...violation('a rename trashes nothing', 'deleted on the server during a round of renames and moves', events.filter((e) => e.kind === 'delete').map((e) => e.from)));
  const renames = events.filter((e) => e.kind === 'rename' && e.to !== undefined);
  // where each move's file or folder is at the end of the round (a later folder move carries it along)
  const final = moves.map((m, i) => {
    let p = m.to;
    for (const n of moves.slice(i + 1)) if (n.kind === 'folder' && (p === n.from || p.startsWith(n.from + '/'))) p = n.to + p.slice(n.from.length);
    return p;
  });
  out.push(
    ...violation(
      'renames are moves on the server',
      'renamed or moved locally, but nothing on the server was moved to its new path',
      moves.filter((m, i) => !renames.some((e) => e.to === m.to || e.to === final[i])).map((m) => `${m.from} → ${m.to}`),
    ),
  );
  // a rename the driver made itself (a file's own, or a step of it: renamed in its folder, then moved)
  const explained = (e: FileEventInfo, except: DriverMove) => moves.some((n, i) => n !== except && (e.to === n.to || e.to === final[i] || e.from === n.from));
  const perFile = moves
    .filter((m) => m.kind === 'folder')
    .flatMap((m) =>
      renames
        .filter((e) => (e.from.startsWith(m.from + '/') || e.from.startsWith(m.to + '/')) && !explained(e, m))
        .map((e) => `${e.from} → ${e.to} (inside the folder ${m.from} → ${m.to})`),
    );
  out.push(...violation('a folder rename is one move', 'a file inside a moved folder was moved on its own', perFile));
  return out;
}

/** A conflict the soak made: the server's version (another device's edit) and ours (the last local save). */
export interface ConflictExpectation {
  rel: string;
  theirs: string;
  mine: string;
  /** every content the file held here at rest (an older save of ours is still ours) */
  ours?: string[];
  /** the pair lists the file as waiting for a retry time by design (a faked lock): its last save may not be up yet */
  waiting?: boolean;
}

/** Conflict copies of `rel` among the remote paths ("a (conflict …).txt" next to "a.txt"). */
export function conflictCopies(rel: string, remote: Iterable<string>): string[] {
  return [...remote].filter((p) => p !== rel && conflictOriginal(p) === rel).sort();
}

/**
 * Before any resolution: every version of every conflicted file is somewhere — the server's at the file's path, ours
 * in its conflict copy —, one copy per conflict (later saves went to the same copy), and the conflict is listed.
 */
export function checkConflictVersions(expected: ConflictExpectation[], remote: Map<string, RemoteContent>, listed: Array<{ relPath: string }>): Violation[] {
  const theirsLost: string[] = [];
  const mineLost: string[] = [];
  const many: string[] = [];
  const unlisted: string[] = [];
  for (const c of expected) {
    const copies = conflictCopies(c.rel, remote.keys());
    const r = remote.get(c.rel);
    if (!r || r.hash !== c.theirs) theirsLost.push(`${c.rel} (${r ? 'another content' : 'missing'} at its path)`);
    const oursOk = (h: string | undefined) => h === c.mine || (c.waiting === true && h !== undefined && (c.ours ?? []).includes(h));
    if (!copies.some((p) => oursOk(remote.get(p)?.hash))) mineLost.push(`${c.rel} (${copies.length} conflict copies, none holds the last local save${c.waiting ? ' or an earlier one' : ''})`);
    if (copies.length > 1) many.push(`${c.rel}: ${copies.join(', ')}`);
    if (!listed.some((l) => l.relPath === c.rel)) unlisted.push(c.rel);
  }
  return [
    ...violation('conflicts keep every version', "the other side's version is not at the file's path", theirsLost),
    ...violation('conflicts keep every version', 'our last save (an earlier one while the file waits for a retry) is in no conflict copy', mineLost),
    ...violation('one conflict copy per conflict', 'later saves made more conflict copies', many),
    ...violation('open conflicts are listed', '`pairs conflicts` does not list it', unlisted),
  ];
}

/** What the soak saw after resolving one conflict through the CLI. */
export interface ResolutionObserved {
  rel: string;
  choice: 'keep-mine' | 'keep-both';
  /** the CLI's exit code for `pairs resolve` */
  exitCode: number | null;
  /** still in `pairs conflicts` when the soak stopped waiting */
  listedAfter: boolean;
  /** the content at the file's path on the server (null: nothing) */
  original: string | null;
  /** the conflict copy's path and what is there now (null: nothing) */
  copyPath: string;
  copyAtPath: string | null;
  /** the content of the trash entry that was the copy (null: not in the trash) */
  copyInTrash: string | null;
  local: string;
  theirs: string;
  mine: string;
  /** keep-both: after one more local save, what the file's path holds, the local content and how many copies there are */
  afterSave?: { original: string | null; local: string; copies: number };
  /** every content the file held here at rest */
  ours?: string[];
  /** it waited for a retry time when the soak settled: the copy may hold an earlier save of ours */
  waiting?: boolean;
  /**
   * two-way: the conflict was found by the download side (`name (conflict … server).ext`, made here): the copy holds
   * the server's version and ours stayed at the path, the other way round from an upload-side conflict
   */
  downloadSide?: boolean;
}

/**
 * keep-mine: ours is the file's content on the server, the copy is in the server's trash holding ours (not deleted
 * for good), the conflict leaves the list. keep-both: the copy stays where it was with ours, the server's version
 * stays at the file's path, the conflict leaves the list; the pair tracks the file from then on: a later local save
 * reaches its path (over the server's version) and makes no new conflict copy.
 */
export function checkResolutions(observed: ResolutionObserved[]): Violation[] {
  const bad: string[] = [];
  for (const o of observed) {
    const why: string[] = [];
    if (o.exitCode !== 0) why.push(`pairs resolve exited ${o.exitCode}`);
    if (o.listedAfter) why.push('still listed');
    if (o.downloadSide) {
      // ours at the path here, theirs in the copy (uploaded as a new file): keep-mine sends ours up and trashes the
      // copy (on the server, and here: this computer's trash); keep-both keeps the copy with theirs
      if (o.choice === 'keep-mine') {
        if (o.original !== o.local) why.push(o.original === o.theirs ? "the server's version is still at its path" : 'its path does not hold the local content');
        if (o.copyAtPath !== null) why.push('the conflict copy is still at its path');
        // (a conflict the soak did not make: theirs is not known, "every version is somewhere" covers it)
        if (o.copyInTrash !== null && o.theirs !== '' && o.copyInTrash !== o.theirs) why.push('the trash holds another content as the conflict copy');
      } else {
        if (o.copyAtPath !== o.theirs) why.push(o.copyAtPath === null ? 'the conflict copy is gone' : "the conflict copy holds another content than the server's version");
        if (o.afterSave && o.afterSave.original !== o.afterSave.local) why.push("a later local save did not reach the file's path on the server");
        if (o.afterSave && o.afterSave.copies !== 1) why.push(`${o.afterSave.copies} conflict copies after a later local save (1 expected: the kept one)`);
      }
    } else if (o.choice === 'keep-mine') {
      if (o.original !== o.local) why.push(o.original === o.theirs ? "the server's version is still at its path" : 'its path does not hold the local content');
      if (o.copyAtPath !== null) why.push('the conflict copy is still at its path');
      // the copy holds a save of ours (the last one, or an earlier one when the last went straight to the file)
      if (o.copyInTrash === null) why.push('the conflict copy is not in the trash');
      else if (o.copyInTrash !== o.mine && !(o.ours ?? []).includes(o.copyInTrash)) why.push('the trash holds another content as the conflict copy');
    } else {
      const ours = o.copyAtPath === o.mine || (o.waiting === true && o.copyAtPath !== null && (o.ours ?? []).includes(o.copyAtPath));
      if (!ours) why.push(o.copyAtPath === null ? 'the conflict copy is gone' : 'the conflict copy holds another content');
      if (o.original !== o.theirs) why.push("the server's version is no longer at its path");
      if (o.afterSave && o.afterSave.original !== o.afterSave.local) why.push('a later local save did not reach the file\'s path on the server');
      if (o.afterSave && o.afterSave.copies !== 1) why.push(`${o.afterSave.copies} conflict copies after a later local save (1 expected: the kept one)`);
    }
    if (why.length) bad.push(`${o.rel} (${o.choice}): ${why.join('; ')}`);
  }
  return violation('conflicts end as resolved', 'keep-mine / keep-both did not leave the server as chosen', bad);
}

/** After every resolution: no conflict listed any more. */
export function checkNoConflictsLeft(listed: Array<{ id: number; relPath: string }>): Violation[] {
  return violation('conflicts end as resolved', 'still listed by `pairs conflicts` after every one was resolved', listed.map((c) => `${c.relPath} (#${c.id})`));
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

// ---------------------------------------------------------------- two-way pairs (churn on both sides)

/**
 * Every version is somewhere: each content the soak wrote (here or through the API) that its writer did not
 * supersede (save over, or delete) is, at the end, at some path here or on the server (conflict copies included), in
 * the server's trash or in this computer's trash. `required`: hash → where and how it was written; `places`: hash →
 * where it is now ("local:a/b.bin", "server:a/b.bin", "server-trash:…", "local-trash:…").
 */
export function checkVersionsKept(required: Map<string, string>, places: Map<string, string[]>): Violation[] {
  const lost = [...required].filter(([h]) => !(places.get(h)?.length)).map(([h, origin]) => `${origin}: ${h.slice(0, 12)}`);
  return violation('every version is somewhere', 'a version nobody superseded is nowhere (not at a path here or on the server, not in a conflict copy, not in either trash)', lost);
}

/**
 * After the settle the local folder and the server's converge: the same paths with the same content, but paths the
 * pair reports as not synced (`exempt`: its issues, its open conflicts, deletions the guard holds back).
 */
export function checkConverged(local: Map<string, string>, remote: Map<string, RemoteContent>, exempt: (path: string) => boolean, opts: { emptyFilesUpload?: boolean; emptyLocal?: ReadonlySet<string> } = {}): Violation[] {
  const onlyLocal: string[] = [];
  const onlyRemote: string[] = [];
  const differs: string[] = [];
  const placeholder: string[] = [];
  for (const [p, h] of local) {
    if (exempt(p)) continue;
    const r = remote.get(p);
    if (!r) {
      if (!(opts.emptyFilesUpload === false && opts.emptyLocal?.has(p))) onlyLocal.push(p);
    } else if (r.uploading) placeholder.push(p);
    else if (r.hash !== h) differs.push(p);
  }
  for (const [p, r] of remote) if (!local.has(p) && !exempt(p) && !r.uploading) onlyRemote.push(p);
  return [
    ...violation('local and server converge', 'here but not on the server', onlyLocal),
    ...violation('local and server converge', 'on the server but not here', onlyRemote),
    ...violation('local and server converge', 'here and on the server with different contents', differs),
    ...violation('local and server converge', 'on the server only as an unfinished upload', placeholder),
  ];
}

/**
 * Nothing half-written, on either side: every content at a path (`where`: "on the server", "here") is one the soak
 * wrote at rest (here or through the API), wherever it was written — a download or an upload carries a whole
 * version or nothing.
 */
export function checkWhole(contents: Map<string, string>, written: ReadonlySet<string>, where: 'on the server' | 'here'): Violation[] {
  const bad = [...contents].filter(([, h]) => !written.has(h)).map(([p]) => p);
  return violation(where === 'here' ? 'nothing half-written downloaded' : 'nothing half-written committed', `${where}, a content that was never at rest (half-written or corrupted)`, bad);
}

/**
 * Nothing local deleted except through the trash: a file that vanished from the sync root (not by the driver) with
 * its content at no other path here is in this computer's trash, unless its content had been replaced by its writer
 * (a newer version written over it on the server: the client brought that one down over ours, renamed first).
 */
export function checkLocalRemovals(vanished: Array<{ path: string; hash: string; at: number }>, localTrash: ReadonlySet<string>, replaced: ReadonlySet<string>): Violation[] {
  const lost = vanished.filter((v) => !localTrash.has(v.hash) && !replaced.has(v.hash)).map((v) => `${v.path} (gone by ${new Date(v.at).toISOString()})`);
  return violation('nothing local deleted except through the trash', 'a file vanished from the sync root and is not in this computer\'s trash', lost);
}

/**
 * Two-way trashes on the server only what this computer had: a version another device wrote on the server (through
 * the API) that never was here (not brought down, not at rest here at any path) is never sent to the server's trash
 * by the client — its deletion here cannot be a deletion of that version (an edit on the server wins over a deletion
 * here). `trash`: the server's trash, entry → hash; `seenHere`: every content ever at rest here.
 */
export function checkServerTrashSeen(trash: Map<string, string>, apiWritten: ReadonlySet<string>, apiDeleted: ReadonlySet<string>, seenHere: ReadonlySet<string>): Violation[] {
  const bad = [...trash].filter(([, h]) => apiWritten.has(h) && !apiDeleted.has(h) && !seenHere.has(h)).map(([p]) => p);
  return violation('two-way trashes on the server only what was here', "another device's version, never brought down here, went to the server's trash", bad);
}
