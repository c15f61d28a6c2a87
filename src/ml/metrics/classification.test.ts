import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, classificationMetrics, confusionMatrix, logLoss, rocAuc } from './classification.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

test('confusion matrix, accuracy and macro precision/recall/f1 by hand', () => {
  const yTrue = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2];
  const yPred = [0, 0, 1, 1, 0, 2, 2, 1, 2, 2];
  assert.deepEqual(confusionMatrix(yTrue, yPred, 3), [[2, 1, 0], [1, 1, 0], [0, 1, 4]]);
  close(accuracy(yTrue, yPred), 7 / 10);
  const m = classificationMetrics(yTrue, yPred, 3, { labels: ['a', 'b', 'c'] });
  // class a: P = 2/3, R = 2/3; b: P = 1/3, R = 1/2; c: P = 1, R = 4/5.
  const p = [2 / 3, 1 / 3, 1];
  const r = [2 / 3, 1 / 2, 4 / 5];
  const f = p.map((pi, i) => (2 * pi * r[i]!) / (pi + r[i]!));
  close(m.precision, (p[0]! + p[1]! + p[2]!) / 3);
  close(m.recall, (r[0]! + r[1]! + r[2]!) / 3);
  close(m.f1, (f[0]! + f[1]! + f[2]!) / 3);
  assert.deepEqual(m.labels, ['a', 'b', 'c']);
  assert.deepEqual(m.perClass.map((c) => c.support), [3, 2, 5]);
  close(m.perClass[1]!.recall, 0.5);
  assert.equal(m.logLoss, undefined);
});

test('macro averages skip classes absent from truth and predictions; 0/0 counts as 0', () => {
  const m = classificationMetrics([0, 0, 1], [0, 1, 1], 3);
  close(m.precision, (1 + 0.5) / 2);
  close(m.recall, (0.5 + 1) / 2);
  const n = classificationMetrics([0, 0], [1, 1], 2);
  assert.equal(n.precision, 0);
  assert.equal(n.perClass[1]!.recall, 0);
});

test('log loss by hand, with clipping', () => {
  // −(ln 0.8 + ln 0.4) / 2
  close(logLoss([0, 1], [0.8, 0.2, 0.6, 0.4], 2), -(Math.log(0.8) + Math.log(0.4)) / 2);
  close(logLoss([1], [1, 0], 2), -Math.log(1e-15), 1e-9);
});

test('ROC AUC by hand, ties counted half, NaN without both classes', () => {
  close(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  close(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]), (1 + 1 + 0.5 + 1) / 4);
  close(rocAuc([1, 1, 0], [0.9, 0.8, 0.1]), 1);
  assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])));
  const m = classificationMetrics([0, 0, 1, 1], [0, 1, 0, 1], 2, { probabilities: [0.9, 0.1, 0.6, 0.4, 0.65, 0.35, 0.2, 0.8] });
  close(m.rocAuc!, 0.75);
  assert.ok(m.logLoss! > 0);
});
