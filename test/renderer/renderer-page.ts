/**
 * The renderer page in Debian's chromium, for the UI tests and the renderer bench: the page built with esbuild into
 * a temp dir and served from loopback, and `window.cloudreve` replaced by a fake bridge (installFakeBridge, run with
 * page.addInitScript before the page's scripts) that answers from a FakeSetup, records every invoke in `__calls`
 * and lets the caller push events with `__emit(name, payload)`.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  METHOD_NAMES,
  type AccountDto,
  type ConflictDto,
  type HistoryEntryDto,
  type PairDto,
  type SettingsDto,
  type SyncIssueDto,
  type TransferDto,
} from '../../main/ipc/contract.js';

import { DEFAULT_SETTINGS } from '../../main/shell/settings.js';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export interface RendererServer {
  baseUrl: string;
  close(): Promise<void>;
}

/** Bundles renderer/main.ts (as scripts/bundle.mjs does) and serves the page from 127.0.0.1. */
export async function serveRenderer(): Promise<RendererServer> {
  const outDir = mkdtempSync(join(tmpdir(), 'cloudreve-ui-'));
  await build({
    entryPoints: [join(ROOT, 'renderer/main.ts')],
    outfile: join(outDir, 'main.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome120',
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'styles.css']) cpSync(join(ROOT, 'renderer', f), join(outDir, f));
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(outDir, path === '/' ? 'index.html' : path);
    if (path === '/favicon.ico') {
      res.writeHead(204).end(); // a browser-only request; the Electron window loads from file:// and makes none
      return;
    }
    if (!file.startsWith(outDir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export const account: AccountDto = { server: 'https://cloud.example.org', email: 'ann@example.org', userId: 'u1', nickname: 'Ann', serverVersion: '4.3.0' };
export const settings: SettingsDto = { ...DEFAULT_SETTINGS, defaultTargetFolderUri: 'cloudreve://my/Backups' };

export interface FakeSetup {
  methods: readonly string[];
  account: AccountDto | null;
  settings: SettingsDto;
  mode: 'desktop' | 'browser';
  /** what listTransfers answers: these, plus `generated` synthetic ones (the 10,000-row tests) */
  transfers: TransferDto[];
  generated: number;
  history: HistoryEntryDto[];
  pairs: PairDto[];
  conflicts: ConflictDto[];
  /** what listSyncIssues answers (filtered by pair) */
  issues: SyncIssueDto[];
  /** remote folders by parent URI */
  remote: Record<string, string[]>;
  /** local entries by path ('' = home) */
  local: Record<string, Array<{ name: string; kind: 'folder' | 'file'; hidden?: boolean }>>;
  /** Canned error results per method, consumed in order. */
  failures: Record<string, Array<{ code: string; message: string; retryable: boolean }>>;
}

/** Runs in the page before any of its scripts (serialised by playwright: no closures over test scope). */
export function installFakeBridge(setup: FakeSetup): void {
  const w = window as unknown as Record<string, unknown>;
  const calls: Array<[string, unknown[]]> = [];
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  let current = setup.account;
  let settings = { ...setup.settings };
  const HOME = '/home/ann';
  const remoteLevel = (uri: string) => ({
    uri,
    parentUri: uri === 'cloudreve://my/' ? null : uri.replace(/[^/]+\/?$/, ''),
    folders: (setup.remote[uri] ?? []).map((name) => ({ name, uri: `${uri}${name}/` })),
  });
  const answer = (name: string, args: unknown[]): unknown => {
    switch (name) {
      case 'getAccount':
        return current;
      case 'getAppInfo':
        return { mode: setup.mode, version: '0.1.0', platform: 'linux', locale: 'en-US', homeDir: HOME };
      case 'login':
        current = { server: String(args[0]), email: String(args[1]), userId: 'u1', nickname: 'Ann', serverVersion: '4.3.0' };
        return current;
      case 'loginWithBrowser':
        return new Promise((resolve) => {
          listeners.get('browser-login-started')?.forEach((l) => l({ url: `${String(args[0])}/session/authorize?client_id=cloudreve-sync` }));
          (w as { __finishBrowserLogin?: () => void }).__finishBrowserLogin = () => {
            current = { server: String(args[0]), email: 'sso@example.org', userId: 'u2', nickname: 'Sso', serverVersion: '4.12.0' };
            resolve(current);
          };
        });
      case 'listTransfers': {
        const out = [...setup.transfers];
        // this fake runs inside the page (serialised by addInitScript), so it cannot call dto.ts's transferDto()
        for (let i = 0; i < setup.generated; i++) {
          out.push({
            id: `g${i}`,
            direction: 'upload',
            name: `photo-${String(i).padStart(5, '0')}.jpg`,
            localPath: `/home/ann/Pictures/photo-${i}.jpg`,
            targetUri: `cloudreve://my/Pictures/photo-${i}.jpg`,
            size: 4_000_000 + i,
            state: i < 50 ? 'uploading' : 'queued',
            priority: 0,
            bytesDone: 0,
            speed: 0,
            eta: null,
            encrypted: false,
            error: null,
            createdAt: 1_700_000_000_000 + i,
            updatedAt: 1_700_000_000_000 + i,
          });
        }
        return out;
      }
      case 'enqueuePaths':
        return (args[0] as string[]).map((_, i) => `new-${i}`);
      case 'getSettings':
        return settings;
      case 'setSettings':
        settings = { ...settings, ...(args[0] as object) };
        return settings;
      case 'clearFinished':
        return 0;
      case 'getConnectivity':
        return { online: true, reason: null, since: null, nextProbeAt: null };
      case 'listHistory': {
        const q = args[0] as { text?: string; state?: string; limit?: number; before?: number };
        const text = (q.text ?? '').toLowerCase();
        return setup.history
          .filter((e) => (!q.state || e.state === q.state) && (!text || `${e.name} ${e.localPath} ${e.targetUri}`.toLowerCase().includes(text)))
          .filter((e) => q.before === undefined || e.finishedAt < q.before)
          .slice(0, q.limit ?? 200);
      }
      case 'clearHistory':
        return setup.history.splice(0).length;
      case 'listPairs':
        return setup.pairs;
      case 'addPair': {
        const spec = args[0] as { localPath: string; remoteUri: string; mode: 'backup' | 'mirror'; ignore?: string[] };
        const p = {
          id: `p${setup.pairs.length + 1}`,
          ...spec,
          ignore: spec.ignore ?? [],
          paused: false,
          state: 'scanning',
          stateDetail: null,
          lastScanAt: null,
          lastFullScanAt: null,
          lastChangeAt: null,
          confirmMirror: false,
          createdAt: Date.now(),
        };
        setup.pairs.push(p as never);
        return p;
      }
      case 'updatePair': {
        const p = setup.pairs.find((x) => x.id === args[0])!;
        Object.assign(p, args[1]);
        return p;
      }
      case 'setExcludedFolders': {
        const p = setup.pairs.find((x) => x.id === args[0])!;
        p.excludeRemote = [...(args[1] as string[])];
        return p;
      }
      case 'pausePair':
      case 'resumePair': {
        const p = setup.pairs.find((x) => x.id === args[0])!;
        p.paused = name === 'pausePair';
        p.state = p.paused ? 'paused' : 'idle';
        return p;
      }
      case 'listConflicts':
        return setup.conflicts;
      case 'resolveConflict': {
        const c = setup.conflicts.find((x) => x.id === args[0]);
        setup.conflicts = setup.conflicts.filter((x) => x !== c);
        return c ?? null;
      }
      case 'listSyncIssues':
        return setup.issues.filter((i) => args[0] === undefined || args[0] === null || i.pairId === args[0]);
      case 'listRemoteFolders':
        return remoteLevel(String(args[0]));
      case 'createRemoteFolder':
        (setup.remote[String(args[0])] ??= []).push(String(args[1]));
        return remoteLevel(String(args[0]));
      case 'browseLocal': {
        const path = (args[0] as string | null) ?? HOME;
        const entries = (setup.local[path === HOME ? '' : path] ?? []).map((e) => ({ hidden: false, ...e, path: `${path}/${e.name}` }));
        return { path, parent: path === '/' ? null : path.replace(/\/[^/]+$/, '') || '/', entries };
      }
      case 'resolveDestination':
        return ['r1'];
      default:
        return null;
    }
  };
  const invoke: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const name of setup.methods) {
    invoke[name] = async (...args: unknown[]) => {
      calls.push([name, args]);
      const failure = setup.failures[name]?.shift();
      if (failure) return { ok: false, error: failure };
      return { ok: true, value: await answer(name, args) };
    };
  }
  w.__calls = calls;
  w.__emit = (name: string, payload: unknown) => listeners.get(name)?.forEach((l) => l(payload));
  w.cloudreve = {
    invoke,
    on(event: string, listener: (p: unknown) => void) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(listener);
      return () => listeners.get(event)?.delete(listener);
    },
    getPathForFile: (file: File) => (file.name.startsWith('web-') ? '' : `/home/ann/${file.name}`),
  };
}

export function fakeSetup(over: Partial<FakeSetup> = {}): FakeSetup {
  return {
    methods: METHOD_NAMES,
    account,
    settings,
    mode: 'desktop',
    transfers: [],
    generated: 0,
    history: [],
    pairs: [],
    conflicts: [],
    issues: [],
    remote: { 'cloudreve://my/': ['Backups', 'Photos'], 'cloudreve://my/Backups/': ['laptop'] },
    local: {
      '': [
        { name: '.config', kind: 'folder', hidden: true },
        { name: 'Documents', kind: 'folder' },
        { name: 'notes.txt', kind: 'file' },
      ],
      '/home/ann/Documents': [{ name: 'cv.pdf', kind: 'file' }],
    },
    failures: {},
    ...over,
  };
}

/** The page with the fake bridge installed (tsx compiles with keepNames: serialised functions get a `__name`). */
export async function gotoWithFake(page: Page, baseUrl: string, setup: FakeSetup): Promise<void> {
  await page.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
  await page.addInitScript(installFakeBridge, setup);
  await page.goto(baseUrl);
}

