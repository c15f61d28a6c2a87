/** The text classifier's network: gradients through pooling and the padding mask, and padding that changes nothing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../init.js';
import { sparseCategoricalCrossEntropy } from '../losses.js';
import { unpack } from '../program.js';
import { forward } from '../testing/forward.js';
import { gradCheck } from '../testing/gradcheck.js';
import { createTextEncoder, textEncoderLogits, type TextEncoderConfig } from './index.js';

const config: TextEncoderConfig = { vocabSize: 6, context: 4, layers: 1, heads: 2, dim: 4, outputs: 3 };
const enc = createTextEncoder(config, 2);
const rng = new Rng(3);
const w = Array.from(enc.weights, (v) => v * 15 + rng.uniform(-0.1, 0.1));
const logits = (ids: unknown, mask: unknown, W: unknown) => {
  const params = unpack(W as never, enc.params);
  return textEncoderLogits(config, (n) => params.get(n)!, ids as never, mask as never);
};

test('gradient of the classification loss w.r.t. every weight, with padded rows (float64)', async () => {
  await gradCheck('encoder', [
    { shape: [3, 4], values: [1, 2, 3, 4, 5, 5, 0, 0, 2, 0, 0, 0], int: true },
    { shape: [3, 4], values: [1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0], nograd: true },
    { shape: [3], values: [0, 2, 1], int: true },
    { shape: [w.length], values: w },
  ], (ids, mask, y, W) => sparseCategoricalCrossEntropy(logits(ids, mask, W), y!), { samples: 60 });
});

test('what sits in padded positions does not change the prediction', async () => {
  const run = (ids: number[]) => forward([
    { shape: [2, 4], values: ids, int: true }, { shape: [2, 4], values: [1, 1, 0, 0, 1, 1, 1, 0] }, { shape: [w.length], values: w },
  ], logits as never);
  const a = await run([1, 2, 0, 0, 3, 4, 5, 0]);
  const b = await run([1, 2, 5, 3, 3, 4, 5, 1]);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-12, `${v} vs ${b[i]}`));
});
