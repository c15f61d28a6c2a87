/**
 * Endpoints (create, list, change traffic and settings, delete, per-endpoint metrics) and
 * predictions: POST /v1/endpoints/{name}/predict and the Open Inference Protocol (KServe v2).
 * The prediction routes are a transport over the data plane (services/serving/data-plane.ts):
 * they hand the request to a protocol (services/serving/protocols/) and record it when answered.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { invalidJson } from '../../../services/serving/codec/predict-body.js';
import { infer, modelMetadata } from '../../../services/serving/protocols/open-inference.js';
import { predictJson, predictRows } from '../../../services/serving/protocols/predict.js';
import { ExplainService } from '../../../services/serving/explain.js';
import { sendError } from '../errors.js';
import { principalOf } from '../context.js';
import { ListOf } from '../../../api/schemas.js';
import { jsonTooDeep, tooDeep } from '../json-body.js';
import {
  CreateEndpointBody, DriftQuery, DriftReport, EndpointParams, ExplainBody, EndpointSchema, LoggedPredictions, PredictBody, PredictionsQuery, UpdateEndpointBody, V2InferBody, V2ModelParams,
} from '../../../api/schemas-serving.js';
import { queryTime } from '../query-time.js';

export async function endpointRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const serving = platform.serving;

  app.post('/v1/endpoints', {
    config: { access: 'write' },
    schema: {
      tags: ['endpoints'], summary: 'Deploy a model version behind an endpoint',
      description: 'Give `version`, `stage`, or `traffic` ([{version, weight}]); with none of them the production version (else the latest) is deployed. Answers 201 at once with status "loading"; the endpoint is ready when GET shows status "ready" (or add ?wait=true).',
      body: CreateEndpointBody, querystring: Type.Object({ wait: Type.Optional(Type.Boolean()) }), response: { 201: EndpointSchema },
    },
  }, async (req, reply) => {
    const ep = await serving.create(principalOf(req), req.body, { wait: req.query.wait });
    req.auditObjectId = ep.id;
    return reply.code(201).send(ep);
  });

  app.get('/v1/endpoints', {
    config: { access: 'read' },
    schema: { tags: ['endpoints'], summary: 'List endpoints', response: { 200: ListOf(EndpointSchema) } },
  }, async (req) => ({ data: await serving.list(principalOf(req)) }));

  app.get('/v1/endpoints/:name', {
    config: { access: 'read' },
    schema: { tags: ['endpoints'], summary: 'An endpoint: status, traffic, replicas per version, scale events', params: EndpointParams, response: { 200: EndpointSchema } },
  }, async (req) => serving.get(principalOf(req), req.params.name));

  app.patch('/v1/endpoints/:name', {
    config: { access: 'write' },
    schema: {
      tags: ['endpoints'], summary: 'Change traffic (canary, blue-green, rollback), replicas, batching, autoscaling, logging or the shadow',
      description: '`traffic: [{version, weight}]` splits requests by weight; `version` (or `stage`) rolls all traffic to one version. New versions are loaded and warm before they get traffic and old ones finish their requests before they stop: no request is lost. Answers when the switch is done. `shadow: {version, percent}` sends a copy of `percent`% of the requests, once answered, to a candidate version on replicas of its own; its answers are compared (GET shows `shadow.agreement`), never returned; `shadow: null` removes it.',
      params: EndpointParams, body: UpdateEndpointBody, response: { 200: EndpointSchema },
    },
  }, async (req) => serving.update(principalOf(req), req.params.name, req.body));

  app.delete('/v1/endpoints/:name', {
    config: { access: 'write' },
    schema: {
      tags: ['endpoints'], summary: 'Delete an endpoint (queued requests are still answered)', params: EndpointParams,
      response: { 200: Type.Object({ id: Type.String(), name: Type.String(), deleted: Type.Boolean() }) },
    },
  }, async (req) => serving.delete(principalOf(req), req.params.name));

  app.get('/v1/endpoints/:name/metrics', {
    config: { access: 'read' },
    schema: { tags: ['endpoints'], summary: "Prometheus metrics of one endpoint (requests by status, latency, batch sizes, queue depth, replicas, scale events)", params: EndpointParams },
  }, async (req, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return serving.endpointMetrics(principalOf(req), req.params.name);
  });

  app.get('/v1/endpoints/:name/predictions', {
    config: { access: 'read' },
    schema: {
      tags: ['endpoints'], summary: 'Logged predictions (the share set by `logging.sampleRate`), newest first, one record per row',
      description: 'Each record: the row as sent (`input`, missing values as null), the answer (`output`), the version that answered, its latency in the data plane (queue and model, ms), the request id and the time. Page with `next` as `cursor`.',
      params: EndpointParams, querystring: PredictionsQuery, response: { 200: LoggedPredictions },
    },
  }, async (req) => serving.predictions(principalOf(req), req.params.name, {
    from: queryTime(req.query.from, 'from'), to: queryTime(req.query.to, 'to'), limit: req.query.limit, cursor: req.query.cursor,
  }));

  app.get('/v1/endpoints/:name/drift', {
    config: { access: 'read' },
    schema: {
      tags: ['endpoints'], summary: "Drift of the logged rows in a window from the served version's training rows",
      description: 'Per raw feature: PSI over the training deciles (numbers) or categories, with bins for missing and unseen values; KS for numbers; the shares of missing and unseen values. `drifted`: PSI > 0.2, or for numbers KS p < 0.01 with a distance above 0.1. `prediction` compares the answers with the training-time predictions on the held-out rows. 409 `no_drift_profile` for versions without a training profile (imported ones, or trained before profiles were kept): retrain.',
      params: EndpointParams, querystring: DriftQuery, response: { 200: DriftReport },
    },
  }, async (req) => serving.drift(principalOf(req), req.params.name, { windowSeconds: req.query.window, version: req.query.version }));

  await app.register(inferenceRoutes, { platform });
}

/** The prediction routes, with their own request metrics (per endpoint). */
async function inferenceRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const serving = platform.serving;
  const plane = serving.plane;

  // Prediction bodies are large arrays of numbers; plain JSON.parse is much faster than the
  // prototype-poisoning scan of the default parser, and safe here: rows are only read by key,
  // never merged into other objects.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    // Checked first: what reads the value afterwards (tensor flattening) recurses.
    if (jsonTooDeep(body as string)) {
      done(tooDeep(), undefined);
      return;
    }
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(invalidJson(err), undefined);
    }
  });

  app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const params = req.params as { name?: string; endpoint?: string } | undefined;
    const name = params?.name ?? params?.endpoint;
    if (name && req.principal && req.method === 'POST') plane.recordRequest(req.principal.tenantId, name, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  await app.register(predictRoute, { platform });

  const explainer = new ExplainService(plane, platform.registry);
  app.post('/v1/endpoints/:name/explain', {
    config: { access: 'predict' },
    schema: {
      tags: ['inference'], summary: 'Explain predictions: per row, SHAP values per raw column and the base value',
      description: 'Random forests and gradient boosting: exact interventional TreeSHAP (`tree_shap_interventional`) on the training sample kept with the version. Other models: KernelSHAP through the replicas (`kernel_shap_exact` when `samples` covers every coalition of columns, else `kernel_shap_sampled`, an estimate). `baseValue + Σ values = prediction` in the `output` space.',
      params: EndpointParams, body: ExplainBody,
    },
  }, async (req) => explainer.explain(principalOf(req), req.params.name, req.body, req.id));

  app.get('/v2/health/live', {
    config: { access: 'public' },
    schema: { tags: ['inference'], summary: 'Open Inference Protocol: server live', security: [], response: { 200: Type.Object({ live: Type.Boolean() }) } },
  }, async () => ({ live: true }));

  app.get('/v2/health/ready', {
    config: { access: 'public' },
    schema: { tags: ['inference'], summary: 'Open Inference Protocol: server ready', security: [] },
  }, async (_req, reply) => {
    try {
      serving.readiness();
      return { ready: true };
    } catch (err) {
      return sendError(reply, { status: 503, code: 'not_ready', message: (err as Error).message });
    }
  });

  app.get('/v2/models/:endpoint', {
    config: { access: 'predict' },
    schema: { tags: ['inference'], summary: 'Open Inference Protocol: model metadata (inputs, outputs, datatypes, shapes)', params: V2ModelParams },
  }, async (req) => modelMetadata(plane, principalOf(req), req.params.endpoint));

  app.get('/v2/models/:endpoint/ready', {
    config: { access: 'predict' },
    schema: { tags: ['inference'], summary: 'Open Inference Protocol: model ready (200) or not (503)', params: V2ModelParams },
  }, async (req, reply) => {
    const ready = plane.isReady(principalOf(req), req.params.endpoint);
    if (!ready) return sendError(reply, { status: 503, code: 'endpoint_not_ready', message: `Endpoint '${req.params.endpoint}' is not ready yet.`, details: { name: req.params.endpoint, ready: false } });
    return { name: req.params.endpoint, ready: true };
  });

  app.post('/v2/models/:endpoint/infer', {
    config: { access: 'predict' },
    schema: {
      tags: ['inference'], summary: 'Open Inference Protocol: infer (tensors by graph input, or columns by name)',
      description: 'Inputs are the graph inputs (`{name, shape, datatype, data}`, datatype BOOL, INT8, UINT8, INT32, INT64, FP32, FP64 or BYTES), or, for models with raw columns, one input per column with shape [N].',
      params: V2ModelParams, body: V2InferBody,
    },
  }, async (req) => infer(plane, principalOf(req), req.params.endpoint, req.body as never, undefined, req.id));

  app.post('/v2/models/:endpoint/versions/:version/infer', {
    config: { access: 'predict' },
    schema: {
      tags: ['inference'], summary: 'Open Inference Protocol: infer on one version of the traffic (weight 0 included)',
      params: Type.Object({ endpoint: Type.String(), version: Type.String() }), body: V2InferBody,
    },
  }, async (req) => infer(plane, principalOf(req), req.params.endpoint, req.body as never, req.params.version, req.id));
}

/**
 * POST /v1/endpoints/{name}/predict. The body is not parsed here: its bytes go to a replica
 * thread, which parses and checks it (the schema below is enforced there, with the same 422),
 * runs it and writes the answer, so this thread (HTTP for every endpoint) does no per-row work.
 * Calls with a key seen in the last second are answered before Fastify, by ../predict-fast-path.ts,
 * with the same protocol call; this route takes the rest.
 */
async function predictRoute(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const plane = platform.serving.plane;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post('/v1/endpoints/:name/predict', {
    config: { access: 'predict' },
    schema: {
      tags: ['inference'], summary: 'Predict: {instances: [{column: value}…] | [[numbers…]…]}',
      description: 'Answers `{predictions: [{label?, probabilities?, value?}], model, version}`, one prediction per row. A bad row answers 422 naming the row (0-based) and the column; the endpoint keeps serving.',
      params: EndpointParams, body: PredictBody,
    },
    // The body stays bytes until a replica reads it (and checks it against PredictBody there);
    // the path parameter is a plain string.
    validatorCompiler: () => () => true,
    // Predictions are counted in metrics, not logged one by one at info (Fastify's two lines per
    // request cost more than the rest of the request's bookkeeping); warnings and errors still are.
    logLevel: (['trace', 'debug', 'info'].includes(platform.config.logLevel) ? 'warn' : platform.config.logLevel) as 'warn' | 'error' | 'fatal' | 'silent',
  }, async (req, reply) => {
    const body: unknown = req.body;
    // Bytes when sent as JSON; anything else (another content type, no body) is refused as the schema would.
    if (!Buffer.isBuffer(body)) return predictRows(plane, principalOf(req), req.params.name, body, req.id);
    const out = await predictJson(plane, principalOf(req), req.params.name, body, req.id);
    if (typeof out !== 'string') return out;
    return reply.type('application/json; charset=utf-8').send(out);
  });
}
