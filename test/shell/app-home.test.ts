/** The desktop app and the CLI share one home folder (config, login, journal). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveHome } from '../../main/engine/home-folder.js';
import { adoptLegacyHome, appHome } from '../../main/shell/app-home.js';
import { SettingsFile } from '../../main/shell/settings.js';
import { startEmulator } from '../emulator/index.js';
import { cli } from '../helpers/cli-run.js';
import { tmpDir } from '../helpers/tmp-tree.js';

test('the app uses the home the CLI uses by default, and CLOUDREVE_SYNC_HOME for both', () => {
  for (const env of [
    { HOME: '/home/ann' },
    { HOME: '/home/ann', XDG_CONFIG_HOME: '/cfg' },
    { HOME: '/home/ann', CLOUDREVE_SYNC_HOME: '/data/sync' },
  ]) {
    assert.equal(appHome(env), resolveHome(undefined, env), JSON.stringify(env));
  }
  assert.equal(appHome({ HOME: '/home/ann' }), process.platform === 'linux' ? '/home/ann/.config/cloudreve-sync' : appHome({ HOME: '/home/ann' }));
});

test('a setting saved by the app is what the CLI uses, with no --home given', async () => {
  const emu = await startEmulator();
  const d = tmpDir();
  try {
    const env = { HOME: d.path, XDG_CONFIG_HOME: join(d.path, 'cfg') };
    const login = await cli(['login', '--server', emu.url, '--email', emu.email, '--password-stdin'], { env, stdin: emu.password });
    assert.equal(login.code, 0, login.err);
    const f = d.file('doc.txt', 'one');
    assert.equal((await cli(['upload', f, '--to', 'shared'], { env })).code, 0);
    // the window sets "when a file is already there: skip"; the CLI (default: rename) follows it
    await SettingsFile.open(appHome(env)).update({ ifExists: 'skip' });
    writeFileSync(f, 'a longer second version');
    const r = await cli(['upload', f, '--to', 'shared'], { env });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /0 uploaded, 1 skipped, 0 failed/);
    assert.equal(emu.file('cloudreve://my/shared/doc%20(1).txt'), null);
    assert.equal(emu.blob('cloudreve://my/shared/doc.txt')!.toString(), 'one');
  } finally {
    await emu.close();
    d.cleanup();
  }
});

test('an earlier build\'s <userData>/engine is moved into the shared home once, never over existing files', () => {
  const d = tmpDir();
  try {
    const legacy = join(d.path, 'userData', 'engine');
    const home = join(d.path, 'home');
    d.file('userData/engine/journal.db', 'J');
    d.file('userData/engine/credentials.json', '{"c":1}');
    d.file('userData/engine/config.json', '{"ifExists":"skip"}');
    assert.deepEqual(adoptLegacyHome(legacy, home), ['journal.db', 'credentials.json', 'config.json']);
    assert.equal(readFileSync(join(home, 'journal.db'), 'utf8'), 'J');
    assert.ok(!existsSync(join(legacy, 'journal.db')));
    d.file('userData/engine/credentials.json', '{"c":2}');
    assert.deepEqual(adoptLegacyHome(legacy, home), [], 'the home is in use: nothing is moved');
    assert.equal(readFileSync(join(home, 'credentials.json'), 'utf8'), '{"c":1}');
    assert.deepEqual(adoptLegacyHome(join(d.path, 'none'), join(d.path, 'h2')), []);
  } finally {
    d.cleanup();
  }
});
