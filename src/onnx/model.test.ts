import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { attr, DataType, DEFAULT_OPSETS, encodeModel, tensor } from './model.js';

test('an encoded graph with initializers, attributes and symbolic dims runs in ONNX Runtime', async () => {
  const bytes = encodeModel({
    opsets: DEFAULT_OPSETS,
    graph: {
      name: 'gemm_softmax',
      inputs: [{ name: 'x', type: { elemType: DataType.FLOAT, shape: ['batch', 2] } }],
      outputs: [{ name: 'y', type: { elemType: DataType.FLOAT, shape: ['batch', 3] } }],
      initializers: [tensor.float('w', [2, 3], [1, 0, -1, 0, 2, 1]), tensor.float('b', [3], [0.5, -0.5, 0])],
      nodes: [
        { opType: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['z'], attributes: { alpha: attr.float(2) } },
        { opType: 'Softmax', inputs: ['z'], outputs: ['y'], attributes: { axis: attr.int(-1) } },
      ],
    },
    metadata: { framework: 'aiaas' },
  });
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, -1, 0.5]), [2, 2]) });
    const y = out.y!.data as Float32Array;
    // Reference: y = softmax(2·x·W + b), computed directly.
    const x = [[1, 2], [-1, 0.5]];
    const w = [[1, 0, -1], [0, 2, 1]];
    const b = [0.5, -0.5, 0];
    const expected = x.flatMap((row) => {
      const z = b.map((bj, j) => 2 * (row[0]! * w[0]![j]! + row[1]! * w[1]![j]!) + bj);
      const e = z.map(Math.exp);
      const s = e.reduce((p, q) => p + q);
      return e.map((v) => v / s);
    });
    expected.forEach((v, i) => assert.ok(Math.abs(y[i]! - v) < 1e-6, `y[${i}] = ${y[i]} expected ${v}`));
  } finally {
    await session.release();
  }
});

test('string tensors and the ONNX-ML domain round-trip (LabelEncoder)', async () => {
  const bytes = encodeModel({
    opsets: DEFAULT_OPSETS,
    graph: {
      name: 'labels',
      inputs: [{ name: 'x', type: { elemType: DataType.STRING, shape: ['n'] } }],
      outputs: [{ name: 'y', type: { elemType: DataType.INT64, shape: ['n'] } }],
      nodes: [{
        opType: 'LabelEncoder', domain: 'ai.onnx.ml', inputs: ['x'], outputs: ['y'],
        attributes: { keys_strings: attr.strings(['a', 'b']), values_int64s: attr.ints([7, -3]), default_int64: attr.int(-1) },
      }],
    },
  });
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ x: new ort.Tensor('string', ['b', 'a', 'zz'], [3]) });
    assert.deepEqual(Array.from(out.y!.data as BigInt64Array, Number), [-3, 7, -1]);
  } finally {
    await session.release();
  }
});

test('int64 initializers with negative values encode correctly', async () => {
  const bytes = encodeModel({
    opsets: DEFAULT_OPSETS,
    graph: {
      name: 'reshape',
      inputs: [{ name: 'x', type: { elemType: DataType.FLOAT, shape: [2, 3] } }],
      outputs: [{ name: 'y', type: { elemType: DataType.FLOAT } }],
      initializers: [tensor.int64('shape', [2], [-1, 2])],
      nodes: [{ opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] }],
    },
  });
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(6), [2, 3]) });
    assert.deepEqual(out.y!.dims, [3, 2]);
  } finally {
    await session.release();
  }
});
