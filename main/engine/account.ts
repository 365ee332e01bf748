/**
 * The signed-in account of one home folder: its stored record (credentials.json), the API client built from it,
 * refreshed tokens written back, login (password with the optional second factor, or through the browser: api/oauth.ts)
 * and logout. With a CredentialCodec (the desktop app) the tokens are written sealed; see api/credentials.ts.
 */
import { CloudreveClient, type ClientOptions } from './api/client.js';
import {
  clearAccount,
  loadAccount,
  openSealed,
  saveAccount,
  sealRecord,
  type AccountRecord,
  type CredentialCodec,
} from './api/credentials.js';
import { loginWithBrowser, type BrowserLoginOptions } from './api/oauth.js';
import { EngineError } from './errors.js';
import type { AccountInfo } from './types.js';

const NOT_LOGGED_IN = 'not logged in: run `cloudreve-sync login` first';

export class AccountSession {
  private client: CloudreveClient | null;

  private constructor(
    private readonly home: string,
    private readonly clientId: string,
    private record: AccountRecord | null,
    private readonly timeouts: ClientOptions['timeouts'],
    private readonly codec: CredentialCodec | undefined,
  ) {
    this.client = record ? this.clientFor(record) : null;
    this.remember(record);
  }

  /** The account stored in `home` (or none). */
  static async open(home: string, clientId: string, timeouts?: ClientOptions['timeouts'], codec?: CredentialCodec): Promise<AccountSession> {
    const stored = loadAccount(home);
    const rec = stored ? await openSealed(stored, codec) : null;
    // A record whose tokens this host cannot open (sealed by another codec, keychain reset) is not a login.
    return new AccountSession(home, clientId, rec && rec.tokens ? rec : null, timeouts, codec);
  }

  get loggedIn(): boolean {
    return this.record !== null;
  }

  /** The email of the stored account, if any. */
  get email(): string | undefined {
    return this.record?.email;
  }

  info(): AccountInfo | null {
    const r = this.record;
    return r ? { server: r.server, email: r.email, userId: r.userId, nickname: r.nickname, serverVersion: r.serverVersion } : null;
  }

  /** `server|userId`: what the journal's rows are keyed by. Throws login-required when no one is logged in. */
  key(): string {
    if (!this.record) throw new EngineError('login-required', NOT_LOGGED_IN);
    return `${this.record.server}|${this.record.userId}`;
  }

  requireClient(): CloudreveClient {
    if (!this.client) throw new EngineError('login-required', NOT_LOGGED_IN);
    return this.client;
  }

  async login(server: string, email: string, password: string, otp?: string): Promise<AccountInfo> {
    const { version } = await CloudreveClient.detect(server, { timeouts: this.timeouts });
    const c = new CloudreveClient({ baseUrl: server, clientId: this.clientId, version, timeouts: this.timeouts });
    let result;
    try {
      result = await c.login(email, password);
    } catch (err) {
      if (!(err instanceof EngineError) || err.code !== 'otp-required' || !otp) throw err;
      const sessionId = (err.data as { sessionId: string }).sessionId;
      result = await c.login2fa(sessionId, otp);
    }
    this.record = {
      server: c.baseUrl,
      email: result.user.email ?? email,
      userId: result.user.id,
      nickname: result.user.nickname,
      serverVersion: version,
      tokens: result.token,
    };
    await this.persist(this.record);
    this.client = this.clientFor(this.record);
    return this.info()!;
  }

  /** Signs in through the browser (OAuth 2.0 + PKCE); the account is then stored exactly like a password login's. */
  async loginWithBrowser(opts: Omit<BrowserLoginOptions, 'installationId' | 'timeouts'>): Promise<AccountInfo> {
    const r = await loginWithBrowser({ ...opts, installationId: this.clientId, timeouts: this.timeouts });
    this.record = {
      server: r.server,
      email: r.user.email ?? '',
      userId: r.user.id,
      nickname: r.user.nickname,
      serverVersion: r.version,
      tokens: r.token,
    };
    await this.persist(this.record);
    this.client = this.clientFor(this.record);
    return this.info()!;
  }

  private saving: Promise<void> = Promise.resolve();
  /** refresh tokens this session held (the latest few): the stored record holding one of them is our own write */
  private readonly held: string[] = [];

  private remember(rec: AccountRecord | null): void {
    const t = rec?.tokens?.refresh_token;
    if (!t || this.held.includes(t)) return;
    this.held.push(t);
    if (this.held.length > 8) this.held.shift();
  }

  /**
   * Takes a login another process stored in the home (`cloudreve-sync login` while `run`, `ui` or the app holds the
   * home): when credentials.json holds tokens this session never held, they become this session's (a new client), so
   * a login the server had invalidated is replaced without a restart. Our own writes (refreshes) and a record without
   * usable tokens (signed out elsewhere, sealed by another host) change nothing. True when the login changed.
   */
  async reload(): Promise<boolean> {
    await this.saving;
    let stored: AccountRecord | null;
    try {
      stored = loadAccount(this.home);
    } catch {
      return false; // damaged or unreadable: keep what we have
    }
    if (!stored) return false;
    const rec = await openSealed(stored, this.codec);
    if (!rec.tokens || this.held.includes(rec.tokens.refresh_token)) return false;
    // the old client is left to finish what it has in flight (as after login()); new work goes through the new one
    this.record = rec;
    this.remember(rec);
    this.client = this.clientFor(rec);
    return true;
  }

  /** Writes the record (tokens sealed by the codec when there is one), one write after the other. */
  private persist(rec: AccountRecord): Promise<void> {
    this.remember(rec);
    const next = this.saving.then(async () => saveAccount(this.home, await sealRecord(rec, this.codec)));
    this.saving = next.catch(() => {});
    return next;
  }

  /** Signs out on the server (best effort) and forgets the stored account whatever the server said. */
  async logout(): Promise<void> {
    try {
      await this.client?.logout();
    } finally {
      await this.saving;
      clearAccount(this.home);
      this.record = null;
      this.client = null;
    }
  }

  private clientFor(rec: AccountRecord): CloudreveClient {
    return new CloudreveClient({
      baseUrl: rec.server,
      clientId: this.clientId,
      tokens: rec.tokens,
      version: rec.serverVersion,
      timeouts: this.timeouts,
      onTokens: (tokens) => {
        if (!this.record) return;
        this.record = { ...this.record, tokens: tokens ?? this.record.tokens };
        this.remember(this.record);
        if (tokens) this.persist(this.record).catch(() => {}); // a failed write keeps the session; the next refresh retries
      },
    });
  }
}
