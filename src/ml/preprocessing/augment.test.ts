import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentImages } from './augment.js';

const image = (h: number, w: number, f: (i: number, j: number) => number) => Float32Array.from({ length: h * w }, (_, k) => f(Math.floor(k / w), k % w));

test('no augmentation leaves images as they are', () => {
  const x = image(4, 5, (i, j) => i * 5 + j);
  assert.deepEqual(augmentImages(x, [4, 5, 1], { flip: false, rotate: 0, shift: 0 }, 1), x);
});

test('flips mirror rows; draws are reproducible from the seed and differ between seeds', () => {
  const x = new Float32Array(64 * 9);
  for (let n = 0; n < 64; n++) x.set(image(3, 3, (_, j) => j), n * 9);
  const out = augmentImages(x, [3, 3, 1], { flip: true, rotate: 0, shift: 0 }, 7);
  let flipped = 0;
  for (let n = 0; n < 64; n++) {
    const row = Array.from(out.subarray(n * 9, n * 9 + 3));
    assert.ok(JSON.stringify(row) === '[0,1,2]' || JSON.stringify(row) === '[2,1,0]', `image ${n}: ${row}`);
    if (row[0] === 2) flipped++;
  }
  assert.ok(flipped > 16 && flipped < 48, `about half flipped: ${flipped}`);
  assert.deepEqual(augmentImages(x, [3, 3, 1], { flip: true, rotate: 0, shift: 0 }, 7), out);
  assert.notDeepEqual(augmentImages(x, [3, 3, 1], { flip: true, rotate: 0, shift: 0 }, 8), out);
});

test('shifts and rotations move content but keep it inside the frame', () => {
  const x = image(28, 28, (i, j) => (Math.abs(i - 13.5) < 4 && Math.abs(j - 13.5) < 4 ? 1 : 0));
  const out = augmentImages(x, [28, 28, 1], { flip: false, rotate: 15, shift: 0.1 }, 3);
  const mass = (a: Float32Array) => a.reduce((p, v) => p + v, 0);
  assert.notDeepEqual(out, x);
  assert.ok(Math.abs(mass(out) - mass(x)) / mass(x) < 0.25, `mass ${mass(out)} vs ${mass(x)}`);
});
