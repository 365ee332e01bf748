/**
 * Server-Sent Events parser (WHATWG "event stream interpretation"), used for `/api/v4/file/events`.
 * Pure: feed it text, take out events. Handles LF, CRLF and CR line ends split anywhere across chunks,
 * multi-line `data:`, comments, `id:` and `retry:`. A single line longer than `maxLineBytes` is an error
 * (a server gone wrong must not eat our memory).
 */
import { EngineError } from '../errors.js';

export interface SseMessage {
  /** `message` when the server gave no `event:` field */
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

export class SseParser {
  private buf = '';
  private pendingCR = false;
  private data: string[] = [];
  private event = '';
  private lastId: string | undefined;
  private retry: number | undefined;
  private readonly maxLineBytes: number;

  constructor(opts: { maxLineBytes?: number } = {}) {
    this.maxLineBytes = opts.maxLineBytes ?? 1 << 20;
  }

  /** Adds text; returns the events completed by it. */
  push(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    let start = 0;
    let i = 0;
    // A CR at the very end of the previous chunk may be the first half of CRLF.
    if (this.pendingCR && text.startsWith('\n')) {
      start = 1;
      i = 1;
    }
    this.pendingCR = false;
    for (; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      this.line(this.buf + text.slice(start, i), out);
      this.buf = '';
      if (ch === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
    }
    this.buf += text.slice(start);
    if (this.buf.length > this.maxLineBytes) {
      this.buf = '';
      throw new EngineError('bad-response', `event stream: a line is longer than ${this.maxLineBytes} bytes`);
    }
    return out;
  }

  /** At end of stream: an unterminated event is discarded (per the standard). */
  end(): SseMessage[] {
    this.buf = '';
    this.data = [];
    this.event = '';
    return [];
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        const msg: SseMessage = { event: this.event || 'message', data: this.data.join('\n') };
        if (this.lastId !== undefined) msg.id = this.lastId;
        if (this.retry !== undefined) msg.retry = this.retry;
        out.push(msg);
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return; // comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // ignored per the standard
    }
  }
}

/** Parses an event stream from an async iterable of chunks (Buffer or string). */
export async function* parseSse(chunks: AsyncIterable<Buffer | string>, opts: { maxLineBytes?: number } = {}): AsyncGenerator<SseMessage> {
  const parser = new SseParser(opts);
  const decoder = new TextDecoder('utf-8');
  for await (const c of chunks) {
    const text = typeof c === 'string' ? c : decoder.decode(c, { stream: true });
    for (const m of parser.push(text)) yield m;
  }
  const tail = decoder.decode();
  if (tail) for (const m of parser.push(tail)) yield m;
  parser.end();
}
