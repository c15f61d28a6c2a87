/**
 * Job records, their events (status, progress, metrics, log lines), their attempts, and every
 * state transition, in the store. Events are numbered 1, 2, … per job (the SSE `id:`), handed out
 * by an atomic increment on the job row, so writers in several processes never collide.
 *
 * Transitions of a running job are fenced by its attempt number: a write from a run that is no
 * longer current (its node was declared dead and the job requeued) changes nothing.
 */
import { EventEmitter } from 'node:events';
import { isPostgres, type Db } from '../../infra/store/database.js';
import type { JobAttemptsTable, JobsTable } from '../../infra/store/tables-jobs.js';
import { newId, nowIso } from '../../infra/ids.js';
import type { BlobRefs } from '../blob-refs.js';
import type { JobResult, Progress, Resources } from './job-type.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export type EventKind = 'status' | 'progress' | 'metrics' | 'log';

export interface JobEvent {
  seq: number;
  kind: EventKind;
  at: string;
  data: Record<string, unknown>;
}

export interface NewEvent {
  kind: EventKind;
  data: Record<string, unknown>;
  at?: string;
}

export interface JobAttempt {
  attempt: number;
  node: string;
  pid: number | null;
  startedAt: string;
  finishedAt: string | null;
  outcome: string;
  error: string | null;
  resumedFromCheckpoint: boolean;
  cpuSeconds: number;
  gpuSeconds: number;
}

export interface JobView {
  id: string;
  type: string;
  name: string | null;
  tenant: string;
  status: JobStatus;
  priority: number;
  resources: Resources;
  spec: Record<string, unknown>;
  progress: Progress;
  metrics: Record<string, unknown>;
  result?: JobResult;
  error?: string;
  errorCode?: string;
  queueReason?: string;
  attempt: number;
  maxAttempts: number;
  failures: number;
  preemptions: number;
  cancelRequested: boolean;
  node?: string;
  checkpoint?: { at: string; bytes: number };
  cpuSeconds: number;
  gpuSeconds: number;
  parent?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  updatedAt: string;
  attempts?: JobAttempt[];
}

export interface NewJob {
  tenantId: string;
  type: string;
  module: string;
  name: string | null;
  priority: number;
  spec: unknown;
  resources: Resources;
  maxAttempts: number;
  backoffSeconds: number;
  parentId?: string | null;
  createdBy: string | null;
  createdRole: string | null;
}

export interface ListQuery {
  status?: string;
  type?: string;
  limit: number;
  /** Jobs strictly older than this id (paging backwards). */
  before?: string;
}

/** How a run ended, as the node agent saw it. */
export interface RunEnd {
  /** What becomes of the job: final, or back to the queue. */
  status: JobStatus;
  /** What the attempt record says: succeeded | failed | cancelled | preempted | lost | interrupted. */
  attemptOutcome: string;
  error?: string | null;
  errorCode?: string | null;
  result?: JobResult | null;
  metrics?: Record<string, unknown>;
  /** Counts towards max_attempts (a failed run, not a preempted or lost one). */
  countsAsFailure?: boolean;
  /** For a requeued job: not before this time (retry backoff). */
  notBefore?: string | null;
  queueReason?: string | null;
  preempted?: boolean;
}

export interface ClaimedRun {
  job: JobsTable;
  attempt: number;
}

const CHECKPOINT_OWNER = 'job_checkpoint';

export class JobStore {
  /** Emits the job id whenever this process changes a job or adds events (SSE wakes on it). */
  readonly changes = new EventEmitter();

  constructor(private readonly db: Db, private readonly refs?: BlobRefs) {
    this.changes.setMaxListeners(0);
  }

  get database(): Db {
    return this.db;
  }

  private touched(jobId: string): void {
    this.changes.emit('job', jobId);
  }

  async create(j: NewJob): Promise<JobsTable> {
    const now = nowIso();
    const row: JobsTable = {
      id: newId('job'), tenant_id: j.tenantId, type: j.type, module: j.module, name: j.name, status: 'queued', priority: j.priority,
      spec: JSON.stringify(j.spec ?? {}), cpu: j.resources.cpu, memory_mb: j.resources.memoryMb, gpu: j.resources.gpu,
      progress: JSON.stringify({ fraction: 0 }), metrics: '{}', result: null, error: null, error_code: null,
      queue_reason: null, attempt: 0, failures: 0, max_attempts: j.maxAttempts, backoff_seconds: j.backoffSeconds,
      not_before: null, checkpoint_blob: null, checkpoint_at: null, checkpoint_bytes: null, node_id: null, gpu_ids: null,
      worker_pid: null, heartbeat_at: null, cancel_requested: 0, preempt_for: null, preemptions: 0, event_seq: 1,
      cpu_seconds: 0, gpu_seconds: 0, parent_id: j.parentId ?? null, created_by: j.createdBy, created_role: j.createdRole,
      created_at: now, started_at: null, run_started_at: null, finished_at: null, updated_at: now,
    };
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('jobs').values(row).execute();
      await tx.insertInto('job_events').values({
        job_id: row.id, seq: 1, tenant_id: row.tenant_id, kind: 'status', at: now, data: JSON.stringify({ status: 'queued', attempt: 0 }),
      }).execute();
    });
    this.touched(row.id);
    return row;
  }

  /** A job by id; with a tenant, only that tenant's. */
  async row(id: string, tenantId?: string): Promise<JobsTable | undefined> {
    let q = this.db.selectFrom('jobs').selectAll().where('id', '=', id);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    return q.executeTakeFirst();
  }

  async list(tenantId: string, q: ListQuery): Promise<JobsTable[]> {
    let query = this.db.selectFrom('jobs').selectAll().where('tenant_id', '=', tenantId).orderBy('id', 'desc').limit(q.limit);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.type) query = query.where('type', '=', q.type);
    if (q.before) query = query.where('id', '<', q.before);
    return query.execute();
  }

  async attempts(jobId: string): Promise<JobAttempt[]> {
    const rows = await this.db.selectFrom('job_attempts').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();
    return rows.map(toAttempt);
  }

  /** Events after `afterSeq`, oldest first. */
  async events(jobId: string, afterSeq: number, limit = 1000, kinds?: EventKind[]): Promise<JobEvent[]> {
    let q = this.db.selectFrom('job_events').select(['seq', 'kind', 'at', 'data'])
      .where('job_id', '=', jobId).where('seq', '>', afterSeq).orderBy('seq').limit(limit);
    if (kinds?.length) q = q.where('kind', 'in', kinds);
    const rows = await q.execute();
    return rows.map((r) => ({ seq: Number(r.seq), kind: r.kind as EventKind, at: r.at, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** Appends events with the next sequence numbers; returns the last number. */
  async appendEvents(jobId: string, tenantId: string, events: NewEvent[], db: Db = this.db): Promise<number> {
    if (!events.length) return 0;
    const run = async (tx: Db) => {
      const r = await tx.updateTable('jobs').set((eb) => ({ event_seq: eb('event_seq', '+', events.length) }))
        .where('id', '=', jobId).returning('event_seq').executeTakeFirst();
      if (!r) return 0;
      const last = Number(r.event_seq);
      const now = nowIso();
      await tx.insertInto('job_events').values(events.map((e, i) => ({
        job_id: jobId, seq: last - events.length + 1 + i, tenant_id: tenantId, kind: e.kind, at: e.at ?? now, data: JSON.stringify(e.data),
      }))).execute();
      return last;
    };
    const last = db === this.db ? await this.db.transaction().execute(run) : await run(db);
    this.touched(jobId);
    return last;
  }

  /**
   * Queued → running on a node, atomically: only one scheduler can claim a queued job (the
   * UPDATE matches only while the status is still 'queued').
   */
  async claim(jobId: string, nodeId: string, gpuIds: number[]): Promise<ClaimedRun | undefined> {
    const now = nowIso();
    const claimed = await this.db.transaction().execute(async (tx) => {
      if (isPostgres(tx) && !(await leaseOnPostgres(tx, jobId, nodeId, gpuIds))) return undefined;
      const res = await tx.updateTable('jobs').set((eb) => ({
        status: 'running', attempt: eb('attempt', '+', 1), node_id: nodeId, gpu_ids: JSON.stringify(gpuIds), worker_pid: null,
        heartbeat_at: now, started_at: eb.fn.coalesce('started_at', eb.val(now)), run_started_at: now, queue_reason: null,
        not_before: null, preempt_for: null, updated_at: now,
      })).where('id', '=', jobId).where('status', '=', 'queued').where('cancel_requested', '=', 0).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return undefined;
      const job = await tx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
      await this.openAttempt(tx, job, nodeId, now);
      return { job, attempt: job.attempt };
    });
    if (claimed) this.touched(jobId);
    return claimed;
  }

  async setPid(jobId: string, attempt: number, pid: number): Promise<void> {
    await this.db.updateTable('jobs').set({ worker_pid: pid }).where('id', '=', jobId).where('attempt', '=', attempt).where('status', '=', 'running').execute();
    await this.db.updateTable('job_attempts').set({ pid }).where('job_id', '=', jobId).where('attempt', '=', attempt).execute();
  }

  /** Progress and metrics of the current run (fenced by attempt), with their events. */
  async report(jobId: string, tenantId: string, attempt: number, upd: { progress?: Progress; metrics?: Record<string, unknown>[] }, events: NewEvent[]): Promise<boolean> {
    const ok = await this.db.transaction().execute(async (tx) => {
      const job = await tx.selectFrom('jobs').select(['metrics', 'status', 'attempt']).where('id', '=', jobId).executeTakeFirst();
      if (!job || job.status !== 'running' || job.attempt !== attempt) return false;
      const set: Partial<JobsTable> = { updated_at: nowIso() };
      if (upd.progress) set.progress = JSON.stringify(upd.progress);
      if (upd.metrics?.length) set.metrics = JSON.stringify(appendHistory(JSON.parse(job.metrics), upd.metrics));
      await tx.updateTable('jobs').set(set).where('id', '=', jobId).execute();
      await this.appendEvents(jobId, tenantId, events, tx);
      return true;
    });
    this.touched(jobId);
    return ok;
  }

  /**
   * Records a checkpoint blob of the current run, held with the blobs it names (`blobs`), and
   * releases what the previous checkpoint held that this one does not.
   */
  async saveCheckpoint(jobId: string, attempt: number, hash: string, bytes: number, blobs: string[] = []): Promise<boolean> {
    const held = [hash, ...blobs];
    let released: string[] = [];
    const ok = await this.db.transaction().execute(async (tx) => {
      const job = await tx.selectFrom('jobs').select(['status', 'attempt', 'checkpoint_blob']).where('id', '=', jobId).executeTakeFirst();
      if (!job || job.status !== 'running' || job.attempt !== attempt) return false;
      await tx.updateTable('jobs').set({ checkpoint_blob: hash, checkpoint_at: nowIso(), checkpoint_bytes: bytes }).where('id', '=', jobId).execute();
      if (this.refs) {
        released = await this.refs.release(tx, CHECKPOINT_OWNER, jobId);
        await this.refs.hold(tx, held, CHECKPOINT_OWNER, jobId);
      }
      return true;
    });
    if (this.refs && released.length) await this.refs.collect(released.filter((h) => !held.includes(h)));
    return ok;
  }

  async checkpointOf(jobId: string): Promise<string | null> {
    const r = await this.db.selectFrom('jobs').select('checkpoint_blob').where('id', '=', jobId).executeTakeFirst();
    return r?.checkpoint_blob ?? null;
  }

  /**
   * Ends the current run (fenced by attempt): the job becomes final, or goes back to the queue.
   * Meters the run (allocated CPU and GPU × wall time) into the job, the attempt and usage.
   * Returns false when the run was no longer current.
   */
  async endRun(jobId: string, attempt: number, end: RunEnd): Promise<boolean> {
    const now = nowIso();
    let released: string[] = [];
    const ok = await this.db.transaction().execute(async (tx) => {
      const job = await tx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      if (!job || job.status !== 'running' || job.attempt !== attempt) return false;
      const { cpuSeconds, gpuSeconds } = await closeAttempt(tx, job, end.attemptOutcome, end.error ?? null, now);
      const final = TERMINAL.has(end.status);
      const set: Partial<JobsTable> = {
        status: end.status, node_id: null, gpu_ids: null, worker_pid: null, heartbeat_at: null, preempt_for: null,
        cpu_seconds: job.cpu_seconds + cpuSeconds, gpu_seconds: job.gpu_seconds + gpuSeconds, updated_at: now,
        error: end.error ?? (final ? null : job.error), error_code: end.errorCode ?? (final ? null : job.error_code),
        failures: job.failures + (end.countsAsFailure ? 1 : 0), preemptions: job.preemptions + (end.preempted ? 1 : 0),
        queue_reason: final ? null : end.queueReason ?? null, not_before: final ? null : end.notBefore ?? null,
      };
      if (final) set.finished_at = now;
      if (end.result) set.result = JSON.stringify(end.result);
      if (end.metrics && Object.keys(end.metrics).length) set.metrics = JSON.stringify(finalMetrics(JSON.parse(job.metrics), end.metrics));
      if (end.status === 'succeeded') set.progress = JSON.stringify({ ...JSON.parse(job.progress), fraction: 1 });
      if (end.status === 'cancelled') set.cancel_requested = 0;
      await tx.updateTable('jobs').set(set).where('id', '=', jobId).execute();
      const data: Record<string, unknown> = { status: end.status, attempt, outcome: end.attemptOutcome };
      if (end.error) data.error = end.error;
      if (end.queueReason) data.queueReason = end.queueReason;
      if (end.result) data.result = end.result;
      await this.appendEvents(jobId, job.tenant_id, [{ kind: 'status', data }], tx);
      if (final && this.refs) released = await this.refs.release(tx, CHECKPOINT_OWNER, jobId);
      if (final && released.length) await tx.updateTable('jobs').set({ checkpoint_blob: null }).where('id', '=', jobId).execute();
      return true;
    });
    if (this.refs && released.length) await this.refs.collect(released);
    this.touched(jobId);
    return ok;
  }

  /**
   * A run restarted where it was (Slurm requeued its batch job after a node failure or a
   * preemption): the current attempt ends as `outcome` and the next one starts on the same node,
   * in one transaction, so the job never passes through the queue where a scheduler could start
   * it a second time. `workerPid` is the new run's handle (the Slurm job id). Undefined when
   * `attempt` is no longer the job's current run.
   */
  async restartRun(jobId: string, attempt: number, workerPid: number, outcome: string, why: string): Promise<JobsTable | undefined> {
    const now = nowIso();
    const restarted = await this.db.transaction().execute(async (tx) => {
      const job = await tx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      if (!job || job.status !== 'running' || job.attempt !== attempt || !job.node_id) return undefined;
      const { cpuSeconds, gpuSeconds } = await closeAttempt(tx, job, outcome, why, now);
      await this.appendEvents(jobId, job.tenant_id, [{ kind: 'status', data: { status: 'running', attempt, outcome, error: why } }], tx);
      const res = await tx.updateTable('jobs').set((eb) => ({
        attempt: eb('attempt', '+', 1), worker_pid: workerPid, heartbeat_at: now, run_started_at: now, preempt_for: null, updated_at: now,
        cpu_seconds: job.cpu_seconds + cpuSeconds, gpu_seconds: job.gpu_seconds + gpuSeconds,
        preemptions: job.preemptions + (outcome === 'preempted' ? 1 : 0),
      })).where('id', '=', jobId).where('attempt', '=', attempt).where('status', '=', 'running').executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return undefined;
      const next = await tx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
      await this.openAttempt(tx, next, job.node_id, now, workerPid);
      return next;
    });
    if (restarted) this.touched(jobId);
    return restarted;
  }

  /** Starts the attempt record of a job's current run and says so in its events. */
  private async openAttempt(tx: Db, job: JobsTable, nodeId: string, now: string, pid: number | null = null): Promise<void> {
    await tx.insertInto('job_attempts').values({
      job_id: job.id, attempt: job.attempt, tenant_id: job.tenant_id, node_id: nodeId, pid, cpu: job.cpu, gpu: job.gpu,
      started_at: now, finished_at: null, outcome: 'running', error: null, resumed_from_checkpoint: job.checkpoint_blob ? 1 : 0,
      cpu_seconds: 0, gpu_seconds: 0,
    }).execute();
    await this.appendEvents(job.id, job.tenant_id, [{ kind: 'status', data: { status: 'running', attempt: job.attempt, node: nodeId, resumed: !!job.checkpoint_blob } }], tx);
  }

  /** Refreshes one run's heartbeat; its control flags, or undefined when it is no longer the job's current run. */
  async heartbeatRun(jobId: string, attempt: number): Promise<{ cancel: boolean; preempt: boolean } | undefined> {
    await this.db.updateTable('jobs').set({ heartbeat_at: nowIso() }).where('id', '=', jobId).where('attempt', '=', attempt).where('status', '=', 'running').execute();
    const r = await this.db.selectFrom('jobs').select(['status', 'attempt', 'cancel_requested', 'preempt_for']).where('id', '=', jobId).executeTakeFirst();
    if (!r || r.status !== 'running' || r.attempt !== attempt) return undefined;
    return { cancel: r.cancel_requested === 1, preempt: r.preempt_for !== null };
  }

  /** Cancels a queued job at once. */
  async cancelQueued(jobId: string): Promise<boolean> {
    const now = nowIso();
    let released: string[] = [];
    const ok = await this.db.transaction().execute(async (tx) => {
      const res = await tx.updateTable('jobs').set({ status: 'cancelled', finished_at: now, updated_at: now, queue_reason: null, not_before: null, checkpoint_blob: null })
        .where('id', '=', jobId).where('status', '=', 'queued').executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      const job = await tx.selectFrom('jobs').select(['tenant_id', 'attempt']).where('id', '=', jobId).executeTakeFirstOrThrow();
      await this.appendEvents(jobId, job.tenant_id, [{ kind: 'status', data: { status: 'cancelled', attempt: job.attempt } }], tx);
      if (this.refs) released = await this.refs.release(tx, CHECKPOINT_OWNER, jobId);
      return true;
    });
    if (this.refs && released.length) await this.refs.collect(released);
    this.touched(jobId);
    return ok;
  }

  /** Flags a running job for cancellation; its node agent stops it. */
  async requestCancel(jobId: string): Promise<boolean> {
    const res = await this.db.updateTable('jobs').set({ cancel_requested: 1, updated_at: nowIso() })
      .where('id', '=', jobId).where('status', '=', 'running').executeTakeFirst();
    this.touched(jobId);
    return Number(res.numUpdatedRows) === 1;
  }

  /** Flags a running job for preemption in favour of `forJob`. */
  async requestPreempt(jobId: string, attempt: number, forJob: string): Promise<boolean> {
    const res = await this.db.updateTable('jobs').set({ preempt_for: forJob, updated_at: nowIso() })
      .where('id', '=', jobId).where('status', '=', 'running').where('attempt', '=', attempt).where('preempt_for', 'is', null).executeTakeFirst();
    this.touched(jobId);
    return Number(res.numUpdatedRows) === 1;
  }

  /** Why a queued job waits (only written when it changed). */
  async setQueueReasons(reasons: Map<string, string | null>, current: Map<string, string | null>): Promise<void> {
    const changed = [...reasons].filter(([id, r]) => (current.get(id) ?? null) !== r);
    if (!changed.length) return;
    await this.db.transaction().execute(async (tx) => {
      for (const [id, reason] of changed) {
        await tx.updateTable('jobs').set({ queue_reason: reason }).where('id', '=', id).where('status', '=', 'queued').execute();
      }
    });
    for (const [id] of changed) this.touched(id);
  }

  /** Refreshes the heartbeat of every running job of a node; returns their control flags. */
  async heartbeat(nodeId: string): Promise<{ id: string; attempt: number; cancel: boolean; preempt: boolean }[]> {
    const now = nowIso();
    await this.db.updateTable('jobs').set({ heartbeat_at: now }).where('node_id', '=', nodeId).where('status', '=', 'running').execute();
    const rows = await this.db.selectFrom('jobs').select(['id', 'attempt', 'cancel_requested', 'preempt_for'])
      .where('node_id', '=', nodeId).where('status', '=', 'running').execute();
    return rows.map((r) => ({ id: r.id, attempt: r.attempt, cancel: r.cancel_requested === 1, preempt: r.preempt_for !== null }));
  }

  async runningOn(nodeId: string): Promise<JobsTable[]> {
    return this.db.selectFrom('jobs').selectAll().where('node_id', '=', nodeId).where('status', '=', 'running').execute();
  }
}

/**
 * PostgreSQL, where several schedulers (API nodes) claim at once, each with a plan made from its
 * own snapshot: the job row is taken with FOR UPDATE SKIP LOCKED (a job another scheduler is
 * claiming right now is skipped, not waited for), and the node row FOR UPDATE, so claims onto one
 * node are serialised and each sees what the others committed: a job starts only if it still fits
 * beside the jobs already running there, on GPUs nobody else holds. False: leave the job queued.
 */
async function leaseOnPostgres(tx: Db, jobId: string, nodeId: string, gpuIds: number[]): Promise<boolean> {
  const job = await tx.selectFrom('jobs').select(['cpu', 'memory_mb', 'gpu'])
    .where('id', '=', jobId).where('status', '=', 'queued').where('cancel_requested', '=', 0)
    .forUpdate().skipLocked().executeTakeFirst();
  if (!job) return false;
  const node = await tx.selectFrom('nodes').select(['cpu', 'memory_mb', 'gpus']).where('id', '=', nodeId).forUpdate().executeTakeFirst();
  if (!node) return false;
  const running = await tx.selectFrom('jobs').select(['cpu', 'memory_mb', 'gpu', 'gpu_ids'])
    .where('node_id', '=', nodeId).where('status', '=', 'running').execute();
  const used = running.reduce((a, r) => ({ cpu: a.cpu + r.cpu, memoryMb: a.memoryMb + r.memory_mb, gpu: a.gpu + r.gpu }), { cpu: 0, memoryMb: 0, gpu: 0 });
  const busyGpus = new Set(running.flatMap((r) => (r.gpu_ids ? (JSON.parse(r.gpu_ids) as number[]) : [])));
  return used.cpu + job.cpu <= node.cpu + 1e-9 && used.memoryMb + job.memory_mb <= node.memory_mb
    && used.gpu + job.gpu <= node.gpus && gpuIds.every((g) => !busyGpus.has(g));
}

/** Ends the attempt record of a job's current run and meters it (allocated CPU and GPU × wall time) into usage. */
async function closeAttempt(tx: Db, job: JobsTable, outcome: string, error: string | null, now: string): Promise<{ cpuSeconds: number; gpuSeconds: number }> {
  const wall = Math.max(0, (Date.parse(now) - Date.parse(job.run_started_at ?? now)) / 1000);
  const cpuSeconds = job.cpu * wall;
  const gpuSeconds = job.gpu * wall;
  await tx.updateTable('job_attempts').set({ finished_at: now, outcome, error, cpu_seconds: cpuSeconds, gpu_seconds: gpuSeconds })
    .where('job_id', '=', job.id).where('attempt', '=', job.attempt).execute();
  await tx.insertInto('usage_events').values({
    id: newId('use'), tenant_id: job.tenant_id, kind: 'job', job_id: job.id, endpoint: null,
    cpu_seconds: cpuSeconds, gpu_seconds: gpuSeconds, predictions: 0, at: now,
  }).execute();
  return { cpuSeconds, gpuSeconds };
}

export function toAttempt(r: JobAttemptsTable): JobAttempt {
  return {
    attempt: r.attempt, node: r.node_id, pid: r.pid, startedAt: r.started_at, finishedAt: r.finished_at, outcome: r.outcome,
    error: r.error, resumedFromCheckpoint: r.resumed_from_checkpoint === 1, cpuSeconds: r.cpu_seconds, gpuSeconds: r.gpu_seconds,
  };
}

export function toJobView(r: JobsTable, attempts?: JobAttempt[]): JobView {
  const v: JobView = {
    id: r.id, type: r.type, name: r.name, tenant: r.tenant_id, status: r.status as JobStatus, priority: r.priority,
    resources: { cpu: r.cpu, memoryMb: r.memory_mb, gpu: r.gpu }, spec: JSON.parse(r.spec) as Record<string, unknown>,
    progress: JSON.parse(r.progress) as Progress, metrics: JSON.parse(r.metrics) as Record<string, unknown>,
    attempt: r.attempt, maxAttempts: r.max_attempts, failures: r.failures, preemptions: r.preemptions,
    cancelRequested: r.cancel_requested === 1, cpuSeconds: round(r.cpu_seconds), gpuSeconds: round(r.gpu_seconds),
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
  if (r.result) v.result = JSON.parse(r.result) as JobResult;
  if (r.error) v.error = r.error;
  if (r.error_code) v.errorCode = r.error_code;
  if (r.queue_reason && r.status === 'queued') v.queueReason = r.queue_reason;
  if (r.node_id) v.node = r.node_id;
  if (r.checkpoint_at && r.checkpoint_blob) v.checkpoint = { at: r.checkpoint_at, bytes: Number(r.checkpoint_bytes ?? 0) };
  if (r.parent_id) v.parent = r.parent_id;
  if (r.started_at) v.startedAt = r.started_at;
  if (r.finished_at) v.finishedAt = r.finished_at;
  if (attempts) v.attempts = attempts;
  return v;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Each running `ctx.metrics(record)` is one entry of `metrics.history` (docs/API.md, "Job metrics"). */
function appendHistory(current: Record<string, unknown>, records: Record<string, unknown>[]): Record<string, unknown> {
  const history = Array.isArray(current.history) ? current.history : [];
  return { ...current, history: [...history, ...records] };
}

/** The final metrics replace the running ones; the running history stays unless the final ones bring their own. */
function finalMetrics(current: Record<string, unknown>, final: Record<string, unknown>): Record<string, unknown> {
  if (final.history !== undefined || !Array.isArray(current.history) || current.history.length === 0) return final;
  return { ...final, history: current.history };
}
