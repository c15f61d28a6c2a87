/** Gradient checks of every layer (through the primitive ops' rules) and every loss. */
import { describe, test } from 'node:test';
import type { Tensor } from '../graph.js';
import { binaryCrossEntropy, categoricalCrossEntropy, distillationLoss, mae, mse, softenProbabilities, sparseCategoricalCrossEntropy, tokenCrossEntropy } from '../losses.js';
import assert from 'node:assert/strict';
import { forward } from '../testing/forward.js';
import { gradCheck } from '../testing/gradcheck.js';
import type { LayerSpec } from '../spec.js';
import { LAYERS } from './index.js';
import type { LayerContext } from './types.js';

/** Build one layer with its parameters taken, in creation order, from the given tensors. */
function layer(spec: LayerSpec, training = true) {
  return (x: Tensor, ...rest: Tensor[]): Tensor => {
    const queue = [...rest];
    const ctx: LayerContext = {
      graph: x.graph, training,
      param: () => queue.shift()!,
      state: () => queue.shift()!,
      setState: () => {},
      noise: () => queue.shift()!,
    };
    return LAYERS[spec.type].build(ctx, x, spec, 'l');
  };
}

describe('layers', () => {
  test('dense with each activation (float64; gelu float32)', async () => {
    for (const activation of ['linear', 'relu', 'leaky_relu', 'sigmoid', 'tanh', 'softmax'] as const) {
      await gradCheck(`dense_${activation}`, [{ shape: [3, 4] }, { shape: [4, 5] }, { shape: [5] }], layer({ type: 'dense', units: 5, activation }));
    }
    await gradCheck('dense_gelu', [{ shape: [3, 4] }, { shape: [4, 5] }, { shape: [5] }], layer({ type: 'dense', units: 5, activation: 'gelu' }), { dtype: 'float32' });
    await gradCheck('dense_seq', [{ shape: [2, 3, 4] }, { shape: [4, 2] }, { shape: [2] }], layer({ type: 'dense', units: 2, activation: 'tanh' }));
  });
  test('dropout in training (fixed noise) and inference', async () => {
    await gradCheck('dropout', [{ shape: [4, 6] }, { shape: [4, 6], values: Array.from({ length: 24 }, (_, i) => (i * 0.37) % 1), nograd: true }],
      layer({ type: 'dropout', rate: 0.3 }));
    await gradCheck('dropout_inf', [{ shape: [4, 6] }], layer({ type: 'dropout', rate: 0.3 }, false));
  });
  test('conv2d valid/same/strided (float32)', async () => {
    const o = { dtype: 'float32' as const, samples: 10 };
    await gradCheck('conv_valid', [{ shape: [2, 2, 6, 6] }, { shape: [3, 2, 3, 3] }, { shape: [3] }], layer({ type: 'conv2d', filters: 3, kernelSize: 3, activation: 'tanh' }), o);
    await gradCheck('conv_same_s2', [{ shape: [2, 1, 7, 7] }, { shape: [2, 1, 3, 3] }, { shape: [2] }], layer({ type: 'conv2d', filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), o);
    // 8 input channels: training graphs take im2col + Gemm (conv2dGemm), inference keeps Conv.
    await gradCheck('conv_gemm_same_s2', [{ shape: [2, 8, 7, 7] }, { shape: [3, 8, 3, 3] }, { shape: [3] }],
      layer({ type: 'conv2d', filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }), o);
  });
  test('max/avg pooling with same padding', async () => {
    await gradCheck('maxpool_same', [{ shape: [2, 2, 5, 5] }], layer({ type: 'max_pool2d', poolSize: 2, padding: 'same' }));
    await gradCheck('avgpool_same', [{ shape: [2, 2, 5, 5] }], layer({ type: 'avg_pool2d', poolSize: 2, padding: 'same' }), { dtype: 'float32' });
  });
  test('flatten and reshape (images go through channels-last)', async () => {
    await gradCheck('flatten', [{ shape: [2, 3, 2, 2] }], layer({ type: 'flatten' }));
    await gradCheck('reshape', [{ shape: [2, 12] }], layer({ type: 'reshape', targetShape: [2, 3, 2] }));
  });
  test('batch norm (training and inference) and layer norm', async () => {
    // Inputs: x, gamma, beta, moving mean, moving variance.
    const bn = [{ shape: [4, 3] }, { shape: [3] }, { shape: [3] }, { shape: [3], nograd: true }, { shape: [3], values: [1, 2, 0.5], nograd: true }];
    await gradCheck('batchnorm_train', bn, layer({ type: 'batch_norm' }));
    await gradCheck('batchnorm_infer', bn, layer({ type: 'batch_norm' }, false));
    await gradCheck('batchnorm_conv', [{ shape: [2, 2, 3, 3] }, { shape: [2] }, { shape: [2] }, { shape: [2], nograd: true }, { shape: [2], values: [1, 1], nograd: true }],
      layer({ type: 'batch_norm' }));
    await gradCheck('layernorm', [{ shape: [3, 5] }, { shape: [5] }, { shape: [5] }], layer({ type: 'layer_norm' }));
  });
  test('embedding', async () => {
    await gradCheck('embedding', [{ shape: [2, 3], values: [1, 0, 3, 3, 2, 1], nograd: true }, { shape: [4, 2] }], layer({ type: 'embedding', inputDim: 4, outputDim: 2 }));
  });
  test('activation layers', async () => {
    for (const activation of ['relu', 'sigmoid', 'tanh', 'softmax', 'leaky_relu'] as const) {
      await gradCheck(`act_${activation}`, [{ shape: [3, 4] }], layer({ type: 'activation', activation }));
    }
  });
});

describe('losses (float64, from logits)', () => {
  test('mse, mae', async () => {
    await gradCheck('mse', [{ shape: [4, 2] }, { shape: [4, 2], nograd: true }], (p, y) => mse(p!, y!));
    await gradCheck('mae', [{ shape: [4, 2] }, { shape: [4, 2], nograd: true }], (p, y) => mae(p!, y!));
  });
  test('binary, categorical and sparse categorical cross-entropy', async () => {
    await gradCheck('bce', [{ shape: [5, 1], values: [-30, -1, 0.2, 2, 40] }, { shape: [5, 1], values: [0, 1, 1, 0, 1], nograd: true }], (z, y) => binaryCrossEntropy(z!, y!));
    await gradCheck('cce', [{ shape: [3, 4] }, { shape: [3, 4], values: [1, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 1], nograd: true }], (z, y) => categoricalCrossEntropy(z!, y!));
    await gradCheck('scce', [{ shape: [3, 4], values: [100, -50, 3, 0, 1, 2, 3, 4, -1, -2, -3, -4] }, { shape: [3], values: [0, 3, 2], int: true }],
      (z, y) => sparseCategoricalCrossEntropy(z!, y!));
    // The language models' form (GatherElements, no one-hot), repeated labels included.
    await gradCheck('token_ce', [{ shape: [4, 5], values: [100, -50, 3, 0, 1, 2, 3, 4, -1, -2, -3, -4, 0, 0, 0, 9, 9, 9, 9, 9] }, { shape: [4], values: [0, 3, 3, 4], int: true }],
      (z, y) => tokenCrossEntropy(z!, y!));
    const inputs = [{ shape: [4, 5], values: Array.from({ length: 20 }, (_, i) => Math.sin(i) * 5) }, { shape: [4], values: [1, 4, 4, 0], int: true }];
    const [a] = await forward(inputs, (z, y) => tokenCrossEntropy(z!, y!));
    const [b] = await forward(inputs, (z, y) => sparseCategoricalCrossEntropy(z!, y!));
    assert.ok(Math.abs(a! - b!) < 1e-12, `${a} vs ${b}`);
  });
  test('distillation: (1 − α)·hard + α·T²·CE(teacher softened at T, student logits / T), gradient and value', async () => {
    const d = { temperature: 2, alpha: 0.7 };
    const teacher = [0.7, 0.2, 0.1, 0.05, 0.05, 0.9, 0.25, 0.25, 0.5];
    const soft = Array.from(softenProbabilities(teacher, 3, d.temperature));
    const logits = [2, -1, 0.5, 0.3, 0.1, 3, -2, 1, 0];
    const labels = [0, 2, 1];
    const loss = (z: Tensor, y: Tensor, q: Tensor) => distillationLoss(sparseCategoricalCrossEntropy(z, y), z, q, d, false);
    await gradCheck('distill', [{ shape: [3, 3], values: logits }, { shape: [3], values: labels, int: true }, { shape: [3, 3], values: soft, nograd: true }],
      (z, y, q) => loss(z!, y!, q!));
    // The sigmoid head's form: one logit, the soft target is the second class's softened probability.
    const soft1 = Array.from(softenProbabilities([0.8, 0.2, 0.3, 0.7, 0.5, 0.5], 2, d.temperature, 1));
    await gradCheck('distill_binary', [{ shape: [3, 1], values: [1.5, -0.5, 4] }, { shape: [3, 1], values: [0, 1, 1], nograd: true }, { shape: [3, 1], values: soft1, nograd: true }],
      (z, y, q) => distillationLoss(binaryCrossEntropy(z!, y!), z!, q!, d, true));
    // The value by hand, in float64.
    const lsm = (v: number[]) => { const m = Math.max(...v); const s = Math.log(v.reduce((a, x) => a + Math.exp(x - m), 0)); return v.map((x) => x - m - s); };
    let hard = 0;
    let ce = 0;
    for (let i = 0; i < 3; i++) {
      const z = logits.slice(i * 3, i * 3 + 3);
      hard -= lsm(z)[labels[i]!]! / 3;
      const ls = lsm(z.map((x) => x / d.temperature));
      ce -= ls.reduce((a, l, k) => a + soft[i * 3 + k]! * l, 0) / 3;
    }
    const [got] = await forward([{ shape: [3, 3], values: logits }, { shape: [3], values: labels, int: true }, { shape: [3, 3], values: soft }], (z, y, q) => loss(z!, y!, q!));
    const want = (1 - d.alpha) * hard + d.alpha * d.temperature ** 2 * ce;
    assert.ok(Math.abs(got! - want) < 1e-6, `${got} vs ${want}`);
  });
  test('softened probabilities: T = 1 leaves them, a larger T flattens them, ranks kept', () => {
    const p = [0.7, 0.2, 0.1];
    assert.deepEqual(Array.from(softenProbabilities(p, 3, 1), (v) => +v.toFixed(6)), p);
    const q = softenProbabilities(p, 3, 4);
    assert.ok(q[0]! > q[1]! && q[1]! > q[2]! && q[0]! < 0.7 && q[2]! > 0.1, `${q}`);
    assert.ok(Math.abs(q.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    // Zero probabilities (a forest's) stay finite.
    assert.ok(softenProbabilities([1, 0], 2, 2).every(Number.isFinite));
  });
});
