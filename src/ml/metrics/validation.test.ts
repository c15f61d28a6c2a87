import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../infra/errors.js';
import { kFold, takeRows, trainTestSplit } from './validation.js';

const y = Int32Array.from({ length: 150 }, (_, i) => (i < 100 ? 0 : i < 130 ? 1 : 2));

test('a stratified 80/20 split keeps the class proportions and partitions the rows', () => {
  const s = trainTestSplit(150, { testFraction: 0.2, seed: 0, stratify: { y, classCount: 3 } });
  assert.equal(s.test.length, 30);
  assert.equal(s.train.length, 120);
  const counts = [0, 0, 0];
  for (const i of s.test) counts[y[i]!]!++;
  assert.deepEqual(counts, [20, 6, 4]);
  const all = [...s.train, ...s.test].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 150 }, (_, i) => i));
  assert.deepEqual(trainTestSplit(150, { testFraction: 0.2, seed: 0, stratify: { y, classCount: 3 } }), s);
  assert.notDeepEqual(trainTestSplit(150, { testFraction: 0.2, seed: 1, stratify: { y, classCount: 3 } }).test, s.test);
});

test('an unstratified split takes ceil(fraction · n) test rows', () => {
  const s = trainTestSplit(101, { testFraction: 0.25, seed: 2 });
  assert.equal(s.test.length, 26);
  assert.throws(() => trainTestSplit(10, { testFraction: 1 }), InvalidInputError);
});

test('k folds partition the rows; stratified folds balance the classes', () => {
  const folds = kFold(150, 5, { seed: 0, stratify: { y, classCount: 3 } });
  assert.equal(folds.length, 5);
  const seen = new Uint8Array(150);
  for (const f of folds) {
    assert.equal(f.test.length, 30);
    assert.equal(f.train.length, 120);
    const c = [0, 0, 0];
    for (const i of f.test) { seen[i]!++; c[y[i]!]!++; }
    assert.deepEqual(c, [20, 6, 4]);
  }
  assert.ok(seen.every((v) => v === 1));
  const plain = kFold(11, 3, { shuffle: false });
  assert.deepEqual(plain.map((f) => Array.from(f.test)), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]);
  assert.throws(() => kFold(5, 1), InvalidInputError);
});

test('takeRows picks rows of a row-major matrix', () => {
  const m = Float64Array.from([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(takeRows(m, 2, Int32Array.from([2, 0]))), [5, 6, 1, 2]);
});
