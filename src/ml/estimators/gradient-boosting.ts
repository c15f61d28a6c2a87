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
 * trick). With `threads` > 1, a multi-class iteration's per-class trees grow on helper threads;
 * with one tree an iteration (regression, binary), helpers build a share of each large node's histograms.
 */
import { trainTestSplit, takeRows } from '../metrics/validation.js';
import { binMatrix, fitBinThresholds } from './trees/binning.js';
import { BoostingGrower, growBoostingTree } from './trees/boosting-grower.js';
import { TreeThreadPool, helperThreads, shared } from './trees/thread-pool.js';
import { scoresToClasses, sigmoid } from './linear.js';
import { badParam, checkData, checkFeatures, checkKnown, intParam, numParam, optionalIntParam } from './params.js';
import { Rng } from '../core/random.js';
import { asFloat32, ensembleScores, leafIndices } from './trees/tree.js';
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
  const binned = binMatrix(xTrain, thresholds);

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
  // Per class, in shared memory for the helper threads: gradients, hessians and each row's raw-score update.
  // Multi-class: helpers grow whole trees (one per class); one tree an iteration: helpers build
  // a share of each large node's histograms (histogram-team.ts).
  const pays = nt * F * P.maxIter >= 2_000_000;
  const helpers = helperThreads(opts.threads, O > 1 && pays, O);
  const histHelpers = helperThreads(opts.threads, O === 1 && pays, F);
  const alloc = (length: number): Float64Array => (helpers + histHelpers > 0 ? new Float64Array(new SharedArrayBuffer(8 * length)) : new Float64Array(length));
  const grad = alloc(nt * O); // class-major: grad[k * nt + i]
  const hess = alloc(isClf ? nt * O : 0);
  const delta = alloc(nt * O);

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
  if (rawVal) valScores.push(-meanLoss(rawVal, yVal!, O, isClf));

  const grower = new BoostingGrower(binned.bins, nt, F, thresholds, P, histHelpers > 0 ? { helpers: histHelpers, grad, hess: isClf ? hess : null } : null);
  const pool = helpers > 0
    ? new TreeThreadPool(helpers, { kind: 'boosting', bins: shared(binned.bins), n: nt, F, thresholds, options: P, grad, hess: isClf ? hess : null, delta })
    : null;
  const trees: TreeState[] = [];
  let iterations = 0;
  const leavesOut = new Int32Array(valRows ? valRows.length : 0);
  try {
    // Thread j grows the trees of classes j, j + T, …; the caller is thread 0.
    const T = helpers + 1;
    const classes = (j: number): number[] => Array.from({ length: O }, (_, k) => k).filter((k) => k % T === j);
    for (let it = 0; it < P.maxIter; it++) {
      computeGradients(raw, yTrain, O, isClf, grad, hess);
      for (let j = 1; j < T; j++) pool!.send(j - 1, { classes: classes(j), outputs: O });
      const grown = new Array<TreeState>(O);
      for (const k of classes(0)) grown[k] = growBoostingTree(grower, k, O, grad, isClf ? hess : null, delta);
      for (let j = 1; j < T; j++) pool!.receive<TreeState[]>(j - 1).forEach((state, a) => { grown[j + a * T] = state; });
      for (let k = 0; k < O; k++) {
        const state = grown[k]!;
        trees.push(state);
        // The training raw scores from the partition (delta), without walking the tree.
        for (let i = 0; i < nt; i++) raw[i * O + k]! += delta[k * nt + i]!;
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
  } finally {
    pool?.close();
    grower.close();
  }
  // A number, not a one-element array: a push after the try/finally deoptimised this function on every fit.
  const trainLoss = meanLoss(raw, yTrain, O, isClf);

  return {
    kind: 'gradient_boosting', task: target.task, nFeatures: F, classCount: K, outputs: O, aggregate: 'sum',
    baseScore, postTransform: !isClf ? 'none' : O === 1 ? 'logistic' : 'softmax', trees,
    params: { ...P, maxLeafNodes: P.maxLeafNodes === Number.MAX_SAFE_INTEGER ? null : P.maxLeafNodes,
      maxDepth: P.maxDepth === Number.MAX_SAFE_INTEGER ? null : P.maxDepth },
    info: {
      iterations, earlyStopping: early, sparseHistograms: grower.sparse, histogramThreads: grower.threaded ? histHelpers + 1 : 1, trainLoss,
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

/** Validates the parameters (throws a `bad_params` InvalidInputError) without fitting. */
export function checkGradientBoostingParams(params: GradientBoostingParams): void {
  resolve(params);
}

