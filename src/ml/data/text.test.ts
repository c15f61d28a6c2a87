/** Text data: format=text corpora (one row per line) and the profile of text columns, in any script. */
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openColumnar } from './ingest.js';
import { profileTokens } from './text-profile.js';
import { EXAMPLES, gzip, ingest, rejectsWith, tempDir } from '../testing/data-testkit.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  tmp = await tempDir();
});
after(async () => {
  await tmp.cleanup();
});

const codePoints = (s: string) => [...s].length;

test('a text corpus: every line a row of column text, literal, blank lines kept, CRLF stripped', async () => {
  const lines = ['In the beginning', '12', 'NA', '', 'true', '  spaced  ', 'naïve café', '中文没有空格', 'emoji 😀👍🏽'];
  const body = lines.slice(0, 4).join('\r\n') + '\r\n' + lines.slice(4).join('\n'); // no final newline
  for (const chunkSize of [1, 7, 1 << 16]) {
    const r = await ingest(tmp.dir, body, { format: 'text', chunkSize });
    assert.equal(r.rows, lines.length);
    assert.equal(r.columns.length, 1);
    const [c] = r.columns;
    assert.equal(c.name, 'text');
    assert.equal(c.type, 'text', 'numbers, NA and true on a line are text');
    assert.equal(c.missing, 1, 'the blank line');
    const reader = await openColumnar(r.path);
    const rows = await reader.rows(0, 100);
    await reader.close();
    assert.deepEqual(rows.map((row) => row.text), lines.map((l) => (l === '' ? null : l)));
  }
});

test('a final newline does not add a row; a repeated-line corpus is still text, not a category', async () => {
  const r = await ingest(tmp.dir, 'a\nb\na\na\n', { format: 'text' });
  assert.equal(r.rows, 4);
  assert.equal(r.columns[0].type, 'text');
  assert.deepEqual(r.columns[0].topValues, [{ value: 'a', count: 3 }, { value: 'b', count: 1 }]);
});

test('text profile: lengths in code points, characters, tokens without a whitespace assumption', async () => {
  const lines = ['中文没有空格', 'The cat, the CAT.', '😀😀 ok'];
  const r = await ingest(tmp.dir, lines.join('\n') + '\n', { format: 'text' });
  const t = r.columns[0].text!;
  assert.deepEqual([t.length.min, t.length.max], [5, 17]);
  assert.equal(t.length.mean, (6 + 17 + 5) / 3);
  assert.equal(t.length.histogram.counts.reduce((a, b) => a + b, 0), 3);
  assert.equal(t.characters, new Set(lines.join('')).size);
  // 6 Han characters, the/cat/the/cat, two emoji and "ok"
  assert.equal(t.tokens, 6 + 4 + 3);
  assert.deepEqual(t.topTokens.slice(0, 3), [{ token: 'the', count: 2 }, { token: 'cat', count: 2 }, { token: '😀', count: 2 }]);
  assert.equal(t.vocabulary, 6 + 2 + 2);
  assert.deepEqual(profileTokens('Ünïcödé 東京タワー 123abc, x-y'), ['ünïcödé', '東', '京', 'タ', 'ワ', 'ー', '123abc', 'x', 'y']);
});

test('text columns in CSV and JSONL get the same text profile; categories do not', async () => {
  const texts = Array.from({ length: 40 }, (_, i) => `quote number ${i}, 第${i}句`);
  const csv = 'text,topic\n' + texts.map((t, i) => `"${t}",${i % 2 ? 'a' : 'b'}`).join('\n') + '\n';
  const jsonl = texts.map((t, i) => JSON.stringify({ text: t, topic: i % 2 ? 'a' : 'b' })).join('\n');
  const fromCsv = await ingest(tmp.dir, csv);
  const fromJsonl = await ingest(tmp.dir, jsonl, { format: 'jsonl' });
  assert.equal(fromCsv.columns[0].type, 'text');
  assert.equal(fromCsv.columns[1].type, 'category');
  assert.equal(fromCsv.columns[1].text, undefined);
  assert.deepEqual(fromCsv.columns[0].text, fromJsonl.columns[0].text);
  const t = fromCsv.columns[0].text!;
  assert.equal(t.length.min, Math.min(...texts.map(codePoints)));
  assert.equal(t.length.max, Math.max(...texts.map(codePoints)));
  assert.equal(t.topTokens[0].count, 40); // quote / number / 第 / 句 each 40 times
});

test('beyond 100k distinct lines (stored raw, no dictionary) the profile is still exact', async () => {
  const lines = Array.from({ length: 100_050 }, (_, i) => `line ${i} ${'字'.repeat(i % 7)}`);
  const r = await ingest(tmp.dir, gzip(lines.join('\n')), { format: 'text' });
  const c = r.columns[0];
  assert.equal(c.distinctCapped, true);
  const t = c.text!;
  const lengths = lines.map(codePoints);
  assert.equal(t.length.min, Math.min(...lengths));
  assert.equal(t.length.max, Math.max(...lengths));
  assert.ok(Math.abs(t.length.mean - lengths.reduce((a, b) => a + b, 0) / lines.length) < 1e-9);
  const han = lines.reduce((sum, _, i) => sum + (i % 7), 0);
  assert.deepEqual(t.topTokens.slice(0, 2), [{ token: '字', count: han }, { token: 'line', count: lines.length }]);
  assert.equal(t.vocabularyCapped, true, '100k numbers + line + 字 exceed the token cap');
});

test('kjv.txt.gz: 31,102 verses, the bytes as in the original file', async () => {
  const r = await ingest(tmp.dir, { file: 'kjv.txt.gz' }, { format: 'text' });
  assert.equal(r.rows, 31_102);
  assert.equal(r.gzip, true);
  const original = gunzipSync(readFileSync(join(EXAMPLES, 'kjv.txt.gz'))).toString('utf8');
  assert.equal(r.decompressedBytes, Buffer.byteLength(original));
  const t = r.columns[0].text!;
  assert.equal(t.topTokens[0].token, 'the');
  const reader = await openColumnar(r.path);
  const col = await reader.column('text');
  await reader.close();
  assert.equal(col.type, 'text');
  if (col.type !== 'text') return;
  const joined = Array.from(col.codes, (code) => (code < 0 ? '' : col.dictionary[code])).join('\n') + '\n';
  assert.equal(joined, original, 'rows joined by newlines give the file back');
});

test('an empty text file is rejected; bad UTF-8 names its line', async () => {
  await rejectsWith(ingest(tmp.dir, '', { format: 'text' }), 'invalid_input', 'empty_file');
  await rejectsWith(ingest(tmp.dir, Buffer.from([0x61, 0x0a, 0x62, 0xff, 0x0a]), { format: 'text' }), 'malformed_input', 'invalid_utf8', { line: 2 });
});
