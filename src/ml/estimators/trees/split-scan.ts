/**
 * The one split scan of the tree growers: over a feature's histogram (histogram.ts), a candidate
 * split after each occupied bin, with the feature's missing values right and then left, scored by
 * the criterion (criteria.ts: gini, variance, gradient gain). A split "bin ≤ b" routes missing
 * values as learnt; where the node saw none, they follow the heavier side (scikit-learn's rule).
 */
import type { SplitCriterion } from './criteria.js';

/** Where a split's threshold sits between the last bin going left and the next occupied one. */
export type ThresholdRule = 'midpoint' | 'edge';

/** The best split of a node so far; `left` holds its left side's sums (the criterion's width). */
export class BestSplit {
  score = -Infinity;
  found = false;
  feature = -1;
  /** Last bin going left, and the bin whose upper edge is the threshold. */
  bin = 0;
  thrBin = 0;
  missingLeft = false;
  readonly left: Float64Array;

  constructor(width: number) {
    this.left = new Float64Array(width);
  }

  /** Starts a node whose splits must score above `floor`. */
  reset(floor: number): void {
    this.score = floor;
    this.found = false;
  }
}

/** The occupied non-missing bins of a feature's histogram block at `o`, ascending, into `touched`; returns their number. */
export function occupiedBins(hist: Float64Array, o: number, nb: number, crit: SplitCriterion, touched: Int32Array): number {
  let m = 0;
  const W = crit.width;
  const c = crit.countChannel;
  if (c >= 0) for (let b = 0, at = o + c; b < nb; b++, at += W) { if (hist[at]! !== 0) touched[m++] = b; }
  else for (let b = 0; b < nb; b++) if (crit.occupied(hist, o + b * W)) touched[m++] = b;
  return m;
}

/** Reusable buffers of the scan. */
export class SplitScanner {
  private readonly left: Float64Array;
  private readonly cand: Float64Array;

  constructor(private readonly crit: SplitCriterion, private readonly rule: ThresholdRule) {
    this.left = new Float64Array(crit.width);
    this.cand = new Float64Array(crit.width);
  }

  /**
   * Scans feature f (nb non-missing bins, histogram block at `o`, occupied bins `touched[0, m)`),
   * updating `best` when a candidate beats it. The criterion has `begin`-ed the node. Returns
   * false when the feature cannot split the node (one occupied bin, counting the missing one).
   */
  scan(hist: Float64Array, o: number, f: number, nb: number, touched: Int32Array, m: number, best: BestSplit): boolean {
    const { crit, left, cand } = this;
    const W = crit.width;
    const mo = o + nb * W;
    const hasMissing = crit.occupied(hist, mo);
    if (m + (hasMissing ? 1 : 0) <= 1) return false;
    left.fill(0);
    const tol = crit.tolerance;
    for (let a = 0; a < m; a++) {
      const c = o + touched[a]! * W;
      for (let k = 0; k < W; k++) left[k]! += hist[c + k]!;
      const last = a === m - 1;
      for (let side = 0; side < 2; side++) {
        // side 0: missing values right (the only option after the last bin); side 1: left.
        if (side === 0 ? last && !hasMissing : !hasMissing || last) continue;
        // Inline copies: a set() call a candidate costs more than scoring it.
        if (side === 0) for (let k = 0; k < W; k++) cand[k] = left[k]!;
        else for (let k = 0; k < W; k++) cand[k] = left[k]! + hist[mo + k]!;
        const score = crit.score(cand);
        if (best.found ? score > best.score + tol * Math.abs(best.score) : score > best.score) {
          this.take(best, score, f, a, touched, m, nb, side === 1 || (!hasMissing && crit.heavierLeft(cand)));
        }
      }
    }
    return true;
  }

  private take(best: BestSplit, score: number, f: number, a: number, touched: Int32Array, m: number, nb: number, missingLeft: boolean): void {
    const b = touched[a]!;
    best.score = score;
    best.found = true;
    best.feature = f;
    best.bin = b;
    // After the last occupied bin: "every non-missing value left, missing right" (partition.ts).
    if (this.rule === 'edge') best.thrBin = b;
    else best.thrBin = a + 1 < m ? (b + touched[a + 1]! - 1) >> 1 : nb - 1;
    best.missingLeft = missingLeft;
    best.left.set(this.cand);
  }
}
