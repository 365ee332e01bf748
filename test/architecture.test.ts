/**
 * The dependency rules of docs/architecture, checked by scanning every source file's imports
 * (parsed with the TypeScript compiler, so imports inside strings and comments do not count):
 *
 *   1. main/engine/** never imports electron, main/shell or main/ipc (not even types).
 *   2. main/ipc/contract.ts imports nothing.
 *   3. renderer/** imports nothing from main/ except `import type` of main/ipc/contract.ts,
 *      and no Node built-ins at runtime (it runs in a sandboxed page).
 *   4. Only main/shell/**, main/ipc/server.ts and preload/** import electron (in any form).
 *   5. preload/** imports nothing from main/ except main/ipc/contract.ts (it is bundled with it).
 */
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, posix, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_EXT = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs']);
const SKIP_DIRS = new Set(['node_modules', 'dist', 'release', '.git', 'coverage']);

interface ImportRef {
  specifier: string;
  typeOnly: boolean;
  line: number;
}

function scanImports(source: string, fileName = 'sample.ts'): ImportRef[] {
  const ext = extname(fileName);
  const kind = ext === '.tsx' ? ts.ScriptKind.TSX : ['.js', '.mjs', '.cjs'].includes(ext) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, kind);
  const refs: ImportRef[] = [];
  const add = (spec: ts.Node | undefined, typeOnly: boolean, at: ts.Node): void => {
    if (spec && ts.isStringLiteralLike(spec)) {
      refs.push({ specifier: spec.text, typeOnly, line: sf.getLineAndCharacterOfPosition(at.getStart(sf)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allNamedTypes =
        !!clause && !clause.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier, !!clause && (clause.isTypeOnly || allNamedTypes), node);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const clause = node.exportClause;
      const allNamedTypes = !!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier, node.isTypeOnly || allNamedTypes, node);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly, node);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(arg.literal, true, node);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if ((isDynamicImport || isRequire) && node.arguments.length > 0) add(node.arguments[0], false, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}

const isElectron = (spec: string): boolean => spec === 'electron' || spec.startsWith('electron/');
const NODE_BUILTINS = new Set(builtinModules);
const isNodeBuiltin = (spec: string): boolean => spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0]);

/** A relative specifier → repo path without extension ('main/ipc/contract'); null for packages. */
function target(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return posix.join(posix.dirname(file), spec).replace(/\.(d\.ts|ts|tsx|mts|cts|js|mjs|cjs)$/, '');
}

const under = (path: string | null, dir: string): boolean => !!path && (path === dir || path.startsWith(dir + '/'));

/** Violations of the rules for one file (repo-relative, '/'-separated path). */
function checkFile(file: string, refs: readonly ImportRef[]): string[] {
  const out: string[] = [];
  const at = (r: ImportRef, why: string): void => void out.push(`${file}:${r.line} imports '${r.specifier}': ${why}`);
  const electronAllowed = under(file, 'main/shell') || file === 'main/ipc/server.ts' || under(file, 'preload');

  if (file === 'main/ipc/contract.ts') for (const r of refs) at(r, 'the contract imports nothing');

  for (const r of refs) {
    const t = target(file, r.specifier);
    if (isElectron(r.specifier) && !electronAllowed) at(r, 'only main/shell, main/ipc/server.ts and preload may import electron');
    if (under(file, 'main/engine')) {
      if (under(t, 'main/shell') || under(t, 'main/ipc')) at(r, 'the engine must not depend on the shell or the IPC layer');
    }
    if (under(file, 'renderer')) {
      if (under(t, 'main') && !(t === 'main/ipc/contract' && r.typeOnly)) {
        at(r, 'the renderer may only `import type` from main/ipc/contract.ts');
      }
      if (isNodeBuiltin(r.specifier) && !r.typeOnly) at(r, 'the renderer runs in a sandboxed page: no Node built-ins');
    }
    if (under(file, 'preload') && under(t, 'main') && t !== 'main/ipc/contract') {
      at(r, 'the preload may only import the contract from main/');
    }
  }
  return out;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (SOURCE_EXT.has(extname(name))) out.push(relative(ROOT, p).split(sep).join('/'));
  }
  return out;
}

// ---------------------------------------------------------------- the scanner can see violations

test('self-check: the scanner detects violating samples and ignores look-alikes', () => {
  const violations = (file: string, source: string) => checkFile(file, scanImports(source, file));
  const bad: Array<[string, string]> = [
    ['main/engine/x.ts', "import { app } from 'electron';"],
    ['main/engine/x.ts', "import type { BrowserWindow } from 'electron';"],
    ['main/engine/x.ts', "const e = await import('electron');"],
    ['main/engine/x.ts', "const e = require('electron/main');"],
    ['main/engine/x.ts', "type T = import('electron').App;"],
    ['main/engine/x.ts', "export { app } from 'electron';"],
    ['main/engine/sync/x.ts', "import { ShellTray } from '../../shell/tray.js';"],
    ['main/engine/x.ts', "import type { TransferDto } from '../ipc/contract.js';"],
    ['main/ipc/contract.ts', "import type { Engine } from '../engine/index.js';"],
    ['main/ipc/contract.ts', "export * from './serialize.js';"],
    ['renderer/views/x.ts', "import { METHOD_NAMES } from '../../main/ipc/contract.js';"],
    ['renderer/x.ts', "import type { Engine } from '../main/engine/index.js';"],
    ['renderer/x.ts', "import { readFile } from 'node:fs';"],
    ['renderer/x.ts', "import { ipcRenderer } from 'electron';"],
    ['main/cli.ts', "import { app } from 'electron';"],
    ['main/ipc/serialize.ts', "import { ipcMain } from 'electron';"],
    ['test/engine/x.test.ts', "import { app } from 'electron';"],
    ['preload/index.ts', "import { createEngine } from '../main/engine/index.js';"],
  ];
  for (const [file, source] of bad) assert.ok(violations(file, source).length > 0, `not detected: ${file}: ${source}`);

  const fine: Array<[string, string]> = [
    ['main/shell/main.ts', "import { app } from 'electron';"],
    ['main/ipc/server.ts', "import type { IpcMain } from 'electron';"],
    ['preload/index.ts', "import { contextBridge } from 'electron';\nimport { METHOD_NAMES } from '../main/ipc/contract.js';"],
    ['renderer/api.ts', "import type { CloudreveBridge } from '../main/ipc/contract.js';"],
    ['renderer/x.ts', "import { type EventMap, type EventName } from '../main/ipc/contract.js';"],
    ['main/engine/x.ts', "// import { app } from 'electron'\nconst s = \"import { app } from 'electron'\";\nimport { EventEmitter } from 'node:events';"],
    ['main/ipc/contract.ts', 'export const A = 1; /* import x from "y" */'],
  ];
  for (const [file, source] of fine) assert.deepEqual(violations(file, source), [], `false positive: ${file}`);

  // a mixed import (one value, one type) is a runtime import
  assert.deepEqual(scanImports("import { a, type B } from 'x';").map((r) => r.typeOnly), [false]);
  assert.deepEqual(scanImports("import 'side-effect';").map((r) => r.typeOnly), [false]);
});

// ---------------------------------------------------------------- the real tree

test('the source tree follows the dependency rules', () => {
  const files = sourceFiles(ROOT);
  const violations: string[] = [];
  let electronImports = 0;
  for (const file of files) {
    const refs = scanImports(readFileSync(join(ROOT, file), 'utf8'), file);
    electronImports += refs.filter((r) => isElectron(r.specifier)).length;
    violations.push(...checkFile(file, refs));
  }
  // Guard against a scanner that silently sees nothing.
  assert.ok(files.includes('main/ipc/contract.ts') && files.includes('main/shell/main.ts') && files.includes('renderer/main.ts'));
  assert.ok(electronImports > 0, 'expected the shell to import electron somewhere');
  assert.deepEqual(violations, []);
});
