/**
 * The split scan of the tree growers: over a feature's histogram (histogram.ts), a candidate
 * split after each occupied bin, with the feature's missing values right and then left, scored by
 * the criterion (criteria.ts: gini, variance, gradient gain). A split "bin ≤ b" routes missing
 * values as learnt; where the node saw none, they follow the heavier side (scikit-learn's rule).
 *
 * One scan class per criterion, each with its gain computed inline: the scan is the hot loop of
 * tree growing, and a criterion called through an interface per candidate (copying the candidate's
 * sums for it) cost the growers up to half their time. The candidate rules — which sides are
 * tried, ties keep the first, where the threshold sits — are the ones of `BestSplit` below.
 */
import { MIN_HESSIAN_TO_SPLIT, UNIT, gradientTerm, rowsOf, varianceTerm } from './criteria.js';

/** The best split of a node so far; `left` holds its left side's sums (a histogram cell's width). */
export class BestSplit {
  score = -Infinity;
  found = false;
  feature = -1;
  /** Last bin going left, and the bin whose upper edge is the threshold. */
  bin = 0;
  thrBin = 0;
  missingLeft = false;
  readonly left: Float64Array;

  constructor(width: number, private readonly tolerance: number) {
    this.left = new Float64Array(width);
  }

  /** Starts a node whose splits must score above `floor`. */
  reset(floor: number): void {
    this.score = floor;
    this.found = false;
  }

  /** What a score must exceed to beat the best so far: ties (within the relative tolerance) keep the first. */
  bar(): number {
    return this.found ? this.score + this.tolerance * Math.abs(this.score) : this.score;
  }

  /** Takes a split of feature f after bin `bin` (the caller writes `left`). */
  take(score: number, f: number, bin: number, thrBin: number, missingLeft: boolean): void {
    this.score = score;
    this.found = true;
    this.feature = f;
    this.bin = bin;
    this.thrBin = thrBin;
    this.missingLeft = missingLeft;
  }
}

/**
 * The forests' threshold: halfway between the a-th of m occupied bins and the next one, like the
 * midpoint scikit-learn uses; after the last one, "every non-missing value left" (partition.ts).
 */
export function midpointBin(touched: Int32Array, a: number, m: number, nb: number): number {
  return a + 1 < m ? (touched[a]! + touched[a + 1]! - 1) >> 1 : nb - 1;
}

/**
 * The occupied non-missing bins of a forest histogram block at `o` (`width` values a cell, the
 * first `packed` of them packed weights, non-negative), ascending, into `touched`; returns their number.
 */
export function occupiedBins(hist: Float64Array, o: number, nb: number, width: number, packed: number, touched: Int32Array): number {
  let m = 0;
  for (let b = 0, at = o; b < nb; b++, at += width) {
    let any = 0;
    for (let k = 0; k < packed; k++) any += hist[at + k]!;
    if (any !== 0) touched[m++] = b;
  }
  return m;
}

/** A forest criterion's scan over the occupied bins `touched[0, m)` of feature f's block at `o`. */
export interface ForestScan {
  /** Takes the node's totals (packed, `width` values at `total[at]`) and resets `best` to the score a split must beat. */
  begin(total: Float64Array, at: number, best: BestSplit): void;
  /** Updates `best`; false when the feature cannot split the node (one occupied bin, counting the missing one). */
  scan(hist: Float64Array, o: number, f: number, nb: number, touched: Int32Array, m: number, best: BestSplit): boolean;
}

/** Gini over K packed class weights a cell. */
export class GiniScan implements ForestScan {
  private readonly total: Float64Array;
  private totalRows = 0;
  private totalWeight = 0;
  /** Left sums: packed (for the children's totals) and unpacked weights; the missing cell's weights. */
  private readonly packed: Float64Array;
  private readonly weight: Float64Array;
  private readonly missing: Float64Array;

  constructor(private readonly K: number, private readonly minLeaf: number) {
    this.total = new Float64Array(K);
    this.packed = new Float64Array(K);
    this.weight = new Float64Array(K);
    this.missing = new Float64Array(K);
  }

  begin(total: Float64Array, at: number, best: BestSplit): void {
    this.totalRows = 0;
    this.totalWeight = 0;
    for (let k = 0; k < this.K; k++) {
      const c = rowsOf(total[at + k]!);
      this.totalRows += c;
      this.total[k] = total[at + k]! - c * UNIT;
      this.totalWeight += this.total[k]!;
    }
    best.reset(-Infinity);
  }

  scan(hist: Float64Array, o: number, f: number, nb: number, touched: Int32Array, m: number, best: BestSplit): boolean {
    const { K, packed, weight, missing } = this;
    const mo = o + nb * K;
    let missingRows = 0;
    for (let k = 0; k < K; k++) {
      const v = hist[mo + k]!;
      const c = rowsOf(v);
      missingRows += c;
      missing[k] = v - c * UNIT;
    }
    const hasMissing = missingRows > 0;
    if (m + (hasMissing ? 1 : 0) <= 1) return false;
    for (let k = 0; k < K; k++) { packed[k] = 0; weight[k] = 0; }
    let rows = 0;
    for (let a = 0; a < m; a++) {
      const c = o + touched[a]! * K;
      for (let k = 0; k < K; k++) {
        const v = hist[c + k]!;
        if (v === 0) continue;
        const r = rowsOf(v);
        rows += r;
        packed[k]! += v;
        weight[k]! += v - r * UNIT;
      }
      const last = a === m - 1;
      // Missing values right (the only option after the last bin), then left.
      if (!last || hasMissing) this.consider(best, f, touched, a, m, nb, rows, false, hasMissing, mo, hist);
      if (hasMissing && !last) this.consider(best, f, touched, a, m, nb, rows + missingRows, true, hasMissing, mo, hist);
    }
    return true;
  }

  private consider(
    best: BestSplit, f: number, touched: Int32Array, a: number, m: number, nb: number,
    rowsL: number, withMissing: boolean, hasMissing: boolean, mo: number, hist: Float64Array,
  ): void {
    if (rowsL < this.minLeaf || this.totalRows - rowsL < this.minLeaf) return;
    const { K, weight, missing, total } = this;
    let lSq = 0;
    let rSq = 0;
    let lW = 0;
    for (let k = 0; k < K; k++) {
      const l = withMissing ? weight[k]! + missing[k]! : weight[k]!;
      const r = total[k]! - l;
      lSq += l * l;
      rSq += r * r;
      lW += l;
    }
    const score = lSq / lW + rSq / (this.totalWeight - lW);
    if (!(score > best.bar())) return;
    best.take(score, f, touched[a]!, midpointBin(touched, a, m, nb), withMissing || (!hasMissing && lW >= this.totalWeight - lW));
    for (let k = 0; k < K; k++) best.left[k] = withMissing ? this.packed[k]! + hist[mo + k]! : this.packed[k]!;
  }
}

/** Squared error over (packed weight, Σ w·y) cells. */
export class VarianceScan implements ForestScan {
  private rows = 0;
  private weight = 0;
  private sum = 0;

  constructor(private readonly minLeaf: number) {}

  begin(total: Float64Array, at: number, best: BestSplit): void {
    this.rows = rowsOf(total[at]!);
    this.weight = total[at]! - this.rows * UNIT;
    this.sum = total[at + 1]!;
    // The error reduction must be positive: a node whose targets are all equal stays a leaf.
    const parent = varianceTerm(this.sum, this.weight);
    best.reset(parent + 1e-12 * Math.abs(parent));
  }

  scan(hist: Float64Array, o: number, f: number, nb: number, touched: Int32Array, m: number, best: BestSplit): boolean {
    const mo = o + nb * 2;
    const mp = hist[mo]!;
    const hasMissing = mp !== 0;
    if (m + (hasMissing ? 1 : 0) <= 1) return false;
    const { minLeaf, rows, weight, sum } = this;
    let cL = 0;
    let wL = 0;
    let sL = 0;
    let bar = best.bar();
    const last = m - 1;
    // Two loops, without and with missing values, rather than a test of each side per bin: the
    // scan is the forest regressor's hot loop. Candidates in the order of `BestSplit`'s rules.
    if (!hasMissing) {
      // Missing values (none here) go with the heavier side; nothing is tried after the last bin.
      for (let a = 0; a < last; a++) {
        const c = o + touched[a]! * 2;
        const v = hist[c]!;
        const r = rowsOf(v);
        cL += r;
        wL += v - r * UNIT;
        sL += hist[c + 1]!;
        if (cL < minLeaf || rows - cL < minLeaf) continue;
        const score = varianceTerm(sL, wL) + varianceTerm(sum - sL, weight - wL);
        if (!(score > bar)) continue;
        best.take(score, f, touched[a]!, midpointBin(touched, a, m, nb), wL >= weight - wL);
        bar = best.bar();
        best.left[0] = wL + cL * UNIT;
        best.left[1] = sL;
      }
      return true;
    }
    const missingRows = rowsOf(mp);
    const missingW = mp - missingRows * UNIT;
    const missingS = hist[mo + 1]!;
    for (let a = 0; a < m; a++) {
      const c = o + touched[a]! * 2;
      const v = hist[c]!;
      const r = rowsOf(v);
      cL += r;
      wL += v - r * UNIT;
      sL += hist[c + 1]!;
      // Missing values right (the only option after the last bin), then left.
      if (cL >= minLeaf && rows - cL >= minLeaf) {
        const score = varianceTerm(sL, wL) + varianceTerm(sum - sL, weight - wL);
        if (score > bar) {
          best.take(score, f, touched[a]!, midpointBin(touched, a, m, nb), false);
          bar = best.bar();
          best.left[0] = wL + cL * UNIT;
          best.left[1] = sL;
        }
      }
      const c1 = cL + missingRows;
      if (a === last || c1 < minLeaf || rows - c1 < minLeaf) continue;
      const w1 = wL + missingW;
      const s1 = sL + missingS;
      const score = varianceTerm(s1, w1) + varianceTerm(sum - s1, weight - w1);
      if (!(score > bar)) continue;
      best.take(score, f, touched[a]!, midpointBin(touched, a, m, nb), true);
      bar = best.bar();
      best.left[0] = w1 + c1 * UNIT;
      best.left[1] = s1;
    }
    return true;
  }
}

/**
 * The gradient gain over (Σg, Σh, count) cells, for boosting: every bin of a feature's block is
 * walked (a boosting node's histograms are dense, half of them from a subtraction), empty cells
 * included — they hold exact zeros, the subtraction (`exactSubtract`) and the sparse path's default
 * cells make sure of it — and the walk ends once every non-missing row is left. The threshold is the last left bin's upper edge. All of a node's
 * features are scanned in one call.
 */
export class GradientScan {
  /**
   * parent − small over cells (Σg, Σh, count) from..to, in place: the larger child's histogram.
   * A cell left empty gets exact zeros, not the rounding residue of two sums in different orders,
   * so that the scan can walk empty cells as if they were not there.
   */
  static exactSubtract(parent: Float64Array, small: Float64Array, from: number, to: number): void {
    for (let j = from; j < to; j += 3) {
      const c = parent[j + 2]! - small[j + 2]!;
      const any = (0 - (c | 0)) >>> 31; // 1 for a count ≥ 1, else 0: integer ops, no branch
      parent[j] = (parent[j]! - small[j]!) * any;
      parent[j + 1] = (parent[j + 1]! - small[j + 1]!) * any;
      parent[j + 2] = c;
    }
  }

  constructor(private readonly minLeaf: number, private readonly l2: number) {}

  /**
   * The best split of a node with totals (g, h, rows) over features features[at, at + count)
   * (feature f's block at cell offset[f], nBins[f] non-missing bins); a split must strictly reduce
   * the loss (scikit-learn's min_gain_to_split). Writes the features that can still split it (more
   * than one occupied bin) to features[to, …) and returns their number.
   */
  scan(
    hist: Float64Array, offset: Int32Array, nBins: Int32Array, features: Int32Array, at: number, count: number, to: number,
    g: number, h: number, rows: number, best: BestSplit,
  ): number {
    const { minLeaf, l2 } = this;
    const parent = gradientTerm(g, h, l2);
    best.reset(0);
    // The best score in a local; the rest of the best split goes to `best` when it improves
    // (rarely): fewer live values in the loop.
    let score0 = 0;
    const left = best.left;
    let nKept = 0;
    for (let a = at; a < at + count; a++) {
      const f = features[a]!;
      const o = offset[f]! * 3;
      const mo = o + nBins[f]! * 3;
      const gm = hist[mo]!;
      const hm = hist[mo + 1]!;
      const cm = hist[mo + 2]!;
      const hasMissing = cm !== 0;
      const nonMissing = rows - cm;
      let gL = 0;
      let hL = 0;
      let cL = 0;
      let cnt = 0;
      for (let c = o, bin = 0; c < mo && cL < nonMissing; c += 3, bin++) {
        // Empty cells are not skipped (a skip would be mispredicted on the sparse histograms of
        // small nodes): they hold exact zeros (see `exactSubtract`), and their candidates repeat
        // the previous occupied bin's, which only a strictly better score replaces.
        cnt = hist[c + 2]!;
        gL += hist[c]!;
        hL += hist[c + 1]!;
        cL += cnt;
        const last = cL >= nonMissing;
        if (!last || hasMissing) {
          // Missing values right.
          const hR = h - hL;
          if (cL >= minLeaf && rows - cL >= minLeaf && hL >= MIN_HESSIAN_TO_SPLIT && hR >= MIN_HESSIAN_TO_SPLIT) {
            const score = gradientTerm(gL, hL, l2) + gradientTerm(g - gL, hR, l2) - parent;
            if (score > score0) {
              score0 = score;
              best.take(score, f, bin, bin, !hasMissing && cL >= rows - cL);
              left[0] = gL; left[1] = hL; left[2] = cL;
            }
          }
        }
        if (hasMissing && !last && cL !== 0) {
          const g1 = gL + gm;
          const h1 = hL + hm;
          const c1 = cL + cm;
          const hR = h - h1;
          if (c1 >= minLeaf && rows - c1 >= minLeaf && h1 >= MIN_HESSIAN_TO_SPLIT && hR >= MIN_HESSIAN_TO_SPLIT) {
            const score = gradientTerm(g1, h1, l2) + gradientTerm(g - g1, hR, l2) - parent;
            if (score > score0) {
              score0 = score;
              best.take(score, f, bin, bin, true);
              left[0] = g1; left[1] = h1; left[2] = c1;
            }
          }
        }
      }
      // More than one occupied bin (the missing one included): the walk did not end in the first.
      if (hasMissing ? nonMissing > 0 : cnt < nonMissing) features[to + nKept++] = f;
    }
    return nKept;
  }
}
