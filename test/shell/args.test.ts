import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseShellArgs } from '../../main/shell/args.js';

const cwd = '/home/ann/Pictures';
const parse = (argv: string[], extra: { ignore?: string[] } = {}) => parseShellArgs(argv, { cwd, platform: 'linux', ...extra });

test('argv parsing table', () => {
  const rows: Array<{ argv: string[]; paths: string[] | null; to?: string | null; hidden?: boolean }> = [
    { argv: ['/opt/app'], paths: null },
    { argv: ['/opt/app', '--upload', '/a/b.txt'], paths: ['/a/b.txt'], to: null },
    { argv: ['/opt/app', '--upload', 'b.txt', '../c'], paths: [`${cwd}/b.txt`, '/home/ann/c'] },
    { argv: ['/opt/app', '--upload', '/a', '/b', '--to', 'cloudreve://my/Backups'], paths: ['/a', '/b'], to: 'cloudreve://my/Backups' },
    { argv: ['/opt/app', '--to=cloudreve://my/X', '--upload', '/a'], paths: ['/a'], to: 'cloudreve://my/X' },
    { argv: ['/opt/app', '--upload=/a', '/b'], paths: ['/a', '/b'] },
    // Chromium/Electron switches are skipped wherever they appear
    {
      argv: ['/opt/app', '--no-sandbox', '--upload', '/a', '--allow-file-access-from-files', '--original-process-start-time=1332', '/b'],
      paths: ['/a', '/b'],
    },
    // macOS process serial number
    { argv: ['/Applications/App', '-psn_0_12345', '--upload', '/a'], paths: ['/a'] },
    // after --, even names that look like switches are paths
    { argv: ['/opt/app', '--upload', '--', '--weird-name', '/x'], paths: [`${cwd}/--weird-name`, '/x'] },
    // positionals before --upload are not uploads (e.g. the app folder in development)
    { argv: ['/usr/bin/electron', '.', '--upload', '/a'], paths: ['/a'] },
    // duplicates collapse; paths are normalised
    { argv: ['/opt/app', '--upload', '/a/./b', '/a/b'], paths: ['/a/b'] },
    { argv: ['/opt/app', '--hidden'], paths: null, hidden: true },
  ];
  for (const row of rows) {
    const r = parse(row.argv);
    assert.deepEqual(r.upload?.paths ?? null, row.paths, row.argv.join(' '));
    if (row.to !== undefined) assert.equal(r.upload?.targetUri ?? null, row.to, row.argv.join(' '));
    assert.equal(r.hidden, row.hidden ?? false);
  }
});

test('warnings for incomplete command lines, never throws', () => {
  assert.deepEqual(parse(['/opt/app', '--upload']).warnings, ['--upload was given without any path']);
  assert.equal(parse(['/opt/app', '--upload']).upload, null);
  const noValue = parse(['/opt/app', '--upload', '/a', '--to']);
  assert.deepEqual(noValue.upload, { paths: ['/a'], targetUri: null });
  assert.match(noValue.warnings[0], /--to needs/);
  const badUri = parse(['/opt/app', '--upload', '/a', '--to=https://evil.example']);
  assert.equal(badUri.upload?.targetUri, null);
  assert.match(badUri.warnings[0], /not a cloudreve:\/\/ URI/);
});

test('ignored paths: the development app folder even after Chromium reorders argv', () => {
  // `electron /src/app --upload /a` delivered to a second instance as switches-first
  const r = parse(['/usr/bin/electron', '--upload', '/src/app', '/a'], { ignore: ['/src/app'] });
  assert.deepEqual(r.upload?.paths, ['/a']);
});

test('Windows paths resolve with win32 rules', () => {
  const r = parseShellArgs(['C:\\App\\app.exe', '--upload', 'C:\\Users\\ann\\a.txt', 'rel\\b.txt'], {
    cwd: 'D:\\work',
    platform: 'win32',
  });
  assert.deepEqual(r.upload?.paths, ['C:\\Users\\ann\\a.txt', 'D:\\work\\rel\\b.txt']);
});
