/**
 * Endpoints: registered model versions served behind a name, with traffic split by weight
 * between versions, dynamic batching and autoscaled replicas (./pool.ts).
 *
 * The store holds each endpoint's desired state (model, traffic, settings); the running state
 * (pools of replicas, queues, scale events) lives here and is rebuilt from the store on start,
 * so endpoints come back by themselves after a restart.
 *
 * Changing the traffic never fails a request: versions that enter the traffic are loaded and
 * warmed first, then the routing table is swapped in one step (JavaScript runs one thing at a
 * time, so every request is routed by the old table or by the new one), and versions that leave
 * it serve what they already have queued before their replicas close.
 */
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { isUniqueViolation } from '../../infra/store/database.js';
import { AppError, conflict, forbidden, notFound, unprocessable } from '../../infra/errors.js';
import { newId, nowIso } from '../../infra/ids.js';
import type { EndpointsTable } from '../../infra/store/tables-registry.js';
import type { Signature } from '../../ml/signature.js';
import {
  allocate, feedsToV2, instancesToFeeds, outputRoles, readPredictBody, toPredictions, v2InputsToFeeds, V2_DATATYPES,
  type Feeds, type OutputRoles, type Prediction, type V2Tensor,
} from './codec/instances.js';
import type { Principal } from '../principal.js';
import type { ModelVersion, RegistryService } from '../registry.js';
import { assertName } from '../tenants.js';
import { VersionPool, type AutoscalingSettings, type BatchingSettings, type PoolSettings } from './pool.js';
import { ServingMetrics } from './metrics.js';
import { checkReplicasPerEndpoint, checkRoom, ServingQuotas, type ServingUse } from './quotas.js';
import { LABEL_NAMES, hasLabelNames, labelNamesMetadata, labelNamesTensor } from './codec/v2-labels.js';
import type { Registry } from 'prom-client';

export interface TrafficEntry {
  version: number;
  weight: number;
}

export type EndpointStatus = 'loading' | 'ready' | 'updating' | 'failed';

export interface EndpointEvent {
  at: string;
  type: 'scale_up' | 'scale_down' | 'traffic' | 'ready' | 'failed' | 'replica_failed' | 'settings';
  version?: number;
  from?: number;
  to?: number;
  message: string;
}

export interface EndpointInfo {
  id: string;
  name: string;
  model: string;
  stage: string | null;
  status: EndpointStatus;
  error: string | null;
  traffic: TrafficEntry[];
  replicas: { min: number; max: number; current: number; ready: number };
  batching: BatchingSettings;
  autoscaling: AutoscalingSettings;
  versions: Array<{ version: number; weight: number; replicas: number; ready: number; queueDepth: number; inflight: number }>;
  events: EndpointEvent[];
  urls: { predict: string; infer: string };
  createdAt: string;
  updatedAt: string;
}

export interface EndpointSettingsInput {
  replicas?: { min?: number; max?: number };
  batching?: Partial<BatchingSettings>;
  autoscaling?: Partial<AutoscalingSettings>;
}

export interface CreateEndpointInput extends EndpointSettingsInput {
  name: string;
  model: string;
  version?: number;
  stage?: string;
  traffic?: TrafficEntry[];
}

export interface UpdateEndpointInput extends EndpointSettingsInput {
  traffic?: TrafficEntry[];
  version?: number;
  stage?: string;
}

export interface PredictResult {
  predictions: Prediction[];
  model: string;
  version: number;
}

export const DEFAULT_SETTINGS: PoolSettings = {
  replicas: { min: 1, max: 2 },
  batching: { maxBatchSize: 32, maxDelayMs: 0 },
  autoscaling: { intervalMs: 1000, cooldownMs: 30_000, targetQueueDepth: 8, targetLatencyMs: 0 },
};

const MAX_EVENTS = 50;

/** One version as served: its pool and how to read and answer its requests. */
interface Served {
  version: ModelVersion;
  pool: VersionPool;
  roles: OutputRoles;
}

class Endpoint {
  status: EndpointStatus = 'loading';
  error: string | null = null;
  readonly served = new Map<number, Served>();
  readonly events: EndpointEvent[] = [];
  /** Smooth weighted round-robin state (nginx): exact proportions, evenly interleaved. */
  private route: { entries: Served[]; weights: number[]; current: number[]; total: number } = { entries: [], weights: [], current: [], total: 0 };
  /** Serialises changes (create, update, delete) of this endpoint. */
  chain: Promise<unknown> = Promise.resolve();
  deleted = false;
  /** Replicas held against the quotas: replicas.max per version in the traffic (more while an update loads). */
  reserved: number;

  constructor(public row: EndpointsTable, public traffic: TrafficEntry[], public settings: PoolSettings) {
    this.reserved = reservation(settings, traffic);
  }

  get key(): string {
    return `${this.row.tenant_id}\0${this.row.name}`;
  }

  setRouting(traffic: TrafficEntry[]): void {
    const entries: Served[] = [];
    const weights: number[] = [];
    for (const t of traffic) {
      const s = this.served.get(t.version);
      if (s && t.weight > 0) {
        entries.push(s);
        weights.push(t.weight);
      }
    }
    this.route = { entries, weights, current: weights.map(() => 0), total: weights.reduce((a, b) => a + b, 0) };
  }

  pick(): Served | undefined {
    const r = this.route;
    if (r.entries.length <= 1) return r.entries[0];
    let best = 0;
    for (let i = 0; i < r.entries.length; i++) {
      r.current[i]! += r.weights[i]!;
      if (r.current[i]! > r.current[best]!) best = i;
    }
    r.current[best]! -= r.total;
    return r.entries[best];
  }

  event(e: Omit<EndpointEvent, 'at'>): void {
    this.events.push({ at: nowIso(), ...e });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  /** Runs `fn` after every earlier change of this endpoint. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** Replicas an endpoint may come to run: each version in its traffic has a pool of up to replicas.max. */
function reservation(settings: PoolSettings, traffic: TrafficEntry[]): number {
  return settings.replicas.max * traffic.length;
}

export interface ServingLimits {
  /** Replicas this server runs over all tenants (AIAAS_SERVING_MAX_REPLICAS). */
  maxReplicas: number;
}

export class ServingService {
  readonly quotas: ServingQuotas;
  private readonly endpoints = new Map<string, Endpoint>();
  /** Endpoints being created (their row not stored yet): they hold their share of the quotas already. */
  private readonly creating = new Set<{ tenant: string; replicas: number }>();
  private readonly metrics: ServingMetrics;
  private readonly usage = new Map<string, { tenant: string; endpoint: string; predictions: number; requests: number }>();
  private flushTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  /** Every pool from its creation until its threads have exited: a close reaches pools still loading too. */
  private readonly pools = new Set<VersionPool>();

  constructor(
    private readonly db: Db,
    private readonly registry: RegistryService,
    private readonly logger: Logger,
    promRegistry: Registry,
    private readonly limits: ServingLimits,
  ) {
    this.quotas = new ServingQuotas(db);
    this.metrics = new ServingMetrics(promRegistry, {
      pools: () => {
        const out = [];
        for (const ep of this.endpoints.values()) {
          for (const s of ep.served.values()) {
            const st = s.pool.stats();
            out.push({ tenant: ep.row.tenant_id, endpoint: ep.row.name, version: s.version.version, replicas: st.replicas, queueDepth: st.queueDepth });
          }
        }
        return out;
      },
    });
  }

  /** Reloads every endpoint of the store (in the background: each becomes ready on its own). */
  async start(): Promise<void> {
    const rows = await this.db.selectFrom('endpoints').selectAll().orderBy('created_at').execute();
    for (const row of rows) {
      const ep = new Endpoint(row, JSON.parse(row.traffic) as TrafficEntry[], settingsFrom(JSON.parse(row.settings) as EndpointSettingsInput));
      this.endpoints.set(ep.key, ep);
      void ep.serial(() => this.bringUp(ep));
    }
    this.flushTimer = setInterval(() => void this.flushUsage(), 5000);
    this.flushTimer.unref();
    this.started = true;
    this.logger.info({ endpoints: rows.length }, 'serving started');
  }

  readiness(): void {
    if (!this.started || this.closed) throw new Error('serving is not running');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.endpoints.clear();
    await Promise.all([...this.pools].map((pool) => this.endPool(pool, 'close')));
    await this.flushUsage().catch(() => undefined);
  }

  // ---- endpoints ------------------------------------------------------------------------

  async create(p: Principal, input: CreateEndpointInput, opts: { wait?: boolean } = {}): Promise<EndpointInfo> {
    assertName('Endpoint', input.name);
    const settings = settingsFrom(input);
    const quota = await this.quotas.get(p.tenantId);
    checkReplicasPerEndpoint(p.tenantId, settings.replicas.max, quota);
    const { traffic, stage } = await this.resolveTraffic(p.tenantId, input.model, input);
    const need = reservation(settings, traffic);
    // Checked and held in one synchronous step, so concurrent creates cannot both take the last room.
    checkRoom(p.tenantId, { endpoints: 1, replicas: need }, this.use(p.tenantId), quota, this.use(), this.limits.maxReplicas);
    const hold = { tenant: p.tenantId, replicas: need };
    this.creating.add(hold);
    const now = nowIso();
    const row: EndpointsTable = {
      id: newId('ep'), tenant_id: p.tenantId, name: input.name, model_name: input.model, stage: stage ?? null,
      traffic: JSON.stringify(traffic), settings: JSON.stringify(settings), created_at: now, updated_at: now,
    };
    try {
      await this.db.insertInto('endpoints').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('name_taken', `An endpoint named '${input.name}' already exists; choose another name, or PATCH it.`, { name: input.name });
      throw err;
    } finally {
      this.creating.delete(hold);
    }
    const ep = new Endpoint(row, traffic, settings);
    this.endpoints.set(ep.key, ep);
    const up = ep.serial(() => this.bringUp(ep));
    if (opts.wait) await up;
    return this.info(ep);
  }

  /** Loads every version of the traffic (after a create or a restart). */
  private async bringUp(ep: Endpoint): Promise<void> {
    try {
      for (const t of ep.traffic) {
        if (ep.served.has(t.version)) continue;
        ep.served.set(t.version, await this.load(ep, t.version));
      }
      ep.setRouting(ep.traffic);
      if (ep.deleted) return;
      ep.status = 'ready';
      ep.error = null;
      ep.event({ type: 'ready', message: `serving ${ep.traffic.map((t) => `v${t.version} ${t.weight}`).join(', ')}` });
    } catch (err) {
      ep.status = 'failed';
      ep.error = (err as Error).message;
      ep.event({ type: 'failed', message: ep.error });
      this.logger.error({ err, endpoint: ep.row.name, tenant: ep.row.tenant_id }, 'endpoint failed to start');
      for (const s of ep.served.values()) void this.endPool(s.pool, 'close');
      ep.served.clear();
    }
  }

  /** Drains or closes a pool and forgets it once its threads have exited. */
  private endPool(pool: VersionPool, how: 'drain' | 'close'): Promise<void> {
    return pool[how]().finally(() => this.pools.delete(pool));
  }

  private async load(ep: Endpoint, version: number): Promise<Served> {
    const v = await this.registry.resolve(ep.row.tenant_id, ep.row.model_name, version);
    const bytes = new Uint8Array(await this.registry.readArtifact(v));
    const sig = v.signature;
    const batchable = sig.tensors.every((t) => t.shape.length > 0 && t.shape[0]! < 0) && sig.outputs.every((o) => o.shape.length === 0 || o.shape[0]! < 0);
    const fixedInner = sig.tensors.every((t) => t.shape.slice(1).every((d) => d > 0));
    const roles = outputRoles(sig);
    const pool = new VersionPool(version, bytes, sig.outputs.map((o) => o.name), ep.settings, {
      onScale: (e) => {
        const up = e.to > e.from;
        ep.event({ type: up ? 'scale_up' : 'scale_down', version, from: e.from, to: e.to, message: e.reason });
        this.metrics.scaled(ep.row.tenant_id, ep.row.name, up ? 'up' : 'down');
        this.logger.info({ endpoint: ep.row.name, version, from: e.from, to: e.to, reason: e.reason }, 'endpoint scaled');
      },
      onBatch: (rows) => this.metrics.batch(ep.row.tenant_id, ep.row.name, rows),
      onReplicaFailure: (message) => {
        ep.event({ type: 'replica_failed', version, message });
        this.logger.error({ endpoint: ep.row.name, version, message }, 'replica failed');
      },
    }, batchable, fixedInner, fixedInner ? zeroFeeds(sig) : undefined, { signature: sig, roles, model: ep.row.model_name, version });
    this.pools.add(pool);
    try {
      if (this.closed) throw new Error('the server is shutting down'); // closed while the artifact was read
      await pool.start();
    } catch (err) {
      await this.endPool(pool, 'close');
      throw new AppError(422, 'model_load_failed', `Version ${version} of '${ep.row.model_name}' could not be loaded into a replica: ${(err as Error).message}`, { version });
    }
    return { version: v, pool, roles };
  }

  async list(p: Principal): Promise<EndpointInfo[]> {
    const names = await this.db.selectFrom('endpoints').select('name').where('tenant_id', '=', p.tenantId).orderBy('name').execute();
    return names.map((r) => this.endpoints.get(`${p.tenantId}\0${r.name}`)).filter((e): e is Endpoint => !!e).map((e) => this.info(e));
  }

  async get(p: Principal, name: string): Promise<EndpointInfo> {
    return this.info(this.find(p, name));
  }

  async update(p: Principal, name: string, input: UpdateEndpointInput): Promise<EndpointInfo> {
    const ep = this.find(p, name);
    return ep.serial(async () => {
      if (ep.deleted) throw notFound('Endpoint', name);
      const settings = settingsFrom(input, ep.settings);
      const quota = await this.quotas.get(p.tenantId);
      // A change that does not raise what the endpoint holds is never refused, even over a lowered quota.
      if (settings.replicas.max > ep.settings.replicas.max) checkReplicasPerEndpoint(p.tenantId, settings.replicas.max, quota);
      let traffic = ep.traffic;
      let stage = ep.row.stage;
      if (input.traffic || input.version !== undefined || input.stage !== undefined) {
        const resolved = await this.resolveTraffic(p.tenantId, ep.row.model_name, input);
        traffic = resolved.traffic;
        stage = resolved.stage ?? null;
      }
      const held = ep.reserved;
      const need = reservation(settings, traffic);
      if (need > held) checkRoom(p.tenantId, { endpoints: 0, replicas: need - held }, this.use(p.tenantId), quota, this.use(), this.limits.maxReplicas);
      // While new versions load, the old ones still run: hold the larger of the two until the switch.
      ep.reserved = Math.max(held, need);
      // Versions entering the traffic are loaded and warm before any request is routed to them.
      const wasFailed = ep.status === 'failed';
      const added: Served[] = [];
      const previous = ep.status;
      const previousSettings = ep.settings;
      ep.status = wasFailed ? 'loading' : 'updating';
      ep.settings = settings;
      try {
        for (const t of traffic) {
          if (ep.served.has(t.version) || added.some((a) => a.version.version === t.version)) continue;
          added.push(await this.load(ep, t.version));
        }
        const now = nowIso();
        await this.db.updateTable('endpoints').set({ traffic: JSON.stringify(traffic), settings: JSON.stringify(settings), stage, updated_at: now })
          .where('id', '=', ep.row.id).execute();
        ep.row = { ...ep.row, traffic: JSON.stringify(traffic), settings: JSON.stringify(settings), stage, updated_at: now };
      } catch (err) {
        for (const a of added) void this.endPool(a.pool, 'close');
        ep.status = previous;
        ep.settings = previousSettings;
        ep.reserved = held;
        throw err;
      }
      // The switch: one synchronous step.
      for (const a of added) ep.served.set(a.version.version, a);
      const leaving = [...ep.served.values()].filter((s) => !traffic.some((t) => t.version === s.version.version));
      for (const s of leaving) ep.served.delete(s.version.version);
      const trafficChanged = JSON.stringify(traffic) !== JSON.stringify(ep.traffic);
      ep.traffic = traffic;
      // Versions leaving drain what they hold and close: briefly over, never by more than they held.
      ep.reserved = need;
      ep.setRouting(traffic);
      for (const s of ep.served.values()) s.pool.update(settings);
      ep.status = 'ready';
      ep.error = null;
      if (trafficChanged) ep.event({ type: 'traffic', message: `traffic ${traffic.map((t) => `v${t.version} ${t.weight}`).join(', ')}` });
      if (input.replicas || input.batching || input.autoscaling) ep.event({ type: 'settings', message: 'replicas, batching or autoscaling changed' });
      // Versions leaving the traffic finish what they hold, then release their replicas.
      for (const s of leaving) void this.endPool(s.pool, 'drain');
      return this.info(ep);
    });
  }

  async delete(p: Principal, name: string): Promise<{ id: string; name: string; deleted: true }> {
    const ep = this.find(p, name);
    return ep.serial(async () => {
      await this.db.deleteFrom('endpoints').where('id', '=', ep.row.id).execute();
      ep.deleted = true;
      this.endpoints.delete(ep.key);
      const pools = [...ep.served.values()];
      ep.served.clear();
      ep.setRouting([]);
      // Requests already queued are answered; new ones find no endpoint.
      await Promise.all(pools.map((s) => this.endPool(s.pool, 'drain')));
      this.metrics.forget(ep.row.tenant_id, ep.row.name);
      return { id: ep.row.id, name: ep.row.name, deleted: true as const };
    });
  }

  /** Endpoints and reserved replicas of one tenant (or, without one, of the whole server). */
  private use(tenantId?: string): ServingUse {
    const use = { endpoints: 0, replicas: 0 };
    for (const ep of this.endpoints.values()) {
      if (tenantId !== undefined && ep.row.tenant_id !== tenantId) continue;
      use.endpoints++;
      use.replicas += ep.reserved;
    }
    for (const c of this.creating) {
      if (tenantId !== undefined && c.tenant !== tenantId) continue;
      use.endpoints++;
      use.replicas += c.replicas;
    }
    return use;
  }

  /** What a tenant's endpoints hold against its serving quota. */
  servingUse(tenantId: string): ServingUse {
    return this.use(tenantId);
  }

  private find(p: Principal, name: string): Endpoint {
    const ep = this.endpoints.get(`${p.tenantId}\0${name}`);
    if (!ep) throw notFound('Endpoint', name);
    return ep;
  }

  /** A caller's endpoint for predictions: scoped inference keys reach their endpoint only. */
  private serving(p: Principal, name: string): Endpoint {
    if (p.endpoint && p.endpoint !== name) {
      const ep = this.endpoints.get(`${p.tenantId}\0${name}`);
      if (!ep || ep.row.id !== p.endpoint) {
        throw forbidden(`This inference key may call endpoint '${p.endpoint}' only; use a key for '${name}'.`);
      }
    }
    const ep = this.find(p, name);
    if (ep.status !== 'ready' && ep.status !== 'updating') {
      const why = ep.status === 'failed' ? `it failed to start: ${ep.error}. Fix it with PATCH /v1/endpoints/${name}` : 'it is still loading; retry in a moment';
      throw new AppError(503, 'endpoint_not_ready', `Endpoint '${name}' is not ready: ${why}.`, { status: ep.status, retryAfterSeconds: 1 });
    }
    return ep;
  }

  private route(ep: Endpoint, version?: string): Served {
    if (version !== undefined) {
      const s = ep.served.get(Number(version));
      if (!s) throw notFound('Model version', `${ep.row.name}@${version}`);
      return s;
    }
    const s = ep.pick();
    if (!s) throw new AppError(503, 'endpoint_not_ready', `Endpoint '${ep.row.name}' has no version with traffic; PATCH its traffic.`, { retryAfterSeconds: 1 });
    return s;
  }

  // ---- predictions ----------------------------------------------------------------------

  async predict(p: Principal, name: string, body: { instances?: unknown; inputs?: unknown }): Promise<PredictResult> {
    const ep = this.serving(p, name);
    const s = this.route(ep);
    const sig = s.version.signature;
    const { instances, options } = readPredictBody(body);
    const { feeds, rows } = instancesToFeeds(sig, instances, options);
    const outputs = await s.pool.submit(feeds, rows);
    this.count(ep, rows);
    return { predictions: toPredictions(sig, s.roles, outputs, rows), model: ep.row.model_name, version: s.version.version };
  }

  /**
   * Predict from the raw JSON body (UTF-8 bytes). When the version's replicas can read bodies
   * (every input shape fixed past the batch axis) the body goes to a replica as it is, which
   * parses, checks, runs and writes the answer: the answer comes back as JSON text, and this
   * thread, which serves HTTP for every endpoint, does no per-row work. Otherwise the body is
   * parsed here, as by `predict`.
   */
  async predictJson(p: Principal, name: string, json: Uint8Array): Promise<string | PredictResult> {
    const ep = this.serving(p, name);
    const s = this.route(ep);
    if (!s.pool.readsJson) {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
      } catch (err) {
        throw new AppError(400, 'invalid_json', `The body is not valid JSON (${(err as Error).message}). Check quoting and commas.`);
      }
      const sig = s.version.signature;
      const { instances, options } = readPredictBody(body);
      const { feeds, rows } = instancesToFeeds(sig, instances, options);
      const outputs = await s.pool.submit(feeds, rows);
      this.count(ep, rows);
      return { predictions: toPredictions(sig, s.roles, outputs, rows), model: ep.row.model_name, version: s.version.version };
    }
    const { answer, rows } = await s.pool.submitJson(json);
    this.count(ep, rows);
    return answer;
  }

  /** Open Inference Protocol infer. */
  async infer(p: Principal, name: string, body: { id?: string; inputs: V2Tensor[]; outputs?: Array<{ name: string }>; parameters?: Record<string, unknown> }, version?: string) {
    const ep = this.serving(p, name);
    const s = this.route(ep, version);
    const impute = body.parameters?.impute;
    if (impute !== undefined && typeof impute !== 'boolean') {
      throw unprocessable('invalid_request', 'body.parameters.impute: must be boolean. See /docs for this route\'s schema.', { errors: [{ path: 'body.parameters.impute', message: 'must be boolean' }] });
    }
    const { feeds, rows } = v2InputsToFeeds(s.version.signature, body.inputs, { impute: impute === true });
    const wanted = body.outputs?.map((o) => o.name);
    for (const w of wanted ?? []) {
      if (w === LABEL_NAMES && hasLabelNames(s.version.signature)) continue;
      if (!s.version.signature.outputs.some((o) => o.name === w)) {
        throw unprocessable('unknown_output', `Output '${w}' does not exist; the model has ${s.version.signature.outputs.map((o) => o.name).join(', ')}.`, { output: w });
      }
    }
    const outputs = await s.pool.submit(feeds, rows);
    this.count(ep, rows);
    return {
      model_name: ep.row.name, model_version: String(s.version.version), ...(body.id !== undefined ? { id: body.id } : {}),
      outputs: withLabelNames(s.version.signature, outputs, wanted),
    };
  }

  /** Open Inference Protocol model metadata (of the version with the most traffic). */
  async metadata(p: Principal, name: string) {
    const ep = this.serving(p, name);
    const main = [...ep.traffic].sort((a, b) => b.weight - a.weight)[0];
    const s = (main && ep.served.get(main.version)) ?? [...ep.served.values()][0];
    if (!s) throw new AppError(503, 'endpoint_not_ready', `Endpoint '${name}' serves no version.`, { retryAfterSeconds: 1 });
    const sig: Signature = s.version.signature;
    const tensor = (t: { name: string; dtype: keyof typeof V2_DATATYPES; shape: number[] }) => ({ name: t.name, datatype: V2_DATATYPES[t.dtype], shape: t.shape });
    const names = labelNamesMetadata(sig);
    return {
      name: ep.row.name, versions: ep.traffic.map((t) => String(t.version)), platform: 'onnxruntime_onnx',
      inputs: sig.tensors.map(tensor), outputs: [...sig.outputs.map(tensor), ...(names.output ? [names.output] : [])],
      parameters: {
        model: ep.row.model_name, task: sig.task, traffic: ep.traffic, ...(sig.labels ? { labels: sig.labels } : {}), ...names.parameters,
        columns: sig.inputs.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
      },
    };
  }

  isReady(p: Principal, name: string): boolean {
    try {
      this.serving(p, name);
      return true;
    } catch (err) {
      if (err instanceof AppError && err.status === 503) return false;
      throw err;
    }
  }

  /** Per-request metrics, from the HTTP layer (only for endpoints that exist). */
  observe(tenantId: string, name: string, status: number, seconds: number): void {
    if (!this.endpoints.has(`${tenantId}\0${name}`)) return;
    this.metrics.request(tenantId, name, status, seconds);
  }

  async endpointMetrics(p: Principal, name: string): Promise<string> {
    const ep = this.find(p, name);
    return this.metrics.endpointText(ep.row.tenant_id, ep.row.name);
  }

  // ---- usage ----------------------------------------------------------------------------

  private count(ep: Endpoint, rows: number): void {
    const k = ep.key;
    let u = this.usage.get(k);
    if (!u) this.usage.set(k, (u = { tenant: ep.row.tenant_id, endpoint: ep.row.name, predictions: 0, requests: 0 }));
    u.predictions += rows;
    u.requests += 1;
    this.metrics.predicted(ep.row.tenant_id, ep.row.name, rows);
  }

  /** Adds the predictions counted since the last flush to the hourly rows of `prediction_usage`. */
  async flushUsage(): Promise<void> {
    if (this.usage.size === 0) return;
    const batch = [...this.usage.values()];
    this.usage.clear();
    const hour = hourOf(new Date().toISOString());
    try {
      for (const u of batch) {
        await this.db.insertInto('prediction_usage')
          .values({ tenant_id: u.tenant, endpoint: u.endpoint, hour, predictions: u.predictions, requests: u.requests })
          .onConflict((oc) => oc.columns(['tenant_id', 'endpoint', 'hour']).doUpdateSet((eb) => ({
            predictions: eb('prediction_usage.predictions', '+', eb.ref('excluded.predictions')),
            requests: eb('prediction_usage.requests', '+', eb.ref('excluded.requests')),
          })))
          .execute();
      }
    } catch (err) {
      this.logger.error({ err }, 'prediction usage flush failed');
    }
  }

  /** Predictions per tenant in the hours that overlap [from, to) (hour resolution), for usage reports. */
  async predictionsByTenant(from?: string, to?: string): Promise<Array<{ tenant: string; predictions: number; requests: number }>> {
    await this.flushUsage();
    let q = this.db.selectFrom('prediction_usage')
      .select((eb) => ['tenant_id', eb.fn.sum<number>('predictions').as('predictions'), eb.fn.sum<number>('requests').as('requests')])
      .groupBy('tenant_id');
    if (from) q = q.where('hour', '>=', hourOf(from));
    if (to) q = q.where('hour', '<', to);
    return (await q.execute()).map((r) => ({ tenant: r.tenant_id, predictions: Number(r.predictions), requests: Number(r.requests) }));
  }

  // ---- helpers ---------------------------------------------------------------------------

  private async resolveTraffic(tenantId: string, model: string, input: { traffic?: TrafficEntry[]; version?: number; stage?: string }): Promise<{ traffic: TrafficEntry[]; stage?: string }> {
    if (input.traffic) {
      if (input.version !== undefined || input.stage !== undefined) {
        throw unprocessable('invalid_traffic', 'Give either traffic, or version/stage (which sends all traffic to one version), not both.', { field: 'traffic' });
      }
      const seen = new Set<number>();
      for (const t of input.traffic) {
        if (seen.has(t.version)) throw unprocessable('invalid_traffic', `Version ${t.version} appears twice in traffic; list each version once.`, { field: 'traffic', version: t.version });
        seen.add(t.version);
        await this.servable(tenantId, model, t.version);
      }
      if (input.traffic.length === 0 || input.traffic.every((t) => t.weight <= 0)) {
        throw unprocessable('invalid_traffic', 'Traffic needs at least one version with a weight above 0.', { field: 'traffic' });
      }
      return { traffic: input.traffic.map((t) => ({ version: t.version, weight: t.weight })) };
    }
    if (input.version !== undefined) {
      const v = await this.servable(tenantId, model, input.version);
      return { traffic: [{ version: v.version, weight: 100 }] };
    }
    if (input.stage !== undefined) {
      const v = await this.servable(tenantId, model, input.stage);
      return { traffic: [{ version: v.version, weight: 100 }], stage: input.stage };
    }
    // Neither: the production version if there is one, else the newest.
    let v: ModelVersion;
    try {
      v = await this.servable(tenantId, model, 'production');
    } catch (err) {
      if (!(err instanceof AppError && err.status === 404)) throw err;
      v = await this.servable(tenantId, model, 'latest');
    }
    return { traffic: [{ version: v.version, weight: 100 }] };
  }

  /**
   * A version an endpoint may serve. Language models (causal_lm) are decoded token by token with
   * a key/value cache, which classic endpoints do not do: refused until generation serving exists.
   */
  private async servable(tenantId: string, model: string, ref: string | number): Promise<ModelVersion> {
    const v = await this.registry.resolve(tenantId, model, ref);
    if (v.kind === 'causal_lm') {
      throw unprocessable('not_available', `Version ${v.version} of '${model}' is a language model (causal_lm); serving language models (text generation, the OpenAI-compatible API) is not available yet in this version. Download it as a Hugging Face folder with GET /v1/models/${model}/versions/${v.version}/artifact?format=hf and run it with transformers.js or ONNX Runtime.`, {
        field: 'model', model, version: v.version, kind: v.kind,
      });
    }
    return v;
  }

  private info(ep: Endpoint): EndpointInfo {
    const versions = ep.traffic.map((t) => {
      const st = ep.served.get(t.version)?.pool.stats();
      return { version: t.version, weight: t.weight, replicas: st?.replicas ?? 0, ready: st?.ready ?? 0, queueDepth: st?.queueDepth ?? 0, inflight: st?.inflight ?? 0 };
    });
    const name = encodeURIComponent(ep.row.name);
    return {
      id: ep.row.id, name: ep.row.name, model: ep.row.model_name, stage: ep.row.stage, status: ep.status, error: ep.error,
      traffic: ep.traffic,
      replicas: {
        ...ep.settings.replicas,
        current: versions.reduce((n, v) => n + v.replicas, 0),
        ready: versions.reduce((n, v) => n + v.ready, 0),
      },
      batching: ep.settings.batching, autoscaling: ep.settings.autoscaling, versions, events: [...ep.events],
      urls: { predict: `/v1/endpoints/${name}/predict`, infer: `/v2/models/${name}/infer` },
      createdAt: ep.row.created_at, updatedAt: ep.row.updated_at,
    };
  }
}

/** The UTC hour an ISO instant falls in, as an ISO instant (`2026-01-02T03:00:00.000Z`). */
function hourOf(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t - (t % 3_600_000)).toISOString() : iso;
}

/** Settings with defaults, checked. */
export function settingsFrom(input: EndpointSettingsInput, base: PoolSettings = DEFAULT_SETTINGS): PoolSettings {
  const min = input.replicas?.min ?? (input.replicas?.max !== undefined ? Math.min(base.replicas.min, input.replicas.max) : base.replicas.min);
  const max = input.replicas?.max ?? Math.max(min, base.replicas.max);
  const s: PoolSettings = {
    replicas: { min, max },
    batching: { ...base.batching, ...input.batching },
    autoscaling: { ...base.autoscaling, ...input.autoscaling },
  };
  const check = (ok: boolean, field: string, message: string) => {
    if (!ok) throw unprocessable('invalid_settings', `${field}: ${message}`, { field });
  };
  check(Number.isInteger(min) && min >= 1 && min <= 64, 'replicas.min', 'must be a whole number from 1 to 64');
  check(Number.isInteger(max) && max >= min && max <= 64, 'replicas.max', `must be a whole number from replicas.min (${min}) to 64`);
  check(Number.isInteger(s.batching.maxBatchSize) && s.batching.maxBatchSize >= 1 && s.batching.maxBatchSize <= 4096, 'batching.maxBatchSize', 'must be a whole number from 1 (no batching) to 4096');
  check(s.batching.maxDelayMs >= 0 && s.batching.maxDelayMs <= 1000, 'batching.maxDelayMs', 'must be from 0 to 1000');
  check(s.autoscaling.intervalMs >= 50 && s.autoscaling.intervalMs <= 600_000, 'autoscaling.intervalMs', 'must be from 50 to 600000');
  check(s.autoscaling.cooldownMs >= 0 && s.autoscaling.cooldownMs <= 86_400_000, 'autoscaling.cooldownMs', 'must be from 0 to 86400000');
  check(s.autoscaling.targetQueueDepth >= 0, 'autoscaling.targetQueueDepth', 'must not be negative');
  check(s.autoscaling.targetLatencyMs >= 0, 'autoscaling.targetLatencyMs', 'must not be negative (0 turns the latency target off)');
  return s;
}

/** One all-zero row for every input, to warm a replica (only when every shape is known). */
function zeroFeeds(sig: Signature): Feeds {
  const feeds: Feeds = {};
  for (const t of sig.tensors) {
    const dims = t.shape.map((d, i) => (i === 0 && d < 0 ? 1 : d));
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[t.name] = { dtype: t.dtype, dims, data: allocate(t.dtype, size) };
  }
  return feeds;
}

/** The v2 outputs asked for (all by default), with the class names beside a classifier's label indices. */
function withLabelNames(sig: Signature, outputs: Parameters<typeof feedsToV2>[0], wanted?: string[]) {
  const graph = feedsToV2(outputs, wanted?.filter((w) => w !== LABEL_NAMES));
  if (wanted?.length && !wanted.includes(LABEL_NAMES)) return graph;
  if (wanted?.length && wanted.every((w) => w === LABEL_NAMES)) graph.length = 0;
  const names = labelNamesTensor(sig, outputs);
  return names ? [...graph, names] : graph;
}
