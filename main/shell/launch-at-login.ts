/**
 * Launch at login (the `launchAtLogin` setting, default on): the app starts hidden, in the tray (`--hidden`).
 *   - macOS and Windows: Electron's app.setLoginItemSettings (a login item; the Run key under HKCU on Windows).
 *   - Linux: Electron has no login items there; the XDG autostart entry `~/.config/autostart/cloudreve-sync.desktop`
 *     ($XDG_CONFIG_HOME when set) is written, or removed when the setting is off.
 * The plan is PURE (tested); applyLaunchAtLogin carries it out with the app and the file I/O handed in.
 */
import { join } from 'node:path';
import type { Settings as LoginItemSettingsInput } from 'electron';
import { desktopExec, LINUX_APP_ID, type IntegrationIo } from './shell-integration.js';

export const WINDOWS_RUN_NAME = 'Cloudreve Sync';

export type LaunchAtLoginPlan =
  | { kind: 'login-item'; settings: LoginItemSettingsInput }
  | { kind: 'autostart-file'; path: string; content: string | null };

export interface LaunchAtLoginInput {
  platform: NodeJS.Platform;
  enabled: boolean;
  /** the argv prefix that starts this app (main.ts launchCommand) */
  launch: readonly string[];
  /** the user's home folder and XDG_CONFIG_HOME (Linux) */
  home: string;
  xdgConfigHome?: string;
}

export function launchAtLoginPlan(i: LaunchAtLoginInput): LaunchAtLoginPlan | null {
  if (i.platform === 'darwin') return { kind: 'login-item', settings: { openAtLogin: i.enabled, args: ['--hidden'] } };
  if (i.platform === 'win32') {
    // the Run value's name is fixed so the uninstaller can remove it (assets/installer.nsh)
    return { kind: 'login-item', settings: { openAtLogin: i.enabled, path: i.launch[0], args: [...i.launch.slice(1), '--hidden'], name: WINDOWS_RUN_NAME } };
  }
  if (i.platform === 'linux') {
    const dir = i.xdgConfigHome && i.xdgConfigHome.startsWith('/') ? i.xdgConfigHome : join(i.home, '.config');
    return { kind: 'autostart-file', path: join(dir, 'autostart', `${LINUX_APP_ID}.desktop`), content: i.enabled ? autostartEntry(i.launch) : null };
  }
  return null;
}

export function autostartEntry(launch: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Cloudreve Sync',
    'Comment=Keep local folders backed up to a Cloudreve server',
    `Exec=${desktopExec([...launch, '--hidden'])}`,
    `Icon=${LINUX_APP_ID}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export async function applyLaunchAtLogin(
  plan: LaunchAtLoginPlan | null,
  deps: { setLoginItemSettings: (s: LoginItemSettingsInput) => void; io: Pick<IntegrationIo, 'mkdir' | 'writeFile' | 'remove'> },
): Promise<void> {
  if (!plan) return;
  if (plan.kind === 'login-item') return deps.setLoginItemSettings(plan.settings);
  if (plan.content === null) return deps.io.remove(plan.path);
  await deps.io.mkdir(join(plan.path, '..'));
  await deps.io.writeFile(plan.path, plan.content, 0o644);
}
