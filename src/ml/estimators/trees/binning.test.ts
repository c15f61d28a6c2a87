import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/random.js';
import { Float32Sorter, binMatrix, binOf, fitBinThresholds, thresholdsOfSorted } from './binning.js';

/** Columns of every kind the fast paths treat differently: few values, many, signed zeros, NaN, infinities. */
function columns(n: number, rng: Rng): Array<(i: number) => number> {
  return [
    () => rng.int(3),
    () => (rng.float() < 0.3 ? NaN : rng.int(255) - 100), // 255 distinct: the distinct-value path at its limit
    () => rng.int(256), // 256 distinct: one too many, quantiles of the sorted column
    () => (rng.float() - 0.5) * 1e6,
    () => [0, -0, 1.5, -2.25, Infinity, -Infinity][rng.int(6)]!,
    (i) => (i % 7 === 0 ? NaN : Math.exp(10 * rng.float()) * (rng.float() < 0.5 ? -1 : 1)),
    () => 42,
    () => NaN,
    (i) => i / n,
  ];
}

test('the radix sort orders float32 values as Float32Array.prototype.sort does (−0 before +0)', () => {
  const rng = new Rng(2);
  const sorter = new Float32Sorter(10);
  for (const make of columns(3000, rng)) {
    const a = Float32Array.from({ length: 3000 }, (_, i) => make(i)).filter((v) => v === v);
    const want = a.slice().sort();
    sorter.sort(a); // grows past its first capacity
    assert.deepEqual(new Uint32Array(a.buffer), new Uint32Array(want.buffer));
  }
});

test('thresholds and bins are those of a plain sort and a binary search per value', () => {
  const rng = new Rng(3);
  for (const n of [1, 7, 4000]) {
    const makers = columns(n, rng);
    const F = 2 * makers.length + 1; // several feature blocks, the last one partial
    const data = new Float64Array(n * F);
    for (let f = 0; f < F; f++) for (let i = 0; i < n; i++) data[i * F + f] = makers[f % makers.length]!(i);
    const x = { data, rows: n, cols: F };
    for (const maxBins of [255, 16]) {
      const thresholds = fitBinThresholds(x, maxBins, new Rng(0));
      for (let f = 0; f < F; f++) {
        const col = Float32Array.from({ length: n }, (_, i) => data[i * F + f]!).filter((v) => v === v).sort();
        assert.deepEqual(thresholds[f], thresholdsOfSorted(col, maxBins), `n ${n} feature ${f} maxBins ${maxBins}`);
      }
      const binned = binMatrix(x, thresholds);
      for (let f = 0; f < F; f++) {
        let missing = 0;
        for (let i = 0; i < n; i++) {
          const want = binOf(data[i * F + f]!, thresholds[f]!);
          assert.equal(binned.bins[f * n + i], want, `feature ${f} row ${i}`);
          if (Number.isNaN(data[i * F + f]!)) missing = 1;
        }
        assert.equal(binned.hasMissing[f], missing);
      }
    }
  }
});
