/**
 * The split criteria of the one split scan (split-scan.ts), as proxies to maximise over candidate
 * splits of a node: each scores a candidate from the sums of its left rows (one histogram cell's
 * `width` values), the right side being the node's totals minus them.
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
const MIN_HESSIAN_TO_SPLIT = 1e-3;

export interface SplitCriterion {
  /** Values per histogram cell. */
  readonly width: number;
  /** Relative improvement a candidate needs over the best one so far (ties keep the first). */
  readonly tolerance: number;
  /** Takes the node's totals (`width` values at `total[at]`); returns the score a split must beat. */
  begin(total: Float64Array, at: number): number;
  /** The score of a split with these left sums; -Infinity when the split is not allowed. */
  score(left: Float64Array): number;
  /** Whether the left side is the larger (where missing values go when the node saw none). */
  heavierLeft(left: Float64Array): boolean;
  /** Whether the cell at `o` holds any row. */
  occupied(hist: Float64Array, o: number): boolean;
  /** A cell value that is non-zero exactly when the cell holds a row (-1: none; ask `occupied`). */
  readonly countChannel: number;
}

/** Count and weight of a packed value. */
function rowsOf(packed: number): number {
  return Math.floor(packed / UNIT);
}

export class GiniCriterion implements SplitCriterion {
  readonly tolerance = 1e-12;
  readonly countChannel = -1;
  private readonly total: Float64Array;
  private totalRows = 0;
  private totalWeight = 0;

  constructor(readonly width: number, private readonly minLeaf: number) {
    this.total = new Float64Array(width);
  }

  begin(total: Float64Array, at: number): number {
    this.totalRows = 0;
    this.totalWeight = 0;
    for (let k = 0; k < this.width; k++) {
      const c = rowsOf(total[at + k]!);
      this.totalRows += c;
      this.total[k] = total[at + k]! - c * UNIT;
      this.totalWeight += this.total[k]!;
    }
    return -Infinity;
  }

  score(left: Float64Array): number {
    let cL = 0;
    let lSq = 0;
    let rSq = 0;
    let lW = 0;
    for (let k = 0; k < this.width; k++) {
      const v = left[k]!;
      const c = rowsOf(v);
      const l = v - c * UNIT;
      const r = this.total[k]! - l;
      cL += c;
      lSq += l * l;
      rSq += r * r;
      lW += l;
    }
    if (cL < this.minLeaf || this.totalRows - cL < this.minLeaf) return -Infinity;
    return lSq / lW + rSq / (this.totalWeight - lW);
  }

  heavierLeft(left: Float64Array): boolean {
    let lW = 0;
    for (let k = 0; k < this.width; k++) lW += left[k]! - rowsOf(left[k]!) * UNIT;
    return lW >= this.totalWeight - lW;
  }

  occupied(hist: Float64Array, o: number): boolean {
    for (let k = 0; k < this.width; k++) if (hist[o + k]! !== 0) return true;
    return false;
  }
}

export class VarianceCriterion implements SplitCriterion {
  readonly width = 2;
  readonly tolerance = 1e-12;
  readonly countChannel = 0;
  private rows = 0;
  private weight = 0;
  private sum = 0;

  constructor(private readonly minLeaf: number) {}

  begin(total: Float64Array, at: number): number {
    this.rows = rowsOf(total[at]!);
    this.weight = total[at]! - this.rows * UNIT;
    this.sum = total[at + 1]!;
    // The error reduction must be positive: a node whose targets are all equal stays a leaf.
    const parent = varianceTerm(this.sum, this.weight);
    return parent + 1e-12 * Math.abs(parent);
  }

  score(left: Float64Array): number {
    const cL = rowsOf(left[0]!);
    if (cL < this.minLeaf || this.rows - cL < this.minLeaf) return -Infinity;
    const wL = left[0]! - cL * UNIT;
    return varianceTerm(left[1]!, wL) + varianceTerm(this.sum - left[1]!, this.weight - wL);
  }

  heavierLeft(left: Float64Array): boolean {
    const wL = left[0]! - rowsOf(left[0]!) * UNIT;
    return wL >= this.weight - wL;
  }

  occupied(hist: Float64Array, o: number): boolean {
    return hist[o]! !== 0;
  }
}

export class GradientCriterion implements SplitCriterion {
  readonly width = 3;
  readonly tolerance = 0;
  readonly countChannel = 2;
  private g = 0;
  private h = 0;
  private rows = 0;
  private parent = 0;

  constructor(private readonly minLeaf: number, private readonly l2: number) {}

  begin(total: Float64Array, at: number): number {
    this.g = total[at]!;
    this.h = total[at + 1]!;
    this.rows = total[at + 2]!;
    this.parent = gradientTerm(this.g, this.h, this.l2);
    return 0; // scikit-learn's min_gain_to_split: a split must strictly reduce the loss
  }

  score(left: Float64Array): number {
    const cL = left[2]!;
    const hL = left[1]!;
    const hR = this.h - hL;
    if (cL < this.minLeaf || this.rows - cL < this.minLeaf || hL < MIN_HESSIAN_TO_SPLIT || hR < MIN_HESSIAN_TO_SPLIT) return -Infinity;
    return gradientTerm(left[0]!, hL, this.l2) + gradientTerm(this.g - left[0]!, hR, this.l2) - this.parent;
  }

  heavierLeft(left: Float64Array): boolean {
    return left[2]! >= this.rows - left[2]!;
  }

  occupied(hist: Float64Array, o: number): boolean {
    return hist[o + 2]! !== 0;
  }
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
