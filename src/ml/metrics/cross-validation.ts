/**
 * k-fold cross-validation around any fit-and-score callback: stratified folds for
 * classification, plain shuffled folds for regression; returns every fold's scores and their
 * mean and standard deviation.
 */
import type { Matrix, Target } from '../core/matrix.js';
import { kFold, takeRows } from './validation.js';
import type { Split } from './validation.js';

export interface Fold {
  x: Matrix;
  target: Target;
}

export interface CrossValidationResult {
  folds: Record<string, number>[];
  mean: Record<string, number>;
  std: Record<string, number>;
}

/** The rows `rows` of (x, target). */
export function subset(x: Matrix, target: Target, rows: Int32Array): Fold {
  const sx: Matrix = { data: takeRows(x.data, x.cols, rows), rows: rows.length, cols: x.cols };
  const st: Target = target.task === 'classification'
    ? { task: 'classification', y: takeRows(target.y, 1, rows), classCount: target.classCount }
    : { task: 'regression', y: takeRows(target.y, 1, rows) };
  return { x: sx, target: st };
}

export function crossValidate(
  x: Matrix, target: Target,
  fitAndScore: (train: Fold, test: Fold, fold: number) => Record<string, number>,
  opts: { folds?: number; seed?: number; shuffle?: boolean } = {},
): CrossValidationResult {
  const splits: Split[] = kFold(x.rows, opts.folds ?? 5, {
    seed: opts.seed ?? 0, shuffle: opts.shuffle,
    stratify: target.task === 'classification' ? { y: target.y, classCount: target.classCount } : undefined,
  });
  const folds = splits.map((s, i) => fitAndScore(subset(x, target, s.train), subset(x, target, s.test), i));
  const keys = Object.keys(folds[0] ?? {});
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const k of keys) {
    const v = folds.map((f) => f[k]!);
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    mean[k] = m;
    std[k] = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  }
  return { folds, mean, std };
}
