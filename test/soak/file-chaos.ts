/**
 * The file side of the soak: creates, appends (also in steps while an upload may be running), truncates, replaces
 * by atomic rename, renames, deletes files, creates and moves folders, a burst of thousands of small files and one
 * large sparse file. Every decision comes from the soak's RandomSource and is logged; LocalModel keeps the record.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import type { EventLog } from './event-log.js';
import { LocalModel, hashFile, sha256 } from './local-model.js';
import type { RandomSource } from './random-source.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type FileOp = 'create' | 'append' | 'append-steps' | 'truncate' | 'replace' | 'rename' | 'delete' | 'mkdir' | 'move-folder' | 'delete-folder';

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

  private newName(dir: string, ext = '.bin'): string {
    for (;;) {
      const rel = (dir ? dir + '/' : '') + this.rnd.name(8) + ext;
      if (!this.model.files.has(rel) && !this.model.folders.has(rel)) return rel;
    }
  }

  /** Ordinary files (not the burst, not the big file). */
  private plainFiles(): string[] {
    return [...this.model.files.keys()].filter((p) => !this.isBurst(p) && !p.startsWith('big/')).sort();
  }

  private isBurst(p: string): boolean {
    return this.burstFolder !== null && (p === this.burstFolder || p.startsWith(this.burstFolder + '/'));
  }

  private plainFolders(): string[] {
    return [...this.model.folders].filter((f) => !this.isBurst(f) && f !== 'big' && !f.startsWith('big/')).sort();
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
      rename: 8,
      delete: crowded ? 40 : 8,
      mkdir: 4,
      'move-folder': 3,
      'delete-folder': 2,
    });
    await this.do(op, files);
  }

  private async do(op: FileOp, files: string[]): Promise<void> {
    const rnd = this.rnd;
    const needFile = op !== 'create' && op !== 'mkdir' && op !== 'move-folder' && op !== 'delete-folder';
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
      case 'rename': {
        const to = this.newName(rnd.pick(this.plainFolders()));
        this.log.write('file', { op, path: target, to });
        this.model.check(target);
        const rec = this.model.files.get(target)!;
        renameSync(this.model.abs(target), this.model.abs(to));
        this.model.forget(target);
        this.model.record(to, rec.hash);
        break;
      }
      case 'delete': {
        this.log.write('file', { op, path: target });
        this.model.check(target);
        rmSync(this.model.abs(target));
        this.model.forget(target);
        break;
      }
      case 'mkdir': {
        const rel = this.newName(rnd.pick(this.plainFolders()), '');
        this.log.write('file', { op, path: rel });
        mkdirSync(this.model.abs(rel));
        this.model.folders.add(rel);
        break;
      }
      case 'move-folder': {
        const movable = this.plainFolders().filter((f) => f !== '');
        if (movable.length === 0) return this.do('mkdir', files);
        const from = rnd.pick(movable);
        const parents = this.plainFolders().filter((f) => f !== from && !f.startsWith(from + '/'));
        const to = this.newName(rnd.pick(parents), '');
        this.log.write('file', { op, path: from, to });
        for (const p of this.model.files.keys()) if (p.startsWith(from + '/')) this.model.check(p);
        renameSync(this.model.abs(from), this.model.abs(to));
        this.model.moveFolder(from, to);
        break;
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
        for (const p of inside) this.model.forget(p);
        this.model.folders.delete(dir);
        break;
      }
    }
    this.count(op);
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
    for (const p of inside) this.model.forget(p);
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
