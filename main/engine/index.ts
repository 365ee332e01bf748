/**
 * The engine's only entry for the shell and the CLI: createEngine(config) → Engine.
 * Plain Node: never imports electron. Whatever it needs from the host (paths, secrets) arrives in EngineConfig.
 *
 * It only assembles the parts: the home folder (lock, journal), the account (account.ts), the transfers
 * (transfers.ts) and folder sync (sync/sync-service.ts).
 */
import { mkdirSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { AccountSession } from './account.js';
import { CloudreveClient } from './api/client.js';
import { credentialsPath } from './api/credentials.js';
import { createRemoteFolder, listRemoteFolders } from './api/remote-folders.js';
import { toUri } from './api/uri.js';
import { Connectivity } from './connectivity.js';
import type { Engine, EngineConfig } from './engine-api.js';
import { EngineError } from './errors.js';
import { TypedEmitter, type EngineEvents } from './events.js';
import { lockHome } from './home-lock.js';
import { openJournal, type Journal } from './journal/journal.js';
import { PAIRS_BACKUP_FILE } from './journal/pairs-backup.js';
import { notice } from './notices.js';
import { DEFAULT_SETTINGS, readSettings } from './settings-schema.js';
import { SyncService } from './sync/sync-service.js';
import { Transfers } from './transfers.js';
import { Downloads } from './downloads.js';

export type { EngineEvents } from './events.js';
export type { BrowserSignIn, Engine, EngineConfig, EnqueueOptions } from './engine-api.js';
export type { CredentialCodec } from './api/credentials.js';
export type { SkippedEntry } from './fs/local-tree.js';
export type { RemoteFolderListing } from './api/remote-folders.js';
export type { PairSpec, PassReport, SyncApi, SyncSettings } from './sync/sync-service.js';
export * from './types.js';
export type * from './download-types.js';
export { TEMP_NAME_RE as DOWNLOAD_TEMP_NAME_RE, isDownloadTemp, sameMtime, serverConflictName } from './transfer/downloader.js';

export async function createEngine(config: EngineConfig): Promise<Engine> {
  const home = resolve(config.home);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const lock = config.exclusive === false ? null : lockHome(home);
  const events = new TypedEmitter<EngineEvents>();
  let journal: Journal;
  try {
    journal = openJournal(join(home, 'journal.db'), {
      groupCommit: config.groupCommit,
      onCommitError: (err) => events.emit('log', { level: 'error', message: err.message }),
      // the pairs survive a journal that cannot be read (journal.ts); only the lock's holder may move one aside
      pairsBackup: join(home, PAIRS_BACKUP_FILE),
      recoverDamaged: lock !== null,
    });
  } catch (err) {
    lock?.release();
    throw err;
  }
  if (journal.recovery) notice(journal.recovery.message);
  // conf (and its schema compiler) is loaded only when config.json must be created or repaired
  const clientId = readSettings(home)?.clientId ?? (await import('./config.js')).installationId(home);
  const account = await AccountSession.open(home, clientId, config.timeouts, config.credentialCodec);
  // Offline is a state: one probe loop for the whole engine (connectivity.ts)
  const connectivity = new Connectivity({
    probe: () => {
      const server = account.info()?.server;
      if (!server) throw new EngineError('login-required', 'not logged in');
      return CloudreveClient.detect(server, { timeouts: { connectMs: 5_000, responseMs: 10_000, totalMs: 15_000 } });
    },
    timing: config.offlineProbe,
    onChange: (state) => events.emit('connectivity-changed', state),
  });
  const transfers = new Transfers({ config, journal, events, account, connectivity });
  const downloads = new Downloads({ config, journal, events, account, connectivity });
  const sync = new SyncService({ journal, transfers, account, events, downloads, settings: { settleMs: config.settleMs, ...config.sync } });

  const engine: Engine = {
    events,
    sync,
    downloads,
    account: () => account.info(),
    async login(server, email, password, otp) {
      const info = await account.login(server, email, password, otp);
      transfers.accountChanged();
      events.emit('account-changed', { loggedIn: true, email: info.email });
      return info;
    },
    async loginWithBrowser(server, opts) {
      const stored = (readSettings(home) ?? (await import('./config.js')).openConfig(home).store).oauth;
      const app = { ...DEFAULT_SETTINGS.oauth, ...stored, ...opts.app };
      const info = await account.loginWithBrowser({ server, ...app, onUrl: opts.onUrl, timeoutMs: opts.timeoutMs, signal: opts.signal });
      transfers.accountChanged();
      events.emit('account-changed', { loggedIn: true, email: info.email });
      return info;
    },
    async reloadAccount() {
      if (!(await account.reload())) return false;
      const info = account.info()!;
      transfers.accountChanged();
      events.emit('account-changed', { loggedIn: true, email: info.email });
      events.emit('log', { level: 'info', message: `signed in again as ${info.email || info.userId} (a login stored by another cloudreve-sync command)` });
      // pairs that were waiting for a login try again now, not at their next retry (minutes away)
      if (sync.running) {
        for (const p of sync.listPairs()) {
          if (p.state !== 'login-required' || p.paused) continue;
          try {
            sync.requestPass(p.id);
          } catch {
            // removed or paused meanwhile
          }
        }
      }
      return true;
    },
    async logout() {
      await Promise.all([transfers.shutdown(), downloads.shutdown()]);
      try {
        await account.logout();
      } finally {
        events.emit('account-changed', { loggedIn: false });
      }
    },
    enqueue: (paths, target, opts) => transfers.enqueue(paths, target, opts),
    resumeInterrupted: (ids) => transfers.resumeInterrupted(ids),
    listTransfers: () => transfers.list(),
    transfer: (id) => transfers.get(id),
    overall: () => transfers.overall(),
    connectivity: () => connectivity.state(),
    // one queue for both directions: an id is an upload's or a download's; no id means both (downloads.ts)
    pause: (id) => {
      if (id !== undefined && downloads.has(id)) return downloads.pause(id);
      transfers.pause(id);
      if (id === undefined) downloads.pause();
    },
    resume: (id) => {
      if (id !== undefined && downloads.has(id)) return void downloads.resume(id);
      transfers.resume(id);
      if (id === undefined) downloads.resume();
    },
    cancel: (id) => (downloads.has(id) ? downloads.cancel(id) : transfers.cancel(id)),
    retry: (id) => (downloads.has(id) ? void downloads.retry(id) : transfers.retry(id)),
    setPriority: (id, p) => (downloads.has(id) ? downloads.setPriority(id, p) : transfers.setPriority(id, p)),
    setBandwidthLimit: (bps) => transfers.setBandwidthLimit(bps),
    setIfExists: (mode) => transfers.setIfExists(mode),
    setConcurrency: (limits) => transfers.setConcurrency(limits),
    setSettleDelay: (ms) => {
      transfers.setSettleMs(ms);
      sync.setSettleMs(ms);
    },
    clearFinished: () => transfers.clearFinished() + downloads.clearFinished(),
    history: (query) => transfers.history(query),
    clearHistory: () => transfers.clearHistory(),
    listRemoteFolders: (uri) => listRemoteFolders(account.requireClient(), uri),
    createRemoteFolder: (parent, name) => createRemoteFolder(account.requireClient(), parent, name),
    createShareLink: (uri) => account.requireClient().createShareLink(toUri(uri)),
    idle: () => transfers.idle(),
    async close() {
      if (lock) unwatchFile(storedLogin, onStoredLogin);
      await sync.close();
      connectivity.close();
      await Promise.all([transfers.close(), downloads.close()]);
      journal.close();
      lock?.release();
    },
  };

  // A login another process stores here (`cloudreve-sync login` while this engine holds the home) is taken within
  // seconds, also without the control socket (`login` also tells a running engine at once through it). A stat poll:
  // credentials.json is replaced by rename, which inotify-style watches on the file would lose.
  const storedLogin = credentialsPath(home);
  function onStoredLogin(cur: Stats, prev: Stats): void {
    if (cur.mtimeMs === prev.mtimeMs && cur.ino === prev.ino && cur.size === prev.size) return;
    engine.reloadAccount().catch((err: unknown) => events.emit('log', { level: 'warn', message: `cannot read the stored login: ${err instanceof Error ? err.message : String(err)}` }));
  }
  if (lock) watchFile(storedLogin, { interval: 2000, persistent: false }, onStoredLogin);

  if (config.autoResume && account.loggedIn) {
    transfers.admitInterrupted();
    downloads.admitInterrupted();
  }
  return engine;
}
