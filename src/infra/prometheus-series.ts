/**
 * Prometheus counters and histograms for per-request paths. prom-client hashes the label values
 * on every `inc`/`observe` (its label-bound children too), which at 15,000 predictions/s cost
 * more than the rest of a request's bookkeeping. These keep each series as plain numbers, found
 * once by its label values (`series(labels)`, kept by the caller), and are read by the same
 * registry as every other metric (they implement what prom-client's Registry asks of a metric:
 * `name`, `help`, `type`, `get()`), so `/metrics` shows them exactly like prom-client's own.
 */
import type { Registry } from 'prom-client';

type Labels<L extends string> = Record<L, string>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

abstract class SeriesMetric<L extends string, S extends { labels: Labels<L> }> {
  abstract readonly type: 'counter' | 'histogram';
  protected readonly all = new Map<string, S>();

  constructor(readonly name: string, readonly help: string, private readonly labelNames: readonly L[], registry: Registry) {
    registry.registerMetric(this as never);
  }

  protected abstract make(labels: Labels<L>): S;
  protected abstract values(s: S): MetricValue[];

  /** The series of these label values, made at first use. Keep it: updating it costs no lookup. */
  series(labels: Labels<L>): S {
    const key = this.labelNames.map((n) => labels[n]).join('\0');
    let s = this.all.get(key);
    if (!s) {
      const own = {} as Labels<L>;
      for (const n of this.labelNames) own[n] = labels[n];
      this.all.set(key, (s = this.make(own)));
    }
    return s;
  }

  /** Drops every series whose labels include these (a deleted object's series). Kept series objects stop being shown. */
  remove(match: Partial<Labels<L>>): void {
    for (const [key, s] of this.all) {
      if (Object.entries(match).every(([k, v]) => s.labels[k as L] === v)) this.all.delete(key);
    }
  }

  reset(): void {
    this.all.clear();
  }

  /** What prom-client's Registry reads. */
  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }> {
    const values: MetricValue[] = [];
    for (const s of this.all.values()) values.push(...this.values(s));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
}

export class CounterSeries<L extends string> {
  value = 0;
  constructor(readonly labels: Labels<L>) {}

  inc(n = 1): void {
    this.value += n;
  }
}

export class SeriesCounter<L extends string> extends SeriesMetric<L, CounterSeries<L>> {
  readonly type = 'counter' as const;

  protected make(labels: Labels<L>): CounterSeries<L> {
    return new CounterSeries(labels);
  }

  protected values(s: CounterSeries<L>): MetricValue[] {
    return [{ labels: s.labels, value: s.value }];
  }
}

export class HistogramSeries<L extends string> {
  /** Observations per bucket (not cumulative); the last is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly labels: Labels<L>, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class SeriesHistogram<L extends string> extends SeriesMetric<L, HistogramSeries<L>> {
  readonly type = 'histogram' as const;

  constructor(name: string, help: string, labelNames: readonly L[], private readonly buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }

  protected make(labels: Labels<L>): HistogramSeries<L> {
    return new HistogramSeries(labels, this.buckets);
  }

  protected values(s: HistogramSeries<L>): MetricValue[] {
    const out: MetricValue[] = [];
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += s.counts[i]!;
      out.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
    });
    out.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
    out.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
    out.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    return out;
  }
}
