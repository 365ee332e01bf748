/**
 * One HTTP request over node:http(s), as lean as the protocol allows: the master's API calls and every part and
 * storage request go through here.
 *
 * Why not got (the project's HTTP library until this file): a small upload is two requests, and got spends about
 * 330 µs of CPU on each (option normalisation, its own Duplex in front of the socket, hooks, cancelable promises)
 * against about 72 µs for node:http doing the same request (measured: 4,000 POSTs of 4 KiB, 7 in flight, to a
 * loopback server in another process: got 1.28–1.39 s CPU, node:http 0.29 s). For 2,000 small files that was a
 * fifth of the CLI's CPU; for big parts, got's extra stream hop cost about 10 % CPU per byte. The rules stay the
 * ones the engine relied on: keep-alive agents, no redirects, no retries (the engine retries), every status
 * returned, gzip/deflate/br answers decompressed, and failures shaped as got shaped them (a `TimeoutError` with
 * its `event`, an `AbortError`, an `UploadError` when the body could not be read, node's own codes otherwise), so
 * `transportError()` maps them unchanged.
 *
 * Timeouts judge what they say: `connectMs` the TCP/TLS connect of a new socket, `idleMs` the longest time nothing
 * moves on the socket, `responseMs` the wait for the answer's headers once the body went out, `totalMs` (small
 * calls only) the whole exchange including the answer's body.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ACCEPT_ENCODING, abortError, decoder, timeoutError, TransportError, type TimeoutEvent, type TransportRequest, type TransportResponse, type TransportTimeouts } from './transport-shared.js';

export { TransportError, type TransportRequest, type TransportResponse, type TransportTimeouts } from './transport-shared.js';

/**
 * Starts the request on the agent for its scheme, with the timeouts both kinds of request share armed: `connectMs`
 * for a new socket, `idleMs` of silence on the socket, `responseMs` from the end of the body to the answer's
 * headers. A timeout calls `onTimeout`; `disarm` stops the connect and response timers (not the idle one).
 */
function begin(url: string | URL, method: string, headers: Record<string, string | number>, agents: TransportRequest['agents'], t: TransportTimeouts, onTimeout: (err: TransportError) => void) {
  const u = typeof url === 'string' ? new URL(url) : url;
  const https = u.protocol === 'https:';
  // The headers as one flat list (with Host, as node would add it) and the URL's parts as plain options: node then
  // neither converts the URL nor validates and stores each header in its map before writing them (a measurable
  // part of a small file's cost). Names are ours and lower-case; node still validates each as it writes it.
  const raw: string[] = [];
  let hasHost = false;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue; // as an absent header (node's own map would refuse it)
    raw.push(k, String(v));
    if (k.length === 4 && k.toLowerCase() === 'host') hasHost = true;
  }
  if (!hasHost) raw.unshift('host', u.host);
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const cr = (https ? httpsRequest : httpRequest)({
    protocol: u.protocol,
    hostname,
    port: u.port,
    path: u.pathname + u.search,
    method,
    headers: raw,
    agent: https ? agents.https : agents.http,
  });
  let connectTimer: NodeJS.Timeout | undefined;
  let responseTimer: NodeJS.Timeout | undefined;
  let answered = false;
  cr.setTimeout(t.idleMs, () => onTimeout(timeoutError('socket', t.idleMs)));
  cr.once('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    connectTimer = setTimeout(() => onTimeout(timeoutError('connect', t.connectMs)), t.connectMs);
    socket.once(https ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
  });
  cr.once('finish', () => {
    if (!answered) responseTimer = setTimeout(() => onTimeout(timeoutError('response', t.responseMs)), t.responseMs);
  });
  cr.once('response', () => {
    answered = true;
    clearTimeout(responseTimer);
  });
  const disarm = () => {
    clearTimeout(connectTimer);
    clearTimeout(responseTimer);
  };
  return { cr, disarm };
}

/**
 * Which HTTP client carries the requests: node:http (the default) or undici (`CLOUDREVE_SYNC_HTTP=undici`, loaded only
 * then: transport-undici.ts), read once at start. Both keep the contract of this file; the bench compares them.
 */
const VIA_UNDICI = process.env.CLOUDREVE_SYNC_HTTP === 'undici';
let undici: typeof import('./transport-undici.js') | undefined;
let loadingUndici: Promise<typeof import('./transport-undici.js')> | undefined;
function viaUndici() {
  return (loadingUndici ??= import('./transport-undici.js').then(
    (m) => (undici = m),
    (err: unknown) => {
      // undici is not a dependency of the app (node:http won the A/B): a checkout has it, an installed app may not
      throw new TransportError('RequestError', `CLOUDREVE_SYNC_HTTP=undici: undici could not be loaded (${(err as Error).message}); unset it to use node:http`, 'ERR_UNDICI_MISSING', undefined, { cause: err });
    },
  ));
}

/** Closes the pooled connections of `agents` (the undici pools made for them too). */
export function closeAgents(agents: TransportRequest['agents']): void {
  agents.http.destroy();
  agents.https.destroy();
  undici?.closeUndici(agents);
}

/** Sends one request and reads the whole answer as text. Rejects with a TransportError or node's own error. */
export function send(url: string | URL, req: TransportRequest): Promise<TransportResponse> {
  if (VIA_UNDICI) return undici ? undici.send(url, req) : viaUndici().then((m) => m.send(url, req));
  return sendNode(url, req);
}

function sendNode(url: string | URL, req: TransportRequest): Promise<TransportResponse> {
  return new Promise<TransportResponse>((resolve, reject) => {
    const headers: Record<string, string | number> = req.headers; // the request's own: content-length etc. are added to it
    if (headers['accept-encoding'] === undefined) headers['accept-encoding'] = ACCEPT_ENCODING;
    const body = req.body;
    const fixed = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.isBuffer(body) ? body : undefined;
    if (fixed) headers['content-length'] = fixed.length;
    else if (body === undefined && req.method !== 'GET' && req.method !== 'HEAD') headers['content-length'] = 0;
    const stream = fixed || body === undefined ? undefined : (body as Readable);

    const t = req.timeouts;
    let settled = false;
    let answer: IncomingMessage | undefined;
    let total: NodeJS.Timeout | undefined;

    const end = () => {
      settled = true;
      clearTimeout(total);
      disarm();
      req.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      end();
      if (stream) stream.unpipe();
      answer?.destroy();
      cr.destroy();
      reject(err);
    };
    const done = (res: TransportResponse) => {
      if (settled) return;
      end();
      // answered before the whole body went out: this connection is mid-request, so it cannot serve another one
      if (!cr.writableFinished) cr.destroy();
      resolve(res);
    };
    const onAbort = () => fail(abortError());
    if (req.signal?.aborted) return reject(abortError());
    const { cr, disarm } = begin(url, req.method, headers, req.agents, t, fail);
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (t.totalMs !== undefined) total = setTimeout(() => fail(timeoutError('request', t.totalMs!)), t.totalMs);

    cr.on('error', (err) => {
      // the server may answer (and close) before it read the whole body: the answer counts, not the broken write
      if (answer) return;
      fail(err);
    });

    cr.once('response', (res) => {
      answer = res;
      if (stream && !stream.readableEnded) stream.unpipe();
      const cap = req.maxResponseBytes ?? Infinity;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > cap) {
        return fail(new TransportError('ResponseTooLarge', `the answer is ${declared} bytes`, 'ERR_RESPONSE_TOO_LARGE'));
      }
      const dec = decoder(res.headers['content-encoding'] as string | undefined);
      const src: Readable = dec ? res.pipe(dec) : res;
      if (dec) {
        dec.on('error', (err) => fail(err));
      }
      const chunks: Buffer[] = [];
      let n = 0;
      src.on('data', (c: Buffer) => {
        n += c.length;
        if (n > cap) return fail(new TransportError('ResponseTooLarge', `the answer is more than ${cap} bytes`, 'ERR_RESPONSE_TOO_LARGE'));
        chunks.push(c);
      });
      src.once('end', () => {
        const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, n).toString('utf8');
        done({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      });
      res.once('aborted', () => fail(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' })));
      res.once('error', (err) => fail(err));
    });

    if (stream) {
      let sent = 0;
      const onProgress = req.onUploadProgress;
      if (onProgress) {
        stream.on('data', (c: Buffer) => {
          sent += c.length;
          onProgress(sent);
        });
      }
      stream.once('error', (err) => {
        if (!answer) fail(new TransportError('UploadError', (err as Error).message, (err as { code?: string }).code ?? 'ERR_UPLOAD', undefined, { cause: err }));
      });
      stream.pipe(cr);
    } else {
      cr.end(fixed);
      if (fixed && req.onUploadProgress) {
        const cb = req.onUploadProgress;
        const len = fixed.length;
        cr.once('finish', () => cb(len));
      }
    }
  });
}

/**
 * Opens a streamed answer (Server-Sent Events): resolves once the headers arrived, with the raw (undecoded) body
 * stream; the caller reads it and destroys it when done. While it is open, `idleMs` without a byte ends it with a
 * `TimeoutError` (event `socket`), so a silent dead connection is noticed.
 */
export function open(url: string | URL, req: Omit<TransportRequest, 'body' | 'maxResponseBytes' | 'onUploadProgress'>): Promise<{ status: number; headers: IncomingHttpHeaders; stream: IncomingMessage }> {
  if (VIA_UNDICI) return undici ? undici.open(url, req) : viaUndici().then((m) => m.open(url, req));
  return openNode(url, req);
}

function openNode(url: string | URL, req: Omit<TransportRequest, 'body' | 'maxResponseBytes' | 'onUploadProgress'>): Promise<{ status: number; headers: IncomingHttpHeaders; stream: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const t = req.timeouts;
    let settled = false;
    const fail = (err: unknown) => {
      disarm();
      if (!settled) {
        settled = true;
        req.signal?.removeEventListener('abort', onAbort);
        reject(err);
      }
      cr.destroy(err as Error);
    };
    const onAbort = () => fail(abortError());
    if (req.signal?.aborted) return reject(abortError());
    const { cr, disarm } = begin(url, req.method, req.headers, req.agents, t, fail);
    req.signal?.addEventListener('abort', onAbort, { once: true });
    cr.on('error', (err) => fail(err));
    cr.once('response', (res) => {
      settled = true;
      // after this, an abort or a stall ends the stream itself: its reader sees the error or the end
      req.signal?.removeEventListener('abort', onAbort);
      req.signal?.addEventListener('abort', () => res.destroy(abortError()), { once: true });
      cr.removeAllListeners('timeout');
      cr.setTimeout(t.idleMs, () => res.destroy(timeoutError('socket', t.idleMs)));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, stream: res });
    });
    cr.end();
  });
}
