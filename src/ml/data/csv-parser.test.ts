import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsvParser, type CsvRecordSink } from './csv-parser.js';

/** Parses `text` fed in chunks of `size` bytes; returns records as string arrays with their start line. */
function parse(text: string | Buffer, size = 1 << 20): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  const sink: CsvRecordSink = {
    field(index, buf, start, end) {
      assert.equal(index, fields.length);
      fields.push(buf.toString('utf8', start, end));
    },
    endRecord(count, line) {
      assert.equal(count, fields.length);
      records.push({ line, fields });
      fields = [];
    },
  };
  const parser = new CsvParser(sink);
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  for (let i = 0; i < buf.length; i += size) parser.push(buf.subarray(i, i + size));
  parser.end();
  return records;
}

const TRICKY =
  'id,text,n\r\n' +
  '1,"hello, world",2\r\n' +
  '2,"line one\nline two",3\n' +
  '3,"she said ""hi""",4\r\n' +
  '4,"",\n' +
  '\n' +
  '5,"é ü 漢字 😀","""quoted"""\r\n' +
  '6,"ends with quote""",7\r\n' +
  '7,a"b,8\n' +
  '8,"x" ,9\n' +
  '9,last,10';

const EXPECTED = [
  { line: 1, fields: ['id', 'text', 'n'] },
  { line: 2, fields: ['1', 'hello, world', '2'] },
  { line: 3, fields: ['2', 'line one\nline two', '3'] },
  { line: 5, fields: ['3', 'she said "hi"', '4'] },
  { line: 6, fields: ['4', '', ''] },
  { line: 8, fields: ['5', 'é ü 漢字 😀', '"quoted"'] },
  { line: 9, fields: ['6', 'ends with quote"', '7'] },
  { line: 10, fields: ['7', 'a"b', '8'] },
  { line: 11, fields: ['8', 'x', '9'] },
  { line: 12, fields: ['9', 'last', '10'] },
];

test('RFC 4180: quotes, escaped quotes, commas and newlines in quotes, CRLF/LF, blank lines', () => {
  assert.deepEqual(parse(TRICKY), EXPECTED);
});

test('the result does not depend on how the input is chunked', () => {
  for (const size of [1, 2, 3, 5, 7, 16, 61]) assert.deepEqual(parse(TRICKY, size), EXPECTED, `chunk size ${size}`);
});

test('CR-only line ends and a CRLF split across chunks', () => {
  assert.deepEqual(
    parse('a,b\r1,2\r3,4').map((r) => r.fields),
    [['a', 'b'], ['1', '2'], ['3', '4']],
  );
  assert.deepEqual(
    parse('a,b\r\n1,2\r\n', 4).map((r) => r.fields),
    [['a', 'b'], ['1', '2']],
  );
});

test('trailing empty fields and a final record without newline', () => {
  assert.deepEqual(
    parse('a,b,\n,,').map((r) => r.fields),
    [['a', 'b', ''], ['', '', '']],
  );
  assert.deepEqual(
    parse('"a"').map((r) => r.fields),
    [['a']],
  );
});

test('quote errors name the line', () => {
  assert.throws(() => parse('a,b\n1,"abc\n2,3\n'), { code: 'unterminated_quote', details: { line: 2 } });
  assert.throws(() => parse('a,b\n1,2\n"x"y,1\n'), { code: 'invalid_quote', details: { line: 3, column: 1 } });
});
