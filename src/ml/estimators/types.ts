/**
 * Shared shapes of the classical estimators: their predictions and fitted states (plain JSON-able data, like scikit-learn's fitted attributes).
 */

import type { Task } from '../core/matrix.js';

// The data shapes live in ml/core (shared with ml/metrics); re-exported for the estimators' users.
export type { ClassificationTarget, FloatArray, Matrix, RegressionTarget, Target, Task } from '../core/matrix.js';

/** What a classifier predicts: labels[i] = argmax of probabilities row i (row-major rows × classCount). */
export interface ClassPrediction {
  task: 'classification';
  labels: Int32Array;
  probabilities: Float64Array;
  classCount: number;
}

export interface ValuePrediction {
  task: 'regression';
  values: Float64Array;
}

export type Prediction = ClassPrediction | ValuePrediction;

/** Called now and then during a fit with the fraction done (0..1). */
export type ProgressCallback = (fraction: number, message?: string) => void;

export interface FitOptions {
  /** Seed of the pseudo-random generator (bootstrap, feature sampling, validation split). Default 0. */
  seed?: number;
  onProgress?: ProgressCallback;
  /**
   * Threads the fit may use (default 1): the tree ensembles grow trees on `threads − 1` helper
   * threads besides the caller's when the data is large enough to pay for starting them. Results
   * do not depend on it. Give it the job's CPU grant.
   */
  threads?: number;
}

/** One fitted binary tree, stored as parallel arrays indexed by node id (root = 0). */
export interface TreeState {
  /** Split feature, or -1 for a leaf. */
  feature: number[];
  /** A sample goes left when `fround(x[feature]) <= threshold` (a float32 value, as in ONNX). */
  threshold: number[];
  left: number[];
  right: number[];
  /** 1 when a missing value (NaN) goes left, 0 when it goes right. */
  missingLeft: number[];
  /**
   * Leaf outputs (float32 values; 0 for internal nodes): `nodeCount × outputs` row-major when
   * `target` is -1, one per node when the tree feeds a single output `target`. For a
   * random-forest classifier: the leaf's class distribution; for a regressor or a boosting tree:
   * the value added to the raw score.
   */
  value: number[];
  /** Which output a tree contributes to, for boosting trees that target one class (-1: all outputs). */
  target: number;
}

/**
 * A fitted tree ensemble. The raw score of output k is `baseScore[k] + Σ_trees value`, averaged
 * over trees when `aggregate` is 'average'; `postTransform` turns raw scores into probabilities.
 */
export interface TreeEnsembleState {
  kind: 'random_forest' | 'gradient_boosting';
  task: Task;
  nFeatures: number;
  /** Classes of a classifier (0 for a regressor). */
  classCount: number;
  /** Width of the raw score: classCount for a forest classifier, 1 for binary boosting, 1 for regression. */
  outputs: number;
  aggregate: 'sum' | 'average';
  baseScore: number[];
  postTransform: 'none' | 'softmax' | 'logistic';
  trees: TreeState[];
  params: Record<string, unknown>;
  /** Diagnostics of the fit (iterations, losses, …). */
  info: Record<string, unknown>;
}

/**
 * A fitted linear model: raw score `z = x · coef + intercept`, coef stored `nFeatures × outputs`
 * row-major. Logistic regression: outputs = 1 (sigmoid) for two classes, classCount (softmax) above;
 * svm: outputs = classCount, the one-vs-rest decision values (svm.ts).
 */
export interface LinearState {
  kind: 'logistic_regression' | 'linear_regression' | 'svm';
  task: Task;
  nFeatures: number;
  classCount: number;
  outputs: number;
  coef: number[];
  intercept: number[];
  postTransform: 'none' | 'softmax' | 'logistic';
  params: Record<string, unknown>;
  info: Record<string, unknown>;
}

export type ModelState = TreeEnsembleState | LinearState;
export type ModelKind = ModelState['kind'];
