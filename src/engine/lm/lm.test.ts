/**
 * The GPT: the whole loss' gradient (tied embeddings included) against finite differences, and
 * training on a tiny corpus end to end on ONNX Runtime: the loss falls to what the text allows,
 * greedy samples continue it, runs are reproducible, and bad options name their field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../../infra/errors.js';
import type { Tensor } from '../graph.js';
import { sparseCategoricalCrossEntropy } from '../losses.js';
import { reshape } from '../ops/index.js';
import { unpack } from '../program.js';
import { gradCheck } from '../testing/gradcheck.js';
import { Rng } from '../init.js';
import { createGpt, gptLogits, lmLearningRate, trainLm, type GptConfig, type LmCheckpoint } from './index.js';
import { gptDecoderModel, gptFromDecoder } from './decoder.js';
import { decodeModel } from '../../onnx/decode.js';
import { encodeModel } from '../../onnx/model.js';
import { evaluateLm } from './train.js';
import { buildLmTrainProgram, lmEvalModel, lmLogitsModel } from './program.js';

describe('GPT', () => {
  test('gradient of the next-token loss w.r.t. every kind of weight, tied head included (float64)', async () => {
    const config: GptConfig = { vocabSize: 7, context: 4, layers: 2, heads: 2, dim: 4 };
    const gpt = createGpt(config, 3);
    const rng = new Rng(5);
    const w = Array.from(gpt.weights, (v) => v * 10 + rng.uniform(-0.1, 0.1)); // larger than init: non-trivial gradients
    const ids = [1, 5, 0, 6, 2, 2];
    const next = [5, 0, 6, 3, 2, 4];
    const wte = gpt.params.find((p) => p.name === 'wte.weight')!;
    const inputs = [{ shape: [2, 3], values: ids, int: true }, { shape: [6], values: next, int: true }];
    const loss = (x: Tensor, y: Tensor, param: (n: string) => Tensor) => sparseCategoricalCrossEntropy(gptLogits(config, param, x), reshape(y, [-1]));
    await gradCheck('gpt', [...inputs, { shape: [w.length], values: w }], (x, y, W) => {
      const params = unpack(W!, gpt.params);
      return loss(x!, y!, (n) => params.get(n)!);
    }, { samples: 80 });
    // Every element of the tied table: its gradient sums the embedding lookup's and the head's.
    await gradCheck('gpt_tied', [...inputs, { shape: wte.shape, values: w.slice(0, wte.size) }, { shape: [w.length], values: w, nograd: true }], (x, y, E, W) => {
      const params = unpack(W!, gpt.params);
      return loss(x!, y!, (n) => (n === 'wte.weight' ? E! : params.get(n)!));
    }, { samples: wte.size });
  });

  test('initialisation: GPT-2 std, decay on matrices and embeddings only', () => {
    const gpt = createGpt({ vocabSize: 50, context: 16, layers: 2, heads: 2, dim: 32 }, 0);
    const get = (name: string) => gpt.params.find((p) => p.name === name)!;
    const std = (name: string) => {
      const p = get(name);
      const v = gpt.weights.subarray(p.offset, p.offset + p.size);
      return Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length);
    };
    assert.ok(Math.abs(std('wte.weight') - 0.02) < 0.002);
    assert.ok(Math.abs(std('h.0.attn.c_proj.weight') - 0.01) < 0.002); // 0.02 / √(2·2)
    assert.deepEqual([...new Set(gpt.weights.subarray(get('h.1.ln_1.weight').offset, get('h.1.ln_1.weight').offset + 32))], [1]);
    assert.equal(gpt.decayMask[get('h.0.mlp.c_fc.weight').offset], 1);
    assert.equal(gpt.decayMask[get('h.0.mlp.c_fc.bias').offset], 0);
    assert.equal(gpt.decayMask[get('ln_f.weight').offset], 0);
    assert.throws(() => createGpt({ vocabSize: 50, context: 16, layers: 2, heads: 3, dim: 32 }),
      (e: unknown) => e instanceof InvalidInputError && e.details?.field === 'model.heads');
  });
});

test('learning-rate schedule: linear warm-up, then cosine to 0', () => {
  assert.equal(lmLearningRate(1, 0, 100, 10), 0.1);
  assert.equal(lmLearningRate(1, 9, 100, 10), 1);
  assert.equal(lmLearningRate(1, 10, 100, 10), 1);
  assert.ok(Math.abs(lmLearningRate(1, 55, 100, 10) - 0.5) < 1e-12);
  assert.ok(lmLearningRate(1, 99, 100, 10) < 0.001);
  assert.equal(lmLearningRate(1, 50, 100, 10, 'constant'), 1);
});

describe('training on ONNX Runtime', () => {
  // "abcd" repeated with a rare break: every next token is predictable from the previous one.
  const text = Array.from({ length: 600 }, (_, i) => 'abcd'[i % 4]).join('');
  const ids = Int32Array.from(text, (c) => c.charCodeAt(0) - 97);
  const config: GptConfig = { vocabSize: 4, context: 8, layers: 1, heads: 2, dim: 16 };
  const options = {
    steps: 120, batchSize: 8, warmupSteps: 10, evalEvery: 60, stepsPerCall: 30, seed: 1, sampleTokens: 8, temperature: 0,
    optimizer: { type: 'adamw' as const, learningRate: 1e-2, weightDecay: 0.1, clipNorm: 1 },
  };

  test('the loss falls to near 0 on predictable text; greedy samples continue it', async () => {
    const gpt = createGpt(config, 0);
    const seen: number[] = [];
    const h = await trainLm(gpt, ids.subarray(0, 500), ids.subarray(500), { ...options, onEval: (e) => { seen.push(e.step); } });
    assert.deepEqual(seen, [60, 120]);
    const [first, last] = h.evals as [typeof h.evals[0], typeof h.evals[0]];
    assert.ok(first.loss < Math.log(4), `the first 60 steps already learn something: ${first.loss}`);
    assert.ok(last.valLoss! < 0.1, `valLoss ${last.valLoss}`);
    assert.ok(Math.abs(last.perplexity! - Math.exp(last.valLoss!)) < 1e-9);
    assert.equal(last.valAccuracy, 1);
    assert.ok(h.tokensPerSecond > 0 && last.tokensPerSecond > 0);
    const prompt = ids[500]!;
    assert.deepEqual(last.sample, Array.from({ length: 8 }, (_, i) => (prompt + 1 + i) % 4));
  });

  test('a run resumed from its checkpoint ends with the weights of the uninterrupted run', async () => {
    const straight = createGpt(config, 0);
    await trainLm(straight, ids, undefined, { ...options, sampleTokens: 0, steps: 40, evalEvery: 20, stepsPerCall: 7 });
    const resumed = createGpt(config, 0);
    let saved: LmCheckpoint | undefined;
    let weights: Float32Array | undefined;
    const stop = new AbortController();
    await assert.rejects(trainLm(resumed, ids, undefined, {
      ...options, sampleTokens: 0, steps: 40, evalEvery: 20, stepsPerCall: 7, signal: stop.signal,
      onCheckpoint: (c) => { saved = structuredClone(c); weights = resumed.weights.slice(); stop.abort(); },
    }));
    assert.equal(saved?.step, 20);
    const again = createGpt(config, 0);
    again.weights = weights!;
    await trainLm(again, ids, undefined, { ...options, sampleTokens: 0, steps: 40, evalEvery: 20, stepsPerCall: 7, resume: saved });
    assert.deepEqual(again.weights, straight.weights);
  });

  test('the same seed gives the same weights; corpus and window problems name their field', async () => {
    const a = createGpt(config, 0);
    const b = createGpt(config, 0);
    const short = { ...options, steps: 12, evalEvery: undefined, sampleTokens: 0 };
    await trainLm(a, ids, undefined, short);
    await trainLm(b, ids, undefined, short);
    assert.deepEqual(a.weights, b.weights);
    for (const [train, val, window, field] of [[ids.subarray(0, 8), undefined, 8, 'model.context'], [ids, ids.subarray(0, 3), 8, 'split.validation'], [ids, undefined, 9, 'model.context']] as const) {
      await assert.rejects(trainLm(createGpt(config), train, val, { ...short, window }), (e: unknown) => e instanceof InvalidInputError && e.details?.field === field);
    }
  });

  test('dropout: applied in training (a different, seeded loss), absent from evaluation and exported graphs', async () => {
    const short = { ...options, steps: 20, evalEvery: 20, sampleTokens: 0 };
    const losses = async (dropout: number) => {
      const h = await trainLm(createGpt(config, 0), ids.subarray(0, 500), ids.subarray(500), { ...short, dropout });
      return [h.evals[0]!.loss, h.evals[0]!.valLoss!];
    };
    const [plain, withDrop, again] = [await losses(0), await losses(0.3), await losses(0.3)];
    assert.notEqual(withDrop[0], plain[0], 'dropout changes the training loss');
    assert.deepEqual(again, withDrop, 'the same seed repeats a run with dropout');
    const gpt = createGpt(config, 0);
    const train = buildLmTrainProgram(gpt, { type: 'adamw' }, 8, { rate: 0.3, seed: 0 });
    // Embeddings, then per block: attention probabilities, the attention branch, the MLP branch.
    assert.equal(train.graph.nodes.filter((n) => n.op === 'Dropout').length, 1 + 3 * config.layers);
    assert.equal(buildLmTrainProgram(gpt, { type: 'adamw' }, 8).graph.nodes.filter((n) => n.op === 'Dropout').length, 0);
    for (const m of [lmEvalModel(gpt, 8), lmLogitsModel(gpt, 8), gptDecoderModel(gpt)]) {
      assert.ok(!m.graph.nodes.some((n) => n.opType === 'Dropout'), `${m.graph.name} has no dropout`);
    }
    await assert.rejects(trainLm(createGpt(config), ids, undefined, { ...short, dropout: 1 }), (e: unknown) => e instanceof InvalidInputError && e.details?.field === 'model.dropout');
  });

  test('the last evaluation takes every held-out window; the ones before may take a spread sample', async () => {
    const short = { ...options, steps: 20, evalEvery: 10, sampleTokens: 0 };
    const noisy = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 4); // windows that differ
    const run = async (progressEvalWindows?: number) => (await trainLm(createGpt(config, 0), ids.subarray(0, 500), noisy, { ...short, progressEvalWindows })).evals;
    const [full, sampled] = [await run(), await run(2)];
    assert.equal(sampled[1]!.valLoss, full[1]!.valLoss, 'the final valLoss is over all windows either way');
    assert.notEqual(sampled[0]!.valLoss, full[0]!.valLoss, 'an earlier one over 2 of the 49 windows');
  });

  test('distillation: a student learns what its teacher predicts (alpha 1), not what its own text says (alpha 0); the teacher is read back from its decoder graph', async () => {
    // The teacher learned "abcd…" (next = id + 1); the student's text steps by 2 ("acac…", "bdbd…").
    const teacher = createGpt({ ...config, context: 16, dim: 24 }, 5);
    await trainLm(teacher, ids, undefined, { ...options, sampleTokens: 0, evalEvery: undefined });
    const read = gptFromDecoder(decodeModel(encodeModel(gptDecoderModel(teacher))))!;
    assert.deepEqual(read.config, teacher.config);
    assert.deepEqual(read.weights, teacher.weights);
    assert.ok((await evaluateLm(read, ids.subarray(500), 8)).valAccuracy === 1, 'the teacher predicts its own text');
    const twos = Int32Array.from({ length: 600 }, (_, i) => ((i % 2) * 2 + (i >> 6)) % 4);
    const student = async (alpha: number) => {
      const gpt = createGpt(config, 0);
      await trainLm(gpt, twos, undefined, { ...options, steps: 400, sampleTokens: 0, evalEvery: undefined, teacher: { gpt: read, temperature: 1, alpha } });
      return { byTeacher: (await evaluateLm(gpt, ids, 8)).valAccuracy!, byText: (await evaluateLm(gpt, twos, 8)).valAccuracy! };
    };
    const [taught, alone] = [await student(1), await student(0)];
    assert.ok(taught.byTeacher > 0.9, `the distilled student predicts the teacher's next tokens: ${taught.byTeacher}`);
    assert.ok(alone.byText > 0.8 && alone.byTeacher < 0.5, `with alpha 0 it learns its text: ${JSON.stringify(alone)}`);
    await assert.rejects(trainLm(createGpt({ ...config, vocabSize: 5 }), Int32Array.from(ids), undefined, { ...options, steps: 1, teacher: { gpt: read, temperature: 1, alpha: 1 } }), /teacher of 4 tokens/);
  });
});
