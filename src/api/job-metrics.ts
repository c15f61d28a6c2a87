/**
 * The shape of a finished train job's metrics and of the model version it registers (docs/API.md,
 * "Job metrics"): test metrics, training figures and per-epoch history kept apart, so a client never
 * mistakes the last epoch's training loss or accuracy for a test figure. Part of the contract
 * (src/api): the SDK, the CLI and the console read it; services/training/metrics-spec.ts builds it.
 */
import type { TuningSummary } from './training-types.js';

/** Test metrics: classification's, regression's, or a language model's on held-out lines. */
export interface TestMetrics {
  accuracy?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  confusionMatrix?: number[][];
  labels?: string[];
  perClass?: unknown[];
  logLoss?: number;
  rocAuc?: number;
  mse?: number;
  rmse?: number;
  mae?: number;
  r2?: number;
  valLoss?: number;
  perplexity?: number;
  valAccuracy?: number;
}

/** Mean ± std of one metric over k folds, with the per-fold values. */
export interface FoldSummary { mean: number; std: number; folds: number[] }
export type CvSummary = Record<string, FoldSummary>;

/** One history entry: a network's epoch (a running job's `metrics` events, in order). */
export interface HistoryEntry {
  epoch: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  learningRate: number;
  seconds: number;
  samplesPerSecond?: number;
}

export interface TrainingFigures {
  trainSeconds: number;
  trainSamplesPerSecond: number;
  trainRows: number;
  testRows: number;
  /** Networks: epochs run (fewer than asked when early stopping ended training), last epoch's losses. */
  epochs?: number;
  loss?: number;
  valLoss?: number;
}

export interface TrainMetrics {
  /** Measured on the test rows through the registered artifact. */
  test: TestMetrics;
  training: TrainingFigures;
  history: HistoryEntry[];
  crossValidation?: { folds: number } & Record<string, FoldSummary | number>;
  featureImportance?: unknown;
  /** Tune jobs: the trial table and the best candidate. */
  tuning?: TuningSummary;
  /** Distilled students: the teacher, the loss's temperature and alpha, and the teacher's own metrics on the same test rows. */
  distillation?: { teacher: { model: string; version: number }; temperature: number; alpha: number; teacherTest: TestMetrics };
}

/** A tuning trial's metrics: the score the tune job ranks by, and every cross-validated metric. */
export interface TrialMetrics {
  trial: { metric: string; score: number; scoreStd: number; folds: number[] };
  crossValidation: { folds: number } & Record<string, FoldSummary | number>;
}
