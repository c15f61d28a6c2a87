import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ErrorKind } from '../../infra/errors.js';
import { openColumnar, type ColumnProfile } from './ingest.js';
import { chunked, EXAMPLES, gzip, ingest, rejectsWith, tempDir } from '../testing/data-testkit.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  tmp = await tempDir();
});
after(async () => {
  await tmp.cleanup();
});

const byName = (columns: ColumnProfile[]) => Object.fromEntries(columns.map((c) => [c.name, c]));

test('iris: 150 rows, 4 numbers and a 3-class species', async () => {
  const r = await ingest(tmp.dir, { file: 'iris.csv' });
  assert.equal(r.rows, 150);
  assert.equal(r.bytes, 4009);
  assert.equal(r.gzip, false);
  assert.deepEqual(
    r.columns.map((c) => [c.name, c.type]),
    [
      ['sepal_length', 'number'],
      ['sepal_width', 'number'],
      ['petal_length', 'number'],
      ['petal_width', 'number'],
      ['species', 'category'],
    ],
  );
  const c = byName(r.columns);
  assert.equal(c.sepal_length.min, 4.3);
  assert.equal(c.sepal_length.max, 7.9);
  assert.equal(c.sepal_length.distinct, 35);
  assert.ok(Math.abs(c.sepal_length.mean! - 5.843333) < 1e-6);
  assert.ok(Math.abs(c.sepal_length.std! - 0.828066) < 1e-6); // sample std, as pandas describe()
  assert.equal(c.sepal_length.histogram!.counts.length, 20);
  assert.equal(c.sepal_length.histogram!.edges.length, 21);
  assert.equal(c.sepal_length.histogram!.edges[0], 4.3);
  assert.equal(c.sepal_length.histogram!.edges[20], 7.9);
  assert.equal(
    c.sepal_length.histogram!.counts.reduce((a, b) => a + b, 0),
    150,
  );
  assert.equal(c.species.distinct, 3);
  assert.deepEqual(c.species.topValues, [
    { value: 'setosa', count: 50 },
    { value: 'versicolor', count: 50 },
    { value: 'virginica', count: 50 },
  ]);
  assert.equal(c.species.missing, 0);
  assert.equal(c.species.min, undefined);
});

test('loans: missing values, categories, yes/no target, duplicate rows kept', async () => {
  const r = await ingest(tmp.dir, { file: 'loans.csv' });
  assert.equal(r.rows, 5100); // 100 duplicate rows are data: dropping them is a preprocessing step
  const c = byName(r.columns);
  assert.equal(c.age.type, 'integer'); // written as 57.0 by pandas because of the missing values
  assert.equal(c.age.missing, 246);
  assert.equal(c.age.min, 21);
  assert.equal(c.age.max, 74);
  assert.equal(c.age.distinct, 54);
  assert.equal(c.credit_score.type, 'integer');
  assert.equal(c.credit_score.missing, 211);
  assert.equal(c.income.type, 'number');
  assert.equal(c.income.max, 121923517.41);
  assert.equal(c.employment.type, 'category');
  assert.equal(c.employment.missing, 143);
  assert.deepEqual(c.employment.topValues, [
    { value: 'salaried', count: 2916 },
    { value: 'self_employed', count: 1010 },
    { value: 'retired', count: 533 },
    { value: 'unemployed', count: 498 },
  ]);
  assert.equal(c.late_payments.type, 'integer');
  assert.deepEqual(c.late_payments.histogram, { edges: [0, 1, 2, 3, 4, 5, 6, 7], counts: [2278, 1811, 785, 186, 32, 7, 1] });
  assert.equal(c.default.type, 'category');
  assert.deepEqual(c.default.topValues, [
    { value: 'yes', count: 3353 },
    { value: 'no', count: 1747 },
  ]);
  assert.equal(c.purpose.distinct, 6);

  const reader = await openColumnar(r.path);
  try {
    const rows = await reader.rows(4, 2); // file lines 6 and 7; line 7 has no age
    assert.deepEqual(rows[1], {
      age: null,
      income: 49383.12,
      employment: 'self_employed',
      home_ownership: 'mortgage',
      loan_amount: 32465.34,
      credit_score: 688,
      late_payments: 0,
      purpose: 'debt_consolidation',
      default: 'no',
    });
    const age = await reader.column('age');
    assert.ok('values' in age);
    assert.equal(age.values.length, 5100);
    assert.equal(age.values.filter(Number.isNaN).length, 246);
    assert.equal(age.values[0], 57);
    const target = await reader.column('default');
    assert.ok('codes' in target);
    assert.deepEqual(target.dictionary, ['yes', 'no']);
    assert.equal(target.codes.filter((x) => x === 0).length, 3353);
  } finally {
    await reader.close();
  }
});

test('diabetes: all numeric, regression target', async () => {
  const r = await ingest(tmp.dir, { file: 'diabetes.csv' });
  assert.equal(r.rows, 442);
  assert.equal(r.columns.length, 11);
  const c = byName(r.columns);
  assert.ok(r.columns.every((col) => col.type === 'number' || col.type === 'integer'));
  assert.equal(c.sex.type, 'integer');
  assert.equal(c.sex.distinct, 2);
  assert.deepEqual(c.sex.histogram, { edges: [1, 2, 3], counts: [235, 207] });
  assert.equal(c.s5.type, 'number');
  assert.equal(c.s5.min, 3.2581);
  assert.equal(c.s5.max, 6.107);
  assert.equal(c.progression.min, 25);
  assert.equal(c.progression.max, 346);
  assert.equal(c.progression.distinct, 214);
});

// Its speed is measured by `npm run bench:ingest`, not here: a test must pass on a busy machine.
test('mnist: 8000 x 785 gzipped integers', async () => {
  const r = await ingest(tmp.dir, { file: 'mnist_train.csv.gz' });
  assert.equal(r.gzip, true);
  assert.equal(r.bytes, 1689506);
  assert.equal(r.decompressedBytes, 14612750);
  assert.equal(r.rows, 8000);
  assert.equal(r.columns.length, 785);
  assert.ok(r.columns.every((c) => c.type === 'integer' && c.missing === 0));
  const label = r.columns[0];
  assert.equal(label.name, 'label');
  assert.equal(label.distinct, 10);
  assert.deepEqual(label.histogram!.counts, [791, 914, 791, 832, 786, 698, 795, 863, 743, 787]);
  assert.ok(r.columns.every((c) => c.min! >= 0 && c.max! <= 255));
  assert.ok(r.columnarBytes < 8000 * 785 * 4 + 1_000_000, 'integers stored as Float32 (Float64 would be 50 MB)');

  const reader = await openColumnar(r.path);
  try {
    const page = await reader.rows(0, 200);
    assert.equal(page.length, 200);
    assert.equal(page[0].label, 5);
    assert.equal(Object.keys(page[0]).length, 785);
    const pixel = await reader.column('pixel350');
    assert.ok('values' in pixel);
    assert.equal(pixel.values.length, 8000);
    const fromRows = (await reader.rows(7990, 50)).map((row) => row.pixel350);
    assert.equal(fromRows.length, 10);
    assert.deepEqual(fromRows, Array.from(pixel.values.subarray(7990)));
  } finally {
    await reader.close();
  }
});

test('mnist test split ingests too', async () => {
  const r = await ingest(tmp.dir, { file: 'mnist_test.csv.gz' });
  assert.equal(r.rows, 2000);
  assert.equal(r.columns.length, 785);
});

test('gzip is detected by magic bytes, whatever the chunking', async () => {
  const csv = readFileSync(join(EXAMPLES, 'iris.csv'));
  const gz = gzip(csv);
  for (const chunkSize of [1, 100, 1 << 20]) {
    const r = await ingest(tmp.dir, gz, { chunkSize });
    assert.equal(r.gzip, true);
    assert.equal(r.bytes, gz.length);
    assert.equal(r.decompressedBytes, csv.length);
    assert.equal(r.rows, 150);
    assert.equal(byName(r.columns).species.distinct, 3);
  }
});

test('BOM, CRLF, quoted commas and newlines, missing-value tokens', async () => {
  const csv =
    '\uFEFFid,note,score,flag,answer\r\n' +
    '1,"a, b",1.5,TRUE,yes\r\n' +
    '2,"multi\r\nline",NA,false,no\r\n' +
    '3,"say ""hi""",N/A,,yes\r\n' +
    '4,plain,null,True,no\r\n' +
    '5,,NULL,NA,yes\r\n' +
    '6,x,NaN,false,no\r\n' +
    '7,y,nan,FALSE,yes\r\n' +
    '8,z,-2,true,no\r\n';
  for (const chunkSize of [1, 3, 1 << 16]) {
    const r = await ingest(tmp.dir, csv, { chunkSize });
    const c = byName(r.columns);
    assert.deepEqual(Object.keys(c), ['id', 'note', 'score', 'flag', 'answer']); // no BOM in the first name
    assert.equal(r.rows, 8);
    assert.equal(c.score.type, 'number');
    assert.equal(c.score.missing, 6);
    assert.equal(c.score.min, -2);
    assert.equal(c.flag.type, 'boolean');
    assert.equal(c.flag.missing, 2);
    assert.deepEqual(c.flag.topValues, [
      { value: true, count: 3 }, // a tie: true first
      { value: false, count: 3 },
    ]);
    assert.equal(c.answer.type, 'category');
    assert.equal(c.note.missing, 1);
    const reader = await openColumnar(r.path);
    const rows = await reader.rows(0, 3);
    await reader.close();
    assert.deepEqual(rows, [
      { id: 1, note: 'a, b', score: 1.5, flag: true, answer: 'yes' },
      { id: 2, note: 'multi\r\nline', score: null, flag: false, answer: 'no' },
      { id: 3, note: 'say "hi"', score: null, flag: null, answer: 'yes' },
    ]);
  }
});

test('a numeric-looking column that turns into text keeps its original strings', async () => {
  const rows = Array.from({ length: 100 }, (_, i) => `${i},${i}.0`).join('\n');
  const r = await ingest(tmp.dir, `a,b\n${rows}\nx,7\n`);
  const c = byName(r.columns);
  assert.equal(c.a.type, 'text'); // 101 distinct of 101 values
  assert.equal(c.b.type, 'integer'); // "99.0" and "7" are both integral values
  const reader = await openColumnar(r.path);
  const page = await reader.rows(99, 5);
  await reader.close();
  assert.deepEqual(page, [
    { a: '99', b: 99 },
    { a: 'x', b: 7 },
  ]);
});

test('JSONL: union of keys in first-seen order, absent keys missing, blank lines ignored', async () => {
  const jsonl = [
    '{"id": 1, "name": "ann", "score": 3.5, "ok": true}',
    '',
    '{"id": 2, "score": null, "ok": false, "tags": ["a", "b"]}',
    '   ',
    '{"name": "cy", "id": "3", "extra": "NA", "ok": true}\r',
    '{"id": 4, "name": "di", "toString": 1}',
  ].join('\n');
  for (const chunkSize of [1, 7, 1 << 16]) {
    const r = await ingest(tmp.dir, jsonl, { format: 'jsonl', chunkSize });
    assert.equal(r.rows, 4);
    assert.deepEqual(
      r.columns.map((c) => [c.name, c.type, c.missing]),
      [
        ['id', 'integer', 0],
        ['name', 'category', 1],
        ['score', 'number', 3],
        ['ok', 'boolean', 1],
        ['tags', 'category', 3],
        ['extra', 'text', 4],
        ['toString', 'integer', 3],
      ],
    );
    const reader = await openColumnar(r.path);
    const rows = await reader.rows(0, 10);
    await reader.close();
    assert.deepEqual(rows[1], { id: 2, name: null, score: null, ok: false, tags: '["a","b"]', extra: null, toString: null });
    assert.deepEqual(rows[2], { id: 3, name: 'cy', score: null, ok: true, tags: null, extra: null, toString: null });
  }
});

test('JSONL gzipped', async () => {
  const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ x: i, y: i % 3 === 0 ? 'a' : 'b' })).join('\n');
  const r = await ingest(tmp.dir, gzip(lines), { format: 'jsonl', chunkSize: 333 });
  assert.equal(r.gzip, true);
  assert.equal(r.rows, 1000);
  assert.equal(byName(r.columns).y.distinct, 2);
});

test('bad CSV input is rejected with the line number, and nothing is left behind', async () => {
  const before = (await tmp.files()).length;
  const cases: [string | Buffer, ErrorKind, string, Record<string, unknown>][] = [
    ['a,b,c\n1,2,3\n4,5\n', 'malformed_input', 'ragged_row', { line: 3, fields: 2, expected: 3 }],
    ['a,b\n"x\ny",1\n1,2,3\n', 'malformed_input', 'ragged_row', { line: 4, fields: 3, expected: 2 }],
    ['a,b\r\n1,2\r\n\r\n3\r\n', 'malformed_input', 'ragged_row', { line: 4, fields: 1 }],
    ['a,b\n1,"abc\n2,3\n', 'malformed_input', 'unterminated_quote', { line: 2 }],
    ['a,b\n1,2\n"x"y,1\n', 'malformed_input', 'invalid_quote', { line: 3 }],
    ['', 'invalid_input', 'empty_file', {}],
    ['\n\r\n\n', 'invalid_input', 'empty_file', {}],
    ['\uFEFF', 'invalid_input', 'empty_file', {}],
    ['a,b\n', 'invalid_input', 'no_rows', { line: 1 }],
    ['a,b', 'invalid_input', 'no_rows', { line: 1 }],
    ['a,b,a\n1,2,3\n', 'invalid_input', 'duplicate_column', { column: 'a', positions: [1, 3], line: 1 }],
    ['a, ,c\n1,2,3\n', 'invalid_input', 'empty_column_name', { position: 2, line: 1 }],
    [`${Array.from({ length: 10_001 }, (_, i) => `c${i}`).join(',')}\n`, 'invalid_input', 'too_many_columns', { limit: 10_000 }],
    [Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]), 'malformed_input', 'invalid_utf8', { line: 3 }],
    [Buffer.concat([Buffer.from('a,b\n1,"x\ny"\n3,4\n5,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]), 'malformed_input', 'invalid_utf8', { line: 5 }],
    [Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0xe6, 0xbc])]), 'malformed_input', 'invalid_utf8', { line: 2 }], // truncated at the end
  ];
  for (const [input, kind, code, details] of cases) {
    for (const chunkSize of input.length < 1000 ? [1, 4, 1 << 16] : [1000, 1 << 16]) {
      await rejectsWith(ingest(tmp.dir, input, { chunkSize }), kind, code, details);
    }
  }
  // the same errors through gzip
  await rejectsWith(ingest(tmp.dir, gzip('a,b,c\n1,2,3\n4,5\n')), 'malformed_input', 'ragged_row', { line: 3 });
  assert.equal((await tmp.files()).length, before, 'no columnar or spool file left');
});

test('valid multi-byte UTF-8 split across chunks is accepted', async () => {
  const r = await ingest(tmp.dir, 'city,n\nZürich,1\n東京,2\n😀,3\n', { chunkSize: 1 });
  const reader = await openColumnar(r.path);
  const col = await reader.column('city');
  await reader.close();
  assert.ok('codes' in col);
  assert.deepEqual(col.dictionary, ['Zürich', '東京', '😀']);
});

test('bad JSONL input is rejected with the line number', async () => {
  const jsonl = { format: 'jsonl' as const };
  await rejectsWith(ingest(tmp.dir, '{"a": 1}\n\n{"a": \n', jsonl), 'malformed_input', 'invalid_json', { line: 3 });
  await rejectsWith(ingest(tmp.dir, '{"a": 1}\r\n[1, 2]\r\n', jsonl), 'malformed_input', 'not_an_object', { line: 2, got: 'array' });
  await rejectsWith(ingest(tmp.dir, '{"a": 1}\nnull\n', jsonl), 'malformed_input', 'not_an_object', { line: 2, got: 'null' });
  await rejectsWith(ingest(tmp.dir, '{"a": 1}\n{"": 2}\n', jsonl), 'invalid_input', 'empty_column_name', { line: 2 });
  await rejectsWith(ingest(tmp.dir, '\n  \n', jsonl), 'invalid_input', 'empty_file');
  await rejectsWith(ingest(tmp.dir, '{}\n{}\n', jsonl), 'invalid_input', 'no_columns');
  await rejectsWith(ingest(tmp.dir, Buffer.concat([Buffer.from('{"a": 1}\n{"a": "'), Buffer.from([0xff]), Buffer.from('"}\n')]), jsonl), 'malformed_input', 'invalid_utf8', {
    line: 2,
  });
});

test('size limits: raw bytes, decompressed bytes, broken gzip', async () => {
  const csv = readFileSync(join(EXAMPLES, 'iris.csv'));
  await rejectsWith(ingest(tmp.dir, csv, { maxBytes: 1000, chunkSize: 100 }), 'too_large', 'payload_too_large', { limit: 1000 });
  const gz = gzip(csv);
  await rejectsWith(ingest(tmp.dir, gz, { maxBytes: 10_000, maxDecompressedBytes: 2000 }), 'too_large', 'payload_too_large', { decompressed: true });
  const broken = Buffer.concat([gz.subarray(0, 10), Buffer.alloc(50, 7)]);
  await rejectsWith(ingest(tmp.dir, broken), 'malformed_input', 'invalid_gzip');
  await rejectsWith(ingest(tmp.dir, gz.subarray(0, gz.length - 20)), 'malformed_input', 'invalid_gzip'); // truncated
  assert.equal((await tmp.files()).filter((f) => f.includes('spool')).length, 0);
});

test('the input stream is not destroyed on error', async () => {
  let returned = false;
  const source = chunked('a,b\n1,2,3\n4,5\n', 4);
  const input: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: () => source.next(),
      return: async () => {
        returned = true;
        return { done: true, value: undefined };
      },
    }),
  };
  await rejectsWith(
    (async () => {
      const { ingestDataset } = await import('./ingest.js');
      return ingestDataset(input, { format: 'csv', maxBytes: 1000, columnarPath: tmp.path('kept-input.col') });
    })(),
    'malformed_input',
    'ragged_row',
  );
  assert.equal(returned, false);
});

test('an unknown format is a 400', async () => {
  await rejectsWith(ingest(tmp.dir, 'a\n1\n', { format: 'xml' as 'csv' }), 'malformed_input', 'invalid_format');
});
