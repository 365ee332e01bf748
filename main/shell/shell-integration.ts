/**
 * "Upload to Cloudreve" in the OS file manager's context menu.
 *
 * PURE builders describe what to install for a platform (registry keys, files with their text and mode);
 * applyShellIntegration / removeShellIntegration are the thin impure half (files under the user's home,
 * `reg.exe` on Windows) with their I/O injected. Everything is per-user: nothing needs admin rights.
 *
 * Every entry runs `<app> --upload -- <paths…>`. A running app receives that through the single-instance
 * lock (see main.ts and args.ts).
 *
 *   Windows  HKCU\Software\Classes\*\shell\CloudreveSync                     files        "%1"
 *            HKCU\Software\Classes\Directory\shell\CloudreveSync             folders      "%1"
 *            HKCU\Software\Classes\Directory\Background\shell\CloudreveSync  folder bg    "%V"
 *   Linux    ~/.local/share/applications/cloudreve-sync.desktop  (app entry with an "upload" Desktop Action)
 *            ~/.local/share/kio/servicemenus/cloudreve-sync-upload.desktop  (KDE Dolphin, Plasma ≥ 5.85, +x)
 *            ~/.local/share/nautilus/scripts/Upload to Cloudreve  (GNOME Files "Scripts" submenu, +x)
 *            ~/.local/share/icons/hicolor/256x256/apps/cloudreve-sync.png  (copied from the app's icon)
 *   macOS    ~/Library/Services/Upload to Cloudreve.workflow  (a Finder Quick Action running a shell script)
 */
import { dirname, join } from 'node:path';

export const MENU_LABEL = 'Upload to Cloudreve';
export const WINDOWS_VERB = 'CloudreveSync';
export const LINUX_APP_ID = 'cloudreve-sync';

export interface IntegrationInput {
  /** argv prefix that starts the app: `[exe]` when packaged, `[electron, appDir]` in development. */
  launch: readonly string[];
  /** A PNG icon to copy next to the Linux entries (optional). */
  iconPngPath?: string;
}

export interface RegistryValue {
  /** '' is the key's (Default) value. */
  name: string;
  data: string;
}

export interface RegistryKey {
  /** Full path starting with HKCU\ */
  key: string;
  values: RegistryValue[];
}

export interface IntegrationFile {
  /** Relative to the user's home directory, '/'-separated. */
  path: string;
  content: string;
  mode: number;
}

export interface IntegrationPlan {
  /** Registry keys to create (Windows); removal deletes `registryRoots`. */
  registry: RegistryKey[];
  registryRoots: string[];
  files: IntegrationFile[];
  /** Files to copy into the home directory (source absolute, target relative to home). */
  copies: { from: string; to: string }[];
  /** What removal deletes, relative to home (files or whole bundles). */
  removePaths: string[];
}

export type IntegrationPlatform = 'win32' | 'linux' | 'darwin';

export function buildIntegration(platform: IntegrationPlatform, input: IntegrationInput): IntegrationPlan {
  if (input.launch.length === 0) throw new Error('launch command is empty');
  switch (platform) {
    case 'win32':
      return {
        registry: windowsRegistryEntries(input.launch),
        registryRoots: windowsRegistryRoots(),
        files: [],
        copies: [],
        removePaths: [],
      };
    case 'linux': {
      const files = linuxFiles(input.launch);
      return {
        registry: [],
        registryRoots: [],
        files,
        copies: input.iconPngPath ? [{ from: input.iconPngPath, to: LINUX_ICON_PATH }] : [],
        removePaths: [...files.map((f) => f.path), LINUX_ICON_PATH],
      };
    }
    case 'darwin':
      return {
        registry: [],
        registryRoots: [],
        files: macQuickActionFiles(input.launch),
        copies: [],
        removePaths: [MAC_WORKFLOW_DIR],
      };
  }
}

export function isIntegrationPlatform(p: string): p is IntegrationPlatform {
  return p === 'win32' || p === 'linux' || p === 'darwin';
}

// ---------------------------------------------------------------- Windows

const CLASSES = 'HKCU\\Software\\Classes';

export function windowsRegistryRoots(): string[] {
  return [
    `${CLASSES}\\*\\shell\\${WINDOWS_VERB}`,
    `${CLASSES}\\Directory\\shell\\${WINDOWS_VERB}`,
    `${CLASSES}\\Directory\\Background\\shell\\${WINDOWS_VERB}`,
  ];
}

export function windowsRegistryEntries(launch: readonly string[]): RegistryKey[] {
  const exe = launch[0];
  const prefix = launch.map(windowsQuoteArg).join(' ');
  const icon = `${windowsQuoteArg(exe)},0`;
  const [files, dirs, background] = windowsRegistryRoots();
  const verb = (root: string, label: string, placeholder: '%1' | '%V'): RegistryKey[] => [
    { key: root, values: [{ name: '', data: label }, { name: 'Icon', data: icon }] },
    { key: `${root}\\command`, values: [{ name: '', data: `${prefix} --upload -- "${placeholder}"` }] },
  ];
  return [
    ...verb(files, MENU_LABEL, '%1'),
    ...verb(dirs, MENU_LABEL, '%1'),
    ...verb(background, 'Upload this folder to Cloudreve', '%V'),
  ];
}

/** Quotes one argument so CommandLineToArgvW / the MSVC runtime reads it back unchanged. */
export function windowsQuoteArg(arg: string): string {
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
    } else if (ch === '"') {
      out += '\\'.repeat(backslashes * 2 + 1) + '"';
      backslashes = 0;
    } else {
      out += '\\'.repeat(backslashes) + ch;
      backslashes = 0;
    }
  }
  return out + '\\'.repeat(backslashes * 2) + '"';
}

/** `reg.exe` argument lists that create the keys. */
export function regAddCommands(keys: readonly RegistryKey[]): string[][] {
  const cmds: string[][] = [];
  for (const k of keys) {
    for (const v of k.values) {
      cmds.push(['add', k.key, ...(v.name === '' ? ['/ve'] : ['/v', v.name]), '/t', 'REG_SZ', '/d', v.data, '/f']);
    }
  }
  return cmds;
}

export function regDeleteCommands(roots: readonly string[]): string[][] {
  return roots.map((key) => ['delete', key, '/f']);
}

// ---------------------------------------------------------------- Linux

export const LINUX_ICON_PATH = `.local/share/icons/hicolor/256x256/apps/${LINUX_APP_ID}.png`;
export const LINUX_DESKTOP_PATH = `.local/share/applications/${LINUX_APP_ID}.desktop`;
export const KDE_SERVICE_MENU_PATH = `.local/share/kio/servicemenus/${LINUX_APP_ID}-upload.desktop`;
export const NAUTILUS_SCRIPT_PATH = `.local/share/nautilus/scripts/${MENU_LABEL}`;

export function linuxFiles(launch: readonly string[]): IntegrationFile[] {
  return [
    { path: LINUX_DESKTOP_PATH, content: linuxDesktopEntry(launch), mode: 0o644 },
    { path: KDE_SERVICE_MENU_PATH, content: kdeServiceMenu(launch), mode: 0o755 },
    { path: NAUTILUS_SCRIPT_PATH, content: nautilusScript(launch), mode: 0o755 },
  ];
}

/** The application's own entry, with an "Upload to Cloudreve" action that takes files (%F). */
export function linuxDesktopEntry(launch: readonly string[]): string {
  const exec = desktopExec(launch);
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    'Name=Cloudreve Sync',
    'Comment=Keep local folders backed up to a Cloudreve server',
    `Exec=${exec}`,
    `Icon=${LINUX_APP_ID}`,
    'Terminal=false',
    'Categories=Network;FileTransfer;',
    'StartupWMClass=Cloudreve Sync',
    'Actions=upload;',
    '',
    '[Desktop Action upload]',
    `Name=${MENU_LABEL}`,
    `Exec=${exec} --upload -- %F`,
    '',
  ].join('\n');
}

/** A Dolphin (KDE) service menu for every file and folder. */
export function kdeServiceMenu(launch: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Service',
    'MimeType=all/all;',
    'Actions=uploadToCloudreve;',
    'X-KDE-ServiceTypes=KonqPopupMenu/Plugin',
    'X-KDE-Priority=TopLevel',
    '',
    '[Desktop Action uploadToCloudreve]',
    `Name=${MENU_LABEL}`,
    `Icon=${LINUX_APP_ID}`,
    `Exec=${desktopExec(launch)} --upload -- %F`,
    '',
  ].join('\n');
}

/** A GNOME Files script: Nautilus passes the selection in NAUTILUS_SCRIPT_SELECTED_FILE_PATHS (one per line). */
export function nautilusScript(launch: readonly string[]): string {
  return [
    '#!/bin/sh',
    `# ${MENU_LABEL}: installed by Cloudreve Sync (turn off "shell integration" in its settings to remove).`,
    'set -f',
    'if [ -n "$NAUTILUS_SCRIPT_SELECTED_FILE_PATHS" ]; then',
    "  IFS='",
    "'",
    '  set -- $NAUTILUS_SCRIPT_SELECTED_FILE_PATHS',
    'fi',
    `exec ${launch.map(shQuote).join(' ')} --upload -- "$@"`,
    '',
  ].join('\n');
}

const DESKTOP_RESERVED = /[\s"'\\><~|&;$*?#()`]/;

/**
 * One Exec argument per the Desktop Entry spec: `%` doubled; arguments with reserved characters are
 * double-quoted with `"`, `` ` ``, `$` and `\` backslash-escaped; then the string-value escape doubles every
 * backslash again (a literal backslash inside quotes ends up as four).
 */
export function desktopExecArg(arg: string): string {
  let a = arg.replace(/%/g, '%%');
  if (a.length === 0 || DESKTOP_RESERVED.test(a)) a = `"${a.replace(/(["`$\\])/g, '\\$1')}"`;
  return a.replace(/\\/g, '\\\\');
}

export function desktopExec(launch: readonly string[]): string {
  return launch.map(desktopExecArg).join(' ');
}

/** POSIX shell single-quoting. */
export function shQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------- macOS

export const MAC_WORKFLOW_DIR = `Library/Services/${MENU_LABEL}.workflow`;

/**
 * A Finder Quick Action: an Automator service workflow whose one action is "Run Shell Script" with the
 * selection passed as arguments. The app is started in the background so the workflow finishes at once.
 */
export function macQuickActionFiles(launch: readonly string[]): IntegrationFile[] {
  return [
    { path: `${MAC_WORKFLOW_DIR}/Contents/Info.plist`, content: plist(macInfoPlist()), mode: 0o644 },
    { path: `${MAC_WORKFLOW_DIR}/Contents/document.wflow`, content: plist(macWorkflowDocument(macShellScript(launch))), mode: 0o644 },
  ];
}

export function macShellScript(launch: readonly string[]): string {
  return `${launch.map(shQuote).join(' ')} --upload -- "$@" >/dev/null 2>&1 &\n`;
}

export function macInfoPlist(): PlistValue {
  return {
    NSServices: [
      {
        NSBackgroundColorName: 'background',
        NSIconName: 'NSActionTemplate',
        NSMenuItem: { default: MENU_LABEL },
        NSMessage: 'runWorkflowAsService',
        NSRequiredContext: { NSApplicationIdentifier: 'com.apple.finder' },
        NSSendFileTypes: ['public.item'],
      },
    ],
  };
}

export function macWorkflowDocument(script: string): PlistValue {
  return {
    AMApplicationBuild: '523',
    AMApplicationVersion: '2.10',
    AMDocumentVersion: '2',
    actions: [
      {
        action: {
          AMAccepts: { Container: 'List', Optional: true, Types: ['com.apple.cocoa.path'] },
          AMActionVersion: '2.0.3',
          AMApplication: ['Automator'],
          AMParameterProperties: { COMMAND_STRING: {}, CheckedForUserDefaultShell: {}, inputMethod: {}, shell: {}, source: {} },
          AMProvides: { Container: 'List', Types: ['com.apple.cocoa.path'] },
          ActionBundlePath: '/System/Library/Automator/Run Shell Script.action',
          ActionName: 'Run Shell Script',
          ActionParameters: {
            COMMAND_STRING: script,
            CheckedForUserDefaultShell: true,
            inputMethod: 1, // pass input as arguments
            shell: '/bin/sh',
            source: '',
          },
          BundleIdentifier: 'com.apple.RunShellScript',
          CFBundleVersion: '2.0.3',
          CanShowSelectedItemsWhenRun: false,
          CanShowWhenRun: true,
          Category: ['AMCategoryUtilities'],
          'Class Name': 'RunShellScriptAction',
          InputUUID: '0C7E2E4A-5B7B-4C39-9E0B-6D1E4F1A2B01',
          Keywords: ['Shell', 'Script', 'Command', 'Run', 'Unix'],
          OutputUUID: '0C7E2E4A-5B7B-4C39-9E0B-6D1E4F1A2B02',
          UUID: '0C7E2E4A-5B7B-4C39-9E0B-6D1E4F1A2B03',
          UnlocalizedApplications: ['Automator'],
          isViewVisible: 1,
        },
        isViewVisible: 1,
      },
    ],
    connectors: {},
    workflowMetaData: {
      serviceInputTypeIdentifier: 'com.apple.Automator.fileSystemObject',
      serviceOutputTypeIdentifier: 'com.apple.Automator.nothing',
      serviceProcessesInput: 0,
      workflowTypeIdentifier: 'com.apple.Automator.servicesMenu',
    },
  };
}

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/** A minimal XML property-list writer (strings, integers, booleans, arrays, dictionaries). */
export function plist(value: PlistValue): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const write = (v: PlistValue, indent: string): string => {
    if (typeof v === 'string') return `${indent}<string>${esc(v)}</string>`;
    if (typeof v === 'boolean') return `${indent}<${v}/>`;
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new Error('plist: only integers are supported');
      return `${indent}<integer>${v}</integer>`;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) return `${indent}<array/>`;
      return [`${indent}<array>`, ...v.map((x) => write(x, indent + '\t')), `${indent}</array>`].join('\n');
    }
    const keys = Object.keys(v).sort();
    if (keys.length === 0) return `${indent}<dict/>`;
    const body = keys.flatMap((k) => [`${indent}\t<key>${esc(k)}</key>`, write(v[k], indent + '\t')]);
    return [`${indent}<dict>`, ...body, `${indent}</dict>`].join('\n');
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    write(value, ''),
    '</plist>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- apply / remove (impure, I/O injected)

export interface IntegrationIo {
  home: string;
  mkdir(path: string): Promise<unknown>;
  writeFile(path: string, content: string | Uint8Array, mode: number): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  /** Removes a file or directory tree; must not fail when it is absent. */
  remove(path: string): Promise<void>;
  /** Runs reg.exe with these arguments (Windows only). */
  runReg(args: string[]): Promise<void>;
}

export async function applyIntegration(plan: IntegrationPlan, io: IntegrationIo): Promise<void> {
  for (const args of regAddCommands(plan.registry)) await io.runReg(args);
  for (const f of plan.files) {
    const target = join(io.home, ...f.path.split('/'));
    await io.mkdir(dirname(target));
    await io.writeFile(target, f.content, f.mode);
  }
  for (const c of plan.copies) {
    const target = join(io.home, ...c.to.split('/'));
    await io.mkdir(dirname(target));
    await io.writeFile(target, await io.readFile(c.from), 0o644);
  }
}

/** Removes what `applyIntegration` installed for this platform. */
export async function removeIntegration(platform: IntegrationPlatform, io: IntegrationIo): Promise<void> {
  // What gets removed does not depend on the launch command.
  const plan = buildIntegration(platform, { launch: ['app'] });
  for (const args of regDeleteCommands(plan.registryRoots)) {
    try {
      await io.runReg(args);
    } catch {
      // an absent key is fine
    }
  }
  for (const p of plan.removePaths) await io.remove(join(io.home, ...p.split('/')));
}

/** The IntegrationIo over node:fs and reg.exe; main.ts uses this. */
export async function nodeIntegrationIo(home: string): Promise<IntegrationIo> {
  const fs = await import('node:fs/promises');
  const { execFile } = await import('node:child_process');
  return {
    home,
    mkdir: (p) => fs.mkdir(p, { recursive: true }),
    writeFile: async (p, content, mode) => {
      await fs.writeFile(p, content, { mode });
      await fs.chmod(p, mode);
    },
    readFile: (p) => fs.readFile(p),
    remove: (p) => fs.rm(p, { recursive: true, force: true }),
    runReg: (args) =>
      new Promise<void>((resolve, reject) => {
        execFile('reg.exe', args, { windowsHide: true }, (err) => (err ? reject(err) : resolve()));
      }),
  };
}
