import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, parseSse } from '../../../main/engine/api/sse.js';
import { EngineError } from '../../../main/engine/errors.js';

const STREAM =
  ': hello\r\n' +
  'event: subscribed\r\ndata: {"ok":true}\r\n\r\n' +
  'event: event\ndata: {"type":"create","file_id":"ab","from":"/a b.txt"}\n\n' +
  'event: keep-alive\rdata:\r\r' +
  'data: line1\ndata: line2\nid: 7\nretry: 3000\n\n' +
  'event: ignored-no-data\n\n' +
  'data: unterminated';

const EXPECTED = [
  { event: 'subscribed', data: '{"ok":true}' },
  { event: 'event', data: '{"type":"create","file_id":"ab","from":"/a b.txt"}' },
  { event: 'keep-alive', data: '' },
  { event: 'message', data: 'line1\nline2', id: '7', retry: 3000 },
];

test('SSE: whole stream at once', () => {
  const p = new SseParser();
  const out = p.push(STREAM);
  assert.deepEqual(out, EXPECTED);
  assert.deepEqual(p.end(), []);
});

test('SSE: the same stream split at every position (CRLF split across chunks too)', () => {
  for (let cut = 1; cut < STREAM.length; cut++) {
    const p = new SseParser();
    const out = [...p.push(STREAM.slice(0, cut)), ...p.push(STREAM.slice(cut))];
    assert.deepEqual(out, EXPECTED, `cut at ${cut}`);
  }
});

test('SSE: byte-by-byte UTF-8 through parseSse', async () => {
  const bytes = Buffer.from('event: event\ndata: {"from":"/фото/日本.jpg"}\n\n');
  async function* chunks() {
    for (const b of bytes) yield Buffer.from([b]);
  }
  const out = [];
  for await (const m of parseSse(chunks())) out.push(m);
  assert.deepEqual(out, [{ event: 'event', data: '{"from":"/фото/日本.jpg"}' }]);
});

test('SSE: an endless line is an error, not a memory leak', () => {
  const p = new SseParser({ maxLineBytes: 1000 });
  assert.throws(() => {
    for (let i = 0; i < 10; i++) p.push('x'.repeat(500));
  }, (e: EngineError) => e.code === 'bad-response');
});
