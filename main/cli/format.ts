/** Human-readable sizes for the CLI's output (binary units). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

// ---------------------------------------------------------------- transfer lines (the local and the remote commands)

/** "next try in 12 s" for a waiting transfer's retryAt (ms since the epoch). */
export function nextTry(at: number, now: number): string {
  const s = Math.max(1, Math.round((at - now) / 1000));
  return s < 120 ? `next try in ${s} s` : `next try in ${Math.round(s / 60)} min`;
}

/** What stateLine() reads of a transfer (an engine snapshot or the app contract's DTO). */
export interface StateLineInput {
  id?: string;
  state: string;
  localPath: string;
  targetUri: string;
  error?: { message: string; code?: string; httpStatus?: number } | null;
  retryAt?: number | null;
}

/**
 * The line a plain (non-JSON) report prints when a transfer reaches `state`, or null for states it does not report.
 * waiting-retry is reported when its next try is known (a busy or failing server; offline has its own line).
 */
export function stateLine(t: StateLineInput, now = Date.now()): string | null {
  switch (t.state) {
    case 'waiting-retry':
      return t.retryAt ? `waiting ${t.localPath}: ${t.error?.message ?? 'the server failed'}; ${nextTry(t.retryAt, now)}` : null;
    case 'done':
      return `uploaded ${t.localPath} → ${t.targetUri}`;
    case 'skipped':
      return `skipped ${t.localPath}: ${t.error?.message ?? 'exists'}`;
    case 'waiting-file':
      return `changed while uploading, will retry when it settles: ${t.localPath}`;
    case 'failed':
      return `FAILED ${t.localPath}: ${t.error?.message ?? 'unknown error'}`;
    default:
      return null;
  }
}

/**
 * Which waiting-retry lines a plain report prints: a transfer's first, one whose reason changed, and then at most one a
 * minute (a busy server is waited out for minutes, retried every few seconds: not a line per try).
 */
export class WaitLines {
  private readonly said = new Map<string, { message: string; at: number }>();
  constructor(private readonly everyMs = 60_000) {}

  /** The line to print for this state change, or null. */
  line(t: StateLineInput, now = Date.now()): string | null {
    const id = t.id ?? t.localPath;
    if (t.state !== 'waiting-retry') {
      if (t.state === 'done' || t.state === 'failed' || t.state === 'cancelled' || t.state === 'skipped' || t.state === 'paused') this.said.delete(id);
      return stateLine(t, now);
    }
    const text = stateLine(t, now);
    if (text === null) return null;
    // the kind of failure, not its text (which names the part it hit)
    const message = t.error?.code ? `${t.error.code} ${t.error.httpStatus ?? ''}` : (t.error?.message ?? '');
    const before = this.said.get(id);
    if (before && before.message === message && now - before.at < this.everyMs) return null;
    this.said.set(id, { message, at: now });
    return text;
  }
}
