/**
 * Dropout drawn by ONNX Runtime: the forward pass keeps elements or zeroes them, scaling the kept
 * ones by 1/(1 − rate); the gradient rule uses the very mask the forward pass drew (checked on
 * the same run: a finite-difference check cannot hold fixed masks across runs); a seed repeats.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradients } from '../autodiff.js';
import { emitGraph } from '../emit.js';
import { Graph } from '../graph.js';
import { f32, modelOf, withSession } from '../runtime.js';
import { dropout, mul, reduceSum } from './index.js';

async function run(rate: number, seed: number, xs: Float32Array, cs: Float32Array): Promise<{ y: Float32Array; dx: Float32Array }> {
  const g = new Graph('float32');
  const x = g.placeholder('x', [xs.length]);
  const c = g.placeholder('c', [cs.length]);
  const y = dropout(x, rate, seed);
  const [dx] = gradients(reduceSum(mul(y, c)), [x]);
  const model = modelOf(emitGraph(g, { name: 'dropout', inputs: [x, c], outputs: [{ tensor: y, name: 'y' }, { tensor: dx!, name: 'dx' }], initializers: true }));
  return withSession(model, {}, async (s) => {
    const out = await s.run({ x: f32(xs, [xs.length]), c: f32(cs, [cs.length]) });
    return { y: out.y!.data as Float32Array, dx: out.dx!.data as Float32Array };
  });
}

test('dropout: inverted scaling, the gradient through the drawn mask, reproducible by seed', async () => {
  const n = 2000;
  const xs = Float32Array.from({ length: n }, (_, i) => 1 + (i % 7));
  const cs = Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 3));
  const { y, dx } = await run(0.3, 7, xs, cs);
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    const kept = y[i] !== 0;
    if (!kept) dropped++;
    if (kept) assert.ok(Math.abs(y[i]! - xs[i]! / 0.7) < 1e-5, `y[${i}] = ${y[i]}`);
    assert.ok(Math.abs(dx[i]! - (kept ? cs[i]! / 0.7 : 0)) < 1e-5, `dx[${i}] = ${dx[i]}`);
  }
  assert.ok(dropped > 0.25 * n && dropped < 0.35 * n, `${dropped} of ${n} dropped at rate 0.3`);
  assert.deepEqual((await run(0.3, 7, xs, cs)).y, y, 'the same seed draws the same mask');
  assert.notDeepEqual((await run(0.3, 8, xs, cs)).y, y, 'another seed draws another');
  assert.equal(dropout(new Graph().placeholder('x', [3]), 0, 1).node, undefined, 'rate 0 adds no node');
});
