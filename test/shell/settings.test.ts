import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SettingsDto } from '../../main/ipc/contract.js';
import { DEFAULT_SETTINGS, normalizeSettings, SettingsFile } from '../../main/shell/settings.js';

test('normalizeSettings keeps valid fields and falls back per field', () => {
  assert.deepEqual(normalizeSettings(null), DEFAULT_SETTINGS);
  assert.deepEqual(normalizeSettings({ maxActiveFiles: 5, ifExists: 'bogus', extra: 1, bandwidthLimit: -3 }), {
    ...DEFAULT_SETTINGS,
    maxActiveFiles: 5,
  });
});

test('SettingsFile: load, update (persisted, listener told), reload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cr-settings-'));
  try {
    const path = join(dir, 'sub', 'settings.json');
    const changes: Array<[SettingsDto, SettingsDto]> = [];
    const s = await SettingsFile.load(path, (next, prev) => void changes.push([next, prev]));
    assert.deepEqual(s.get(), DEFAULT_SETTINGS);
    const next = await s.update({ bandwidthLimit: 4096, shellIntegration: true });
    assert.equal(next.bandwidthLimit, 4096);
    assert.equal(changes.length, 1);
    assert.equal(changes[0][1].bandwidthLimit, 0);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).bandwidthLimit, 4096);
    const again = await SettingsFile.load(path);
    assert.deepEqual(again.get(), next);
    // a corrupt file falls back to defaults instead of failing start-up
    writeFileSync(path, '{not json');
    assert.deepEqual((await SettingsFile.load(path)).get(), DEFAULT_SETTINGS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
