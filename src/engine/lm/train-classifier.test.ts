/** A text classifier learns a task that needs the whole text, and its served graph predicts as its evaluation does. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../init.js';
import { i64, withSession } from '../runtime.js';
import { createTextEncoder, padIdOf, textClassifierInferenceModel, trainTextClassifier } from './index.js';

/** Windows of up to 8 ids from {0, 1, 2}, padded with 3; class 1 when id 2 occurs anywhere. */
function data(rows: number, seed: number) {
  const rng = new Rng(seed);
  const T = 8;
  const x = new BigInt64Array(rows * T).fill(3n);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const len = 1 + Math.floor(rng.next() * T);
    const cls = rng.next() < 0.5 ? 1 : 0;
    for (let j = 0; j < len; j++) x[r * T + j] = BigInt(Math.floor(rng.next() * 2));
    if (cls) x[r * T + Math.floor(rng.next() * len)] = 2n;
    y[r] = cls;
  }
  return { x, y };
}

test('trains to high held-out accuracy; the inference graph labels the held-out rows as evaluation scored them', async () => {
  const enc = createTextEncoder({ vocabSize: 4, context: 8, layers: 1, heads: 2, dim: 16, outputs: 2 }, 1);
  assert.equal(padIdOf(enc), 3);
  const train = data(512, 1);
  const val = data(128, 2);
  const h = await trainTextClassifier(enc, train, val, { epochs: 12, batchSize: 32, warmupSteps: 10, optimizer: { type: 'adamw', learningRate: 3e-3, weightDecay: 0.01 } });
  assert.equal(h.epochs.length, 12);
  const last = h.epochs.at(-1)!;
  assert.ok(last.valAccuracy! >= 0.95, `held-out accuracy ${last.valAccuracy}`);
  assert.ok(last.loss < h.epochs[0]!.loss, 'the training loss falls');
  const labels = await withSession(textClassifierInferenceModel(enc, 8), {}, async (s) => (await s.run({ x: i64(val.x, [128, 8]) })).label!.data as BigInt64Array);
  const correct = [...labels].filter((l, i) => Number(l) === val.y[i]).length;
  assert.equal(correct / 128, last.valAccuracy);
});
