import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signatureFromMetadata, signatureToMetadata } from './signature-metadata.js';
import type { Signature, SignatureInput } from './signature.js';

const pixels: SignatureInput[] = Array.from({ length: 784 }, (_, i) => ({ name: `pixel${i}`, type: 'integer', tensor: 'features', index: i, nullable: false }));
const sig: Signature = {
  inputs: [
    { name: 'age', type: 'number', tensor: 'features', index: 0, nullable: true },
    ...pixels.map((p) => ({ ...p, index: p.index + 1 })),
    { name: 'x1', type: 'number', tensor: 'features', index: 785, nullable: false },
    { name: 'x2', type: 'number', tensor: 'features', index: 786, nullable: false },
    { name: 'city', type: 'category', tensor: 'categories', index: 0, nullable: true, categories: ['a', 'b'] },
  ],
  tensors: [{ name: 'features', dtype: 'float32', shape: [-1, 787] }, { name: 'categories', dtype: 'string', shape: [-1, 1] }],
  outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
  task: 'classification', labels: ['0', '1'],
};

test('runs of numbered columns are written as one range and read back column by column', () => {
  const text = signatureToMetadata(sig);
  assert.ok(text.length < 1000, `${text.length} characters for 788 columns`);
  assert.equal(JSON.parse(text).inputs.length, 5, 'age, the pixel range, x1, x2 (a run of two stays as it is), city');
  assert.deepEqual(signatureFromMetadata(text), sig);
});

test('the one-entry-per-column form of older artifacts still reads', () => {
  assert.deepEqual(signatureFromMetadata(JSON.stringify(sig)), sig);
});

test('a run that breaks (a gap in the numbers, another type) is split where it breaks', () => {
  const inputs: SignatureInput[] = [0, 1, 2, 4, 5, 6].map((n, index) => ({ name: `c${n}`, type: n === 6 ? 'number' : 'integer', tensor: 'features', index, nullable: false }));
  const s: Signature = { ...sig, inputs };
  const stored = JSON.parse(signatureToMetadata(s)).inputs;
  assert.deepEqual(stored.map((i: { name?: string; columns?: { count: number } }) => i.name ?? i.columns!.count), [3, 'c4', 'c5', 'c6']);
  assert.deepEqual(signatureFromMetadata(signatureToMetadata(s)), s);
});
