import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { openColumnar, type ColumnarReader, type IngestResult } from './ingest.js';
import { ingest, rejectsWith, tempDir } from '../testing/data-testkit.js';

// 150k rows: more than one row group (at most 65,536 rows each) and more distinct names than the
// 100k dictionary cap, so `name` is stored as raw UTF-8.
const N = 150_000;
const COLORS = ['red', 'green', 'blue'];
const expectedRow = (i: number) => ({
  id: i,
  name: i % 1000 === 7 ? null : `name-${i}-ü`,
  x: i % 100 === 0 ? null : i * 0.25,
  flag: i % 3 === 0,
  color: COLORS[i % 3],
});

let tmp: Awaited<ReturnType<typeof tempDir>>;
let result: IngestResult & { path: string };
let reader: ColumnarReader;

before(async () => {
  tmp = await tempDir();
  const lines = ['id,name,x,flag,color'];
  for (let i = 0; i < N; i++) {
    const r = expectedRow(i);
    lines.push(`${i},${r.name ?? ''},${r.x ?? 'NA'},${r.flag ? 'true' : 'False'},${r.color}`);
  }
  result = await ingest(tmp.dir, lines.join('\n'));
  reader = await openColumnar(result.path);
});

after(async () => {
  await reader.close();
  await tmp.cleanup();
});

test('schema and profile of a large mixed table', () => {
  assert.equal(result.rows, N);
  assert.equal(reader.rowCount, N);
  assert.deepEqual(reader.columns, [
    { name: 'id', type: 'integer' },
    { name: 'name', type: 'text' },
    { name: 'x', type: 'number' },
    { name: 'flag', type: 'boolean' },
    { name: 'color', type: 'category' },
  ]);
  const [id, name, x, flag, color] = result.columns;
  assert.equal(id.distinct, N);
  assert.equal(id.min, 0);
  assert.equal(id.max, N - 1);
  assert.equal(name.missing, N / 1000);
  assert.equal(name.distinctCapped, true);
  assert.equal(name.distinct, 100_000);
  assert.equal(name.topValues!.length, 10);
  assert.equal(x.missing, N / 100);
  assert.equal(x.max, (N - 1) * 0.25);
  assert.equal(flag.topValues![0].value, false);
  assert.equal(flag.topValues![0].count, N - N / 3);
  assert.deepEqual(
    color.topValues!.map((t) => t.value),
    COLORS,
  );
  assert.deepEqual(reader.profiles, result.columns, 'profiles are stored in the file');
});

test('rows: pages across row-group boundaries, typed values, missing as null', async () => {
  for (const [offset, limit] of [
    [0, 3],
    [65_530, 12],
    [131_070, 4],
    [N - 2, 200],
  ]) {
    const rows = await reader.rows(offset, limit);
    const expected = Array.from({ length: Math.min(limit, N - offset) }, (_, k) => expectedRow(offset + k));
    assert.deepEqual(rows, expected, `rows(${offset}, ${limit})`);
  }
  assert.deepEqual(await reader.rows(N, 10), []);
  assert.deepEqual(await reader.rows(5, 0), []);
  await rejectsWith(reader.rows(-1, 10), 'malformed_input', 'invalid_range');
  await rejectsWith(reader.rows(0, 1.5), 'malformed_input', 'invalid_range');
});

test('columns: Float64 values with NaN, codes with dictionaries', async () => {
  const x = await reader.column('x');
  assert.ok('values' in x && x.type === 'number');
  assert.equal(x.values.length, N);
  for (const i of [0, 1, 65_535, 65_536, 99_999, N - 1]) {
    const e = expectedRow(i).x;
    if (e === null) assert.ok(Number.isNaN(x.values[i]));
    else assert.equal(x.values[i], e);
  }
  const id = await reader.column('id');
  assert.ok('values' in id);
  assert.ok(id.values.every((v, i) => v === i));

  const flag = await reader.column('flag');
  assert.ok('codes' in flag && flag.type === 'boolean');
  assert.deepEqual(flag.dictionary, ['false', 'true']);
  assert.ok(flag.codes.every((c, i) => c === (i % 3 === 0 ? 1 : 0)));

  const color = await reader.column('color');
  assert.ok('codes' in color);
  assert.deepEqual(color.dictionary, COLORS);
  assert.ok(color.codes.every((c, i) => c === i % 3));

  const name = await reader.column('name');
  assert.ok('codes' in name && name.type === 'text');
  assert.equal(name.dictionary.length, N - N / 1000);
  for (const i of [0, 7, 8, 65_536, N - 1]) {
    const e = expectedRow(i).name;
    assert.equal(name.codes[i] < 0 ? null : name.dictionary[name.codes[i]], e, `name[${i}]`);
  }

  await rejectsWith(reader.column('nope'), 'invalid_input', 'unknown_column', { column: 'nope' });
});

test('a Buffer holding the file reads the same as the file', async () => {
  const fromBuffer = await openColumnar(await readFile(result.path));
  assert.deepEqual(await fromBuffer.rows(65_534, 5), await reader.rows(65_534, 5));
  assert.deepEqual(await fromBuffer.column('x'), await reader.column('x'));
  await fromBuffer.close();
});

test('a damaged file is reported, not misread', async () => {
  const bytes = await readFile(result.path);
  const damaged = tmp.path('damaged.col');
  await writeFile(damaged, bytes.subarray(0, bytes.length - 100));
  await rejectsWith(openColumnar(damaged), 'internal', 'corrupt_dataset');
  await rejectsWith(openColumnar(Buffer.from('not a dataset at all, really not')), 'internal', 'corrupt_dataset');
});
