/**
 * The tick boxes of a pair's remote folders (selective sync), as a pure model: the pair's excluded folders (paths
 * relative to its folder, NFC, '/'-separated) and the folders listed so far (loaded level by level, lazily). Ticked
 * = synced; unticked = excluded with everything under it; a folder with an excluded folder somewhere inside is
 * shown mixed. Ticking a folder inside an excluded one takes the excluded one back in and excludes the folders
 * beside the path down to it that were listed (the list holds whole folders, never "all but").
 */

export type TickState = 'on' | 'off' | 'mixed';

const under = (rel: string, folder: string): boolean => rel === folder || rel.startsWith(`${folder}/`);
const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

/** Sorted, NFC, trimmed of '/', none inside another (what the engine stores too). */
export function tidyExcluded(list: Iterable<string>): string[] {
  const all = [...new Set([...list].map((f) => f.normalize('NFC').split('/').filter((s) => s !== '' && s !== '.').join('/')).filter((f) => f !== ''))].sort();
  return all.filter((f) => !all.some((g) => g !== f && under(f, g)));
}

export class ExcludedTree {
  private excluded: string[];
  private readonly initial: string;
  /** listed folders: relative path ('' = the pair's folder) → their child folders' names (sorted as listed) */
  private readonly children = new Map<string, string[]>();

  constructor(excluded: readonly string[]) {
    this.excluded = tidyExcluded(excluded);
    this.initial = this.excluded.join('\n');
  }

  /** A folder's listing arrived (its child folders' names). */
  setChildren(rel: string, names: readonly string[]): void {
    this.children.set(rel, names.map((n) => n.normalize('NFC')));
  }

  /** The child folders of a listed folder (null: not listed yet). */
  childrenOf(rel: string): readonly string[] | null {
    return this.children.get(rel) ?? null;
  }

  state(rel: string): TickState {
    if (this.excluded.some((f) => under(rel, f))) return 'off';
    return this.excluded.some((f) => f.startsWith(`${rel}/`)) ? 'mixed' : 'on';
  }

  /** Tick (sync) or untick (exclude) a folder. */
  set(rel: string, on: boolean): void {
    if (!on) {
      this.excluded = tidyExcluded([...this.excluded, rel]);
      return;
    }
    // the folder and everything inside it synced again
    let next = this.excluded.filter((f) => !under(f, rel));
    const outer = next.find((f) => under(rel, f));
    if (outer !== undefined) {
      // taken out of an excluded folder: that one comes back in, and what was listed beside the path down stays out
      next = next.filter((f) => f !== outer);
      for (let at = rel; at !== outer; at = parentOf(at)) {
        const parent = parentOf(at);
        for (const name of this.children.get(parent) ?? []) {
          const sibling = parent === '' ? name : `${parent}/${name}`;
          if (sibling !== at) next.push(sibling);
        }
      }
    }
    this.excluded = tidyExcluded(next);
  }

  /** The list to save. */
  value(): string[] {
    return [...this.excluded];
  }

  /** The list differs from the one the model started with. */
  changed(): boolean {
    return this.excluded.join('\n') !== this.initial;
  }
}
