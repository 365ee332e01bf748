/**
 * What the soak's driver wrote under the sync root: every file's current content hash and inode change time
 * (ctime), every content each path ever held at rest, which paths it deleted and where it renamed or moved files
 * (a folder's move counts for every file in it), and what the soak itself wrote on the server through the API (the
 * other side of a conflict). The client may only read these files; anything that changed a file behind the driver's
 * back shows up as a ctime, size or hash it did not record.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync } from 'node:fs';
import { join } from 'node:path';

export interface FileRecord {
  hash: string;
  size: number;
  ino: number;
  ctimeMs: number;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class LocalModel {
  /** path (relative, '/'-separated) → what is there now */
  readonly files = new Map<string, FileRecord>();
  /** path → every content hash the driver left there at rest */
  readonly history = new Map<string, Set<string>>();
  /** paths the driver deleted or renamed away: when, each time (ms since the epoch) */
  readonly removed = new Map<string, number[]>();
  /** path → where the driver renamed or moved the file at it, and when (a folder's move: one entry per file) */
  readonly renamedTo = new Map<string, Array<{ to: string; at: number }>>();
  /** path → when the driver first left a file there */
  readonly firstAt = new Map<string, number>();
  /** path → contents the soak wrote at that path on the server, through the API (another device's edit) */
  readonly serverWrote = new Map<string, Set<string>>();
  /** folders (relative; '' is the root) */
  readonly folders = new Set<string>(['']);
  /** paths the driver found changed behind its back (by the client) */
  readonly tampered: Array<{ path: string; why: string }> = [];

  constructor(readonly root: string) {}

  abs(rel: string): string {
    return join(this.root, rel);
  }

  /** Records what `rel` holds now (after the driver wrote it); `hash` is its content's. */
  record(rel: string, hash: string): FileRecord {
    const st = lstatSync(this.abs(rel));
    const rec = { hash, size: st.size, ino: st.ino, ctimeMs: st.ctimeMs };
    this.files.set(rel, rec);
    this.remember(rel, hash);
    return rec;
  }

  private remember(rel: string, hash: string): void {
    let h = this.history.get(rel);
    if (!h) this.history.set(rel, (h = new Set()));
    h.add(hash);
    if (!this.firstAt.has(rel)) this.firstAt.set(rel, Date.now());
  }

  /** The driver renamed or moved the file at `from` to `to` (already done on disk): same content, same inode. */
  renamed(from: string, to: string): FileRecord {
    const rec = this.files.get(from)!;
    this.forget(from);
    this.noteRename(from, to);
    return this.record(to, rec.hash); // a rename changes the file's ctime
  }

  private noteRename(from: string, to: string): void {
    const r = this.renamedTo.get(from);
    const e = { to, at: Date.now() };
    if (r) r.push(e);
    else this.renamedTo.set(from, [e]);
  }

  /** Whether the driver had a file at `rel` at any time up to `at` (a name the client made up never was). */
  everAt(rel: string, at: number): boolean {
    const t = this.firstAt.get(rel);
    return t !== undefined && t <= at;
  }

  /** The soak wrote `hash` at `rel` on the server (through the API, as another device would). */
  wroteOnServer(rel: string, hash: string): void {
    let h = this.serverWrote.get(rel);
    if (!h) this.serverWrote.set(rel, (h = new Set()));
    h.add(hash);
  }

  forget(rel: string): void {
    this.files.delete(rel);
    const r = this.removed.get(rel);
    if (r) r.push(Date.now());
    else this.removed.set(rel, [Date.now()]);
  }

  /** Whether the driver removed `rel` at or before `at`. */
  removedBy(rel: string, at: number): boolean {
    return (this.removed.get(rel) ?? []).some((t) => t <= at);
  }

  /**
   * Before the driver touches `rel`: it must still be exactly as the driver left it (same inode, size and ctime).
   * A difference means something else wrote, truncated, replaced or touched it.
   */
  check(rel: string): void {
    const rec = this.files.get(rel);
    if (!rec) return;
    let st;
    try {
      st = lstatSync(this.abs(rel));
    } catch {
      this.tampered.push({ path: rel, why: 'gone: deleted or moved by someone other than the driver' });
      return;
    }
    if (st.ino !== rec.ino || st.size !== rec.size || st.ctimeMs !== rec.ctimeMs) {
      this.tampered.push({
        path: rel,
        why: `changed behind the driver's back (ino ${rec.ino}→${st.ino}, size ${rec.size}→${st.size}, ctime ${rec.ctimeMs}→${st.ctimeMs})`,
      });
    }
  }

  /** Moves every record under folder `from` to `to` (a folder rename by the driver). */
  moveFolder(from: string, to: string): void {
    const under = (p: string) => p === from || p.startsWith(from + '/');
    const re = (p: string) => to + p.slice(from.length);
    for (const f of [...this.folders]) {
      if (under(f)) {
        this.folders.delete(f);
        this.folders.add(re(f));
      }
    }
    for (const [p, rec] of [...this.files]) {
      if (!under(p)) continue;
      this.forget(p);
      const np = re(p);
      this.noteRename(p, np);
      this.files.set(np, rec); // a folder rename changes no file's ctime
      this.remember(np, rec.hash);
    }
  }

  /** Whether `hash` was ever at rest at `rel` (what a remote copy of `rel` may hold), or the soak wrote it there on the server. */
  heldAt(rel: string, hash: string): boolean {
    return (this.history.get(rel)?.has(hash) ?? false) || (this.serverWrote.get(rel)?.has(hash) ?? false);
  }
}
