// electron-builder hooks (electron-builder.yml: beforeBuild, afterPack) that keep better-sqlite3 built for Electron.
//
// beforeBuild: under `npm run dist` npm exports npm_config_nodedir (e.g. from `nodedir=/usr` in ~/.npmrc) and other
//   npm_config_* build settings to electron-builder; @electron/rebuild's node-gyp then compiles better-sqlite3 against
//   NODE's headers while labelling it for Electron, and says "finished" (../shared/research/toolchain-notes.md §2).
//   Dropping them makes the rebuild fetch Electron's headers for Electron's ABI.
// afterPack: reads the ABI the packaged better_sqlite3.node was built for (the `node_register_module_v<ABI>` symbol
//   every non-N-API addon exports) and fails the build when it is not Electron's (node-abi), instead of shipping an
//   app that cannot open its journal.
'use strict';
const { readFileSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const NPM_BUILD_VARS = /^npm_config_(nodedir|target|runtime|disturl|arch|target_arch|build_from_source)$/i;

function scrubNpmBuildEnv(env) {
  const dropped = [];
  for (const key of Object.keys(env)) {
    if (NPM_BUILD_VARS.test(key)) {
      dropped.push(key);
      delete env[key];
    }
  }
  return dropped;
}

/** The ABI a native addon was built for, or null (an N-API addon, or not an addon). */
function addonAbi(buffer) {
  const m = /node_register_module_v(\d+)/.exec(buffer.toString('latin1'));
  return m ? Number(m[1]) : null;
}

function findFiles(dir, name, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) findFiles(p, name, out);
    else if (e === name) out.push(p);
  }
  return out;
}

/** Throws unless every better_sqlite3.node under `dir` was built for Electron `electronVersion`. */
function checkPackagedAbi(dir, electronVersion, expectedAbi) {
  const want = expectedAbi ?? Number(require('node-abi').getAbi(electronVersion, 'electron'));
  const files = findFiles(dir, 'better_sqlite3.node');
  if (files.length === 0) throw new Error(`no better_sqlite3.node under ${dir}: is asarUnpack missing **/*.node?`);
  for (const f of files) {
    const abi = addonAbi(readFileSync(f));
    if (abi !== want) {
      throw new Error(
        `${f} is built for ABI ${abi} but Electron ${electronVersion} needs ${want}: the native rebuild targeted Node ` +
          '(npm nodedir?). Rebuild with `npm run dist` on a networked machine, with npmRebuild on.',
      );
    }
  }
  return files;
}

module.exports = { scrubNpmBuildEnv, addonAbi, checkPackagedAbi };

// beforeBuild hook: true = let electron-builder go on and rebuild the native modules (now for Electron's headers)
module.exports.beforeBuild = async function beforeBuild() {
  const dropped = scrubNpmBuildEnv(process.env);
  if (dropped.length > 0) console.log(`  • native-abi: ignoring ${dropped.join(', ')} for the Electron rebuild`);
  return true;
};

// afterPack hook: skipped when the packager was told not to rebuild (local config checks: -c.npmRebuild=false)
module.exports.afterPack = async function afterPack(context) {
  if (context.packager.config.npmRebuild === false) {
    console.log('  • native-abi: npmRebuild is off (a local check): better_sqlite3.node keeps the ABI of this machine\'s Node');
    return;
  }
  const files = checkPackagedAbi(context.appOutDir, context.packager.config.electronVersion ?? context.packager.info.framework.version);
  console.log(`  • native-abi: ${files.length} better_sqlite3.node built for Electron's ABI`);
};
