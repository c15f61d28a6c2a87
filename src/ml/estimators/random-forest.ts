/**
 * Random forests (scikit-learn's RandomForestClassifier/Regressor): bootstrap samples, a random
 * subset of features at every node, trees grown depth-first with the gini criterion
 * (classification) or squared error (regression), predictions averaged over the trees.
 *
 * Splits are searched on binned features (≤ 255 bins, as the boosting models) rather than on
 * sorted raw values: the same split as scikit-learn whenever a feature has at most `maxBins`
 * distinct values, a quantile approximation otherwise — and several times faster. Within a
 * node the threshold is placed at the bin edge halfway between the two occupied bins, like the
 * midpoint scikit-learn uses.
 *
 * Missing values (NaN) are routed like the boosting models do: each split learns their side;
 * where a node saw none, they follow the child with more training weight.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { binMatrix, fitBinThresholds } from './trees/binning.js';
import { ForestGrower, MAX_FOREST_ROWS, forkSeed, growForestTree } from './trees/forest-grower.js';
import { TreeThreadPool, helperThreads, shared } from './trees/thread-pool.js';
import { scoresToClasses } from './linear.js';
import { badParam, boolParam, checkData, checkFeatures, checkKnown, intParam, optionalIntParam } from './params.js';
import { Rng } from '../core/random.js';
import { asFloat32, ensembleScores } from './trees/tree.js';
import type { ClassPrediction, FitOptions, Matrix, Target, TreeEnsembleState, TreeState, ValuePrediction } from './types.js';

/**
 * Parameters (scikit-learn's defaults):
 * - `nEstimators` (100, ≥ 1).
 * - `maxDepth` (null: grow until pure or `minSamplesSplit`; else ≥ 1).
 * - `minSamplesSplit` (2, ≥ 2), `minSamplesLeaf` (1, ≥ 1): counted in distinct training rows.
 * - `maxFeatures`: features tried per node — 'sqrt' (classification default), 'log2', 'all'
 *   (regression default), a fraction in (0, 1] or an integer count > 1.
 * - `bootstrap` (true), `maxSamples` (null = n rows drawn with replacement; else a fraction in (0, 1]).
 * - `maxBins` (255, in [2, 255]).
 */
export interface RandomForestParams {
  nEstimators?: number;
  maxDepth?: number | null;
  minSamplesSplit?: number;
  minSamplesLeaf?: number;
  maxFeatures?: 'sqrt' | 'log2' | 'all' | number;
  bootstrap?: boolean;
  maxSamples?: number | null;
  maxBins?: number;
}

/**
 * Upper bounds that keep one fit within a worker's memory: each tree is stored node by node, so
 * thousands of trees or a depth nobody needs (a tree of depth d has up to 2^d leaves) are refused
 * up front. The node count against the data's rows is estimated in services/training.
 */
export const FOREST_LIMITS = { nEstimators: 5_000, maxDepth: 64 } as const;

export const KNOWN = ['nEstimators', 'maxDepth', 'minSamplesSplit', 'minSamplesLeaf', 'maxFeatures', 'bootstrap', 'maxSamples', 'maxBins'] as const;

interface Resolved {
  nEstimators: number;
  maxDepth: number | null;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  maxFeatures: 'sqrt' | 'log2' | 'all' | number;
  bootstrap: boolean;
  maxSamples: number | null;
  maxBins: number;
}

function resolve(params: RandomForestParams, task: Target['task']): Resolved {
  const p = params as Record<string, unknown>;
  checkKnown(p, KNOWN, 'random_forest');
  const mf = p.maxFeatures ?? (task === 'classification' ? 'sqrt' : 'all');
  const mfOk = mf === 'sqrt' || mf === 'log2' || mf === 'all'
    || (typeof mf === 'number' && ((mf > 0 && mf <= 1) || (Number.isInteger(mf) && mf > 1)));
  if (!mfOk) throw badParam('maxFeatures', "'sqrt', 'log2', 'all', a fraction in (0, 1] or an integer > 1", mf);
  const ms = p.maxSamples;
  if (ms !== undefined && ms !== null && !(typeof ms === 'number' && ms > 0 && ms <= 1)) {
    throw badParam('maxSamples', 'null or a fraction in (0, 1]', ms);
  }
  return {
    nEstimators: intParam(p, 'nEstimators', 100, 1, FOREST_LIMITS.nEstimators),
    maxDepth: optionalIntParam(p, 'maxDepth', null, 1, FOREST_LIMITS.maxDepth),
    minSamplesSplit: intParam(p, 'minSamplesSplit', 2, 2),
    minSamplesLeaf: intParam(p, 'minSamplesLeaf', 1, 1),
    maxFeatures: mf as Resolved['maxFeatures'],
    bootstrap: boolParam(p, 'bootstrap', true),
    maxSamples: (ms as number | null | undefined) ?? null,
    maxBins: intParam(p, 'maxBins', 255, 2, 255),
  };
}

function featuresPerNode(mf: Resolved['maxFeatures'], F: number): number {
  let m: number;
  if (mf === 'sqrt') m = Math.floor(Math.sqrt(F));
  else if (mf === 'log2') m = Math.floor(Math.log2(F));
  else if (mf === 'all') m = F;
  else if (mf <= 1) m = Math.floor(mf * F);
  else m = mf;
  return Math.min(F, Math.max(1, m));
}

export function fitRandomForest(x: Matrix, target: Target, params: RandomForestParams = {}, opts: FitOptions = {}): TreeEnsembleState {
  const P = resolve(params, target.task);
  checkData(x, target, { allowNaN: true, model: 'random_forest' });
  const rng = new Rng(opts.seed ?? 0);
  const n = x.rows;
  const F = x.cols;
  const isClf = target.task === 'classification';
  const K = isClf ? target.classCount : 0;
  const thresholds = fitBinThresholds(x, P.maxBins, rng);
  const binned = binMatrix(x, thresholds);
  if (n > MAX_FOREST_ROWS) {
    throw new InvalidInputError('bad_data', `random_forest trains on at most ${MAX_FOREST_ROWS} rows; got ${n}. Subsample the data set.`);
  }
  const options = { maxDepth: P.maxDepth, minSamplesSplit: P.minSamplesSplit, minSamplesLeaf: P.minSamplesLeaf };
  const mtry = featuresPerNode(P.maxFeatures, F);
  const draws = { n, nDraws: P.maxSamples === null ? n : Math.max(1, Math.round(P.maxSamples * n)), bootstrap: P.bootstrap };
  // Tree t's stream is the t-th fork of the fit's generator, whichever thread grows it.
  const seeds = Array.from({ length: P.nEstimators }, () => forkSeed(rng));
  const helpers = helperThreads(opts.threads, n * P.nEstimators >= 200_000, P.nEstimators);
  const pool = helpers > 0
    ? new TreeThreadPool(helpers, { kind: 'forest', bins: shared(binned.bins), n, F, thresholds, target: sharedTarget(target), options, mtry })
    : null;
  const trees: TreeState[] = new Array<TreeState>(P.nEstimators);
  try {
    // Every thread takes the next tree not yet taken (a shared counter) until none is left, so a
    // thread slowed by other work on the machine grows fewer trees instead of holding up the fit.
    const next = new Int32Array(new SharedArrayBuffer(4));
    for (let j = 0; j < helpers; j++) pool!.send(j, { seeds, draws, next });
    const grower = new ForestGrower(binned.bins, n, F, thresholds, target, options, mtry);
    const weights = new Float64Array(n);
    for (let t = Atomics.add(next, 0, 1), own = 0; t < seeds.length; t = Atomics.add(next, 0, 1)) {
      trees[t] = growForestTree(grower, seeds[t]!, draws, weights);
      if (++own % 10 === 0) opts.onProgress?.(Math.min(1, Atomics.load(next, 0) / seeds.length), `tree ${Math.min(P.nEstimators, Atomics.load(next, 0))}/${P.nEstimators}`);
    }
    for (let j = 0; j < helpers; j++) for (const [t, tree] of pool!.receive<Array<[number, TreeState]>>(j)) trees[t] = tree;
    opts.onProgress?.(1, `tree ${P.nEstimators}/${P.nEstimators}`);
  } finally {
    pool?.close();
  }
  const nodes = trees.reduce((s, t) => s + t.feature.length, 0);
  return {
    kind: 'random_forest', task: target.task, nFeatures: F, classCount: K, outputs: isClf ? K : 1, aggregate: 'average',
    baseScore: new Array<number>(isClf ? K : 1).fill(0), postTransform: 'none', trees,
    params: { ...P }, info: { nodes, featuresPerNode: mtry },
  };
}

/** The target with its labels in shared memory, for the helper threads. */
function sharedTarget(target: Target): Target {
  // Narrowed per task so that each branch keeps its own label array type.
  if (target.task === 'classification') return { ...target, y: shared(target.y) };
  return { ...target, y: shared(target.y) };
}

/** Validates the parameters (throws a `bad_params` InvalidInputError) without fitting. */
export function checkRandomForestParams(params: RandomForestParams, task: Target['task']): void {
  resolve(params, task);
}

export function predictRandomForest(state: TreeEnsembleState, x: Matrix): ClassPrediction | ValuePrediction {
  checkFeatures(x, state.nFeatures, 'random_forest');
  const scores = ensembleScores(state, asFloat32(x.data), x.rows);
  if (state.task === 'regression') return { task: 'regression', values: scores };
  return scoresToClasses(scores, x.rows, state.classCount, 'none');
}

export { MAX_FOREST_ROWS };
