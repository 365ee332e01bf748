/** readSettings(): the conf-free read of config.json agrees with what openConfig() (conf) sees, or defers to it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openConfig } from '../../main/engine/config.js';
import { DEFAULT_SETTINGS, readSettings } from '../../main/engine/settings-schema.js';

function withHome(fn: (home: string) => void): void {
  const home = mkdtempSync(join(tmpdir(), 'crs-settings-'));
  try {
    fn(home);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

test('a file written by conf reads the same without conf', () => {
  withHome((home) => {
    assert.equal(readSettings(home), null, 'no file yet: openConfig() must create it');
    const conf = openConfig(home);
    conf.set('maxActiveFiles', 5);
    conf.set('timeouts', { connectMs: 2000, responseMs: 3000, idleMs: 4000 });
    assert.deepEqual(readSettings(home), { ...conf.store });
    assert.equal(readSettings(home)?.ifExists, DEFAULT_SETTINGS.ifExists);
  });
});

test('a partial file gets the defaults, shallowly, as conf gives them', () => {
  withHome((home) => {
    const clientId = '0f8fad5b-d9cb-469f-a165-70867728950e';
    writeFileSync(join(home, 'config.json'), JSON.stringify({ clientId, bandwidthLimit: 1024, extra: 'kept' }));
    const fast = readSettings(home);
    assert.equal(fast?.bandwidthLimit, 1024);
    assert.equal(fast?.maxActiveFiles, DEFAULT_SETTINGS.maxActiveFiles);
    assert.deepEqual(fast, { ...openConfig(home).store });
  });
});

test('anything conf would reject or repair is left to conf', () => {
  const clientId = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const bad: unknown[] = [
    'not json',
    JSON.stringify([1, 2]),
    JSON.stringify({ bandwidthLimit: 5 }), // no client id yet
    JSON.stringify({ clientId: 'not-a-uuid' }),
    JSON.stringify({ clientId, maxActiveFiles: 0 }),
    JSON.stringify({ clientId, maxActiveFiles: 2.5 }),
    JSON.stringify({ clientId, ifExists: 'replace' }),
    JSON.stringify({ clientId, defaultTargetFolderUri: '/my' }),
    JSON.stringify({ clientId, shellIntegration: 'yes' }),
    JSON.stringify({ clientId, timeouts: { connectMs: 5 } }),
    JSON.stringify({ clientId, timeouts: null }),
    JSON.stringify({ clientId, busyRetryMinutes: -1 }),
    JSON.stringify({ clientId, busyRetryMinutes: 2.5 }),
    JSON.stringify({ clientId, busyRetryMinutes: 'forever' }),
  ];
  withHome((home) => {
    for (const text of bad) {
      writeFileSync(join(home, 'config.json'), text as string);
      assert.equal(readSettings(home), null, `deferred to conf: ${text}`);
    }
  });
});
