import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importanceRepeats } from './train-job.js';

test('importance repeats: as asked, else 3, one on large held-out sets, none on wide data', () => {
  assert.equal(importanceRepeats(undefined, 4, 30), 3);
  assert.equal(importanceRepeats(undefined, 100, 10_000), 1, '100 columns × 10,000 rows × 3 is over the budget');
  assert.equal(importanceRepeats(undefined, 101, 30), 0, 'more than 100 input columns: skipped by default');
  assert.equal(importanceRepeats(undefined, 784, 2_000), 0);
  assert.equal(importanceRepeats(5, 784, 2_000), 5, 'asked for: computed even on wide data');
  assert.equal(importanceRepeats(0, 4, 30), 0);
});
