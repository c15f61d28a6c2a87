/**
 * The arithmetic of the split criteria (scanned in split-scan.ts), as proxies to maximise over
 * candidate splits of a node, the right side of a candidate being the node's totals minus its left:
 *
 * - gini (forest classifiers): Σk l_k² / W_L (+ the same on the right) — the weighted impurity
 *   decrease up to a constant; cells hold per-class weights packed with row counts (below);
 * - variance (forest regressors): S_L² / W_L (+ right) — the squared-error reduction up to a
 *   constant; cells hold (packed weight, Σ w·y); a split must reduce the error;
 * - gradient gain (boosting): G_L² / (H_L + λ) + G_R² / (H_R + λ) − G² / (H + λ), the second-order
 *   loss reduction (XGBoost, LightGBM, scikit-learn); cells hold (Σg, Σh, count).
 *
 * Forest bootstrap weights are integers, so a cell holds `weight + count · UNIT` in one float64
 * (exact below 2^53): one update per row instead of two, the row count being what
 * `minSamplesLeaf` needs. That limits a forest's training set to 2^26 rows.
 */
export const UNIT = 67108864;
export const MAX_FOREST_ROWS = UNIT - 1;
/** The least hessian a boosting child may have (scikit-learn's min_hessian_to_split). */
export const MIN_HESSIAN_TO_SPLIT = 1e-3;

/** The row count of a packed value (its weight is `packed − rows · UNIT`). */
export function rowsOf(packed: number): number {
  return Math.floor(packed / UNIT);
}

/** Whether a boosting node has the hessian to be split at all. */
export function canSplitHessian(h: number): boolean {
  return h >= 2 * MIN_HESSIAN_TO_SPLIT;
}

/** One side's squared-error term: S² / W (S: Σ w·y, W: Σ w). */
export function varianceTerm(s: number, w: number): number {
  return (s * s) / w;
}

/** One side's Newton term: G² / (H + λ). */
export function gradientTerm(g: number, h: number, l2: number): number {
  return (g * g) / (h + l2);
}
