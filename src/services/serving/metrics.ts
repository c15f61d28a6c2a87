/**
 * Prometheus metrics of endpoints, labelled by tenant id and endpoint name, in the platform's
 * registry (GET /metrics); `endpointText` renders one endpoint's series for its tenant
 * (GET /v1/endpoints/{name}/metrics).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface EndpointGauges {
  /** [tenant, endpoint, version, replicas, queueDepth] for every live pool. */
  pools(): Array<{ tenant: string; endpoint: string; version: number; replicas: number; queueDepth: number }>;
}

export class ServingMetrics {
  readonly requests: Counter<'tenant' | 'endpoint' | 'status'>;
  readonly latency: Histogram<'tenant' | 'endpoint'>;
  readonly batchSize: Histogram<'tenant' | 'endpoint'>;
  readonly predictions: Counter<'tenant' | 'endpoint'>;
  readonly scaleEvents: Counter<'tenant' | 'endpoint' | 'direction'>;
  readonly queueDepth: Gauge<'tenant' | 'endpoint'>;
  readonly replicas: Gauge<'tenant' | 'endpoint' | 'version'>;
  private readonly all: Array<Counter<string> | Histogram<string> | Gauge<string>>;

  constructor(registry: Registry, gauges: EndpointGauges) {
    const registers = [registry];
    this.requests = new Counter({ name: 'aiaas_endpoint_requests_total', help: 'Prediction requests by endpoint and HTTP status.', labelNames: ['tenant', 'endpoint', 'status'], registers });
    this.latency = new Histogram({
      name: 'aiaas_endpoint_request_duration_seconds', help: 'Prediction request latency (server side, parse to reply).',
      labelNames: ['tenant', 'endpoint'], registers,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    });
    this.batchSize = new Histogram({
      name: 'aiaas_endpoint_batch_size', help: 'Rows per model run (dynamic batching stacks requests into one run).',
      labelNames: ['tenant', 'endpoint'], registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    });
    this.predictions = new Counter({ name: 'aiaas_endpoint_predictions_total', help: 'Rows predicted by endpoint.', labelNames: ['tenant', 'endpoint'], registers });
    this.scaleEvents = new Counter({ name: 'aiaas_endpoint_scale_events_total', help: 'Autoscaling events by direction (up, down).', labelNames: ['tenant', 'endpoint', 'direction'], registers });
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
    this.all = [this.requests, this.latency, this.batchSize, this.predictions, this.scaleEvents, this.queueDepth, this.replicas];
  }

  /** Forgets an endpoint's series (it was deleted). */
  async forget(tenant: string, endpoint: string): Promise<void> {
    for (const m of [this.requests, this.latency, this.batchSize, this.predictions, this.scaleEvents] as Array<Counter<string>>) {
      const seen = new Set<string>();
      for (const v of (await m.get()).values) {
        if (v.labels.tenant !== tenant || v.labels.endpoint !== endpoint) continue;
        const { le: _le, ...labels } = v.labels as Record<string, string | number>;
        const key = JSON.stringify(labels);
        if (seen.has(key)) continue;
        seen.add(key);
        m.remove(labels as Record<string, string>);
      }
    }
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
