import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../infra/errors.js';
import { estimatorKinds, fitModel, predict, registerEstimator, validateModelSpec } from './index.js';
import type { ModelSpec, ModelState } from './index.js';

test('a new kind joins fitModel / validateModelSpec / predict by registering, without touching a dispatch', () => {
  // A toy kind: predicts the training mean (its state is not one of the built-in states).
  registerEstimator<{ kind: string; task: 'regression'; mean: number }, { shift?: number }>({
    kind: 'mean_regressor',
    params: ['shift'],
    resolve: (p, task) => {
      if (task !== 'regression' || (p.shift !== undefined && typeof p.shift !== 'number')) throw new InvalidInputError('bad_params', 'bad mean_regressor');
    },
    fit: (_x, target, p) => ({ kind: 'mean_regressor', task: 'regression', mean: Array.from(target.y).reduce((a, b) => a + b, 0) / target.y.length + (p.shift ?? 0) }),
    predict: (state, x) => ({ task: 'regression', values: new Float64Array(x.rows).fill(state.mean) }),
  });
  assert.ok(estimatorKinds().includes('mean_regressor'));
  const spec = { kind: 'mean_regressor', shift: 1 } as unknown as ModelSpec;
  validateModelSpec(spec, 'regression');
  assert.throws(() => validateModelSpec(spec, 'classification'), InvalidInputError);
  const x = { data: Float64Array.from([0, 1, 2]), rows: 3, cols: 1 };
  const state = fitModel(spec, x, { task: 'regression', y: Float64Array.from([1, 2, 3]) });
  const p = predict(state as ModelState, x);
  assert.deepEqual(p.task === 'regression' && [...p.values], [3, 3, 3]);
  assert.throws(() => registerEstimator<{ kind: string; task: 'regression' }, object>({ kind: 'mean_regressor', params: [], resolve: () => {}, fit: () => ({ kind: 'mean_regressor', task: 'regression' }), predict: () => p }), /registered twice/);
});
