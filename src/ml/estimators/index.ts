/**
 * The classical estimators behind one entry point: `fitModel(spec, x, target)` returns a fitted
 * state (plain JSON-able data), `predict(state, x)` labels + probabilities or values, and
 * `exportOnnx` / `onnxNodes` (./onnx.js) the same model as an ONNX-ML graph.
 *
 *   const state = fitModel({ kind: 'random_forest', nEstimators: 200 }, x, { task: 'classification', y, classCount: 3 }, { seed: 0 });
 *   const { labels, probabilities } = predict(state, xTest) as ClassPrediction;
 *   const bytes = exportOnnx(state);                      // standalone model: input → label, probabilities
 *   const part = onnxNodes(state, { input: 'features' }); // nodes + initializers to compose a graph
 */
import { InvalidInputError } from '../../infra/errors.js';
import { classificationMetrics } from '../metrics/classification.js';
import type { ClassificationMetrics } from '../metrics/classification.js';
import { crossValidate } from '../metrics/cross-validation.js';
import type { CrossValidationResult } from '../metrics/cross-validation.js';
import { permutationImportance } from '../metrics/importance.js';
import type { PermutationImportanceResult } from '../metrics/importance.js';
import { regressionMetrics } from '../metrics/regression.js';
import type { RegressionMetrics } from '../metrics/regression.js';
import './classical.js';
import type { GradientBoostingParams } from './gradient-boosting.js';
import { fitGradientBoosting } from './gradient-boosting.js';
import { fitLogisticRegression, fitRidge } from './linear.js';
import type { LogisticRegressionParams, RidgeParams } from './linear.js';
import { fitRandomForest } from './random-forest.js';
import type { SvmParams } from './svm.js';
import type { RandomForestParams } from './random-forest.js';
import { estimatorFor } from './registry.js';
import type { FitOptions, Matrix, ModelKind, ModelState, Prediction, Target } from './types.js';

export type ModelSpec =
  | ({ kind: 'logistic_regression' } & LogisticRegressionParams)
  | ({ kind: 'linear_regression' } & RidgeParams)
  | ({ kind: 'svm' } & SvmParams)
  | ({ kind: 'random_forest' } & RandomForestParams)
  | ({ kind: 'gradient_boosting' } & GradientBoostingParams);

/** The built-in classical kinds (registered in classical.ts). */
export const CLASSICAL_KINDS: readonly ModelKind[] = ['logistic_regression', 'linear_regression', 'svm', 'random_forest', 'gradient_boosting'];

/** Fits the model `spec.kind` with the other fields of `spec` as parameters (the estimators ignore `kind`). */
export function fitModel(spec: ModelSpec, x: Matrix, target: Target, opts: FitOptions = {}): ModelState {
  return estimatorFor(spec.kind).fit(x, target, spec as unknown as Record<string, unknown>, opts);
}

/**
 * Checks a model spec before any data is read (e.g. when a train job is submitted): unknown
 * kinds, unknown parameters, out-of-range values and a kind that cannot do `task` all throw a
 * `bad_params` InvalidInputError naming the parameter and the allowed range.
 */
export function validateModelSpec(spec: ModelSpec, task: Target['task']): void {
  estimatorFor(spec.kind).resolve(spec as unknown as Record<string, unknown>, task);
}

export function predict(state: ModelState, x: Matrix): Prediction {
  return estimatorFor(state.kind).predict(state, x);
}

/** Class probabilities (rows × classCount, row-major) of a fitted classifier. */
export function predictProba(state: ModelState, x: Matrix): Float64Array {
  const p = predict(state, x);
  if (p.task !== 'classification') {
    throw new InvalidInputError('bad_params', `${state.kind} was fitted for regression; it has no class probabilities.`);
  }
  return p.probabilities;
}

/** API.md's metrics of a fitted model on (held-out) rows. */
export function evaluateModel(state: ModelState, x: Matrix, target: Target, opts: { labels?: string[] } = {}): ClassificationMetrics | RegressionMetrics {
  const p = predict(state, x);
  if (p.task === 'classification') {
    if (target.task !== 'classification') throw new InvalidInputError('bad_data', 'A classifier needs a classification target to be evaluated.');
    return classificationMetrics(target.y, p.labels, state.classCount, { probabilities: p.probabilities, labels: opts.labels });
  }
  if (target.task !== 'regression') throw new InvalidInputError('bad_data', 'A regressor needs a regression target to be evaluated.');
  return regressionMetrics(target.y, p.values);
}

/** The score used by cross-validation and permutation importance: accuracy, or R² for regression. */
export function defaultScore(task: Target['task']): 'accuracy' | 'r2' {
  return task === 'classification' ? 'accuracy' : 'r2';
}

/**
 * k-fold cross-validation of `spec` (stratified folds for classification): per fold the scalar
 * metrics of `evaluateModel` (accuracy, precision, recall, f1, logLoss, rocAuc | mse, rmse, mae, r2).
 */
export function crossValidateModel(
  spec: ModelSpec, x: Matrix, target: Target, opts: { folds?: number; seed?: number } = {},
): CrossValidationResult {
  return crossValidate(x, target, (train, test) => {
    const state = fitModel(spec, train.x, train.target, { seed: opts.seed ?? 0 });
    const m = evaluateModel(state, test.x, test.target) as unknown as Record<string, unknown>;
    const scalars: Record<string, number> = {};
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') scalars[k] = v;
    return scalars;
  }, opts);
}

/** Permutation importance of each feature for a fitted model on (held-out) rows, scored by accuracy or R². */
export function permutationImportanceModel(
  state: ModelState, x: Matrix, target: Target, opts: { nRepeats?: number; seed?: number } = {},
): PermutationImportanceResult {
  const score = (m: Matrix): number => {
    const p = predict(state, m);
    if (p.task === 'classification') {
      let ok = 0;
      for (let i = 0; i < m.rows; i++) if (p.labels[i] === target.y[i]) ok++;
      return ok / m.rows;
    }
    return regressionMetrics(target.y, p.values).r2;
  };
  return permutationImportance(x, score, opts);
}

export { exportOnnx, onnxNodes } from './onnx.js';
export type { OnnxModelPart, OnnxNodesOptions, OnnxOutputNames } from './onnx.js';
export { Rng } from '../core/random.js';
export { BOOSTING_LIMITS } from './gradient-boosting.js';
export { FOREST_LIMITS } from './random-forest.js';

/** The parameters each classical kind takes (besides `kind`): for strict specs and did-you-mean. */
export const CLASSICAL_PARAMS = Object.fromEntries(
  CLASSICAL_KINDS.map((k) => [k, estimatorFor(k).params]),
) as Record<ModelKind, readonly string[]>;
export { estimatorFor, estimatorKinds, registerEstimator } from './registry.js';
export type { Estimator, FittedState } from './registry.js';
export type * from './types.js';
export type { GradientBoostingParams, LogisticRegressionParams, RidgeParams, RandomForestParams, SvmParams };
export { fitGradientBoosting, fitLogisticRegression, fitRandomForest, fitRidge };
