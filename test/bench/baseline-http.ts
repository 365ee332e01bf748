/**
 * The baselines the engine and the CLI are measured against: a plain Node HTTP client that logs in, creates an
 * upload session and streams the same parts (same chunk size, same concurrency, last part last) to the same
 * emulator with node:http and 1 MiB reads — no journal, no retries, no progress, no throttle; and for many small
 * files the same two requests per file (create the session, send the one part) with N files in flight.
 */
import { request, Agent } from 'node:http';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { createCipheriv } from 'node:crypto';
import type { Readable } from 'node:stream';

async function api(base: string, method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const env = (await res.json()) as { code: number; data: any; msg: string };
  if (env.code !== 0) throw new Error(`${method} ${path}: ${env.msg} (${env.code})`);
  return env.data;
}

function post(agent: Agent, url: URL, token: string, body: Readable | Buffer, length: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const env = JSON.parse(text);
        if (env.code !== 0) reject(new Error(`chunk: ${env.msg}`));
        else resolve();
      });
    });
    req.on('error', reject);
    if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

export async function baselineUpload(base: string, email: string, password: string, path: string, uri: string, encrypt: boolean): Promise<void> {
  const { token } = await api(base, 'POST', '/api/v4/session/token', { email, password });
  const size = statSync(path).size;
  const session = await api(base, 'PUT', '/api/v4/file/upload', { uri, size, encryption_supported: encrypt ? ['aes-256-ctr'] : undefined }, token.access_token);
  const chunk: number = session.chunk_size || size;
  const n = Math.max(1, Math.ceil(size / chunk));
  const conc = session.storage_policy.chunk_concurrency ?? 1;
  const agent = new Agent({ keepAlive: true, maxSockets: conc });
  const meta = session.encrypt_metadata;
  const send = (i: number) => {
    const start = i * chunk;
    const end = Math.min(size, start + chunk);
    let body: Readable = createReadStream(path, { start, end: end - 1, highWaterMark: 1024 * 1024 });
    if (meta) {
      // counter = IV + start/16 (chunk sizes here are multiples of 16)
      const iv = Buffer.from(meta.iv, 'base64');
      let carry = BigInt(start / 16);
      for (let k = 15; k >= 0 && carry > 0n; k--) {
        const v = BigInt(iv[k]) + (carry & 0xffn);
        iv[k] = Number(v & 0xffn);
        carry = (carry >> 8n) + (v >> 8n);
      }
      body = body.pipe(createCipheriv('aes-256-ctr', Buffer.from(meta.key_plain_text, 'base64'), iv));
    }
    return post(agent, new URL(`${base}/api/v4/file/upload/${session.session_id}/${i}`), token.access_token, body, end - start);
  };
  let next = 0;
  const worker = async () => {
    while (next < n - 1) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(conc, Math.max(1, n - 1)) }, worker));
  await send(n - 1);
  agent.destroy();
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * Every file under `dir` to `folderUri` (same relative paths), `inFlight` files at a time, each with the two
 * requests the protocol needs for a file smaller than a part: create the session, send part 0 (the local
 * policy completes on it). Returns the number of files.
 */
export async function baselineSmallFiles(base: string, email: string, password: string, dir: string, folderUri: string, inFlight: number): Promise<number> {
  const { token } = await api(base, 'POST', '/api/v4/session/token', { email, password });
  const files = filesUnder(dir);
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  const access = token.access_token as string;
  const upload = async (path: string) => {
    const body = await readFile(path);
    const uri = `${folderUri}/${relative(dir, path).split('/').map(encodeURIComponent).join('/')}`;
    const session = await apiVia(agent, base, 'PUT', '/api/v4/file/upload', { uri, size: body.length, last_modified: Math.floor(statSync(path).mtimeMs) }, access);
    await post(agent, new URL(`${base}/api/v4/file/upload/${session.session_id}/0`), access, body, body.length);
  };
  let next = 0;
  const worker = async () => {
    while (next < files.length) await upload(files[next++]);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  agent.destroy();
  return files.length;
}

/** A JSON API call over node:http on a keep-alive agent (fetch's own pool would be a different client). */
function apiVia(agent: Agent, base: string, method: string, path: string, body: unknown, token: string): Promise<any> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(base + path),
      { method, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          const env = JSON.parse(text) as { code: number; data: any; msg: string };
          if (env.code !== 0) reject(new Error(`${method} ${path}: ${env.msg} (${env.code})`));
          else resolve(env.data);
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * The download baseline: one bare node:http GET of `url` (a signed download URL) streamed into `out` (1 MiB write
 * buffer) — no journal, no temp file, no checks, no progress, no throttle; with `fsync`, flushed to disk at the end
 * like a download must be.
 */
export async function baselineDownload(url: string, out: string, fsync: boolean): Promise<number> {
  const { createWriteStream, fsyncSync, openSync, closeSync } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => request(url, (r) => resolve(r)).on('error', reject).end());
  if (res.statusCode !== 200) throw new Error(`GET answered ${res.statusCode}`);
  let n = 0;
  res.on('data', (c: Buffer) => (n += c.length));
  // 1 MiB of write buffer, as the downloader has (the default 16 KiB stalls the socket at every chunk: ~30% slower)
  await pipeline(res, createWriteStream(out, { highWaterMark: 1024 * 1024 }));
  if (fsync) {
    const fd = openSync(out, 'r+');
    fsyncSync(fd);
    closeSync(fd);
  }
  return n;
}


/** A GET over node:http on a keep-alive agent, the whole body in memory (small files). */
function getBody(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The two-way download baseline: what a pass bringing a remote tree down into an empty folder has to send, and
 * nothing else — log in, list `folderUri` and its sub-folders one folder after another (GET /file, page size 1000,
 * as the pass lists), make the local folders, then per file the download URL (POST /file/url with the listing's
 * entity) and the GET of its content into a file, `inFlight` files at a time. No journal, no temp file, no
 * fsync, no mtime, no checks, no progress. Returns the number of files.
 */
export async function baselineTreeDownload(base: string, email: string, password: string, folderUri: string, outDir: string, inFlight: number): Promise<number> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { token } = await api(base, 'POST', '/api/v4/session/token', { email, password });
  const access = token.access_token as string;
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  const auth = { authorization: `Bearer ${access}` };
  const files: Array<{ uri: string; entity: string; out: string }> = [];
  const folders: Array<[string, string]> = [[folderUri, outDir]];
  await mkdir(outDir, { recursive: true });
  while (folders.length > 0) {
    const [uri, dir] = folders.shift()!;
    let next = '';
    do {
      const q = `uri=${encodeURIComponent(uri)}&page_size=1000${next ? `&next_page_token=${encodeURIComponent(next)}` : ''}`;
      const env = JSON.parse((await getBody(agent, `${base}/api/v4/file?${q}`, auth)).toString('utf8')) as { code: number; data: any; msg: string };
      if (env.code !== 0) throw new Error(`list ${uri}: ${env.msg}`);
      for (const f of env.data.files as Array<{ type: number; name: string; path: string; primary_entity?: string }>) {
        const out = join(dir, f.name);
        if (f.type === 1) {
          await mkdir(out);
          folders.push([f.path, out]);
        } else files.push({ uri: f.path, entity: f.primary_entity ?? '', out });
      }
      next = env.data.pagination?.next_token ?? '';
    } while (next);
  }
  let i = 0;
  const worker = async () => {
    while (i < files.length) {
      const f = files[i++];
      const d = await apiVia(agent, base, 'POST', '/api/v4/file/url', { uris: [f.uri], download: true, entity: f.entity || undefined }, access);
      await writeFile(f.out, await getBody(agent, d.urls[0].url));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  agent.destroy();
  return files.length;
}
