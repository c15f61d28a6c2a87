import { test } from 'node:test';
import { InvalidInputError } from '../../infra/errors.js';
import assert from 'node:assert/strict';
import { loadExample, loadExampleSplit } from '../testing/example-data.js';
import { evaluateModel, fitModel, predict } from './index.js';
import { onnxParity } from './onnx-verify.js';
import { fitSvm } from './svm.js';
import type { ClassificationTarget, Matrix } from './types.js';

// scikit-learn 1.2.1 `LinearSVC(C=1.0, tol=1e-8, max_iter=100000).fit(X, y)` on the 150 iris rows
// (coef_ one row per class, intercept_), and on versicolor/virginica only; `loss='hinge', C=0.5`.
const SKLEARN_OVR = {
  coef: [[0.1842, 0.4512, -0.8079, -0.4507], [0.0552, -0.9009, 0.4092, -0.9606], [-0.8506, -0.9866, 1.381, 1.8651]],
  intercept: [0.1096, 1.6874, -1.7108],
};
const SKLEARN_BINARY = { coef: [-0.8506, -0.9866, 1.381, 1.8651], intercept: -1.7108 };
const SKLEARN_HINGE = { coef: [-1.0452, -1.1081, 1.5503, 1.8999], intercept: -1.0845 };

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 2e-3, `${what}: ${a} vs scikit-learn ${b}`);

function binaryIris(): { x: Matrix; target: ClassificationTarget } {
  const iris = loadExample('iris');
  const keep = Array.from(iris.target.y).map((c, i) => (c > 0 ? i : -1)).filter((i) => i >= 0);
  const data = new Float64Array(keep.length * 4);
  keep.forEach((r, i) => data.set(iris.x.data.subarray(r * 4, r * 4 + 4), i * 4));
  return { x: { data, rows: keep.length, cols: 4 }, target: { task: 'classification', y: Int32Array.from(keep, (r) => iris.target.y[r]! - 1), classCount: 2 } };
}

test('svm one-vs-rest on iris has scikit-learn LinearSVC\'s coefficients and intercepts', () => {
  const iris = loadExample('iris');
  const state = fitSvm(iris.x, iris.target as ClassificationTarget, { tol: 1e-8, maxIter: 100_000 });
  assert.equal(state.outputs, 3);
  SKLEARN_OVR.coef.forEach((row, k) => row.forEach((c, j) => close(state.coef[j * 3 + k]!, c, `coef[${k}][${j}]`)));
  SKLEARN_OVR.intercept.forEach((b, k) => close(state.intercept[k]!, b, `intercept[${k}]`));
});

test('svm on two classes (squared hinge and hinge) matches LinearSVC; labels are the sign of the decision value', () => {
  const { x, target } = binaryIris();
  for (const [params, ref] of [[{}, SKLEARN_BINARY], [{ loss: 'hinge' as const, C: 0.5 }, SKLEARN_HINGE]] as const) {
    const state = fitSvm(x, target, { ...params, tol: 1e-8, maxIter: 100_000 });
    assert.equal(state.outputs, 2);
    ref.coef.forEach((c, j) => { close(state.coef[j * 2 + 1]!, c, `coef[${j}]`); assert.equal(state.coef[j * 2], 0); });
    close(state.intercept[1]!, ref.intercept, 'intercept');
    const p = predict(state, x);
    assert.equal(p.task, 'classification');
    for (let i = 0; i < x.rows; i++) {
      let z = state.intercept[1]!;
      for (let j = 0; j < 4; j++) z += x.data[i * 4 + j]! * state.coef[j * 2 + 1]!;
      assert.equal(p.labels[i], z > 0 ? 1 : 0);
    }
  }
});

test('svm through the registry: held-out accuracy, ONNX (LinearClassifier) parity, bad params name the parameter', async () => {
  const { train, test: held } = loadExampleSplit('iris');
  const state = fitModel({ kind: 'svm' }, train.x, train.target);
  const m = evaluateModel(state, held.x, held.target) as { accuracy: number };
  assert.ok(m.accuracy >= 0.85, `accuracy ${m.accuracy}`);
  const parity = await onnxParity(state, held.x);
  assert.ok(parity.maxDiff < 1e-5, `maxDiff ${parity.maxDiff}`);
  assert.equal(parity.labelMismatches.length - parity.nearTies, 0);
  assert.throws(() => fitModel({ kind: 'svm', C: 0 }, train.x, train.target), (e: unknown) => e instanceof InvalidInputError && e.details?.param === 'C');
  assert.throws(() => fitModel({ kind: 'svm', los: 'hinge' } as never, train.x, train.target), (e: unknown) => e instanceof InvalidInputError && /did you mean 'loss'/.test(e.message));
});
