/**
 * A linear support-vector machine, as scikit-learn's `LinearSVC` (liblinear): L2-regularised
 * squared-hinge (default) or hinge loss, one-vs-rest over the classes, solved by dual coordinate
 * descent (Hsieh et al., ICML 2008) over the non-zeros of each row. The intercept is, as in
 * liblinear, the weight of an extra constant feature (`interceptScaling`, default 1), so it is
 * regularised too: the same optimum as LinearSVC, hence the same predictions.
 *
 * The fitted state is a `LinearState` whose raw scores are the decision values, one per class
 * (for two classes: 0 for the first and the binary decision value for the second), and whose
 * probabilities are their softmax (for two classes the sigmoid of the decision value). Labels are
 * the argmax, LinearSVC's `predict`; the probabilities are not calibrated.
 */
import { csrFromDense, type Csr } from '../core/sparse.js';
import { Rng } from '../core/random.js';
import { boolParam, checkData, checkKnown, enumParam, intParam, numParam } from './params.js';
import type { ClassificationTarget, FitOptions, LinearState, Matrix } from './types.js';

export interface SvmParams {
  /** Inverse regularisation strength (1, > 0). */
  C?: number;
  /** 'squared_hinge' (LinearSVC's default) or 'hinge'. */
  loss?: 'squared_hinge' | 'hinge';
  /** Passes over the rows (1000). */
  maxIter?: number;
  /** Stop when the projected-gradient spread of a pass is ≤ tol (1e-4). */
  tol?: number;
  fitIntercept?: boolean;
  /** The constant feature's value (1): larger values regularise the intercept less. */
  interceptScaling?: number;
}

export const SVM_PARAMS = ['C', 'loss', 'maxIter', 'tol', 'fitIntercept', 'interceptScaling'] as const;

export function resolveSvmParams(params: SvmParams): Required<SvmParams> {
  const p = params as Record<string, unknown>;
  checkKnown(p, SVM_PARAMS, 'svm');
  return {
    C: numParam(p, 'C', 1, 0, Infinity, { min: true, max: true }),
    loss: enumParam(p, 'loss', 'squared_hinge', ['squared_hinge', 'hinge'] as const),
    maxIter: intParam(p, 'maxIter', 1000, 1, 1_000_000),
    tol: numParam(p, 'tol', 1e-4, 0, Infinity, { min: true, max: true }),
    fitIntercept: boolParam(p, 'fitIntercept', true),
    interceptScaling: numParam(p, 'interceptScaling', 1, 0, Infinity, { min: true, max: true }),
  };
}

export function fitSvm(x: Matrix, target: ClassificationTarget, params: SvmParams = {}, opts: FitOptions = {}): LinearState {
  const p = resolveSvmParams(params);
  checkData(x, target, { allowNaN: false, model: 'svm' });
  const F = x.cols;
  const K = target.classCount;
  const csr = csrFromDense(x.data, x.rows, F);
  const bias = p.fitIntercept ? p.interceptScaling : 0;
  // One binary problem per class (class k against the rest); two classes need only one.
  const problems = K === 2 ? [1] : Array.from({ length: K }, (_, k) => k);
  const coef = new Array<number>(F * K).fill(0);
  const intercept = new Array<number>(K).fill(0);
  const iterations: number[] = [];
  problems.forEach((k, done) => {
    const y = Int8Array.from(target.y, (c) => (c === k ? 1 : -1));
    const r = dualCoordinateDescent(csr, y, bias, p, new Rng(opts.seed ?? 0));
    for (let j = 0; j < F; j++) coef[j * K + k] = r.w[j]!;
    intercept[k] = r.w[F]! * bias;
    iterations.push(r.iterations);
    opts.onProgress?.((done + 1) / problems.length, `svm: class ${done + 1}/${problems.length}`);
  });
  return {
    kind: 'svm', task: 'classification', nFeatures: F, classCount: K, outputs: K,
    coef, intercept, postTransform: 'softmax', params: { ...p },
    info: { iterations, converged: iterations.every((n) => n < p.maxIter) },
  };
}

/**
 * liblinear's dual solver for one binary problem (labels ±1): weights w (the last one the bias
 * feature's), and the passes it took. Squared hinge: D = 1/(2C), no upper bound; hinge: D = 0,
 * α ≤ C. Shrinking is left out (the problems here are small); the stopping rule is liblinear's.
 */
function dualCoordinateDescent(x: Csr, y: Int8Array, bias: number, p: Required<SvmParams>, rng: Rng) {
  const { rows: n, cols: F, indptr, indices, values } = x;
  const squared = p.loss === 'squared_hinge';
  const diag = squared ? 0.5 / p.C : 0;
  const upper = squared ? Infinity : p.C;
  const w = new Float64Array(F + 1);
  const alpha = new Float64Array(n);
  const qd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = diag + bias * bias;
    for (let e = indptr[i]!; e < indptr[i + 1]!; e++) s += values[e]! * values[e]!;
    qd[i] = s;
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let iter = 0;
  for (; iter < p.maxIter; iter++) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let pgMax = -Infinity;
    let pgMin = Infinity;
    for (const i of order) {
      const yi = y[i]!;
      let wx = w[F]! * bias;
      for (let e = indptr[i]!; e < indptr[i + 1]!; e++) wx += w[indices[e]!]! * values[e]!;
      const g = yi * wx - 1 + diag * alpha[i]!;
      const a = alpha[i]!;
      const pg = a === 0 ? Math.min(g, 0) : a === upper ? Math.max(g, 0) : g;
      pgMax = Math.max(pgMax, pg);
      pgMin = Math.min(pgMin, pg);
      if (Math.abs(pg) <= 1e-12) continue;
      const next = Math.min(Math.max(a - g / qd[i]!, 0), upper);
      const d = (next - a) * yi;
      alpha[i] = next;
      for (let e = indptr[i]!; e < indptr[i + 1]!; e++) w[indices[e]!]! += d * values[e]!;
      w[F]! += d * bias;
    }
    if (pgMax - pgMin <= p.tol) break;
  }
  return { w, iterations: iter + 1 };
}
