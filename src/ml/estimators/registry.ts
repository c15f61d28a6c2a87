/**
 * The estimators by kind. Each kind registers what the entry points in index.ts and onnx.ts need
 * (validate its parameters, fit, predict, emit its ONNX score nodes), so a new kind (text models,
 * language models, SVMs, …) joins by calling `registerEstimator` in its own module, not by editing
 * a dispatch. The built-in classical kinds register in classical.ts.
 */
import { InvalidInputError } from '../../infra/errors.js';
import type { OnnxScoreGraph } from './onnx-scores.js';
import type { FitOptions, Matrix, ModelState, Prediction, Target, Task } from './types.js';

/** The least a fitted state carries: its kind (the registry key) and task. */
export interface FittedState {
  kind: string;
  task: Task;
}

export interface Estimator<S extends FittedState = ModelState, P = Record<string, unknown>> {
  kind: S['kind'];
  /** The parameters the kind takes besides `kind` (strict specs, did-you-mean). */
  params: readonly string[];
  /** Checks the parameters for `task` before any data is read; throws a `bad_params` InvalidInputError. */
  resolve(params: P, task: Task): void;
  fit(x: Matrix, target: Target, params: P, opts: FitOptions): S;
  predict(state: S, x: Matrix): Prediction;
  /** Appends the nodes computing the raw scores of `state` from `g.input` into `g.output` (absent: no ONNX export). */
  onnx?(state: S, g: OnnxScoreGraph): void;
}

const estimators = new Map<string, Estimator>();

export function registerEstimator<S extends FittedState, P>(e: Estimator<S, P>): void {
  if (estimators.has(e.kind)) throw new Error(`estimator kind '${e.kind}' is registered twice`);
  estimators.set(e.kind, e as unknown as Estimator);
}

/** The registered kinds, in registration order. */
export function estimatorKinds(): string[] {
  return [...estimators.keys()];
}

/** The estimator of `kind`; an unknown kind is a 422 `bad_params` naming the known ones. */
export function estimatorFor(kind: unknown): Estimator {
  const e = typeof kind === 'string' ? estimators.get(kind) : undefined;
  if (!e) {
    throw new InvalidInputError('bad_params', `Unknown model kind '${String(kind)}'; classical kinds: ${estimatorKinds().join(', ')}.`, { param: 'kind' });
  }
  return e;
}
