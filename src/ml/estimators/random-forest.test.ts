import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../infra/errors.js';
import { loadExampleSplit } from '../testing/example-data.js';
import { evaluateModel, fitModel, predict } from './index.js';
import { onnxParity } from './onnx-verify.js';
import { fitRandomForest } from './random-forest.js';
import { fitGradientBoosting } from './gradient-boosting.js';
import { forkSeed } from './trees/forest-grower.js';
import { Rng } from '../core/random.js';
import type { ClassPrediction, Matrix, Target } from './types.js';

test('random forest on iris: ≥ 90% test accuracy, probabilities sum to 1, ONNX parity', async () => {
  const { train, test: held } = loadExampleSplit('iris');
  const state = fitModel({ kind: 'random_forest' }, train.x, train.target, { seed: 0 });
  assert.equal(state.kind === 'random_forest' && state.trees.length, 100);
  const m = evaluateModel(state, held.x, held.target) as { accuracy: number };
  assert.ok(m.accuracy >= 0.9, `accuracy ${m.accuracy}`);
  const p = predict(state, held.x) as ClassPrediction;
  for (let i = 0; i < held.x.rows; i++) {
    const s = p.probabilities[i * 3]! + p.probabilities[i * 3 + 1]! + p.probabilities[i * 3 + 2]!;
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  assert.equal(parity.labelMismatches.length - parity.nearTies, 0);
});

test('random forest on loans with missing values left in: ≥ 70% accuracy, NaN routed identically in ONNX', async () => {
  const { train, test: held } = loadExampleSplit('loans');
  let nan = 0;
  for (const v of held.x.data) if (Number.isNaN(v)) nan++;
  assert.ok(nan > 0, 'the test rows keep their missing values');
  const state = fitModel({ kind: 'random_forest', nEstimators: 50 }, train.x, train.target, { seed: 0 });
  const m = evaluateModel(state, held.x, held.target) as { accuracy: number; rocAuc: number };
  assert.ok(m.accuracy >= 0.7, `accuracy ${m.accuracy}`);
  assert.ok(m.rocAuc >= 0.7, `rocAuc ${m.rocAuc}`);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  assert.equal(parity.labelMismatches.length - parity.nearTies, 0);
});

test('random forest regression on diabetes: R² ≥ 0.4, ONNX parity', async () => {
  const { train, test: held } = loadExampleSplit('diabetes');
  const state = fitModel({ kind: 'random_forest' }, train.x, train.target, { seed: 0 });
  assert.equal(state.kind === 'random_forest' && state.params.maxFeatures, 'all');
  const m = evaluateModel(state, held.x, held.target) as { r2: number };
  assert.ok(m.r2 >= 0.4, `r2 ${m.r2}`);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
});

test('the same seed gives the same forest; the state survives JSON', () => {
  const { train, test: held } = loadExampleSplit('iris');
  const a = fitRandomForest(train.x, train.target, { nEstimators: 10 }, { seed: 7 });
  const b = fitRandomForest(train.x, train.target, { nEstimators: 10 }, { seed: 7 });
  const c = fitRandomForest(train.x, train.target, { nEstimators: 10 }, { seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.trees, c.trees);
  const copy = JSON.parse(JSON.stringify(a));
  assert.deepEqual(predict(copy, held.x), predict(a, held.x));
});

test('depth and leaf limits are honoured', () => {
  const { train } = loadExampleSplit('loans', { impute: true });
  const state = fitRandomForest(train.x, train.target, { nEstimators: 5, maxDepth: 3, minSamplesLeaf: 50 }, { seed: 0 });
  for (const t of state.trees) {
    const depth = (node: number): number => (t.feature[node]! < 0 ? 0 : 1 + Math.max(depth(t.left[node]!), depth(t.right[node]!)));
    assert.ok(depth(0) <= 3);
    assert.ok(t.feature.length <= 15);
  }
  // Leaf sizes: route the training rows and count them per leaf.
  const full = fitRandomForest(train.x, train.target, { nEstimators: 1, minSamplesLeaf: 40, bootstrap: false }, { seed: 0 });
  const t = full.trees[0]!;
  const counts = new Map<number, number>();
  for (let i = 0; i < train.x.rows; i++) {
    let node = 0;
    while (t.feature[node]! >= 0) node = Math.fround(train.x.data[i * train.x.cols + t.feature[node]!]!) <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
    counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  for (const c of counts.values()) assert.ok(c >= 40, `leaf with ${c} rows`);
});

test('missing values carry signal: the forest learns their direction', () => {
  // y = 1 exactly when x0 is missing; x1 is noise.
  const n = 400;
  const data = new Float64Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3 === 0 ? 1 : 0;
    data[i * 2] = y[i] ? NaN : (i % 7) / 7;
    data[i * 2 + 1] = ((i * 7919) % 101) / 101;
  }
  const x: Matrix = { data, rows: n, cols: 2 };
  const target: Target = { task: 'classification', y, classCount: 2 };
  const state = fitRandomForest(x, target, { nEstimators: 10 }, { seed: 0 });
  const p = predict(state, x) as ClassPrediction;
  assert.deepEqual(Array.from(p.labels), Array.from(y));
});

test('invalid parameters are InvalidInputErrors', () => {
  const { train } = loadExampleSplit('iris');
  const bad = (params: object, re: RegExp) => assert.throws(
    () => fitRandomForest(train.x, train.target, params as never), (e: unknown) => e instanceof InvalidInputError && re.test(e.message),
  );
  bad({ nEstimators: 0 }, /'nEstimators'/);
  bad({ maxFeatures: 'half' }, /'maxFeatures'/);
  bad({ maxFeatures: 1.5 }, /'maxFeatures'/);
  bad({ minSamplesLeaf: 0 }, /'minSamplesLeaf'/);
  bad({ maxDepth: 0 }, /'maxDepth'/);
  bad({ maxBins: 256 }, /'maxBins'/);
});

test('threads share the trees out without changing them: forests and multi-class boosting fit the same models on 1 and 2 threads', () => {
  const { train } = loadExampleSplit('loans');
  const one = fitRandomForest(train.x, train.target, { nEstimators: 60 }, { seed: 3, threads: 1 });
  const two = fitRandomForest(train.x, train.target, { nEstimators: 60 }, { seed: 3, threads: 2 });
  assert.deepEqual(two.trees, one.trees);
  const rng = new Rng(5);
  const n = 3000;
  const F = 8;
  const data = Float64Array.from({ length: n * F }, () => rng.float());
  const y = Int32Array.from({ length: n }, (_, i) => Math.min(2, Math.floor(3 * data[i * F]! + data[i * F + 1]!)));
  const x = { data, rows: n, cols: F };
  const target = { task: 'classification' as const, y, classCount: 3 };
  const params = { maxIter: 100, earlyStopping: false };
  assert.deepEqual(fitGradientBoosting(x, target, params, { threads: 2 }).trees, fitGradientBoosting(x, target, params, { threads: 1 }).trees);
});

test('a tree grown from a seed is the one Rng.fork() would have seeded', () => {
  const a = new Rng(11);
  const b = new Rng(11);
  const forked = a.fork();
  const seeded = new Rng(forkSeed(b));
  for (let i = 0; i < 5; i++) assert.equal(seeded.uint32(), forked.uint32());
  assert.equal(a.uint32(), b.uint32());
});
