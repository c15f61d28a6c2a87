import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../infra/errors.js';
import { loadExampleSplit } from '../testing/example-data.js';
import { evaluateModel, fitModel, predict } from './index.js';
import { fitGradientBoosting } from './gradient-boosting.js';
import { onnxParity } from './onnx-verify.js';
import { Rng } from '../core/random.js';
import type { Matrix, Target, TreeEnsembleState } from './types.js';

test('gradient boosting on iris (multiclass softmax): ≥ 90% accuracy, ONNX parity', async () => {
  const { train, test: held } = loadExampleSplit('iris');
  const state = fitModel({ kind: 'gradient_boosting' }, train.x, train.target) as TreeEnsembleState;
  assert.equal(state.postTransform, 'softmax');
  assert.equal(state.trees.length, 300); // 100 iterations × 3 classes, no early stopping below 10,000 rows
  const m = evaluateModel(state, held.x, held.target) as { accuracy: number };
  assert.ok(m.accuracy >= 0.9, `accuracy ${m.accuracy}`);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  assert.equal(parity.labelMismatches.length - parity.nearTies, 0);
});

test('gradient boosting on loans with missing values (binary logistic): ≥ 70% accuracy, ONNX parity', async () => {
  const { train, test: held } = loadExampleSplit('loans');
  const state = fitModel({ kind: 'gradient_boosting' }, train.x, train.target) as TreeEnsembleState;
  assert.equal(state.postTransform, 'logistic');
  assert.equal(state.outputs, 1);
  const m = evaluateModel(state, held.x, held.target) as { accuracy: number; logLoss: number };
  assert.ok(m.accuracy >= 0.7, `accuracy ${m.accuracy}`);
  assert.ok(m.logLoss < 0.6, `logLoss ${m.logLoss}`);
  // Shrinking the learning rate to almost nothing leaves the baseline: the class prior.
  const flat = fitGradientBoosting(train.x, train.target, { maxIter: 1, learningRate: 1e-9 });
  const prior = (train.target.y as Int32Array).reduce((a, v) => a + v, 0) / train.x.rows;
  const p = predict(flat, held.x);
  assert.ok(p.task === 'classification' && Math.abs(p.probabilities[1]! - prior) < 1e-6);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  assert.equal(parity.labelMismatches.length - parity.nearTies, 0);
});

test('gradient boosting regression on diabetes: R² ≥ 0.35, ONNX parity', async () => {
  const { train, test: held } = loadExampleSplit('diabetes');
  const state = fitModel({ kind: 'gradient_boosting' }, train.x, train.target) as TreeEnsembleState;
  const m = evaluateModel(state, held.x, held.target) as { r2: number };
  assert.ok(m.r2 >= 0.35, `r2 ${m.r2}`);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
});

test('early stopping ends a fit that stopped improving; leaf limits hold', () => {
  // y = x0 + noise: a handful of trees captures it, then validation loss stalls.
  const rng = new Rng(3);
  const n = 2000;
  const data = new Float64Array(n * 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) data[i * 3 + j] = rng.float();
    y[i] = (data[i * 3]! > 0.5 ? 1 : 0) + 0.3 * rng.normal();
  }
  const x: Matrix = { data, rows: n, cols: 3 };
  const target: Target = { task: 'regression', y };
  const state = fitGradientBoosting(x, target, { earlyStopping: true, maxIter: 500, maxLeafNodes: 8 });
  const iterations = state.info.iterations as number;
  assert.ok(iterations < 200, `stopped after ${iterations}`);
  assert.equal(state.trees.length, iterations);
  for (const t of state.trees) assert.ok(t.feature.filter((f) => f < 0).length <= 8);
  const off = fitGradientBoosting(x, target, { earlyStopping: 'auto', maxIter: 30 });
  assert.equal(off.info.iterations, 30); // 'auto' is off below 10,000 rows
});

test('same data and seed give the same model', () => {
  const { train } = loadExampleSplit('iris');
  const a = fitGradientBoosting(train.x, train.target, { maxIter: 10, earlyStopping: true }, { seed: 1 });
  const b = fitGradientBoosting(train.x, train.target, { maxIter: 10, earlyStopping: true }, { seed: 1 });
  assert.deepEqual(a, b);
});

test('invalid parameters are InvalidInputErrors', () => {
  const { train } = loadExampleSplit('iris');
  const bad = (params: object, re: RegExp) => assert.throws(
    () => fitGradientBoosting(train.x, train.target, params as never), (e: unknown) => e instanceof InvalidInputError && re.test(e.message),
  );
  bad({ learningRate: 0 }, /'learningRate'/);
  bad({ maxLeafNodes: 1 }, /'maxLeafNodes'/);
  bad({ earlyStopping: 'yes' }, /'earlyStopping'/);
  bad({ validationFraction: 1 }, /'validationFraction'/);
  bad({ l2Regularization: -1 }, /'l2Regularization'/);
  bad({ nEstimators: 10 }, /Unknown parameter 'nEstimators'/);
});

test('sparse one-hot data takes the sparse-histogram path and is learned as well', async () => {
  // Three categorical variables with 10 levels each, one-hot encoded, plus one dense feature.
  const rng = new Rng(11);
  const n = 3000;
  const F = 31;
  const data = new Float64Array(n * F);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.int(10);
    const b = rng.int(10);
    const c = rng.int(10);
    data[i * F + a] = 1;
    data[i * F + 10 + b] = 1;
    data[i * F + 20 + c] = 1;
    const d = rng.float();
    data[i * F + 30] = d;
    y[i] = (a < 3 ? 1 : 0) + (b % 2 === 0 && d > 0.5 ? 1 : 0);
  }
  const x: Matrix = { data, rows: n, cols: F };
  const target: Target = { task: 'classification', y, classCount: 3 };
  const state = fitGradientBoosting(x, target, { maxIter: 50 });
  assert.equal(state.info.sparseHistograms, true);
  const p = predict(state, x);
  let ok = 0;
  if (p.task === 'classification') for (let i = 0; i < n; i++) if (p.labels[i] === y[i]) ok++;
  assert.ok(ok / n > 0.99, `train accuracy ${ok / n}`);
  const parity = await onnxParity(state, x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  const { train } = loadExampleSplit('diabetes');
  assert.equal(fitGradientBoosting(train.x, train.target, { maxIter: 2 }).info.sparseHistograms, false);
});

test('one tree an iteration on 2 threads: helpers build the histograms and the trees are the same bit for bit', () => {
  const rng = new Rng(9);
  const n = 6000;
  const F = 12;
  // Missing values in two features: their bins take the histograms' last cell.
  const data = Float64Array.from({ length: n * F }, (_, j) => (j % F >= 10 && rng.float() < 0.1 ? NaN : rng.float()));
  const x: Matrix = { data, rows: n, cols: F };
  const signal = (i: number): number => Math.sin(6 * data[i * F]!) + data[i * F + 1]! * data[i * F + 2]! + (Number.isNaN(data[i * F + 10]!) ? 0.5 : 0);
  const targets: Target[] = [
    { task: 'regression', y: Float64Array.from({ length: n }, (_, i) => signal(i) + 0.1 * rng.float()) },
    { task: 'classification', classCount: 2, y: Int32Array.from({ length: n }, (_, i) => (signal(i) + 0.3 * rng.float() > 0.8 ? 1 : 0)) },
  ];
  const params = { maxIter: 30, earlyStopping: false };
  for (const target of targets) {
    const one = fitGradientBoosting(x, target, params, { threads: 1 });
    const two = fitGradientBoosting(x, target, params, { threads: 2 });
    assert.equal(one.info.histogramThreads, 1);
    assert.equal(two.info.histogramThreads, 2, target.task);
    assert.deepEqual(two.trees, one.trees, target.task);
    assert.equal(two.info.trainLoss, one.info.trainLoss);
  }
  // Small data stays on one thread (starting helpers would cost more than they save).
  const small = { data: data.subarray(0, 500 * F), rows: 500, cols: F };
  assert.equal(fitGradientBoosting(small, { task: 'regression', y: Float64Array.from({ length: 500 }, (_, i) => signal(i)) }, params, { threads: 2 }).info.histogramThreads, 1);
});
