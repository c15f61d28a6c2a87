/**
 * The split criteria of the histogram growers, as proxies to maximise over candidate splits (the
 * parent's term is constant within a node): each is the left part plus the right part.
 *
 * - gini (forest classifiers): Σk l_k² / W_L (+ the same on the right) — the weighted impurity decrease up to a constant;
 * - variance (forest regressors): S_L² / W_L (+ right) — the squared-error reduction up to a constant;
 * - gradient gain (boosting): G_L² / (H_L + λ) (+ right), the second-order loss reduction (XGBoost, LightGBM).
 */

/** One side's squared-error term: S² / W (S: Σ w·y, W: Σ w). */
export function varianceTerm(s: number, w: number): number {
  return (s * s) / w;
}

/** One side's Newton term: G² / (H + λ). */
export function gradientTerm(g: number, h: number, l2: number): number {
  return (g * g) / (h + l2);
}

/** The gini term of one side from its per-class weight sums: (Σk c_k²) / W. */
export function giniTerm(sumSq: number, w: number): number {
  return sumSq / w;
}
