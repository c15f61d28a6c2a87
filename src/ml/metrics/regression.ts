/** Regression metrics with API.md's names: mse, rmse, mae, r2 (scikit-learn's definitions). */
import { InvalidInputError } from '../../infra/errors.js';

export interface RegressionMetrics {
  mse: number;
  rmse: number;
  mae: number;
  /** 1 − SS_res / SS_tot; for a constant truth, 1 when predicted exactly and 0 otherwise. */
  r2: number;
}

export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  const n = yTrue.length;
  if (n !== yPred.length || n === 0) throw new InvalidInputError('bad_data', `Regression metrics need equal, non-empty inputs (got ${n} and ${yPred.length}).`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i]!;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  let abs = 0;
  for (let i = 0; i < n; i++) {
    const d = yTrue[i]! - yPred[i]!;
    ssRes += d * d;
    abs += Math.abs(d);
    const t = yTrue[i]! - mean;
    ssTot += t * t;
  }
  const mse = ssRes / n;
  return { mse, rmse: Math.sqrt(mse), mae: abs / n, r2: ssTot > 0 ? 1 - ssRes / ssTot : ssRes === 0 ? 1 : 0 };
}

export function r2Score(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  return regressionMetrics(yTrue, yPred).r2;
}
