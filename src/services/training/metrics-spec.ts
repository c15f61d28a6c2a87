/**
 * The shape of a finished train job's metrics and of the model version it registers (docs/API.md,
 * "Job metrics"): test metrics, training figures and per-epoch history kept apart, so a client never
 * mistakes the last epoch's training loss or accuracy for a test figure.
 */
import type { EpochMetrics } from '../../engine/network.js';
import type { TuningSummary } from './tune-spec.js';
import type { ClassificationMetrics } from '../../ml/metrics/classification.js';
import type { RegressionMetrics } from '../../ml/metrics/regression.js';

/** Test metrics: classification's, regression's, or a language model's on held-out lines. */
export type TestMetrics = Partial<ClassificationMetrics> & Partial<RegressionMetrics> & { valLoss?: number; perplexity?: number };

/** Mean ± std of one metric over k folds, with the per-fold values. */
export interface FoldSummary { mean: number; std: number; folds: number[] }
export type CvSummary = Record<string, FoldSummary>;

/** One history entry: a network's epoch (a running job's `metrics` events, in order). */
export type HistoryEntry = Omit<EpochMetrics, 'samplesPerSecond'> & { samplesPerSecond?: number };

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
}

/** A tuning trial's metrics: the score the tune job ranks by, and every cross-validated metric. */
export interface TrialMetrics {
  trial: { metric: string; score: number; scoreStd: number; folds: number[] };
  crossValidation: { folds: number } & Record<string, FoldSummary | number>;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The history as API.md lists it: one entry per epoch. */
export function historyOf(epochs: EpochMetrics[] | undefined): HistoryEntry[] {
  return (epochs ?? []).map((m) => ({
    epoch: m.epoch, loss: m.loss,
    ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}),
    ...(m.valLoss !== undefined ? { valLoss: m.valLoss } : {}),
    ...(m.valAccuracy !== undefined ? { valAccuracy: m.valAccuracy } : {}),
    learningRate: m.learningRate, seconds: m.seconds, samplesPerSecond: m.samplesPerSecond,
  }));
}

export function trainingFigures(o: { trainSeconds: number; trainSamples: number; trainRows: number; testRows: number; epochs?: number; history: HistoryEntry[] }): TrainingFigures {
  const last = o.history.at(-1);
  return {
    trainSeconds: round(o.trainSeconds),
    trainSamplesPerSecond: round(o.trainSamples / Math.max(o.trainSeconds, 1e-9)),
    trainRows: o.trainRows, testRows: o.testRows,
    ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
    ...(last ? { loss: last.loss } : {}),
    ...(last?.valLoss !== undefined ? { valLoss: last.valLoss } : {}),
  };
}
