/** Registers the built-in classical kinds (linear models, linear SVMs, random forests, gradient boosting). */
import { InvalidInputError } from '../../infra/errors.js';
import { checkGradientBoostingParams, fitGradientBoosting, KNOWN as BOOSTING_PARAMS, predictGradientBoosting } from './gradient-boosting.js';
import { fitLogisticRegression, fitRidge, LOGISTIC_PARAMS, predictLinear, resolveLogisticParams, resolveRidgeParams, RIDGE_PARAMS } from './linear.js';
import { linearClassifierScores, linearScores, treeEnsembleScores } from './onnx-scores.js';
import { checkRandomForestParams, fitRandomForest, KNOWN as FOREST_PARAMS, predictRandomForest } from './random-forest.js';
import { registerEstimator } from './registry.js';
import { fitSvm, resolveSvmParams, SVM_PARAMS } from './svm.js';
import type { LinearState, Task, TreeEnsembleState } from './types.js';

function taskMismatch(kind: string, needs: Task, instead: string) {
  return new InvalidInputError('bad_params', `Model kind '${kind}' is for ${needs} only; use '${instead}' or 'random_forest' / 'gradient_boosting'.`, {
    param: 'kind',
  });
}

registerEstimator<LinearState, Record<string, unknown>>({
  kind: 'logistic_regression',
  params: LOGISTIC_PARAMS,
  resolve: (p, task) => {
    if (task !== 'classification') throw taskMismatch('logistic_regression', 'classification', 'linear_regression');
    resolveLogisticParams(p);
  },
  fit: (x, target, p, opts) => {
    if (target.task !== 'classification') throw taskMismatch('logistic_regression', 'classification', 'linear_regression');
    return fitLogisticRegression(x, target, p, opts);
  },
  predict: predictLinear,
  onnx: linearScores,
});

registerEstimator<LinearState, Record<string, unknown>>({
  kind: 'linear_regression',
  params: RIDGE_PARAMS,
  resolve: (p, task) => {
    if (task !== 'regression') throw taskMismatch('linear_regression', 'regression', 'logistic_regression');
    resolveRidgeParams(p);
  },
  fit: (x, target, p, opts) => {
    if (target.task !== 'regression') throw taskMismatch('linear_regression', 'regression', 'logistic_regression');
    return fitRidge(x, target, p, opts);
  },
  predict: predictLinear,
  onnx: linearScores,
});

registerEstimator<LinearState, Record<string, unknown>>({
  kind: 'svm',
  params: SVM_PARAMS,
  resolve: (p, task) => {
    if (task !== 'classification') throw taskMismatch('svm', 'classification', 'linear_regression');
    resolveSvmParams(p);
  },
  fit: (x, target, p, opts) => {
    if (target.task !== 'classification') throw taskMismatch('svm', 'classification', 'linear_regression');
    return fitSvm(x, target, p, opts);
  },
  predict: predictLinear,
  onnx: linearClassifierScores,
});

registerEstimator<TreeEnsembleState, Record<string, unknown>>({
  kind: 'random_forest',
  params: FOREST_PARAMS,
  resolve: (p, task) => checkRandomForestParams(p, task),
  fit: (x, target, p, opts) => fitRandomForest(x, target, p, opts),
  predict: predictRandomForest,
  onnx: treeEnsembleScores,
});

registerEstimator<TreeEnsembleState, Record<string, unknown>>({
  kind: 'gradient_boosting',
  params: BOOSTING_PARAMS,
  resolve: (p) => checkGradientBoostingParams(p),
  fit: (x, target, p, opts) => fitGradientBoosting(x, target, p, opts),
  predict: predictGradientBoosting,
  onnx: treeEnsembleScores,
});
