/** Spec validation: bad specs raise InvalidInputErrors naming the layer and the shapes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../infra/errors.js';
import { createNetwork, validateSpec } from './network.js';
import type { LayerSpec } from './spec.js';

function rejects(fn: () => unknown, code: string, ...fragments: string[]): InvalidInputError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InvalidInputError, `expected InvalidInputError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `'${e.message}' should mention '${f}'`);
    return e;
  }
  assert.fail('expected an error');
}

const clf = { inputShape: [784], outputs: 10, task: 'classification' as const };

test('unknown layer type names the layer index and type', () => {
  const e = rejects(() => validateSpec({ kind: 'sequential', layers: [{ type: 'dense', units: 4 }, { type: 'lstm' as LayerSpec['type'] }] }, clf),
    'unknown_layer', 'layer 1 (lstm)', 'lstm');
  assert.equal(e.details?.layerIndex, 1);
  assert.deepEqual(e.details?.inputShape, [4]);
});

test('conv2d on a flat input names the layer and the shape', () => {
  const e = rejects(() => validateSpec({ layers: [{ type: 'conv2d', filters: 8, kernelSize: 3 }] }, clf), 'shape_mismatch', 'layer 0 (conv2d)', '[784]');
  assert.deepEqual(e.details?.inputShape, [784]);
});

test('a kernel larger than the image, and a bad reshape, are named', () => {
  rejects(() => validateSpec({ layers: [{ type: 'reshape', targetShape: [28, 28, 1] }, { type: 'conv2d', filters: 4, kernelSize: 30 }] }, clf),
    'shape_mismatch', 'layer 1 (conv2d)', '[30, 30]', '[28, 28, 1]');
  rejects(() => validateSpec({ layers: [{ type: 'reshape', targetShape: [27, 28, 1] }] }, clf), 'shape_mismatch', 'layer 0 (reshape)', '[784]', '[27, 28, 1]');
});

test('an output shape that does not fit the task is named with both shapes', () => {
  rejects(() => createNetwork({ layers: [{ type: 'dense', units: 3, activation: 'softmax' }] }, clf), 'output_shape_mismatch', 'layer 0 (dense)', '[3]', '[10]');
  rejects(() => createNetwork({ layers: [{ type: 'reshape', targetShape: [28, 28, 1] }, { type: 'conv2d', filters: 10, kernelSize: 28 }] }, clf),
    'output_shape_mismatch', '[1, 1, 10]', 'flatten');
});

test('bad layer options are rejected with the field name', () => {
  rejects(() => validateSpec({ layers: [{ type: 'dense', units: 0 }] }, clf), 'bad_layer', 'units');
  rejects(() => validateSpec({ layers: [{ type: 'dropout', rate: 1.5 }] }, clf), 'bad_layer', 'rate');
  rejects(() => validateSpec({ layers: [{ type: 'dense', units: 4, activation: 'swish' as 'relu' }] }, clf), 'bad_layer', 'swish');
  rejects(() => validateSpec({ layers: [{ type: 'embedding', inputDim: 10 }] }, { ...clf, inputShape: [5] }), 'bad_layer', 'outputDim');
  rejects(() => validateSpec({ kind: 'sequential', layers: [] }, clf), 'bad_model_spec');
});

test('mlp and cnn kinds expand to layer lists with an output head', () => {
  const mlp = validateSpec({ kind: 'mlp', hidden: [64, 32], dropout: 0.1 }, clf);
  assert.deepEqual(mlp.layers.map((l) => l.type), ['dense', 'dropout', 'dense', 'dropout', 'dense']);
  assert.deepEqual(mlp.shapes.at(-1), [10]);
  const cnn = validateSpec({ kind: 'cnn' }, clf);
  assert.deepEqual(cnn.shapes.map((s) => s.join('x')), ['28x28x1', '24x24x16', '12x12x16', '8x8x32', '4x4x32', '512', '10']);
  const same = validateSpec({ layers: [{ type: 'reshape', targetShape: [28, 28, 1] }, { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: 'same' },
    { type: 'avg_pool2d', poolSize: 3, strides: 2, padding: 'same' }] }, clf);
  assert.deepEqual(same.shapes.slice(1), [[14, 14, 4], [7, 7, 4]]);
});

test('weights are initialised reproducibly from the seed (He bounds before ReLU, Glorot otherwise)', () => {
  const a = createNetwork({ kind: 'mlp', hidden: [16] }, { ...clf, seed: 3 });
  const b = createNetwork({ kind: 'mlp', hidden: [16] }, { ...clf, seed: 3 });
  const c = createNetwork({ kind: 'mlp', hidden: [16] }, { ...clf, seed: 4 });
  assert.deepEqual(a.weights, b.weights);
  assert.notDeepEqual(a.weights, c.weights);
  const kernel = a.params[0]!;
  const within = (p: typeof kernel, limit: number) => {
    const w = a.weights.subarray(p.offset, p.offset + p.size);
    assert.ok(w.every((v) => Math.abs(v) <= limit) && w.some((v) => Math.abs(v) > limit * 0.9), `${p.name} within ±${limit}`);
  };
  within(kernel, Math.sqrt(6 / 784));
  within(a.params[2]!, Math.sqrt(6 / (16 + 10)));
  assert.deepEqual(a.params.map((p) => p.name), ['dense_0/kernel', 'dense_0/bias', 'output/kernel', 'output/bias']);
});
