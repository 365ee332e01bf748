/** The installed `cloudreve-sync` entry runs the compiled CLI (built by `npm ci` through `prepare`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

test('bin/cloudreve-sync.js runs the built CLI, also through a symlink as npm installs it', () => {
  if (!existsSync(join(root, 'dist/main/cli.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
  const version = spawnSync(process.execPath, [join(root, 'bin/cloudreve-sync.js'), '--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^cloudreve-sync \d+\.\d+\.\d+/);
  const dir = mkdtempSync(join(tmpdir(), 'crs-bin-'));
  try {
    const link = join(dir, 'cloudreve-sync');
    symlinkSync(join(root, 'bin/cloudreve-sync.js'), link);
    const usage = spawnSync(link, ['no-such-command'], { encoding: 'utf8' });
    assert.equal(usage.status, 2, 'usage error exit code');
    assert.match(usage.stderr, /no-such-command/);
    assert.equal(usage.stderr.trim().split('\n').length >= 1, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
