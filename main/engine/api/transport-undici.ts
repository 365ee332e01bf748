/**
 * transport.ts's two requests (`send`, `open`) on undici instead of node:http, for the A/B of issue 18
 * (`CLOUDREVE_SYNC_HTTP=undici`). Same contract, same failures (TransportError in got's shape, node's own codes for a
 * refused or reset connection), same timeouts:
 *  - `connectMs`: the undici Agent's connect timeout (one Agent per caller's pool and connect limit; undici keeps one
 *    Pool per origin inside it: the master, each storage node, each vendor endpoint);
 *  - `idleMs`: undici's `bodyTimeout` for the answer, its headers timeout (refreshed by every write) while the body goes
 *    out into a full socket, and a timer of our own for a streamed body that stops giving bytes;
 *  - `responseMs`: the wait for the answer's headers (undici's `headersTimeout`; node:http's idle timer also runs
 *    then, so the shorter of the two applies, as before);
 *  - `totalMs`: a timer of our own that aborts the request.
 * The request goes through `Dispatcher.dispatch` with a handler of our own (the layer `undici.request` is written on):
 * the answer is collected into one Buffer without a stream in between, and the upload progress comes from undici's
 * `onBodySent`. A streamed body is handed to undici as an async iterable, so that a failure of the connection never
 * destroys the caller's stream with that error (the callers read an error on their stream as "the file could not be
 * read").
 */
import type { Agent as UndiciAgent, Dispatcher } from 'undici';
// undici's Agent alone (its pools, clients and HTTP/1.1 parser), not its index: that loads fetch, WebSocket, caches and
// more, about four times the code to load at the start of every CLI run that makes a request
// @ts-expect-error: a module of the package without its own type declarations (the types are undici's index's)
import AgentModule from 'undici/lib/dispatcher/agent.js';
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { ACCEPT_ENCODING, abortError, decoder, timeoutError, TransportError, type TimeoutEvent, type TransportRequest, type TransportResponse } from './transport-shared.js';

const Agent = AgentModule as typeof UndiciAgent;
type Agent = UndiciAgent;

type Agents = TransportRequest['agents'];


/** One undici Agent per node agent pair (a caller's pool) and connect timeout. */
const pools = new WeakMap<Agents, Map<number, Agent>>();

function dispatcherFor(agents: Agents, connectMs: number): Agent {
  let byConnect = pools.get(agents);
  if (!byConnect) pools.set(agents, (byConnect = new Map()));
  let agent = byConnect.get(connectMs);
  if (!agent) {
    // as many connections per origin as the node agent allows sockets (32 to the master, 64 to storage); no pipelining
    const max = (agents.http as { maxSockets?: number }).maxSockets;
    agent = new Agent({ connections: Number.isFinite(max) ? max : null, pipelining: 1, connect: { timeout: connectMs } });
    byConnect.set(connectMs, agent);
  }
  return agent;
}

/** Closes the undici pools made for `agents` (MasterHttp.close()). */
export function closeUndici(agents: Agents): void {
  const byConnect = pools.get(agents);
  if (!byConnect) return;
  pools.delete(agents);
  for (const a of byConnect.values()) void a.destroy().catch(() => undefined);
}

/** Raw header list → node's header object (lower-case names, repeated headers as arrays, set-cookie always one). */
function headersOf(raw: Buffer[] | string[] | null): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  if (!raw) return out;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toString().toLowerCase();
    const v = raw[i + 1].toString();
    const have = out[k];
    if (have === undefined) out[k] = k === 'set-cookie' ? [v] : v;
    else if (Array.isArray(have)) have.push(v);
    else out[k] = k === 'cookie' ? `${have}; ${v}` : `${have}, ${v}`;
  }
  return out as IncomingHttpHeaders;
}

/** undici's own failures as transport.ts shapes them; node's errors (ECONNREFUSED…) pass through. */
function shaped(err: unknown, t: TransportRequest['timeouts'], headersEvent: TimeoutEvent): unknown {
  if (err instanceof TransportError) return err;
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return timeoutError('connect', t.connectMs);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return timeoutError(headersEvent, headersEvent === 'response' ? t.responseMs : t.idleMs);
    case 'UND_ERR_BODY_TIMEOUT':
      return timeoutError('socket', t.idleMs);
    case 'UND_ERR_ABORTED':
      return abortError();
    case 'UND_ERR_SOCKET':
      // the peer closed or reset the connection mid-exchange: node:http calls that ECONNRESET
      return Object.assign(new Error('the connection closed before the answer was complete', { cause: err }), { code: 'ECONNRESET' });
    default:
      return err;
  }
}

interface Common {
  origin: string;
  path: string;
  headersTimeout: number;
  headersEvent: TimeoutEvent;
}

function common(url: string | URL, t: TransportRequest['timeouts']): Common {
  const u = typeof url === 'string' ? new URL(url) : url;
  // node:http's idle timer runs while the answer's headers are awaited too: the shorter limit applies, named as before
  const responseFirst = t.responseMs < t.idleMs;
  return { origin: u.origin, path: u.pathname + u.search, headersTimeout: responseFirst ? t.responseMs : t.idleMs, headersEvent: responseFirst ? 'response' : 'socket' };
}

/** Sends one request and reads the whole answer as text (transport.ts's send() on undici). */
export function send(url: string | URL, req: TransportRequest): Promise<TransportResponse> {
  return new Promise<TransportResponse>((resolve, reject) => {
    const headers: Record<string, string> = req.headers;
    if (headers['accept-encoding'] === undefined) headers['accept-encoding'] = ACCEPT_ENCODING;
    const body = req.body;
    const fixed = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.isBuffer(body) ? body : undefined;
    const stream = fixed || body === undefined ? undefined : (body as Readable);
    if (fixed) delete headers['content-length']; // undici writes the buffer's own
    else if (body === undefined && req.method !== 'GET' && req.method !== 'HEAD') headers['content-length'] = '0';
    const t = req.timeouts;
    if (req.signal?.aborted) return reject(abortError());
    const c = common(url, t);

    let settled = false;
    let abort: ((err: Error) => void) | undefined;
    let pending: Error | undefined;
    let total: NodeJS.Timeout | undefined;
    let idle: NodeJS.Timeout | undefined;
    let sourceError: unknown;
    let sent = 0;
    let lastMove = 0;
    let bodyDone = !stream;

    const stop = (err: Error) => {
      if (abort) abort(err);
      else pending = err;
    };
    const end = () => {
      settled = true;
      clearTimeout(total);
      clearTimeout(idle);
      req.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      end();
      if (stream && !stream.destroyed) stream.destroy();
      reject(err);
    };
    const onAbort = () => stop(abortError());
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (t.totalMs !== undefined) total = setTimeout(() => stop(timeoutError('request', t.totalMs!)), t.totalMs);

    let iterable: AsyncIterable<Buffer> | undefined;
    if (stream) {
      stream.once('error', (err) => {
        sourceError ??= err;
      });
      // nothing taken from the body for idleMs while it is still going out: the "no progress" rule of the socket
      lastMove = Date.now();
      const check = () => {
        if (settled || bodyDone) return;
        const quiet = Date.now() - lastMove;
        if (quiet >= t.idleMs) stop(timeoutError('socket', t.idleMs));
        else idle = setTimeout(check, t.idleMs - quiet);
      };
      idle = setTimeout(check, t.idleMs);
      iterable = { [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator]() as AsyncIterator<Buffer> };
    }

    let status = 0;
    let resHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let n = 0;
    const cap = req.maxResponseBytes ?? Infinity;
    let dec: ReturnType<typeof decoder> = null;
    let decoded: Promise<Buffer> | undefined;

    // onRequestSent (the body is all out) is called by undici's HTTP/1.1 client, though not in its types
    const handler = {
      onConnect(a: (err: Error) => void) {
        abort = a;
        if (pending) a(pending);
      },
      onBodySent(chunk: Buffer | number) {
        sent += typeof chunk === 'number' ? chunk : chunk.length;
        lastMove = Date.now();
        req.onUploadProgress?.(sent);
      },
      onRequestSent() {
        bodyDone = true;
        clearTimeout(idle);
      },
      onHeaders(statusCode: number, raw: Buffer[]) {
        if (statusCode < 200) return true;
        status = statusCode;
        resHeaders = headersOf(raw as Buffer[]);
        const declared = Number(resHeaders['content-length']);
        if (Number.isFinite(declared) && declared > cap) {
          stop(new TransportError('ResponseTooLarge', `the answer is ${declared} bytes`, 'ERR_RESPONSE_TOO_LARGE'));
          return false;
        }
        dec = decoder(resHeaders['content-encoding'] as string | undefined);
        if (dec) {
          const d = dec;
          decoded = new Promise<Buffer>((res, rej) => {
            const out: Buffer[] = [];
            let m = 0;
            d.on('data', (x: Buffer) => {
              m += x.length;
              if (m > cap) return rej(new TransportError('ResponseTooLarge', `the answer is more than ${cap} bytes`, 'ERR_RESPONSE_TOO_LARGE'));
              out.push(x);
            });
            d.once('end', () => res(Buffer.concat(out, m)));
            d.once('error', rej);
          });
          decoded.catch(() => undefined);
        }
        return true;
      },
      onData(chunk: Buffer) {
        n += chunk.length;
        if (!dec && n > cap) {
          stop(new TransportError('ResponseTooLarge', `the answer is more than ${cap} bytes`, 'ERR_RESPONSE_TOO_LARGE'));
          return false;
        }
        if (dec) dec.write(chunk);
        else chunks.push(chunk);
        return true;
      },
      onComplete() {
        if (fixed && !bodyDone) bodyDone = true;
        if (fixed && req.onUploadProgress && sent < fixed.length) req.onUploadProgress(fixed.length);
        if (decoded) {
          dec!.end();
          decoded.then(
            (b) => {
              if (settled) return;
              end();
              resolve({ status, headers: resHeaders, body: b.toString('utf8') });
            },
            (err) => fail(err),
          );
          return;
        }
        if (settled) return;
        end();
        const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, n).toString('utf8');
        resolve({ status, headers: resHeaders, body: text });
      },
      onError(err: Error) {
        dec?.destroy();
        if (sourceError !== undefined && !(err instanceof TransportError)) {
          const se = sourceError as { message?: string; code?: string };
          return fail(new TransportError('UploadError', se.message ?? 'error', se.code ?? 'ERR_UPLOAD', undefined, { cause: sourceError }));
        }
        fail(shaped(err, t, c.headersEvent));
      },
    } as Dispatcher.DispatchHandler;
    dispatcherFor(req.agents, t.connectMs).dispatch(
      {
        origin: c.origin,
        path: c.path,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: fixed ?? (iterable as unknown as Readable | undefined),
        headersTimeout: c.headersTimeout,
        bodyTimeout: t.idleMs,
      },
      handler,
    );
  });
}

/**
 * transport.ts's open() on undici: resolves once the headers arrived with the raw body as a stream; `idleMs` without a
 * byte ends it with a `TimeoutError` (event `socket`); an abort after that ends the stream with an `AbortError`.
 */
export function open(url: string | URL, req: Omit<TransportRequest, 'body' | 'maxResponseBytes' | 'onUploadProgress'>): Promise<{ status: number; headers: IncomingHttpHeaders; stream: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const t = req.timeouts;
    if (req.signal?.aborted) return reject(abortError());
    const c = common(url, t);
    let abort: ((err: Error) => void) | undefined;
    let pending: Error | undefined;
    let resume: (() => void) | undefined;
    let out: Readable | undefined;
    let finished = false;
    const stop = (err: Error) => {
      if (abort) abort(err);
      else pending = err;
    };
    const onAbort = () => stop(abortError());
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const handler: Dispatcher.DispatchHandler = {
      onConnect(a) {
        abort = a;
        if (pending) a(pending);
      },
      onHeaders(statusCode, raw, res) {
        if (statusCode < 200) return true;
        resume = res;
        out = new Readable({
          read() {
            resume?.();
          },
          destroy(err, cb) {
            req.signal?.removeEventListener('abort', onAbort);
            // the reader is done with it: the request ends (its connection is not reused mid-answer)
            if (!finished) stop(abortError());
            cb(err);
          },
        });
        resolve({ status: statusCode, headers: headersOf(raw as Buffer[]), stream: out as unknown as IncomingMessage });
        return true;
      },
      onData(chunk) {
        return out!.push(chunk);
      },
      onComplete() {
        finished = true;
        req.signal?.removeEventListener('abort', onAbort);
        out!.push(null);
      },
      onError(err) {
        finished = true;
        req.signal?.removeEventListener('abort', onAbort);
        const e = shaped(err, t, c.headersEvent) as Error;
        if (out) {
          if (!out.destroyed) out.destroy(e);
        } else reject(e);
      },
    };
    dispatcherFor(req.agents, t.connectMs).dispatch(
      { origin: c.origin, path: c.path, method: req.method as Dispatcher.HttpMethod, headers: req.headers, headersTimeout: c.headersTimeout, bodyTimeout: t.idleMs },
      handler,
    );
  });
}
