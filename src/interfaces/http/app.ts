/**
 * The HTTP application: shared hooks (request ids, auth, metrics, audit, errors), the OpenAPI
 * document, and one encapsulated plugin per resource.
 */
import http from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Platform } from '../platform.js';
import { registerAuth } from './auth.js';
import { consoleRoutes } from './console.js';
import { ConnectionGuard } from './connections.js';
import { clientErrorHandler, errorReplyFor, registerErrorHandling, sendError } from './errors.js';
import { registerJsonParser } from './json-body.js';
import { HttpMetrics, registerObservability, requestId } from './observability.js';
import { PredictFastPath } from './predict-fast-path.js';
import { registerOpenApi } from './openapi.js';
import { openAiRoutes } from './routes/openai.js';
import { registerOpenAiEdge } from './openai-edge.js';
import { alertRoutes } from './routes/alerts.js';
import { auditRoutes } from './routes/audit.js';
import { clusterRoutes } from './routes/cluster.js';
import { jobRoutes } from './routes/jobs.js';
import { usageRoutes } from './routes/usage.js';
import { datasetRoutes } from './routes/datasets.js';
import { endpointRoutes } from './routes/endpoints.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { modelRoutes } from './routes/models.js';
import { openAiEmbeddingRoutes } from './routes/openai-embeddings.js';
import { tenantRoutes } from './routes/tenants.js';

export const API_VERSION = '0.1.0';

const guards = new WeakMap<FastifyInstance, ConnectionGuard>();

/** The app's connection guard: `drain()` is the first step of a graceful shutdown (see server.ts). */
export function connectionGuard(app: FastifyInstance): ConnectionGuard {
  const guard = guards.get(app);
  if (!guard) throw new Error('not an app made by buildApp');
  return guard;
}

export async function buildApp(platform: Platform): Promise<FastifyInstance> {
  const metrics = new HttpMetrics(platform);
  const fastPath = new PredictFastPath(platform, metrics);
  const edge = platform.config.http;
  let guard: ConnectionGuard | undefined;
  const app = Fastify({
    // Predictions with a recently seen key are answered before Fastify's lifecycle (see
    // predict-fast-path.ts); every other request, and those it leaves, go to Fastify. The
    // connection guard sees each request first (caps, body pace, draining: connections.ts).
    serverFactory: (handler) => {
      const server = http.createServer({
        headersTimeout: edge.headersTimeoutMs,
        requestTimeout: edge.requestTimeoutMs,
        keepAliveTimeout: edge.keepAliveTimeoutMs,
        // How often Node checks the two timeouts above (its default, 30 s, would let short ones run long).
        connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(edge.headersTimeoutMs / 4))),
      }, (req, res) => {
        if (guard!.onRequest(req, res)) return;
        res.setHeader('x-content-type-options', 'nosniff');
        if (!fastPath.handle(req, res)) handler(req, res);
      });
      guard = new ConnectionGuard(server, edge);
      return server;
    },
    loggerInstance: platform.logger as FastifyBaseLogger,
    // Fastify 5.8 deprecates the top-level option (FSTDEP023) in favour of a log controller.
    logController: new LogController({ disableRequestLogging: !platform.config.logRequests }),
    genReqId: requestId,
    bodyLimit: platform.config.bodyLimitBytes,
    keepAliveTimeout: edge.keepAliveTimeoutMs,
    requestTimeout: edge.requestTimeoutMs,
    // The connection guard drains connections (Connection: close, 503 in API.md's format).
    return503OnClosing: false,
    forceCloseConnections: false,
    clientErrorHandler,
    // Bad URLs (e.g. `GET /%`) answer in API.md's format too.
    frameworkErrors: (err, req, reply) => sendError(reply, errorReplyFor(err, String(req.id), req.log)),
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });
  guards.set(app, guard!);
  registerErrorHandling(app);
  registerJsonParser(app);
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
  await app.register(alertRoutes, opts);
  // One plugin for /openai/v1: its error shape, not-found answer and rate limits cover generation and embeddings alike.
  await app.register(async (openai) => {
    registerOpenAiEdge(openai, platform);
    await openai.register(openAiRoutes, opts);
    await openai.register(openAiEmbeddingRoutes, opts);
  }, { prefix: '/openai/v1' });
  await app.register(consoleRoutes);
  return app;
}
