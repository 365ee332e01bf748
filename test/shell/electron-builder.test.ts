/**
 * The packaging config (electron-builder.yml) as far as this machine allows (no Electron binary, no network):
 *   - the YAML's fields: targets, asar + asarUnpack of native addons, the native rebuild and its guard hooks, icons;
 *   - the guard (assets/build/native-abi.cjs) on the real better_sqlite3.node here, which is built for NODE: it must be
 *     refused for Electron's ABI — the silently-wrong rebuild of toolchain-notes §2 fails the build instead;
 *   - the Electron fuses (electronFuses): each one set, under electron-builder's own option names;
 *   - `electron-builder --linux --dir` with a stand-in Electron (carrying a fuse wire) and npmRebuild off: the asar holds
 *     the app, the addon is unpacked, the fuses are flipped in the binary. Needs `npm run build` output (dist/); skipped without it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };
const abi = require('../../assets/build/native-abi.cjs') as {
  scrubNpmBuildEnv(env: Record<string, string | undefined>): string[];
  addonAbi(b: Buffer): number | null;
  checkPackagedAbi(dir: string, electronVersion: string, expectedAbi?: number): string[];
};
const config = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as Record<string, any>;
const ELECTRON_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.electron;
const ADDON = join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
/** What @electron/fuses looks for in an Electron binary, followed by the wire's version, length and one byte per fuse. */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

test('targets: AppImage and deb, NSIS, dmg', () => {
  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.deepEqual(config.win.target, ['nsis']);
  assert.deepEqual(config.mac.target, ['dmg']);
  assert.equal(config.appId, 'org.cloudreve.sync');
});

test('asar with native addons unpacked, rebuilt for Electron, guarded by the hooks', () => {
  assert.equal(config.asar, true);
  assert.deepEqual(config.asarUnpack, ['**/*.node']);
  assert.equal(config.npmRebuild, true);
  assert.equal(config.buildDependenciesFromSource, false);
  for (const hook of ['beforeBuild', 'afterPack']) {
    assert.ok(existsSync(join(ROOT, config[hook])), `${hook}: ${config[hook]}`);
    assert.equal(typeof require(join(ROOT, config[hook])), 'function', `${hook} exports the hook function`);
  }
});

test('Electron fuses: no run-as-node, no NODE_OPTIONS, no --inspect; cookies encrypted; the app only from a checked asar', () => {
  assert.deepEqual(config.electronFuses, {
    runAsNode: false,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableCookieEncryption: true,
    onlyLoadAppFromAsar: true,
    enableEmbeddedAsarIntegrityValidation: true,
  });
  // the key and the option names are electron-builder's own (a misspelt one would be refused by its schema, or ignored)
  const schema = JSON.parse(readFileSync(join(ROOT, 'node_modules/app-builder-lib/scheme.json'), 'utf8')) as {
    properties: Record<string, unknown>;
    definitions: Record<string, { properties: Record<string, unknown> }>;
  };
  assert.ok('electronFuses' in schema.properties, 'electron-builder knows electronFuses');
  for (const name of Object.keys(config.electronFuses)) assert.ok(name in schema.definitions.FuseOptionsV1.properties, `${name} is a fuse electron-builder sets`);
  // the main process never needs ELECTRON_RUN_AS_NODE (it would be ignored now): no fork of itself as Node
  for (const f of ['main/shell/main.ts']) assert.doesNotMatch(readFileSync(join(ROOT, f), 'utf8'), /ELECTRON_RUN_AS_NODE|child_process['"][\s\S]*\bfork\(/);
});

test('resources per OS exist: icons, tray icons, the NSIS uninstall include', () => {
  for (const p of [config.linux.icon, config.win.icon, config.mac.icon, config.nsis.include]) assert.ok(existsSync(join(ROOT, p)), p);
  assert.ok(config.files.includes('assets/tray/*.png'));
  const nsh = readFileSync(join(ROOT, config.nsis.include), 'utf8');
  assert.match(nsh, /DeleteRegKey HKCU "Software\\Classes\\\*\\shell\\CloudreveSync"/);
  assert.match(nsh, /DeleteRegValue HKCU "Software\\Microsoft\\Windows\\CurrentVersion\\Run" "Cloudreve Sync"/);
  assert.equal(config.nsis.perMachine, false, 'per-user, like the HKCU entries the app writes');
});

test('the rebuild guard: npm build settings dropped; an addon built for Node is refused for Electron', () => {
  const env: Record<string, string | undefined> = { npm_config_nodedir: '/usr', NPM_CONFIG_TARGET: '20.0.0', npm_config_cache: '/c', PATH: '/bin' };
  assert.deepEqual(abi.scrubNpmBuildEnv(env).sort(), ['NPM_CONFIG_TARGET', 'npm_config_nodedir']);
  assert.deepEqual(env, { npm_config_cache: '/c', PATH: '/bin' });

  assert.equal(abi.addonAbi(readFileSync(ADDON)), Number(process.versions.modules), 'the test build here is for Node');
  assert.equal(abi.addonAbi(Buffer.from('no symbol')), null);
  const dir = mkdtempSync(join(tmpdir(), 'cr-abi-'));
  try {
    mkdirSync(join(dir, 'resources/app.asar.unpacked/node_modules/better-sqlite3/build/Release'), { recursive: true });
    copyFileSync(ADDON, join(dir, 'resources/app.asar.unpacked/node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
    assert.throws(() => abi.checkPackagedAbi(dir, ELECTRON_VERSION), /built for ABI \d+ but Electron 45\.4\.1 needs \d+: the native rebuild targeted Node/);
    assert.equal(abi.checkPackagedAbi(dir, 'node', Number(process.versions.modules)).length, 1);
    rmSync(join(dir, 'resources'), { recursive: true });
    assert.throws(() => abi.checkPackagedAbi(dir, ELECTRON_VERSION), /no better_sqlite3\.node/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('electron-builder --linux --dir (stand-in Electron, npmRebuild off): the app in the asar, the addon unpacked', { skip: !existsSync(join(ROOT, 'dist/main/shell/main.js')) && 'no dist/: run npm run build' }, () => {
  const work = mkdtempSync(join(tmpdir(), 'cr-eb-'));
  try {
    const electronDist = join(work, 'electron');
    mkdirSync(join(electronDist, 'resources'), { recursive: true });
    // a stand-in with Electron's fuse wire (sentinel, version 1, 8 fuses in Electron's defaults), so the fuses are flipped
    writeFileSync(join(electronDist, 'electron'), `#!/bin/sh\n# ${FUSE_SENTINEL}\x01\x0810110001\n`);
    chmodSync(join(electronDist, 'electron'), 0o755);
    const out = join(work, 'out');
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k];
    const r = spawnSync(join(ROOT, 'node_modules/.bin/electron-builder'), ['--linux', '--dir', '-c.npmRebuild=false', `-c.electronDist=${electronDist}`, `-c.directories.output=${out}`], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /native-abi: npmRebuild is off/);
    const resources = join(out, 'linux-unpacked/resources');
    const { listPackage } = require('@electron/asar') as { listPackage(p: string, o: object): string[] };
    const files = new Set(listPackage(join(resources, 'app.asar'), {}).map((f) => f.replace(/\\/g, '/')));
    for (const f of ['/package.json', '/dist/main/shell/main.js', '/dist/preload/index.cjs', '/dist/renderer/index.html', '/assets/tray/tray-syncing.png', '/assets/tray/tray-idleTemplate@2x.png']) {
      assert.ok(files.has(f), `${f} in app.asar`);
    }
    assert.ok(![...files].some((f) => f.startsWith('/test/') || f.startsWith('/main/')), 'no sources or tests in the package');
    assert.ok(existsSync(join(resources, 'app.asar.unpacked/node_modules/better-sqlite3/build/Release/better_sqlite3.node')), 'the addon is unpacked');
    // the fuses were flipped in the packaged binary: RunAsNode, CookieEncryption, NodeOptions, NodeCliInspect,
    // EmbeddedAsarIntegrityValidation, OnlyLoadAppFromAsar set; the last two (not configured) left as they were
    const bin = readFileSync(join(out, 'linux-unpacked/cloudreve-sync'));
    const at = bin.indexOf(FUSE_SENTINEL) + FUSE_SENTINEL.length;
    assert.equal(bin.subarray(at + 2, at + 10).toString('latin1'), '01001101');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
