import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../infra/errors.js';
import { loadExampleSplit } from '../testing/example-data.js';
import { evaluateModel, fitModel, predict } from './index.js';
import { fitLogisticRegression, fitRidge } from './linear.js';
import { onnxParity } from './onnx-verify.js';
import type { ClassificationTarget, Matrix, RegressionTarget } from './types.js';

test('ridge matches the closed form on a hand-computed example', () => {
  const x: Matrix = { data: Float64Array.from([1, 2, 3]), rows: 3, cols: 1 };
  const target: RegressionTarget = { task: 'regression', y: Float64Array.from([2, 4, 6]) };
  // Centred x = [-1, 0, 1], Σx² = 2, Σxy = 4: w = 4 / (2 + α), b = ȳ − w·x̄.
  const ols = fitRidge(x, target, { alpha: 0 });
  assert.ok(Math.abs(ols.coef[0]! - 2) < 1e-9 && Math.abs(ols.intercept[0]!) < 1e-9);
  const ridge = fitRidge(x, target, { alpha: 1 });
  assert.ok(Math.abs(ridge.coef[0]! - 4 / 3) < 1e-12);
  assert.ok(Math.abs(ridge.intercept[0]! - (4 - (4 / 3) * 2)) < 1e-12);
});

test('ridge on diabetes: R² ≥ 0.5 on the held-out split, ONNX export reproduces predict', async () => {
  const { train, test: held } = loadExampleSplit('diabetes');
  const state = fitModel({ kind: 'linear_regression' }, train.x, train.target);
  const m = evaluateModel(state, held.x, held.target) as { r2: number };
  assert.ok(m.r2 >= 0.5, `r2 ${m.r2}`);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  // The fitted state is plain JSON.
  const copy = JSON.parse(JSON.stringify(state));
  assert.deepEqual(predict(copy, held.x), predict(state, held.x));
});

test('logistic regression on iris (multinomial): ≥ 90% test accuracy, converged, ONNX parity', async () => {
  const { train, test: held } = loadExampleSplit('iris');
  const state = fitModel({ kind: 'logistic_regression' }, train.x, train.target);
  assert.equal(state.outputs, 3);
  assert.equal(state.info.converged, true);
  const m = evaluateModel(state, held.x, held.target) as { accuracy: number; logLoss: number };
  assert.ok(m.accuracy >= 0.9, `accuracy ${m.accuracy}`);
  assert.ok(m.logLoss < 0.3, `logLoss ${m.logLoss}`);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  assert.equal(parity.labelMismatches.length - parity.nearTies, 0);
});

test('logistic regression on loans (binary, sigmoid): ≥ 70% accuracy, ONNX parity', async () => {
  const { train, test: held } = loadExampleSplit('loans', { impute: true, standardize: true });
  const state = fitModel({ kind: 'logistic_regression' }, train.x, train.target);
  assert.equal(state.outputs, 1);
  assert.equal(state.postTransform, 'logistic');
  const m = evaluateModel(state, held.x, held.target) as { accuracy: number; rocAuc: number };
  assert.ok(m.accuracy >= 0.7, `accuracy ${m.accuracy}`);
  assert.ok(m.rocAuc >= 0.7, `rocAuc ${m.rocAuc}`);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  assert.equal(parity.labelMismatches.length - parity.nearTies, 0);
});

test('the logistic optimum is a stationary point of Σ logloss + ‖W‖²/(2C) (finite differences)', () => {
  const { train } = loadExampleSplit('iris');
  const C = 0.5;
  const state = fitLogisticRegression(train.x, train.target as ClassificationTarget, { C, tol: 1e-8, maxIter: 1000 });
  const objective = (coef: number[], intercept: number[]): number => {
    const { x } = train;
    const y = (train.target as ClassificationTarget).y;
    let loss = 0;
    for (let i = 0; i < x.rows; i++) {
      const z = intercept.map((b, k) => b + Array.from({ length: x.cols }, (_, j) => x.data[i * x.cols + j]! * coef[j * 3 + k]!).reduce((a, c) => a + c, 0));
      const m = Math.max(...z);
      loss += m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[y[i]!]!;
    }
    return loss + coef.reduce((a, w) => a + w * w, 0) / (2 * C);
  };
  const base = objective(state.coef, state.intercept);
  for (let j = 0; j < state.coef.length; j++) {
    for (const h of [1e-3, -1e-3]) {
      const c = [...state.coef];
      c[j]! += h;
      assert.ok(objective(c, state.intercept) >= base - 1e-6, `coef ${j} is not a minimum`);
    }
  }
});

test('invalid parameters and data are InvalidInputErrors naming the parameter', () => {
  const x: Matrix = { data: Float64Array.from([0, 1, 2, 3]), rows: 4, cols: 1 };
  const target: ClassificationTarget = { task: 'classification', y: Int32Array.from([0, 0, 1, 1]), classCount: 2 };
  const expectBad = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof InvalidInputError && re.test(e.message));
  expectBad(() => fitLogisticRegression(x, target, { C: 0 }), /'C'.*\(0, ∞\)/);
  expectBad(() => fitLogisticRegression(x, target, { maxIter: 1.5 }), /'maxIter'/);
  expectBad(() => fitLogisticRegression(x, target, { penalty: 'l1' } as never), /Unknown parameter 'penalty'/);
  expectBad(() => fitRidge(x, { task: 'regression', y: Float64Array.from([1, 2, 3, 4]) }, { alpha: -1 }), /'alpha'/);
  expectBad(() => fitLogisticRegression({ ...x, data: Float64Array.from([0, NaN, 2, 3]) }, target), /row 1/);
  expectBad(() => fitModel({ kind: 'logistic_regression' }, x, { task: 'regression', y: Float64Array.from([1, 2, 3, 4]) }), /classification only/);
});
