/**
 * Request ids, Prometheus request metrics, and the audit log of mutating calls: the hooks every
 * route shares.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SeriesCounter, SeriesHistogram, type CounterSeries, type HistogramSeries } from '../../infra/prometheus-series.js';
import type { Platform } from '../platform.js';
import './context.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's X-Request-Id is kept when it is sane, so ids join up across services. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The HTTP request metrics (count and latency by method, route and status), shared by Fastify's
 * hooks and the prediction fast path; each label set's series is found once and kept.
 */
export class HttpMetrics {
  private readonly requests: SeriesCounter<'method' | 'route' | 'status'>;
  private readonly latency: SeriesHistogram<'method' | 'route' | 'status'>;
  private readonly series = new Map<string, { count: CounterSeries<string>; latency: HistogramSeries<string> }>();

  constructor(platform: Platform) {
    const labels = ['method', 'route', 'status'] as const;
    this.requests = new SeriesCounter('aiaas_http_requests_total', 'HTTP requests by method, route and status.', labels, platform.metrics);
    this.latency = new SeriesHistogram('aiaas_http_request_duration_seconds', 'HTTP request latency by method, route and status.', labels,
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], platform.metrics);
  }

  /** One answered request; `route` is the route's pattern ('unmatched' for unknown routes). */
  record(method: string, route: string, status: number, seconds: number): void {
    const k = `${method} ${route} ${status}`;
    let s = this.series.get(k);
    if (!s) {
      const labels = { method, route, status: String(status) };
      this.series.set(k, (s = { count: this.requests.series(labels), latency: this.latency.series(labels) }));
    }
    s.count.inc();
    s.latency.observe(seconds);
  }
}

export function registerObservability(app: FastifyInstance, platform: Platform, metrics: HttpMetrics): void {
  // Callback-style hooks where nothing is awaited: cheaper than async ones, on every request.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });

  app.addHook('onResponse', (req, reply, done) => {
    // Unknown routes share one label so that scanners cannot blow up the series count.
    metrics.record(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    // Predictions (POST only to carry a body) change nothing: they are counted, not audited.
    const access = req.routeOptions.config?.access;
    if (MUTATING.has(req.method) && req.routeOptions.url && access !== 'public' && access !== 'predict') {
      void audit(req, reply.statusCode, platform).then(() => done());
    } else {
      done();
    }
  });
}

async function audit(req: FastifyRequest, statusCode: number, platform: Platform): Promise<void> {
  const p = req.principal;
  const params = (req.params ?? {}) as Record<string, string>;
  try {
    await platform.audit.record({
      at: new Date().toISOString(), requestId: String(req.id), keyId: p?.keyId ?? null, keyName: p?.keyName ?? null,
      role: p?.role ?? null, tenant: p?.tenantId ?? null, method: req.method, path: req.url.split('?')[0]!,
      route: req.routeOptions.url ?? null, objectId: req.auditObjectId ?? Object.values(params)[0] ?? null,
      statusCode, outcome: statusCode < 400 ? 'success' : 'failure', errorCode: req.errorCode ?? null,
    });
  } catch (err) {
    req.log.error({ err }, 'audit log write failed');
  }
}
