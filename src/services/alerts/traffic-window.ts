/**
 * Request figures of a window from cumulative counters: the evaluator samples each watched
 * endpoint's counters (ServingMetrics.totals, this node's own) at every evaluation and
 * differences the newest sample with the newest one at least a window old (or the oldest kept,
 * while this node has watched for less than a window). p99 is read from the latency histogram
 * as Prometheus' histogram_quantile does: linear within the bucket holding the 99th percentile.
 */
import { REQUEST_LATENCY_BUCKETS, type RequestTotals } from '../serving/metrics.js';

export interface WindowFigures {
  /** Seconds the figures cover (shorter than the window while this node has not watched that long). */
  seconds: number;
  requests: number;
  errors: number;
  latencyCounts: number[];
}

interface Sample {
  at: number;
  totals: RequestTotals;
}

export class TrafficWindows {
  private readonly samples = new Map<string, Sample[]>();

  /** Records the counters of `key` at `at` (ms) and forgets samples older than `keepMs` (one before is kept). */
  sample(key: string, at: number, totals: RequestTotals, keepMs: number): void {
    const list = this.samples.get(key) ?? [];
    list.push({ at, totals });
    let drop = 0;
    while (drop + 1 < list.length && list[drop + 1]!.at <= at - keepMs) drop++;
    if (drop) list.splice(0, drop);
    this.samples.set(key, list);
  }

  /** The figures of the window ending at the newest sample; undefined before a second sample. */
  window(key: string, windowMs: number): WindowFigures | undefined {
    const list = this.samples.get(key);
    if (!list || list.length < 2) return undefined;
    const last = list[list.length - 1]!;
    let base = list[0]!;
    for (const s of list) if (s.at <= last.at - windowMs) base = s;
    if (base === last || last.at <= base.at) return undefined;
    // The counters restarted (the endpoint was deleted and made again): count from zero.
    const b = last.totals.requests < base.totals.requests ? undefined : base.totals;
    return {
      seconds: (last.at - base.at) / 1000,
      requests: last.totals.requests - (b?.requests ?? 0),
      errors: last.totals.errors - (b?.errors ?? 0),
      latencyCounts: last.totals.latencyCounts.map((c, i) => c - (b?.latencyCounts[i] ?? 0)),
    };
  }

  forget(keep: Set<string>): void {
    for (const k of this.samples.keys()) if (!keep.has(k)) this.samples.delete(k);
  }
}

/** Adds figures of several endpoints (an alert on all of a tenant's endpoints). */
export function sumFigures(all: WindowFigures[]): WindowFigures | undefined {
  if (all.length === 0) return undefined;
  return {
    seconds: Math.max(...all.map((f) => f.seconds)),
    requests: all.reduce((a, f) => a + f.requests, 0),
    errors: all.reduce((a, f) => a + f.errors, 0),
    latencyCounts: all[0]!.latencyCounts.map((_, i) => all.reduce((a, f) => a + (f.latencyCounts[i] ?? 0), 0)),
  };
}

/** The q-quantile (0..1) of a latency histogram, in ms; undefined without observations. */
export function histogramQuantileMs(counts: number[], q: number, bounds: readonly number[] = REQUEST_LATENCY_BUCKETS): number | undefined {
  const total = counts.reduce((a, c) => a + c, 0);
  if (total <= 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const before = cumulative;
    cumulative += counts[i]!;
    if (cumulative >= rank && counts[i]! > 0) {
      // Above every bound: the highest bound is all a histogram can say (as Prometheus answers).
      if (i >= bounds.length) return bounds[bounds.length - 1]! * 1000;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return (lower + (upper - lower) * ((rank - before) / counts[i]!)) * 1000;
    }
  }
  return bounds[bounds.length - 1]! * 1000;
}
