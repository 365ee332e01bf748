/**
 * Reads the account's files the way any client would, through the Cloudreve v4 API with its own login: the
 * listing (cursor pages) and each file's content from its download URL, so encrypted files are read as plaintext.
 * It shares no code with the client under test.
 */
import { createHash } from 'node:crypto';

export interface RemoteFile {
  /** relative to the listed folder, '/'-separated */
  path: string;
  size: number;
  /** a placeholder of an upload in progress */
  uploading: boolean;
}

export class RemoteTree {
  private token = '';

  constructor(
    private readonly base: string,
    private readonly email: string,
    private readonly password: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<any> {
    if (!this.token && !path.startsWith('/api/v4/session/token')) await this.login();
    const r = await fetch(this.base + path, {
      method,
      headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(60_000),
    });
    const j = (await r.json()) as { code: number; msg: string; data: any };
    if (j.code !== 0) throw new Error(`${method} ${path}: ${j.code} ${j.msg}`);
    return j.data;
  }

  async login(): Promise<void> {
    const d = await this.call('POST', '/api/v4/session/token', { email: this.email, password: this.password });
    this.token = d.token.access_token;
  }

  /** Every file under `uri` (recursively), folders left out. Missing folder: no files. */
  async files(uri: string): Promise<RemoteFile[]> {
    const out: RemoteFile[] = [];
    const walk = async (folderUri: string, rel: string): Promise<void> => {
      let next = '';
      do {
        const q = new URLSearchParams({ uri: folderUri, page_size: '1000' });
        if (next) q.set('next_page_token', next);
        let d;
        try {
          d = await this.call('GET', `/api/v4/file?${q}`);
        } catch (err) {
          if (rel === '' && /40016|not exist/i.test(String(err))) return;
          throw err;
        }
        for (const f of d.files as Array<{ type: number; name: string; size: number; metadata: Record<string, string> | null; path: string }>) {
          const p = rel ? `${rel}/${f.name}` : f.name;
          if (f.type === 1) await walk(f.path, p);
          else out.push({ path: p, size: f.size, uploading: !!f.metadata?.['sys:upload_session_id'] });
        }
        next = d.pagination?.next_token ?? '';
      } while (next);
    };
    await walk(uri, '');
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /** SHA-256 of a file's content as the server hands it out (decrypted when the file is encrypted). */
  async hash(uri: string): Promise<{ hash: string; bytes: number }> {
    const d = await this.call('POST', '/api/v4/file/url', { uris: [uri] });
    const url = new URL(d.urls[0].url, this.base);
    const r = await fetch(url, { signal: AbortSignal.timeout(600_000) });
    if (!r.ok || !r.body) throw new Error(`download ${uri}: HTTP ${r.status}`);
    const h = createHash('sha256');
    let bytes = 0;
    for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(c);
      bytes += c.length;
    }
    return { hash: h.digest('hex'), bytes };
  }
}

/** cloudreve://my/<folder>/<rel>, each segment percent-encoded as Cloudreve URIs are. */
export function childUri(folderUri: string, rel: string): string {
  return `${folderUri.replace(/\/$/, '')}/${rel.split('/').map(encodeURIComponent).join('/')}`;
}
