/**
 * Prometheus metrics of endpoints, labelled by tenant id and endpoint name, in the platform's
 * registry (GET /metrics); `endpointText` renders one endpoint's series for its tenant
 * (GET /v1/endpoints/{name}/metrics).
 */
import { Gauge, type Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram, type CounterSeries, type HistogramSeries } from '../../infra/prometheus-series.js';
import type { ShadowHooks } from './shadow.js';

export interface EndpointGauges {
  /** [tenant, endpoint, version, replicas, queueDepth] for every live pool. */
  pools(): Array<{ tenant: string; endpoint: string; version: number; replicas: number; queueDepth: number; generation?: GenerationGauges }>;
}

/** A language model's pool: its continuous batches now. */
export interface GenerationGauges {
  running: number;
  sequenceSlots: number;
  cachedTokens: number;
  cacheTokens: number;
}

/** Upper bounds (seconds) of the request latency histogram's buckets. */
export const REQUEST_LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] as const;

/** One endpoint's request counters on this node since it started (alerts publish what they grew by, services/alerts/traffic-window.ts). */
export interface RequestTotals {
  requests: number;
  /** Requests answered with a 5xx status. */
  errors: number;
  /** Requests per latency bucket (REQUEST_LATENCY_BUCKETS, then one above every bound); not cumulative. */
  latencyCounts: number[];
}

interface EndpointSeries {
  requests: Map<number, CounterSeries<'tenant' | 'endpoint' | 'status'>>;
  latency: HistogramSeries<'tenant' | 'endpoint'>;
  batchSize: HistogramSeries<'tenant' | 'endpoint'>;
  predictions: CounterSeries<'tenant' | 'endpoint'>;
  firstToken?: HistogramSeries<'tenant' | 'endpoint'>;
  interToken?: HistogramSeries<'tenant' | 'endpoint'>;
  tokens?: CounterSeries<'tenant' | 'endpoint'>;
}

export class ServingMetrics {
  // Per request or per run: plain numbers (../../infra/prometheus-series.ts), read when scraped.
  private readonly requests: SeriesCounter<'tenant' | 'endpoint' | 'status'>;
  private readonly latency: SeriesHistogram<'tenant' | 'endpoint'>;
  private readonly batchSize: SeriesHistogram<'tenant' | 'endpoint'>;
  private readonly predictions: SeriesCounter<'tenant' | 'endpoint'>;
  private readonly scaleEvents: SeriesCounter<'tenant' | 'endpoint' | 'direction'>;
  private readonly queueDepth: Gauge<'tenant' | 'endpoint'>;
  private readonly replicas: Gauge<'tenant' | 'endpoint' | 'version'>;
  private readonly firstToken: SeriesHistogram<'tenant' | 'endpoint'>;
  private readonly interToken: SeriesHistogram<'tenant' | 'endpoint'>;
  private readonly tokens: SeriesCounter<'tenant' | 'endpoint'>;
  private readonly occupancy: Gauge<'tenant' | 'endpoint'>;
  private readonly cacheUse: Gauge<'tenant' | 'endpoint'>;
  private readonly shadowCopies: SeriesCounter<'tenant' | 'endpoint' | 'version' | 'outcome'>;
  private readonly shadowRows: SeriesCounter<'tenant' | 'endpoint' | 'version' | 'agreement'>;
  private readonly shadowLatency: SeriesHistogram<'tenant' | 'endpoint' | 'version'>;
  private readonly all: Array<{ get(): Promise<{ name: string; help: string; type: unknown; values: Array<{ labels: Record<string, unknown>; value: number; metricName?: string }> }> }>;
  /** Each endpoint's series, found once. */
  private readonly series = new Map<string, EndpointSeries>();

  constructor(registry: Registry, gauges: EndpointGauges) {
    const registers = [registry];
    const endpoint = ['tenant', 'endpoint'] as const;
    this.requests = new SeriesCounter('aiaas_endpoint_requests_total', 'Prediction requests by endpoint and HTTP status.', ['tenant', 'endpoint', 'status'], registry);
    this.latency = new SeriesHistogram('aiaas_endpoint_request_duration_seconds', 'Prediction request latency (server side, parse to reply).', endpoint,
      REQUEST_LATENCY_BUCKETS, registry);
    this.batchSize = new SeriesHistogram('aiaas_endpoint_batch_size', 'Rows per model run (dynamic batching stacks requests into one run).', endpoint,
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registry);
    this.predictions = new SeriesCounter('aiaas_endpoint_predictions_total', 'Rows predicted by endpoint.', endpoint, registry);
    this.scaleEvents = new SeriesCounter('aiaas_endpoint_scale_events_total', 'Autoscaling events by direction (up, down).', ['tenant', 'endpoint', 'direction'], registry);
    this.queueDepth = new Gauge({
      name: 'aiaas_endpoint_queue_depth', help: 'Requests waiting for a replica.', labelNames: ['tenant', 'endpoint'], registers,
      collect() {
        this.reset();
        const sums = new Map<string, { tenant: string; endpoint: string; n: number }>();
        for (const p of gauges.pools()) {
          const k = `${p.tenant}\0${p.endpoint}`;
          const s = sums.get(k) ?? { tenant: p.tenant, endpoint: p.endpoint, n: 0 };
          s.n += p.queueDepth;
          sums.set(k, s);
        }
        for (const s of sums.values()) this.set({ tenant: s.tenant, endpoint: s.endpoint }, s.n);
      },
    });
    this.replicas = new Gauge({
      name: 'aiaas_endpoint_replicas', help: 'Replicas (worker threads) per endpoint and model version.', labelNames: ['tenant', 'endpoint', 'version'], registers,
      collect() {
        this.reset();
        for (const p of gauges.pools()) this.set({ tenant: p.tenant, endpoint: p.endpoint, version: String(p.version) }, p.replicas);
      },
    });
    const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.firstToken = new SeriesHistogram('aiaas_endpoint_time_to_first_token_seconds', 'Language models: from the request to its first generated token.', endpoint, latencyBuckets, registry);
    this.interToken = new SeriesHistogram('aiaas_endpoint_inter_token_seconds', 'Language models: between two tokens of one answer.', endpoint, latencyBuckets, registry);
    this.tokens = new SeriesCounter('aiaas_endpoint_generated_tokens_total', 'Language models: tokens generated (rate() of it is tokens/s).', endpoint, registry);
    // Summed over the endpoint's versions: the share of its sequence slots / cache in use.
    const share = (pick: (g: GenerationGauges) => [number, number]) => function (this: Gauge<'tenant' | 'endpoint'>) {
      this.reset();
      const sums = new Map<string, { tenant: string; endpoint: string; used: number; of: number }>();
      for (const p of gauges.pools()) {
        if (!p.generation) continue;
        const k = `${p.tenant}\0${p.endpoint}`;
        const s = sums.get(k) ?? { tenant: p.tenant, endpoint: p.endpoint, used: 0, of: 0 };
        const [used, of] = pick(p.generation);
        s.used += used;
        s.of += of;
        sums.set(k, s);
      }
      for (const s of sums.values()) this.set({ tenant: s.tenant, endpoint: s.endpoint }, s.of > 0 ? s.used / s.of : 0);
    };
    this.occupancy = new Gauge({
      name: 'aiaas_endpoint_batch_occupancy', help: 'Language models: running sequences / sequence slots (maxBatchSize per ready replica).', labelNames: ['tenant', 'endpoint'], registers,
      collect: share((g) => [g.running, g.sequenceSlots]),
    });
    this.cacheUse = new Gauge({
      name: 'aiaas_endpoint_kv_cache_use', help: 'Language models: tokens in the key/value cache / what the replicas can hold (slots × context).', labelNames: ['tenant', 'endpoint'], registers,
      collect: share((g) => [g.cachedTokens, g.cacheTokens]),
    });
    this.shadowCopies = new SeriesCounter('aiaas_endpoint_shadow_requests_total', 'Shadow traffic: copies of requests for the candidate version, by outcome (compared, failed, dropped: too many in flight).', ['tenant', 'endpoint', 'version', 'outcome'], registry);
    this.shadowRows = new SeriesCounter('aiaas_endpoint_shadow_rows_total', 'Shadow traffic: rows compared, by whether the candidate\'s answer agreed with the one returned (agree, disagree).', ['tenant', 'endpoint', 'version', 'agreement'], registry);
    this.shadowLatency = new SeriesHistogram('aiaas_endpoint_shadow_duration_seconds', 'Shadow traffic: time of the candidate version\'s answers.', ['tenant', 'endpoint', 'version'],
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5], registry);
    this.all = [this.requests, this.latency, this.batchSize, this.predictions, this.scaleEvents, this.queueDepth, this.replicas,
      this.firstToken, this.interToken, this.tokens, this.occupancy, this.cacheUse, this.shadowCopies, this.shadowRows, this.shadowLatency];
  }

  /** A replica was added (up) or removed (down). */
  scaled(tenant: string, endpoint: string, direction: 'up' | 'down'): void {
    this.scaleEvents.series({ tenant, endpoint, direction }).inc();
  }

  /** One prediction request answered with `status` after `seconds`. */
  request(tenant: string, endpoint: string, status: number, seconds: number): void {
    const s = this.of(tenant, endpoint);
    let count = s.requests.get(status);
    if (!count) s.requests.set(status, (count = this.requests.series({ tenant, endpoint, status: String(status) })));
    count.inc();
    s.latency.observe(seconds);
  }

  /** Rows predicted. */
  predicted(tenant: string, endpoint: string, rows: number): void {
    this.of(tenant, endpoint).predictions.inc(rows);
  }

  /** One generated answer: its time to first token, the gaps between its tokens, and how many. */
  generated(tenant: string, endpoint: string, g: { firstTokenSeconds?: number; interTokenSeconds: number[]; tokens: number }): void {
    const s = this.of(tenant, endpoint);
    const labels = { tenant, endpoint };
    s.firstToken ??= this.firstToken.series(labels);
    s.interToken ??= this.interToken.series(labels);
    s.tokens ??= this.tokens.series(labels);
    if (g.firstTokenSeconds !== undefined) s.firstToken.observe(g.firstTokenSeconds);
    for (const t of g.interTokenSeconds) s.interToken.observe(t);
    s.tokens.inc(g.tokens);
  }

  /** What the shadow of an endpoint (its candidate `version`) reports. */
  shadowHooks(tenant: string, endpoint: string, version: number): ShadowHooks {
    const labels = { tenant, endpoint, version: String(version) };
    const copies = { compared: this.shadowCopies.series({ ...labels, outcome: 'compared' }), failed: this.shadowCopies.series({ ...labels, outcome: 'failed' }), dropped: this.shadowCopies.series({ ...labels, outcome: 'dropped' }) };
    const agree = this.shadowRows.series({ ...labels, agreement: 'agree' });
    const disagree = this.shadowRows.series({ ...labels, agreement: 'disagree' });
    const latency = this.shadowLatency.series(labels);
    return {
      copied(outcome, seconds) {
        copies[outcome].inc();
        if (seconds !== undefined) latency.observe(seconds);
      },
      compared(agreed, disagreed) {
        agree.inc(agreed);
        disagree.inc(disagreed);
      },
    };
  }

  /** Forgets the series of an endpoint's shadow candidate `version` (removed or replaced), or of every candidate it had. */
  forgetShadow(tenant: string, endpoint: string, version?: number): void {
    const match = version === undefined ? { tenant, endpoint } : { tenant, endpoint, version: String(version) };
    for (const m of [this.shadowCopies, this.shadowRows, this.shadowLatency]) m.remove(match);
  }

  /** One model run of `rows` rows. */
  batch(tenant: string, endpoint: string, rows: number): void {
    this.of(tenant, endpoint).batchSize.observe(rows);
  }

  private of(tenant: string, endpoint: string): EndpointSeries {
    const k = `${tenant}\0${endpoint}`;
    let s = this.series.get(k);
    if (!s) {
      const labels = { tenant, endpoint };
      s = { requests: new Map(), latency: this.latency.series(labels), batchSize: this.batchSize.series(labels), predictions: this.predictions.series(labels) };
      this.series.set(k, s);
    }
    return s;
  }

  /** Every endpoint's request counters on this node since its first request (alerts publish their growth to the store). */
  allTotals(): Array<{ tenant: string; endpoint: string; totals: RequestTotals }> {
    const out = [];
    for (const [k, s] of this.series) {
      const [tenant, endpoint] = k.split('\0') as [string, string];
      let requests = 0;
      let errors = 0;
      for (const [status, c] of s.requests) {
        requests += c.value;
        if (status >= 500) errors += c.value;
      }
      out.push({ tenant, endpoint, totals: { requests, errors, latencyCounts: Array.from(s.latency.counts) } });
    }
    return out;
  }

  /** Forgets an endpoint's series (it was deleted). */
  forget(tenant: string, endpoint: string): void {
    this.series.delete(`${tenant}\0${endpoint}`);
    for (const m of [this.requests, this.latency, this.batchSize, this.predictions, this.scaleEvents, this.firstToken, this.interToken, this.tokens]) m.remove({ tenant, endpoint });
    this.forgetShadow(tenant, endpoint);
  }

  /** Prometheus text of one endpoint's series. */
  async endpointText(tenant: string, endpoint: string): Promise<string> {
    const lines: string[] = [];
    for (const m of this.all) {
      const data = await m.get();
      const values = data.values.filter((v) => v.labels.tenant === tenant && v.labels.endpoint === endpoint);
      lines.push(`# HELP ${data.name} ${data.help}`, `# TYPE ${data.name} ${data.type}`);
      for (const v of values) {
        const name = (v as { metricName?: string }).metricName ?? data.name;
        const labels = Object.entries(v.labels).map(([k, x]) => `${k}="${String(x).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',');
        lines.push(`${name}{${labels}} ${v.value}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
