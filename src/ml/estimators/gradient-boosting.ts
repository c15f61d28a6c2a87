/**
 * Histogram-based gradient boosting (scikit-learn's HistGradientBoostingClassifier/Regressor,
 * LightGBM): features binned once into ≤ 255 bins, trees grown leaf-wise (best gain first) from
 * gradient/hessian histograms with the sibling-subtraction trick, Newton leaf values shrunk by the
 * learning rate, and early stopping on a held-out validation fraction.
 *
 * Losses: squared error for regression, log loss for two classes (one tree per iteration,
 * sigmoid), multinomial log loss above (one tree per class per iteration, softmax).
 *
 * Missing values (NaN) get their own bin; each split learns whether they go left or right (the
 * side with the better gain); a split may also be "non-missing vs missing". Where a node saw no
 * missing value, they follow the child that received more samples, as in scikit-learn.
 *
 * Sparse data (mostly one bin per feature, e.g. one-hot blocks or image backgrounds) switches to
 * CSR rows of the non-default cells; each node's default cells come from its totals (LightGBM's
 * trick). Runs on one thread.
 */
import { trainTestSplit, takeRows } from '../metrics/validation.js';
import { binMatrix, fitBinThresholds } from './trees/binning.js';
import { gradientTerm } from './trees/criteria.js';
import { partition, splitThreshold } from './trees/partition.js';
import type { BinnedLayout } from './trees/partition.js';
import { scoresToClasses, sigmoid } from './linear.js';
import { badParam, checkData, checkFeatures, checkKnown, intParam, numParam, optionalIntParam } from './params.js';
import { Rng } from '../core/random.js';
import { asFloat32, ensembleScores, leafIndices, TreeBuilder } from './trees/tree.js';
import type { ClassPrediction, FitOptions, Matrix, Target, TreeEnsembleState, TreeState, ValuePrediction } from './types.js';

/**
 * Parameters (scikit-learn's HistGradientBoosting defaults):
 * - `maxIter` (100, ≥ 1): boosting iterations (trees per class).
 * - `learningRate` (0.1, (0, ∞)): shrinkage of every leaf value.
 * - `maxLeafNodes` (31, ≥ 2 or null for no limit), `maxDepth` (null or ≥ 1), `minSamplesLeaf` (20, ≥ 1).
 * - `l2Regularization` (0, ≥ 0): λ in the leaf value −G/(H+λ) and in the gains.
 * - `maxBins` (255, in [2, 255]).
 * - `earlyStopping` ('auto': on when there are more than 10,000 rows; true; false),
 *   `validationFraction` (0.1, (0, 1)), `nIterNoChange` (10, ≥ 1), `tol` (1e-7, ≥ 0): stop when none
 *   of the last `nIterNoChange` validation losses improved on the one before them by more than tol.
 */
export interface GradientBoostingParams {
  maxIter?: number;
  learningRate?: number;
  maxLeafNodes?: number | null;
  maxDepth?: number | null;
  minSamplesLeaf?: number;
  l2Regularization?: number;
  maxBins?: number;
  earlyStopping?: 'auto' | boolean;
  validationFraction?: number;
  nIterNoChange?: number;
  tol?: number;
}

/** Upper bounds on one fit (boosting rounds, depth, leaves per tree), as FOREST_LIMITS for forests. */
export const BOOSTING_LIMITS = { maxIter: 10_000, maxDepth: 64, maxLeafNodes: 65_536 } as const;

export const KNOWN = ['maxIter', 'learningRate', 'maxLeafNodes', 'maxDepth', 'minSamplesLeaf', 'l2Regularization', 'maxBins',
  'earlyStopping', 'validationFraction', 'nIterNoChange', 'tol'] as const;

const MIN_HESSIAN_TO_SPLIT = 1e-3;

interface ResolvedParams {
  maxIter: number;
  learningRate: number;
  maxLeafNodes: number;
  maxDepth: number;
  minSamplesLeaf: number;
  l2: number;
  maxBins: number;
  earlyStopping: 'auto' | boolean;
  validationFraction: number;
  nIterNoChange: number;
  tol: number;
}

function resolve(params: GradientBoostingParams): ResolvedParams {
  const p = params as Record<string, unknown>;
  checkKnown(p, KNOWN, 'gradient_boosting');
  const es = p.earlyStopping;
  if (es !== undefined && es !== 'auto' && typeof es !== 'boolean') throw badParam('earlyStopping', "'auto', true or false", es);
  return {
    maxIter: intParam(p, 'maxIter', 100, 1, BOOSTING_LIMITS.maxIter),
    learningRate: numParam(p, 'learningRate', 0.1, 0, Infinity, { min: true, max: true }),
    maxLeafNodes: optionalIntParam(p, 'maxLeafNodes', 31, 2, BOOSTING_LIMITS.maxLeafNodes) ?? Number.MAX_SAFE_INTEGER,
    maxDepth: optionalIntParam(p, 'maxDepth', null, 1, BOOSTING_LIMITS.maxDepth) ?? Number.MAX_SAFE_INTEGER,
    minSamplesLeaf: intParam(p, 'minSamplesLeaf', 20, 1),
    l2: numParam(p, 'l2Regularization', 0, 0, Infinity, { max: true }),
    maxBins: intParam(p, 'maxBins', 255, 2, 255),
    earlyStopping: (es as 'auto' | boolean | undefined) ?? 'auto',
    validationFraction: numParam(p, 'validationFraction', 0.1, 0, 1, { min: true, max: true }),
    nIterNoChange: intParam(p, 'nIterNoChange', 10, 1),
    tol: numParam(p, 'tol', 1e-7, 0, Infinity, { max: true }),
  };
}

export function fitGradientBoosting(x: Matrix, target: Target, params: GradientBoostingParams = {}, opts: FitOptions = {}): TreeEnsembleState {
  const P = resolve(params);
  checkData(x, target, { allowNaN: true, model: 'gradient_boosting' });
  const rng = new Rng(opts.seed ?? 0);
  const n = x.rows;
  const F = x.cols;
  const isClf = target.task === 'classification';
  const K = isClf ? target.classCount : 0;
  const O = isClf && K > 2 ? K : 1;

  // Validation split for early stopping (stratified for classification, as scikit-learn).
  const early = P.earlyStopping === 'auto' ? n > 10_000 : P.earlyStopping;
  let trainRows: Int32Array | null = null;
  let valRows: Int32Array | null = null;
  if (early) {
    const split = trainTestSplit(n, {
      testFraction: P.validationFraction, seed: rng.uint32(),
      stratify: isClf ? { y: target.y as Int32Array, classCount: K } : undefined,
    });
    trainRows = split.train;
    valRows = split.test;
  }
  const xTrain: Matrix = trainRows ? { data: takeRows(x.data, F, trainRows), rows: trainRows.length, cols: F } : x;
  const yTrain = trainRows ? takeRows(target.y as Int32Array | Float64Array, 1, trainRows) : target.y;
  const nt = xTrain.rows;

  const thresholds = fitBinThresholds(xTrain, P.maxBins, rng);
  const binned = binMatrix(xTrain, thresholds, { colMajor: false });

  // Baseline raw score: the best constant.
  const baseScore = new Array<number>(O).fill(0);
  if (!isClf) {
    let s = 0;
    for (let i = 0; i < nt; i++) s += yTrain[i]!;
    baseScore[0] = Math.fround(s / nt);
  } else {
    const counts = new Float64Array(K);
    for (let i = 0; i < nt; i++) counts[yTrain[i]!]!++;
    const eps = 1e-15;
    if (O === 1) {
      const p = Math.min(Math.max(counts[1]! / nt, eps), 1 - eps);
      baseScore[0] = Math.fround(Math.log(p / (1 - p)));
    } else {
      const logs = Array.from(counts, (c) => Math.log(Math.max(c / nt, eps)));
      const mean = logs.reduce((a, b) => a + b, 0) / K;
      for (let k = 0; k < K; k++) baseScore[k] = Math.fround(logs[k]! - mean);
    }
  }

  const raw = new Float64Array(nt * O);
  for (let i = 0; i < nt; i++) for (let k = 0; k < O; k++) raw[i * O + k] = baseScore[k]!;
  const grad = new Float64Array(nt * O); // class-major: grad[k * nt + i]
  const hess = new Float64Array(isClf ? nt * O : 0);

  let xVal32: Float32Array | null = null;
  let yVal: Int32Array | Float64Array | null = null;
  let rawVal: Float64Array | null = null;
  if (valRows) {
    xVal32 = asFloat32(takeRows(x.data, F, valRows));
    yVal = takeRows(target.y as Int32Array | Float64Array, 1, valRows);
    rawVal = new Float64Array(valRows.length * O);
    for (let i = 0; i < valRows.length; i++) for (let k = 0; k < O; k++) rawVal[i * O + k] = baseScore[k]!;
  }
  const valScores: number[] = [];
  const trainLosses: number[] = [];
  if (rawVal) valScores.push(-meanLoss(rawVal, yVal!, O, isClf));

  const grower = new Grower(binned.rowMajor, nt, F, thresholds, P);
  const trees: TreeState[] = [];
  let iterations = 0;
  const leavesOut = new Int32Array(valRows ? valRows.length : 0);
  for (let it = 0; it < P.maxIter; it++) {
    computeGradients(raw, yTrain, O, isClf, grad, hess);
    for (let k = 0; k < O; k++) {
      const g = grad.subarray(k * nt, (k + 1) * nt);
      const h = isClf ? hess.subarray(k * nt, (k + 1) * nt) : null;
      const { tree, leaves } = grower.grow(g, h);
      const state = tree.finish(O > 1 ? k : 0);
      trees.push(state);
      // Update the training raw scores from the partition, without walking the tree.
      const idx = grower.indices;
      for (const leaf of leaves) {
        const v = state.value[leaf.node]!;
        for (let p = leaf.start; p < leaf.end; p++) raw[idx[p]! * O + k]! += v;
      }
      if (rawVal) {
        leafIndices(state, xVal32!, valRows!.length, F, leavesOut);
        for (let i = 0; i < valRows!.length; i++) rawVal[i * O + k]! += state.value[leavesOut[i]!]!;
      }
    }
    iterations = it + 1;
    opts.onProgress?.(iterations / P.maxIter, `iteration ${iterations}/${P.maxIter}`);
    if (rawVal) {
      valScores.push(-meanLoss(rawVal, yVal!, O, isClf));
      if (shouldStop(valScores, P.nIterNoChange, P.tol)) break;
    }
  }
  trainLosses.push(meanLoss(raw, yTrain, O, isClf));

  return {
    kind: 'gradient_boosting', task: target.task, nFeatures: F, classCount: K, outputs: O, aggregate: 'sum',
    baseScore, postTransform: !isClf ? 'none' : O === 1 ? 'logistic' : 'softmax', trees,
    params: { ...P, maxLeafNodes: P.maxLeafNodes === Number.MAX_SAFE_INTEGER ? null : P.maxLeafNodes,
      maxDepth: P.maxDepth === Number.MAX_SAFE_INTEGER ? null : P.maxDepth },
    info: {
      iterations, earlyStopping: early, sparseHistograms: grower.sparse, trainLoss: trainLosses[0],
      validationLoss: valScores.length ? -valScores[valScores.length - 1]! : undefined,
      validationLosses: valScores.length ? valScores.map((s) => -s) : undefined,
    },
  };
}

/** scikit-learn's rule: stop when none of the last n scores beats the one before them by more than tol. */
function shouldStop(scores: number[], n: number, tol: number): boolean {
  if (scores.length < n + 1) return false;
  const reference = scores[scores.length - n - 1]! + tol;
  for (let i = scores.length - n; i < scores.length; i++) if (scores[i]! > reference) return false;
  return true;
}

function computeGradients(raw: Float64Array, y: ArrayLike<number>, O: number, isClf: boolean, grad: Float64Array, hess: Float64Array): void {
  const n = y.length;
  if (!isClf) {
    for (let i = 0; i < n; i++) grad[i] = raw[i]! - y[i]!;
  } else if (O === 1) {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(raw[i]!);
      grad[i] = p - (y[i] === 1 ? 1 : 0);
      hess[i] = p * (1 - p);
    }
  } else {
    for (let i = 0; i < n; i++) {
      let m = -Infinity;
      for (let k = 0; k < O; k++) m = Math.max(m, raw[i * O + k]!);
      let s = 0;
      for (let k = 0; k < O; k++) s += Math.exp(raw[i * O + k]! - m);
      for (let k = 0; k < O; k++) {
        const p = Math.exp(raw[i * O + k]! - m) / s;
        grad[k * n + i] = p - (y[i] === k ? 1 : 0);
        hess[k * n + i] = p * (1 - p);
      }
    }
  }
}

/** Mean loss: half squared error (regression), log loss (classification) — scikit-learn's losses. */
function meanLoss(raw: Float64Array, y: ArrayLike<number>, O: number, isClf: boolean): number {
  const n = y.length;
  let s = 0;
  if (!isClf) {
    for (let i = 0; i < n; i++) { const d = raw[i]! - y[i]!; s += 0.5 * d * d; }
  } else if (O === 1) {
    for (let i = 0; i < n; i++) {
      const z = raw[i]!;
      s += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - (y[i] === 1 ? z : 0);
    }
  } else {
    for (let i = 0; i < n; i++) {
      let m = -Infinity;
      for (let k = 0; k < O; k++) m = Math.max(m, raw[i * O + k]!);
      let t = 0;
      for (let k = 0; k < O; k++) t += Math.exp(raw[i * O + k]! - m);
      s += m + Math.log(t) - raw[i * O + y[i]!]!;
    }
  }
  return s / n;
}

export function predictGradientBoosting(state: TreeEnsembleState, x: Matrix): ClassPrediction | ValuePrediction {
  checkFeatures(x, state.nFeatures, 'gradient_boosting');
  const scores = ensembleScores(state, asFloat32(x.data), x.rows);
  if (state.task === 'regression') return { task: 'regression', values: scores };
  return scoresToClasses(scores, x.rows, state.classCount, state.postTransform);
}

// ---------------------------------------------------------------------------------------------
// Leaf-wise tree growing from gradient histograms.

interface SplitInfo {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  gl: number;
  hl: number;
  cl: number;
}

interface GrowNode {
  id: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  hist: Float64Array | null;
  split: SplitInfo | null;
}

export interface GrownLeaf {
  node: number;
  start: number;
  end: number;
}


class Grower {
  /** Sample indices; after `grow`, each leaf's samples are a contiguous range. */
  readonly indices: Int32Array;
  private pool: Float64Array[] = [];
  private readonly nBins: Int32Array;
  private g!: Float64Array;
  private h: Float64Array | null = null;

  constructor(
    private readonly bins: Uint8Array,
    private readonly n: number,
    private readonly F: number,
    private readonly thresholds: Float64Array[],
    private readonly P: ResolvedParams,
  ) {
    this.indices = new Int32Array(n);
    this.nBins = Int32Array.from(thresholds, (t) => t.length + 1);
    this.layout = { bins, rowStride: F, featureStride: 1, nBins: this.nBins };
    this.partScratch = new Int32Array(n);
    // Compact histograms: feature f owns cells offset[f] … offset[f] + nBins[f], the last one for
    // missing values (binning.ts), so that clearing, subtracting and scanning skip the unused bins.
    this.offset = new Int32Array(F + 1);
    for (let f = 0; f < F; f++) this.offset[f + 1] = this.offset[f]! + this.nBins[f]! + 1;
    this.histSize = this.offset[F]! * 3;
    // Sparse data (one-hot blocks, image backgrounds): when most cells hold their feature's most
    // frequent bin, rows keep only their other cells (CSR) and each node's most-frequent-bin
    // cells are filled in from the node totals, as LightGBM does.
    const counts = new Int32Array(this.offset[F]!);
    for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) counts[this.offset[f]! + bins[i * F + f]!]!++;
    this.defaultCell = new Int32Array(F);
    let nonDefault = 0;
    for (let f = 0; f < F; f++) {
      let best = this.offset[f]!;
      for (let c = this.offset[f]! + 1; c < this.offset[f + 1]!; c++) if (counts[c]! > counts[best]!) best = c;
      this.defaultCell[f] = best;
      nonDefault += n - counts[best]!;
    }
    if (nonDefault < 0.4 * n * F) {
      this.rowStart = new Int32Array(n + 1);
      this.cells = new Int32Array(nonDefault);
      let e = 0;
      for (let i = 0; i < n; i++) {
        for (let f = 0; f < F; f++) {
          const c = this.offset[f]! + bins[i * F + f]!;
          if (c !== this.defaultCell[f]) this.cells[e++] = c;
        }
        this.rowStart[i + 1] = e;
      }
    }
  }

  private readonly offset: Int32Array;
  private readonly histSize: number;
  private readonly layout: BinnedLayout;
  private readonly partScratch: Int32Array;
  private pairScratch: Float64Array | null = null;
  /** Per feature, the histogram cell of its most frequent bin. */
  private readonly defaultCell: Int32Array;
  /** CSR rows of non-default cells (sparse mode only). */
  private rowStart: Int32Array | null = null;
  private cells: Int32Array | null = null;

  get sparse(): boolean {
    return this.cells !== null;
  }

  grow(g: Float64Array, h: Float64Array | null): { tree: TreeBuilder; leaves: GrownLeaf[] } {
    this.g = g;
    this.h = h;
    const { n, P } = this;
    const idx = this.indices;
    for (let i = 0; i < n; i++) idx[i] = i;
    const tree = new TreeBuilder(1);
    let G = 0;
    let H = 0;
    for (let i = 0; i < n; i++) { G += g[i]!; H += h ? h[i]! : 1; }
    const root: GrowNode = { id: tree.add(), start: 0, end: n, depth: 0, g: G, h: H, hist: null, split: null };
    const frontier: GrowNode[] = [root];
    const leaves: GrownLeaf[] = [];
    if (this.canSplit(root)) {
      root.hist = this.take();
      this.buildHist(root.hist, 0, n, G, H);
      root.split = this.findSplit(root);
    }
    let nLeaves = 1;
    while (nLeaves < P.maxLeafNodes) {
      let best = -1;
      for (let j = 0; j < frontier.length; j++) {
        const s = frontier[j]!.split;
        if (s && (best < 0 || s.gain > frontier[best]!.split!.gain)) best = j;
      }
      if (best < 0) break;
      const node = frontier[best]!;
      frontier.splice(best, 1);
      const s = node.split!;
      const thr = splitThreshold(this.thresholds, this.nBins, s.feature, s.bin);
      const ids = tree.split(node.id, s.feature, thr, s.missingLeft);
      const mid = partition(this.indices, this.partScratch, node.start, node.end, this.layout, s.feature, s.bin, s.missingLeft);
      nLeaves++;
      const left: GrowNode = { id: ids.left, start: node.start, end: mid, depth: node.depth + 1, g: s.gl, h: s.hl, hist: null, split: null };
      const right: GrowNode = { id: ids.right, start: mid, end: node.end, depth: node.depth + 1, g: node.g - s.gl, h: node.h - s.hl, hist: null, split: null };
      const more = nLeaves < P.maxLeafNodes;
      const splitL = more && this.canSplit(left);
      const splitR = more && this.canSplit(right);
      if (splitL || splitR) {
        // Build the smaller child's histogram; the larger one is parent − smaller (in place).
        const [small, large] = left.end - left.start <= right.end - right.start ? [left, right] : [right, left];
        small.hist = this.take();
        this.buildHist(small.hist, small.start, small.end, small.g, small.h);
        const ph = node.hist!;
        const sh = small.hist;
        for (let j = 0; j < ph.length; j++) ph[j]! -= sh[j]!;
        large.hist = ph;
        node.hist = null;
        for (const c of [left, right]) {
          if (c === left ? splitL : splitR) c.split = this.findSplit(c);
          if (!c.split) this.release(c);
        }
      } else if (node.hist) {
        this.release(node);
      }
      frontier.push(left, right);
    }
    for (const node of frontier) {
      this.release(node);
      tree.setValue(node.id, 0, (-P.learningRate * node.g) / (node.h + P.l2 + 1e-15));
      leaves.push({ node: node.id, start: node.start, end: node.end });
    }
    return { tree, leaves };
  }

  private canSplit(node: GrowNode): boolean {
    return node.end - node.start >= 2 * this.P.minSamplesLeaf && node.depth < this.P.maxDepth && node.h >= 2 * MIN_HESSIAN_TO_SPLIT;
  }

  private take(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.histSize);
  }

  private release(node: GrowNode): void {
    if (node.hist) { this.pool.push(node.hist); node.hist = null; }
  }

  /** hist[(f·256 + bin)·3 + {0: Σg, 1: Σh, 2: count}] over samples indices[start..end). */
  private buildHist(hist: Float64Array, start: number, end: number, G: number, H: number): void {
    hist.fill(0);
    if (this.cells) return this.buildSparseHist(hist, start, end, G, H);
    const { bins, F, g, h } = this;
    const off = this.offset;
    const idx = this.indices;
    // Large nodes alternate rows between two histograms: consecutive rows often hit the same
    // cell (binary features), and two accumulators halve those dependency chains.
    const paired = (end - start) * F >= 2 * this.histSize;
    let h2: Float64Array = hist;
    if (paired) {
      h2 = this.pairScratch ??= new Float64Array(this.histSize);
      h2.fill(0);
    }
    let p = start;
    if (paired) {
      for (; p + 1 < end; p += 2) {
        const i0 = idx[p]!;
        const i1 = idx[p + 1]!;
        const g0 = g[i0]!;
        const g1 = g[i1]!;
        const h0 = h ? h[i0]! : 1;
        const h1 = h ? h[i1]! : 1;
        const b0 = i0 * F;
        const b1 = i1 * F;
        for (let f = 0; f < F; f++) {
          const o0 = (off[f]! + bins[b0 + f]!) * 3;
          const o1 = (off[f]! + bins[b1 + f]!) * 3;
          hist[o0]! += g0;
          hist[o0 + 1]! += h0;
          hist[o0 + 2]! += 1;
          h2[o1]! += g1;
          h2[o1 + 1]! += h1;
          h2[o1 + 2]! += 1;
        }
      }
    }
    for (; p < end; p++) {
      const i = idx[p]!;
      const gi = g[i]!;
      const hi = h ? h[i]! : 1;
      const base = i * F;
      for (let f = 0; f < F; f++) {
        const o = (off[f]! + bins[base + f]!) * 3;
        hist[o]! += gi;
        hist[o + 1]! += hi;
        hist[o + 2]! += 1;
      }
    }
    if (paired) for (let j = 0; j < hist.length; j++) hist[j]! += h2[j]!;
  }

  private buildSparseHist(hist: Float64Array, start: number, end: number, G: number, H: number): void {
    const { g, h, F } = this;
    const rowStart = this.rowStart!;
    const cells = this.cells!;
    const idx = this.indices;
    for (let p = start; p < end; p++) {
      const i = idx[p]!;
      const gi = g[i]!;
      const hi = h ? h[i]! : 1;
      for (let e = rowStart[i]!, stop = rowStart[i + 1]!; e < stop; e++) {
        const o = cells[e]! * 3;
        hist[o]! += gi;
        hist[o + 1]! += hi;
        hist[o + 2]! += 1;
      }
    }
    // Each feature's default cell holds what its other cells do not.
    const C = end - start;
    const off = this.offset;
    for (let f = 0; f < F; f++) {
      let sg = 0;
      let sh = 0;
      let sc = 0;
      for (let c = off[f]! * 3, stop = off[f + 1]! * 3; c < stop; c += 3) { sg += hist[c]!; sh += hist[c + 1]!; sc += hist[c + 2]!; }
      const d = this.defaultCell[f]! * 3;
      hist[d] = G - sg;
      hist[d + 1] = H - sh;
      hist[d + 2] = C - sc;
    }
  }

  private findSplit(node: GrowNode): SplitInfo | null {
    const hist = node.hist!;
    const { l2, minSamplesLeaf } = this.P;
    const G = node.g;
    const H = node.h;
    const C = node.end - node.start;
    const parent = gradientTerm(G, H, l2);
    let best: SplitInfo | null = null;
    let bestGain = 0; // scikit-learn's min_gain_to_split: a split must strictly reduce the loss
    for (let f = 0; f < this.F; f++) {
      const off = this.offset[f]! * 3;
      const nb = this.nBins[f]!;
      const mo = off + nb * 3;
      const gm = hist[mo]!;
      const hm = hist[mo + 1]!;
      const cm = hist[mo + 2]!;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb; b++) {
        const o = off + b * 3;
        gl += hist[o]!;
        hl += hist[o + 1]!;
        cl += hist[o + 2]!;
        // Missing values right (always tried; with no missing values the side is chosen below).
        const cr = C - cl;
        if (cl >= minSamplesLeaf && cr >= minSamplesLeaf) {
          const hr = H - hl;
          if (hl >= MIN_HESSIAN_TO_SPLIT && hr >= MIN_HESSIAN_TO_SPLIT) {
            const gr = G - gl;
            const gain = gradientTerm(gl, hl, l2) + gradientTerm(gr, hr, l2) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, missingLeft: cm > 0 ? false : cl >= cr, gl, hl, cl };
            }
          }
        }
        if (cm > 0 && b < nb - 1) {
          const gL = gl + gm;
          const hL = hl + hm;
          const cL = cl + cm;
          const cR = C - cL;
          const hR = H - hL;
          if (cL >= minSamplesLeaf && cR >= minSamplesLeaf && hL >= MIN_HESSIAN_TO_SPLIT && hR >= MIN_HESSIAN_TO_SPLIT) {
            const gR = G - gL;
            const gain = gradientTerm(gL, hL, l2) + gradientTerm(gR, hR, l2) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, missingLeft: true, gl: gL, hl: hL, cl: cL };
            }
          }
        }
        if (cl >= C - cm) break; // every non-missing sample is already left
      }
    }
    return best;
  }

}

/** Validates the parameters (throws a 422 `bad_params` AppError) without fitting. */
export function checkGradientBoostingParams(params: GradientBoostingParams): void {
  resolve(params);
}

