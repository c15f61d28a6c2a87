import { test } from 'node:test';
import assert from 'node:assert/strict';
import { permutation, Rng } from './random.js';

test('the same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const sa = Array.from({ length: 20 }, () => a.uint32());
  const sb = Array.from({ length: 20 }, () => b.uint32());
  const sc = Array.from({ length: 20 }, () => c.uint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('floats are uniform in [0, 1) and ints in range', () => {
  const r = new Rng(0);
  let sum = 0;
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    sum += f;
    counts[r.int(10)]++;
  }
  assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.005, `mean ${sum / 100_000}`);
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `bucket ${c}`);
});

test('permutation is a shuffled 0..n-1 and forks are independent but reproducible', () => {
  const p = permutation(1000, new Rng(1));
  assert.deepEqual(Array.from(p).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual(Array.from(p.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const f1 = new Rng(5).fork();
  const f2 = new Rng(5).fork();
  assert.equal(f1.uint32(), f2.uint32());
});
