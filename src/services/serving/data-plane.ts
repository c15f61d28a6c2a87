/**
 * The data plane: every prediction, whatever its transport, goes through here. It holds the
 * endpoints being served (the lifecycle, ./serving.ts, adds and removes them) and offers the
 * steps of a request, which each protocol (./protocols/) composes and each transport (the
 * HTTP fast path, the Fastify routes) calls:
 *
 *   authorizePredict  the caller's endpoint: role, key scope, tenant, readiness
 *   pickVersion       the version that answers, by the traffic's weights (or the one asked for)
 *   run / runJson     the replicas run it; the rows are metered (recordPredictions) and, for the
 *                     share the endpoint samples, handed to the prediction log (./prediction-log.ts)
 *                     and, for its shadow's share, copied to the shadow's candidate (./shadow.ts)
 *   recordRequest     the request's status and latency, once per request, by the transport
 *
 * As KServe's DataPlane, it knows no protocol: the bodies are read and answers written by the
 * codecs (./codec/) that a protocol picks, so that a new protocol (the OpenAI-compatible API,
 * streaming generation) is one more composition of these steps, with its own run step.
 */
import { DomainError, ForbiddenError, InvalidInputError, NotFoundError, UnavailableError } from '../../infra/errors.js';
import { assertAccess, mayAccess, type Principal, type Role } from '../principal.js';
import type { Feeds } from './codec/instances.js';
import { endpointKey, type Endpoint, type ServedVersion } from './endpoint.js';
import type { PredictionMeter } from './metering.js';
import type { ServingMetrics } from './metrics.js';
import type { PredictionLog } from './prediction-log.js';
import { mainVersion } from './traffic.js';

/** Where a request goes: the caller's endpoint and the version picked to answer it. */
export interface PredictTarget {
  endpoint: Endpoint;
  served: ServedVersion;
  /** The transport's request id (X-Request-Id), kept with logged predictions. */
  requestId?: string;
}

export class DataPlane {
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(private readonly metrics: ServingMetrics, private readonly meter: PredictionMeter, private readonly log: PredictionLog) {}

  // ---- the endpoints served ------------------------------------------------------------

  add(ep: Endpoint): void {
    this.endpoints.set(ep.key, ep);
  }

  /** From now on the endpoint is not found (requests already queued are still answered). */
  remove(ep: Endpoint): void {
    this.endpoints.delete(ep.key);
  }

  clear(): void {
    this.endpoints.clear();
  }

  all(): IterableIterator<Endpoint> {
    return this.endpoints.values();
  }

  /** The endpoint `name` of the caller's tenant (404 otherwise: other tenants' are never seen). */
  find(p: Principal, name: string): Endpoint {
    const ep = this.endpoints.get(endpointKey(p.tenantId, name));
    if (!ep) throw NotFoundError.of('Endpoint', name);
    return ep;
  }

  /** The endpoint `name` of a tenant, if there is one. */
  lookup(tenantId: string, name: string): Endpoint | undefined {
    return this.endpoints.get(endpointKey(tenantId, name));
  }

  // ---- the steps of a request ------------------------------------------------------------

  /** Whether keys of this role may predict at all: for transports that screen keys before the body. */
  static mayPredict(role: Role): boolean {
    return mayAccess(role, 'predict');
  }

  /**
   * The endpoint a caller may predict on, else the refusal: a role that may not predict (403),
   * an inference key scoped to another endpoint (403), no such endpoint in the caller's tenant
   * (404), or an endpoint not ready (503). Every transport gets the same answers in this order.
   */
  authorizePredict(p: Principal, name: string): Endpoint {
    assertAccess(p, 'predict');
    if (p.endpoint && p.endpoint !== name) {
      const ep = this.lookup(p.tenantId, name);
      if (!ep || ep.row.id !== p.endpoint) {
        throw new ForbiddenError('forbidden', `This inference key may call endpoint '${p.endpoint}' only; use a key for '${name}'.`);
      }
    }
    const ep = this.find(p, name);
    if (ep.status !== 'ready' && ep.status !== 'updating') {
      const why = ep.status === 'failed' ? `it failed to start: ${ep.error}. Fix it with PATCH /v1/endpoints/${name}` : 'it is still loading; retry in a moment';
      throw new UnavailableError('endpoint_not_ready', `Endpoint '${name}' is not ready: ${why}.`, { status: ep.status, retryAfterSeconds: 1 });
    }
    return ep;
  }

  /** Whether the caller's endpoint can answer now (false when not ready; other refusals throw). */
  isReady(p: Principal, name: string): boolean {
    try {
      this.authorizePredict(p, name);
      return true;
    } catch (err) {
      if (err instanceof DomainError && err.kind === 'unavailable') return false;
      throw err;
    }
  }

  /**
   * The version that answers: `version` if the caller names one (any version of the traffic,
   * weight 0 included), else the next by the traffic's weights (a canary gets its share).
   */
  pickVersion(ep: Endpoint, version?: string): ServedVersion {
    if (version !== undefined) {
      const s = ep.served.get(Number(version));
      if (!s) throw NotFoundError.of('Model version', `${ep.row.name}@${version}`);
      return s;
    }
    const s = ep.pick();
    if (!s) throw new UnavailableError('endpoint_not_ready', `Endpoint '${ep.row.name}' has no version with traffic; PATCH its traffic.`, { retryAfterSeconds: 1 });
    return s;
  }

  /** authorizePredict, then pickVersion. */
  target(p: Principal, name: string, version?: string, requestId?: string): PredictTarget {
    const endpoint = this.authorizePredict(p, name);
    return { endpoint, served: this.pickVersion(endpoint, version), requestId };
  }

  /** `target` for the protocols of rows and tensors (predict, Open Inference): a language model is refused, pointing to its routes. */
  rowsTarget(p: Principal, name: string, version?: string, requestId?: string): PredictTarget {
    const t = this.target(p, name, version, requestId);
    refuseLanguageModel(t);
    return t;
  }

  /** The version that describes the endpoint (metadata): the one with the most traffic. */
  describingVersion(ep: Endpoint): ServedVersion {
    const main = mainVersion(ep.traffic);
    const s = (main !== undefined ? ep.served.get(main) : undefined) ?? [...ep.served.values()][0];
    if (!s) throw new UnavailableError('endpoint_not_ready', `Endpoint '${ep.row.name}' serves no version.`, { retryAfterSeconds: 1 });
    return s;
  }

  /** Runs feeds of `rows` rows on the target's replicas, meters them and offers them to the log. */
  async run(t: PredictTarget, feeds: Feeds, rows: number): Promise<Feeds> {
    const started = performance.now();
    const outputs = await t.served.pool.submit(feeds, rows);
    this.recordPredictions(t.endpoint, rows);
    this.log.offer(t.endpoint, t.served.spec, { feeds, outputs }, rows, started, t.requestId);
    t.endpoint.shadow?.mirror(t.served.spec, { feeds, outputs }, rows);
    return outputs;
  }

  /**
   * Runs feeds on the target's replicas for an explanation: the model's answers on mixed rows
   * (parts of the request's, parts of background rows), which are not predictions anyone asked
   * for, so they are neither metered nor logged (the explained rows are, by the caller).
   */
  async runProbes(t: PredictTarget, feeds: Feeds, rows: number): Promise<Feeds> {
    return t.served.pool.submit(feeds, rows);
  }

  /** A raw predict body, read, run and answered (JSON text) by a replica; metered and offered to the log. Only when `pool.readsJson`. */
  async runJson(t: PredictTarget, json: Uint8Array): Promise<string> {
    const started = performance.now();
    const { answer, rows } = await t.served.pool.submitJson(json);
    this.recordPredictions(t.endpoint, rows);
    this.log.offer(t.endpoint, t.served.spec, { json, answer }, rows, started, t.requestId);
    t.endpoint.shadow?.mirror(t.served.spec, { json, answer }, rows);
    return answer;
  }

  /** `rows` predictions answered by `ep`: usage (GET /v1/usage) and the endpoint's metrics. */
  recordPredictions(ep: Endpoint, rows: number): void {
    this.meter.count(ep.row.tenant_id, ep.row.name, rows);
    this.metrics.predicted(ep.row.tenant_id, ep.row.name, rows);
  }

  /** A generated answer's timings and tokens (time to first token, gaps between tokens), for the endpoint's metrics. */
  recordGeneration(ep: Endpoint, g: { firstTokenSeconds?: number; interTokenSeconds: number[]; tokens: number }): void {
    this.metrics.generated(ep.row.tenant_id, ep.row.name, g);
  }

  /** One prediction request answered (status, seconds), from its transport; only endpoints that exist are counted. */
  recordRequest(tenantId: string, name: string, status: number, seconds: number): void {
    if (!this.endpoints.has(endpointKey(tenantId, name))) return;
    this.metrics.request(tenantId, name, status, seconds);
  }
}

/** Language models generate (protocols/openai.ts); predict bodies of rows do not apply to them. */
function refuseLanguageModel(t: PredictTarget): void {
  if (!t.served.lm) return;
  const name = t.endpoint.row.name;
  throw new InvalidInputError('not_a_language_model_route', `Endpoint '${name}' serves a language model (causal_lm): send POST /openai/v1/completions or /openai/v1/chat/completions with "model": "${name}" instead of predict or infer.`, { endpoint: name });
}
