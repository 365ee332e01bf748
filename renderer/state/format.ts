/** PURE display formatting for sizes, speeds and durations. */

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 → "1.5 KB" (steps of 1024; one decimal below 10, none above). */
export function formatBytes(bytes: number): string {
  let v = Number.isFinite(bytes) ? Math.max(0, bytes) : 0;
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 ? String(Math.round(v)) : v < 10 ? v.toFixed(1) : String(Math.round(v));
  return `${text} ${BYTE_UNITS[u]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** 5 → "5s", 125 → "2m 05s", 3720 → "1h 02m", null/∞ → "". */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  if (h >= 100) return `${Math.round(h / 24)}d`;
  return `${h}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Whole percent, clamped to 0–100; never rounds up to 100 before the last byte. */
export function percentOf(done: number, total: number): number {
  if (!(total > 0)) return 0;
  const p = Math.floor((Math.max(0, done) / total) * 100);
  return Math.min(100, Math.max(0, p));
}
