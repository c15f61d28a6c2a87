/**
 * The metric tiles of a job or a model version (API.md, "Job metrics"), each group saying which rows
 * it was measured on: test metrics (the held-out test rows), cross-validation beside them (folds of
 * the training rows), then training figures (the training run itself).
 */
import type { ReactNode } from 'react';
import type { JobMetrics } from '../../src/sdk/index.js';
import { fmt } from './charts.js';

/** Test metrics in display order; the rest of `metrics.test`'s numbers follow. */
export const TEST_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'rocAuc', 'logLoss', 'mse', 'rmse', 'mae', 'r2', 'valLoss', 'perplexity'];
export const LOWER_IS_BETTER = new Set(['logLoss', 'mse', 'rmse', 'mae', 'valLoss', 'perplexity']);

/** A job's or version's test metrics. */
export function testOf(m: JobMetrics): Record<string, unknown> {
  return (m.test ?? {}) as Record<string, unknown>;
}

/** The numeric fields of `o`, known keys first. */
export function numbers(o: Record<string, unknown>, order: string[] = []): Array<[string, number]> {
  const keys = [...order.filter((k) => k in o), ...Object.keys(o).filter((k) => !order.includes(k))];
  return keys.filter((k) => typeof o[k] === 'number').map((k) => [k, o[k] as number]);
}

/** The cross-validation summary: [metric, {mean, std}] for every metric with a mean. */
export function cvOf(m: JobMetrics): Array<[string, { mean: number; std: number }]> {
  const cv = (m.crossValidation ?? {}) as Record<string, unknown>;
  const keys = [...TEST_METRICS, ...Object.keys(cv).filter((k) => !TEST_METRICS.includes(k))];
  return keys.filter((k) => typeof (cv[k] as { mean?: unknown } | undefined)?.mean === 'number').map((k) => [k, cv[k] as { mean: number; std: number }]);
}

export function Tiles({ items }: { items: Array<[string, ReactNode]> }) {
  return <dl className="metrics">{items.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}</dl>;
}

export function MetricGroups({ metrics }: { metrics: JobMetrics }) {
  const test = numbers(testOf(metrics), TEST_METRICS);
  const cv = cvOf(metrics);
  const training = numbers((metrics.training ?? {}) as Record<string, unknown>, ['epochs', 'loss', 'valLoss', 'trainSeconds', 'trainSamplesPerSecond', 'trainRows', 'testRows']);
  const testRows = metrics.training?.testRows;
  // Numbers at the top level: other job types' metrics (a sleep job's steps), versions from before `metrics.test`.
  const other = numbers(metrics as Record<string, unknown>, TEST_METRICS);
  return (
    <>
      {other.length > 0 && <Tiles items={other.map(([k, v]) => [k, fmt(v)])} />}
      {test.length > 0 && (
        <section className="metrics-group" aria-label="test metrics" data-testid="test-metrics">
          <h3>Test metrics <small className="muted">(held-out test split{testRows !== undefined ? `, ${testRows} rows` : ''})</small></h3>
          <Tiles items={test.map(([k, v]) => [k, fmt(v)])} />
        </section>
      )}
      {cv.length > 0 && (
        <section className="metrics-group" aria-label="cross-validation" data-testid="cross-validation">
          <h3>Cross-validation <small className="muted">({(metrics.crossValidation as { folds: number }).folds} folds of the training rows, mean ± std)</small></h3>
          <Tiles items={cv.map(([k, v]) => [k, <>{fmt(v.mean)} <small className="muted">± {fmt(v.std, 3)}</small></>])} />
        </section>
      )}
      {training.length > 0 && (
        <section className="metrics-group" aria-label="training figures" data-testid="training-metrics">
          <h3>Training <small className="muted">(training split; loss of the last epoch)</small></h3>
          <Tiles items={training.map(([k, v]) => [k, fmt(v)])} />
        </section>
      )}
    </>
  );
}
