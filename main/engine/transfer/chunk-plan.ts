/**
 * Pure part arithmetic (spec §6.1): n = max(1, ceil(size / chunkSize)); chunkSize 0 ⇒ one part.
 * Part i covers [i·chunkSize, min((i+1)·chunkSize, size)). Storage part numbers are i+1.
 */
export interface Part {
  index: number;
  /** absolute byte offset of the first byte */
  start: number;
  /** exclusive */
  end: number;
  length: number;
}

export function partCount(size: number, chunkSize: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid size ${size}`);
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 0) throw new RangeError(`invalid chunk size ${chunkSize}`);
  if (chunkSize === 0 || size === 0) return 1;
  return Math.max(1, Math.ceil(size / chunkSize));
}

export function planParts(size: number, chunkSize: number): Part[] {
  const n = partCount(size, chunkSize);
  const parts: Part[] = [];
  for (let i = 0; i < n; i++) {
    const start = chunkSize === 0 ? 0 : i * chunkSize;
    const end = chunkSize === 0 ? size : Math.min(size, start + chunkSize);
    parts.push({ index: i, start, end, length: end - start });
  }
  return parts;
}

/**
 * The order in which missing parts go out: every part but the last first (any order, in parallel),
 * the last one alone after all others succeeded — servers before 4.18 complete on the last index (§5.4, §11.8).
 */
export function schedule(parts: Part[], acked: ReadonlySet<number>): { body: Part[]; last: Part | null } {
  if (parts.length === 0) return { body: [], last: null };
  const lastPart = parts[parts.length - 1];
  const body = parts.slice(0, -1).filter((p) => !acked.has(p.index));
  return { body, last: acked.has(lastPart.index) ? null : lastPart };
}
