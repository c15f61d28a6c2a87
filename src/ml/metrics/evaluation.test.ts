import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadExampleSplit } from '../testing/example-data.js';
import { crossValidateModel, fitModel, permutationImportanceModel } from '../estimators/index.js';
import { crossValidate } from './cross-validation.js';
import { permutationImportance } from './importance.js';
import type { Matrix } from '../core/matrix.js';

test('crossValidate fits once per fold and aggregates mean and std', () => {
  const x: Matrix = { data: Float64Array.from({ length: 20 }, (_, i) => i), rows: 20, cols: 1 };
  const seen: number[] = [];
  const r = crossValidate(x, { task: 'regression', y: new Float64Array(20) }, (train, test, fold) => {
    seen.push(fold);
    assert.equal(train.x.rows + test.x.rows, 20);
    return { size: test.x.rows, fold };
  }, { folds: 4 });
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.equal(r.mean.size, 5);
  assert.equal(r.std.size, 0);
  assert.equal(r.mean.fold, 1.5);
});

test('5-fold cross-validation of logistic regression on iris', () => {
  const { dataset } = loadExampleSplit('iris');
  const r = crossValidateModel({ kind: 'logistic_regression' }, dataset.x, dataset.target, { folds: 5 });
  assert.equal(r.folds.length, 5);
  assert.ok(r.mean.accuracy! >= 0.9, `mean accuracy ${r.mean.accuracy}`);
  assert.ok(r.std.accuracy! < 0.1);
  assert.ok('f1' in r.mean && 'logLoss' in r.mean);
});

test('permutation importance: an unused feature scores 0, the one the score depends on scores high', () => {
  const n = 200;
  const data = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) { data[i * 2] = i; data[i * 2 + 1] = (i * 37) % 11; }
  const x: Matrix = { data, rows: n, cols: 2 };
  // "Model": predicts row i correctly iff column 0 still holds i.
  const score = (m: Matrix) => {
    let ok = 0;
    for (let i = 0; i < m.rows; i++) if (m.data[i * 2] === i) ok++;
    return ok / m.rows;
  };
  const r = permutationImportance(x, score, { nRepeats: 3, seed: 0 });
  assert.equal(r.baseline, 1);
  assert.ok(r.features[0]!.mean > 0.9);
  assert.equal(r.features[1]!.mean, 0);
  assert.equal(r.features[0]!.drops.length, 3);
  assert.deepEqual(Array.from(x.data.subarray(0, 4)), [0, 0, 1, 4], 'the input matrix is left untouched');
});

test('permutation importance of a forest on iris ranks petal measurements first', () => {
  const { train, test: held } = loadExampleSplit('iris');
  const state = fitModel({ kind: 'random_forest', nEstimators: 30 }, train.x, train.target);
  const r = permutationImportanceModel(state, held.x, held.target, { nRepeats: 5 });
  const order = r.features.slice().sort((a, b) => b.mean - a.mean).map((f) => f.feature);
  assert.ok(order.slice(0, 2).every((f) => f === 2 || f === 3), `order ${order}`);
});
