/** Temporary local trees and random files for tests. */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface TmpDir {
  path: string;
  file(rel: string, content: Buffer | string): string;
  random(rel: string, size: number): { path: string; data: Buffer };
  cleanup(): void;
}

export function tmpDir(prefix = 'crs-test-'): TmpDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file(rel, content) {
      const p = join(path, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
      return p;
    },
    random(rel, size) {
      const data = randomBytes(size);
      return { path: this.file(rel, data), data };
    },
    cleanup() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}
