/**
 * The Slurm executor: every run the scheduler admits becomes one Slurm batch job, submitted
 * through slurmrestd with the job's CPUs, memory and GPUs (gres) and `aiaas-<job id>` as its
 * name. Slurm places and runs it; the batch job (slurm-run.ts) talks to PostgreSQL and S3 only.
 *
 * To the scheduler the cluster is one node row, `slurm:<partition>`, whose capacity is the sum of
 * the partition's usable Slurm nodes (drained, down and unresponsive ones count for nothing), so
 * admission (quotas, priorities, fair share) stays the platform's. Every API node runs this
 * executor; any of them may submit, cancel and reconcile, since all state is in the store and in
 * Slurm. A run is fenced by its Slurm job id (the job's `worker_pid`): a batch job that finds
 * another id there exits without doing anything.
 *
 * Reconciling (every heartbeat): a run whose Slurm job ended without recording its end (killed,
 * out of memory, its node failed with requeue off) is ended here; a run claimed by an API node
 * that died before submitting goes back to the queue.
 */
import { blobEnv, type Config, type SlurmConfig } from '../../../infra/config.js';
import type { Logger } from '../../../infra/logger.js';
import type { Db } from '../../../infra/store/database.js';
import { nowIso } from '../../../infra/ids.js';
import type { JobsTable } from '../../../infra/store/tables-jobs.js';
import { SlurmRest, type SlurmJob, type SlurmNode } from '../../../infra/slurm-rest.js';
import type { Executor } from '../executor.js';
import type { JobStore, RunEnd } from '../job-store.js';
import type { StopReason } from '../job-run.js';
import type { Resources } from '../job-type.js';

export interface SlurmExecutorOptions {
  db: Db;
  store: JobStore;
  config: Config;
  slurm: SlurmConfig;
  logger: Logger;
  /** The batch job's program on the Slurm nodes (dist/src/interfaces/slurm-job.js; the platform installed at the same path there). */
  batchEntry: string;
}

/** Slurm job states in which the job may still run (or run again). */
const ACTIVE = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT', 'RESV_DEL_HOLD']);
/** Node states and flags that take a Slurm node out of what the platform admits work for. */
const UNUSABLE = new Set(['DOWN', 'DRAIN', 'DRAINED', 'DRAINING', 'FAIL', 'FAILING', 'NOT_RESPONDING', 'FUTURE', 'UNKNOWN', 'MAINTENANCE', 'REBOOT_REQUESTED', 'POWERED_DOWN', 'POWERING_DOWN']);

export const SLURM_JOB_PREFIX = 'aiaas-';

export interface SlurmNodeView extends SlurmNode {
  usable: boolean;
  /** Platform jobs whose Slurm job runs there (batch host). */
  jobs: { job: string; slurmJobId: number; state: string }[];
}

export class SlurmExecutor implements Executor {
  readonly kind = 'slurm';
  readonly nodeId: string;
  capacity: Resources = { cpu: 0, memoryMb: 0, gpu: 0 };
  /** The most one job can get: each resource's largest usable Slurm node (a job must fit on one node). */
  largest: Resources = { cpu: 0, memoryMb: 0, gpu: 0 };
  private readonly rest: SlurmRest;
  private timer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private readonly submitting = new Set<string>();
  private readonly cancelled = new Set<number>();
  private nodes: SlurmNode[] = [];
  private jobs: SlurmJob[] = [];

  constructor(private readonly o: SlurmExecutorOptions) {
    this.rest = new SlurmRest(o.slurm);
    this.nodeId = `slurm:${o.slurm.partition ?? 'default'}`;
  }

  /** Fails (one line naming the setting) when slurmrestd does not answer or refuses the token. */
  async start(): Promise<void> {
    await this.syncOnce();
    this.timer = setInterval(() => { void this.sync(); }, Math.max(50, this.o.config.scheduler.heartbeatSeconds * 1000));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing;
  }

  /** One round: the node row from Slurm's nodes, then runs against Slurm's jobs. */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce()
      .catch((err) => this.o.logger.warn({ err }, 'syncing with Slurm failed'))
      .finally(() => { this.syncing = undefined; });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const nodes = (await this.rest.nodes()).filter((n) => !this.o.slurm.partition || n.partitions.includes(this.o.slurm.partition));
    this.nodes = nodes;
    const open = nodes.filter(usable);
    this.capacity = open.reduce((a, n) => ({ cpu: a.cpu + n.cpus, memoryMb: a.memoryMb + n.memoryMb, gpu: a.gpu + n.gpus }), { cpu: 0, memoryMb: 0, gpu: 0 });
    this.largest = open.reduce((a, n) => ({ cpu: Math.max(a.cpu, n.cpus), memoryMb: Math.max(a.memoryMb, n.memoryMb), gpu: Math.max(a.gpu, n.gpus) }), { cpu: 0, memoryMb: 0, gpu: 0 });
    await this.heartbeatNode();
    // The runs before Slurm's jobs: a run whose Slurm job id was recorded (by any API node) before
    // this read is in the list read after it, so one missing from that list has really ended. Read
    // the other way round, another node's submission between the two reads looks like a vanished job.
    const runs = await this.o.store.runningOn(this.nodeId);
    this.jobs = (await this.rest.jobs()).filter((j) => j.name.startsWith(SLURM_JOB_PREFIX));
    await this.reconcile(runs, this.jobs);
  }

  private async heartbeatNode(): Promise<void> {
    const now = nowIso();
    const row = {
      id: this.nodeId, hostname: new URL(this.o.slurm.url).host, kind: 'slurm', cpu: this.capacity.cpu, memory_mb: this.capacity.memoryMb,
      gpus: this.capacity.gpu, pid: process.pid, started_at: now, heartbeat_at: now,
    };
    await this.o.db.insertInto('nodes').values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ cpu: row.cpu, memory_mb: row.memory_mb, gpus: row.gpus, heartbeat_at: now, hostname: row.hostname, kind: 'slurm' }))
      .execute();
  }

  launch(job: JobsTable): void {
    if (this.submitting.has(job.id)) return;
    this.submitting.add(job.id);
    void this.submit(job).finally(() => this.submitting.delete(job.id));
  }

  private async submit(job: JobsTable): Promise<void> {
    let slurmJobId: number;
    try {
      slurmJobId = await this.rest.submit({
        name: `${SLURM_JOB_PREFIX}${job.id}`,
        script: `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(this.o.batchEntry)}\n`,
        environment: this.batchEnvironment(job),
        cpusPerTask: Math.max(1, Math.ceil(job.cpu)), memoryMb: job.memory_mb, gpus: job.gpu, partition: this.o.slurm.partition,
        cwd: '/tmp', output: this.o.slurm.output,
      });
    } catch (err) {
      const message = `submitting to Slurm failed: ${(err as Error).message}`;
      this.o.logger.warn({ err, job: job.id }, 'submitting to Slurm failed');
      await this.o.store.endRun(job.id, job.attempt, retryOrFail(job, message, 'slurm_submit_failed'));
      return;
    }
    this.o.logger.info({ job: job.id, attempt: job.attempt, slurmJobId }, 'submitted to Slurm');
    await this.o.store.setPid(job.id, job.attempt, slurmJobId);
    // A cancel that came while the submission was on its way.
    const row = await this.o.store.row(job.id);
    if (row?.cancel_requested && row.worker_pid === slurmJobId) await this.scancel(slurmJobId);
  }

  /** What the batch job needs: this node's store, bucket and job settings and the run's identity, never its secrets or folders. */
  private batchEnvironment(job: JobsTable): Record<string, string> {
    const cfg = this.o.config;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin', AIAAS_JOB_ID: job.id, AIAAS_SLURM_NODE_ID: this.nodeId,
      AIAAS_DATABASE_URL: cfg.databaseUrl ?? '', AIAAS_LOG_LEVEL: cfg.logLevel,
      AIAAS_HEARTBEAT_SECONDS: String(cfg.scheduler.heartbeatSeconds), AIAAS_JOB_GRACE_SECONDS: String(cfg.scheduler.graceSeconds),
      AIAAS_DATASET_MAX_BYTES: String(cfg.datasetMaxBytes), AIAAS_DATASET_MAX_CELLS: String(cfg.datasetMaxCells), AIAAS_MODEL_MAX_BYTES: String(cfg.modelMaxBytes),
    };
    for (const [k, v] of Object.entries(blobEnv(cfg.blobs))) if (v) env[k] = v;
    return env;
  }

  /** Cancel → scancel; preemption reaches the batch job through the store's flag (it checkpoints, then ends the run). */
  abort(jobId: string, reason: StopReason): boolean {
    if (reason !== 'cancel') return false;
    void this.o.store.row(jobId).then((row) => (row?.worker_pid ? this.scancel(row.worker_pid) : undefined))
      .catch((err) => this.o.logger.warn({ err, job: jobId }, 'scancel failed; retried on the next sync'));
    return true;
  }

  private async scancel(slurmJobId: number): Promise<void> {
    this.cancelled.add(slurmJobId);
    await this.rest.cancel(slurmJobId);
  }

  private async reconcile(runs: JobsTable[], jobs: SlurmJob[]): Promise<void> {
    const byId = new Map(jobs.map((j) => [j.jobId, j]));
    const leaseMs = this.o.config.scheduler.leaseSeconds * 1000;
    for (const row of runs) {
      if (this.submitting.has(row.id)) continue;
      if (row.worker_pid === null) {
        // Claimed but not submitted: the API node that claimed it died on the way.
        if (Date.now() - Date.parse(row.run_started_at ?? row.created_at) > leaseMs) {
          await this.o.store.endRun(row.id, row.attempt, { status: 'queued', attemptOutcome: 'lost', queueReason: 'it was never submitted to Slurm (its API node stopped); it runs again' });
        }
        continue;
      }
      const sj = byId.get(row.worker_pid);
      if (sj && ACTIVE.has(sj.state)) {
        if (row.cancel_requested && !this.cancelled.has(sj.jobId)) await this.scancel(sj.jobId).catch((err) => this.o.logger.warn({ err, job: row.id }, 'scancel failed'));
        continue;
      }
      // The Slurm job is over but the run is still current: its batch job died without recording the end.
      const ok = await this.o.store.endRun(row.id, row.attempt, endOfVanished(row, sj));
      if (ok) this.o.logger.warn({ job: row.id, slurmJobId: row.worker_pid, state: sj?.state ?? 'gone' }, 'ended a run whose Slurm job ended without reporting');
    }
  }

  /** The partition's Slurm nodes and which platform job runs on which (for GET /v1/cluster). */
  view(): SlurmNodeView[] {
    return this.nodes.map((n) => ({
      ...n, usable: usable(n),
      jobs: this.jobs.filter((j) => j.state === 'RUNNING' && j.batchHost === n.name)
        .map((j) => ({ job: j.name.slice(SLURM_JOB_PREFIX.length), slurmJobId: j.jobId, state: j.state })),
    }));
  }

  /** Slurm jobs of this platform not running on a node yet. */
  pending(): { job: string; slurmJobId: number; state: string; reason: string }[] {
    return this.jobs.filter((j) => j.state === 'PENDING' || j.state === 'REQUEUED' || j.state === 'CONFIGURING')
      .map((j) => ({ job: j.name.slice(SLURM_JOB_PREFIX.length), slurmJobId: j.jobId, state: j.state, reason: j.reason }));
  }
}

function usable(n: SlurmNode): boolean {
  return !UNUSABLE.has(n.state.toUpperCase()) && !n.flags.some((f) => UNUSABLE.has(f.toUpperCase()));
}

function endOfVanished(row: JobsTable, sj: SlurmJob | undefined): RunEnd {
  const what = sj ? `Slurm job ${sj.jobId} ended ${sj.state} (exit code ${sj.exitCode}) on ${sj.batchHost || 'no node'}` : `Slurm job ${row.worker_pid} is gone from Slurm`;
  if (row.cancel_requested) return { status: 'cancelled', attemptOutcome: 'cancelled' };
  if (!sj || ['NODE_FAIL', 'BOOT_FAIL', 'PREEMPTED'].includes(sj.state)) {
    return { status: 'queued', attemptOutcome: 'lost', error: what, queueReason: `${what}; resumes from its last checkpoint` };
  }
  if (sj.state === 'OUT_OF_MEMORY') return { status: 'failed', attemptOutcome: 'failed', error: `${what}: out of memory; ask for more resources.memoryMb`, errorCode: 'out_of_memory', countsAsFailure: true };
  if (sj.state === 'TIMEOUT' || sj.state === 'DEADLINE') return { status: 'failed', attemptOutcome: 'failed', error: `${what}: the partition's time limit`, errorCode: 'slurm_time_limit', countsAsFailure: true };
  return { status: 'failed', attemptOutcome: 'failed', error: `${what} without reporting; the batch job's output is in AIAAS_SLURM_OUTPUT`, errorCode: 'slurm_job_ended', countsAsFailure: true };
}

/** A run that could not be submitted: back to the queue after a backoff while attempts remain. */
function retryOrFail(job: JobsTable, message: string, code: string): RunEnd {
  const failures = job.failures + 1;
  if (failures >= job.max_attempts) return { status: 'failed', attemptOutcome: 'failed', error: message, errorCode: code, countsAsFailure: true };
  const notBefore = new Date(Date.now() + job.backoff_seconds * 2 ** (failures - 1) * 1000).toISOString();
  return { status: 'queued', attemptOutcome: 'failed', error: message, errorCode: code, countsAsFailure: true, notBefore, queueReason: `retrying: ${message}` };
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
