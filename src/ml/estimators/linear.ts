/**
 * Linear models: multinomial logistic regression with an L2 penalty (scikit-learn's
 * `LogisticRegression(solver='lbfgs')`) and ridge regression (scikit-learn's `Ridge`, closed form
 * through a Cholesky factorisation).
 */
import { InvalidInputError } from '../../infra/errors.js';
import { csrFromDense } from '../core/sparse.js';
import { lbfgs } from './lbfgs.js';
import { checkData, checkFeatures, checkKnown, intParam, numParam, boolParam } from './params.js';
import type { ClassificationTarget, ClassPrediction, FitOptions, LinearState, Matrix, RegressionTarget, ValuePrediction } from './types.js';

/**
 * Logistic regression parameters (scikit-learn's defaults):
 * - `C` (1.0, > 0): inverse L2 strength; minimises `Σᵢ logloss(i) + ‖W‖² / (2C)`, intercept not penalised.
 * - `maxIter` (100, ≥ 1): L-BFGS iterations.
 * - `tol` (1e-4, > 0): stop when the largest gradient component is ≤ tol.
 * - `fitIntercept` (true).
 * Two classes: one coefficient vector and a sigmoid (as scikit-learn); more: softmax over one
 * vector per class (multinomial).
 */
export interface LogisticRegressionParams {
  C?: number;
  maxIter?: number;
  tol?: number;
  fitIntercept?: boolean;
}

export const LOGISTIC_PARAMS = ['C', 'maxIter', 'tol', 'fitIntercept'] as const;
export const RIDGE_PARAMS = ['alpha', 'fitIntercept'] as const;

/** Validated parameters with defaults filled in; throws a `bad_params` InvalidInputError. */
export function resolveLogisticParams(params: LogisticRegressionParams): Required<LogisticRegressionParams> {
  const p = params as Record<string, unknown>;
  checkKnown(p, LOGISTIC_PARAMS, 'logistic_regression');
  return {
    C: numParam(p, 'C', 1, 0, Infinity, { min: true, max: true }),
    maxIter: intParam(p, 'maxIter', 100, 1, 1_000_000),
    tol: numParam(p, 'tol', 1e-4, 0, Infinity, { min: true, max: true }),
    fitIntercept: boolParam(p, 'fitIntercept', true),
  };
}

export function fitLogisticRegression(
  x: Matrix, target: ClassificationTarget, params: LogisticRegressionParams = {}, _opts: FitOptions = {},
): LinearState {
  const { C, maxIter, tol, fitIntercept } = resolveLogisticParams(params);
  checkData(x, target, { allowNaN: false, model: 'logistic_regression' });

  const n = x.rows;
  const F = x.cols;
  const K = target.classCount;
  const O = K === 2 ? 1 : K;
  // Optimise in standardised coordinates (x' = (x - mean) / scale, v = w · scale): the same
  // optimum, far better conditioned, so L-BFGS converges in few iterations whatever the units.
  // The centring is implicit — xs = x / scale keeps the zeros of sparse data (one-hot columns,
  // image backgrounds, tf-idf) out of the loops (xs is stored as compressed sparse rows), and the
  // mean enters as a per-output shift Σj mu_j v_jk.
  const { mean, scale } = standardise(x, fitIntercept);
  const { indptr, indices, values: xs } = csrFromDense(x.data, n, F, scale);
  const mu = new Float64Array(F);
  for (let j = 0; j < F; j++) mu[j] = mean[j]! / scale[j]!;
  const y = target.y;
  const invC = 1 / C;
  const nParams = F * O + (fitIntercept ? O : 0);
  const z = new Float64Array(O);
  const r = new Float64Array(O);
  const b = new Float64Array(O);
  const rSum = new Float64Array(O);

  const objective = (v: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    rSum.fill(0);
    let loss = 0;
    // Effective intercepts: b_k − Σj mu_j v_jk.
    for (let k = 0; k < O; k++) b[k] = fitIntercept ? v[F * O + k]! : 0;
    for (let j = 0; j < F; j++) {
      if (mu[j] === 0) continue;
      for (let k = 0; k < O; k++) b[k]! -= mu[j]! * v[j * O + k]!;
    }
    if (O === 1) {
      // Two classes: one sigmoid score per row (kept free of per-class loops).
      const b0 = b[0]!;
      let gb = 0;
      for (let i = 0; i < n; i++) {
        const end = indptr[i + 1]!;
        let zi = b0;
        for (let e = indptr[i]!; e < end; e++) zi += xs[e]! * v[indices[e]!]!;
        const yi = y[i] === 1 ? 1 : 0;
        // log(1 + e^z) - y z and sigmoid(z) from one exp(-|z|).
        const e = Math.exp(-Math.abs(zi));
        loss += (zi > 0 ? zi : 0) + Math.log1p(e) - yi * zi;
        const ri = (zi >= 0 ? 1 / (1 + e) : e / (1 + e)) - yi;
        if (ri !== 0) for (let e = indptr[i]!; e < end; e++) grad[indices[e]!]! += xs[e]! * ri;
        gb += ri;
      }
      rSum[0] = gb;
    } else {
      for (let i = 0; i < n; i++) {
        const start = indptr[i]!;
        const end = indptr[i + 1]!;
        for (let k = 0; k < O; k++) z[k] = b[k]!;
        for (let e = start; e < end; e++) {
          const xv = xs[e]!;
          const base = indices[e]! * O;
          for (let k = 0; k < O; k++) z[k]! += xv * v[base + k]!;
        }
        const yi = y[i]!;
        let zmax = -Infinity;
        for (let k = 0; k < O; k++) if (z[k]! > zmax) zmax = z[k]!;
        let sum = 0;
        for (let k = 0; k < O; k++) { const e = Math.exp(z[k]! - zmax); r[k] = e; sum += e; }
        loss += zmax + Math.log(sum) - z[yi]!;
        for (let k = 0; k < O; k++) { r[k] = r[k]! / sum - (k === yi ? 1 : 0); rSum[k]! += r[k]!; }
        for (let e = start; e < end; e++) {
          const xv = xs[e]!;
          const base = indices[e]! * O;
          for (let k = 0; k < O; k++) grad[base + k]! += xv * r[k]!;
        }
      }
    }
    // Chain rule through the shift, then the intercept gradients.
    for (let j = 0; j < F; j++) {
      if (mu[j] === 0) continue;
      for (let k = 0; k < O; k++) grad[j * O + k]! -= mu[j]! * rSum[k]!;
    }
    if (fitIntercept) for (let k = 0; k < O; k++) grad[F * O + k] = rSum[k]!;
    // Penalty on the original-unit weights w = v / scale.
    for (let j = 0; j < F; j++) {
      const s2 = scale[j]! * scale[j]!;
      for (let k = 0; k < O; k++) {
        const vk = v[j * O + k]!;
        loss += (0.5 * invC * vk * vk) / s2;
        grad[j * O + k]! += (invC * vk) / s2;
      }
    }
    return loss;
  };

  const res = lbfgs(objective, new Float64Array(nParams), { maxIter, gtol: tol });
  const coef = new Array<number>(F * O);
  const intercept = new Array<number>(O).fill(0);
  for (let k = 0; k < O; k++) intercept[k] = fitIntercept ? res.x[F * O + k]! : 0;
  for (let j = 0; j < F; j++) {
    for (let k = 0; k < O; k++) {
      const w = res.x[j * O + k]! / scale[j]!;
      coef[j * O + k] = w;
      intercept[k]! -= w * mean[j]!;
    }
  }
  return {
    kind: 'logistic_regression', task: 'classification', nFeatures: F, classCount: K, outputs: O,
    coef, intercept, postTransform: O === 1 ? 'logistic' : 'softmax',
    params: { C, maxIter, tol, fitIntercept },
    info: { iterations: res.iterations, converged: res.converged, loss: res.f, gradMax: res.gradMax },
  };
}

/**
 * Ridge regression parameters (scikit-learn's defaults): `alpha` (1.0, ≥ 0) minimises
 * `‖y - Xw - b‖² + alpha‖w‖²`, intercept not penalised; `fitIntercept` (true).
 */
export interface RidgeParams {
  alpha?: number;
  fitIntercept?: boolean;
}

export function resolveRidgeParams(params: RidgeParams): Required<RidgeParams> {
  const p = params as Record<string, unknown>;
  checkKnown(p, RIDGE_PARAMS, 'linear_regression');
  return { alpha: numParam(p, 'alpha', 1, 0, Infinity, { max: true }), fitIntercept: boolParam(p, 'fitIntercept', true) };
}

export function fitRidge(x: Matrix, target: RegressionTarget, params: RidgeParams = {}, _opts: FitOptions = {}): LinearState {
  const { alpha, fitIntercept } = resolveRidgeParams(params);
  checkData(x, target, { allowNaN: false, model: 'linear_regression' });
  const n = x.rows;
  const F = x.cols;
  const xm = new Float64Array(F);
  let ym = 0;
  if (fitIntercept) {
    for (let i = 0; i < n; i++) {
      ym += target.y[i]!;
      for (let j = 0; j < F; j++) xm[j]! += x.data[i * F + j]!;
    }
    ym /= n;
    for (let j = 0; j < F; j++) xm[j]! /= n;
  }
  // Normal equations on centred data: (XcᵀXc + αI) w = Xcᵀ yc.
  const A = new Float64Array(F * F);
  const b = new Float64Array(F);
  const row = new Float64Array(F);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) row[j] = x.data[i * F + j]! - xm[j]!;
    const yc = target.y[i]! - ym;
    for (let j = 0; j < F; j++) {
      const rj = row[j]!;
      if (rj === 0) continue;
      b[j]! += rj * yc;
      const base = j * F;
      for (let k = 0; k <= j; k++) A[base + k]! += rj * row[k]!;
    }
  }
  // Scale-aware jitter keeps a singular XᵀX (alpha = 0, collinear columns) factorisable.
  let trace = 0;
  for (let j = 0; j < F; j++) trace += A[j * F + j]!;
  const jitter = alpha > 0 ? 0 : 1e-10 * Math.max(trace / F, 1e-300);
  for (let j = 0; j < F; j++) A[j * F + j]! += alpha + jitter;
  const w = choleskySolve(A, b, F);
  const coef = Array.from(w);
  let intercept = 0;
  if (fitIntercept) {
    intercept = ym;
    for (let j = 0; j < F; j++) intercept -= w[j]! * xm[j]!;
  }
  return {
    kind: 'linear_regression', task: 'regression', nFeatures: F, classCount: 0, outputs: 1,
    coef, intercept: [intercept], postTransform: 'none', params: { alpha, fitIntercept }, info: {},
  };
}

/** Solves A x = b for symmetric positive-definite A (lower triangle used), in place. */
export function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j]!;
    for (let k = 0; k < j; k++) d -= A[j * n + k]! * A[j * n + k]!;
    if (!(d > 0)) {
      throw new InvalidInputError('bad_data', 'linear_regression: the features are collinear and alpha = 0; use alpha > 0.');
    }
    const l = Math.sqrt(d);
    A[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= A[i * n + k]! * A[j * n + k]!;
      A[i * n + j] = s / l;
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let s = x[i]!;
    for (let k = 0; k < i; k++) s -= A[i * n + k]! * x[k]!;
    x[i] = s / A[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < n; k++) s -= A[k * n + i]! * x[k]!;
    x[i] = s / A[i * n + i]!;
  }
  return x;
}

/** Raw linear scores `x · coef + intercept`, rows × outputs. */
export function linearScores(state: LinearState, x: Matrix): Float64Array {
  checkFeatures(x, state.nFeatures, state.kind);
  const { outputs: O, coef, intercept } = state;
  const F = x.cols;
  const out = new Float64Array(x.rows * O);
  for (let i = 0; i < x.rows; i++) {
    for (let k = 0; k < O; k++) out[i * O + k] = intercept[k]!;
    for (let j = 0; j < F; j++) {
      const xv = x.data[i * F + j]!;
      if (xv === 0) continue;
      for (let k = 0; k < O; k++) out[i * O + k]! += xv * coef[j * O + k]!;
    }
  }
  return out;
}

export function predictLinear(state: LinearState, x: Matrix): ClassPrediction | ValuePrediction {
  const scores = linearScores(state, x);
  if (state.task === 'regression') return { task: 'regression', values: scores };
  return scoresToClasses(scores, x.rows, state.classCount, state.postTransform);
}

/** Turns raw scores into probabilities and argmax labels (shared with the tree ensembles). */
export function scoresToClasses(
  scores: Float64Array, rows: number, classCount: number, transform: 'none' | 'softmax' | 'logistic',
): ClassPrediction {
  const K = classCount;
  const probabilities = new Float64Array(rows * K);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const p = probabilities.subarray(i * K, (i + 1) * K);
    if (transform === 'logistic') {
      const p1 = sigmoid(scores[i]!);
      p[0] = 1 - p1;
      p[1] = p1;
    } else if (transform === 'softmax') {
      let m = -Infinity;
      for (let k = 0; k < K; k++) m = Math.max(m, scores[i * K + k]!);
      let s = 0;
      for (let k = 0; k < K; k++) { const e = Math.exp(scores[i * K + k]! - m); p[k] = e; s += e; }
      for (let k = 0; k < K; k++) p[k]! /= s;
    } else {
      for (let k = 0; k < K; k++) p[k] = scores[i * K + k]!;
    }
    let best = 0;
    for (let k = 1; k < K; k++) if (p[k]! > p[best]!) best = k;
    labels[i] = best;
  }
  return { task: 'classification', labels, probabilities, classCount: K };
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Column means (0 when not centring) and standard deviations (1 for constant columns). */
function standardise(x: Matrix, centre: boolean): { mean: Float64Array; scale: Float64Array } {
  const { rows: n, cols: F, data } = x;
  const mean = new Float64Array(F);
  const scale = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) mean[j]! += data[i * F + j]!;
  for (let j = 0; j < F; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) { const d = data[i * F + j]! - mean[j]!; scale[j]! += d * d; }
  for (let j = 0; j < F; j++) {
    const s = Math.sqrt(scale[j]! / n);
    scale[j] = s > 1e-12 * Math.max(1, Math.abs(mean[j]!)) ? s : 1;
  }
  if (!centre) mean.fill(0);
  return { mean, scale };
}
