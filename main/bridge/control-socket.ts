/**
 * The control socket of a running engine: while `cloudreve-sync run`, `cloudreve-sync ui` or the desktop app holds a
 * home (its lock, home-lock.ts), the other CLI commands on that home reach the running engine here instead of failing
 * with "busy". It is the app's contract (the same handlers, validation and events as Electron's IPC and the browser
 * bridge: bridge-server.ts with `socketPath`).
 *
 * Where it listens (controlSocketPlace):
 *   - Unix: `<home>/control.sock` (mode 0600 in the 0700 home: only its owner can connect); when that path is too long
 *     for a socket, `$XDG_RUNTIME_DIR/cloudreve-sync-<hash of the home>.sock`, and only when $XDG_RUNTIME_DIR is a
 *     folder of this user that not every user can write to. Never a shared temp folder (another user could put a socket
 *     of theirs there first). Neither possible: no control socket, and a message that says why.
 *   - Windows: the named pipe `\\.\pipe\cloudreve-sync-<hash of the user name and the home>`.
 *
 * Before a client trusts what answers there (connectControl):
 *   - Unix: the socket file must be a socket owned by this user (lstat; uid), in a folder owned by this user (or root)
 *     that not every user can write to (else the file could be swapped between the check and the connect);
 *   - everywhere: the server proves it knows the home's secret `<home>/control.key` (32 random bytes, 0600, made by the
 *     first server): each request carries a fresh nonce, each answer its HMAC-SHA256 under the key. Only someone who can
 *     read the home can answer. This is what guards the Windows pipe: Node cannot read a pipe's owner SID nor create a
 *     pipe with an ACL of our choosing. What Windows gives by itself: a pipe's default ACL lets only its creator, SYSTEM
 *     and administrators write to it (others may only read, so they cannot send a request to ours), and libuv creates
 *     the first instance with FILE_FLAG_FIRST_PIPE_INSTANCE, so a pipe another user made first makes our server fail
 *     (no control socket) instead of sharing its name. What the proof cannot cover: the key is as private as the home
 *     folder (under %APPDATA% the ACL is the user's own; a `--home` in a shared folder is readable by whoever can read
 *     it), and administrators can read anything.
 * Protocol: HTTP/1.1 over the socket, `POST /api/invoke/<method>` with a JSON array → the Result,
 * `GET /api/events` → Server-Sent Events of the contract's events.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, openSync, readFileSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { Engine } from '../engine/index.js';
import { SseParser } from '../engine/api/sse.js';
import { isEventName, type EventMap, type EventName, type MethodArgs, type MethodName, type MethodValue, type Result } from '../ipc/contract.js';
import type { Handlers } from '../ipc/server.js';
import { startBridgeServer } from './bridge-server.js';

/** Unix socket paths are limited to 107 bytes (sun_path) on Linux, 103 on macOS. */
const MAX_SOCKET_PATH = 100;

/** The headers of the proof: the client's nonce, the server's HMAC of it under the home's key. */
export const NONCE_HEADER = 'x-cloudreve-sync-nonce';
export const PROOF_HEADER = 'x-cloudreve-sync-proof';
export const CONTROL_KEY_FILE = 'control.key';

/** Where the control socket of `home` listens, or why it cannot have one. */
export type SocketPlace = { path: string; why?: undefined } | { path: null; why: string };

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function currentUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

/**
 * Why `dir` cannot hold a socket this user trusts, or null when it can: it must be a folder of this user (or of root,
 * when `rootToo`) that not every user can write to, unless its sticky bit keeps them from replacing our files. (Group
 * write is allowed: with the usual per-user groups and umask 002 a home made by hand is 0775.)
 */
export function untrustedFolder(dir: string, opts: { uid?: number | null; rootToo?: boolean } = {}): string | null {
  const uid = opts.uid === undefined ? currentUid() : opts.uid;
  let s: Stats;
  try {
    s = lstatSync(dir);
  } catch (err) {
    return `${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  if (!s.isDirectory()) return `${dir} is not a folder`;
  if (uid !== null && s.uid !== uid && !(opts.rootToo && s.uid === 0)) return `${dir} belongs to another user (uid ${s.uid})`;
  if ((s.mode & 0o002) !== 0 && (s.mode & 0o1000) === 0) return `${dir} can be written by every user (mode ${(s.mode & 0o777).toString(8)})`;
  return null;
}

export function controlSocketPlace(home: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): SocketPlace {
  if (platform === 'win32') {
    let user = env.USERNAME ?? '';
    try {
      user = userInfo().username;
    } catch {
      // no user record: the environment's name
    }
    return { path: `\\\\.\\pipe\\cloudreve-sync-${hashOf(`${user.toLowerCase()}\n${home}`)}` };
  }
  const inHome = join(home, 'control.sock');
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH) return { path: inHome };
  const tooLong = `the home's path is too long for a socket in it (${Buffer.byteLength(inHome)} bytes, at most ${MAX_SOCKET_PATH})`;
  const runtime = env.XDG_RUNTIME_DIR;
  if (!runtime || !isAbsolute(runtime)) return { path: null, why: `${tooLong} and $XDG_RUNTIME_DIR is not set` };
  const bad = untrustedFolder(runtime);
  if (bad) return { path: null, why: `${tooLong} and $XDG_RUNTIME_DIR cannot be used: ${bad}` };
  const path = join(runtime, `cloudreve-sync-${hashOf(home)}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return { path: null, why: `${tooLong}, and so is one in $XDG_RUNTIME_DIR` };
  return { path };
}

/** The control socket's path, or null when the home cannot have one (controlSocketPlace says why). */
export function controlSocketPath(home: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string | null {
  return controlSocketPlace(home, platform, env).path;
}

/** The home's control key, made (0600, never replaced) when `create` and missing; null when it cannot be read. */
export function controlKey(home: string, create: boolean): Buffer | null {
  const path = join(home, CONTROL_KEY_FILE);
  try {
    const key = readFileSync(path);
    return key.length >= 32 ? key : null;
  } catch (err) {
    if (!create || (err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
  }
  const key = randomBytes(32);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600); // never overwrites: another server made one meanwhile → read that
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return controlKey(home, false);
    throw err;
  }
  try {
    writeSync(fd, key);
  } finally {
    closeSync(fd);
  }
  return key;
}

export function controlProof(key: Buffer, nonce: string): string {
  return createHmac('sha256', key).update(nonce).digest('base64url');
}

/** Why the socket at `path` is not this user's (Unix), or null when it is. */
export function untrustedSocket(path: string, uid: number | null = currentUid()): string | null {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return `nothing at ${path}`;
  }
  if (!st.isSocket()) return `${path} is not a socket`;
  if (uid !== null && st.uid !== uid) return `the control socket ${path} belongs to another user (uid ${st.uid}, you are ${uid}): not used`;
  return untrustedFolder(dirname(path), { uid, rootToo: true });
}

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

/**
 * Serves the contract on the home's control socket. Call only while holding the home's lock: a socket file found at
 * the path is then a leftover of a process that died, and is replaced (anything else there is left alone: an error).
 */
export async function serveControlSocket(opts: { home: string; engine: Engine; handlers: Handlers; onInternalError?: (what: string, err: unknown) => void }): Promise<ControlServer> {
  const place = controlSocketPlace(opts.home);
  if (place.path === null) throw new Error(place.why);
  const path = place.path;
  if (process.platform !== 'win32') {
    let st: Stats | null = null;
    try {
      st = lstatSync(path);
    } catch {
      // nothing there
    }
    if (st && !st.isSocket()) throw new Error(`${path} exists and is not a socket; it is left alone`);
    if (st) unlinkSync(path);
  }
  const key = controlKey(opts.home, true);
  if (!key) throw new Error(`cannot read ${join(opts.home, CONTROL_KEY_FILE)}`);
  const old = process.umask(0o177); // the socket file is created 0600, not world-connectable for a moment
  let server;
  try {
    server = await startBridgeServer({
      engine: opts.engine,
      handlers: opts.handlers,
      staticDir: '',
      socketPath: path,
      socketProof: (nonce) => controlProof(key, nonce),
      onInternalError: opts.onInternalError,
    });
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

/** Why the answer does not come from a server holding the home's key (null when it does). */
function unproven(res: IncomingMessage, key: Buffer, nonce: string): string | null {
  const given = res.headers[PROOF_HEADER];
  if (typeof given !== 'string') return 'the process behind the control socket did not prove it runs this home (no proof of its key)';
  const a = Buffer.from(given);
  const b = Buffer.from(controlProof(key, nonce));
  return a.length === b.length && timingSafeEqual(a, b) ? null : 'the process behind the control socket did not prove it runs this home (wrong proof)';
}

/**
 * The running engine's control socket, or null when nothing this user can trust answers there: no socket, a
 * leftover one, one of another user, or a server that cannot prove it knows the home's key. `onRefused` hears why
 * a socket that is there was not used (not for "nothing there").
 */
export async function connectControl(home: string, opts: { onRefused?: (why: string) => void } = {}): Promise<ControlClient | null> {
  const place = controlSocketPlace(home);
  if (place.path === null) return null;
  const socketPath = place.path;
  if (process.platform !== 'win32') {
    let present = true;
    try {
      lstatSync(socketPath);
    } catch {
      present = false;
    }
    if (!present) return null;
    const why = untrustedSocket(socketPath);
    if (why) {
      opts.onRefused?.(why);
      return null;
    }
  }
  const key = controlKey(home, false);
  if (!key) return null; // no server ever ran here (it makes the key before it listens)
  const headers = () => {
    const nonce = randomBytes(24).toString('base64url');
    return { nonce, headers: { [NONCE_HEADER]: nonce } };
  };
  const client: ControlClient = {
    invoke: (name, ...args) =>
      new Promise((resolve, reject) => {
        const body = Buffer.from(JSON.stringify(args));
        const h = headers();
        const req = request(
          {
            socketPath,
            method: 'POST',
            path: `/api/invoke/${name}`,
            headers: { 'content-type': 'application/json', 'content-length': body.length, ...h.headers },
          },
          (res) => {
            const bad = unproven(res, key, h.nonce);
            if (bad) {
              res.resume();
              reject(new UntrustedControl(bad));
              return;
            }
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
        const h = headers();
        const req = request({ socketPath, method: 'GET', path: '/api/events', headers: h.headers }, (res) => {
          const bad = unproven(res, key, h.nonce);
          if (bad || res.statusCode !== 200) {
            reject(bad ? new UntrustedControl(bad) : new Error(`the running engine refused the event stream (HTTP ${res.statusCode})`));
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
  } catch (err) {
    if (err instanceof UntrustedControl) opts.onRefused?.(err.message);
    return null; // a leftover socket file with no one behind it, or one we cannot trust
  }
}

class UntrustedControl extends Error {}
