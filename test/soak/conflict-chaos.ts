/**
 * Conflicts in the soak: files of their own (under `conflicts/`, left out of the random file operations) that are
 * edited on both sides. Once the client has uploaded one (it said so, and the server holds exactly our content),
 * the soak writes another content there through the API — as the web editor or another device would — and saves
 * the local file right after; later it saves the local file once or twice more (those saves must go to the same
 * conflict copy). After the settle `resolveAll` checks that every version is somewhere, then resolves each conflict
 * through the CLI (`pairs conflicts`, `pairs resolve N keep-mine|keep-both`, which reach the running client through
 * its control socket) and records what the server looks like after each. Every decision is the soak's RandomSource's,
 * logged.
 */
import { createDecipheriv } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Emulator } from '../emulator/index.js';
import type { ClientProcess } from './client-process.js';
import { runCliCommand } from './client-process.js';
import type { EventLog } from './event-log.js';
import { conflictCopies, type ConflictExpectation, type ResolutionObserved } from './invariants.js';
import { hashFile, sha256, type LocalModel } from './local-model.js';
import type { RandomSource } from './random-source.js';
import { childUri, type RemoteTree } from './remote-tree.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const CONFLICT_FOLDER = 'conflicts';

interface ConflictFile {
  rel: string;
  /** created: waiting for the client to upload it; edited: changed on the server and here */
  stage: 'created' | 'edited';
  lastLocalWrite: number;
  /** the content the soak wrote on the server (another device's version) */
  theirs: string | null;
  /** local saves since the server's edit */
  saves: number;
}

export interface ConflictListing {
  id: number;
  relPath: string;
  remoteUri: string;
  conflictUri: string;
}

/** "cloudreve://my/soak/a%20b/c.txt" → "a b/c.txt" under the pair's folder `remote` (null when outside it). */
export function relOfUri(remote: string, uri: string): string | null {
  const decoded = uri.split('/').map((s, i) => (i < 3 ? s : decodeURIComponent(s))).join('/');
  const root = remote.replace(/\/$/, '');
  return decoded.startsWith(root + '/') ? decoded.slice(root.length + 1) : null;
}

export class ConflictChaos {
  readonly files: ConflictFile[] = [];
  readonly ops = new Map<string, number>();
  /** every conflict copy a keep-mine sent to the trash (pair-relative), and when it was asked for */
  readonly keepMineCopies: Array<{ path: string; at: number }> = [];
  /** conflicts `pairs conflicts` listed that the soak did not make (both sides were ours) */
  readonly unexpected: string[] = [];
  /**
   * two-way: conflicts the churn made on both sides (not the soak's own) whose file is gone here by the end (renamed,
   * moved or deleted since: a conflict stays at its path): keep-mine has nothing of ours to send, so they are ended
   * with keep-both, which must take them off the list
   */
  readonly stale: Array<{ rel: string; keepMineCode: number | null; keepBothCode: number | null; listedAfter: boolean }> = [];

  constructor(
    private readonly model: LocalModel,
    private readonly rnd: RandomSource,
    private readonly log: EventLog,
    private readonly reader: RemoteTree,
    private readonly remote: string,
    private readonly client: ClientProcess,
    private readonly opts: { target: number; twoWay?: boolean },
  ) {}

  private count(op: string): void {
    this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
  }

  private async save(f: ConflictFile, op: string): Promise<void> {
    const data = this.rnd.bytes(this.rnd.int(1, 4096));
    this.log.write('conflict', { op, path: f.rel, bytes: data.length });
    this.model.check(f.rel);
    appendFileSync(this.model.abs(f.rel), data);
    this.model.record(f.rel, await hashFile(this.model.abs(f.rel)));
    f.lastLocalWrite = Date.now();
    this.count(op);
  }

  /** One step: a later save of a conflicted file, the server-side edit of an uploaded one, or a new file. */
  async step(): Promise<void> {
    const now = Date.now();
    const resave = this.files.filter((f) => f.stage === 'edited' && f.saves < 3 && now - f.lastLocalWrite > 2000);
    if (resave.length > 0 && this.rnd.chance(0.4)) {
      const f = this.rnd.pick(resave);
      f.saves++;
      await this.save(f, 'save-again');
      return;
    }
    for (const f of this.files.filter((x) => x.stage === 'created')) {
      const done = this.client.doneAt.get(resolvePath(this.model.abs(f.rel))) ?? 0;
      if (done > f.lastLocalWrite && now - done >= 3000) {
        if (await this.editBothSides(f)) return;
      } else if (now - f.lastLocalWrite > 60_000) {
        // not seen uploaded for a minute (the client was killed before it said so): a new save makes it go up again
        await this.save(f, 'resave-unseen');
        return;
      }
    }
    if (this.files.length < this.opts.target) this.create();
  }

  private create(): void {
    mkdirSync(this.model.abs(CONFLICT_FOLDER), { recursive: true });
    this.model.folders.add(CONFLICT_FOLDER);
    let rel: string;
    do rel = `${CONFLICT_FOLDER}/${this.rnd.name(6)}.txt`;
    while (this.model.files.has(rel));
    const data = this.rnd.bytes(this.rnd.int(1, 32 * 1024));
    this.log.write('conflict', { op: 'create', path: rel, bytes: data.length });
    writeFileSync(this.model.abs(rel), data);
    this.model.record(rel, sha256(data));
    this.files.push({ rel, stage: 'created', lastLocalWrite: Date.now(), theirs: null, saves: 0 });
    this.count('create');
  }

  /**
   * The server's edit, then ours: only once the server holds exactly our content (so the client's record of its
   * upload is the version the server's edit replaces). A refused or failed edit is tried again later.
   */
  private async editBothSides(f: ConflictFile): Promise<boolean> {
    const uri = childUri(this.remote, f.rel);
    const ours = this.model.files.get(f.rel)!;
    let theirs: Buffer;
    try {
      const info = await this.reader.info(uri);
      if (!info || info.uploading) return false;
      if ((await this.reader.hash(uri)).hash !== ours.hash) return false;
      // another size than any local save can give (those append at most 4 KiB): never "the same content" by size and time
      theirs = this.rnd.bytes(ours.size + 5000 + this.rnd.int(0, 999));
      this.log.write('conflict', { op: 'server-edit', path: f.rel, bytes: theirs.length, previous: info.primaryEntity });
      try {
        await this.reader.putContent(uri, theirs, info.primaryEntity);
      } catch (err) {
        // the answer may be lost while the edit was made: look
        const now = await this.reader.hash(uri).catch(() => null);
        if (now?.hash !== sha256(theirs)) throw err;
      }
    } catch (err) {
      this.log.write('conflict', { op: 'server-edit-failed', path: f.rel, error: String((err as Error)?.message ?? err) });
      return false;
    }
    this.model.wroteOnServer(f.rel, sha256(theirs), ours.hash);
    f.theirs = sha256(theirs);
    f.stage = 'edited';
    this.count('server-edit');
    f.saves = 1;
    await this.save(f, 'save-after-server-edit');
    return true;
  }

  /** The conflicts the soak made: the server's version and our last save (`waiting`: paths waiting for a retry time). */
  expectations(waiting: ReadonlySet<string> = new Set()): ConflictExpectation[] {
    return this.files
      .filter((f) => f.stage === 'edited')
      .map((f) => ({ rel: f.rel, theirs: f.theirs!, mine: this.model.files.get(f.rel)!.hash, ours: [...(this.model.history.get(f.rel) ?? [])], waiting: waiting.has(f.rel) }));
  }

  /** `pairs conflicts --json` through the CLI (the running client answers through its control socket). */
  async list(home: string): Promise<ConflictListing[]> {
    const r = await runCliCommand(home, ['pairs', 'conflicts', '--json']);
    if (r.code !== 0) throw new Error(`pairs conflicts failed (${r.code}): ${r.err.trim()}`);
    const list = JSON.parse(r.out.trim() || '[]') as ConflictListing[];
    return list;
  }

  /**
   * Resolves every listed conflict through the CLI: the soak's own alternately keep-mine and keep-both (the first
   * keep-mine), any other keep-mine. After keep-both, one more local save must go to the file itself (the pair
   * tracks the original from then on), not to a new conflict copy.
   */
  async resolveAll(home: string, emu: Emulator, pairRoot: string, waiting: ReadonlySet<string> = new Set()): Promise<ResolutionObserved[]> {
    const listed = await this.list(home);
    const ours = new Map(this.expectations(waiting).map((e) => [e.rel, e]));
    const out: ResolutionObserved[] = [];
    let i = 0;
    for (const c of listed) {
      const exp = ours.get(c.relPath);
      if (!exp) this.unexpected.push(c.relPath);
      const choice: 'keep-mine' | 'keep-both' = !exp ? 'keep-mine' : i++ % 2 === 0 ? 'keep-mine' : 'keep-both';
      if (!exp && this.opts.twoWay && !existsSync(this.model.abs(c.relPath))) {
        // a conflict of the churn's whose file moved or went away here since: keep-mine fails (nothing of ours there)
        const mine = await runCliCommand(home, ['pairs', 'resolve', String(c.id), 'keep-mine', '--json']);
        const both = mine.code === 0 ? null : await runCliCommand(home, ['pairs', 'resolve', String(c.id), 'keep-both', '--json']);
        const listedAfter = (await this.list(home)).some((x) => x.id === c.id);
        this.log.write('conflict', { op: 'stale', id: c.id, path: c.relPath, keepMine: mine.code, keepMineErr: mine.err.trim().slice(0, 300), keepBoth: both?.code ?? null, listedAfter });
        this.stale.push({ rel: c.relPath, keepMineCode: mine.code, keepBothCode: both?.code ?? null, listedAfter });
        this.unexpected.push(c.relPath);
        continue;
      }
      const copyRel = relOfUri(this.remote, c.conflictUri) ?? c.conflictUri;
      const local = this.model.files.get(c.relPath)?.hash ?? '';
      if (choice === 'keep-mine') this.keepMineCopies.push({ path: copyRel, at: Date.now() });
      this.log.write('conflict', { op: 'resolve', id: c.id, path: c.relPath, copy: copyRel, choice, made: !!exp });
      const r = await runCliCommand(home, ['pairs', 'resolve', String(c.id), choice, '--json']);
      this.log.write('conflict', { op: 'resolved', id: c.id, code: r.code, out: r.out.trim().slice(0, 300), err: r.err.trim().slice(0, 300) });
      this.count(choice);
      // keep-mine uploads ours first: wait for the conflict to leave the list (at most 2 minutes)
      let listedAfter = true;
      for (let t = Date.now(); Date.now() - t < 120_000; ) {
        listedAfter = (await this.list(home)).some((x) => x.id === c.id);
        if (!listedAfter) break;
        await sleep(1000);
      }
      const original = await this.hashOrNull(childUri(this.remote, c.relPath));
      const copyAtPath = await this.hashOrNull(c.conflictUri);
      const copyInTrash = await this.trashedHash(emu, `${pairRoot}/${copyRel}`);
      const o: ResolutionObserved = {
        rel: c.relPath,
        choice,
        exitCode: r.code,
        listedAfter,
        original,
        copyPath: copyRel,
        copyAtPath,
        copyInTrash,
        local,
        theirs: exp?.theirs ?? '',
        mine: exp?.mine ?? local,
        ours: [...(this.model.history.get(c.relPath) ?? [])],
        waiting: waiting.has(c.relPath),
        ...(this.opts.twoWay && / server\)(\.[^./]*)?$/.test(copyRel) ? { downloadSide: true } : {}),
      };
      if (choice === 'keep-both' && this.model.files.has(c.relPath)) o.afterSave = await this.saveAfterKeepBoth(c.relPath);
      this.log.write('conflict', { op: 'observed', ...o });
      out.push(o);
    }
    return out;
  }

  /** After keep-both: a local save, which must reach the file's own path on the server (no new conflict copy). */
  private async saveAfterKeepBoth(rel: string): Promise<NonNullable<ResolutionObserved['afterSave']>> {
    const f = this.files.find((x) => x.rel === rel) ?? { rel, stage: 'edited' as const, lastLocalWrite: 0, theirs: null, saves: 0 };
    await sleep(1100); // a later mtime than the resolved version's
    await this.save(f, 'save-after-keep-both');
    const local = this.model.files.get(rel)!.hash;
    let original: string | null = null;
    for (let t = Date.now(); Date.now() - t < 60_000; ) {
      original = await this.hashOrNull(childUri(this.remote, rel));
      if (original === local) break;
      await sleep(1000);
    }
    const listing = await this.reader.files(this.remote);
    return { original, local, copies: conflictCopies(rel, listing.map((x) => x.path)).length };
  }

  private async hashOrNull(uri: string): Promise<string | null> {
    const info = await this.reader.info(uri);
    if (!info || info.uploading) return null;
    return (await this.reader.hash(uri)).hash;
  }

  /**
   * The plaintext hash of what the trash holds from `path` ("soak/conflicts/a (conflict …).txt"), read through the
   * emulator's hooks (the API serves no content from the trash); null when it is not there.
   */
  private async trashedHash(emu: Emulator, path: string): Promise<string | null> {
    const entries = (await this.reader.trash()).filter((e) => e.restorePath === path && !e.folder);
    for (const e of entries.reverse()) {
      const blob = emu.blob(e.uri);
      const ent = emu.entity(e.uri);
      if (!blob || !ent) continue;
      if (!ent.encrypted || !ent.key || !ent.iv) return sha256(blob);
      const d = createDecipheriv('aes-256-ctr', Buffer.from(ent.key, 'base64'), Buffer.from(ent.iv, 'base64'));
      return sha256(Buffer.concat([d.update(blob), d.final()]));
    }
    return null;
  }
}
