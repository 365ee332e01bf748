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
 *   6. No import circle among the files of main/: every kind of import is an edge (static, `import type`,
 *      `export … from`, a type's `import('…')` and a dynamic `await import('…')`). A dynamic import that closes
 *      a circle is still a circle for whoever reads the code (and for the bundler's chunking); a file that
 *      needs something from a module that imports it takes that piece from a lower module instead.
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

// ---------------------------------------------------------------- rule 6: no import circle in main/

interface Edge {
  to: string;
  line: number;
  kind: 'static' | 'type' | 'dynamic';
}

/** The import graph of the given files (repo paths), kept to edges between them: file → its imports. */
function importGraph(files: ReadonlyMap<string, string>): Map<string, Edge[]> {
  const graph = new Map<string, Edge[]>();
  for (const [file, source] of files) {
    const edges: Edge[] = [];
    const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const dynamicLines = new Set<number>();
    const findDynamic = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        dynamicLines.add(sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1);
      }
      ts.forEachChild(node, findDynamic);
    };
    findDynamic(sf);
    for (const r of scanImports(source, file)) {
      const t = target(file, r.specifier);
      if (!t) continue;
      const to = [`${t}.ts`, `${t}.tsx`, `${t}/index.ts`].find((c) => files.has(c));
      if (!to) continue;
      edges.push({ to, line: r.line, kind: r.typeOnly ? 'type' : dynamicLines.has(r.line) ? 'dynamic' : 'static' });
    }
    graph.set(file, edges);
  }
  return graph;
}

/** The strongly connected components with a circle in them (Tarjan), each sorted, in a stable order. */
function circularComponents(graph: ReadonlyMap<string, readonly Edge[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(v, Math.min(low.get(v)!, index.get(to)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).some((e) => e.to === v);
      if (comp.length > 1 || selfLoop) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

/** A shortest circle through `start` inside `comp`, written `a.ts:12 → b.ts:3 (type) → a.ts`. */
function shortestCircle(graph: ReadonlyMap<string, readonly Edge[]>, comp: readonly string[], start: string): string[] {
  const inComp = new Set(comp);
  const cameFrom = new Map<string, { from: string; edge: Edge }>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i];
    for (const edge of graph.get(v) ?? []) {
      if (!inComp.has(edge.to) || cameFrom.has(edge.to)) continue;
      cameFrom.set(edge.to, { from: v, edge });
      if (edge.to === start) {
        const steps: Array<{ from: string; edge: Edge }> = [];
        let at = start;
        do {
          const step = cameFrom.get(at)!;
          steps.unshift(step);
          at = step.from;
        } while (at !== start);
        return steps.map((s) => `${s.from}:${s.edge.line}${s.edge.kind === 'static' ? '' : ` (${s.edge.kind})`}`).concat(start);
      }
      queue.push(edge.to);
    }
  }
  return [start];
}

/** Each circle, written out; enough of them that every file caught in a circle is on one. */
function describeCircles(graph: ReadonlyMap<string, readonly Edge[]>): string[] {
  const out: string[] = [];
  for (const comp of circularComponents(graph)) {
    const covered = new Set<string>();
    for (const file of comp) {
      if (covered.has(file)) continue;
      const circle = shortestCircle(graph, comp, file);
      for (const step of circle) covered.add(step.split(':')[0].split(' ')[0]);
      out.push(circle.join(' → '));
    }
  }
  return out;
}

test('self-check: the circle finder sees static, type-only and dynamic circles, and nothing in a tree without one', () => {
  const circles = (files: Record<string, string>) => describeCircles(importGraph(new Map(Object.entries(files))));
  assert.deepEqual(circles({ 'main/a.ts': "import { b } from './b.js';", 'main/b.ts': "import { a } from './a.js';" }), [
    'main/a.ts:1 → main/b.ts:1 → main/a.ts',
  ]);
  assert.deepEqual(
    circles({
      'main/x/a.ts': "import type { B } from './b.js';",
      'main/x/b.ts': "export { c } from '../c.js';",
      'main/c.ts': "export async function c() { return (await import('./x/a.js')).a; }",
    }),
    ['main/c.ts:1 (dynamic) → main/x/a.ts:1 (type) → main/x/b.ts:1 → main/c.ts'],
  );
  assert.deepEqual(circles({ 'main/a.ts': "type T = import('./a.js').U;" }), ['main/a.ts:1 (type) → main/a.ts']);
  assert.deepEqual(circles({ 'main/d/index.ts': "import { b } from '../b.js';", 'main/b.ts': "import { d } from './d';" }), [
    'main/b.ts:1 → main/d/index.ts:1 → main/b.ts',
  ]);
  // downward only: a diamond, a package import, a comment and a string are not circles
  assert.deepEqual(
    circles({
      'main/top.ts': "import './l.js';\nimport './r.js';\n// import './top.js'\nconst s = \"import('./top.js')\";",
      'main/l.ts': "import { x } from './base.js';\nimport 'node:fs';",
      'main/r.ts': "import type { X } from './base.js';",
      'main/base.ts': 'export const x = 1; export type X = number;',
    }),
    [],
  );
});

test('no import circle in main/ (type-only and dynamic imports included)', () => {
  const files = new Map<string, string>();
  for (const file of sourceFiles(join(ROOT, 'main'))) if (/\.tsx?$/.test(file)) files.set(file, readFileSync(join(ROOT, file), 'utf8'));
  const graph = importGraph(files);
  // Guard against a scanner that silently sees nothing.
  assert.ok(files.size > 50 && [...graph.values()].some((edges) => edges.some((e) => e.to === 'main/cli/command.ts')));
  assert.deepEqual(describeCircles(graph), [], 'import circles in main/ (file:line of each import; type = type-only, dynamic = import())');
});
