import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../infra/errors.js';
import { fitModel, predictProba, validateModelSpec } from './index.js';
import type { ModelSpec } from './index.js';
import type { Matrix } from './types.js';

const is422 = (re: RegExp) => (e: unknown) => e instanceof InvalidInputError && e.code === 'bad_params' && re.test(e.message);

test('validateModelSpec checks kind, task and parameters before any data is read', () => {
  validateModelSpec({ kind: 'random_forest', nEstimators: 10, maxFeatures: 0.5 }, 'regression');
  validateModelSpec({ kind: 'gradient_boosting', earlyStopping: true }, 'classification');
  validateModelSpec({ kind: 'logistic_regression', C: 10 }, 'classification');
  assert.throws(() => validateModelSpec({ kind: 'naive_bayes' } as unknown as ModelSpec, 'classification'), is422(/Unknown model kind 'naive_bayes'/));
  assert.throws(() => validateModelSpec({ kind: 'svm' }, 'regression'), is422(/classification only/));
  assert.throws(() => validateModelSpec({ kind: 'linear_regression' }, 'classification'), is422(/regression only/));
  assert.throws(() => validateModelSpec({ kind: 'random_forest', nEstimators: -1 }, 'classification'), is422(/'nEstimators' must be an integer in \[1, 5000\]/));
  assert.throws(() => validateModelSpec({ kind: 'gradient_boosting', maxBins: 300 }, 'regression'), is422(/'maxBins'.*\[2, 255\]/));
});

test('predictProba refuses a regressor; a feature-count mismatch is a 422', () => {
  const x: Matrix = { data: Float64Array.from([0, 1, 2, 3, 4, 5]), rows: 6, cols: 1 };
  const state = fitModel({ kind: 'linear_regression' }, x, { task: 'regression', y: Float64Array.from([0, 1, 2, 3, 4, 5]) });
  assert.throws(() => predictProba(state, x), InvalidInputError);
  const clf = fitModel({ kind: 'random_forest', nEstimators: 3 }, x, { task: 'classification', y: Int32Array.from([0, 0, 0, 1, 1, 1]), classCount: 2 });
  assert.equal(predictProba(clf, x).length, 12);
  assert.throws(() => predictProba(clf, { data: new Float64Array(4), rows: 2, cols: 2 }), (e: unknown) => e instanceof InvalidInputError);
});
