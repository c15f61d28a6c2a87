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
 * Several API nodes on one store each run replicas of every endpoint. A node that changes an
 * endpoint records the change in the same transaction (the store's change feed); every node, on
 * hearing of a change, reads the endpoints' rows and follows them: it adopts new endpoints, loads
 * and switches to a new traffic or settings, and stops serving deleted ones. Each node autoscales
 * its own replicas on its own load, within the endpoint's replicas.min/max; quotas are checked
 * against the rows (every node's endpoints), under a lock of the tenant's row, so two nodes
 * cannot both take a tenant's last room.
 *
 * Changing the traffic never fails a request: versions that enter the traffic are loaded and
 * warmed first, then the routing table is swapped in one step (JavaScript runs one thing at a
 * time, so every request is routed by the old table or by the new one), and versions that leave
 * it serve what they already have queued before their replicas close.
 */
import { endpointDrift, type DriftQuery, type DriftReport } from './drift.js';
import type { BlobStore } from '../../infra/blob-store.js';
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { isPostgres, isUniqueViolation } from '../../infra/store/database.js';
import type { ChangeFeed } from '../../infra/store/change-feed.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../infra/errors.js';
import { newId, nowIso } from '../../infra/ids.js';
import type { EndpointsTable } from '../../infra/store/tables-registry.js';
import type { Signature } from '../../ml/signature.js';
import { allocate, outputRoles, type Feeds } from './codec/instances.js';
import type { BlobRefs } from '../blob-refs.js';
import type { Principal } from '../principal.js';
import type { ModelVersion, RegistryService } from '../registry.js';
import { assertName } from '../tenants.js';
import { DataPlane } from './data-plane.js';
import { Endpoint, endpointKey, type EndpointInfo, type ServedVersion } from './endpoint.js';
import { PredictionMeter } from './metering.js';
import { PredictionLog, type LoggedPrediction, type PredictionLogOptions, type PredictionQuery } from './prediction-log.js';
import { ServingMetrics, type RequestTotals } from './metrics.js';
import { VersionPool } from './pool.js';
import { readLanguageModel } from './language-model.js';
import { checkReplicasPerEndpoint, checkRoom, ServingQuotas, type ServingQuota, type ServingUse } from './quotas.js';
import { reservation, settingsFrom, type EndpointSettings, type EndpointSettingsInput } from './settings.js';
import { checkShadowSetting, refuseShadowOf, Shadow, shadowTarget, type ShadowSetting } from './shadow.js';
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
  /** A candidate that gets copies of `percent`% of the requests (./shadow.ts); null removes it. */
  shadow?: ShadowSetting | null;
}

export interface ServingLimits {
  /** Replicas this server runs over all tenants (AIAAS_SERVING_MAX_REPLICAS). */
  maxReplicas: number;
  /** The prediction log's queue, timers and store (AIAAS_PREDICTION_LOG_QUEUE_ROWS, AIAAS_PREDICTION_LOG_QUEUE_BYTES). */
  predictionLog?: Partial<PredictionLogOptions>;
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
  private readonly creating = new Set<{ tenant: string; key: string; replicas: number }>();
  private readonly metrics: ServingMetrics;
  private readonly meter: PredictionMeter;
  /** Logged predictions of the endpoints that sample them (their `logging`). */
  readonly predictionLog: PredictionLog;
  private started = false;
  private closed = false;
  /** Every pool from its creation until its threads have exited: a close reaches pools still loading too. */
  private readonly pools = new Set<VersionPool>();
  private unsubscribe?: () => void;
  /** A read of the rows is running (`syncing`), and another was asked for meanwhile (`resync`). */
  private syncing?: Promise<void>;
  private resync = false;

  /** `blobs` and `refs`: where the prediction log keeps its segments. */
  constructor(
    private readonly db: Db,
    blobs: BlobStore,
    refs: BlobRefs,
    private readonly changes: ChangeFeed,
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
    this.predictionLog = new PredictionLog(db, blobs, refs, logger, promRegistry, () => this.plane.all(), limits.predictionLog);
    this.plane = new DataPlane(this.metrics, this.meter, this.predictionLog);
  }

  /** Reloads every endpoint of the store (in the background: each becomes ready on its own). */
  async start(): Promise<void> {
    const rows = await this.db.selectFrom('endpoints').selectAll().orderBy('created_at').execute();
    for (const row of rows) this.adopt(row);
    // Changes from here on, by any node (this one's own are already applied when they are heard).
    this.unsubscribe = this.changes.subscribe('endpoints', () => void this.sync());
    this.meter.start(USAGE_FLUSH_MS);
    this.predictionLog.start();
    this.started = true;
    this.logger.info({ endpoints: rows.length }, 'serving started');
  }

  readiness(): void {
    if (!this.started || this.closed) throw new Error('serving is not running');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await this.syncing;
    this.plane.clear();
    await Promise.all([...this.pools].map((pool) => this.endPool(pool, 'close')));
    await this.meter.stop();
    await this.predictionLog.stop();
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
    const key = endpointKey(p.tenantId, input.name);
    const hold = { tenant: p.tenantId, key, replicas: need };
    this.creating.add(hold);
    const now = nowIso();
    const row: EndpointsTable = {
      id: newId('ep'), tenant_id: p.tenantId, name: input.name, model_name: input.model, stage: stage ?? null,
      traffic: JSON.stringify(traffic), settings: JSON.stringify(settings), shadow: null, created_at: now, updated_at: now,
    };
    try {
      await this.db.transaction().execute(async (tx) => {
        await this.checkStoredRoom(tx, p.tenantId, { endpoints: 1, replicas: need }, quota);
        await tx.insertInto('endpoints').values(row).execute();
        await this.changes.changed(tx, 'endpoints');
      });
    } catch (err) {
      // A change heard while this create was storing skipped its name (see syncOnce): the other node's endpoint of that name is read now.
      void this.sync();
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

  /** Starts serving a stored endpoint (on start, or one another node created). */
  private adopt(row: EndpointsTable): void {
    const d = desiredState(row);
    const ep = new Endpoint(row, d.traffic, d.settings, d.shadow);
    this.plane.add(ep);
    void ep.serial(() => this.bringUp(ep));
  }

  /**
   * Brings this node in line with the endpoints' rows after a change (any node's): new rows are
   * adopted, and each endpoint served re-reads its own row in its turn (after changes this node
   * is making to it, so a row read before such a change never undoes it). Runs one at a time; a
   * change heard meanwhile runs it once more.
   */
  private sync(): Promise<void> {
    if (this.syncing) {
      this.resync = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.resync = false;
        try {
          await this.syncOnce();
        } catch (err) {
          this.logger.error({ err }, 'reading endpoint changes failed; the next change or poll retries');
        }
      } while (this.resync && !this.closed);
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const rows = await this.db.selectFrom('endpoints').selectAll().orderBy('created_at').execute();
    if (this.closed) return;
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const ep of [...this.plane.all()]) {
      const row = byId.get(ep.row.id);
      if (!row || !sameDesiredState(ep.row, row)) void ep.serial(() => this.follow(ep));
    }
    for (const row of rows) {
      const key = endpointKey(row.tenant_id, row.name);
      if ([...this.creating].some((c) => c.key === key)) continue; // this node is storing it right now
      const here = this.plane.lookup(row.tenant_id, row.name);
      if (here?.row.id === row.id) continue;
      // Deleted and made again under the same name: the old one leaves first.
      if (here) void here.serial(() => this.follow(here)).then(() => this.plane.lookup(row.tenant_id, row.name) ?? this.adopt(row));
      else this.adopt(row);
    }
  }

  /** One endpoint follows its row: stopped where it was deleted, switched where its traffic or settings changed. */
  private async follow(ep: Endpoint): Promise<void> {
    if (ep.deleted || this.closed) return;
    const row = await this.db.selectFrom('endpoints').selectAll().where('id', '=', ep.row.id).executeTakeFirst();
    if (!row) {
      this.logger.info({ endpoint: ep.row.name, tenant: ep.row.tenant_id }, 'endpoint deleted by another node');
      await this.stopServing(ep);
      return;
    }
    if (sameDesiredState(ep.row, row)) return;
    const d = desiredState(row);
    const settingsChanged = JSON.stringify(d.settings) !== JSON.stringify(ep.settings);
    try {
      await this.switchTo(ep, d, async () => row, settingsChanged);
      ep.reserved = reservation(d.settings, d.traffic, d.shadow);
    } catch (err) {
      // It keeps serving what it served; the node that made the change could load it, so this is this node's problem.
      ep.error = (err as Error).message;
      ep.event({ type: 'failed', message: `this node could not follow the change: ${ep.error}` });
      this.logger.error({ err, endpoint: ep.row.name, tenant: ep.row.tenant_id }, 'endpoint change from another node failed to load');
    }
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
      return;
    }
    // The shadow loads once the endpoint answers; if it cannot, the endpoint serves without one.
    const setting = ep.shadowSetting;
    if (!setting || ep.shadow) return;
    try {
      const shadow = this.shadowOf(ep, setting, await this.load(ep, setting.version));
      if (ep.deleted || ep.shadowSetting !== setting) {
        void this.endPool(shadow.served!.pool, 'close');
        return;
      }
      ep.shadow = shadow;
      ep.event({ type: 'shadow', version: setting.version, message: `shadow v${setting.version} gets ${setting.percent}% of requests` });
    } catch (err) {
      ep.shadowError = (err as Error).message;
      ep.event({ type: 'failed', version: setting.version, message: `the shadow could not be loaded, requests are not copied: ${ep.shadowError}` });
      this.logger.error({ err, endpoint: ep.row.name, tenant: ep.row.tenant_id }, 'endpoint shadow failed to load');
    }
  }

  /** The running shadow of `ep` on the candidate's own replicas. */
  private shadowOf(ep: Endpoint, setting: ShadowSetting, served: ServedVersion): Shadow {
    return new Shadow(setting, served, shadowTarget(served), this.metrics.shadowHooks(ep.row.tenant_id, ep.row.name, setting.version));
  }

  /**
   * The shadow an update asks for, checked: a version of the endpoint's model (404 naming it
   * otherwise), the share from 0 to 100, and versions that answer rows (language models do not).
   */
  private async checkShadow(ep: Endpoint, input: ShadowSetting | null, traffic: TrafficEntry[]): Promise<ShadowSetting | null> {
    const shadow = checkShadowSetting(input);
    if (!shadow) return null;
    for (const t of traffic) {
      const v = ep.served.get(t.version)?.version ?? await this.servable(ep.row.tenant_id, ep.row.model_name, t.version);
      refuseShadowOf(ep.row.name, v, 'serves');
    }
    refuseShadowOf(ep.row.name, await this.servable(ep.row.tenant_id, ep.row.model_name, shadow.version), 'candidate');
    return shadow;
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
    }, batchable && !lm, fixedInner && !lm, fixedInner && !lm ? zeroFeeds(sig) : undefined, lm ? undefined : spec, await this.registry.externalData(v),
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
      const shadow = await this.checkShadow(ep, input.shadow === undefined ? ep.shadowSetting : input.shadow, traffic);
      const held = ep.reserved;
      const need = reservation(settings, traffic, shadow);
      if (need > held) checkRoom(p.tenantId, { endpoints: 0, replicas: need - held }, this.use(p.tenantId), quota, this.use(), this.limits.maxReplicas);
      // While new versions load, the old ones still run: hold the larger of the two until the switch.
      ep.reserved = Math.max(held, need);
      const persist = () => this.db.transaction().execute(async (tx) => {
        if (need > held) await this.checkStoredRoom(tx, p.tenantId, { endpoints: 0, replicas: need }, quota, ep.row.id);
        const now = nowIso();
        const changed = { traffic: JSON.stringify(traffic), settings: JSON.stringify(settings), stage, shadow: shadow ? JSON.stringify(shadow) : null, updated_at: now };
        const done = await tx.updateTable('endpoints').set(changed).where('id', '=', ep.row.id).executeTakeFirst();
        if (Number(done.numUpdatedRows) === 0) throw NotFoundError.of('Endpoint', name); // deleted through another node meanwhile
        await this.changes.changed(tx, 'endpoints');
        return { ...ep.row, ...changed };
      });
      try {
        await this.switchTo(ep, { traffic, settings, stage, shadow }, persist, !!(input.replicas || input.batching || input.autoscaling || input.logging));
      } catch (err) {
        ep.reserved = held;
        throw err;
      }
      ep.reserved = need;
      return this.info(ep);
    });
  }

  /**
   * Serves `d`: versions entering the traffic are loaded and warm before any request is routed to
   * them, `persist` stores the change (or, for a change another node stored, hands its row), then
   * the routing switches in one synchronous step and versions leaving drain and close.
   */
  private async switchTo(ep: Endpoint, d: DesiredState, persist: () => Promise<EndpointsTable>, settingsEvent: boolean): Promise<void> {
    const added: ServedVersion[] = [];
    const previous = ep.status;
    const previousSettings = ep.settings;
    ep.status = previous === 'failed' ? 'loading' : 'updating';
    ep.settings = d.settings;
    // A new candidate (or one that could not be loaded before) gets replicas of its own, loaded before the switch too.
    let shadow: Shadow | undefined;
    try {
      for (const t of d.traffic) {
        if (ep.served.has(t.version) || added.some((a) => a.version.version === t.version)) continue;
        added.push(await this.load(ep, t.version));
      }
      if (d.shadow && ep.shadow?.setting.version !== d.shadow.version) shadow = this.shadowOf(ep, d.shadow, await this.load(ep, d.shadow.version));
      ep.row = await persist();
    } catch (err) {
      for (const a of added) void this.endPool(a.pool, 'close');
      if (shadow) {
        void this.endPool(shadow.served!.pool, 'close');
        this.metrics.forgetShadow(ep.row.tenant_id, ep.row.name, shadow.setting.version);
      }
      ep.status = previous;
      ep.settings = previousSettings;
      throw err;
    }
    // The switch: one synchronous step.
    for (const a of added) ep.served.set(a.version.version, a);
    const leaving = [...ep.served.values()].filter((s) => !d.traffic.some((t) => t.version === s.version.version));
    for (const s of leaving) ep.served.delete(s.version.version);
    const trafficChanged = JSON.stringify(d.traffic) !== JSON.stringify(ep.traffic);
    ep.traffic = d.traffic;
    ep.setRouting(d.traffic);
    const shadowChanged = JSON.stringify(d.shadow) !== JSON.stringify(ep.shadowSetting);
    const leavingShadow = ep.shadow && (!d.shadow || shadow) ? ep.shadow : undefined;
    if (shadow) ep.shadow = shadow;
    else if (!d.shadow) ep.shadow = undefined;
    else if (ep.shadow && ep.shadow.setting.percent !== d.shadow.percent) ep.shadow.setPercent(d.shadow.percent);
    ep.shadowSetting = d.shadow;
    ep.shadowError = null;
    for (const s of ep.served.values()) s.pool.update(d.settings);
    ep.shadow?.served?.pool.update(d.settings);
    ep.status = 'ready';
    ep.error = null;
    if (trafficChanged) ep.event({ type: 'traffic', message: `traffic ${describeTraffic(d.traffic)}` });
    if (shadowChanged) {
      ep.event(d.shadow
        ? { type: 'shadow', version: d.shadow.version, message: `shadow v${d.shadow.version} gets ${d.shadow.percent}% of requests` }
        : { type: 'shadow', message: 'shadow removed' });
    }
    if (leavingShadow) {
      // Only the leaving candidate's series: a new one (another version) has its own already.
      this.metrics.forgetShadow(ep.row.tenant_id, ep.row.name, leavingShadow.setting.version);
      void this.endPool(leavingShadow.served!.pool, 'drain');
    }
    if (settingsEvent) ep.event({ type: 'settings', message: 'replicas, batching, autoscaling or logging changed' });
    // Versions leaving the traffic finish what they hold, then release their replicas:
    // briefly over the reservation, never by more than they held.
    for (const s of leaving) void this.endPool(s.pool, 'drain');
  }

  async delete(p: Principal, name: string): Promise<{ id: string; name: string; deleted: true }> {
    const ep = this.plane.find(p, name);
    return ep.serial(async () => {
      if (ep.deleted) throw NotFoundError.of('Endpoint', name);
      await this.db.transaction().execute(async (tx) => {
        await tx.deleteFrom('endpoints').where('id', '=', ep.row.id).execute();
        await this.changes.changed(tx, 'endpoints');
      });
      await this.stopServing(ep);
      return { id: ep.row.id, name: ep.row.name, deleted: true as const };
    });
  }

  /** Requests already queued are answered; new ones find no endpoint. */
  private async stopServing(ep: Endpoint): Promise<void> {
    ep.deleted = true;
    this.plane.remove(ep);
    await this.predictionLog.discard(ep.row.id);
    const pools = [...ep.served.values(), ...(ep.shadow?.served ? [ep.shadow.served] : [])];
    ep.served.clear();
    ep.shadow = undefined;
    ep.setRouting([]);
    await Promise.all(pools.map((s) => this.endPool(s.pool, 'drain')));
    this.metrics.forget(ep.row.tenant_id, ep.row.name);
  }

  /**
   * The quota check against the stored endpoints of every node, in the transaction that stores
   * the change: the tenant's row is locked first (PostgreSQL; SQLite's write transaction already
   * excludes other writers), so changes of one tenant's endpoints through different nodes are
   * checked one after another. `except`: the endpoint being changed (its room is in `add`).
   */
  private async checkStoredRoom(tx: Db, tenantId: string, add: ServingUse, quota: ServingQuota, except?: string): Promise<void> {
    if (isPostgres(tx)) await tx.selectFrom('tenants').select('id').where('id', '=', tenantId).forUpdate().execute();
    const rows = await tx.selectFrom('endpoints').select(['id', 'tenant_id', 'traffic', 'settings', 'shadow']).execute();
    const tenant = { endpoints: 0, replicas: 0 };
    const server = { endpoints: 0, replicas: 0 };
    for (const r of rows) {
      const d = desiredState(r);
      const held = r.id === except ? 0 : reservation(d.settings, d.traffic, d.shadow);
      server.endpoints++;
      server.replicas += held;
      if (r.tenant_id !== tenantId) continue;
      tenant.endpoints++;
      tenant.replicas += held;
    }
    checkRoom(tenantId, add, tenant, quota, server, this.limits.maxReplicas);
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

  /** The endpoint's logged predictions (GET /v1/endpoints/{name}/predictions), newest first. */
  predictions(p: Principal, name: string, q: PredictionQuery): Promise<{ data: LoggedPrediction[]; next: string | null }> {
    return this.predictionLog.list(this.plane.find(p, name), q);
  }

  /** Every endpoint's request counters on this node (alerts publish them for latency, errors and requests/s). */
  trafficTotals(): Array<{ tenant: string; endpoint: string; totals: RequestTotals }> {
    return this.metrics.allTotals();
  }

  /** The names of a tenant's endpoints (alerts without an endpoint watch all of them). */
  endpointNames(tenantId: string): string[] {
    return [...this.plane.all()].filter((ep) => ep.row.tenant_id === tenantId).map((ep) => ep.row.name);
  }

  /** Drift of a tenant's endpoint without a caller (the alerts evaluator); 404 when there is none. */
  driftOf(tenantId: string, name: string, q: DriftQuery): Promise<DriftReport> {
    const ep = this.plane.lookup(tenantId, name);
    if (!ep) throw NotFoundError.of('Endpoint', name);
    return endpointDrift(ep, q, this.predictionLog, this.registry);
  }

  /** Drift of the endpoint's logged rows in a window from the served version's training rows (GET …/drift). */
  drift(p: Principal, name: string, q: DriftQuery): Promise<DriftReport> {
    return endpointDrift(this.plane.find(p, name), q, this.predictionLog, this.registry);
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
      batching: ep.settings.batching, autoscaling: ep.settings.autoscaling, logging: ep.settings.logging, shadow: shadowInfo(ep), versions, events: [...ep.events],
      urls: { predict: `/v1/endpoints/${name}/predict`, infer: `/v2/models/${name}/infer` },
      createdAt: ep.row.created_at, updatedAt: ep.row.updated_at,
    };
  }
}

/** What an endpoint's row asks for. */
interface DesiredState {
  traffic: TrafficEntry[];
  settings: EndpointSettings;
  stage: string | null;
  shadow: ShadowSetting | null;
}

function desiredState(row: Pick<EndpointsTable, 'traffic' | 'settings'> & Partial<Pick<EndpointsTable, 'stage' | 'shadow'>>): DesiredState {
  return {
    traffic: JSON.parse(row.traffic) as TrafficEntry[],
    settings: settingsFrom(JSON.parse(row.settings) as EndpointSettingsInput),
    stage: row.stage ?? null,
    shadow: row.shadow ? JSON.parse(row.shadow) as ShadowSetting : null,
  };
}

function sameDesiredState(a: EndpointsTable, b: EndpointsTable): boolean {
  return a.traffic === b.traffic && a.settings === b.settings && a.stage === b.stage && (a.shadow ?? null) === (b.shadow ?? null);
}

/** The shadow's figures; before its candidate runs (loading, or it could not be loaded), the setting with none. */
function shadowInfo(ep: Endpoint): EndpointInfo['shadow'] {
  if (ep.shadow) return ep.shadow.info();
  const s = ep.shadowSetting;
  if (!s) return null;
  return { ...s, requests: 0, dropped: 0, errors: 0, rows: 0, agreement: null, p50LatencyMs: null, lastError: ep.shadowError, replicas: 0, ready: 0 };
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
