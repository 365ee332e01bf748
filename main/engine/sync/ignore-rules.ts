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

export class IgnoreRules {
  private readonly matcher: Ignore;

  /** Throws a usage error naming the pattern when one is not valid gitignore syntax. */
  constructor(patterns: readonly string[], opts: { defaults?: boolean } = {}) {
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
  }

  /** Whether `relPath` ('/'-separated, relative) is ignored; folders match patterns ending in '/'. */
  ignores(relPath: string, isFolder: boolean): boolean {
    // our own downloads in progress (transfer/downloader.ts), whatever the rules say: never synced, never "deleted"
    if (!isFolder && OWN_TEMP.test(relPath)) return true;
    return this.matcher.ignores(isFolder ? `${relPath}/` : relPath);
  }
}
