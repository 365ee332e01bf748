/**
 * What the soak's driver wrote under the sync root: every file's current content hash and inode change time
 * (ctime), every content each path ever held at rest, which paths it deleted and where it renamed or moved files
 * (a folder's move counts for every file in it), and what the soak itself wrote on the server through the API (the
 * other side of a conflict). The client may only read these files; anything that changed a file behind the driver's
 * back shows up as a ctime, size or hash it did not record.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync } from 'node:fs';
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

/** Empty content: nothing to lose, never a required version. */
export const EMPTY_HASH = sha256(Buffer.alloc(0));

/**
 * Two-way: every version of every file written by the soak (the driver here, or through the API as another device
 * would), and which of them nobody superseded. A version is superseded when the side that wrote it replaced it
 * knowingly (the driver saved over it here, or another device wrote a new version over it on the server: `replaced`)
 * or deleted it (`deleted`); every version not superseded must be somewhere at the end (at a path here or on the
 * server, in a conflict copy, in the server's trash or in this computer's trash).
 */
export class VersionLedger {
  /** hash → where and how it was written (for the report) */
  readonly required = new Map<string, string>();
  /** every content the soak wrote, here or on the server (anything else found anywhere was never at rest) */
  readonly everWritten = new Set<string>();
  /** contents their writer saved a newer version over */
  readonly replaced = new Set<string>();
  /** contents their writer (or the other side's writer, knowingly) deleted */
  readonly deleted = new Set<string>();
  /** contents written through the API (another device's), and those the API deleted (to the server's trash) */
  readonly apiWritten = new Set<string>();
  readonly apiDeleted = new Set<string>();

  wrote(hash: string, origin: string, prev?: string): void {
    if (prev !== undefined && prev !== hash) {
      this.required.delete(prev);
      this.replaced.add(prev);
    }
    this.everWritten.add(hash);
    if (hash !== EMPTY_HASH) this.required.set(hash, origin);
  }

  removed(hash: string): void {
    this.required.delete(hash);
    this.deleted.add(hash);
  }

  /** Another device deleted the file holding `hash` on the server (to its trash). */
  removedOnServer(hash: string): void {
    this.removed(hash);
    this.apiDeleted.add(hash);
  }
}

/** The name of a download's hidden temporary file (never a file of the pair's). */
export const isPartial = (name: string): boolean => name.startsWith('.cloudreve-sync-');

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
  /**
   * Two-way: the client writes, renames and trashes local files too (the server's changes). `check` and `resync`
   * then take in what they find (`adopted`) instead of calling it tampering, and note files that vanished with
   * their content nowhere else here (`vanished`: they must be in this computer's trash).
   */
  shared = false;
  ledger: VersionLedger | null = null;
  readonly adopted: Array<{ path: string; at: number; from: string | null; to: string | null }> = [];
  readonly vanished: Array<{ path: string; hash: string; at: number }> = [];

  constructor(readonly root: string) {}

  abs(rel: string): string {
    return join(this.root, rel);
  }

  /** Records what `rel` holds now (after the driver wrote it); `hash` is its content's. */
  record(rel: string, hash: string, how = 'local write'): FileRecord {
    if (how) this.ledger?.wrote(hash, `${how} at ${rel} (${new Date().toISOString()})`, this.files.get(rel)?.hash);
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
    return this.record(to, rec.hash, ''); // a rename changes the file's ctime (and supersedes no content)
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
  wroteOnServer(rel: string, hash: string, replaced?: string): void {
    this.ledger?.wrote(hash, `API write at ${rel} (${new Date().toISOString()})`, replaced);
    this.ledger?.apiWritten.add(hash);
    let h = this.serverWrote.get(rel);
    if (!h) this.serverWrote.set(rel, (h = new Set()));
    h.add(hash);
  }

  /** The driver deleted the file at `rel` (already gone from disk): its content is superseded. */
  deleted(rel: string): void {
    const rec = this.files.get(rel);
    if (rec) this.ledger?.removed(rec.hash);
    this.forget(rel);
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
      if (this.shared) return; // moved or trashed by the client: the next resync sees where (the operation fails)
      this.tampered.push({ path: rel, why: 'gone: deleted or moved by someone other than the driver' });
      return;
    }
    if (st.ino !== rec.ino || st.size !== rec.size || st.ctimeMs !== rec.ctimeMs) {
      if (this.shared) {
        // the client brought the server's version down (or a conflict's): take it in as what is here now
        const hash = sha256(readFileSync(this.abs(rel)));
        this.adopted.push({ path: rel, at: Date.now(), from: rec.hash, to: hash });
        this.files.set(rel, { hash, size: st.size, ino: st.ino, ctimeMs: st.ctimeMs });
        this.remember(rel, hash);
        return;
      }
      this.tampered.push({
        path: rel,
        why: `changed behind the driver's back (ino ${rec.ino}→${st.ino}, size ${rec.size}→${st.size}, ctime ${rec.ctimeMs}→${st.ctimeMs})`,
      });
    }
  }

  /**
   * Two-way: takes in the tree as it is on disk (the client downloads, renames and trashes files too): new and
   * changed files are hashed and recorded (`adopted`), folders follow the disk, and a recorded file gone from disk
   * whose content is at no other path here now is noted in `vanished` (it must be in this computer's trash).
   * Returns what changed.
   */
  async resync(): Promise<{ adopted: number; gone: number; vanished: number }> {
    const seen = new Map<string, { ino: number; size: number; ctimeMs: number }>();
    const folders = new Set<string>(['']);
    const walk = (dir: string, rel: string): void => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of names) {
        if (isPartial(name)) continue;
        const r = rel ? `${rel}/${name}` : name;
        let st;
        try {
          st = lstatSync(join(dir, name));
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          folders.add(r);
          walk(join(dir, name), r);
        } else if (st.isFile()) seen.set(r, { ino: st.ino, size: st.size, ctimeMs: st.ctimeMs });
      }
    };
    walk(this.root, '');
    const gone: Array<{ path: string; hash: string }> = [];
    for (const [p, rec] of [...this.files]) {
      if (seen.has(p)) continue;
      gone.push({ path: p, hash: rec.hash });
      this.files.delete(p);
    }
    let adopted = 0;
    for (const [p, st] of seen) {
      const rec = this.files.get(p);
      if (rec && rec.ino === st.ino && rec.size === st.size && rec.ctimeMs === st.ctimeMs) continue;
      let hash: string;
      try {
        hash = await hashFile(this.abs(p));
      } catch {
        continue; // gone while read: the next resync
      }
      adopted++;
      this.adopted.push({ path: p, at: Date.now(), from: rec?.hash ?? null, to: hash });
      this.files.set(p, { hash, size: st.size, ino: st.ino, ctimeMs: st.ctimeMs });
      this.remember(p, hash);
    }
    const here = new Set([...this.files.values()].map((r) => r.hash));
    let vanished = 0;
    for (const g of gone) {
      if (here.has(g.hash)) continue;
      this.vanished.push({ ...g, at: Date.now() });
      vanished++;
    }
    this.folders.clear();
    for (const f of folders) this.folders.add(f);
    return { adopted, gone: gone.length, vanished };
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
