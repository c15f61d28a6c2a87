/**
 * The HTTP application: shared hooks (request ids, auth, metrics, audit, errors), the OpenAPI
 * document, and one encapsulated plugin per resource.
 */
import http from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Platform } from '../platform.js';
import { registerAuth } from './auth.js';
import { consoleRoutes } from './console.js';
import { registerErrorHandling } from './errors.js';
import { HttpMetrics, registerObservability, requestId } from './observability.js';
import { PredictFastPath } from './predict-fast-path.js';
import { registerOpenApi } from './openapi.js';
import { auditRoutes } from './routes/audit.js';
import { clusterRoutes } from './routes/cluster.js';
import { jobRoutes } from './routes/jobs.js';
import { usageRoutes } from './routes/usage.js';
import { datasetRoutes } from './routes/datasets.js';
import { endpointRoutes } from './routes/endpoints.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { modelRoutes } from './routes/models.js';
import { tenantRoutes } from './routes/tenants.js';

export const API_VERSION = '0.1.0';

export async function buildApp(platform: Platform): Promise<FastifyInstance> {
  const metrics = new HttpMetrics(platform);
  const fastPath = new PredictFastPath(platform, metrics);
  const app = Fastify({
    // Predictions with a recently seen key are answered before Fastify's lifecycle (see
    // predict-fast-path.ts); every other request, and those it leaves, go to Fastify.
    serverFactory: (handler, opts) => {
      const server = http.createServer((req, res) => {
        if (!fastPath.handle(req, res)) handler(req, res);
      });
      // What Fastify sets on the servers it makes itself.
      server.keepAliveTimeout = Number(opts.keepAliveTimeout);
      server.requestTimeout = Number(opts.requestTimeout);
      server.setTimeout(Number(opts.connectionTimeout));
      return server;
    },
    loggerInstance: platform.logger as FastifyBaseLogger,
    disableRequestLogging: !platform.config.logRequests,
    genReqId: requestId,
    bodyLimit: platform.config.bodyLimitBytes,
    // Fastify answers in-flight requests before close() resolves; idle keep-alive sockets go at once.
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });
  registerErrorHandling(app);
  registerObservability(app, platform, metrics);
  app.addHook('preClose', (done) => {
    fastPath.closing = true;
    done();
  });
  registerAuth(app, platform);
  await registerOpenApi(app, API_VERSION);
  const opts = { platform };
  await app.register(healthRoutes, opts);
  await app.register(tenantRoutes, opts);
  await app.register(keyRoutes, opts);
  await app.register(auditRoutes, opts);
  await app.register(datasetRoutes, opts);
  await app.register(jobRoutes, opts);
  await app.register(clusterRoutes, opts);
  await app.register(usageRoutes, opts);
  await app.register(modelRoutes, opts);
  await app.register(endpointRoutes, opts);
  await app.register(consoleRoutes);
  return app;
}
