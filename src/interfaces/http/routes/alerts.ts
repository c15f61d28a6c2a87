/** Alerts: create, list (state and history), read (with webhook deliveries), delete. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { principalOf } from '../context.js';
import { IdParams, ListOf } from '../../../api/schemas.js';
import { AlertSchema, CreateAlert } from '../../../api/schemas-alerts.js';

export async function alertRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const alerts = platform.alerts;

  app.post('/v1/alerts', {
    config: { access: 'write' },
    schema: {
      tags: ['alerts'], summary: 'Create an alert on an endpoint metric, with a signed webhook',
      description: 'Evaluated in the background every AIAAS_ALERTS_INTERVAL_MS (10 s) over the last `windowSeconds`: `drift` is the largest feature PSI of the logged rows; `p99LatencyMs`, `errorRate` (5xx share) and `requestsPerSecond` come from the counters of the API node evaluating the alert. No data in the window → value null and state ok. Each change of state is POSTed to `webhook.url` with `X-Aiaas-Signature: sha256=<hex HMAC-SHA256 of the raw body>` and `X-Aiaas-Delivery`, retried with exponential backoff until a 2xx.',
      body: CreateAlert, response: { 201: AlertSchema },
    },
  }, async (req, reply) => {
    const a = await alerts.create(principalOf(req), req.body);
    req.auditObjectId = a.id;
    return reply.code(201).send(a);
  });

  app.get('/v1/alerts', {
    config: { access: 'read' },
    schema: { tags: ['alerts'], summary: "The tenant's alerts: state, last value, history of transitions", response: { 200: ListOf(AlertSchema) } },
  }, async (req) => ({ data: await alerts.list(principalOf(req)) }));

  app.get('/v1/alerts/:id', {
    config: { access: 'read' },
    schema: { tags: ['alerts'], summary: 'An alert with its recent webhook deliveries (attempts, last status, next attempt, delivered at)', params: IdParams, response: { 200: AlertSchema } },
  }, async (req) => alerts.get(principalOf(req), req.params.id));

  app.delete('/v1/alerts/:id', {
    config: { access: 'write' },
    schema: { tags: ['alerts'], summary: 'Delete an alert (its pending deliveries are dropped)', params: IdParams, response: { 200: AlertSchema } },
  }, async (req) => {
    req.auditObjectId = req.params.id;
    return alerts.delete(principalOf(req), req.params.id);
  });
}
