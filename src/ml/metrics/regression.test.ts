import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regressionMetrics } from './regression.js';

test('mse, rmse, mae and r2 by hand', () => {
  const m = regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
  assert.equal(m.mse, (0.25 + 0.25 + 0 + 1) / 4);
  assert.equal(m.rmse, Math.sqrt(0.375));
  assert.equal(m.mae, (0.5 + 0.5 + 0 + 1) / 4);
  // ȳ = 2.875, SS_tot = 29.1875, SS_res = 1.5
  assert.ok(Math.abs(m.r2 - (1 - 1.5 / 29.1875)) < 1e-12);
});

test('r2 of a constant truth: 1 when exact, 0 otherwise; predicting the mean gives 0', () => {
  assert.equal(regressionMetrics([2, 2], [2, 2]).r2, 1);
  assert.equal(regressionMetrics([2, 2], [2, 3]).r2, 0);
  assert.equal(regressionMetrics([1, 2, 3], [2, 2, 2]).r2, 0);
});
