/** Liveness, readiness and Prometheus metrics. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Platform } from '../../platform.js';
import { sendError } from '../errors.js';

export async function healthRoutes(app: FastifyInstance, { platform }: { platform: Platform }) {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: { tags: ['health'], summary: 'Liveness: the process answers', security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { access: 'public' },
    schema: { tags: ['health'], summary: 'Readiness: store open and every component running', security: [] },
  }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    let ready = true;
    for (const c of platform.readiness) {
      try {
        await c.check();
        checks[c.name] = 'ok';
      } catch (err) {
        ready = false;
        checks[c.name] = (err as Error).message;
      }
    }
    if (!ready) return sendError(reply, { status: 503, code: 'not_ready', message: 'A component is not ready; see details.', details: { checks } });
    return { status: 'ready', checks };
  });

  app.get('/metrics', {
    config: { access: platform.config.metricsPublic ? 'public' : 'admin' },
    schema: { tags: ['health'], summary: 'Prometheus metrics (admin key, or AIAAS_METRICS_PUBLIC=true)' },
  }, async (_req, reply) => {
    reply.type(platform.metrics.contentType);
    return platform.metrics.metrics();
  });
}
