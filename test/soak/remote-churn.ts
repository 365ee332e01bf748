/**
 * Two-way soaks: the server's side of the churn, through the Cloudreve v4 API the way another device (the web page,
 * a phone, another computer) would change the pair's remote folder: new files, new versions of files (guarded by
 * `previous`, as conflict-chaos.ts edits its files), renames, moves to other folders and deletions to the server's
 * trash, of files and of folders. Every content written is noted in the local model's version ledger (a new
 * version supersedes the one it was written over, a deletion the one deleted). Also: reading where every version is
 * at the end (the server's trash, this computer's freedesktop trash). Every decision is the soak's RandomSource's,
 * logged.
 */
import { createDecipheriv } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Emulator } from '../emulator/index.js';
import type { EventLog } from './event-log.js';
import { RESERVED_FOLDERS } from './file-chaos.js';
import { hashFile, sha256, type LocalModel } from './local-model.js';
import type { RandomSource } from './random-source.js';
import { childUri, type RemoteTree } from './remote-tree.js';

export type RemoteOp = 'remote-create' | 'remote-edit' | 'remote-rename' | 'remote-move' | 'remote-delete' | 'remote-mkdir' | 'remote-rename-folder' | 'remote-move-folder' | 'remote-delete-folder';

const parentOf = (rel: string): string => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};
const baseOf = (rel: string): string => rel.slice(rel.lastIndexOf('/') + 1);

export class RemoteChurn {
  readonly ops = new Map<string, number>();
  readonly failed = new Map<string, number>();
  /** what the churn did, with when (pair-relative paths) */
  readonly done: Array<{ op: RemoteOp; path: string; to?: string; at: number }> = [];

  constructor(
    private readonly model: LocalModel,
    private readonly rnd: RandomSource,
    private readonly log: EventLog,
    private readonly reader: RemoteTree,
    private readonly remote: string,
    /** folders left alone (the burst's, once made), besides the reserved ones */
    private readonly skip: () => string[] = () => [],
  ) {}

  private leftAlone(p: string): boolean {
    return [...RESERVED_FOLDERS, ...this.skip()].some((f) => p === f || p.startsWith(f + '/')) || / \(conflict [^)]*\)/.test(p);
  }

  /** Whether `rel` is taken here or there, its case ignored. */
  private taken(rel: string, remote: Set<string>): boolean {
    const low = rel.toLowerCase();
    for (const p of [...this.model.files.keys(), ...this.model.folders, ...remote]) if (p.toLowerCase() === low) return true;
    return false;
  }

  private newName(dir: string, remote: Set<string>, ext: string): string {
    for (;;) {
      const rel = (dir ? dir + '/' : '') + this.rnd.name(8) + ext;
      if (!this.taken(rel, remote)) return rel;
    }
  }

  /** One change on the server, as another device would make it. Failures (a lock, a race) are logged and counted. */
  async step(): Promise<void> {
    let files: Array<{ path: string; size: number; uploading: boolean }>;
    let folders: string[];
    try {
      files = (await this.reader.files(this.remote)).filter((f) => !f.uploading && !this.leftAlone(f.path));
      folders = (await this.reader.folders(this.remote)).filter((f) => f === '' || !this.leftAlone(f));
    } catch (err) {
      this.log.write('remote', { op: 'list-failed', error: String((err as Error)?.message ?? err) });
      return;
    }
    const all = new Set([...files.map((f) => f.path), ...folders]);
    const op: RemoteOp = this.rnd.weighted({
      'remote-create': files.length < 5 ? 100 : 25,
      'remote-edit': 20,
      'remote-rename': 8,
      'remote-move': 8,
      'remote-delete': 8,
      'remote-mkdir': 4,
      'remote-rename-folder': 3,
      'remote-move-folder': 2,
      'remote-delete-folder': 2,
    });
    const movable = folders.filter((f) => f !== '');
    const small = movable.filter((d) => !folders.some((g) => g.startsWith(d + '/')) && files.filter((f) => f.path.startsWith(d + '/')).length <= 5);
    const uri = (rel: string) => (rel === '' ? this.remote : childUri(this.remote, rel));
    let path = '';
    let to: string | undefined;
    try {
      switch (files.length === 0 && !['remote-create', 'remote-mkdir'].includes(op) ? 'remote-create' : op) {
        case 'remote-create': {
          path = this.newName(this.rnd.pick(folders), all, '.bin');
          const data = this.rnd.bytes(this.rnd.int(1, 256 * 1024));
          this.log.write('remote', { op, path, bytes: data.length });
          await this.reader.putContent(uri(path), data);
          this.model.wroteOnServer(path, sha256(data));
          break;
        }
        case 'remote-edit': {
          // a new version over the one we read (guarded by `previous`: refused when someone changed it since)
          const editable = files.filter((x) => x.size <= 4 * 1024 * 1024);
          if (editable.length === 0) return;
          path = this.rnd.pick(editable).path;
          const info = await this.reader.info(uri(path));
          if (!info || info.uploading) return;
          const before = (await this.reader.hash(uri(path))).hash;
          const data = this.rnd.bytes(this.rnd.int(1, 256 * 1024));
          this.log.write('remote', { op, path, bytes: data.length, previous: info.primaryEntity });
          try {
            await this.reader.putContent(uri(path), data, info.primaryEntity);
          } catch (err) {
            // the answer may be lost while the edit was made: look
            const now = await this.reader.hash(uri(path)).catch(() => null);
            if (now?.hash !== sha256(data)) throw err;
          }
          this.model.wroteOnServer(path, sha256(data), before);
          break;
        }
        case 'remote-rename': {
          path = this.rnd.pick(files).path;
          to = this.newName(parentOf(path), all, '.bin');
          this.log.write('remote', { op, path, to });
          await this.reader.rename(uri(path), baseOf(to));
          break;
        }
        case 'remote-move': {
          path = this.rnd.pick(files).path;
          const into = folders.filter((d) => d !== parentOf(path));
          if (into.length === 0) return;
          const dst = this.rnd.pick(into);
          to = (dst ? dst + '/' : '') + baseOf(path);
          if (this.taken(to, all)) return;
          this.log.write('remote', { op, path, to });
          await this.reader.move([uri(path)], uri(dst));
          break;
        }
        case 'remote-delete': {
          const f = this.rnd.pick(files);
          path = f.path;
          const before = (await this.reader.hash(uri(path))).hash;
          this.log.write('remote', { op, path });
          await this.reader.remove([uri(path)]);
          this.model.ledger?.removedOnServer(before);
          break;
        }
        case 'remote-mkdir': {
          path = this.newName(this.rnd.pick(folders), all, '');
          this.log.write('remote', { op, path });
          await this.reader.mkdir(uri(path));
          break;
        }
        case 'remote-rename-folder': {
          if (movable.length === 0) return;
          path = this.rnd.pick(movable);
          to = this.newName(parentOf(path), all, '');
          this.log.write('remote', { op, path, to });
          await this.reader.rename(uri(path), baseOf(to));
          break;
        }
        case 'remote-move-folder': {
          if (movable.length === 0) return;
          path = this.rnd.pick(movable);
          const into = folders.filter((d) => d !== parentOf(path) && d !== path && !d.startsWith(path + '/'));
          if (into.length === 0) return;
          const dst = this.rnd.pick(into);
          to = (dst ? dst + '/' : '') + baseOf(path);
          if (this.taken(to, all)) return;
          this.log.write('remote', { op, path, to });
          await this.reader.move([uri(path)], uri(dst));
          break;
        }
        case 'remote-delete-folder': {
          if (small.length === 0) return;
          path = this.rnd.pick(small);
          const inside = files.filter((f) => f.path.startsWith(path + '/'));
          const hashes = await Promise.all(inside.map((f) => this.reader.hash(uri(f.path)).then((h) => h.hash)));
          this.log.write('remote', { op, path, files: inside.length });
          await this.reader.remove([uri(path)]);
          for (const h of hashes) this.model.ledger?.removedOnServer(h);
          break;
        }
      }
    } catch (err) {
      this.failed.set(op, (this.failed.get(op) ?? 0) + 1);
      this.log.write('remote', { op: `${op}-failed`, path, ...(to ? { to } : {}), error: String((err as Error)?.message ?? err) });
      return;
    }
    this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
    this.done.push({ op, path, ...(to ? { to } : {}), at: Date.now() });
  }
}

/** The plaintext hash of a file the server holds at `uri` (the trash too), read through the emulator's hooks. */
export function blobHash(emu: Emulator, uri: string): string | null {
  const blob = emu.blob(uri);
  const ent = emu.entity(uri);
  if (!blob || !ent) return null;
  if (!ent.encrypted || !ent.key || !ent.iv) return sha256(blob);
  const d = createDecipheriv('aes-256-ctr', Buffer.from(ent.key, 'base64'), Buffer.from(ent.iv, 'base64'));
  return sha256(Buffer.concat([d.update(blob), d.final()]));
}

/** Every file in the server's trash (in trashed folders too) with its plaintext hash: "trash name/inside" → hash. */
export async function serverTrashContents(reader: RemoteTree, emu: Emulator): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await reader.trash()) {
    const top = `cloudreve://trash/${encodeURIComponent(e.name)}`;
    if (!e.folder) {
      const h = blobHash(emu, top);
      if (h) out.set(e.name, h);
      continue;
    }
    const walk = async (uri: string, rel: string): Promise<void> => {
      for (const c of await reader.children(uri)) {
        const u = childUri(uri, c.name);
        if (c.folder) await walk(u, `${rel}/${c.name}`);
        else {
          const h = blobHash(emu, u);
          if (h) out.set(`${rel}/${c.name}`, h);
        }
      }
    };
    await walk(top, e.name);
  }
  return out;
}

/**
 * Every file in this computer's freedesktop trash under `xdgData` (`Trash/files`, trashed folders walked) with its
 * hash, and where each top-level entry came from (`Trash/info/*.trashinfo`, `Path=`).
 */
export async function localTrashContents(xdgData: string): Promise<{ files: Map<string, string>; origins: Map<string, string> }> {
  const files = new Map<string, string>();
  const origins = new Map<string, string>();
  const dir = join(xdgData, 'Trash');
  if (!existsSync(join(dir, 'files'))) return { files, origins };
  const walk = async (abs: string, rel: string): Promise<void> => {
    const st = lstatSync(abs);
    if (st.isDirectory()) for (const n of readdirSync(abs)) await walk(join(abs, n), rel ? `${rel}/${n}` : n);
    else if (st.isFile()) files.set(rel, await hashFile(abs));
  };
  await walk(join(dir, 'files'), '');
  if (existsSync(join(dir, 'info'))) {
    for (const f of readdirSync(join(dir, 'info'))) {
      const m = /^Path=(.*)$/m.exec(readFileSync(join(dir, 'info', f), 'utf8'));
      if (m) origins.set(f.replace(/\.trashinfo$/, ''), decodeURIComponent(m[1]));
    }
  }
  return { files, origins };
}
