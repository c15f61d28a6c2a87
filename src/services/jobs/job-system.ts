/**
 * The job system as one object the composition root builds and owns: the job-type registry, the
 * job store and service, quotas, metering, the scheduler and this machine's node agent, and the
 * Prometheus gauges of the cluster. `start()` after construction, `close()` on shutdown.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { newId } from '../../infra/ids.js';
import type { BlobRefs } from '../blob-refs.js';
import { isAdmin, type Principal } from '../principal.js';
import { builtinJobTypes } from './builtin/index.js';
import { JobTypeRegistry, type Resources } from './job-type.js';
import { JobStore } from './job-store.js';
import { JobService } from './jobs-service.js';
import { Metering } from './metering.js';
import { NodeAgent } from './node-agent.js';
import { ApiNodes, type ApiNodeView } from './api-nodes.js';
import type { Executor } from './executor.js';
import { SlurmExecutor, type SlurmNodeView } from './slurm/slurm-executor.js';
import { QuotaService, type Quota } from './scheduler/quotas.js';
import { Scheduler, type ClusterSnapshot, type NodeView } from './scheduler/scheduler.js';
import { ZERO } from './scheduler/fair-share.js';

export interface JobSystemOptions<P> {
  db: Db;
  refs: BlobRefs;
  config: Config;
  logger: Logger;
  metrics: Registry;
  /** The worker process entry (dist/src/interfaces/job-process.js). */
  workerEntry: string;
  /** The Slurm batch job's program (dist/src/interfaces/slurm-job.js), for AIAAS_EXECUTOR=slurm. */
  slurmBatchEntry: string;
  /** The composition root, handed to job types' validate(). */
  platform(): P;
}

export interface ClusterView {
  nodes: NodeView[];
  queue: { queued: number; running: number };
  capacity: Resources;
  tenants: { tenant: string; name: string; share: number; usage: Resources & { jobs: number }; queued: number; quota: Quota }[];
  at: string;
  executor: Executor['kind'];
  /** The API nodes on this store (AIAAS_NODE_NAME), the one that answered marked `self`. */
  apiNodes: ApiNodeView[];
  /** AIAAS_EXECUTOR=slurm: Slurm's nodes and which job runs where (others' jobs only for admins). */
  slurm?: { nodes: SlurmNodeView[]; pending: ReturnType<SlurmExecutor['pending']> };
}

export class JobSystem<P = unknown> {
  readonly types = new JobTypeRegistry<P>();
  readonly store: JobStore;
  readonly quotas: QuotaService;
  readonly metering: Metering;
  readonly scheduler: Scheduler;
  /** Where admitted jobs run: this node's forked workers, or Slurm. */
  readonly executor: Executor;
  readonly jobs: JobService<P>;
  readonly apiNodes: ApiNodes;
  private started = false;

  constructor(private readonly o: JobSystemOptions<P>) {
    for (const t of builtinJobTypes) this.types.register(t as never);
    this.store = new JobStore(o.db, o.refs);
    this.quotas = new QuotaService(o.db);
    this.metering = new Metering(o.db, o.config.prices, o.logger);
    const nodeId = o.config.scheduler.nodeId ?? persistentNodeId(o.config.home);
    const ex = o.config.executor;
    this.apiNodes = new ApiNodes({
      db: o.db, id: nodeId, name: o.config.nodeName, heartbeatSeconds: o.config.scheduler.heartbeatSeconds,
      leaseSeconds: o.config.scheduler.leaseSeconds, logger: o.logger.child({ component: 'api-nodes' }),
    });
    this.executor = ex.kind === 'slurm'
      ? new SlurmExecutor({ db: o.db, store: this.store, config: o.config, slurm: ex.slurm, logger: o.logger.child({ component: 'slurm' }), batchEntry: o.slurmBatchEntry })
      : new NodeAgent({
        db: o.db, store: this.store, config: o.config, logger: o.logger.child({ component: 'node-agent' }), nodeId, kind: 'embedded',
        workerEntry: o.workerEntry, moduleOf: (type) => (this.types.has(type) ? this.types.get(type).module : undefined),
        onRunEnded: () => this.scheduler.wake(),
      });
    this.scheduler = new Scheduler({
      db: o.db, store: this.store, quotas: this.quotas, logger: o.logger.child({ component: 'scheduler' }), config: o.config.scheduler,
      onStart: (job) => { if (job.node_id === this.executor.nodeId) this.executor.launch(job); },
      onPreempt: (jobId, nodeId) => { if (nodeId === this.executor.nodeId) this.executor.abort(jobId, 'preempt'); },
    });
    this.jobs = new JobService<P>({
      store: this.store, types: this.types, quotas: this.quotas, platform: o.platform, graceSeconds: o.config.scheduler.graceSeconds,
      largestNode: () => this.largestNode(),
      onSubmit: () => this.scheduler.wake(),
      onCancel: (jobId, nodeId) => { if (nodeId === this.executor.nodeId) this.executor.abort(jobId, 'cancel'); },
    });
    this.registerMetrics(o.metrics);
  }

  async start(): Promise<void> {
    await this.apiNodes.start();
    await this.executor.start();
    this.scheduler.start();
    this.started = true;
  }

  /** Readiness: the scheduler runs and its last round worked. */
  async check(): Promise<void> {
    if (!this.started || !this.scheduler.running) throw new Error('the scheduler is not running');
    if (this.scheduler.lastError) throw new Error(`the last scheduler round failed: ${this.scheduler.lastError.message}`);
  }

  /** Stops scheduling; running jobs checkpoint and go back to the queue (killed after the grace period). */
  async close(): Promise<void> {
    this.started = false;
    await this.scheduler.stop();
    await this.executor.stop();
    await this.apiNodes.stop();
    await this.metering.close();
  }

  private async largestNode(): Promise<Resources> {
    const lease = this.o.config.scheduler.leaseSeconds * 1000;
    const rows = await this.o.db.selectFrom('nodes').selectAll().execute();
    const alive = rows.filter((n) => Date.now() - Date.parse(n.heartbeat_at) <= lease);
    // The Slurm cluster's row sums its nodes; a job must fit on one of them.
    const ex = this.executor;
    const caps = alive.length
      ? alive.map((n) => (ex instanceof SlurmExecutor && n.id === ex.nodeId ? ex.largest : { cpu: n.cpu, memoryMb: n.memory_mb, gpu: n.gpus }))
      : [ex instanceof NodeAgent ? ex.capacity : ZERO];
    return caps.reduce((a, c) => ({ cpu: Math.max(a.cpu, c.cpu), memoryMb: Math.max(a.memoryMb, c.memoryMb), gpu: Math.max(a.gpu, c.gpu) }), ZERO);
  }

  /** GET /v1/cluster: nodes, capacity, allocations, queue, per-tenant share (others' tenants only for admins). */
  async cluster(p: Principal): Promise<ClusterView> {
    const snap = await this.freshSnapshot();
    const names = new Map((await this.o.db.selectFrom('tenants').select(['id', 'name']).execute()).map((t) => [t.id, t.name]));
    const quotas = await this.quotas.all();
    const visible = snap.tenants.filter((t) => isAdmin(p) || t.tenant === p.tenantId);
    if (!isAdmin(p) && !visible.length) visible.push({ tenant: p.tenantId, share: 0, usage: { ...ZERO, jobs: 0 }, queued: 0 });
    const view: ClusterView = {
      at: snap.at, nodes: snap.nodes, queue: snap.queue, capacity: snap.capacity, executor: this.executor.kind, apiNodes: await this.apiNodes.list(),
      tenants: visible.map((t) => ({ ...t, name: names.get(t.tenant) ?? t.tenant, quota: quotas.get(t.tenant) ?? { maxCpu: null, maxGpu: null, maxConcurrentJobs: null, monthlyCpuSeconds: null } })),
    };
    if (this.executor instanceof SlurmExecutor) view.slurm = await this.slurmView(this.executor, p);
    return view;
  }

  /** Slurm's nodes with the jobs on them; a non-admin sees only its own tenant's jobs there. */
  private async slurmView(ex: SlurmExecutor, p: Principal): Promise<NonNullable<ClusterView['slurm']>> {
    const nodes = ex.view();
    const pending = ex.pending();
    if (isAdmin(p)) return { nodes, pending };
    const ids = [...nodes.flatMap((n) => n.jobs.map((j) => j.job)), ...pending.map((j) => j.job)];
    const own = new Set(ids.length
      ? (await this.o.db.selectFrom('jobs').select('id').where('id', 'in', ids).where('tenant_id', '=', p.tenantId).execute()).map((r) => r.id)
      : []);
    return { nodes: nodes.map((n) => ({ ...n, jobs: n.jobs.filter((j) => own.has(j.job)) })), pending: pending.filter((j) => own.has(j.job)) };
  }

  private async freshSnapshot(): Promise<ClusterSnapshot> {
    if (!this.scheduler.snapshot || Date.now() - Date.parse(this.scheduler.snapshot.at) > 2000) await this.scheduler.tick();
    return this.scheduler.snapshot ?? { at: new Date().toISOString(), nodes: [], queue: { queued: 0, running: 0 }, tenants: [], capacity: ZERO, tickSeconds: 0, started: 0 };
  }

  private registerMetrics(registry: Registry): void {
    const snap = () => this.scheduler.snapshot;
    new Gauge({
      name: 'aiaas_node_capacity', help: 'What each node offers the scheduler, by resource (cpu cores, memory MB, gpus).',
      labelNames: ['node', 'resource'], registers: [registry],
      collect() {
        this.reset();
        for (const n of snap()?.nodes ?? []) {
          if (!n.alive) continue;
          this.set({ node: n.id, resource: 'cpu' }, n.cpu);
          this.set({ node: n.id, resource: 'memory_mb' }, n.memoryMb);
          this.set({ node: n.id, resource: 'gpu' }, n.gpus);
        }
      },
    });
    new Gauge({
      name: 'aiaas_node_allocated', help: 'Resources allocated to running jobs on each node, by resource.',
      labelNames: ['node', 'resource'], registers: [registry],
      collect() {
        this.reset();
        for (const n of snap()?.nodes ?? []) {
          if (!n.alive) continue;
          this.set({ node: n.id, resource: 'cpu' }, n.allocated.cpu);
          this.set({ node: n.id, resource: 'memory_mb' }, n.allocated.memoryMb);
          this.set({ node: n.id, resource: 'gpu' }, n.allocated.gpu);
        }
      },
    });
    new Gauge({
      name: 'aiaas_jobs', help: 'Jobs by status (queued and running: the queue depth and the work in progress).',
      labelNames: ['status'], registers: [registry],
      collect() {
        const s = snap();
        this.set({ status: 'queued' }, s?.queue.queued ?? 0);
        this.set({ status: 'running' }, s?.queue.running ?? 0);
      },
    });
    new Gauge({
      name: 'aiaas_tenant_dominant_share', help: 'Each tenant\'s dominant-resource share of the cluster (DRF).',
      labelNames: ['tenant'], registers: [registry],
      collect() {
        this.reset();
        for (const t of snap()?.tenants ?? []) this.set({ tenant: t.tenant }, t.share);
      },
    });
    new Gauge({
      name: 'aiaas_tenant_allocated_cpu', help: 'CPU allocated to each tenant\'s running jobs.',
      labelNames: ['tenant'], registers: [registry],
      collect() {
        this.reset();
        for (const t of snap()?.tenants ?? []) this.set({ tenant: t.tenant }, t.usage.cpu);
      },
    });
    const scheduler = this.scheduler;
    new Counter({
      name: 'aiaas_scheduler_jobs_started_total', help: 'Job runs the scheduler started.', registers: [registry],
      collect() { this.reset(); this.inc(scheduler.stats.started); },
    });
    new Counter({
      name: 'aiaas_scheduler_round_seconds_total', help: 'Time spent in scheduler rounds.', registers: [registry],
      collect() { this.reset(); this.inc(scheduler.stats.tickSeconds); },
    });
  }
}

/** This machine's node id: generated once and kept in AIAAS_HOME, so a restart finds its jobs. */
function persistentNodeId(home: string): string {
  const file = path.join(home, 'node-id');
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    // first start
  }
  const id = newId('node');
  fs.writeFileSync(file, id + '\n');
  return id;
}
