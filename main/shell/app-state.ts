/**
 * What the desktop app remembers besides settings: `<home>/app-state.json` (0600, written atomically).
 *   - lastDestinationUri: where the last shell-menu upload went (the destination picker offers it first);
 *   - trayNoticeShown: the one-time "still running in the tray" notice was shown.
 * A missing or damaged file is an empty state (nothing in it is worth failing for).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AppState {
  lastDestinationUri: string | null;
  trayNoticeShown: boolean;
}

export const APP_STATE_FILE = 'app-state.json';

export class AppStateFile {
  private state: AppState;

  constructor(private readonly home: string) {
    this.state = AppStateFile.read(join(home, APP_STATE_FILE));
  }

  private static read(path: string): AppState {
    const empty: AppState = { lastDestinationUri: null, trayNoticeShown: false };
    try {
      const v = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      return {
        lastDestinationUri: typeof v.lastDestinationUri === 'string' && v.lastDestinationUri.startsWith('cloudreve://') ? v.lastDestinationUri : null,
        trayNoticeShown: v.trayNoticeShown === true,
      };
    } catch {
      return empty;
    }
  }

  get(): AppState {
    return { ...this.state };
  }

  /** Changes and writes the state; a failed write is reported but the new state stays in memory for this run. */
  set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    const path = join(this.home, APP_STATE_FILE);
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.state, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }
}
