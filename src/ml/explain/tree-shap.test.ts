import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/random.js';
import { fitGradientBoosting } from '../estimators/gradient-boosting.js';
import { fitRandomForest } from '../estimators/random-forest.js';
import { ensembleScores } from '../estimators/trees/tree.js';
import type { TreeEnsembleState } from '../estimators/types.js';
import { interventionalTreeShap } from './tree-shap.js';

/** Shapley values of the mixed game by enumerating every coalition of players: the definition. */
function bruteForce(state: TreeEnsembleState, x: Float32Array, bg: Float32Array, bgRows: number, playerOf: number[], M: number): Float64Array {
  const F = state.nFeatures;
  const O = state.outputs;
  const v = new Float64Array((1 << M) * O);
  for (let S = 0; S < 1 << M; S++) {
    const z = new Float32Array(bgRows * F);
    for (let b = 0; b < bgRows; b++) for (let j = 0; j < F; j++) z[b * F + j] = (S >> playerOf[j]!) & 1 ? x[j]! : bg[b * F + j]!;
    const s = ensembleScores(state, z, bgRows);
    for (let b = 0; b < bgRows; b++) for (let k = 0; k < O; k++) v[S * O + k]! += s[b * O + k]! / bgRows;
  }
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const phi = new Float64Array(M * O);
  for (let i = 0; i < M; i++) {
    for (let S = 0; S < 1 << M; S++) {
      if ((S >> i) & 1) continue;
      let size = 0;
      for (let m = S; m; m &= m - 1) size++;
      const w = (fact(size) * fact(M - size - 1)) / fact(M);
      for (let k = 0; k < O; k++) phi[i * O + k]! += w * (v[(S | (1 << i)) * O + k]! - v[S * O + k]!);
    }
  }
  return phi;
}

function data(n: number, F: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * F);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  for (let i = 0; i < n; i += 7) x[i * F + 1] = NaN; // missing values take their own branch
  const y = Int32Array.from({ length: n }, (_, i) => ((x[i * F]! + (x[i * F + 2]! > 0 ? 1 : 0) + 0.5 * (x[i * F + 3]! || 0)) > 0.5 ? 1 : 0) + (x[i * F + 4]! > 1 ? 1 : 0));
  return { x, y };
}

// Five features, four players: features 3 and 4 are one player, as the one-hot columns of one raw column are.
const playerOf = [0, 1, 2, 3, 3];
const M = 4;

function check(state: TreeEnsembleState, x: Float32Array, rows: number, bg: Float32Array, bgRows: number): void {
  const F = state.nFeatures;
  const O = state.outputs;
  const r = interventionalTreeShap(state, x, rows, bg, bgRows, playerOf, M);
  const scores = ensembleScores(state, x, rows);
  for (let i = 0; i < rows; i++) {
    const exact = bruteForce(state, x.subarray(i * F, (i + 1) * F), bg, bgRows, playerOf, M);
    for (let k = 0; k < O; k++) {
      let sum = 0;
      for (let p = 0; p < M; p++) {
        const got = r.values[(i * M + p) * O + k]!;
        assert.ok(Math.abs(got - exact[p * O + k]!) < 1e-9, `row ${i} player ${p} output ${k}: ${got} vs brute force ${exact[p * O + k]}`);
        sum += got;
      }
      assert.ok(Math.abs(sum + r.base[k]! - scores[i * O + k]!) < 1e-9, `local accuracy row ${i} output ${k}`);
    }
  }
}

test('interventional TreeSHAP equals brute-force Shapley values: random forest classifier (3 classes, averaged trees)', () => {
  const { x, y } = data(300, 5, 1);
  const state = fitRandomForest({ data: x, rows: 300, cols: 5 }, { task: 'classification', y, classCount: 3 }, { nEstimators: 8, maxDepth: 5 }, { seed: 3 });
  check(state, x.subarray(0, 6 * 5), 6, x.subarray(100 * 5, 120 * 5), 20);
});

test('interventional TreeSHAP equals brute-force Shapley values: gradient boosting, binary (margin) and multi-class', () => {
  const { x, y } = data(300, 5, 2);
  const binary = fitGradientBoosting({ data: x, rows: 300, cols: 5 }, { task: 'classification', y: y.map((v) => (v > 0 ? 1 : 0)), classCount: 2 }, { maxIter: 15, maxDepth: 4 }, { seed: 1 });
  check(binary, x.subarray(0, 6 * 5), 6, x.subarray(50 * 5, 75 * 5), 25);
  const multi = fitGradientBoosting({ data: x, rows: 300, cols: 5 }, { task: 'classification', y, classCount: 3 }, { maxIter: 6, maxDepth: 3 }, { seed: 1 });
  assert.equal(multi.outputs, 3);
  check(multi, x.subarray(10 * 5, 14 * 5), 4, x.subarray(200 * 5, 215 * 5), 15);
});

test('interventional TreeSHAP equals brute-force Shapley values: gradient boosting regression', () => {
  const { x } = data(300, 5, 4);
  const yv = Float64Array.from({ length: 300 }, (_, i) => x[i * 5]! * 2 + (x[i * 5 + 3]! > 0 ? x[i * 5 + 4]! : -1));
  const state = fitGradientBoosting({ data: x, rows: 300, cols: 5 }, { task: 'regression', y: yv }, { maxIter: 20, maxDepth: 5 }, { seed: 0 });
  check(state, x.subarray(0, 5 * 5), 5, x.subarray(100 * 5, 130 * 5), 30);
});
