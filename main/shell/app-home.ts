/**
 * The desktop app's home folder: the same one the CLI uses (`$CLOUDREVE_SYNC_HOME`, else the platform's config folder,
 * engine/home-folder.ts resolveHome()), so one installation has one login, one journal and one set of settings.
 *
 * Earlier builds kept the app's data in `<Electron userData>/engine`; when the shared home has none of it yet, those
 * files are moved into it once (renamed, never copied over anything).
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { resolveHome } from '../engine/home-folder.js';

/** What a home holds that is worth carrying over (the journal with its WAL files, the login, the settings). */
const HOME_FILES = ['journal.db', 'journal.db-wal', 'journal.db-shm', 'credentials.json', 'config.json'];

export function appHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolveHome(undefined, env);
}

/**
 * Moves the files of an earlier build's home (`legacy`) into `home` when `home` has no journal, login or settings of
 * its own. Returns the names moved (none when there was nothing to move or `home` is already in use).
 */
export function adoptLegacyHome(legacy: string, home: string): string[] {
  if (legacy === home || !existsSync(legacy)) return [];
  if (HOME_FILES.some((f) => existsSync(join(home, f)))) return [];
  const present = HOME_FILES.filter((f) => existsSync(join(legacy, f)));
  if (present.length === 0) return [];
  mkdirSync(home, { recursive: true, mode: 0o700 });
  for (const f of present) renameSync(join(legacy, f), join(home, f));
  return present;
}
