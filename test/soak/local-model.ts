/**
 * What the soak's driver wrote under the sync root: every file's current content hash and inode change time
 * (ctime), every content each path ever held at rest, and which paths it deleted. The client may only read these
 * files; anything that changed a file behind the driver's back shows up as a ctime, size or hash it did not record.
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
    let h = this.history.get(rel);
    if (!h) this.history.set(rel, (h = new Set()));
    h.add(hash);
    return rec;
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
      this.files.set(np, rec); // a folder rename changes no file's ctime
      let h = this.history.get(np);
      if (!h) this.history.set(np, (h = new Set()));
      h.add(rec.hash);
    }
  }

  /** Whether `hash` was ever at rest at `rel` (what a remote copy of `rel` may hold). */
  heldAt(rel: string, hash: string): boolean {
    return this.history.get(rel)?.has(hash) ?? false;
  }
}
