/** csvRecords: whole records as strings, from chunks cut anywhere (the CLI's predict reads rows with it). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvRecords } from './csv-parser.js';
import { chunked } from '../testing/data-testkit.js';

test('quoted commas, quotes and newlines, CRLF and blank lines; the same records for every chunk size', async () => {
  const text = 'name,note\r\n"Smith, J","said ""hi""\nthen left"\r\n\r\nplain,\n';
  const expected = [['name', 'note'], ['Smith, J', 'said "hi"\nthen left'], ['plain', '']];
  for (const size of [1, 2, 5, 1024]) {
    const records: string[][] = [];
    for await (const r of csvRecords(chunked(text, size))) records.push(r);
    assert.deepEqual(records, expected, `chunks of ${size} bytes`);
  }
});

test('a malformed file is the ingest path\'s error, with its line', async () => {
  const read = async () => { for await (const _ of csvRecords(chunked('a,b\n"x"y,1\n'))) { /* drain */ } };
  await assert.rejects(read, /Line 2, column 1: a quoted field is followed by more text/);
});
