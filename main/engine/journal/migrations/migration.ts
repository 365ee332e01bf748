/** A numbered schema step. `up` runs inside a transaction that also sets PRAGMA user_version = version. */
import type Database from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3 … without gaps: becomes PRAGMA user_version once applied */
  readonly version: number;
  /** kebab-case, as in the file name NNNN-<name>.ts */
  readonly name: string;
  up(db: Database.Database): void;
}
