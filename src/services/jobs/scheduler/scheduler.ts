/**
 * The scheduler loop: takes a snapshot of nodes, running and queued jobs, quotas and usage from
 * the store; plans a round (./plan.ts); applies it (claims jobs onto nodes, flags preemptions,
 * records why the others wait); and requeues running jobs whose heartbeat stopped (their worker or
 * node died). It ticks when woken (a job submitted or ended) and at least every `intervalMs`.
 *
 * With SQLite the server's own scheduler is the only one. With PostgreSQL every API node runs one
 * and they plan concurrently, each from its own snapshot: nothing serialises whole rounds.
 * Correctness lives in the claim (JobStore.claim): compare-and-set on the job row everywhere, and
 * on PostgreSQL the row leased with FOR UPDATE SKIP LOCKED and the node's capacity re-checked
 * under its row lock, so a job never starts twice and a node is never overcommitted.
 */
import type { Db } from '../../../infra/store/database.js';
import type { Logger } from '../../../infra/logger.js';
import type { SchedulerConfig } from '../../../infra/config.js';
import type { JobsTable } from '../../../infra/store/tables-jobs.js';
import type { JobStore } from '../job-store.js';
import type { Resources } from '../job-type.js';
import { add, ZERO } from './fair-share.js';
import { plan, type NodeInfo, type Plan, type QueuedInfo, type RunningInfo } from './plan.js';
import { monthStart, type Quota, type QuotaService } from './quotas.js';

export interface SchedulerOptions {
  db: Db;
  store: JobStore;
  quotas: QuotaService;
  logger: Logger;
  config: SchedulerConfig;
  /** A job was claimed for a node: start it there (the embedded node agent). */
  onStart(job: JobsTable): void;
  /** A running job was flagged for preemption or is being handed to its node's agent. */
  onPreempt(jobId: string, nodeId: string): void;
  intervalMs?: number;
}

export interface NodeView {
  id: string;
  hostname: string;
  kind: string;
  cpu: number;
  memoryMb: number;
  gpus: number;
  alive: boolean;
  heartbeatAt: string;
  allocated: Resources & { jobs: number };
}

export interface TenantView {
  tenant: string;
  share: number;
  usage: Resources & { jobs: number };
  queued: number;
}

/** What the last tick saw (for /v1/cluster and the Prometheus gauges). */
export interface ClusterSnapshot {
  at: string;
  nodes: NodeView[];
  queue: { queued: number; running: number };
  tenants: TenantView[];
  capacity: Resources;
  /** Seconds the last tick took, and jobs it started. */
  tickSeconds: number;
  started: number;
}

/** The oldest queued jobs a round considers (a deeper queue is reached as these start). */
const QUEUE_WINDOW = 10_000;

type QueuedRow = Pick<JobsTable, 'id' | 'tenant_id' | 'priority' | 'cpu' | 'memory_mb' | 'gpu' | 'created_at' | 'not_before' | 'queue_reason' | 'cancel_requested'>;

export class Scheduler {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private again = false;
  private stopped = true;
  private wakeTimer?: NodeJS.Timeout;
  lastTickAt = 0;
  lastError?: Error;
  snapshot?: ClusterSnapshot;
  /** Totals for the benchmark: time spent planning+applying, and jobs started. */
  readonly stats = { ticks: 0, tickSeconds: 0, started: 0 };

  constructor(private readonly o: SchedulerOptions) {}

  start(): void {
    this.stopped = false;
    const every = this.o.intervalMs ?? Math.max(100, Math.min(1000, this.o.config.heartbeatSeconds * 500));
    this.timer = setInterval(() => this.wake(), every);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.wakeTimer);
    await this.ticking;
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Asks for a tick soon; many wake-ups coalesce into one. */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.wakeTimer ??= setTimeout(() => {
      this.wakeTimer = undefined;
      void this.tick();
    }, 0);
  }

  /** One round; resolves when it (and any round asked for meanwhile) is done. */
  tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        try {
          await this.round();
          this.lastError = undefined;
        } catch (err) {
          this.lastError = err as Error;
          this.o.logger.error({ err }, 'scheduler round failed');
        }
        this.lastTickAt = Date.now();
      } while (this.again && !this.stopped);
      this.ticking = undefined;
    })();
    return this.ticking;
  }

  private async round(): Promise<void> {
    const t0 = performance.now();
    const now = Date.now();
    const db = this.o.db;
    const leaseMs = this.o.config.leaseSeconds * 1000;
    // Nodes silent for an hour are forgotten (a worker restarted under a new id leaves its old one behind).
    await db.deleteFrom('nodes').where('heartbeat_at', '<', new Date(now - Math.max(3600_000, 10 * leaseMs)).toISOString()).execute();
    const nodeRows = await db.selectFrom('nodes').selectAll().execute();
    const alive = nodeRows.filter((n) => now - Date.parse(n.heartbeat_at) <= leaseMs);
    const runningRows = await db.selectFrom('jobs').selectAll().where('status', '=', 'running').execute();

    // Runs whose heartbeat stopped: their worker or node died. Back to the queue, to resume.
    // Slurm's runs are Slurm's to restart (it requeues a batch job whose node failed): the Slurm executor reconciles them.
    const slurmNodes = new Set(nodeRows.filter((n) => n.kind === 'slurm').map((n) => n.id));
    const live: JobsTable[] = [];
    for (const r of runningRows) {
      if (r.heartbeat_at && now - Date.parse(r.heartbeat_at) > leaseMs && !slurmNodes.has(r.node_id ?? '')) {
        const ok = await this.o.store.endRun(r.id, r.attempt, {
          status: 'queued', attemptOutcome: 'lost', error: `node ${r.node_id} stopped sending heartbeats`,
          queueReason: `its node ${r.node_id} stopped sending heartbeats; resumes from its last checkpoint`,
        });
        if (ok) this.o.logger.warn({ job: r.id, node: r.node_id }, 'requeued a job whose heartbeat stopped');
      } else {
        live.push(r);
      }
    }

    const queuedRows: QueuedRow[] = await db.selectFrom('jobs')
      .select(['id', 'tenant_id', 'priority', 'cpu', 'memory_mb', 'gpu', 'created_at', 'not_before', 'queue_reason', 'cancel_requested'])
      .where('status', '=', 'queued').orderBy('created_at').limit(QUEUE_WINDOW).execute();
    const quotas = await this.o.quotas.all();
    const monthUsed = await this.monthUsed(quotas, live, now);

    const nodes: NodeInfo[] = alive.map((n) => ({ id: n.id, capacity: { cpu: n.cpu, memoryMb: n.memory_mb, gpu: n.gpus } }));
    const running: RunningInfo[] = live.map((r) => ({
      id: r.id, tenantId: r.tenant_id, nodeId: r.node_id ?? '', priority: r.priority, attempt: r.attempt,
      resources: { cpu: r.cpu, memoryMb: r.memory_mb, gpu: r.gpu }, gpuIds: r.gpu_ids ? (JSON.parse(r.gpu_ids) as number[]) : [],
      startedAt: Date.parse(r.run_started_at ?? r.created_at), preemptFor: r.preempt_for,
    }));
    const queued: QueuedInfo[] = queuedRows.filter((q) => !q.cancel_requested).map((q) => ({
      id: q.id, tenantId: q.tenant_id, priority: q.priority, resources: { cpu: q.cpu, memoryMb: q.memory_mb, gpu: q.gpu },
      createdAt: Date.parse(q.created_at), notBefore: q.not_before ? Date.parse(q.not_before) : null,
    }));
    const p = plan({ now, nodes, running, queued, quotas, monthUsed, agingSeconds: this.o.config.agingSeconds });
    const started = await this.apply(p, queuedRows);
    const tickSeconds = (performance.now() - t0) / 1000;
    this.stats.ticks += 1;
    this.stats.tickSeconds += tickSeconds;
    this.stats.started += started.length;
    const startedIds = new Set(started.map((j) => j.id));
    this.snapshot = this.view(nodeRows, alive, [...live, ...started], queuedRows.filter((q) => !startedIds.has(q.id)), p, now, tickSeconds, started.length);
  }

  private async apply(p: Plan, queuedRows: QueuedRow[]): Promise<JobsTable[]> {
    const started: JobsTable[] = [];
    const startedIds = new Set<string>();
    for (const s of p.starts) {
      if (this.stopped) break;
      const claimed = await this.o.store.claim(s.jobId, s.nodeId, s.gpuIds);
      if (!claimed) continue;
      started.push(claimed.job);
      startedIds.add(claimed.job.id);
      try {
        this.o.onStart(claimed.job);
      } catch (err) {
        this.o.logger.error({ err, job: s.jobId }, 'handing a job to its node failed');
      }
    }
    for (const pr of p.preemptions) {
      if (await this.o.store.requestPreempt(pr.jobId, pr.attempt, pr.forJob)) {
        this.o.logger.info({ job: pr.jobId, for: pr.forJob }, 'preempting');
        this.o.onPreempt(pr.jobId, pr.nodeId);
      }
    }
    const current = new Map(queuedRows.map((q) => [q.id, q.queue_reason]));
    const reasons = new Map([...p.reasons].filter(([id]) => !startedIds.has(id)));
    await this.o.store.setQueueReasons(reasons, current);
    return started;
  }

  /** CPU-seconds used this month by tenants that have a monthly quota (finished runs + running ones so far). */
  private async monthUsed(quotas: Map<string, Quota>, running: JobsTable[], now: number): Promise<Map<string, number>> {
    const tenants = [...quotas].filter(([, q]) => q.monthlyCpuSeconds !== null).map(([t]) => t);
    const used = new Map<string, number>();
    if (!tenants.length) return used;
    const from = monthStart(new Date(now)).toISOString();
    const rows = await this.o.db.selectFrom('usage_events').select(['tenant_id', (eb) => eb.fn.sum<number>('cpu_seconds').as('s')])
      .where('tenant_id', 'in', tenants).where('at', '>=', from).groupBy('tenant_id').execute();
    for (const r of rows) used.set(r.tenant_id, Number(r.s ?? 0));
    for (const r of running) {
      if (!tenants.includes(r.tenant_id)) continue;
      const since = Math.max(Date.parse(r.run_started_at ?? r.created_at), Date.parse(from));
      used.set(r.tenant_id, (used.get(r.tenant_id) ?? 0) + (r.cpu * Math.max(0, now - since)) / 1000);
    }
    return used;
  }

  private view(nodeRows: { id: string; hostname: string; kind: string; cpu: number; memory_mb: number; gpus: number; heartbeat_at: string }[],
    alive: { id: string }[], running: JobsTable[], queued: QueuedRow[], p: Plan, now: number, tickSeconds: number, started: number): ClusterSnapshot {
    const aliveIds = new Set(alive.map((n) => n.id));
    const perNode = new Map<string, Resources & { jobs: number }>();
    const perTenant = new Map<string, Resources & { jobs: number }>();
    for (const r of running) {
      const res = { cpu: r.cpu, memoryMb: r.memory_mb, gpu: r.gpu };
      const n = perNode.get(r.node_id ?? '') ?? { ...ZERO, jobs: 0 };
      perNode.set(r.node_id ?? '', { ...add(n, res), jobs: n.jobs + 1 });
      const t = perTenant.get(r.tenant_id) ?? { ...ZERO, jobs: 0 };
      perTenant.set(r.tenant_id, { ...add(t, res), jobs: t.jobs + 1 });
    }
    const queuedBy = new Map<string, number>();
    for (const q of queued) queuedBy.set(q.tenant_id, (queuedBy.get(q.tenant_id) ?? 0) + 1);
    const capacity = nodeRows.filter((n) => aliveIds.has(n.id)).reduce((a, n) => add(a, { cpu: n.cpu, memoryMb: n.memory_mb, gpu: n.gpus }), ZERO);
    const tenants = new Set([...perTenant.keys(), ...queuedBy.keys()]);
    return {
      at: new Date(now).toISOString(),
      nodes: nodeRows.map((n) => ({
        id: n.id, hostname: n.hostname, kind: n.kind, cpu: n.cpu, memoryMb: n.memory_mb, gpus: n.gpus, alive: aliveIds.has(n.id),
        heartbeatAt: n.heartbeat_at, allocated: perNode.get(n.id) ?? { ...ZERO, jobs: 0 },
      })),
      queue: { queued: queued.length, running: running.length },
      tenants: [...tenants].sort().map((t) => ({
        tenant: t, share: round(p.shares.get(t) ?? 0), usage: perTenant.get(t) ?? { ...ZERO, jobs: 0 }, queued: queuedBy.get(t) ?? 0,
      })),
      capacity, tickSeconds, started,
    };
  }
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
