import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  applyIntegration,
  buildIntegration,
  desktopExecArg,
  KDE_SERVICE_MENU_PATH,
  LINUX_DESKTOP_PATH,
  LINUX_ICON_PATH,
  MAC_WORKFLOW_DIR,
  macShellScript,
  NAUTILUS_SCRIPT_PATH,
  nodeIntegrationIo,
  plist,
  regAddCommands,
  regDeleteCommands,
  removeIntegration,
  windowsQuoteArg,
  windowsRegistryEntries,
  type IntegrationIo,
} from '../../main/shell/shell-integration.js';

/** CommandLineToArgvW's rules (post-2008 MSVCRT), to read our quoting back. */
function parseWindowsCommandLine(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let arg = '';
    let quoted = false;
    for (; i < line.length; i++) {
      const c = line[i];
      if (c === '\\') {
        let n = 0;
        while (line[i] === '\\') {
          n++;
          i++;
        }
        if (line[i] === '"') {
          arg += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) arg += '"';
          else quoted = !quoted;
        } else {
          arg += '\\'.repeat(n);
          i--;
        }
      } else if (c === '"') {
        if (quoted && line[i + 1] === '"') {
          arg += '"';
          i++;
        } else quoted = !quoted;
      } else if (!quoted && (c === ' ' || c === '\t')) break;
      else arg += c;
    }
    args.push(arg);
  }
  return args;
}

test('windows: quoting reads back unchanged', () => {
  for (const s of ['C:\\Program Files\\Cloudreve Sync\\Cloudreve Sync.exe', 'plain', '', 'a"b', 'C:\\dir\\', 'x\\\\"y', 'tab\there']) {
    assert.deepEqual(parseWindowsCommandLine(windowsQuoteArg(s)), [s], s);
  }
});

test('windows: registry entries for files, folders and folder background', () => {
  const exe = 'C:\\Users\\ann\\AppData\\Local\\Programs\\Cloudreve Sync\\Cloudreve Sync.exe';
  const keys = windowsRegistryEntries([exe]);
  assert.deepEqual(
    keys.map((k) => k.key),
    [
      'HKCU\\Software\\Classes\\*\\shell\\CloudreveSync',
      'HKCU\\Software\\Classes\\*\\shell\\CloudreveSync\\command',
      'HKCU\\Software\\Classes\\Directory\\shell\\CloudreveSync',
      'HKCU\\Software\\Classes\\Directory\\shell\\CloudreveSync\\command',
      'HKCU\\Software\\Classes\\Directory\\Background\\shell\\CloudreveSync',
      'HKCU\\Software\\Classes\\Directory\\Background\\shell\\CloudreveSync\\command',
    ],
  );
  assert.deepEqual(keys[0].values, [
    { name: '', data: 'Upload to Cloudreve' },
    { name: 'Icon', data: `"${exe}",0` },
  ]);
  const fileCmd = keys[1].values[0].data;
  assert.equal(fileCmd, `"${exe}" --upload -- "%1"`);
  assert.deepEqual(parseWindowsCommandLine(fileCmd.replace('%1', 'D:\\My Files\\a b.txt')), [exe, '--upload', '--', 'D:\\My Files\\a b.txt']);
  assert.equal(keys[3].values[0].data, `"${exe}" --upload -- "%1"`);
  assert.equal(keys[5].values[0].data, `"${exe}" --upload -- "%V"`);
  // development launch: electron.exe + app folder
  const dev = windowsRegistryEntries(['C:\\e\\electron.exe', 'C:\\src\\app\\'])[1].values[0].data;
  assert.deepEqual(parseWindowsCommandLine(dev), ['C:\\e\\electron.exe', 'C:\\src\\app\\', '--upload', '--', '%1']);
});

test('windows: reg.exe command lines', () => {
  const cmds = regAddCommands(windowsRegistryEntries(['C:\\a.exe']).slice(0, 2));
  assert.deepEqual(cmds[0], ['add', 'HKCU\\Software\\Classes\\*\\shell\\CloudreveSync', '/ve', '/t', 'REG_SZ', '/d', 'Upload to Cloudreve', '/f']);
  assert.deepEqual(cmds[1], ['add', 'HKCU\\Software\\Classes\\*\\shell\\CloudreveSync', '/v', 'Icon', '/t', 'REG_SZ', '/d', '"C:\\a.exe",0', '/f']);
  assert.deepEqual(cmds[2].slice(0, 3), ['add', 'HKCU\\Software\\Classes\\*\\shell\\CloudreveSync\\command', '/ve']);
  assert.deepEqual(regDeleteCommands(['HKCU\\X']), [['delete', 'HKCU\\X', '/f']]);
});

test('windows: apply runs reg add, remove runs reg delete and tolerates absent keys', async () => {
  const calls: string[][] = [];
  const io: IntegrationIo = {
    home: 'C:\\Users\\ann',
    mkdir: async () => undefined,
    writeFile: async () => assert.fail('no files on Windows'),
    readFile: async () => assert.fail('no files on Windows'),
    remove: async () => assert.fail('no files on Windows'),
    runReg: async (args) => {
      calls.push(args);
      if (args[0] === 'delete') throw new Error('ERROR: The system was unable to find the specified registry key');
    },
  };
  await applyIntegration(buildIntegration('win32', { launch: ['C:\\a.exe'] }), io);
  assert.equal(calls.length, 9); // 3 verbs × (label, icon, command)
  calls.length = 0;
  await removeIntegration('win32', io);
  assert.deepEqual(calls.map((c) => c[0]), ['delete', 'delete', 'delete']);
});

test('linux: desktop Exec quoting follows the Desktop Entry spec', () => {
  assert.equal(desktopExecArg('/opt/Cloudreve/cloudreve-sync'), '/opt/Cloudreve/cloudreve-sync');
  assert.equal(desktopExecArg('/opt/Cloudreve Sync/cloudreve-sync'), '"/opt/Cloudreve Sync/cloudreve-sync"');
  assert.equal(desktopExecArg('/opt/100%/app'), '/opt/100%%/app');
  assert.equal(desktopExecArg('/opt/$HOME/a"b'), '"/opt/\\\\$HOME/a\\\\"b"');
  assert.equal(desktopExecArg('/a\\b'), '"/a\\\\\\\\b"');
});

test('linux: desktop entry with an upload action, KDE service menu, Nautilus script', () => {
  const plan = buildIntegration('linux', { launch: ['/opt/Cloudreve Sync/cloudreve-sync'], iconPngPath: '/opt/icon.png' });
  const byPath = new Map(plan.files.map((f) => [f.path, f]));
  const desktop = byPath.get(LINUX_DESKTOP_PATH);
  assert.ok(desktop);
  assert.match(desktop.content, /^\[Desktop Entry\]\nType=Application\n/);
  assert.match(desktop.content, /\nActions=upload;\n/);
  assert.match(desktop.content, /\n\[Desktop Action upload\]\nName=Upload to Cloudreve\nExec="\/opt\/Cloudreve Sync\/cloudreve-sync" --upload -- %F\n/);
  assert.match(desktop.content, /\nCategories=Network;FileTransfer;\n/);
  const kde = byPath.get(KDE_SERVICE_MENU_PATH);
  assert.ok(kde);
  assert.equal(kde.mode, 0o755);
  assert.match(kde.content, /\nMimeType=all\/all;\n/);
  assert.match(kde.content, /\nExec="\/opt\/Cloudreve Sync\/cloudreve-sync" --upload -- %F\n/);
  assert.equal(byPath.get(NAUTILUS_SCRIPT_PATH)?.mode, 0o755);
  assert.deepEqual(plan.copies, [{ from: '/opt/icon.png', to: LINUX_ICON_PATH }]);
});

test('linux: the Nautilus script hands every selected path, spaces and all, to the app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cr-nautilus-'));
  try {
    const fakeApp = join(dir, 'fake app');
    writeFileSync(fakeApp, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
    chmodSync(fakeApp, 0o755);
    const script = join(dir, 'script');
    const plan = buildIntegration('linux', { launch: [fakeApp] });
    writeFileSync(script, plan.files.find((f) => f.path === NAUTILUS_SCRIPT_PATH)!.content);
    chmodSync(script, 0o755);
    const selected = '/home/ann/My Photos/a b.jpg\n/home/ann/*.txt\n/home/ann/it\'s\n';
    const out = execFileSync(script, ['ignored-relative-name'], { env: { ...process.env, NAUTILUS_SCRIPT_SELECTED_FILE_PATHS: selected }, encoding: 'utf8' });
    assert.deepEqual(out.trimEnd().split('\n'), ['--upload', '--', '/home/ann/My Photos/a b.jpg', '/home/ann/*.txt', "/home/ann/it's"]);
    // without the variable (e.g. non-local locations) the script falls back to its arguments
    const env = { ...process.env };
    delete env.NAUTILUS_SCRIPT_SELECTED_FILE_PATHS;
    const out2 = execFileSync(script, ['x y', 'z'], { env, encoding: 'utf8' });
    assert.deepEqual(out2.trimEnd().split('\n'), ['--upload', '--', 'x y', 'z']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('linux: apply writes the files (modes included) and copies the icon; remove deletes them', async () => {
  const home = mkdtempSync(join(tmpdir(), 'cr-home-'));
  try {
    const icon = join(home, 'src-icon.png');
    writeFileSync(icon, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const io = await nodeIntegrationIo(home);
    await applyIntegration(buildIntegration('linux', { launch: ['/opt/app'], iconPngPath: icon }), io);
    for (const p of [LINUX_DESKTOP_PATH, KDE_SERVICE_MENU_PATH, NAUTILUS_SCRIPT_PATH, LINUX_ICON_PATH]) {
      assert.ok(existsSync(join(home, p)), p);
    }
    assert.equal(statSync(join(home, NAUTILUS_SCRIPT_PATH)).mode & 0o777, 0o755);
    assert.equal(statSync(join(home, LINUX_DESKTOP_PATH)).mode & 0o777, 0o644);
    assert.deepEqual([...readFileSync(join(home, LINUX_ICON_PATH))], [0x89, 0x50, 0x4e, 0x47]);
    await removeIntegration('linux', io);
    for (const p of [LINUX_DESKTOP_PATH, KDE_SERVICE_MENU_PATH, NAUTILUS_SCRIPT_PATH, LINUX_ICON_PATH]) {
      assert.ok(!existsSync(join(home, p)), p);
    }
    await removeIntegration('linux', io); // idempotent
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('macOS: a Quick Action workflow for Finder that runs the app with the selection', () => {
  const plan = buildIntegration('darwin', { launch: ['/Applications/Cloudreve Sync.app/Contents/MacOS/Cloudreve Sync'] });
  assert.deepEqual(
    plan.files.map((f) => f.path),
    [`${MAC_WORKFLOW_DIR}/Contents/Info.plist`, `${MAC_WORKFLOW_DIR}/Contents/document.wflow`],
  );
  assert.deepEqual(plan.removePaths, [MAC_WORKFLOW_DIR]);
  const info = plan.files[0].content;
  assert.match(info, /<key>NSMenuItem<\/key>\n\t*<dict>\n\t*<key>default<\/key>\n\t*<string>Upload to Cloudreve<\/string>/);
  assert.match(info, /<key>NSSendFileTypes<\/key>\n\t*<array>\n\t*<string>public.item<\/string>/);
  const doc = plan.files[1].content;
  assert.match(doc, /<string>com.apple.Automator.servicesMenu<\/string>/);
  assert.match(doc, /<string>com.apple.Automator.fileSystemObject<\/string>/);
  assert.ok(doc.includes(`'/Applications/Cloudreve Sync.app/Contents/MacOS/Cloudreve Sync' --upload -- "$@"`));
  assert.equal(
    macShellScript(['/A/B C']),
    `'/A/B C' --upload -- "$@" >/dev/null 2>&1 &\n`,
  );
});

test('plist writer escapes text and sorts keys', () => {
  assert.equal(
    plist({ b: [1, true], a: 'x<&>' }),
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
      '<plist version="1.0">',
      '<dict>',
      '\t<key>a</key>',
      '\t<string>x&lt;&amp;&gt;</string>',
      '\t<key>b</key>',
      '\t<array>',
      '\t\t<integer>1</integer>',
      '\t\t<true/>',
      '\t</array>',
      '</dict>',
      '</plist>',
      '',
    ].join('\n'),
  );
});
