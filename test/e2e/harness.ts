/**
 * End-to-end harness: the emulator (in this process, on loopback), `cloudreve-sync ui` as a separate process on a
 * fresh home (the built CLI, bin/cloudreve-sync.js, as users run it), and Debian's chromium through playwright-core
 * on the URL the ui printed. Everything is bounded and torn down by close() (call it from after()).
 *
 *   const e = await startE2E({ signedIn: true });
 *   after(() => e.close());
 *   await e.page.getByText('…').click();
 *
 * Chromium is heavy on a small machine: run browser test files one at a time (`npm test -- test/e2e/<file>`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createEngine } from '../../main/engine/index.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
/** For `describe(name, { skip: CHROMIUM_MISSING }, …)`: browser tests skip, saying why, where chromium is missing. */
export const CHROMIUM_MISSING: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;
/** ../shared/research/toolchain-notes.md §3(b) */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface E2EOptions {
  /** sign the home in to the emulator's first user before the ui starts (default false: the page shows sign-in) */
  signedIn?: boolean;
  emulator?: EmulatorOptions;
  /** browser locale (default en-US) */
  locale?: string;
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
  /** runs on the fresh home before the ui starts (after signedIn): settings, fixtures */
  prepareHome?: (home: string) => void | Promise<void>;
  /** extra environment for the ui process */
  env?: NodeJS.ProcessEnv;
  /** ms to wait for the ui's first line (default 60 s: a cold bundle build on a busy machine) */
  startTimeoutMs?: number;
}

export interface E2E {
  page: Page;
  context: BrowserContext;
  browser: Browser;
  emulator: Emulator;
  /** the ui's home (config, login, journal) */
  home: string;
  /** a scratch folder for local files the test uploads */
  files: string;
  /** the URL the ui printed (with the token) */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  token: string;
  /** what the ui wrote to stderr so far (for failure messages) */
  log(): string;
  close(): Promise<void>;
}

let built: Promise<void> | null = null;

/** The CLI and renderer bundles (scripts/bundle.mjs --cli rebuilds only what changed); once per test process. */
export function ensureBuilt(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), '--cli'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
    if (r.status === 0) resolve();
    else reject(new Error(`bundle failed: ${r.error?.message ?? ''}${r.stderr}`));
  });
  return built;
}

/** Starts `cloudreve-sync ui` and resolves with its first line (the URL). */
export function startUi(home: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'cloudreve-sync.js'), '--home', home, 'ui', ...args], {
    cwd: ROOT,
    env: { ...process.env, CLOUDREVE_SYNC_HOME: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cloudreve-sync ui printed no URL within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ child, url: stdout.slice(0, nl), log: () => stderr });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cloudreve-sync ui exited (${code}) before printing its URL; stderr: ${stderr}`));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startE2E(opts: E2EOptions = {}): Promise<E2E> {
  await ensureBuilt();
  const scratch = mkdtempSync(join(tmpdir(), 'crs-e2e-'));
  const home = join(scratch, 'home');
  const files = join(scratch, 'files');
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(scratch, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // keep tearing down the rest
      }
    }
  };
  try {
    const emulator = await startEmulator({ host: '127.0.0.1', ...opts.emulator });
    cleanups.push(() => emulator.close());
    if (opts.signedIn) {
      const engine = await createEngine({ home });
      try {
        await engine.login(emulator.url, emulator.email, emulator.password);
      } finally {
        await engine.close();
      }
    }
    await opts.prepareHome?.(home);
    const ui = await startUi(home, ['--port', '0'], opts.env, opts.startTimeoutMs);
    cleanups.push(() => stopProcess(ui.child));
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    cleanups.push(() => browser.close());
    const context = await browser.newContext({
      locale: opts.locale ?? 'en-US',
      viewport: opts.viewport ?? { width: 1100, height: 760 },
      colorScheme: opts.colorScheme ?? 'light',
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(ui.url);
    const u = new URL(ui.url);
    return {
      page,
      context,
      browser,
      emulator,
      home,
      files,
      url: ui.url,
      origin: u.origin,
      token: /token=([^&]+)/.exec(u.hash)?.[1] ?? '',
      log: ui.log,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
