/**
 * Reads the account's files the way any client would, through the Cloudreve v4 API with its own login: the
 * listing (cursor pages), each file's content from its download URL (so encrypted files are read as plaintext) and
 * the trash. It also edits a file as another device would (the other side of a conflict: PUT /file/content).
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

/** A top-level entry of the server's trash. */
export interface TrashEntry {
  /** its name in the trash (the original name, or name_id when that was taken there) */
  name: string;
  /** cloudreve://trash/<name> */
  uri: string;
  /** where it was, decoded ("soak/dir/a b.txt"), from its sys:restore_uri */
  restorePath: string;
  folder: boolean;
}

export class RemoteTree {
  private token = '';

  constructor(
    private readonly base: string,
    private readonly email: string,
    private readonly password: string,
  ) {}

  private async call(method: string, path: string, body?: unknown, raw?: Buffer): Promise<any> {
    const login = path.startsWith('/api/v4/session/token');
    if (!this.token && !login) await this.login();
    for (let attempt = 0; ; attempt++) {
      const r = await fetch(this.base + path, {
        method,
        headers: {
          ...(this.token && !login ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(raw ? { 'content-type': 'application/octet-stream' } : {}),
        },
        body: raw ? new Uint8Array(raw) : body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(60_000),
      });
      const j = (await r.json()) as { code: number; msg: string; data: any };
      // a token that expired (the soak makes them short-lived for a while): sign in again, once
      if (!login && attempt === 0 && (j.code === 401 || j.code === 40011 || r.status === 401)) {
        await this.login();
        continue;
      }
      if (j.code !== 0) throw new Error(`${method} ${path}: ${j.code} ${j.msg}`);
      return j.data;
    }
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

  /** A file's info (id, size, primary entity, metadata); null when nothing is there. */
  async info(uri: string): Promise<{ id: string; size: number; primaryEntity: string; uploading: boolean } | null> {
    try {
      const d = await this.call('GET', `/api/v4/file/info?${new URLSearchParams({ uri })}`);
      return { id: d.id, size: d.size, primaryEntity: d.primary_entity, uploading: !!d.metadata?.['sys:upload_session_id'] };
    } catch (err) {
      if (/40016|not exist/i.test(String(err))) return null;
      throw err;
    }
  }

  /** Writes `data` as the file's new version (as the web editor or another device would), guarded by `previous`. */
  async putContent(uri: string, data: Buffer, previous?: string): Promise<void> {
    const q = new URLSearchParams({ uri });
    if (previous) q.set('previous', previous);
    await this.call('PUT', `/api/v4/file/content?${q}`, undefined, data);
  }

  /** Every folder under `uri` (recursively, relative to it; '' is `uri` itself). Missing folder: none. */
  async folders(uri: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (folderUri: string, rel: string): Promise<void> => {
      out.push(rel);
      let next = '';
      do {
        const q = new URLSearchParams({ uri: folderUri, page_size: '1000' });
        if (next) q.set('next_page_token', next);
        let d;
        try {
          d = await this.call('GET', `/api/v4/file?${q}`);
        } catch (err) {
          if (/40016|not exist/i.test(String(err))) return;
          throw err;
        }
        for (const f of d.files as Array<{ type: number; name: string; path: string }>) {
          if (f.type === 1) await walk(f.path, rel ? `${rel}/${f.name}` : f.name);
        }
        next = d.pagination?.next_token ?? '';
      } while (next);
    };
    await walk(uri, '');
    return out.sort();
  }

  /** The entries of one folder (the trash's folders too, whose listing names no usable path): names and types. */
  async children(uri: string): Promise<Array<{ name: string; folder: boolean }>> {
    const out: Array<{ name: string; folder: boolean }> = [];
    let next = '';
    do {
      const q = new URLSearchParams({ uri, page_size: '1000' });
      if (next) q.set('next_page_token', next);
      const d = await this.call('GET', `/api/v4/file?${q}`);
      for (const f of d.files as Array<{ type: number; name: string }>) out.push({ name: f.name, folder: f.type === 1 });
      next = d.pagination?.next_token ?? '';
    } while (next);
    return out;
  }

  /** Makes a folder (parents too), as the web page's "new folder" would. */
  async mkdir(uri: string): Promise<void> {
    await this.call('POST', '/api/v4/file/create', { uri, type: 'folder' });
  }

  /** Renames a file or folder in place (POST /file/rename). */
  async rename(uri: string, newName: string): Promise<void> {
    await this.call('POST', '/api/v4/file/rename', { uri, new_name: newName });
  }

  /** Moves files or folders into the folder `dst`, their names kept (POST /file/move). */
  async move(uris: string[], dst: string): Promise<void> {
    await this.call('POST', '/api/v4/file/move', { uris, dst });
  }

  /** Deletes to the server's trash (DELETE /file, soft delete: never for good). */
  async remove(uris: string[]): Promise<void> {
    await this.call('DELETE', '/api/v4/file', { uris });
  }

  /** The top-level entries of the server's trash. */
  async trash(): Promise<TrashEntry[]> {
    const out: TrashEntry[] = [];
    let next = '';
    do {
      const q = new URLSearchParams({ uri: 'cloudreve://trash', page_size: '1000' });
      if (next) q.set('next_page_token', next);
      const d = await this.call('GET', `/api/v4/file?${q}`);
      for (const f of d.files as Array<{ type: number; name: string; metadata: Record<string, string> | null; path: string }>) {
        const restore = f.metadata?.['sys:restore_uri'] ?? '';
        const restorePath = restore.replace(/^cloudreve:\/\/[^/]*my\/?/, '').split('/').filter(Boolean).map(decodeURIComponent).join('/');
        out.push({ name: f.name, uri: f.path, restorePath, folder: f.type === 1 });
      }
      next = d.pagination?.next_token ?? '';
    } while (next);
    return out;
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
