/**
 * Applies numbered migrations. The schema version lives in PRAGMA user_version (part of the database
 * header, so it commits and rolls back with the transaction that sets it). Each step runs in its own
 * IMMEDIATE transaction together with the user_version bump: a failing step leaves the database exactly
 * at the previous version and the error is rethrown. The version is re-read inside each transaction, so two
 * processes opening the same fresh journal do not both apply a step.
 */
import type Database from 'better-sqlite3';
import { EngineError } from '../errors.js';
import type { Migration } from './migrations/migration.js';

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new EngineError('usage', `journal migrations must be numbered 1..N without gaps (found ${m.version} at position ${i + 1})`);
    }
  });
}

/** Brings `db` to the last version in `migrations`; returns the version it was at before. */
export function migrate(db: Database.Database, migrations: readonly Migration[]): number {
  checkList(migrations);
  const before = schemaVersion(db);
  const latest = migrations.length;
  if (before > latest) {
    throw new EngineError('usage', `the journal has schema version ${before}, newer than this version of the app knows (${latest})`);
  }
  for (const m of migrations) {
    if (m.version <= before) continue;
    const step = db.transaction(() => {
      if (schemaVersion(db) >= m.version) return; // another process got there first
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      step.immediate();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new EngineError('local-io', `journal migration ${String(m.version).padStart(4, '0')}-${m.name} failed: ${why}`, { cause: err });
    }
  }
  return before;
}
