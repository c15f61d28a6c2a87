/**
 * The shape of a finished train job's metrics and of the model version it registers (docs/API.md,
 * "Job metrics"): test metrics, training figures and per-epoch history kept apart, so a client never
 * mistakes the last epoch's training loss or accuracy for a test figure.
 */
import type { EpochMetrics } from '../../engine/network.js';
import type { ClassificationMetrics } from '../../ml/metrics/classification.js';
import type { RegressionMetrics } from '../../ml/metrics/regression.js';
import type { HistoryEntry, TestMetrics, TrainingFigures } from '../../api/job-metrics.js';

export type { CvSummary, FoldSummary, HistoryEntry, TestMetrics, TrainingFigures, TrainMetrics, TrialMetrics } from '../../api/job-metrics.js';

/** What the estimators measure, as the contract's TestMetrics (the compiler checks that it fits). */
export function asTestMetrics(m: ClassificationMetrics | RegressionMetrics): TestMetrics {
  return m;
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
