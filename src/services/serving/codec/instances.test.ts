import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../../infra/errors.js';
import { feedsToV2, instancesToFeeds, outputRoles, toPredictions, v2InputsToFeeds } from './instances.js';
import type { Signature } from '../../../ml/signature.js';

const tabular: Signature = {
  inputs: [
    { name: 'age', type: 'number', tensor: 'features', index: 0, nullable: true },
    { name: 'income', type: 'integer', tensor: 'features', index: 1, nullable: false },
    { name: 'member', type: 'boolean', tensor: 'features', index: 2, nullable: false },
    { name: 'city', type: 'category', tensor: 'categories', index: 0, nullable: false },
    { name: 'note', type: 'text', tensor: 'categories', index: 1, nullable: true },
  ],
  tensors: [
    { name: 'features', dtype: 'float32', shape: [-1, 3] },
    { name: 'categories', dtype: 'string', shape: [-1, 2] },
  ],
  outputs: [
    { name: 'label', dtype: 'int64', shape: [-1] },
    { name: 'probabilities', dtype: 'float32', shape: [-1, 2] },
  ],
  task: 'classification',
  labels: ['no', 'yes'],
};

const image: Signature = {
  inputs: [], tensors: [{ name: 'pixels', dtype: 'float32', shape: [-1, 2, 2, 1] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 3] }], task: 'other',
};

function rejects(fn: () => unknown, code: string, details: Record<string, unknown>): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, String(err));
    assert.equal(err.code, code, err.message);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(err.details?.[k], v, `${k} in ${JSON.stringify(err.details)}`);
    return true;
  });
}

test('objects keyed by column fill features [N, F] and categories [N, K] in signature order', () => {
  const { feeds, rows } = instancesToFeeds(tabular, [
    { age: 31.5, income: 5000, member: true, city: 'Oslo', note: 'hi' },
    { age: null, income: 7, member: 0, city: 42 },
  ], { impute: true });
  assert.equal(rows, 2);
  assert.deepEqual(feeds.features!.dims, [2, 3]);
  const f = Array.from(feeds.features!.data as Float32Array);
  assert.deepEqual(f.slice(0, 3), [31.5, 5000, 1]);
  assert.ok(Number.isNaN(f[3]));
  assert.deepEqual(f.slice(4), [7, 0]);
  assert.deepEqual(feeds.categories!.dims, [2, 2]);
  assert.deepEqual(feeds.categories!.data, ['Oslo', 'hi', '42', '']);
});

test('a missing column, a wrong type and NaN-like values are 422s naming row and column', () => {
  const ok = { age: 1, income: 2, member: true, city: 'a', note: null };
  rejects(() => instancesToFeeds(tabular, [ok, { age: 1, member: true, city: 'a' }], { impute: true }), 'missing_column', { row: 1, column: 'income' });
  rejects(() => instancesToFeeds(tabular, [{ ...ok, age: 'old' }]), 'invalid_value', { row: 0, column: 'age' });
  rejects(() => instancesToFeeds(tabular, [{ ...ok, member: 'yes' }]), 'invalid_value', { row: 0, column: 'member' });
  rejects(() => instancesToFeeds(tabular, [{ ...ok, city: ['a'] }]), 'invalid_value', { row: 0, column: 'city' });
  rejects(() => instancesToFeeds(tabular, [{ ...ok, income: true }]), 'invalid_value', { row: 0, column: 'income' });
  rejects(() => instancesToFeeds(tabular, [ok, [1, 2]]), 'invalid_row', { row: 1 });
  rejects(() => instancesToFeeds(tabular, []), 'invalid_instances', {});
  rejects(() => instancesToFeeds(tabular, [[1, 2, 3]]), 'invalid_instances', {});
});

test('an absent column is refused unless imputation is asked for; an unknown one always, with the closest name', () => {
  const ok = { age: 1, income: 2, member: true, city: 'a', note: 'n' };
  const { note: _, ...noNote } = ok;
  const { age: __, ...noAge } = ok;
  rejects(() => instancesToFeeds(tabular, [ok, noNote]), 'missing_column', { row: 1, column: 'note' });
  rejects(() => instancesToFeeds(tabular, [noAge]), 'missing_column', { row: 0, column: 'age' });
  const imputed = instancesToFeeds(tabular, [noAge, noNote], { impute: true });
  assert.ok(Number.isNaN((imputed.feeds.features!.data as Float32Array)[0]), 'absent age goes in as NaN, which the graph imputes');
  assert.deepEqual(imputed.feeds.categories!.data, ['a', 'n', 'a', '']);
  // null is an explicit missing value: allowed where the column may be missing, without `impute`.
  assert.equal(instancesToFeeds(tabular, [{ ...ok, age: null, note: null }]).rows, 1);
  rejects(() => instancesToFeeds(tabular, [{ ...ok, incme: 3 }]), 'unknown_column', { row: 0, column: 'incme', suggestion: 'income' });
  rejects(() => instancesToFeeds(tabular, [ok, { ...ok, Age: 3 }], { impute: true }), 'unknown_column', { row: 1, column: 'Age', suggestion: 'age' });
  rejects(() => instancesToFeeds(tabular, [{ ...ok, zzzzzz: 3 }]), 'unknown_column', { row: 0, column: 'zzzzzz', suggestion: undefined });
});

test('values a float32 cannot hold are refused naming row and column, on every reader', () => {
  const ok = { age: 1, income: 2, member: true, city: 'a', note: 'n' };
  for (const v of [1e39, -1e39, 3.5e38]) {
    rejects(() => instancesToFeeds(tabular, [ok, { ...ok, income: v }]), 'invalid_value', { row: 1, column: 'income' });
  }
  assert.equal((instancesToFeeds(tabular, [{ ...ok, income: 3.4e38 }]).feeds.features!.data as Float32Array)[1], Math.fround(3.4e38));
  const numeric: Signature = { ...tabular, inputs: tabular.inputs.slice(0, 3), tensors: [tabular.tensors[0]!] };
  rejects(() => instancesToFeeds(numeric, [[1, 2, 3], [1, -1e39, 3]]), 'invalid_value', { row: 1, column: 'income' });
  rejects(() => instancesToFeeds(image, [[1, 2, 3, 1e39]]), 'invalid_value', { row: 0, column: 'pixels[3]' });
  rejects(() => v2InputsToFeeds(tabular, [
    { name: 'features', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 1e39, 6] },
    { name: 'categories', shape: [2, 2], datatype: 'BYTES', data: ['a', 'b', 'c', 'd'] },
  ]), 'invalid_value', { row: 1, column: 'features' });
  const f64: Signature = { ...numeric, tensors: [{ name: 'features', dtype: 'float64', shape: [-1, 3] }] };
  assert.equal((instancesToFeeds(f64, [[1, 1e39, 3]]).feeds.features!.data as Float64Array)[1], 1e39, 'a float64 input holds it');
});

test('wrong nesting is refused, and no nesting depth overflows the stack', () => {
  const numeric: Signature = { ...tabular, inputs: tabular.inputs.slice(0, 3), tensors: [tabular.tensors[0]!] };
  rejects(() => instancesToFeeds(numeric, [[[1, 2, 3]]]), 'invalid_shape', { row: 0, column: 'features' });
  rejects(() => instancesToFeeds(numeric, [[1, 2, 3], [[1, 2, 3]]]), 'invalid_shape', { row: 1, column: 'features' });
  rejects(() => instancesToFeeds(numeric, [1, 2, 3]), 'invalid_shape', { row: 0, column: 'features' });
  rejects(() => instancesToFeeds(image, [[[1, 2], [3, 4]]]), 'invalid_shape', { row: 0, column: 'pixels' });
  rejects(() => instancesToFeeds(image, [[[[[1]], [2]], [[3], [4]]]]), 'invalid_shape', { row: 0, column: 'pixels' });
  let deep: unknown = 1;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  rejects(() => instancesToFeeds(numeric, [deep]), 'invalid_shape', { row: 0 });
  rejects(() => instancesToFeeds(image, [deep]), 'invalid_shape', { row: 0 });
  rejects(() => instancesToFeeds(tabular, [{ age: 1, income: 2, member: true, city: deep, note: 'n' }]), 'invalid_value', { row: 0, column: 'city' });
  rejects(() => v2InputsToFeeds(image, [{ name: 'pixels', shape: [1, 2, 2, 1], datatype: 'FP32', data: deep }]), 'invalid_shape', { column: 'pixels' });
  rejects(() => v2InputsToFeeds(image, [{ name: 'pixels', shape: [1, 4], datatype: 'FP32', data: [[1, 2], [3, 4]] }]), 'invalid_shape', { column: 'pixels' });
  const sig: Signature = { inputs: [], task: 'other', outputs: [], tensors: [{ name: 'ids', dtype: 'int64', shape: [-1, 2] }] };
  rejects(() => instancesToFeeds(sig, [{ ids: deep }]), 'invalid_shape', { row: 0, column: 'ids' });
});

test('Open Inference Protocol: an input given twice, or a misspelled one, is refused', () => {
  const f = { name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] };
  const c = { name: 'categories', shape: [1, 2], datatype: 'BYTES', data: ['a', 'b'] };
  rejects(() => v2InputsToFeeds(tabular, [f, c, f]), 'duplicate_input', { column: 'features' });
  const age = { name: 'age', shape: [1], datatype: 'FP32', data: [1] };
  rejects(() => v2InputsToFeeds(tabular, [age, age]), 'duplicate_input', { column: 'age' });
  rejects(() => v2InputsToFeeds(tabular, [{ ...f, name: 'featuers' }, c]), 'unknown_input', { column: 'featuers', suggestion: 'features' });
  rejects(() => v2InputsToFeeds(tabular, [age, c]), 'invalid_inputs', { column: 'categories' });
});

test('arrays of numbers feed the single numeric input, flat or nested, and are checked per row', () => {
  const numeric: Signature = { ...tabular, inputs: tabular.inputs.slice(0, 3), tensors: [tabular.tensors[0]!] };
  const { feeds } = instancesToFeeds(numeric, [[1, 2, 3], [4, null, 6]].map((r, i) => (i === 1 ? [4, 5, 6] : r)));
  assert.deepEqual(Array.from(feeds.features!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  // null is allowed where the column is nullable (age is index 0), refused elsewhere, naming the column.
  const withNull = instancesToFeeds(numeric, [[null, 2, 3]]);
  assert.ok(Number.isNaN((withNull.feeds.features!.data as Float32Array)[0]));
  rejects(() => instancesToFeeds(numeric, [[1, null, 3]]), 'invalid_value', { row: 0, column: 'income' });
  rejects(() => instancesToFeeds(numeric, [[1, 2, 3], [1, 2]]), 'invalid_shape', { row: 1, column: 'features' });
  rejects(() => instancesToFeeds(numeric, [[1, 2, 'x']]), 'invalid_value', { row: 0, column: 'member' });

  const img = instancesToFeeds(image, [[[[1], [2]], [[3], [4]]], [5, 6, 7, 8]]);
  assert.deepEqual(img.feeds.pixels!.dims, [2, 2, 2, 1]);
  assert.deepEqual(Array.from(img.feeds.pixels!.data as Float32Array), [1, 2, 3, 4, 5, 6, 7, 8]);
  rejects(() => instancesToFeeds(image, [[1, 2, 3]]), 'invalid_shape', { row: 0, column: 'pixels' });
});

test('imported graphs take objects keyed by input name', () => {
  const sig: Signature = {
    inputs: [], task: 'other', outputs: [],
    tensors: [{ name: 'ids', dtype: 'int64', shape: [-1, 2] }, { name: 'flag', dtype: 'bool', shape: [-1] }],
  };
  const { feeds } = instancesToFeeds(sig, [{ ids: [1, 2], flag: true }, { ids: [3, 4], flag: 0 }]);
  assert.deepEqual(Array.from(feeds.ids!.data as BigInt64Array, Number), [1, 2, 3, 4]);
  assert.deepEqual(feeds.ids!.dims, [2, 2]);
  assert.deepEqual(Array.from(feeds.flag!.data as Uint8Array), [1, 0]);
  rejects(() => instancesToFeeds(sig, [{ ids: [1, 2] }]), 'missing_column', { row: 0, column: 'flag' });
  rejects(() => instancesToFeeds(sig, [{ ids: [1, 2.5], flag: true }]), 'invalid_value', { row: 0, column: 'ids' });
});

test('Open Inference Protocol inputs: tensors by graph input, or raw columns by name', () => {
  const t = v2InputsToFeeds(tabular, [
    { name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
    { name: 'categories', shape: [1, 2], datatype: 'BYTES', data: [['a', 'b']] },
  ]);
  assert.deepEqual(t.feeds.categories!.data, ['a', 'b']);
  const c = v2InputsToFeeds(tabular, [
    { name: 'age', shape: [2], datatype: 'FP64', data: [1, 2] },
    { name: 'income', shape: [2, 1], datatype: 'INT64', data: [[3], [4]] },
    { name: 'member', shape: [2], datatype: 'BOOL', data: [true, false] },
    { name: 'city', shape: [2], datatype: 'BYTES', data: ['x', 'y'] },
  ], { impute: true });
  assert.equal(c.rows, 2);
  assert.deepEqual(Array.from(c.feeds.features!.data as Float32Array), [1, 3, 1, 2, 4, 0]);
  rejects(() => v2InputsToFeeds(tabular, [{ name: 'features', shape: [1, 3], datatype: 'INT64', data: [1, 2, 3] }, { name: 'categories', shape: [1, 2], datatype: 'BYTES', data: ['a', 'b'] }]), 'invalid_datatype', { column: 'features' });
  rejects(() => v2InputsToFeeds(tabular, [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }, { name: 'categories', shape: [1, 2], datatype: 'BYTES', data: ['a', 'b'] }]), 'invalid_shape', { column: 'features' });
  rejects(() => v2InputsToFeeds(tabular, [{ name: 'features', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 'x', 6] }, { name: 'categories', shape: [2, 2], datatype: 'BYTES', data: ['a', 'b', 'c', 'd'] }]), 'invalid_value', { row: 1, column: 'features' });
  rejects(() => v2InputsToFeeds(tabular, [{ name: 'age', shape: [1], datatype: 'FP32', data: [1] }, { name: 'income', shape: [1], datatype: 'FP32', data: [1] }, { name: 'member', shape: [1], datatype: 'BOOL', data: [true] }], { impute: true }), 'missing_column', { row: 0, column: 'city' });
  rejects(() => v2InputsToFeeds(tabular, [{ name: 'age', shape: [1], datatype: 'FP32', data: [1] }, { name: 'income', shape: [1], datatype: 'FP32', data: [1] }, { name: 'member', shape: [1], datatype: 'BOOL', data: [true] }, { name: 'city', shape: [1], datatype: 'BYTES', data: ['x'] }]), 'missing_column', { row: 0, column: 'note' });
  rejects(() => v2InputsToFeeds(tabular, [{ name: 'nope', shape: [1], datatype: 'FP32', data: [1] }]), 'unknown_input', { column: 'nope' });
});

test('outputs become predictions with labels, and OIP outputs with datatypes', () => {
  const outputs = {
    label: { dtype: 'int64' as const, dims: [2], data: BigInt64Array.from([1n, 0n]) },
    probabilities: { dtype: 'float32' as const, dims: [2, 2], data: Float32Array.from([0.25, 0.75, 0.5, 0.5]) },
  };
  assert.deepEqual(toPredictions(tabular, outputRoles(tabular), outputs, 2), [
    { probabilities: [0.25, 0.75], label: 'yes' },
    { probabilities: [0.5, 0.5], label: 'no' },
  ]);
  // An imported classifier with probabilities only: the label is the argmax.
  const imported: Signature = { inputs: [], tensors: [], task: 'classification', outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, 2] }] };
  assert.deepEqual(toPredictions(imported, outputRoles(imported), { probs: outputs.probabilities }, 2).map((p) => p.label), [1, 0]);
  const regression: Signature = { inputs: [], tensors: [], task: 'regression', outputs: [{ name: 'value', dtype: 'float32', shape: [-1, 1] }] };
  assert.deepEqual(toPredictions(regression, outputRoles(regression), { value: { dtype: 'float32', dims: [2, 1], data: Float32Array.from([1.5, -2]) } }, 2), [{ value: 1.5 }, { value: -2 }]);
  assert.deepEqual(feedsToV2(outputs, ['label']), [{ name: 'label', datatype: 'INT64', shape: [2], data: [1, 0] }]);
});
