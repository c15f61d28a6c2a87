/**
 * Request ids, Prometheus request metrics, and the audit log of mutating calls: the hooks every
 * route shares.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import type { Platform } from '../platform.js';
import './context.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's X-Request-Id is kept when it is sane, so ids join up across services. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function registerObservability(app: FastifyInstance, platform: Platform): void {
  const requests = new Counter({
    name: 'aiaas_http_requests_total', help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'], registers: [platform.metrics],
  });
  const latency = new Histogram({
    name: 'aiaas_http_request_duration_seconds', help: 'HTTP request latency by method, route and status.',
    labelNames: ['method', 'route', 'status'], registers: [platform.metrics],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });

  // Callback-style hooks where nothing is awaited: cheaper than async ones, on every request.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });

  app.addHook('onResponse', (req, reply, done) => {
    // Unknown routes share one label so that scanners cannot blow up the series count.
    const route = req.routeOptions.url ?? 'unmatched';
    const labels = { method: req.method, route, status: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
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
