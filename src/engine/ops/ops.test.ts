/** Every primitive op's gradient rule against central finite differences. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { emitGraph } from '../emit.js';
import { Graph } from '../graph.js';
import { Rng } from '../init.js';
import { modelOf, withSession } from '../runtime.js';
import { gradCheck } from '../testing/gradcheck.js';
import * as op from './index.js';

const positive = (n: number) => Array.from({ length: n }, (_, i) => 0.5 + ((i * 7) % 11) / 10);

describe('elementwise ops (float64)', () => {
  test('add/sub/mul/div with broadcasting', async () => {
    await gradCheck('add', [{ shape: [3, 4] }, { shape: [4] }], (a, b) => op.add(a!, b!));
    await gradCheck('sub', [{ shape: [3, 1] }, { shape: [1, 4] }], (a, b) => op.sub(a!, b!));
    await gradCheck('mul', [{ shape: [2, 3, 4] }, { shape: [3, 1] }], (a, b) => op.mul(a!, b!));
    await gradCheck('div', [{ shape: [3, 4] }, { shape: [4], values: positive(4) }], (a, b) => op.div(a!, b!));
  });
  test('maximum', async () => {
    await gradCheck('max', [{ shape: [3, 4] }, { shape: [3, 4] }], (a, b) => op.maximum(a!, b!));
  });
  test('exp, log, sqrt, abs, neg', async () => {
    await gradCheck('exp', [{ shape: [3, 4] }], (a) => op.exp(a!));
    await gradCheck('log', [{ shape: [3, 4], values: positive(12) }], (a) => op.log(a!));
    await gradCheck('sqrt', [{ shape: [3, 4], values: positive(12) }], (a) => op.sqrt(a!));
    await gradCheck('abs', [{ shape: [3, 4] }], (a) => op.abs(a!));
    await gradCheck('neg', [{ shape: [3, 4] }], (a) => op.neg(a!));
  });
  test('relu, leaky relu, sigmoid, tanh', async () => {
    await gradCheck('relu', [{ shape: [4, 5] }], (a) => op.relu(a!));
    await gradCheck('leaky', [{ shape: [4, 5] }], (a) => op.leakyRelu(a!, 0.2));
    await gradCheck('sigmoid', [{ shape: [4, 5] }], (a) => op.sigmoid(a!));
    await gradCheck('tanh', [{ shape: [4, 5] }], (a) => op.tanh(a!));
  });
  test('erf (float32: ORT has no double Erf kernel)', async () => {
    await gradCheck('erf', [{ shape: [4, 5] }], (a) => op.erf(a!), { dtype: 'float32' });
  });
  test('where', async () => {
    await gradCheck('where', [{ shape: [3, 4] }, { shape: [4] }], (a, b) => op.where(op.compare('Greater', a!, 0), a!, b!));
  });
});

describe('matrix products (float64)', () => {
  test('matmul 2-D and batched', async () => {
    await gradCheck('matmul', [{ shape: [3, 4] }, { shape: [4, 5] }], (a, b) => op.matmul(a!, b!));
    await gradCheck('matmul3x2', [{ shape: [2, 3, 4] }, { shape: [4, 5] }], (a, b) => op.matmul(a!, b!));
    await gradCheck('bmm', [{ shape: [2, 3, 4] }, { shape: [2, 4, 5] }], (a, b) => op.matmul(a!, b!));
  });
  test('gemm with every transpose combination', async () => {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      await gradCheck(`gemm${ta}${tb}`, [{ shape: ta ? [4, 3] : [3, 4] }, { shape: tb ? [5, 4] : [4, 5] }], (a, b) => op.gemm(a!, b!, ta, tb));
    }
  });
});

describe('reductions and softmax (float64)', () => {
  test('reduce sum/mean/max', async () => {
    await gradCheck('sum', [{ shape: [3, 4, 2] }], (a) => op.reduceSum(a!, [1]));
    await gradCheck('sumk', [{ shape: [3, 4, 2] }], (a) => op.reduceSum(a!, [0, 2], true));
    await gradCheck('mean', [{ shape: [3, 4, 2] }], (a) => op.reduceMean(a!, [0, 2]));
    await gradCheck('max', [{ shape: [3, 4] }], (a) => op.reduceMax(a!, [1], true));
  });
  test('softmax and log-softmax', async () => {
    await gradCheck('softmax', [{ shape: [3, 5] }], (a) => op.softmax(a!));
    await gradCheck('logsoftmax', [{ shape: [3, 5] }], (a) => op.logSoftmax(a!));
  });
});

describe('shape ops (float64)', () => {
  test('reshape, flatten, transpose', async () => {
    await gradCheck('reshape', [{ shape: [2, 6] }], (a) => op.reshape(a!, [3, -1]));
    await gradCheck('flatten', [{ shape: [2, 3, 2] }], (a) => op.flatten(a!));
    await gradCheck('transpose', [{ shape: [2, 3, 4] }], (a) => op.transpose(a!, [2, 0, 1]));
  });
  test('slice, pad, concat, split', async () => {
    await gradCheck('slice', [{ shape: [4, 5] }], (a) => op.slice(a!, [1, 0], [3, 4], [0, 1]));
    await gradCheck('pad', [{ shape: [2, 3] }], (a) => op.pad(a!, [1, 0, 0, 2]));
    await gradCheck('concat', [{ shape: [2, 3] }, { shape: [2, 2] }], (a, b) => op.concat([a!, b!], 1));
    await gradCheck('split', [{ shape: [7] }], (a) => {
      const [p, q] = op.split(a!, [3, 4]);
      return op.concat([op.mul(q!, 2), p!], 0);
    });
  });
});

describe('conv, pooling, gather', () => {
  test('conv2d valid, strided and padded (float32)', async () => {
    const f32 = { dtype: 'float32' as const, samples: 12 };
    await gradCheck('conv', [{ shape: [2, 1, 6, 6] }, { shape: [3, 1, 3, 3] }, { shape: [3] }], (x, w, b) => op.conv2d(x!, w!, b!), f32);
    await gradCheck('conv_s2p1', [{ shape: [2, 2, 7, 6] }, { shape: [3, 2, 3, 3] }], (x, w) => op.conv2d(x!, w!, undefined, { strides: [2, 2], pads: [1, 1, 1, 0] }), f32);
    await gradCheck('conv_5x5', [{ shape: [1, 3, 8, 8] }, { shape: [2, 3, 5, 5] }], (x, w) => op.conv2d(x!, w!, undefined, { strides: [1, 2] }), f32);
  });
  test('conv2dGemm (im2col + Gemm, training graphs): valid, strided and padded, one and several channels (float32)', async () => {
    const f32 = { dtype: 'float32' as const, samples: 12 };
    const c = op.GEMM_MIN_CHANNELS;
    await gradCheck('convg', [{ shape: [2, c, 6, 6] }, { shape: [3, c, 3, 3] }, { shape: [3] }], (x, w, b) => op.conv2dGemm(x!, w!, b!), f32);
    await gradCheck('convg_3x2', [{ shape: [2, c, 6, 5] }, { shape: [3, c, 3, 2] }, { shape: [3] }], (x, w, b) => op.conv2dGemm(x!, w!, b!), f32);
    await gradCheck('convg_s2p1', [{ shape: [2, c, 7, 6] }, { shape: [3, c, 3, 3] }], (x, w) => op.conv2dGemm(x!, w!, undefined, { strides: [2, 2], pads: [1, 1, 1, 0] }), f32);
    // Training (conv2dGemm) and inference (conv2d) graphs must compute the same function of the same weights.
    const rng = new Rng(3);
    for (const [x, w, o] of [[[2, c, 7, 6], [3, c, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 0] }], [[3, c + 1, 9, 8], [4, c + 1, 5, 4], {}]] as const) {
      const g = new Graph('float32');
      const [tx, tw, tb] = [g.placeholder('x', [...x]), g.placeholder('w', [...w]), g.placeholder('b', [w[0]])];
      const opts = o as op.Conv2dOptions;
      const graph = emitGraph(g, {
        name: 'same', inputs: [tx, tw, tb],
        outputs: [{ tensor: op.conv2dGemm(tx, tw, tb, opts), name: 'gemm' }, { tensor: op.conv2d(tx, tw, tb, opts), name: 'conv' }],
      });
      const feed = (shape: readonly number[]) => new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.uniform(-1, 1)), [...shape]);
      const out = await withSession(modelOf(graph), {}, (s) => s.run({ x: feed(x), w: feed(w), b: feed([w[0]]) }));
      const [a, b] = [out.gemm!.data as Float32Array, out.conv!.data as Float32Array];
      assert.deepEqual(out.gemm!.dims, out.conv!.dims);
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `element ${i}: ${a[i]} vs ${b[i]}`);
    }
    await gradCheck('convg_5x5', [{ shape: [1, c, 8, 8] }, { shape: [2, c, 5, 5] }], (x, w) => op.conv2dGemm(x!, w!, undefined, { strides: [1, 2] }), f32);
  });
  test('max pooling (float64) and average pooling with padding (float32)', async () => {
    await gradCheck('maxpool', [{ shape: [2, 2, 4, 6] }], (x) => op.maxPool2d(x!, { kernel: [2, 2] }));
    await gradCheck('maxpool_crop', [{ shape: [2, 2, 5, 7] }], (x) => op.maxPool2d(x!, { kernel: [2, 3] }));
    await gradCheck('maxpool_overlap', [{ shape: [1, 2, 5, 5] }], (x) => op.maxPool2d(x!, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }));
    await gradCheck('avgpool', [{ shape: [2, 2, 4, 4] }], (x) => op.avgPool2d(x!, { kernel: [2, 2] }), { dtype: 'float32' });
    await gradCheck('avgpool_pad', [{ shape: [1, 2, 5, 5] }], (x) => op.avgPool2d(x!, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), { dtype: 'float32' });
  });
  test('gather elements (picking one class per row) with repeated indices', async () => {
    await gradCheck('gather_elements', [{ shape: [3, 4] }, { shape: [3, 2], values: [0, 0, 3, 1, 2, 2], int: true }], (x, i) => op.gatherElements(x!, i!, 1));
  });
  test('gather (embedding) with repeated indices', async () => {
    await gradCheck('gather', [{ shape: [5, 3] }, { shape: [2, 3], values: [0, 4, 4, 1, 0, 2], int: true }], (t, i) => op.gather(t!, i!));
  });
});
