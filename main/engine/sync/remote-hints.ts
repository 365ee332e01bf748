/**
 * The server's change stream (`/api/v4/file/events`, Cloudreve ≥ 4.11) as a **hint**: a change under a pair's remote
 * folder asks for a look at the folders it touched, the same way a local watch event does. It is never a source of
 * truth: the pass that follows lists the folder and decides from what it finds. Our own uploads are not echoed back
 * (the stream is opened with the client id the uploads carry).
 *
 * The stream is kept open while the pair runs: when it breaks (server restart, network, a proxy's timeout) it is
 * opened again after 2 s, doubling to 60 s while it keeps failing; after an outage the server replays what it
 * buffered (`resumed`), and the parent folder of a hint that could not be placed is looked at anyway. Servers without
 * the stream (older than 4.11, or the admin switched it off: 40019) are left alone: the hourly full scan remains.
 */
import { EngineError } from '../errors.js';
import type { CloudreveClient } from '../api/client.js';

export interface RemoteHintOptions {
  client: () => CloudreveClient;
  /** the pair's remote folder */
  uri: string;
  /** relative folders ('' = the pair's root, '/'-separated) to look at */
  onFolders(folders: string[]): void;
  onLog(level: 'info' | 'warn', message: string): void;
  /** reconnect delays (ms), tests shorten them */
  retry?: { baseMs: number; maxMs: number };
}

export interface RemoteHints {
  stop(): Promise<void>;
}

/** The folders a change event touches: the parents of `from` and `to` (relative to the subscribed folder). */
export function hintFolders(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return [''];
  const d = data as Record<string, unknown>;
  const out = new Set<string>();
  for (const p of [d.from, d.to]) {
    if (typeof p !== 'string' || p === '') continue;
    const segs = p.split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
    out.add(segs.slice(0, -1).join('/'));
  }
  return out.size > 0 ? [...out].sort() : [''];
}

export function followRemoteChanges(opts: RemoteHintOptions): RemoteHints {
  const ac = new AbortController();
  const { baseMs, maxMs } = opts.retry ?? { baseMs: 2000, maxMs: 60_000 };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      ac.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });

  const loop = async (): Promise<void> => {
    let delay = baseMs;
    let warned = false;
    let first = true;
    while (!ac.signal.aborted) {
      try {
        for await (const ev of opts.client().events(opts.uri, { signal: ac.signal })) {
          if (ev.event === 'subscribed' || ev.event === 'resumed') {
            delay = baseMs;
            if (warned) opts.onLog('info', `change events for ${opts.uri} are back`);
            warned = false;
            // a fresh subscription after a broken one may have missed something: look at the root (a listing)
            if (ev.event === 'subscribed' && !first) opts.onFolders(['']);
            first = false;
          } else if (ev.event === 'event') {
            opts.onFolders(hintFolders(ev.data));
          }
        }
      } catch (err) {
        if (ac.signal.aborted) return;
        if (err instanceof EngineError && err.code === 'unsupported-feature') {
          opts.onLog('info', `${err.message}; remote changes are picked up by the periodic scans`);
          return;
        }
        if (!warned) opts.onLog('warn', `change events for ${opts.uri} interrupted (${err instanceof Error ? err.message : String(err)}); reconnecting`);
        warned = true;
      }
      await sleep(delay);
      delay = Math.min(maxMs, delay * 2);
    }
  };
  const done = loop();
  return {
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}
