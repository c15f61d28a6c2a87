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

type LinearFit = (x: Parameters<typeof fitRidge>[0], target: never, p: Record<string, unknown>, opts: Parameters<typeof fitRidge>[3]) => LinearState;

/** A linear kind for one task: its task checked before resolving and fitting, the rest its own. */
function registerLinear(kind: LinearState['kind'], task: Task, instead: string, o: {
  params: readonly string[]; resolve: (p: Record<string, unknown>) => void; fit: LinearFit; onnx: typeof linearScores;
}): void {
  registerEstimator<LinearState, Record<string, unknown>>({
    kind,
    params: o.params,
    resolve: (p, t) => {
      if (t !== task) throw taskMismatch(kind, task, instead);
      o.resolve(p);
    },
    fit: (x, target, p, opts) => {
      if (target.task !== task) throw taskMismatch(kind, task, instead);
      // The task was checked above: the target is the one this fit takes.
      return o.fit(x, target as never, p, opts);
    },
    predict: predictLinear,
    onnx: o.onnx,
  });
}

registerLinear('logistic_regression', 'classification', 'linear_regression', { params: LOGISTIC_PARAMS, resolve: resolveLogisticParams, fit: fitLogisticRegression, onnx: linearScores });
registerLinear('linear_regression', 'regression', 'logistic_regression', { params: RIDGE_PARAMS, resolve: resolveRidgeParams, fit: fitRidge, onnx: linearScores });
registerLinear('svm', 'classification', 'linear_regression', { params: SVM_PARAMS, resolve: resolveSvmParams, fit: fitSvm, onnx: linearClassifierScores });

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
