import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/random.js';
import { RowHistograms, rowMajorBins } from './histogram.js';
import { HistogramTeam, TEAM_MIN_WORK } from './histogram-team.js';

test('a histogram team (1 and 3 helpers, with and without hessians) writes the cells one thread would, for any node and active features', () => {
  const rng = new Rng(4);
  const n = 5000;
  const F = 9;
  const nBins = Int32Array.from({ length: F }, (_, f) => [2, 255, 17, 3, 100, 64, 5, 200, 9][f]!);
  const offset = new Int32Array(F + 1);
  for (let f = 0; f < F; f++) offset[f + 1] = offset[f]! + nBins[f]! + 1;
  const bins = new Uint8Array(n * F);
  for (let f = 0; f < F; f++) for (let i = 0; i < n; i++) bins[f * n + i] = rng.int(nBins[f]! + 1); // the last: missing
  const rowBins = rowMajorBins(bins, n, F, true);
  const shared = <T extends Int32Array | Float64Array>(C: new (b: SharedArrayBuffer) => T, length: number): T => new C(new SharedArrayBuffer(8 * length));
  const indices = shared(Int32Array, n);
  indices.set(Int32Array.from({ length: n }, (_, i) => i).sort(() => rng.float() - 0.5));
  const grad = shared(Float64Array, n);
  const hess = shared(Float64Array, n);
  for (let i = 0; i < n; i++) { grad[i] = rng.float() - 0.5; hess[i] = rng.float(); }
  const size = offset[F]! * 3;
  const single = new RowHistograms(rowBins, F, offset, nBins);
  // h null: all hessians 1 (the squared error); the team reads the arrays it was set up with.
  for (const [helpers, h] of [[1, hess], [1, null], [3, hess]] as const) {
    const team = new HistogramTeam(helpers, { rowBins, n, F, offset, nBins, indices, grad, hess: h });
    try {
      assert.ok(team.reads(grad.subarray(0, n), h), 'its own gradients, as a view from their start');
      assert.ok(!team.reads(Float64Array.from(grad), h), 'a copy is not what the helpers read');
      const hist = team.allocate(size);
      const cases: Array<[number, number, number[]]> = [
        [0, n, [0, 1, 2, 3, 4, 5, 6, 7, 8]],
        [100, 4900, [8, 1, 5, 0]],
        [0, n, [7]], // no more features than helpers: the caller alone
        [10, 10 + Math.ceil(TEAM_MIN_WORK / 9) - 1, [0, 1, 2, 3, 4, 5, 6, 7, 8]], // little work: the caller alone
      ];
      for (const [start, end, feats] of cases) {
        const active = Int32Array.from(feats);
        const want = new Float64Array(size);
        single.build(want, indices, start, end, grad, h, active, 0, active.length, true);
        hist.fill(NaN); // a cell the team forgets to clear shows
        team.build(hist, start, end, active, 0, active.length);
        for (const f of feats) {
          for (let c = offset[f]! * 3; c < offset[f + 1]! * 3; c++) assert.equal(hist[c], want[c], `helpers ${helpers} feature ${f} cell ${c}`);
        }
      }
    } finally {
      team.close();
    }
  }
});
