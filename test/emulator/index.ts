// Protocol-faithful Cloudreve v4 server emulator — public entry point.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Core, emptyStats } from './state.js';
import { EmulatorServer } from './server.js';
import { configureOAuth } from './oauth.js';
import { parseUri } from './util.js';
import type { Emulator, EmulatorOptions } from './types.js';

export type {
  Emulator,
  EmulatorOptions,
  EmulatorPolicy,
  EmulatorPolicyType,
  EmulatorS3Server,
  EmulatorStats,
  EmulatorUser,
  EmulatorOAuthClient,
  EmulatorTuning,
  EntityInfo,
  FaultRule,
  FileEventInfo,
  PartAccepted,
  SessionInfo,
} from './types.js';
export { totp } from './auth.js';
export { DEMO_OAUTH_CLIENT } from './oauth.js';

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cr-emu-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const core = new Core(opts, dataDir);
  const srv = new EmulatorServer(core);
  configureOAuth(core, opts.oauthClients);
  const host = core.settings.host;
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      srv.http.once('error', reject);
      srv.http.listen(port, host, () => {
        srv.http.off('error', reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      srv.hub.closeAll();
      srv.http.close(() => resolve());
      srv.http.closeAllConnections();
    });
  await listen(opts.port ?? 0);
  const port = (srv.http.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `http://${hostPart}:${port}`;
  core.baseUrl = url;
  const first = core.users[0];
  let closed = false;

  return {
    url,
    port,
    email: first.email,
    password: first.password,
    dataDir,
    stats: () => structuredClone(core.stats),
    resetStats: () => {
      core.stats = emptyStats();
    },
    addFault: (rule) => srv.faults.add(rule),
    clearFaults: () => srv.faults.clear(),
    setPolicy: (p) => srv.setPolicy(p),
    setVersion: (v) => {
      core.settings.version = v;
    },
    blob: (uri) => srv.blob(uri),
    seed: (uri, body, updatedAtMs) => {
      const segs = parseUri(uri).segs;
      const name = segs[segs.length - 1];
      const parent = core.mkdirp(first, segs.slice(0, -1));
      if (name === undefined || parent.children!.has(name)) throw new Error(`seed: ${uri} exists`);
      const node = core.newNode(first, parent, name, 0);
      const e = core.newEntity(first, body.length, { placeholder: false, preAllocate: false });
      fs.writeFileSync(e.blobPath, body);
      node.entities.push(e);
      node.primary = e;
      node.size = body.length;
      if (updatedAtMs !== undefined) node.updatedAt = new Date(updatedAtMs);
    },
    entity: (uri) => srv.entity(uri),
    file: (uri) => srv.file(uri),
    sessions: () => srv.sessions(),
    shares: () => srv.shares(),
    expireSessions: (ids) => srv.expireSessions(ids),
    tune: (t) => srv.tune(t),
    onPart: (fn) => {
      core.partListeners.add(fn);
      return () => core.partListeners.delete(fn);
    },
    partsInFlight: () => srv.partsInFlight(),
    onFileEvent: (fn) => {
      let on = true;
      core.onEvent((_user, kind, _id, from, to) => {
        if (on) fn({ kind, from: from.join('/'), ...(to ? { to: to.join('/') } : {}), at: Date.now() });
      });
      return () => {
        on = false;
      };
    },
    stop: async () => {
      if (!closed && srv.http.listening) await stopListening();
    },
    start: async () => {
      if (!closed && !srv.http.listening) await listen(port);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (srv.http.listening) await stopListening();
      if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
