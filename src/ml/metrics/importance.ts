/**
 * Permutation feature importance (Breiman; scikit-learn's `permutation_importance`): how much a
 * score drops when one feature's column is shuffled, breaking its link to the target. Works with
 * any model through a scoring callback (higher = better, e.g. accuracy or R² on held-out rows).
 */
import { InvalidInputError } from '../../infra/errors.js';
import { Rng } from '../core/random.js';
import type { Matrix } from '../core/matrix.js';

export interface FeatureImportance {
  feature: number;
  /** Mean score drop over the repeats (baseline − permuted score). */
  mean: number;
  std: number;
  drops: number[];
}

export interface PermutationImportanceResult {
  baseline: number;
  /** One entry per feature, in column order. */
  features: FeatureImportance[];
}

export function permutationImportance(
  x: Matrix, score: (x: Matrix) => number, opts: { nRepeats?: number; seed?: number; features?: number[] } = {},
): PermutationImportanceResult {
  const nRepeats = opts.nRepeats ?? 5;
  if (!Number.isInteger(nRepeats) || nRepeats < 1) {
    throw new InvalidInputError('bad_params', `Parameter 'nRepeats' must be an integer ≥ 1; got ${nRepeats}.`, { param: 'nRepeats' });
  }
  const { rows: n, cols: F } = x;
  const rng = new Rng(opts.seed ?? 0);
  const baseline = score(x);
  const work: Matrix = { data: x.data.slice(), rows: n, cols: F };
  const col = new Float64Array(n);
  const perm = new Int32Array(n);
  const features: FeatureImportance[] = [];
  for (const f of opts.features ?? Array.from({ length: F }, (_, j) => j)) {
    if (!(Number.isInteger(f) && f >= 0 && f < F)) throw new InvalidInputError('bad_params', `Feature ${f} is outside [0, ${F - 1}].`);
    for (let i = 0; i < n; i++) col[i] = x.data[i * F + f]!;
    const drops: number[] = [];
    for (let r = 0; r < nRepeats; r++) {
      for (let i = 0; i < n; i++) perm[i] = i;
      rng.shuffle(perm);
      for (let i = 0; i < n; i++) work.data[i * F + f] = col[perm[i]!]!;
      drops.push(baseline - score(work));
    }
    for (let i = 0; i < n; i++) work.data[i * F + f] = col[i]!;
    const mean = drops.reduce((a, b) => a + b, 0) / nRepeats;
    const std = Math.sqrt(drops.reduce((a, b) => a + (b - mean) ** 2, 0) / nRepeats);
    features.push({ feature: f, mean, std, drops });
  }
  return { baseline, features };
}
