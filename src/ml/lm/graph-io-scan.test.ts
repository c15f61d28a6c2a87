/** The streaming scan reads the same from any chunking, skips weights, and refuses what is not a model. */
// Beside the HF-folder fixtures it scans (ml/testing), since onnx/ sits below ml and may not import them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { externalDataDecoderGraph, tinyGptFolder } from '../testing/hf-folders.js';
import { GraphScanner, scanGraph } from '../../onnx/graph-io-scan.js';

test('a graph scanned one byte at a time reads as when scanned whole', () => {
  const bytes = tinyGptFolder().get('onnx/model.onnx')!;
  const whole = scanGraph(bytes);
  const s = new GraphScanner();
  for (let i = 0; i < bytes.length; i++) s.write(bytes.subarray(i, i + 1));
  assert.deepEqual(s.end(), whole);
  assert.deepEqual(whole.inputs.map((t) => t.name), ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value']);
  assert.deepEqual(whole.outputs.map((t) => t.name), ['logits', 'present.0.key', 'present.0.value']);
  assert.deepEqual(whole.inputs[0]!.shape, ['batch_size', 'sequence_length']);
  assert.equal(whole.inputs[0]!.elemType, 7);
  assert.deepEqual(whole.externalData, []);
});

test('external data references are read from the initializers', () => {
  assert.deepEqual(scanGraph(externalDataDecoderGraph(1024)).externalData, ['model.onnx_data']);
});

test('bytes that are not an ONNX model, or are cut short, are refused', () => {
  assert.throws(() => scanGraph(Buffer.from('not a model at all, just text')), /not an ONNX model|malformed|truncated/);
  const bytes = tinyGptFolder().get('onnx/model.onnx')!;
  assert.throws(() => scanGraph(bytes.subarray(0, bytes.length - 10)), /truncated/);
});
