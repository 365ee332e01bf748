/**
 * Files of the home that the engine must replace but never delete: a damaged journal and a config.json that cannot
 * be read are moved (or copied) aside under a timestamped name beside the original, and small state files are
 * written atomically (a temporary file in the same folder, fsynced, then renamed over the old one), so a crash leaves
 * either the old file or the new one, never half of one.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

/** `2026-03-15T14:25:01.123Z` → `20260315-142501Z` (UTC: sorts, and reads the same wherever the file is looked at). */
export function fileTimestamp(at: Date = new Date()): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '').replace('T', '-');
}

/**
 * A name beside `file` that does not exist yet: `journal.db` → `journal.damaged-20260315-142501Z.db` (the extension
 * kept last, so the file still opens with the tools for its kind); `-2`, `-3`… when that one is taken. `suffixes`:
 * companion names that must be free too (`-wal`, `-shm`).
 */
export function asideName(file: string, label: string, at: Date = new Date(), suffixes: readonly string[] = []): string {
  const ext = extname(file);
  const stem = basename(file, ext);
  const base = join(dirname(file), `${stem}.${label}-${fileTimestamp(at)}`);
  for (let n = 1; ; n++) {
    const candidate = `${base}${n === 1 ? '' : `-${n}`}${ext}`;
    if (!existsSync(candidate) && suffixes.every((s) => !existsSync(candidate + s))) return candidate;
  }
}

/** Writes `data` to `path` atomically (temporary file + fsync + rename), with `mode` for a new file. */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp); // our own temporary file, never the target
    } catch {
      // already renamed or never created
    }
    throw err;
  }
}
