/**
 * The key/value-cache decoder graph against the training graph's forward pass: the full sequence
 * in one call, the same sequence one token at a time through the cache, and a left-padded batch,
 * all give the logits of the plain forward pass.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Rng } from '../init.js';
import { f32, i64, openSession } from '../runtime.js';
import { createGpt, gptDecoderModel, lmLogitsModel, pastName, presentName, type GptConfig } from './index.js';

const config: GptConfig = { vocabSize: 11, context: 8, layers: 2, heads: 2, dim: 8 };
const gpt = createGpt(config, 4);
const rng = new Rng(9);
gpt.weights = gpt.weights.map((v) => v * 20 + rng.uniform(-0.05, 0.05)); // far from init: attention is not uniform
const dh = config.dim / config.heads;

async function reference(ids: number[]): Promise<Float32Array> {
  const s = await openSession(lmLogitsModel(gpt, ids.length), { optimization: 'basic' });
  try {
    const out = await s.run({ W: f32(gpt.weights, [gpt.weights.length]), x: i64(BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return out.logits!.data as Float32Array;
  } finally {
    await s.release();
  }
}

const ints = (v: number[], dims: number[]) => i64(BigInt64Array.from(v, BigInt), dims);
const emptyPast = (batch: number) => Object.fromEntries(
  Array.from({ length: config.layers }, (_, i) => (['key', 'value'] as const).map((k) => [pastName(i, k), f32(new Float32Array(0), [batch, config.heads, 0, dh])])).flat(),
);
const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('one call over the whole sequence, then token by token through the cache, equal the plain forward pass', async () => {
  const ids = [3, 1, 4, 1, 5, 9, 2, 6];
  const want = await reference(ids);
  const s = await openSession(gptDecoderModel(gpt));
  try {
    const full = await s.run({ input_ids: ints(ids, [1, 8]), attention_mask: ints(Array(8).fill(1), [1, 8]), position_ids: ints([...ids.keys()], [1, 8]), ...emptyPast(1) });
    close(full.logits!.data as Float32Array, want, 'full');
    assert.deepEqual(full[presentName(1, 'key')]!.dims, [1, config.heads, 8, dh]);

    let out = await s.run({ input_ids: ints(ids.slice(0, 3), [1, 3]), attention_mask: ints([1, 1, 1], [1, 3]), position_ids: ints([0, 1, 2], [1, 3]), ...emptyPast(1) });
    const got = [...(out.logits!.data as Float32Array)];
    for (let t = 3; t < ids.length; t++) {
      const past: Record<string, ort.Tensor> = {};
      for (let i = 0; i < config.layers; i++) for (const k of ['key', 'value'] as const) past[pastName(i, k)] = out[presentName(i, k)]!;
      out = await s.run({ input_ids: ints([ids[t]!], [1, 1]), attention_mask: ints(Array(t + 1).fill(1), [1, t + 1]), position_ids: ints([t], [1, 1]), ...past });
      got.push(...(out.logits!.data as Float32Array));
    }
    close(got, want, 'incremental');
  } finally {
    await s.release();
  }
});

test('a left-padded batch: padding is masked out and positions count real tokens', async () => {
  const a = [7, 7, 2, 10, 0, 5];
  const b = [1, 8, 3, 3];
  const [wantA, wantB] = [await reference(a), await reference(b)];
  const s = await openSession(gptDecoderModel(gpt));
  try {
    const out = await s.run({
      input_ids: ints([...a, 0, 0, ...b], [2, 6]),
      attention_mask: ints([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1], [2, 6]),
      position_ids: ints([0, 1, 2, 3, 4, 5, 0, 0, 0, 1, 2, 3], [2, 6]),
      ...emptyPast(2),
    });
    const logits = out.logits!.data as Float32Array;
    const v = config.vocabSize;
    close(logits.subarray(0, 6 * v), wantA, 'unpadded row');
    close(logits.subarray(8 * v, 12 * v), wantB, 'padded row, real positions');
  } finally {
    await s.release();
  }
});
