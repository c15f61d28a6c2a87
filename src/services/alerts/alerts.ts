/**
 * Alerts: rules on an endpoint's drift, p99 latency, error rate or requests/s, evaluated in the
 * background every `intervalMs` by the API node that holds each alert's lease (several nodes on
 * one PostgreSQL evaluate an alert once: the lease is taken and renewed by one conditional
 * UPDATE, and every write of an evaluation is fenced by it). A change of state (ok ⇄ firing) is
 * appended to the alert's history and queued as a webhook delivery in the same transaction; the
 * owner sends due deliveries off the evaluation path, a bounded number at once, each with a
 * timeout, retried with exponential backoff (./webhooks.ts).
 *
 * Values: `drift` is the largest feature PSI over the window (serving/drift.ts); the others come
 * from the request counters of every API node, which each node publishes to the store at every
 * pass and the owner sums over the window (./traffic-window.ts). No data in the window (no logged
 * rows; no requests, for latency and error rate) gives the value null, and the alert is then ok.
 *
 * Times come from the injected clock (evaluations, windows, leases, retry schedule), so tests
 * step through time without sleeping.
 */
import { ConflictError, InvalidInputError, NotFoundError } from '../../infra/errors.js';
import { newId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { isUniqueViolation } from '../../infra/store/database.js';
import type { AlertDeliveriesTable, AlertsTable } from '../../infra/store/tables-alerts.js';
import type { AlertDeliveryView, AlertMetric, AlertOp, AlertState, AlertView, CreateAlertBody } from '../../api/schemas-alerts.js';
import type { Principal } from '../principal.js';
import type { DriftQuery, DriftReport } from '../serving/drift.js';
import { EndpointTraffic, histogramQuantileMs, type TrafficTotals } from './traffic-window.js';
import { DEFAULT_WEBHOOK_POLICY, postWebhook, retryDelayMs, webhookUrlProblem, type WebhookPolicy } from './webhooks.js';

const HISTORY = 100;
const DELIVERIES_SHOWN = 50;

/** Where values come from: the serving service (ServingService implements it). */
export interface AlertSources {
  endpointNames(tenantId: string): string[];
  /** This node's counters of every endpoint, published at each pass. */
  trafficTotals: TrafficTotals;
  driftOf(tenantId: string, name: string, q: DriftQuery): Promise<DriftReport>;
}

export interface AlertServiceOptions {
  db: Db;
  serving: AlertSources;
  logger: Logger;
  /** This API node (owner of the alerts it evaluates). */
  nodeId: string;
  intervalMs: number;
  /** How long a lease lasts without renewal (another node takes the alert over after it). */
  leaseMs: number;
  clock?: () => number;
  webhook?: Partial<WebhookPolicy>;
}

interface Evaluation {
  value: number | null;
  message: string | null;
}

export class AlertService {
  private readonly clock: () => number;
  private readonly policy: WebhookPolicy;
  private readonly traffic: EndpointTraffic;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();
  private readonly sending = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly o: AlertServiceOptions) {
    this.clock = o.clock ?? Date.now;
    this.policy = { ...DEFAULT_WEBHOOK_POLICY, ...o.webhook };
    this.traffic = new EndpointTraffic(o.db, o.logger, () => o.serving.trafficTotals(), this.clock);
  }

  start(): void {
    this.timer = setInterval(() => { void this.tick(); }, this.o.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  /** Stops evaluating, publishes this node's last traffic and hands its leases back (another node takes over at its next pass). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pass;
    await this.traffic.publish().catch((err: unknown) => this.o.logger.warn({ err }, "publishing this node's last traffic failed"));
    await Promise.allSettled(this.sending.values());
    await this.o.db.updateTable('alerts').set({ owner_node: null, lease_until: null }).where('owner_node', '=', this.o.nodeId).execute().catch(() => undefined);
  }

  /** One pass (serialized with the timer's): publish this node's traffic, take or renew leases, evaluate what this node owns, start due deliveries. */
  tick(): Promise<void> {
    this.pass = this.pass.then(async () => {
      if (this.stopped) return;
      try {
        await this.traffic.publish();
        const owned = await this.claim();
        await this.evaluate(owned);
        await this.deliverDue();
      } catch (err) {
        this.o.logger.warn({ err }, 'an alerts pass failed; the next one retries');
      }
    });
    return this.pass;
  }

  // ---- the API ----

  async create(p: Principal, body: CreateAlertBody): Promise<AlertView> {
    const problem = webhookUrlProblem(body.webhook.url, this.policy.privateAddresses);
    if (problem) throw new InvalidInputError('invalid_webhook_url', `webhook.url: ${problem}.`, { field: 'webhook.url' });
    if (!Number.isFinite(body.threshold)) throw new InvalidInputError('invalid_threshold', 'threshold must be a finite number.', { field: 'threshold' });
    if (body.metric === 'errorRate' && (body.threshold < 0 || body.threshold > 1)) {
      throw new InvalidInputError('invalid_threshold', `threshold ${body.threshold}: errorRate is a share of requests, between 0 and 1 (e.g. 0.05 for 5%).`, { field: 'threshold' });
    }
    if (body.endpoint !== undefined && !this.o.serving.endpointNames(p.tenantId).includes(body.endpoint)) {
      throw new InvalidInputError('unknown_endpoint', `endpoint: your tenant has no endpoint '${body.endpoint}'; create it first (POST /v1/endpoints) or leave endpoint out to watch all of them.`, { field: 'endpoint' });
    }
    const now = new Date(this.clock()).toISOString();
    const row: AlertsTable = {
      id: newId('alr'), tenant_id: p.tenantId, name: body.name, endpoint: body.endpoint ?? null, metric: body.metric, op: body.op,
      threshold: body.threshold, window_seconds: body.windowSeconds, webhook_url: body.webhook.url, webhook_secret: body.webhook.secret,
      state: 'ok', state_since: now, value: null, message: 'not evaluated yet', evaluated_at: null, history: '[]',
      owner_node: null, lease_until: null, created_at: now,
    };
    try {
      await this.o.db.insertInto('alerts').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('name_taken', `An alert named '${body.name}' already exists in your tenant; choose another name or delete it first.`, { name: body.name });
      throw err;
    }
    void this.tick();
    return view(row);
  }

  async list(p: Principal): Promise<AlertView[]> {
    const rows = await this.o.db.selectFrom('alerts').selectAll().where('tenant_id', '=', p.tenantId).orderBy('name').execute();
    return rows.map((r) => view(r));
  }

  async get(p: Principal, id: string): Promise<AlertView> {
    const row = await this.find(p, id);
    const deliveries = await this.o.db.selectFrom('alert_deliveries').selectAll().where('alert_id', '=', row.id)
      .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(DELIVERIES_SHOWN).execute();
    return view(row, deliveries);
  }

  /** Deletes the alert and its deliveries (pending retries are dropped). */
  async delete(p: Principal, id: string): Promise<AlertView> {
    const row = await this.find(p, id);
    await this.o.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('alert_deliveries').where('alert_id', '=', row.id).execute();
      await tx.deleteFrom('alerts').where('id', '=', row.id).execute();
    });
    return view(row);
  }

  private async find(p: Principal, id: string): Promise<AlertsTable> {
    const row = await this.o.db.selectFrom('alerts').selectAll().where('id', '=', id).where('tenant_id', '=', p.tenantId).executeTakeFirst();
    if (!row) throw NotFoundError.of('Alert', id);
    return row;
  }

  // ---- evaluation ----

  /** Takes the alerts without a live lease and renews this node's; returns what this node owns. */
  async claim(): Promise<AlertsTable[]> {
    const now = this.clock();
    const nowIso = new Date(now).toISOString();
    const until = new Date(now + this.o.leaseMs).toISOString();
    await this.o.db.updateTable('alerts').set({ owner_node: this.o.nodeId, lease_until: until })
      .where((eb) => eb.or([eb('owner_node', '=', this.o.nodeId), eb('owner_node', 'is', null), eb('lease_until', '<', nowIso)]))
      .execute();
    return this.o.db.selectFrom('alerts').selectAll().where('owner_node', '=', this.o.nodeId).execute();
  }

  private async evaluate(owned: AlertsTable[]): Promise<void> {
    const now = this.clock();
    for (const a of owned) {
      let e: Evaluation;
      try {
        e = a.metric === 'drift' ? await this.driftValue(a, now) : await this.trafficValue(a);
      } catch (err) {
        e = { value: null, message: (err as Error).message };
      }
      await this.record(a, e, now);
    }
  }

  private watched(a: AlertsTable): string[] {
    return a.endpoint !== null ? [a.endpoint] : this.o.serving.endpointNames(a.tenant_id);
  }

  private async driftValue(a: AlertsTable, now: number): Promise<Evaluation> {
    let best: number | null = null;
    const notes: string[] = [];
    for (const name of this.watched(a)) {
      try {
        const r = await this.o.serving.driftOf(a.tenant_id, name, { windowSeconds: a.window_seconds, at: now });
        if (r.rows === 0) notes.push(`${name}: ${r.message ?? 'no logged rows in the window'}`);
        for (const f of r.features) best = best === null ? f.psi : Math.max(best, f.psi);
      } catch (err) {
        notes.push(`${name}: ${(err as Error).message}`);
      }
    }
    if (this.watched(a).length === 0) notes.push('the tenant has no endpoints');
    return { value: best, message: best === null ? notes.join(' ') || 'no data' : null };
  }

  private async trafficValue(a: AlertsTable): Promise<Evaluation> {
    const names = this.watched(a);
    if (names.length === 0) return { value: null, message: 'the tenant has no endpoints' };
    const figures = await this.traffic.window(a.tenant_id, names, a.window_seconds * 1000);
    const metric = a.metric as AlertMetric;
    if (metric === 'requestsPerSecond') return { value: figures.requests / figures.seconds, message: null };
    if (figures.requests === 0) return { value: null, message: `no requests in the last ${figures.seconds} seconds` };
    if (metric === 'errorRate') return { value: figures.errors / figures.requests, message: null };
    return { value: histogramQuantileMs(figures.latencyCounts, 0.99) ?? null, message: null };
  }

  /** Writes an evaluation; a change of state adds a history entry and a delivery (all fenced by the lease). */
  private async record(a: AlertsTable, e: Evaluation, now: number): Promise<void> {
    const at = new Date(now).toISOString();
    const firing = e.value !== null && compare(e.value, a.op as AlertOp, a.threshold);
    const state: AlertState = firing ? 'firing' : 'ok';
    await this.o.db.transaction().execute(async (tx) => {
      const cur = await tx.selectFrom('alerts').select(['state', 'history', 'owner_node']).where('id', '=', a.id).executeTakeFirst();
      if (!cur || cur.owner_node !== this.o.nodeId) return;
      const set: Partial<AlertsTable> = { value: e.value, message: e.message, evaluated_at: at };
      if (cur.state !== state) {
        const history = [...(JSON.parse(cur.history) as unknown[]), { at, state, value: e.value }].slice(-HISTORY);
        Object.assign(set, { state, state_since: at, history: JSON.stringify(history) });
        const id = newId('dlv');
        const body = JSON.stringify({
          delivery: id, at, state, previousState: cur.state, value: e.value, message: e.message,
          alert: { id: a.id, name: a.name, endpoint: a.endpoint, metric: a.metric, op: a.op, threshold: a.threshold, windowSeconds: a.window_seconds },
        });
        await tx.insertInto('alert_deliveries').values({
          id, alert_id: a.id, tenant_id: a.tenant_id, state, body, attempts: 0, last_status: null, last_error: null,
          last_attempt_at: null, next_attempt_at: at, delivered_at: null, failed_at: null, created_at: at,
        }).execute();
      }
      const res = await tx.updateTable('alerts').set(set).where('id', '=', a.id).where('owner_node', '=', this.o.nodeId).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw new Error('lease lost');
    }).catch((err: Error) => {
      if (err.message !== 'lease lost') throw err;
    });
  }

  // ---- deliveries ----

  /** Starts the due deliveries of this node's alerts, as many as free slots allow; does not wait for them. */
  private async deliverDue(): Promise<void> {
    const free = this.policy.concurrency - this.sending.size;
    if (free <= 0) return;
    const now = this.clock();
    const nowIso = new Date(now).toISOString();
    const due = await this.o.db.selectFrom('alert_deliveries as d').innerJoin('alerts as a', 'a.id', 'd.alert_id')
      .select(['d.id', 'd.body', 'd.attempts', 'd.next_attempt_at', 'a.webhook_url', 'a.webhook_secret'])
      .where('a.owner_node', '=', this.o.nodeId).where('d.next_attempt_at', '<=', nowIso)
      .orderBy('d.next_attempt_at').limit(free + this.sending.size).execute();
    for (const d of due) {
      if (this.sending.size >= this.policy.concurrency) break;
      if (this.sending.has(d.id)) continue;
      // Claim it: push its next attempt past this one's timeout, only if no one else moved it.
      const hold = new Date(now + this.policy.timeoutMs * 2).toISOString();
      const res = await this.o.db.updateTable('alert_deliveries').set({ next_attempt_at: hold })
        .where('id', '=', d.id).where('next_attempt_at', '=', d.next_attempt_at).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue;
      this.sending.set(d.id, this.attempt(d.id, d.webhook_url, d.webhook_secret, d.body, d.attempts).finally(() => this.sending.delete(d.id)));
    }
  }

  private async attempt(id: string, url: string, secret: string, body: string, before: number): Promise<void> {
    const outcome = await postWebhook(url, secret, id, body, this.policy);
    const now = this.clock();
    const at = new Date(now).toISOString();
    const attempts = before + 1;
    const set: Partial<AlertDeliveriesTable> = { attempts, last_status: outcome.status, last_error: outcome.error, last_attempt_at: at };
    if (outcome.ok) Object.assign(set, { delivered_at: at, next_attempt_at: null });
    else if (attempts >= this.policy.maxAttempts) Object.assign(set, { failed_at: at, next_attempt_at: null });
    else set.next_attempt_at = new Date(now + retryDelayMs(this.policy, attempts)).toISOString();
    try {
      await this.o.db.updateTable('alert_deliveries').set(set).where('id', '=', id).execute();
    } catch (err) {
      this.o.logger.warn({ err, delivery: id }, 'recording a webhook attempt failed; it is tried again when its hold ends');
    }
  }

  /** Deliveries being sent by this node now. */
  inFlight(): number {
    return this.sending.size;
  }
}

function compare(v: number, op: AlertOp, t: number): boolean {
  switch (op) {
    case '>': return v > t;
    case '>=': return v >= t;
    case '<': return v < t;
    case '<=': return v <= t;
  }
}

function view(r: AlertsTable, deliveries?: AlertDeliveriesTable[]): AlertView {
  return {
    id: r.id, name: r.name, endpoint: r.endpoint, metric: r.metric as AlertMetric, op: r.op as AlertOp, threshold: r.threshold,
    windowSeconds: r.window_seconds, webhook: { url: r.webhook_url, hasSecret: r.webhook_secret.length > 0 },
    state: r.state as AlertState, stateSince: r.state_since, value: r.value, message: r.message, evaluatedAt: r.evaluated_at,
    history: JSON.parse(r.history) as AlertView['history'], createdAt: r.created_at,
    ...(deliveries ? { deliveries: deliveries.map(deliveryView) } : {}),
  };
}

function deliveryView(d: AlertDeliveriesTable): AlertDeliveryView {
  return {
    id: d.id, state: d.state as AlertState, attempts: d.attempts, lastStatus: d.last_status, lastError: d.last_error,
    lastAttemptAt: d.last_attempt_at, nextAttemptAt: d.next_attempt_at, deliveredAt: d.delivered_at, failedAt: d.failed_at, createdAt: d.created_at,
  };
}
