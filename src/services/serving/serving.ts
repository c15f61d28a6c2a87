/**
 * Endpoint lifecycle (the control plane): registered model versions served behind a name, with
 * traffic split by weight between versions (./traffic.ts), dynamic batching and autoscaled
 * replicas (./pool.ts). Create, change (traffic, settings), delete, list; the quotas they hold.
 * Requests are answered by the data plane (./data-plane.ts), which holds the endpoints served.
 *
 * The store holds each endpoint's desired state (model, traffic, settings); the running state
 * (pools of replicas, queues, scale events, ./endpoint.ts) lives here and is rebuilt from the
 * store on start, so endpoints come back by themselves after a restart.
 *
 * Changing the traffic never fails a request: versions that enter the traffic are loaded and
 * warmed first, then the routing table is swapped in one step (JavaScript runs one thing at a
 * time, so every request is routed by the old table or by the new one), and versions that leave
 * it serve what they already have queued before their replicas close.
 */
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { isUniqueViolation } from '../../infra/store/database.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../infra/errors.js';
import { newId, nowIso } from '../../infra/ids.js';
import type { EndpointsTable } from '../../infra/store/tables-registry.js';
import type { Signature } from '../../ml/signature.js';
import { allocate, outputRoles, type Feeds } from './codec/instances.js';
import type { Principal } from '../principal.js';
import type { ModelVersion, RegistryService } from '../registry.js';
import { assertName } from '../tenants.js';
import { DataPlane } from './data-plane.js';
import { Endpoint, type EndpointInfo, type ServedVersion } from './endpoint.js';
import { PredictionMeter } from './metering.js';
import { ServingMetrics } from './metrics.js';
import { VersionPool } from './pool.js';
import { readLanguageModel } from './language-model.js';
import { checkReplicasPerEndpoint, checkRoom, ServingQuotas, type ServingUse } from './quotas.js';
import { reservation, settingsFrom, type EndpointSettingsInput } from './settings.js';
import { describeTraffic, resolveTraffic, type TrafficEntry, type TrafficRequest } from './traffic.js';
import type { Registry } from 'prom-client';

export type { EndpointEvent, EndpointInfo, EndpointStatus } from './endpoint.js';
export type { TrafficEntry } from './traffic.js';
export { DEFAULT_SETTINGS, settingsFrom, type EndpointSettingsInput } from './settings.js';

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

export interface ServingLimits {
  /** Replicas this server runs over all tenants (AIAAS_SERVING_MAX_REPLICAS). */
  maxReplicas: number;
}

/** Prompt tokens a language model's replica reads per step while others decode (chunked prefill). */
const PREFILL_CHUNK = 32;

/** How often the predictions counted in memory are written to the store. */
const USAGE_FLUSH_MS = 5000;

export class ServingService {
  readonly quotas: ServingQuotas;
  /** Where predictions are answered: the transports (HTTP routes, the fast path) call it. */
  readonly plane: DataPlane;
  /** Endpoints being created (their row not stored yet): they hold their share of the quotas already. */
  private readonly creating = new Set<{ tenant: string; replicas: number }>();
  private readonly metrics: ServingMetrics;
  private readonly meter: PredictionMeter;
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
        for (const ep of this.plane.all()) {
          for (const s of ep.served.values()) {
            const st = s.pool.stats();
            out.push({ tenant: ep.row.tenant_id, endpoint: ep.row.name, version: s.version.version, replicas: st.replicas, queueDepth: st.queueDepth, generation: s.lm ? s.pool.generationStats() : undefined });
          }
        }
        return out;
      },
    });
    this.meter = new PredictionMeter(db, logger);
    this.plane = new DataPlane(this.metrics, this.meter);
  }

  /** Reloads every endpoint of the store (in the background: each becomes ready on its own). */
  async start(): Promise<void> {
    const rows = await this.db.selectFrom('endpoints').selectAll().orderBy('created_at').execute();
    for (const row of rows) {
      const ep = new Endpoint(row, JSON.parse(row.traffic) as TrafficEntry[], settingsFrom(JSON.parse(row.settings) as EndpointSettingsInput));
      this.plane.add(ep);
      void ep.serial(() => this.bringUp(ep));
    }
    this.meter.start(USAGE_FLUSH_MS);
    this.started = true;
    this.logger.info({ endpoints: rows.length }, 'serving started');
  }

  readiness(): void {
    if (!this.started || this.closed) throw new Error('serving is not running');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.plane.clear();
    await Promise.all([...this.pools].map((pool) => this.endPool(pool, 'close')));
    await this.meter.stop();
  }

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
      if (isUniqueViolation(err)) throw new ConflictError('name_taken', `An endpoint named '${input.name}' already exists; choose another name, or PATCH it.`, { name: input.name });
      throw err;
    } finally {
      this.creating.delete(hold);
    }
    const ep = new Endpoint(row, traffic, settings);
    this.plane.add(ep);
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
      ep.event({ type: 'ready', message: `serving ${describeTraffic(ep.traffic)}` });
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

  private async load(ep: Endpoint, version: number): Promise<ServedVersion> {
    const v = await this.registry.resolve(ep.row.tenant_id, ep.row.model_name, version);
    const bytes = new Uint8Array(await this.registry.readArtifact(v));
    const sig = v.signature;
    const lm = v.kind === 'causal_lm' ? await readLanguageModel(v, (name) => this.registry.readFile(v, name)) : undefined;
    const batchable = sig.tensors.every((t) => t.shape.length > 0 && t.shape[0]! < 0) && sig.outputs.every((o) => o.shape.length === 0 || o.shape[0]! < 0);
    const fixedInner = sig.tensors.every((t) => t.shape.slice(1).every((d) => d > 0));
    const spec = { signature: sig, roles: outputRoles(sig), model: ep.row.model_name, version };
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
    }, batchable && !lm, fixedInner && !lm, fixedInner && !lm ? zeroFeeds(sig) : undefined, lm ? undefined : spec,
    lm ? { shape: lm.shape, prefillChunk: PREFILL_CHUNK } : undefined);
    this.pools.add(pool);
    try {
      if (this.closed) throw new Error('the server is shutting down'); // closed while the artifact was read
      await pool.start();
    } catch (err) {
      await this.endPool(pool, 'close');
      throw new InvalidInputError('model_load_failed', `Version ${version} of '${ep.row.model_name}' could not be loaded into a replica: ${(err as Error).message}`, { version });
    }
    return { version: v, pool, spec, lm };
  }

  async list(p: Principal): Promise<EndpointInfo[]> {
    const names = await this.db.selectFrom('endpoints').select('name').where('tenant_id', '=', p.tenantId).orderBy('name').execute();
    return names.map((r) => this.plane.lookup(p.tenantId, r.name)).filter((e): e is Endpoint => !!e).map((e) => this.info(e));
  }

  async get(p: Principal, name: string): Promise<EndpointInfo> {
    return this.info(this.plane.find(p, name));
  }

  async update(p: Principal, name: string, input: UpdateEndpointInput): Promise<EndpointInfo> {
    const ep = this.plane.find(p, name);
    return ep.serial(async () => {
      if (ep.deleted) throw NotFoundError.of('Endpoint', name);
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
      const added: ServedVersion[] = [];
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
      if (trafficChanged) ep.event({ type: 'traffic', message: `traffic ${describeTraffic(traffic)}` });
      if (input.replicas || input.batching || input.autoscaling) ep.event({ type: 'settings', message: 'replicas, batching or autoscaling changed' });
      // Versions leaving the traffic finish what they hold, then release their replicas.
      for (const s of leaving) void this.endPool(s.pool, 'drain');
      return this.info(ep);
    });
  }

  async delete(p: Principal, name: string): Promise<{ id: string; name: string; deleted: true }> {
    const ep = this.plane.find(p, name);
    return ep.serial(async () => {
      await this.db.deleteFrom('endpoints').where('id', '=', ep.row.id).execute();
      ep.deleted = true;
      this.plane.remove(ep);
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
    for (const ep of this.plane.all()) {
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

  async endpointMetrics(p: Principal, name: string): Promise<string> {
    const ep = this.plane.find(p, name);
    return this.metrics.endpointText(ep.row.tenant_id, ep.row.name);
  }

  /** Predictions per tenant in the hours that overlap [from, to) (hour resolution), for usage reports. */
  predictionsByTenant(from?: string, to?: string): Promise<Array<{ tenant: string; predictions: number; requests: number }>> {
    return this.meter.byTenant(from, to);
  }

  // ---- helpers ---------------------------------------------------------------------------

  private resolveTraffic(tenantId: string, model: string, input: TrafficRequest): Promise<{ traffic: TrafficEntry[]; stage?: string }> {
    return resolveTraffic(input, (ref) => this.servable(tenantId, model, ref));
  }

  /** A version an endpoint may serve: any registered version (a causal_lm answers the OpenAI-compatible routes). */
  private servable(tenantId: string, model: string, ref: string | number): Promise<ModelVersion> {
    return this.registry.resolve(tenantId, model, ref);
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
