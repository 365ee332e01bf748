import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyLaunchAtLogin, autostartEntry, launchAtLoginPlan } from '../../main/shell/launch-at-login.js';

const launch = ['/opt/Cloudreve Sync/cloudreve-sync'];

test('launch at login per OS (table)', () => {
  const home = '/home/u';
  assert.deepEqual(launchAtLoginPlan({ platform: 'darwin', enabled: true, launch, home }), { kind: 'login-item', settings: { openAtLogin: true, args: ['--hidden'] } });
  assert.deepEqual(launchAtLoginPlan({ platform: 'win32', enabled: false, launch: ['C:\\App\\Cloudreve Sync.exe'], home }), {
    kind: 'login-item',
    settings: { openAtLogin: false, path: 'C:\\App\\Cloudreve Sync.exe', args: ['--hidden'], name: 'Cloudreve Sync' },
  });
  const on = launchAtLoginPlan({ platform: 'linux', enabled: true, launch, home });
  assert.equal(on?.kind === 'autostart-file' && on.path, '/home/u/.config/autostart/cloudreve-sync.desktop');
  assert.equal(on?.kind === 'autostart-file' && on.content, autostartEntry(launch));
  const xdg = launchAtLoginPlan({ platform: 'linux', enabled: false, launch, home, xdgConfigHome: '/cfg' });
  assert.deepEqual(xdg, { kind: 'autostart-file', path: '/cfg/autostart/cloudreve-sync.desktop', content: null });
  const relative = launchAtLoginPlan({ platform: 'linux', enabled: true, launch, home, xdgConfigHome: 'relative' });
  assert.equal(relative?.kind === 'autostart-file' && relative.path, '/home/u/.config/autostart/cloudreve-sync.desktop', 'a relative XDG_CONFIG_HOME is ignored (XDG spec)');
  assert.equal(launchAtLoginPlan({ platform: 'freebsd', enabled: true, launch, home }), null);
});

test('the autostart entry starts the app hidden, with the path quoted per the Desktop Entry spec', () => {
  const entry = autostartEntry(launch);
  assert.match(entry, /^\[Desktop Entry\]\nType=Application\n/);
  assert.match(entry, /^Exec="\/opt\/Cloudreve Sync\/cloudreve-sync" --hidden$/m);
});

test('apply: login items through Electron, the autostart file written or removed', async () => {
  const calls: unknown[] = [];
  const io = {
    mkdir: async (p: string) => void calls.push(['mkdir', p]),
    writeFile: async (p: string, c: string | Uint8Array, mode: number) => void calls.push(['write', p, mode]),
    remove: async (p: string) => void calls.push(['remove', p]),
  };
  const setLoginItemSettings = (s: unknown) => void calls.push(['login-item', s]);
  await applyLaunchAtLogin(launchAtLoginPlan({ platform: 'darwin', enabled: true, launch, home: '/h' }), { setLoginItemSettings, io });
  await applyLaunchAtLogin(launchAtLoginPlan({ platform: 'linux', enabled: true, launch, home: '/h' }), { setLoginItemSettings, io });
  await applyLaunchAtLogin(launchAtLoginPlan({ platform: 'linux', enabled: false, launch, home: '/h' }), { setLoginItemSettings, io });
  assert.deepEqual(calls, [
    ['login-item', { openAtLogin: true, args: ['--hidden'] }],
    ['mkdir', '/h/.config/autostart'],
    ['write', '/h/.config/autostart/cloudreve-sync.desktop', 0o644],
    ['remove', '/h/.config/autostart/cloudreve-sync.desktop'],
  ]);
});
