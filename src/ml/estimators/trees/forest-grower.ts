/**
 * The random forests' tree grower: depth-first, a random subset of features per node, each
 * feature's histogram built and scanned in turn (trees/histogram.ts, trees/split-scan.ts) with the
 * gini or variance criterion (trees/criteria.ts). Binning, histograms, the scan and partitioning
 * are the ones the boosting grower uses.
 */
import type { Target } from '../../core/matrix.js';
import { Rng } from '../../core/random.js';
import type { TreeState } from '../types.js';
import { UNIT, rowsOf } from './criteria.js';
import { HistogramScratch, NodeRows } from './histogram.js';
import { partition, splitThreshold } from './partition.js';
import { BestSplit, GiniScan, VarianceScan, occupiedBins } from './split-scan.js';
import type { ForestScan } from './split-scan.js';
import { TreeBuilder } from './tree.js';

export { MAX_FOREST_ROWS } from './criteria.js';

/** The stopping rules of random-forest.ts's parameters that the grower applies. */
export interface ForestGrowOptions {
  maxDepth: number | null;
  minSamplesSplit: number;
  minSamplesLeaf: number;
}

export class ForestGrower {
  private readonly indices: Int32Array;
  private readonly nBins: Int32Array;
  /** Histogram cells per bin: K class cells, or 2 (packed Σw + count, Σwy) for regression. */
  private readonly stride: number;
  private readonly hist: Float64Array;
  private readonly touched = new Int32Array(256);
  private readonly features: Int32Array;
  private readonly cls: Int32Array | null;
  private readonly yReg: Float64Array | null;
  private readonly K: number;
  private readonly isConst: Uint8Array;
  /** Per row of the current tree: weight + UNIT, and for regression weight · y. */
  private readonly pw: Float64Array;
  private readonly wy: Float64Array;
  private readonly stats: Float64Array[];
  private readonly rows: NodeRows;
  private readonly scratch: HistogramScratch;
  private readonly scanner: ForestScan;
  private readonly best: BestSplit;
  private readonly found: number[] = [];
  private readonly partScratch: Int32Array;
  /** Node sums (stride per node, packed as the histogram cells), reused across trees. */
  private sums: Float64Array;

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
    this.K = target.task === 'classification' ? target.classCount : 0;
    this.cls = target.task === 'classification' ? target.y : null;
    this.yReg = target.task === 'regression' ? target.y : null;
    this.stride = this.cls ? this.K : 2;
    this.hist = new Float64Array(256 * this.stride);
    this.features = Int32Array.from({ length: F }, (_, i) => i);
    this.isConst = new Uint8Array(F);
    this.partScratch = new Int32Array(n);
    this.pw = new Float64Array(n);
    this.wy = new Float64Array(this.cls ? 0 : n);
    this.stats = this.cls ? [this.pw] : [this.pw, this.wy];
    this.rows = new NodeRows();
    this.scratch = new HistogramScratch(this.stride);
    this.scanner = this.cls ? new GiniScan(this.K, P.minSamplesLeaf) : new VarianceScan(P.minSamplesLeaf);
    this.best = new BestSplit(this.stride, 1e-12);
    this.sums = new Float64Array(this.stride * 64);
  }

  grow(w: Float64Array, rng: Rng): TreeBuilder {
    const tree = new TreeBuilder(this.cls ? this.K : 1);
    // Feature sampling starts from one order in every tree, so that a tree depends on its stream
    // only, not on the trees this grower grew before (threads share the trees out).
    for (let f = 0; f < this.F; f++) this.features[f] = f;
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
        if (this.cls) rootSums[this.cls[i]!]! += pw[i]!;
        else { wy[i] = wi * this.yReg![i]!; rootSums[0]! += pw[i]!; rootSums[1]! += wy[i]!; }
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
      const ok = this.findSplit(start, end, at, rng, found);
      for (const f of constants) isConst[f] = 0;
      if (!ok) continue;
      const f = best.feature;
      const thr = splitThreshold(this.thresholds, this.nBins, f, best.thrBin);
      const ids = tree.split(node, f, thr, best.missingLeft);
      const mid = partition(this.indices, this.partScratch, start, end, this.bins, f * this.n, best.bin, this.nBins[f]!, best.missingLeft);
      for (let k = node * tree.outputs, stop = k + tree.outputs; k < stop; k++) tree.value[k] = 0;
      const childConstants = found.length ? constants.concat(found) : constants;
      const la = ids.left * stride;
      const ra = ids.right * stride;
      for (let k = 0; k < stride; k++) {
        sums[la + k] = best.left[k]!;
        sums[ra + k] = sums[at + k]! - best.left[k]!;
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
      for (let k = 0; k < this.K; k++) s += sums[at + k]! - rowsOf(sums[at + k]!) * UNIT;
      for (let k = 0; k < this.K; k++) tree.setValue(node, k, (sums[at + k]! - rowsOf(sums[at + k]!) * UNIT) / s);
    } else {
      tree.setValue(node, 0, sums[at + 1]! / (sums[at]! - rowsOf(sums[at]!) * UNIT));
    }
  }

  /**
   * Samples features without replacement until `mtry` were visited and one of them could split
   * (scikit-learn's rule). Features known to be constant in an ancestor cost nothing (they still
   * count as visited); features found constant here are appended to `newConstants`.
   */
  private findSplit(start: number, end: number, at: number, rng: Rng, newConstants: number[]): boolean {
    const feats = this.features;
    const F = this.F;
    this.scanner.begin(this.sums, at, this.best);
    this.rows.gather(this.indices, start, end, this.stats, this.cls);
    let visited = 0;
    let informative = 0;
    for (let j = 0; j < F && (visited < this.mtry || informative === 0); j++) {
      const r = j + rng.int(F - j);
      const f = feats[r]!;
      feats[r] = feats[j]!;
      feats[j] = f;
      visited++;
      if (this.isConst[f]) continue;
      if (this.evaluateFeature(f)) informative++;
      else newConstants.push(f);
    }
    return this.best.found;
  }

  /** Builds feature f's histogram over the gathered node rows and scans it; false when f is constant in the node. */
  private evaluateFeature(f: number): boolean {
    const { hist, touched } = this;
    const nb = this.nBins[f]!;
    let m = this.scratch.build(this.rows, this.bins, f * this.n, nb, hist, 0, touched);
    if (m < 0) m = occupiedBins(hist, 0, nb, this.stride, this.cls ? this.K : 1, touched);
    return this.scanner.scan(hist, 0, f, nb, touched, m, this.best);
  }
}

/** How one forest tree draws its rows: `nDraws` bootstrap draws, or every row once. */
export interface ForestDraws {
  n: number;
  nDraws: number;
  bootstrap: boolean;
}

/**
 * Grows the forest tree of seed `seed` (the seed `Rng.fork()` would give; core/random.ts):
 * its bootstrap weights, then its splits, from one stream — so a tree is the same whichever
 * thread grows it.
 */
export function growForestTree(grower: ForestGrower, seed: number, d: ForestDraws, weights: Float64Array): TreeState {
  const rng = new Rng(seed);
  if (d.bootstrap) {
    weights.fill(0);
    for (let j = 0; j < d.nDraws; j++) weights[rng.int(d.n)]!++;
  } else {
    weights.fill(1);
  }
  return grower.grow(weights, rng).finish(-1);
}

/** The seed of `rng.fork()`, advancing `rng` as it does. */
export function forkSeed(rng: Rng): number {
  return rng.uint32() * 4294967296 + rng.uint32();
}
