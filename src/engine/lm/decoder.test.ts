/**
 * The key/value-cache decoder graph against the training graph's forward pass: the full sequence
 * in one call, the same sequence one token at a time through the cache, and a left-padded batch,
 * all give the logits of the plain forward pass; the graph made to output a step's new keys and
 * values alone gives present's last positions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Rng } from '../init.js';
import { f32, i64, openSession } from '../runtime.js';
import { encodeModel } from '../../onnx/model.js';
import { exposeAppendedKeyValues } from './decoder.js';
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

test('exposeAppendedKeyValues: a step fetches the logits and the new keys and values alone, which are present\'s last positions', async () => {
  const exposed = exposeAppendedKeyValues(encodeModel(gptDecoderModel(gpt)), config.layers)!;
  const names = Array.from({ length: config.layers }, (_, i) => (['key', 'value'] as const).map((k) => exposed.appended[pastName(i, k)]!)).flat();
  const s = await openSession(exposed.model);
  try {
    assert.deepEqual(s.outputNames.slice(0, 1 + names.length), ['logits', ...names], 'the fetched outputs lead (the Node binding names a partial fetch after the first outputs)');
    const past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < config.layers; i++) for (const k of ['key', 'value'] as const) past[pastName(i, k)] = f32(Float32Array.from({ length: 2 * config.heads * 3 * dh }, (_, j) => Math.sin(j)), [2, config.heads, 3, dh]);
    const feeds = { input_ids: ints([4, 7], [2, 1]), attention_mask: ints(Array(8).fill(1), [2, 4]), position_ids: ints([3, 3], [2, 1]), ...past };
    const all = await s.run(feeds);
    const some = await s.run(feeds, ['logits', ...names]);
    assert.deepEqual(Object.keys(some).sort(), ['logits', ...names].sort());
    close(some.logits!.data as Float32Array, all.logits!.data as Float32Array, 'logits');
    for (let i = 0; i < config.layers; i++) {
      for (const k of ['key', 'value'] as const) {
        const step = some[exposed.appended[pastName(i, k)]!]!;
        assert.deepEqual(step.dims, [2, config.heads, 1, dh]);
        const present = all[presentName(i, k)]!.data as Float32Array;
        const last = Array.from({ length: 2 * config.heads }, (_, r) => [...present.subarray((r * 4 + 3) * dh, (r * 4 + 4) * dh)]).flat();
        close(step.data as Float32Array, last, `${presentName(i, k)}'s last position`);
      }
    }
  } finally {
    await s.release();
  }
  // A cache not computed as Concat(past, new) on the positions axis is left alone.
  const swapped = gptDecoderModel(gpt);
  const concat = swapped.graph.nodes.find((n) => n.opType === 'Concat' && n.inputs[0] === pastName(0, 'key'))!;
  concat.inputs.reverse();
  assert.equal(exposeAppendedKeyValues(encodeModel(swapped), config.layers), undefined);
});
