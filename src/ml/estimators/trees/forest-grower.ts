/**
 * The random forests' tree grower: depth-first, on column-major binned features, one feature's
 * histogram at a time (gini or variance criterion, trees/criteria.ts), a random subset of
 * features per node. Binning, the split threshold rule and partitioning are the ones the boosting
 * grower uses (trees/binning.ts, trees/partition.ts).
 */
import type { Target } from '../../core/matrix.js';
import type { Rng } from '../../core/random.js';
import { giniTerm, varianceTerm } from './criteria.js';
import { partition, splitThreshold } from './partition.js';
import type { BinnedLayout } from './partition.js';
import { TreeBuilder } from './tree.js';

/** The stopping rules of random-forest.ts's parameters that the grower applies. */
export interface ForestGrowOptions {
  maxDepth: number | null;
  minSamplesSplit: number;
  minSamplesLeaf: number;
}

interface Best {
  score: number;
  feature: number;
  /** Last bin going left, and the bin whose upper edge is the threshold. */
  bin: number;
  thrBin: number;
  missingLeft: boolean;
}

const BINS = 256;
/**
 * Bootstrap weights are integers, so a histogram cell holds `weight + count · UNIT` in one float64
 * (exact below 2^53): one update per sample instead of two, the row count being what
 * `minSamplesLeaf` needs. Limits a training set to 2^26 rows.
 */
const UNIT = 67108864;
export const MAX_FOREST_ROWS = UNIT - 1;

export class ForestGrower {
  private readonly indices: Int32Array;
  private readonly nBins: Int32Array;
  /** Histogram cells per bin: K class cells, or 2 (packed Σw + count, Σwy) for regression. */
  private readonly stride: number;
  /** Two histograms back to back: the dense path alternates rows between them to break dependency chains. */
  private readonly hist: Float64Array;
  private readonly mark = new Int32Array(BINS);
  private readonly touched = new Int32Array(BINS);
  private stamp = 0;
  private readonly features: Int32Array;
  private readonly cls: Int32Array | null;
  private readonly yReg: Float64Array | null;
  private readonly K: number;
  private readonly isConst: Uint8Array;
  /** Per row of the current tree: weight + UNIT, and for regression weight · y. */
  private readonly pw: Float64Array;
  private readonly wy: Float64Array;
  private readonly scratch: Float64Array;
  /** The best split found so far in the current node (valid when `hasBest`), reused to avoid garbage. */
  private readonly best: Best = { score: -Infinity, feature: -1, bin: 0, thrBin: 0, missingLeft: false };
  private hasBest = false;
  private readonly found: number[] = [];
  private readonly partScratch: Int32Array;
  private bestLeft: Float64Array;
  /** Node sums (stride per node), reused across trees. */
  private sums: Float64Array;
  private cand: Float64Array;
  private readonly missScratch: Float64Array;
  private readonly layout: BinnedLayout;

  constructor(
    private readonly bins: Uint8Array,
    private readonly n: number,
    private readonly F: number,
    private readonly thresholds: Float64Array[],
    target: Target,
    private readonly P: ForestGrowOptions,
    private readonly mtry: number,
  ) {
    this.indices = new Int32Array(n);
    this.nBins = Int32Array.from(thresholds, (t) => t.length + 1);
    this.layout = { bins, rowStride: 1, featureStride: n, nBins: this.nBins };
    this.K = target.task === 'classification' ? target.classCount : 0;
    this.cls = target.task === 'classification' ? target.y : null;
    this.yReg = target.task === 'regression' ? target.y : null;
    this.stride = this.cls ? this.K : 2;
    this.hist = new Float64Array(2 * BINS * this.stride);
    this.features = Int32Array.from({ length: F }, (_, i) => i);
    this.isConst = new Uint8Array(F);
    this.partScratch = new Int32Array(n);
    this.pw = new Float64Array(n);
    this.wy = new Float64Array(this.cls ? 0 : n);
    this.scratch = new Float64Array(this.stride);
    this.bestLeft = new Float64Array(this.stride);
    this.sums = new Float64Array(this.stride * 64);
    this.cand = new Float64Array(this.stride);
    this.missScratch = new Float64Array(this.stride);
  }

  grow(w: Float64Array, rng: Rng): TreeBuilder {
    const tree = new TreeBuilder(this.cls ? this.K : 1);
    const idx = this.indices;
    const { pw, wy } = this;
    let m = 0;
    const stride = this.stride;
    // A tree over m rows has at most 2m - 1 nodes.
    if (this.sums.length < (2 * this.n + 1) * stride) this.sums = new Float64Array((2 * this.n + 1) * stride);
    const sums = this.sums;
    const rootSums = sums.subarray(0, stride);
    rootSums.fill(0);
    for (let i = 0; i < this.n; i++) {
      const wi = w[i]!;
      if (wi > 0) {
        idx[m++] = i;
        pw[i] = wi + UNIT;
        if (this.cls) rootSums[this.cls[i]!]! += wi;
        else { wy[i] = wi * this.yReg![i]!; rootSums[0]! += wi; rootSums[1]! += wy[i]!; }
      }
    }
    // Depth-first over an explicit stack of (node, start, end, depth, sums offset) with, beside
    // it, the features known to be constant there (constant in an ancestor).
    const stack: number[] = [tree.add(), 0, m, 0, 0];
    const stackConstants: number[][] = [[]];
    const isConst = this.isConst;
    const found = this.found;
    const best = this.best;
    while (stack.length) {
      const at = stack.pop()!;
      const depth = stack.pop()!;
      const end = stack.pop()!;
      const start = stack.pop()!;
      const node = stack.pop()!;
      const constants = stackConstants.pop()!;
      this.setLeafValue(tree, node, at);
      const count = end - start;
      if (this.isPure(at) || count < this.P.minSamplesSplit || count < 2 * this.P.minSamplesLeaf
        || (this.P.maxDepth !== null && depth >= this.P.maxDepth)) {
        continue;
      }
      for (const f of constants) isConst[f] = 1;
      found.length = 0;
      const ok = this.findSplit(start, end, at, count, rng, found);
      for (const f of constants) isConst[f] = 0;
      if (!ok) continue;
      const f = best.feature;
      const thr = splitThreshold(this.thresholds, this.nBins, f, best.thrBin);
      const ids = tree.split(node, f, thr, best.missingLeft);
      const mid = partition(this.indices, this.partScratch, start, end, this.layout, f, best.bin, best.missingLeft);
      tree.value.fill(0, node * tree.outputs, (node + 1) * tree.outputs);
      const childConstants = found.length ? constants.concat(found) : constants;
      const la = ids.left * stride;
      const ra = ids.right * stride;
      for (let k = 0; k < stride; k++) {
        sums[la + k] = this.bestLeft[k]!;
        sums[ra + k] = sums[at + k]! - this.bestLeft[k]!;
      }
      stack.push(ids.right, mid, end, depth + 1, ra, ids.left, start, mid, depth + 1, la);
      stackConstants.push(childConstants, childConstants);
    }
    return tree;
  }

  private isPure(at: number): boolean {
    if (this.cls) {
      const sums = this.sums;
      let nonzero = 0;
      for (let k = 0; k < this.K; k++) if (sums[at + k]! > 0) nonzero++;
      return nonzero <= 1;
    }
    return false; // regression nodes stop when no split reduces the error (all targets equal)
  }

  private setLeafValue(tree: TreeBuilder, node: number, at: number): void {
    const sums = this.sums;
    if (this.cls) {
      let s = 0;
      for (let k = 0; k < this.K; k++) s += sums[at + k]!;
      for (let k = 0; k < this.K; k++) tree.setValue(node, k, sums[at + k]! / s);
    } else {
      tree.setValue(node, 0, sums[at + 1]! / sums[at]!);
    }
  }

  /**
   * Samples features without replacement until `mtry` were visited and one of them could split
   * (scikit-learn's rule). Features known to be constant in an ancestor cost nothing (they still
   * count as visited); features found constant here are appended to `newConstants`.
   */
  private findSplit(start: number, end: number, at: number, count: number, rng: Rng, newConstants: number[]): boolean {
    const feats = this.features;
    const F = this.F;
    this.hasBest = false;
    this.best.score = -Infinity;
    let visited = 0;
    let informative = 0;
    for (let j = 0; j < F && (visited < this.mtry || informative === 0); j++) {
      const r = j + rng.int(F - j);
      const f = feats[r]!;
      feats[r] = feats[j]!;
      feats[j] = f;
      visited++;
      if (this.isConst[f]) continue;
      if (this.evaluateFeature(f, start, end, at, count)) informative++;
      else newConstants.push(f);
    }
    return this.hasBest;
  }

  /** Best split on feature f (kept in `this.best` when it beats it); false when f is constant in the node. */
  private evaluateFeature(f: number, start: number, end: number, at: number, count: number): boolean {
    const { hist, mark, touched, stride, bins, n, pw } = this;
    const idx = this.indices;
    const col = f * n;
    const nb = this.nBins[f]!;
    const mo = nb * stride; // the missing values' cells (binning.ts)
    let m = 0;
    let hasMissing: boolean;
    if (nb * 4 <= count) {
      // Dense: two interleaved histograms (rows alternate), then merged into the first.
      const half = BINS * stride;
      for (let j = nb * stride - 1; j >= 0; j--) { hist[j] = 0; hist[half + j] = 0; }
      for (let k = 0; k < stride; k++) { hist[mo + k] = 0; hist[half + mo + k] = 0; }
      let p = start;
      if (this.cls) {
        const cls = this.cls;
        for (; p + 1 < end; p += 2) {
          const i0 = idx[p]!;
          const i1 = idx[p + 1]!;
          hist[bins[col + i0]! * stride + cls[i0]!]! += pw[i0]!;
          hist[half + bins[col + i1]! * stride + cls[i1]!]! += pw[i1]!;
        }
        if (p < end) { const i = idx[p]!; hist[bins[col + i]! * stride + cls[i]!]! += pw[i]!; }
      } else {
        const wy = this.wy;
        for (; p + 1 < end; p += 2) {
          const i0 = idx[p]!;
          const i1 = idx[p + 1]!;
          const o0 = bins[col + i0]! * 2;
          const o1 = half + bins[col + i1]! * 2;
          hist[o0]! += pw[i0]!;
          hist[o0 + 1]! += wy[i0]!;
          hist[o1]! += pw[i1]!;
          hist[o1 + 1]! += wy[i1]!;
        }
        if (p < end) { const i = idx[p]!; const o = bins[col + i]! * 2; hist[o]! += pw[i]!; hist[o + 1]! += wy[i]!; }
      }
      for (let j = nb * stride - 1; j >= 0; j--) hist[j]! += hist[half + j]!;
      let any = 0;
      for (let b = 0; b < nb; b++) {
        let c = 0;
        for (let k = 0; k < stride; k++) c += hist[b * stride + k]!;
        if (c > 0) touched[m++] = b;
      }
      for (let k = 0; k < stride; k++) { hist[mo + k]! += hist[half + mo + k]!; any += hist[mo + k]!; }
      hasMissing = any > 0;
    } else {
      // Sparse: only the bins this node touches are cleared and visited.
      const stamp = ++this.stamp;
      let nt = 0;
      if (this.cls) {
        const cls = this.cls;
        for (let p = start; p < end; p++) {
          const i = idx[p]!;
          const b = bins[col + i]!;
          const o = b * stride;
          if (mark[b] !== stamp) {
            mark[b] = stamp;
            touched[nt++] = b;
            for (let k = 0; k < stride; k++) hist[o + k] = 0;
          }
          hist[o + cls[i]!]! += pw[i]!;
        }
      } else {
        const wy = this.wy;
        for (let p = start; p < end; p++) {
          const i = idx[p]!;
          const b = bins[col + i]!;
          const o = b * 2;
          if (mark[b] !== stamp) {
            mark[b] = stamp;
            touched[nt++] = b;
            hist[o] = 0;
            hist[o + 1] = 0;
          }
          hist[o]! += pw[i]!;
          hist[o + 1]! += wy[i]!;
        }
      }
      hasMissing = mark[nb] === stamp;
      // Occupied non-missing bins in ascending order.
      if (nt <= 24) {
        for (let a = 0; a < nt; a++) if (touched[a] !== nb) touched[m++] = touched[a]!;
        for (let a = 1; a < m; a++) {
          const v = touched[a]!;
          let b = a - 1;
          while (b >= 0 && touched[b]! > v) { touched[b + 1] = touched[b]!; b--; }
          touched[b + 1] = v;
        }
      } else {
        for (let b = 0; b < nb; b++) if (mark[b] === stamp) touched[m++] = b;
      }
    }
    if (m + (hasMissing ? 1 : 0) <= 1) return false;
    if (this.cls) this.scanGini(f, m, hasMissing, at, count);
    else this.scanMse(f, m, hasMissing, at, count);
    return true;
  }

  /**
   * Gini: maximise Σk l_k²/W_L + Σk r_k²/W_R (the weighted impurity decrease up to a constant).
   * Candidate split after each occupied bin, with missing values right, then left.
   */
  private scanGini(f: number, m: number, hasMissing: boolean, at: number, count: number): void {
    const { hist, touched, K, cand } = this;
    const tot = this.sums;
    const minLeaf = this.P.minSamplesLeaf;
    const left = this.scratch;
    left.fill(0);
    const mo = this.nBins[f]! * K;
    let missC = 0;
    const miss = this.missScratch;
    if (hasMissing) {
      for (let k = 0; k < K; k++) {
        const v = hist[mo + k]!;
        const c = Math.floor(v / UNIT);
        missC += c;
        miss[k] = v - c * UNIT;
      }
    }
    let totW = 0;
    for (let k = 0; k < K; k++) totW += tot[at + k]!;
    let lC = 0;
    let bestScore = this.hasBest ? this.best.score : -Infinity;
    for (let a = 0; a < m; a++) {
      const o = touched[a]! * K;
      for (let k = 0; k < K; k++) {
        const v = hist[o + k]!;
        if (v !== 0) {
          const c = Math.floor(v / UNIT);
          lC += c;
          left[k]! += v - c * UNIT;
        }
      }
      const last = a === m - 1;
      for (let side = 0; side < 2; side++) {
        // side 0: missing values right (the only option after the last bin); side 1: left.
        if (side === 0 ? last && !hasMissing : !hasMissing || last) continue;
        const cL = side ? lC + missC : lC;
        const cR = count - cL;
        if (cL < minLeaf || cR < minLeaf) continue;
        let lSq = 0;
        let rSq = 0;
        let lW = 0;
        for (let k = 0; k < K; k++) {
          const l = side ? left[k]! + miss[k]! : left[k]!;
          const r = tot[at + k]! - l;
          cand[k] = l;
          lSq += l * l;
          rSq += r * r;
          lW += l;
        }
        const rW = totW - lW;
        const score = giniTerm(lSq, lW) + giniTerm(rSq, rW);
        if (score > bestScore + 1e-12 * Math.abs(bestScore) || bestScore === -Infinity) {
          bestScore = score;
          this.setBest(score, f, a, m, side === 1 ? true : hasMissing ? false : lW >= rW);
          this.bestLeft.set(cand);
        }
      }
    }
  }

  /** Squared error: maximise S_L²/W_L + S_R²/W_R. */
  private scanMse(f: number, m: number, hasMissing: boolean, at: number, count: number): void {
    const { hist, touched } = this;
    const tot = this.sums;
    const minLeaf = this.P.minSamplesLeaf;
    const mo = this.nBins[f]! * 2;
    let missC = 0;
    let missW = 0;
    let missS = 0;
    if (hasMissing) {
      const v = hist[mo]!;
      missC = Math.floor(v / UNIT);
      missW = v - missC * UNIT;
      missS = hist[mo + 1]!;
    }
    let lW = 0;
    let lS = 0;
    let lC = 0;
    let bestScore = this.hasBest ? this.best.score : -Infinity;
    // Error reduction must be positive: a node whose targets are all equal stays a leaf.
    const parent = varianceTerm(tot[at + 1]!, tot[at]!);
    const floor = parent + 1e-12 * Math.abs(parent);
    for (let a = 0; a < m; a++) {
      const o = touched[a]! * 2;
      const v = hist[o]!;
      const c = Math.floor(v / UNIT);
      lC += c;
      lW += v - c * UNIT;
      lS += hist[o + 1]!;
      const last = a === m - 1;
      for (let side = 0; side < 2; side++) {
        if (side === 0 ? last && !hasMissing : !hasMissing || last) continue;
        const cL = side ? lC + missC : lC;
        const cR = count - cL;
        if (cL < minLeaf || cR < minLeaf) continue;
        const wL = side ? lW + missW : lW;
        const sL = side ? lS + missS : lS;
        const wR = tot[at]! - wL;
        const sR = tot[at + 1]! - sL;
        const score = varianceTerm(sL, wL) + varianceTerm(sR, wR);
        if (score <= floor) continue;
        if (score > bestScore + 1e-12 * Math.abs(bestScore) || bestScore === -Infinity) {
          bestScore = score;
          this.setBest(score, f, a, m, side === 1 ? true : hasMissing ? false : wL >= wR);
          this.bestLeft[0] = wL;
          this.bestLeft[1] = sL;
        }
      }
    }
  }

  /** A split after the a-th of m occupied bins; the threshold edge sits halfway to the next one. */
  private setBest(score: number, feature: number, a: number, m: number, missingLeft: boolean): void {
    const b = this.touched[a]!;
    const best = this.best;
    best.score = score;
    best.feature = feature;
    best.bin = b;
    // After the last occupied bin: "every non-missing value left, missing right".
    best.thrBin = a + 1 < m ? (b + this.touched[a + 1]! - 1) >> 1 : this.nBins[feature]! - 1;
    best.missingLeft = missingLeft;
    this.hasBest = true;
  }

}
