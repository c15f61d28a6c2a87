/** Training end to end on small MNIST subsets: accuracy, loop = step, export, checkpoints, memory. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as ort from 'onnxruntime-node';
import { InvalidInputError } from '../infra/errors.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { evaluate, fit } from './train-loop.js';
import { createNetwork } from './network.js';
import { exportInference, predict } from './predict.js';
import { softenProbabilities } from './losses.js';
import type { ModelSpec } from './spec.js';
import { loadMnist } from './testing/mnist.js';

const train = loadMnist('train', 2000);
const test1k = loadMnist('test', 1000);
const small = { x: train.x.subarray(0, 600 * 784), y: train.labels.subarray(0, 600) };
const testSet = { x: test1k.x, y: test1k.labels };
const keras: ModelSpec = { kind: 'sequential', layers: [
  { type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 10, activation: 'softmax' },
] };
const mnistOpts = { inputShape: [28, 28, 1], outputs: 10, task: 'classification' as const };

describe('MNIST', () => {
  test('the Keras MLP recipe reaches > 0.85 test accuracy after two epochs on 2,000 rows', async () => {
    const net = createNetwork(keras, { ...mnistOpts, seed: 1 });
    const h = await fit(net, { x: train.x, y: train.labels }, { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 1e-3 });
    const e = await evaluate(net, testSet);
    assert.ok(e.accuracy! > 0.85, `accuracy ${e.accuracy}`);
    assert.equal(h.epochs.length, 2);
    assert.ok(h.epochs[1]!.loss < h.epochs[0]!.loss);
  });

  test('a small CNN (conv, pool, conv, pool, dense) learns', async () => {
    const net = createNetwork({ kind: 'cnn', filters: [8, 16] }, { inputShape: [784], outputs: 10, task: 'classification', seed: 2 });
    await fit(net, { x: train.x, y: train.labels }, { epochs: 2, batchSize: 32 });
    const e = await evaluate(net, { x: test1k.x.subarray(0, 500 * 784), y: test1k.labels.subarray(0, 500) });
    assert.ok(e.accuracy! > 0.85, `accuracy ${e.accuracy}`);
  });
});

describe('execution modes and reproducibility', () => {
  test('the ONNX Loop (many steps per call) and one step per call give identical weights', async () => {
    const a = createNetwork(keras, { ...mnistOpts, seed: 5 });
    const b = createNetwork(keras, { ...mnistOpts, seed: 5 });
    // 600 rows / 32: 18 full batches and a partial one, 7 steps per Loop call.
    await fit(a, small, { epochs: 2, mode: 'loop', stepsPerCall: 7 });
    await fit(b, small, { epochs: 2, mode: 'step' });
    assert.deepEqual(a.weights, b.weights);
    assert.equal(a.training!.step, 38);
  });

  test('a checkpoint resumes exactly: 1 + 2 epochs equal 3 uninterrupted (Adam, dropout, batch norm)', async () => {
    const spec: ModelSpec = { kind: 'mlp', hidden: [32], dropout: 0.3, batchNorm: true };
    const opts = { epochs: 3, batchSize: 50, optimizer: { type: 'adam' as const, learningRate: 3e-3 }, schedule: { type: 'cosine' as const } };
    const whole = createNetwork(spec, { ...mnistOpts, seed: 9 });
    await fit(whole, small, opts);
    // Interrupted after its first epoch (as when the job system preempts and checkpoints).
    const first = createNetwork(spec, { ...mnistOpts, seed: 9 });
    await fit(first, small, { ...opts, callbacks: { onEpochEnd: () => false } });
    const resumed = loadCheckpoint(saveCheckpoint(first));
    assert.equal(resumed.training!.epoch, 1);
    const h = await fit(resumed, small, opts);
    assert.deepEqual(h.epochs.map((m) => m.epoch), [2, 3]);
    assert.deepEqual(resumed.weights, whole.weights);
    assert.deepEqual(resumed.stateValues, whole.stateValues);
    assert.deepEqual(resumed.training!.slots, whole.training!.slots);
  });
});

describe('export and prediction', () => {
  test('the exported ONNX file runs in plain onnxruntime-node and matches predict', async () => {
    const net = createNetwork({ kind: 'sequential', layers: [
      { type: 'reshape', targetShape: [28, 28, 1] }, { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
      { type: 'batch_norm' }, { type: 'max_pool2d', poolSize: 2 }, { type: 'flatten' }, { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 16, activation: 'gelu' }, { type: 'layer_norm' }, { type: 'dense', units: 10, activation: 'softmax' }] },
    { inputShape: [784], outputs: 10, task: 'classification', seed: 3 });
    await fit(net, small, { epochs: 1 });
    const ours = await predict(net, testSet.x.subarray(0, 50 * 784));
    const session = await ort.InferenceSession.create(exportInference(net));
    try {
      const out = await session.run({ x: new ort.Tensor('float32', testSet.x.slice(0, 50 * 784), [50, 784]) });
      const probs = out.probabilities!.data as Float32Array;
      probs.forEach((p, i) => assert.ok(Math.abs(p - ours.probabilities![i]!) < 1e-6));
      assert.deepEqual(Array.from(out.label!.data as BigInt64Array, Number), Array.from(ours.labels!));
      for (let r = 0; r < 50; r++) {
        const row = probs.subarray(r * 10, r * 10 + 10);
        assert.ok(Math.abs(row.reduce((p, q) => p + q) - 1) < 1e-5);
      }
    } finally {
      await session.release();
    }
  });

  test('channels-last colour images (conv on [8, 8, 3], avg pool, dense on the image) train and export', async () => {
    const n = 96;
    const x = Float32Array.from({ length: n * 192 }, (_, i) => Math.cos(i * 0.37) * ((i % 3) + 1));
    const y = Int32Array.from({ length: n }, (_, r) => (x[r * 192 + 5]! > 0 ? 1 : 0) + (x[r * 192 + 1]! > 0 ? 1 : 0));
    const net = createNetwork({ layers: [
      { type: 'conv2d', filters: 4, kernelSize: [3, 2], padding: 'same', activation: 'leaky_relu' }, { type: 'avg_pool2d', poolSize: 2 },
      { type: 'dense', units: 3, activation: 'sigmoid' }, { type: 'flatten' }, { type: 'dense', units: 3 }] },
    { inputShape: [8, 8, 3], outputs: 3, task: 'classification', seed: 2 });
    const h = await fit(net, { x, y }, { epochs: 8, batchSize: 16, learningRate: 0.01 });
    assert.ok(h.epochs.at(-1)!.loss < h.epochs[0]!.loss);
    const ours = await predict(net, x);
    const session = await ort.InferenceSession.create(exportInference(net));
    try {
      const out = await session.run({ x: new ort.Tensor('float32', x, [n, 8, 8, 3]) });
      (out.probabilities!.data as Float32Array).forEach((p, i) => assert.ok(Math.abs(p - ours.probabilities![i]!) < 1e-6));
    } finally {
      await session.release();
    }
  });

  test('regression (MSE, MAE) and binary classification (sigmoid head) train and predict', async () => {
    const n = 256;
    const x = Float32Array.from({ length: n * 3 }, (_, i) => Math.sin(i * 1.7));
    const target = Float32Array.from({ length: n }, (_, i) => 2 * x[i * 3]! - x[i * 3 + 1]! + 0.5);
    for (const loss of ['mse', 'mae'] as const) {
      const net = createNetwork({ kind: 'mlp', hidden: [16] }, { inputShape: [3], outputs: 1, task: 'regression', loss, seed: 1 });
      const h = await fit(net, { x, y: target }, { epochs: 30, batchSize: 16, optimizer: 'adam', learningRate: 0.01 });
      assert.ok(h.epochs.at(-1)!.loss < h.epochs[0]!.loss / 4, `${loss}: ${h.epochs[0]!.loss} → ${h.epochs.at(-1)!.loss}`);
      const p = await predict(net, x.subarray(0, 30));
      assert.equal(p.values!.length, 10);
    }
    const labels = Float32Array.from(target, (v) => (v > 0.5 ? 1 : 0));
    const bin = createNetwork({ layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 1, activation: 'sigmoid' }] },
      { inputShape: [3], outputs: 2, task: 'classification', seed: 1 });
    assert.equal(bin.options.loss, 'binary_crossentropy');
    const h = await fit(bin, { x, y: labels }, { epochs: 20, batchSize: 16, optimizer: { type: 'sgd', momentum: 0.9, learningRate: 0.1 } });
    assert.ok(h.epochs.at(-1)!.accuracy! > 0.9, `binary accuracy ${h.epochs.at(-1)!.accuracy}`);
    const p = await predict(bin, x);
    assert.equal(p.probabilities!.length, 2 * n);
  });

  test('an embedding model trains (AdamW, clipping, step schedule)', async () => {
    const n = 200;
    const x = Float32Array.from({ length: n * 4 }, (_, i) => (i * 7 + Math.floor(i / 4)) % 10);
    const y = Int32Array.from({ length: n }, (_, r) => (x[r * 4]! >= 5 ? 1 : 0));
    const net = createNetwork({ layers: [{ type: 'embedding', inputDim: 10, outputDim: 4 }, { type: 'flatten' }, { type: 'dense', units: 2 }] },
      { inputShape: [4], outputs: 2, task: 'classification', seed: 1 });
    const h = await fit(net, { x, y }, {
      epochs: 15, batchSize: 20, optimizer: { type: 'adamw', learningRate: 0.05, weightDecay: 0.01, clipNorm: 1 }, schedule: { type: 'step', stepSize: 10, gamma: 0.5 },
    });
    assert.ok(h.epochs.at(-1)!.accuracy! > 0.95, `accuracy ${h.epochs.at(-1)!.accuracy}`);
    assert.ok(Math.abs(h.epochs.at(-1)!.learningRate - 0.025) < 1e-9);
  });
});

describe('training control', () => {
  test('validation metrics, early stopping with best-weight restore, callbacks stopping', async () => {
    const net = createNetwork(keras, { ...mnistOpts, seed: 4 });
    let best: Float32Array | undefined;
    let bestLoss = Infinity;
    const h = await fit(net, small, {
      epochs: 40, validation: 0.25, optimizer: { type: 'adam', learningRate: 0.01 },
      earlyStopping: { patience: 2, restoreBestWeights: true },
      callbacks: { onEpochEnd: (m) => { if (m.valLoss! < bestLoss) { bestLoss = m.valLoss!; best = net.weights; } } },
    });
    assert.ok(h.stoppedEarly && h.epochs.length < 40);
    assert.ok(h.epochs.every((m) => m.valLoss !== undefined && m.valAccuracy !== undefined));
    assert.equal(net.weights, best);
    const stop = createNetwork(keras, { ...mnistOpts, seed: 4 });
    const h2 = await fit(stop, small, { epochs: 5, callbacks: { onEpochEnd: (m) => m.epoch < 2 } });
    assert.equal(h2.epochs.length, 2);
  });

  test('an AbortSignal cancels training and leaves the network at an epoch boundary', async () => {
    const net = createNetwork(keras, { ...mnistOpts, seed: 4 });
    const ac = new AbortController();
    await assert.rejects(fit(net, small, { epochs: 5, stepsPerCall: 4, callbacks: { onEpochEnd: () => ac.abort(new Error('stop')) }, signal: ac.signal }), /stop/);
    assert.equal(net.training!.epoch, 1);
    assert.equal(net.training!.step, 19);
  });

  test('a diverging run raises nan_loss naming the layer and its shapes', async () => {
    const x = Float32Array.from({ length: 64 * 2 }, (_, i) => (i % 7) * 1e3);
    const y = Float32Array.from({ length: 64 }, (_, i) => i * 1e4);
    const net = createNetwork({ layers: [{ type: 'dense', units: 4, name: 'hidden' }, { type: 'dense', units: 1 }] }, { inputShape: [2], outputs: 1, task: 'regression' });
    await assert.rejects(fit(net, { x, y }, { epochs: 5, optimizer: { type: 'sgd', learningRate: 1 } }), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError && e.code === 'nan_loss', String(e));
      assert.match(e.message, /layer \d \((hidden|dense_1), /);
      assert.match(e.message, /input \[\d+\] → output \[\d+\]/);
      assert.ok(Array.isArray(e.details?.inputShape) && Array.isArray(e.details?.outputShape));
      return true;
    });
  });

  test('bad data is rejected with the row', async () => {
    const net = createNetwork(keras, mnistOpts);
    await assert.rejects(fit(net, { x: small.x, y: Int32Array.from(small.y, (v, i) => (i === 7 ? 12 : v)) }, { epochs: 1 }), /row 7/);
    await assert.rejects(fit(net, { x: small.x.subarray(0, 100), y: small.y }, { epochs: 1 }), /shape/);
  });
});

describe('distillation', () => {
  test('α = 0 trains exactly as without a teacher; loop = step; α = 1 pulls the student onto the teacher', async () => {
    const spec: ModelSpec = { kind: 'mlp', hidden: [16] };
    const opts = { inputShape: [784], outputs: 10, task: 'classification' as const, seed: 4 };
    const rows = 300;
    const data = { x: small.x.subarray(0, rows * 784), y: small.y.subarray(0, rows) };
    const teacher = createNetwork(spec, { ...opts, seed: 9 });
    await fit(teacher, data, { epochs: 2 });
    const taught = { ...data, soft: softenProbabilities((await predict(teacher, data.x)).probabilities!, 10, 2) };
    const plain = createNetwork(spec, opts);
    await fit(plain, data, { epochs: 1 });
    const zero = createNetwork(spec, opts);
    await fit(zero, taught, { epochs: 1, distillation: { temperature: 2, alpha: 0 } });
    assert.deepEqual(zero.weights, plain.weights);
    const loop = createNetwork(spec, opts);
    const step = createNetwork(spec, opts);
    await fit(loop, taught, { epochs: 1, distillation: { temperature: 2, alpha: 0.5 }, stepsPerCall: 3 });
    await fit(step, taught, { epochs: 1, distillation: { temperature: 2, alpha: 0.5 }, mode: 'step' });
    assert.deepEqual(loop.weights, step.weights);
    assert.notDeepEqual(loop.weights, plain.weights);
    // Soft targets only (α = 1), labels scrambled: the student still agrees with the teacher.
    const scrambled = { ...taught, y: Float64Array.from(data.y, (v) => (v + 3) % 10) };
    const student = createNetwork(spec, opts);
    await fit(student, scrambled, { epochs: 6, distillation: { temperature: 2, alpha: 1 } });
    const alone = createNetwork(spec, opts);
    await fit(alone, scrambled, { epochs: 6 });
    const t = (await predict(teacher, data.x)).labels!;
    const agreement = async (n: typeof student) => {
      const s = (await predict(n, data.x)).labels!;
      return t.reduce((a, v, i) => a + (v === s[i] ? 1 : 0), 0) / rows;
    };
    const [taughtAgree, aloneAgree] = [await agreement(student), await agreement(alone)];
    assert.ok(taughtAgree > 0.4 && aloneAgree < 0.15, `agreement with the teacher: distilled ${taughtAgree}, on the scrambled labels alone ${aloneAgree}`);
    await assert.rejects(fit(createNetwork(spec, opts), data, { epochs: 1, distillation: { temperature: 2, alpha: 0.5 } }), /soft targets for every training row/);
  });
});

describe('memory', () => {
  test('training the MLP does not grow the JS heap per epoch (sessions and tensors are released)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const net = createNetwork(keras, { ...mnistOpts, seed: 1 });
    const heap: number[] = [];
    const data = { x: train.x.subarray(0, 1000 * 784), y: train.labels.subarray(0, 1000) };
    for (let round = 0; round < 8; round++) {
      await fit(net, data, { epochs: round + 1, validation: testSet });
      gc();
      heap.push(process.memoryUsage().heapUsed);
    }
    // After warm-up, later rounds must not keep adding memory (1 MB slack for JIT noise).
    const growth = heap[7]! - heap[3]!;
    assert.ok(growth < 1e6, `heap grew ${(growth / 1e6).toFixed(2)} MB over 4 epochs: ${heap.map((h) => (h / 1e6).toFixed(1)).join(', ')}`);
  });
});
