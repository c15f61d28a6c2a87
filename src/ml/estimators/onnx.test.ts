import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, tensor } from '../../onnx/model.js';
import { loadExampleSplit } from '../testing/example-data.js';
import { fitModel, predict } from './index.js';
import { onnxNodes } from './onnx.js';
import type { ClassPrediction, Matrix } from './types.js';

test('onnxNodes composes after preprocessing nodes into one graph with custom names', async () => {
  const { train, test: held } = loadExampleSplit('iris');
  // The model is fitted on standardised features; the graph takes raw ones and scales them first.
  const F = train.x.cols;
  const mean = new Float64Array(F);
  const std = new Float64Array(F);
  for (let j = 0; j < F; j++) {
    for (let i = 0; i < train.x.rows; i++) mean[j]! += train.x.data[i * F + j]! / train.x.rows;
    for (let i = 0; i < train.x.rows; i++) std[j]! += (train.x.data[i * F + j]! - mean[j]!) ** 2 / train.x.rows;
    std[j] = Math.sqrt(std[j]!);
  }
  const scale = (m: Matrix): Matrix => ({
    rows: m.rows, cols: F, data: Float32Array.from(m.data, (v, k) => Math.fround((Math.fround(v) - Math.fround(mean[k % F]!)) / Math.fround(std[k % F]!))),
  });
  const state = fitModel({ kind: 'gradient_boosting', maxIter: 20 }, scale(train.x), train.target);
  const part = onnxNodes(state, { input: 'scaled', prefix: 'gb_', outputs: { label: 'species', probabilities: 'species_probs' } });
  assert.deepEqual(part.outputs.map((o) => o.name), ['species', 'species_probs']);
  assert.ok(part.nodes.every((n) => n.name?.startsWith('gb_')));
  const bytes = encodeModel({
    opsets: part.opsets,
    graph: {
      name: 'pipeline',
      inputs: [{ name: 'raw', type: { elemType: DataType.FLOAT, shape: ['N', F] } }],
      outputs: part.outputs,
      initializers: [tensor.float('mean', [F], mean), tensor.float('std', [F], std), ...part.initializers],
      nodes: [
        { opType: 'Sub', inputs: ['raw', 'mean'], outputs: ['centred'] },
        { opType: 'Div', inputs: ['centred', 'std'], outputs: ['scaled'] },
        ...part.nodes,
      ],
    },
  });
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ raw: new ort.Tensor('float32', Float32Array.from(held.x.data), [held.x.rows, F]) });
    const ours = predict(state, scale(held.x)) as ClassPrediction;
    assert.deepEqual(Array.from(out.species!.data as BigInt64Array, Number), Array.from(ours.labels));
    const probs = out.species_probs!.data as Float32Array;
    for (let i = 0; i < probs.length; i++) assert.ok(Math.abs(probs[i]! - ours.probabilities[i]!) < 1e-5);
  } finally {
    await session.release();
  }
});

test('a regression export has one output, value [N, 1]', () => {
  const { train } = loadExampleSplit('diabetes');
  const state = fitModel({ kind: 'linear_regression' }, train.x, train.target);
  const part = onnxNodes(state, { input: 'x' });
  assert.deepEqual(part.outputs, [{ name: 'value', type: { elemType: DataType.FLOAT, shape: ['N', 1] } }]);
});
