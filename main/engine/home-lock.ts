/**
 * One engine per home folder: two processes driving the same journal would upload the same parts twice and race
 * each other to completion. The lock is a file holding the owner's pid; a lock left by a process that died
 * (kill -9, crash) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from './errors.js';

export interface HomeLock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockHome(home: string): HomeLock {
  const path = join(home, 'engine.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new EngineError('busy', `another cloudreve-sync process (pid ${owner}) is using ${home}; wait for it to finish or stop it`);
      }
      unlinkSync(path); // left behind by a process that is gone: take it over
    }
  }
  throw new EngineError('busy', `cannot lock ${home}`);
}
