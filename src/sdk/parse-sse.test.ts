/** The SDK's event-stream reader, fed the chunkings and line forms a real stream can produce. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSse } from './client.js';
import type { JobEvent } from './types.js';

function stream(chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(typeof ch === 'string' ? enc.encode(ch) : ch);
      c.close();
    },
  });
}

async function read(chunks: Array<string | Uint8Array>, opts: { onRetry?: (ms: number) => void } = {}): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for await (const e of parseSse(stream(chunks), opts)) out.push(e);
  return out;
}

/** Every way to cut `text` in two, and byte by byte. */
function cuts(text: string): Array<Array<string | Uint8Array>> {
  const bytes = new TextEncoder().encode(text);
  const two = Array.from({ length: bytes.length - 1 }, (_, i) => [bytes.slice(0, i + 1), bytes.slice(i + 1)]);
  return [[text], ...two, Array.from(bytes, (b) => Uint8Array.of(b))];
}

test('CRLF, lone CR, comments, retry and a BOM; chunks cut anywhere give the same events', async () => {
  const text = '\uFEFFretry: 2000\r\n\r\n: keep-alive\r\nid: 1\r\nevent: status\r\ndata: {"status":"running"}\r\n\r\n'
    + 'id: 2\revent: log\rdata: {"line":"héllo ✓"}\r\r';
  const expected = [
    { id: 1, event: 'status', data: { status: 'running' } },
    { id: 2, event: 'log', data: { line: 'héllo ✓' } },
  ];
  for (const chunks of cuts(text)) {
    const retries: number[] = [];
    assert.deepEqual(await read(chunks, { onRetry: (ms) => retries.push(ms) }), expected, `chunks ${chunks.map((c) => JSON.stringify(typeof c === 'string' ? c : new TextDecoder().decode(c))).join(' | ')}`);
    assert.deepEqual(retries, [2000]);
  }
});

test('multi-line data joins with newlines; an event without id keeps the last one; no event name is "message"', async () => {
  const events = await read(['id: 7\nevent: metrics\ndata: {"loss":\ndata:  0.5}\n\n', 'data: plain\ndata: text\n\n']);
  assert.deepEqual(events, [
    { id: 7, event: 'metrics', data: { loss: 0.5 } },
    { id: 7, event: 'message', data: { text: 'plain\ntext' } },
  ]);
});

test('an event without data is not dispatched; one cut off before its blank line is dropped', async () => {
  assert.deepEqual(await read(['event: status\n\n', 'id: 3\nevent: log\ndata: {"line":"x"}\n']), []);
});
