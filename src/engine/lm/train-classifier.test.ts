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

test('distillation feeds each row its own soft targets: one-hot targets at T 1, alpha 1 train exactly as the labels do; a teacher that disagrees pulls the other way', async () => {
  const config = { vocabSize: 4, context: 8, layers: 1, heads: 2, dim: 8, outputs: 2 };
  const train = data(96, 3);
  const o = { epochs: 2, batchSize: 16, seed: 4, optimizer: { type: 'adamw' as const, learningRate: 3e-3, weightDecay: 0.01 } };
  const plain = createTextEncoder(config, 1);
  await trainTextClassifier(plain, train, undefined, o);
  const oneHot = new Float32Array(96 * 2);
  train.y.forEach((c, r) => (oneHot[r * 2 + c] = 1));
  const same = createTextEncoder(config, 1);
  await trainTextClassifier(same, train, undefined, { ...o, distillation: { temperature: 1, alpha: 1, soft: oneHot } });
  const gap = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  // A row given another row's targets (a shuffled feed) would train other weights.
  assert.ok(gap(plain.weights, same.weights) < 1e-5, `weights differ by ${gap(plain.weights, same.weights)}`);
  const flipped = oneHot.map((v) => 1 - v);
  const contrary = createTextEncoder(config, 1);
  await trainTextClassifier(contrary, train, undefined, { ...o, distillation: { temperature: 1, alpha: 1, soft: flipped } });
  assert.ok(gap(plain.weights, contrary.weights) > 1e-3, 'the soft targets reach the loss');
});
