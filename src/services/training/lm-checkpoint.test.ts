/** A language-model checkpoint survives its byte form; the held-out lines are the last ones. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLmCheckpoint, encodeLmCheckpoint } from './lm-checkpoint.js';
import { splitLines } from './lm-job.js';

test('a checkpoint decodes to the weights, optimizer state, step and seconds it was made of', () => {
  const weights = Float32Array.from([0.5, -1.25, 3e-8]);
  const slots = [Float32Array.from([1, 2, 3]), Float32Array.from([-0, 4, 5])];
  const back = decodeLmCheckpoint(encodeLmCheckpoint(weights, { step: 40, slots, trainSeconds: 1.5 }));
  assert.deepEqual(back.weights, weights);
  assert.deepEqual(back.checkpoint, { step: 40, slots, trainSeconds: 1.5 });
});

test('splitLines holds out the last share of lines, each part joined by newlines', () => {
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
  const { train, heldOut } = splitLines(lines, 0.1);
  assert.deepEqual(heldOut.lines, ['line 18', 'line 19']);
  assert.equal(train.lines.length, 18);
  assert.equal(heldOut.text, 'line 18\nline 19');
  assert.equal(splitLines(['a', 'b'], 0.1).heldOut.lines.length, 1);
  assert.throws(() => splitLines(['only'], 0.1), /needs lines to train on/);
});
