/**
 * The control socket of a running engine: while `cloudreve-sync run`, `cloudreve-sync ui` or the desktop app holds a
 * home (its lock, home-lock.ts), the other CLI commands on that home reach the running engine here instead of failing
 * with "busy". It is the app's contract (the same handlers, validation and events as Electron's IPC and the browser
 * bridge: bridge-server.ts with `socketPath`), on
 *   - a Unix socket `<home>/control.sock` (mode 0600 in the 0700 home: only its owner can connect), or a socket under
 *     $XDG_RUNTIME_DIR / the temp folder named by a hash of the home when that path is too long for a socket;
 *   - on Windows the named pipe `\\.\pipe\cloudreve-sync-<hash of the home>` (a pipe's default ACL gives the creator
 *     and administrators access).
 * Protocol: HTTP/1.1 over the socket, `POST /api/invoke/<method>` with a JSON array → the Result,
 * `GET /api/events` → Server-Sent Events of the contract's events.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine/index.js';
import { SseParser } from '../engine/api/sse.js';
import { isEventName, type EventMap, type EventName, type MethodArgs, type MethodName, type MethodValue, type Result } from '../ipc/contract.js';
import type { Handlers } from '../ipc/server.js';
import { startBridgeServer } from './bridge-server.js';

/** Unix socket paths are limited to 107 bytes (sun_path) on Linux, 103 on macOS. */
const MAX_SOCKET_PATH = 100;

export function controlSocketPath(home: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256').update(home).digest('hex').slice(0, 16);
  if (platform === 'win32') return `\\\\.\\pipe\\cloudreve-sync-${hash}`;
  const inHome = join(home, 'control.sock');
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH) return inHome;
  return join(env.XDG_RUNTIME_DIR || tmpdir(), `cloudreve-sync-${hash}.sock`);
}

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

/**
 * Serves the contract on the home's control socket. Call only while holding the home's lock: a socket file found at
 * the path is then a leftover of a process that died, and is replaced.
 */
export async function serveControlSocket(opts: { home: string; engine: Engine; handlers: Handlers; onInternalError?: (what: string, err: unknown) => void }): Promise<ControlServer> {
  const path = controlSocketPath(opts.home);
  if (process.platform !== 'win32' && existsSync(path)) unlinkSync(path);
  const old = process.umask(0o177); // the socket file is created 0600, not world-connectable for a moment
  let server;
  try {
    server = await startBridgeServer({ engine: opts.engine, handlers: opts.handlers, staticDir: '', socketPath: path, onInternalError: opts.onInternalError });
  } finally {
    process.umask(old);
  }
  if (process.platform !== 'win32') chmodSync(path, 0o600);
  return {
    path,
    close: async () => {
      await server.close();
      if (process.platform !== 'win32') {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }
    },
  };
}

/** A connection to a running engine's control socket. */
export interface ControlClient {
  invoke<K extends MethodName>(name: K, ...args: MethodArgs<K>): Promise<Result<MethodValue<K>>>;
  /** Subscribes to the contract's events; resolves once the stream is open. */
  events(listener: <E extends EventName>(name: E, payload: EventMap[E]) => void): Promise<() => void>;
}

/** The running engine's control socket, or null when nothing answers there. */
export async function connectControl(home: string): Promise<ControlClient | null> {
  const socketPath = controlSocketPath(home);
  if (process.platform !== 'win32' && !existsSync(socketPath)) return null;
  const client: ControlClient = {
    invoke: (name, ...args) =>
      new Promise((resolve, reject) => {
        const body = Buffer.from(JSON.stringify(args));
        const req = request(
          { socketPath, method: 'POST', path: `/api/invoke/${name}`, headers: { 'content-type': 'application/json', 'content-length': body.length } },
          (res) => {
            const parts: Buffer[] = [];
            res.on('data', (c: Buffer) => parts.push(c));
            res.on('end', () => {
              try {
                if (res.statusCode !== 200) throw new Error(`the running engine answered HTTP ${res.statusCode}: ${Buffer.concat(parts).toString('utf8').trim()}`);
                resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
              } catch (err) {
                reject(err);
              }
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    events: (listener) =>
      new Promise((resolve, reject) => {
        const req = request({ socketPath, method: 'GET', path: '/api/events' }, (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`the running engine refused the event stream (HTTP ${res.statusCode})`));
            res.resume();
            return;
          }
          res.setEncoding('utf8');
          const parser = new SseParser();
          res.on('data', (chunk: string) => {
            for (const m of parser.push(chunk)) if (isEventName(m.event)) listener(m.event, JSON.parse(m.data));
          });
          res.on('error', () => {});
          resolve(() => req.destroy());
        });
        req.on('error', reject);
        req.end();
      }),
  };
  try {
    const ping = await client.invoke('getConnectivity');
    return ping ? client : null;
  } catch {
    return null; // a leftover socket file with no one behind it
  }
}
