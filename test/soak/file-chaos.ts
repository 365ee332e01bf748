/**
 * The file side of the soak: creates, appends (also in steps while an upload may be running), truncates, replaces
 * by atomic rename, renames files (within their folder, to another folder, both at once, case only), deletes files,
 * creates, renames and moves folders with what is in them, a burst of thousands of small files and one large sparse
 * file; after the settle, a round of pure renames and moves with nothing else going on (`quietMoves`). Every decision
 * comes from the soak's RandomSource and is logged; LocalModel keeps the record.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import type { EventLog } from './event-log.js';
import { LocalModel, hashFile, sha256 } from './local-model.js';
import type { RandomSource } from './random-source.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const parentOf = (rel: string): string => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};

const isReserved = (p: string): boolean => RESERVED_FOLDERS.some((f) => p === f || p.startsWith(f + '/'));

export type FileOp =
  | 'create'
  | 'append'
  | 'append-steps'
  | 'truncate'
  | 'replace'
  | 'rename'
  | 'move'
  | 'rename-move'
  | 'case-rename'
  | 'delete'
  | 'mkdir'
  | 'rename-folder'
  | 'move-folder'
  | 'delete-folder';

/** Folders of their own, left out of the random operations: the big file's, and the conflicts' (conflict-chaos.ts). */
export const RESERVED_FOLDERS = ['big', 'conflicts'];

/** A rename or move the driver made (`quietMoves`), to check what the client did for it. */
export interface DriverMove {
  op: FileOp;
  kind: 'file' | 'folder';
  from: string;
  to: string;
  /** files it carried (1 for a file) */
  files: number;
}

/** `name` with the case of its letters changed (the part before the extension), or null when it has no letter. */
export function caseSwapped(name: string): string | null {
  const dot = name.lastIndexOf('.');
  const base = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  const swapped = [...base].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
  return swapped === base ? null : swapped + ext;
}

export interface FileChaosOptions {
  /** files in the burst */
  burstFiles: number;
  /** bytes of the large sparse file (0: none) */
  bigBytes: number;
  /** beyond this many files (burst aside) the driver deletes more than it creates */
  maxFiles: number;
}

export class FileChaos {
  readonly ops = new Map<string, number>();
  bytesWritten = 0;
  /** the burst's folder once made, and whether it was deleted as a whole (a mass delete the guard must hold) */
  burstFolder: string | null = null;
  burstDeleted: string[] = [];

  constructor(
    readonly model: LocalModel,
    private readonly rnd: RandomSource,
    private readonly log: EventLog,
    private readonly opts: FileChaosOptions,
  ) {}

  private count(op: string): void {
    this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
  }

  private size(): number {
    const r = this.rnd.next();
    if (r < 0.05) return 0;
    if (r < 0.7) return this.rnd.int(1, 64 * 1024);
    if (r < 0.95) return this.rnd.int(64 * 1024, 3 * 1024 * 1024);
    return this.rnd.int(3 * 1024 * 1024, 12 * 1024 * 1024);
  }

  /**
   * Whether `rel` is taken, its case ignored (no case twins: a server or a disk may not tell them apart); `self`, the
   * path being renamed, does not count (a case-only rename).
   */
  private taken(rel: string, self?: string): boolean {
    const low = rel.toLowerCase();
    for (const p of this.model.files.keys()) if (p !== self && p.toLowerCase() === low) return true;
    for (const f of this.model.folders) if (f !== self && f.toLowerCase() === low) return true;
    return false;
  }

  private newName(dir: string, ext = '.bin'): string {
    for (;;) {
      const rel = (dir ? dir + '/' : '') + this.rnd.name(8) + ext;
      if (!this.taken(rel)) return rel;
    }
  }

  /** Ordinary files (not the burst, not the big file, not the conflicts). */
  plainFiles(): string[] {
    return [...this.model.files.keys()].filter((p) => !this.isBurst(p) && !isReserved(p)).sort();
  }

  private isBurst(p: string): boolean {
    return this.burstFolder !== null && (p === this.burstFolder || p.startsWith(this.burstFolder + '/'));
  }

  plainFolders(): string[] {
    return [...this.model.folders].filter((f) => !this.isBurst(f) && !isReserved(f)).sort();
  }

  private filesUnder(dir: string): string[] {
    return [...this.model.files.keys()].filter((p) => p.startsWith(dir + '/'));
  }

  /** Writes `data` at `rel` the way most programs do (open, write, close: readers may see it half-written). */
  private write(rel: string, data: Buffer): void {
    this.model.check(rel);
    writeFileSync(this.model.abs(rel), data);
    this.bytesWritten += data.length;
    this.model.record(rel, sha256(data));
  }

  /** One random operation on the tree. */
  async step(): Promise<void> {
    const files = this.plainFiles();
    const crowded = files.length >= this.opts.maxFiles;
    const op: FileOp = this.rnd.weighted({
      create: files.length < 5 ? 100 : crowded ? 2 : 30,
      append: 12,
      'append-steps': 6,
      truncate: 5,
      replace: 8,
      rename: 3,
      move: 3,
      'rename-move': 3,
      'case-rename': 2,
      delete: crowded ? 40 : 8,
      mkdir: 4,
      'rename-folder': 2,
      'move-folder': 2,
      'delete-folder': 2,
    });
    await this.do(op, files);
  }

  private async do(op: FileOp, files: string[]): Promise<DriverMove | null> {
    const rnd = this.rnd;
    const needFile = !['create', 'mkdir', 'rename-folder', 'move-folder', 'delete-folder'].includes(op);
    if (needFile && files.length === 0) return this.do('create', files);
    const target = needFile ? rnd.pick(files) : '';
    switch (op) {
      case 'create': {
        const rel = this.newName(rnd.pick(this.plainFolders()));
        const n = this.size();
        this.log.write('file', { op, path: rel, bytes: n });
        this.write(rel, rnd.bytes(n));
        break;
      }
      case 'append': {
        const n = rnd.int(1, 256 * 1024);
        this.log.write('file', { op, path: target, bytes: n });
        this.model.check(target);
        appendFileSync(this.model.abs(target), rnd.bytes(n));
        this.bytesWritten += n;
        this.model.record(target, await hashFile(this.model.abs(target)));
        break;
      }
      case 'append-steps': {
        // appended to in a few steps while its upload is likely running; each step's state is one at rest
        const steps = rnd.int(2, 4);
        const gap = rnd.int(100, 1500);
        this.log.write('file', { op, path: target, steps, gapMs: gap });
        for (let i = 0; i < steps; i++) {
          const n = rnd.int(64 * 1024, 1024 * 1024);
          this.model.check(target);
          appendFileSync(this.model.abs(target), rnd.bytes(n));
          this.bytesWritten += n;
          this.model.record(target, await hashFile(this.model.abs(target)));
          if (i < steps - 1) await sleep(gap);
        }
        break;
      }
      case 'truncate': {
        const cur = this.model.files.get(target)!.size;
        const n = cur === 0 ? 0 : rnd.int(0, cur - 1);
        this.log.write('file', { op, path: target, to: n });
        this.model.check(target);
        truncateSync(this.model.abs(target), n);
        this.model.record(target, await hashFile(this.model.abs(target)));
        break;
      }
      case 'replace': {
        // how editors save: write a temporary file (ignored by the default rules), then rename it over the file
        const tmp = target + '.' + rnd.name(4) + '.tmp';
        const data = rnd.bytes(this.size());
        this.log.write('file', { op, path: target, bytes: data.length });
        this.model.check(target);
        writeFileSync(this.model.abs(tmp), data);
        this.bytesWritten += data.length;
        renameSync(this.model.abs(tmp), this.model.abs(target));
        this.model.record(target, sha256(data));
        break;
      }
      case 'rename':
      case 'move':
      case 'rename-move':
      case 'case-rename': {
        // a file under a new name in its folder, the same name in another folder, both, or only its case changed
        const dir = parentOf(target);
        const name = target.slice(dir ? dir.length + 1 : 0);
        let to: string;
        if (op === 'rename') to = this.newName(dir);
        else if (op === 'case-rename') {
          const swapped = caseSwapped(name);
          const cand = swapped === null ? null : (dir ? dir + '/' : '') + swapped;
          if (cand === null || this.taken(cand, target)) return this.do('rename', files);
          to = cand;
        } else {
          const others = this.plainFolders().filter((f) => f !== dir);
          if (others.length === 0) return this.do(op === 'move' ? 'mkdir' : 'rename', files);
          const into = rnd.pick(others);
          const same = (into ? into + '/' : '') + name;
          to = op === 'move' && !this.taken(same) ? same : this.newName(into);
        }
        this.log.write('file', { op, path: target, to });
        this.model.check(target);
        renameSync(this.model.abs(target), this.model.abs(to));
        this.model.renamed(target, to);
        this.count(op);
        return { op, kind: 'file', from: target, to, files: 1 };
      }
      case 'delete': {
        this.log.write('file', { op, path: target });
        this.model.check(target);
        rmSync(this.model.abs(target));
        this.model.deleted(target);
        break;
      }
      case 'mkdir': {
        const rel = this.newName(rnd.pick(this.plainFolders()), '');
        this.log.write('file', { op, path: rel });
        mkdirSync(this.model.abs(rel));
        this.model.folders.add(rel);
        break;
      }
      case 'rename-folder':
      case 'move-folder': {
        // a folder and everything in it: under a new name in its parent, or into another folder (its name kept)
        const movable = this.plainFolders().filter((f) => f !== '');
        if (movable.length === 0) return this.do('mkdir', files);
        const from = rnd.pick(movable);
        const parent = parentOf(from);
        const name = from.slice(parent ? parent.length + 1 : 0);
        let to: string;
        const swapped = caseSwapped(name);
        const caseOnly = swapped === null ? null : (parent ? parent + '/' : '') + swapped;
        if (op === 'rename-folder') to = rnd.chance(0.25) && caseOnly !== null && !this.taken(caseOnly, from) ? caseOnly : this.newName(parent, '');
        else {
          const parents = this.plainFolders().filter((f) => f !== from && !f.startsWith(from + '/') && f !== parent);
          if (parents.length === 0) return this.do('rename-folder', files);
          const into = rnd.pick(parents);
          const same = (into ? into + '/' : '') + name;
          to = !this.taken(same) ? same : this.newName(into, '');
        }
        const inside = this.filesUnder(from);
        this.log.write('file', { op, path: from, to, files: inside.length });
        for (const p of inside) this.model.check(p);
        renameSync(this.model.abs(from), this.model.abs(to));
        this.model.moveFolder(from, to);
        this.count(op);
        return { op, kind: 'folder', from, to, files: inside.length };
      }
      case 'delete-folder': {
        // a small folder (a mass delete is the burst's, on purpose, once)
        const small = this.plainFolders().filter((f) => f !== '' && [...this.model.folders].filter((g) => g.startsWith(f + '/')).length === 0 && [...this.model.files.keys()].filter((p) => p.startsWith(f + '/')).length <= 5);
        if (small.length === 0) return this.do('delete', files);
        const dir = rnd.pick(small);
        const inside = [...this.model.files.keys()].filter((p) => p.startsWith(dir + '/'));
        this.log.write('file', { op, path: dir, files: inside.length });
        for (const p of inside) this.model.check(p);
        rmSync(this.model.abs(dir), { recursive: true });
        for (const p of inside) this.model.deleted(p);
        this.model.folders.delete(dir);
        break;
      }
    }
    this.count(op);
    return null;
  }

  /**
   * A round of pure renames and moves (nothing else changes): a file renamed in its folder, moved to another, its
   * case changed, renamed and moved at once, a folder renamed and one moved (each with files in it), a file renamed
   * inside a folder that is then renamed too, and the big file renamed. Run when everything is on the server, each
   * must be carried out as a move there: no byte sent, nothing trashed. Paths in `exclude` (and folders holding
   * them) are left alone.
   */
  async quietMoves(exclude: ReadonlySet<string> = new Set()): Promise<DriverMove[]> {
    const out: DriverMove[] = [];
    const files = () => this.plainFiles().filter((p) => !exclude.has(p));
    const clean = (f: string) => f !== '' && this.filesUnder(f).length > 0 && !this.filesUnder(f).some((p) => exclude.has(p));
    const pickFolder = () => {
      const ok = this.plainFolders().filter((d) => clean(d) && fresh(d));
      return ok.length ? this.rnd.pick(ok) : null;
    };
    const moveFile = async (op: FileOp, from: string, to: string): Promise<void> => {
      this.log.write('file', { op, path: from, to, quiet: true });
      this.model.check(from);
      renameSync(this.model.abs(from), this.model.abs(to));
      this.model.renamed(from, to);
      this.count(op);
      out.push({ op, kind: 'file', from, to, files: 1 });
    };
    const moveFolder = async (op: FileOp, from: string, to: string): Promise<void> => {
      const inside = this.filesUnder(from);
      this.log.write('file', { op, path: from, to, files: inside.length, quiet: true });
      for (const p of inside) this.model.check(p);
      renameSync(this.model.abs(from), this.model.abs(to));
      this.model.moveFolder(from, to);
      this.count(op);
      out.push({ op, kind: 'folder', from, to, files: inside.length });
    };
    const used = new Set<string>(); // one operation per file or folder in the round
    const fresh = (p: string) => ![...used].some((u) => p === u || p.startsWith(u + '/') || u.startsWith(p + '/'));
    const pickFile = (pred: (p: string) => boolean = () => true) => {
      const ok = files().filter((p) => fresh(p) && pred(p));
      return ok.length ? this.rnd.pick(ok) : null;
    };
    // a file renamed in its folder
    let f = pickFile();
    if (f) {
      const to = this.newName(parentOf(f));
      await moveFile('rename', f, to);
      used.add(to);
    }
    // a file moved to another folder, its name kept
    f = pickFile();
    if (f) {
      const into = this.plainFolders().filter((x) => x !== parentOf(f!) && (x === '' || fresh(x)));
      const base = f.slice(f.lastIndexOf('/') + 1);
      if (into.length) {
        const p = this.rnd.pick(into);
        const to = (p ? p + '/' : '') + base;
        if (!this.taken(to)) {
          await moveFile('move', f, to);
          used.add(to);
        }
      }
    }
    // a case-only rename
    f = pickFile((p) => caseSwapped(p.slice(p.lastIndexOf('/') + 1)) !== null);
    if (f) {
      const dir = parentOf(f);
      const to = (dir ? dir + '/' : '') + caseSwapped(f.slice(f.lastIndexOf('/') + 1))!;
      if (!this.taken(to, f)) {
        await moveFile('case-rename', f, to);
        used.add(to);
      }
    }
    // a folder renamed in its parent, one moved into another folder (its name kept)
    let d = pickFolder();
    if (d && fresh(d)) {
      const to = this.newName(parentOf(d), '');
      await moveFolder('rename-folder', d, to);
      used.add(to);
    }
    d = pickFolder();
    if (d && fresh(d)) {
      const name = d.slice(d.lastIndexOf('/') + 1);
      const into = this.plainFolders().filter((x) => x !== parentOf(d!) && x !== d && !x.startsWith(d + '/') && (x === '' || fresh(x)));
      if (into.length) {
        const p = this.rnd.pick(into);
        const to = (p ? p + '/' : '') + name;
        if (!this.taken(to)) {
          await moveFolder('move-folder', d, to);
          used.add(to);
        }
      }
    }
    // a file renamed inside a folder that is renamed right after (one pass sees both)
    d = pickFolder();
    if (d && fresh(d)) {
      const inner = this.filesUnder(d).filter((p) => parentOf(p) === d);
      if (inner.length) {
        const g = this.rnd.pick(inner);
        await moveFile('rename', g, this.newName(d));
        const to = this.newName(parentOf(d), '');
        await moveFolder('rename-folder', d, to);
        used.add(to);
      }
    }
    const big = [...this.model.files.keys()].find((p) => p.startsWith('big/') && !exclude.has(p));
    if (big) await moveFile('rename', big, this.newName('big', '.img'));
    return out;
  }

  /** Thousands of small files in one new folder, written as fast as the disk takes them. */
  burst(): void {
    const dir = this.newName('', '');
    this.burstFolder = dir;
    mkdirSync(this.model.abs(dir));
    this.model.folders.add(dir);
    const n = this.opts.burstFiles;
    this.log.write('file', { op: 'burst', path: dir, files: n });
    for (let i = 0; i < n; i++) {
      const sub = `${dir}/s${i % 20}`;
      if (!this.model.folders.has(sub)) {
        mkdirSync(this.model.abs(sub));
        this.model.folders.add(sub);
      }
      this.write(`${sub}/f${i}.dat`, this.rnd.bytes(this.rnd.int(0, 4096)));
    }
    this.count('burst');
  }

  /** Deletes the whole burst folder: more than the mirror guard lets through in one pass. */
  deleteBurst(): void {
    const dir = this.burstFolder;
    if (!dir) return;
    const inside = [...this.model.files.keys()].filter((p) => p.startsWith(dir + '/'));
    this.log.write('file', { op: 'mass-delete', path: dir, files: inside.length });
    for (const p of inside) this.model.check(p);
    rmSync(this.model.abs(dir), { recursive: true });
    for (const p of inside) this.model.deleted(p);
    for (const f of [...this.model.folders]) if (f === dir || f.startsWith(dir + '/')) this.model.folders.delete(f);
    this.burstDeleted = inside;
    this.count('mass-delete');
  }

  /** The large file: sparse (cheap to make whatever its size) with random blocks at random offsets. */
  async big(): Promise<void> {
    const size = this.opts.bigBytes;
    if (size <= 0) return;
    mkdirSync(this.model.abs('big'), { recursive: true });
    this.model.folders.add('big');
    const rel = 'big/large.img';
    this.log.write('file', { op: 'big', path: rel, bytes: size });
    const fd = openSync(this.model.abs(rel), 'w');
    try {
      for (let i = 0; i < 16; i++) {
        const block = this.rnd.bytes(64 * 1024);
        const at = Math.min(size - block.length, Math.floor(this.rnd.next() * size));
        if (at >= 0) writeSync(fd, block, 0, block.length, at);
      }
    } finally {
      closeSync(fd);
    }
    truncateSync(this.model.abs(rel), size);
    this.model.record(rel, await hashFile(this.model.abs(rel)));
    this.count('big');
  }
}
