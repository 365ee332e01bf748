/**
 * Ignore rules of a sync pair, in gitignore syntax (the `ignore` package implements the gitignore spec), on top of
 * a default list of OS and editor litter. Paths are relative to the pair's folder, '/'-separated.
 */
import ignore, { type Ignore } from 'ignore';
import { EngineError } from '../errors.js';

/** OS and editor litter nobody wants backed up; a pair can re-include any of them with `!pattern`. */
export const DEFAULT_IGNORES: readonly string[] = [
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  '~$*', // Office owner files
  '.~lock.*#', // LibreOffice locks
  '*.tmp',
  '*.part',
  '*.crdownload',
  '*.swp',
];

/** A download's hidden temp file beside its target: `.cloudreve-sync-<id>.part`. */
const OWN_TEMP = /(^|\/)\.cloudreve-sync-[^/]*\.part$/;

/**
 * A pair's excluded folders as stored: each trimmed of '/' at both ends ('\\' read as '/'), NFC, with empty and '.'
 * segments dropped; duplicates and folders under another excluded one left out; sorted. Throws a usage error for
 * the pair's root itself, a '..' segment, or a URI (the paths are relative to the pair's folder).
 */
export function normalizeExcluded(folders: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of folders) {
    if (typeof raw !== 'string') throw new EngineError('usage', 'excluded folders are paths relative to the pair\'s folder');
    if (raw.includes('://')) throw new EngineError('usage', `excluded folder ${JSON.stringify(raw)}: give the path relative to the pair's folder, not a URI`);
    const segs = raw.normalize('NFC').replace(/\\/g, '/').split('/').filter((x) => x !== '' && x !== '.');
    if (segs.includes('..')) throw new EngineError('usage', `excluded folder ${JSON.stringify(raw)}: ".." is not allowed (paths are relative to the pair's folder)`);
    if (segs.length === 0) throw new EngineError('usage', `excluded folder ${JSON.stringify(raw)}: the pair's folder itself cannot be excluded (pause or remove the pair instead)`);
    if (segs.some((x) => x.includes('\n'))) throw new EngineError('usage', `excluded folder ${JSON.stringify(raw)}: more than one line`);
    out.add(segs.join('/'));
  }
  const sorted = [...out].sort();
  return sorted.filter((f) => !sorted.some((g) => g !== f && isUnderFolder(f, g)));
}

/** `rel` is `folder` or inside it ('/'-separated relative paths). */
export function isUnderFolder(rel: string, folder: string): boolean {
  return rel === folder || rel.startsWith(`${folder}/`);
}

export class IgnoreRules {
  private readonly matcher: Ignore;
  /**
   * Every pattern looks at a name alone (no '/' but a trailing one): whether a path is ignored is then whether one of
   * its folders' names or its own name is, and each name is asked once (the matcher would otherwise test and keep
   * every path of the tree: a pass over 100,000 files spent ~10% of its time and tens of MB there). Null otherwise.
   */
  private readonly byName: Map<string, boolean> | null;
  /** the pair's excluded folders (normalizeExcluded) */
  excluded: readonly string[];

  /**
   * Throws a usage error naming the pattern when one is not valid gitignore syntax. `excluded`: the pair's excluded
   * folders, left out like ignored paths (with everything under them, whatever their kind on either side).
   */
  constructor(patterns: readonly string[], opts: { defaults?: boolean; excluded?: readonly string[] } = {}) {
    this.excluded = opts.excluded ? normalizeExcluded(opts.excluded) : [];
    this.matcher = ignore({ allowRelativePaths: false });
    if (opts.defaults !== false) this.matcher.add([...DEFAULT_IGNORES]);
    for (const p of patterns) {
      if (p.trim() === '' || p.includes('\n')) throw new EngineError('usage', `ignore pattern ${JSON.stringify(p)}: empty or more than one line`);
      try {
        this.matcher.add(p);
        this.matcher.ignores('probe'); // invalid patterns (e.g. an unmatched "[") only fail once used
      } catch (err) {
        throw new EngineError('usage', `ignore pattern ${JSON.stringify(p)}: ${(err as Error).message}`);
      }
    }
    const all = [...(opts.defaults !== false ? DEFAULT_IGNORES : []), ...patterns];
    this.byName = all.every((p) => {
      const body = p.startsWith('!') ? p.slice(1) : p;
      const slash = body.indexOf('/');
      return slash < 0 || slash === body.length - 1;
    })
      ? new Map()
      : null;
  }

  /** `name` (one segment; with a trailing '/' for a folder) is ignored by the patterns themselves. */
  private nameIgnored(name: string): boolean {
    let v = this.byName!.get(name);
    if (v === undefined) {
      v = this.matcher.ignores(name);
      this.byName!.set(name, v);
    }
    return v;
  }

  /** Whether `relPath` ('/'-separated, relative) is ignored; folders match patterns ending in '/'. */
  ignores(relPath: string, isFolder: boolean): boolean {
    if (this.excluded.length > 0 && this.excludes(relPath)) return true;
    // our own downloads in progress (transfer/downloader.ts), whatever the rules say: never synced, never "deleted"
    if (!isFolder && OWN_TEMP.test(relPath)) return true;
    if (this.byName !== null) {
      // as the matcher decides: a path is ignored when a folder above it is, else by its own name
      let start = 0;
      for (let i = relPath.indexOf('/'); i >= 0; i = relPath.indexOf('/', start)) {
        if (this.nameIgnored(relPath.slice(start, i + 1))) return true;
        start = i + 1;
      }
      return this.nameIgnored(isFolder ? `${relPath.slice(start)}/` : relPath.slice(start));
    }
    return this.matcher.ignores(isFolder ? `${relPath}/` : relPath);
  }

  /** `relPath` is an excluded folder or inside one (selective sync). */
  excludes(relPath: string): boolean {
    return this.excluded.some((f) => isUnderFolder(relPath, f));
  }

  /**
   * A folder holding excluded folders was renamed or moved (a move carried out by a pass): they follow it. Returns
   * the new list when it changed, else null.
   */
  follow(from: string, to: string): string[] | null {
    if (!this.excluded.some((f) => isUnderFolder(f, from))) return null;
    this.excluded = normalizeExcluded(this.excluded.map((f) => (isUnderFolder(f, from) ? to + f.slice(from.length) : f)));
    return [...this.excluded];
  }

  /** The excluded folders inside `relPath` (it holds them): a deletion of it would take them along. */
  excludedWithin(relPath: string): string[] {
    return this.excluded.filter((f) => f.startsWith(`${relPath}/`));
  }
}
