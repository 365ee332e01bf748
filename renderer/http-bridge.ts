/**
 * The browser side of `cloudreve-sync ui`: a CloudreveBridge over fetch + EventSource, installed as
 * `window.cloudreve` when the page runs without the Electron preload, so api.ts (and every screen) works unchanged.
 *
 * The per-launch token comes in the URL's fragment (`#token=…`), which the browser never sends to any server, never
 * puts in a Referer and which no access log sees. It is moved to sessionStorage (this tab only; a reload keeps it,
 * closing the tab forgets it) and removed from the address bar at once, so it is not left in history or shared
 * with a screenshot. Calls carry it in an `X-Cloudreve-Token` header (not Authorization, which holds the password's
 * Basic credentials when `ui --listen` runs with one); EventSource cannot set headers, so the event stream
 * carries it as a query parameter of a same-origin request.
 *
 * Wire: `POST /api/invoke/<method>` with the JSON array of arguments → the method's Result (main/bridge/).
 * `GET /api/events` → Server-Sent Events, one `event: <name>` + `data: <json>` per contract event.
 */
import type { CloudreveBridge, EventMap, EventName, RendererApi, Result } from '../main/ipc/contract.js';

const TOKEN_KEY = 'cloudreve-sync.token';

/** Reads `#token=…` into sessionStorage and clears it from the address bar; returns the token ('' when none). */
export function adoptToken(loc: Location = location, storage: Storage = sessionStorage, hist: History = history): string {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(loc.hash);
  if (m) {
    storage.setItem(TOKEN_KEY, m[1]);
    hist.replaceState(null, '', loc.pathname + loc.search);
  }
  return storage.getItem(TOKEN_KEY) ?? '';
}

function failure(code: string, message: string, retryable: boolean): Result<never> {
  return { ok: false, error: { code, message, retryable } };
}

/** The page may import only types from the contract: method and event names are checked by the server instead. */
const NAME_RE = /^[a-zA-Z][a-zA-Z-]{0,63}$/;

/** How long a call waits for the event stream to connect before it is sent anyway (the stream may be down). */
const STREAM_WAIT_MS = 5_000;

export function createHttpBridge(token: string, base = ''): CloudreveBridge {
  // Resolves once the event stream first answers (open or error). Until then a call is held back: a handler may push
  // an event the page waits for ('browser-login-started') before a slow stream is connected, and the server does not
  // keep events for streams that connect later — so "subscribe, then call" must mean the subscription is live.
  // (null again once the stream has answered: calls then go out at once)
  let streamReady: Promise<void> | null = null;
  const call =
    (name: string) =>
      async (...args: unknown[]): Promise<Result<unknown>> => {
        if (streamReady) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([streamReady, new Promise((r) => (timer = setTimeout(r, STREAM_WAIT_MS)))]);
          clearTimeout(timer);
        }
        let res: Response;
        try {
          res = await fetch(`${base}/api/invoke/${name}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Cloudreve-Token': token },
            body: JSON.stringify(args.map((a) => (a === undefined ? null : a))),
            credentials: 'same-origin',
            cache: 'no-store',
          });
        } catch (err) {
          return failure('bridge-unreachable', `cloudreve-sync ui is not answering (${err instanceof Error ? err.message : String(err)})`, true);
        }
        if (res.status === 401) {
          return failure('unauthorized', 'This page is not signed in to cloudreve-sync ui: open the link it printed when it started.', false);
        }
        if (!res.ok) return failure('bridge', `cloudreve-sync ui refused the call (HTTP ${res.status}: ${(await res.text()).slice(0, 200)})`, false);
        return (await res.json()) as Result<unknown>;
      };
  const methods = new Map<string, (...args: unknown[]) => Promise<Result<unknown>>>();
  const invoke = new Proxy({} as RendererApi, {
    get(_t, name) {
      if (typeof name !== 'string' || !NAME_RE.test(name)) return undefined;
      let fn = methods.get(name);
      if (!fn) methods.set(name, (fn = call(name)));
      return fn;
    },
  });

  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let source: EventSource | null = null;
  const listen = (name: EventName): void => {
    // One stream for every event; each name gets one dispatcher the first time someone subscribes to it.
    // EventSource reconnects by itself after a network error (the server sends `retry:`).
    if (!source) {
      const s = (source = new EventSource(`${base}/api/events?token=${encodeURIComponent(token)}`));
      streamReady = new Promise<void>((resolve) => {
        const answered = () => {
          streamReady = null;
          resolve();
        };
        s.addEventListener('open', answered, { once: true });
        s.addEventListener('error', answered, { once: true });
      });
    }
    source.addEventListener(name, (ev) => {
      const payload = JSON.parse((ev as MessageEvent<string>).data) as never;
      for (const fn of [...(listeners.get(name) ?? [])]) fn(payload);
    });
  };

  return {
    invoke,
    on<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void) {
      if (typeof event !== 'string' || !NAME_RE.test(event)) throw new Error(`Unknown event: ${String(event)}`);
      if (typeof listener !== 'function') throw new Error('listener must be a function');
      let set = listeners.get(event);
      if (!set) {
        listeners.set(event, (set = new Set()));
        listen(event);
      }
      set.add(listener as (payload: never) => void);
      return () => {
        set.delete(listener as (payload: never) => void);
      };
    },
    // A browser never tells a page where a dropped file lives; the screens use browseLocal (paths on the engine's machine).
    getPathForFile: () => '',
  };
}

/** Installs the HTTP bridge when the page was served by `cloudreve-sync ui` (http(s), no preload). */
export function installHttpBridge(): CloudreveBridge | null {
  if (typeof window === 'undefined') return null; // not a page (unit tests)
  if (window.cloudreve) return window.cloudreve;
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return null;
  const bridge = createHttpBridge(adoptToken());
  window.cloudreve = bridge;
  return bridge;
}
