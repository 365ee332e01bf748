/** The journal's schema history, in order. Append new steps; never edit an applied one. */
import type { Migration } from './migration.js';
import { migration0001 } from './0001-initial.js';
import { migration0002 } from './0002-sync-pairs.js';
import { migration0003 } from './0003-transfer-history.js';
import { migration0004 } from './0004-drop-unused-indexes.js';
import { migration0005 } from './0005-sync-outcomes.js';
import { migration0006 } from './0006-downloads.js';
import { migration0007 } from './0007-two-way-pairs.js';
import { migration0008 } from './0008-excluded-folders.js';
import { migration0009 } from './0009-download-priority.js';

export type { Migration } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008, migration0009];
