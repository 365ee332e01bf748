import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SettingsDto } from '../../main/ipc/contract.js';
import { openConfig } from '../../main/engine/config.js';
import { applyToEngine, DEFAULT_SETTINGS, normalizeSettings, SettingsFile } from '../../main/shell/settings.js';
import { createEngine } from '../../main/engine/index.js';
import { startEmulator } from '../emulator/index.js';

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

test('a change from the window applies to the running engine at once: if-exists, limits and concurrency', async () => {
  const emu = await startEmulator();
  const dir = mkdtempSync(join(tmpdir(), 'cr-settings-live-'));
  const engine = await createEngine({ home: join(dir, 'home') });
  try {
    await engine.login(emu.url, emu.email, emu.password);
    const settings = SettingsFile.open(join(dir, 'home'), (next, prev) => applyToEngine(engine, next, prev));
    const file = join(dir, 'doc.txt');
    writeFileSync(file, 'first');
    await engine.enqueue([file], 'cloudreve://my/live');
    await engine.idle();
    await settings.update({ ifExists: 'skip' });
    writeFileSync(file, 'second, longer');
    const [id] = await engine.enqueue([file], 'cloudreve://my/live');
    await engine.idle();
    assert.equal(engine.transfer(id)!.state, 'skipped', 'no restart needed');
    assert.equal(emu.blob('cloudreve://my/live/doc.txt')!.toString(), 'first');

    const calls: unknown[] = [];
    const recorder = {
      setBandwidthLimit: (n: number) => void calls.push(['limit', n]),
      setConcurrency: (c: object) => void calls.push(['concurrency', c]),
      setIfExists: (m: string) => void calls.push(['ifExists', m]),
      setSettleDelay: (ms: number) => void calls.push(['settle', ms]),
    };
    const prev = settings.get();
    applyToEngine(recorder, { ...prev, bandwidthLimit: 2048, maxActiveFiles: 5, ifExists: 'overwrite', settleDelayMs: 9000 }, prev);
    assert.deepEqual(calls, [
      ['limit', 2048],
      ['concurrency', { maxActiveFiles: 5, chunkConcurrencyCap: prev.chunkConcurrencyCap }],
      ['ifExists', 'overwrite'],
      ['settle', 9000],
    ]);
  } finally {
    await engine.close();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
