/** Electron's security recommendations for the main window, asserted one by one (main/shell/window.ts). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { guardWebContents, isWebUrl, mainWindowOptions, openExternalLink, PRELOAD_PATH } from '../../main/shell/window.js';

test('window options: isolation, sandbox, no Node, web security, no webviews, our preload', () => {
  const w = mainWindowOptions({ iconPath: '/icon.png' }).webPreferences!;
  assert.equal(w.contextIsolation, true);
  assert.equal(w.sandbox, true);
  assert.equal(w.nodeIntegration, false);
  assert.equal(w.nodeIntegrationInWorker, false);
  assert.equal(w.nodeIntegrationInSubFrames, false);
  assert.equal(w.webSecurity, true);
  assert.equal(w.allowRunningInsecureContent, false);
  assert.equal(w.webviewTag, false);
  assert.equal(w.navigateOnDragDrop, false);
  assert.equal(w.preload, PRELOAD_PATH);
  assert.ok(!('enableRemoteModule' in w), 'no remote');
  assert.ok(!('experimentalFeatures' in w) && !('enableBlinkFeatures' in w));
});

test('external links: only http(s), only through the OS browser', () => {
  const opened: string[] = [];
  const shell = { openExternal: async (u: string) => void opened.push(u) };
  const table: Array<[string, boolean]> = [
    ['https://cloudreve.org/docs', true],
    ['http://127.0.0.1:5212/s/abc', true],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['cloudreve://my/', false],
    ['smb://server/share', false],
    ['data:text/html,<script>1</script>', false],
    ['not a url', false],
    ['', false],
  ];
  for (const [url, ok] of table) {
    assert.equal(isWebUrl(url), ok, url);
    assert.equal(openExternalLink(url, shell), ok, url);
  }
  assert.deepEqual(opened, ['https://cloudreve.org/docs', 'http://127.0.0.1:5212/s/abc']);
});

test('web contents: navigation, redirects, webviews, new windows and permissions are all refused', () => {
  const handlers = new Map<string, (e: { preventDefault(): void }) => void>();
  let openHandler: ((d: { url: string }) => { action: string }) | null = null;
  let permission: ((wc: unknown, p: string, cb: (ok: boolean) => void) => void) | null = null;
  let check: (() => boolean) | null = null;
  const opened: string[] = [];
  guardWebContents(
    {
      on: ((name: string, fn: (e: { preventDefault(): void }) => void) => void handlers.set(name, fn)) as never,
      setWindowOpenHandler: ((fn: typeof openHandler) => void (openHandler = fn)) as never,
      session: {
        setPermissionRequestHandler: ((fn: typeof permission) => void (permission = fn)) as never,
        setPermissionCheckHandler: ((fn: typeof check) => void (check = fn)) as never,
      },
    },
    { openExternal: async (u: string) => void opened.push(u) },
  );
  for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
    let prevented = false;
    handlers.get(name)!({ preventDefault: () => (prevented = true) });
    assert.equal(prevented, true, name);
  }
  assert.deepEqual(openHandler!({ url: 'https://cloudreve.org/' }), { action: 'deny' });
  assert.deepEqual(openHandler!({ url: 'file:///etc/passwd' }), { action: 'deny' });
  assert.deepEqual(opened, ['https://cloudreve.org/'], 'the web link went to the browser, the file link nowhere');
  for (const p of ['notifications', 'media', 'geolocation', 'clipboard-read', 'openExternal']) {
    let answer: boolean | null = null;
    permission!(null, p, (ok) => (answer = ok));
    assert.equal(answer, false, p);
  }
  assert.equal(check!(), false);
});

test('the page has a strict Content-Security-Policy: only our files, no inline script, no eval, no frames', () => {
  const html = readFileSync(fileURLToPath(new URL('../../renderer/index.html', import.meta.url)), 'utf8');
  const m = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html);
  assert.ok(m, 'a CSP meta tag');
  const csp = new Map(m[1].split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(csp.get('default-src'), ["'self'"]);
  assert.deepEqual(csp.get('script-src'), ["'self'"]);
  assert.deepEqual(csp.get('object-src'), ["'none'"]);
  assert.deepEqual(csp.get('frame-src'), ["'none'"]);
  assert.deepEqual(csp.get('base-uri'), ["'none'"]);
  for (const [k, v] of csp) {
    assert.ok(!v.includes("'unsafe-eval'") && !v.includes("'unsafe-inline'"), `${k} allows unsafe code`);
    assert.ok(!v.some((s) => /^(https?:|\*)/.test(s)), `${k} allows a remote origin`);
  }
});
