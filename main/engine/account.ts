/**
 * The signed-in account of one home folder: its stored record (credentials.json), the API client built from it,
 * refreshed tokens written back, login (with the optional second factor) and logout.
 */
import { CloudreveClient, type ClientOptions } from './api/client.js';
import { clearAccount, loadAccount, saveAccount, type AccountRecord } from './api/credentials.js';
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
  ) {
    this.client = record ? this.clientFor(record) : null;
  }

  /** The account stored in `home` (or none). */
  static async open(home: string, clientId: string, timeouts?: ClientOptions['timeouts']): Promise<AccountSession> {
    return new AccountSession(home, clientId, await loadAccount(home), timeouts);
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
    await saveAccount(this.home, this.record);
    this.client = this.clientFor(this.record);
    return this.info()!;
  }

  /** Signs out on the server (best effort) and forgets the stored account whatever the server said. */
  async logout(): Promise<void> {
    try {
      await this.client?.logout();
    } finally {
      await clearAccount(this.home);
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
        if (tokens) void saveAccount(this.home, this.record);
      },
    });
  }
}
