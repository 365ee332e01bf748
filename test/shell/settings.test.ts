import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SettingsDto } from '../../main/ipc/contract.js';
import { openConfig } from '../../main/engine/config.js';
import { DEFAULT_SETTINGS, normalizeSettings, SettingsFile } from '../../main/shell/settings.js';

test('normalizeSettings keeps valid fields and falls back per field', () => {
  assert.deepEqual(normalizeSettings(null), DEFAULT_SETTINGS);
  assert.deepEqual(normalizeSettings({ maxActiveFiles: 5, ifExists: 'bogus', extra: 1, bandwidthLimit: -3 }), {
    ...DEFAULT_SETTINGS,
    maxActiveFiles: 5,
  });
});

test('SettingsFile: the engine settings store; update (persisted, listener told), reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cr-settings-'));
  try {
    const home = join(dir, 'sub');
    const changes: Array<[SettingsDto, SettingsDto]> = [];
    const s = SettingsFile.open(home, (next, prev) => void changes.push([next, prev]));
    assert.deepEqual(s.get(), DEFAULT_SETTINGS);
    const next = await s.update({ bandwidthLimit: 4096, shellIntegration: true });
    assert.equal(next.bandwidthLimit, 4096);
    assert.equal(changes.length, 1);
    assert.equal(changes[0][1].bandwidthLimit, 0);
    const path = join(home, 'config.json');
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).bandwidthLimit, 4096);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(SettingsFile.open(home).get(), next);
    // the CLI sees the same settings
    assert.equal(openConfig(home).get('bandwidthLimit'), 4096);
    // a corrupt file falls back to defaults instead of failing start-up
    writeFileSync(path, '{not json');
    assert.deepEqual(SettingsFile.open(home).get(), DEFAULT_SETTINGS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
