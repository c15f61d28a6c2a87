/**
 * One run of a job, supervised: starts the job's child process (process-runner.ts), writes what it
 * reports into the store (progress, metrics, log lines, checkpoints; buffered, in order), and
 * records how the run ended (judged from its exit and why it was stopped). A node agent holds one
 * per running job; a Slurm batch job (slurm-run.ts) holds exactly one.
 */
import { blobEnv, type Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import { nowIso } from '../../infra/ids.js';
import type { JobsTable } from '../../infra/store/tables-jobs.js';
import type { AbortReason, Progress } from './job-type.js';
import type { JobStore, NewEvent, RunEnd } from './job-store.js';
import { startRun, type RunExit, type RunHandle } from './process-runner.js';
import { SpareWorkers } from './spare-workers.js';
import type { Principal, Role } from '../principal.js';

/** Why a run was asked to stop: a job's abort reason, its node shutting down, or (Slurm) a requeue Slurm will restart. */
export type StopReason = AbortReason | 'shutdown' | 'requeue';

export interface JobRunOptions {
  store: JobStore;
  config: Config;
  logger: Logger;
  nodeId: string;
  workerEntry: string;
  /** The job type's module (undefined: unknown here, the run fails at once). */
  module: string | undefined;
  /** GPUs granted (default: the ones the platform's scheduler chose). */
  gpuIds?: number[];
  /** Extra environment of the child process. */
  env?: Record<string, string>;
  /** Workers started ahead (the local agent's): the run takes one when it fits, else forks its own. */
  spares?: SpareWorkers;
  onEnded?(run: JobRun): void;
}

/** The environment every worker of this node gets (a spare is started with it). */
export function workerEnv(cfg: Config): Record<string, string | undefined> {
  return { ...process.env, AIAAS_HOME: cfg.home, AIAAS_DATABASE_URL: cfg.databaseUrl ?? '', ...blobEnv(cfg.blobs) };
}

const FLUSH_MS = 100;
const MAX_LOG_LINES_PER_RUN = 20_000;
const MAX_BACKOFF_SECONDS = 600;

export class JobRun {
  readonly jobId: string;
  readonly tenantId: string;
  readonly attempt: number;
  handle?: RunHandle;
  abortReason?: StopReason;
  /** Resolves once the end of the run is recorded (or deliberately left to a restart). */
  readonly ended: Promise<void>;
  private killTimer?: NodeJS.Timeout;
  /** Buffered reports, written together (at most every FLUSH_MS). */
  private events: NewEvent[] = [];
  private progress?: Progress;
  private metrics: Record<string, unknown>[] = [];
  private flushTimer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private logLines = 0;

  constructor(private readonly job: JobsTable, private readonly o: JobRunOptions) {
    this.jobId = job.id;
    this.tenantId = job.tenant_id;
    this.attempt = job.attempt;
    this.ended = this.begin();
  }

  private begin(): Promise<void> {
    const job = this.job;
    if (!this.o.module) {
      return this.end({ kind: 'failed', message: `job type '${job.type}' is not known on node ${this.o.nodeId}`, retryable: false, code: 'unknown_job_type' });
    }
    const gpuIds = this.o.gpuIds ?? (job.gpu_ids ? (JSON.parse(job.gpu_ids) as number[]) : []);
    const threads = Math.max(1, Math.floor(job.cpu));
    const principal: Principal = {
      keyId: job.created_by ?? '', keyName: '', role: (job.created_role ?? 'developer') as Role,
      tenantId: job.tenant_id, keyTenantId: job.tenant_id, endpoint: null,
    };
    const perJob: Record<string, string> = {
      AIAAS_JOB_ID: job.id, CUDA_VISIBLE_DEVICES: gpuIds.join(','), OMP_NUM_THREADS: String(threads), UV_THREADPOOL_SIZE: String(Math.max(4, threads)),
    };
    const env = { ...workerEnv(this.o.config), ...perJob, ...this.o.env };
    const spare = !this.o.env && SpareWorkers.fits({ threads, gpuIds }) ? this.o.spares?.take(job.memory_mb) : undefined;
    try {
      this.handle = startRun({
        workerEntry: this.o.workerEntry, memoryMb: job.memory_mb, env, spare,
        job: {
          jobId: job.id, tenantId: job.tenant_id, type: job.type, name: job.name, spec: JSON.parse(job.spec), attempt: job.attempt,
          principal, resources: { cpu: job.cpu, memoryMb: job.memory_mb, gpu: job.gpu, gpuIds }, threads, module: this.o.module,
          checkpoint: job.checkpoint_blob, env: perJob,
        },
        hooks: {
          progress: (p) => { this.progress = p; this.queue({ kind: 'progress', data: { ...p } }); },
          metrics: (m) => { this.metrics.push(m); this.queue({ kind: 'metrics', data: m }); },
          log: (line, stream) => {
            if (++this.logLines > MAX_LOG_LINES_PER_RUN) return;
            const text = this.logLines === MAX_LOG_LINES_PER_RUN ? `[log truncated after ${MAX_LOG_LINES_PER_RUN} lines]` : line;
            this.queue({ kind: 'log', data: { line: text, stream } });
          },
          checkpoint: async (hash, bytes, blobs) => {
            await this.flush();
            const ok = await this.o.store.saveCheckpoint(this.jobId, this.attempt, hash, bytes, blobs);
            if (!ok) throw new Error('this run is no longer the job\'s current run');
          },
        },
      });
    } catch (err) {
      return this.end({ kind: 'failed', message: `could not start a worker process: ${(err as Error).message}`, retryable: true });
    }
    if (job.cancel_requested) this.abort('cancel');
    return this.handle.done.then((exit) => this.end(exit), (err) => this.end({ kind: 'failed', message: String(err), retryable: false }));
  }

  /** Asks the run to stop; kills it when it has not stopped after the grace period. */
  abort(reason: StopReason): boolean {
    if (!this.handle) return false;
    if (this.abortReason && !(reason === 'cancel' && this.abortReason !== 'cancel')) return true;
    this.abortReason = reason;
    this.handle.abort(reason === 'shutdown' || reason === 'requeue' ? 'preempt' : reason);
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.handle?.kill(), Math.max(0, this.o.config.scheduler.graceSeconds * 1000));
    return true;
  }

  /** The store no longer gives this run to us (declared lost, requeued elsewhere): stop it now. */
  lost(): void {
    if (!this.handle || this.abortReason) return;
    this.abortReason = 'lost';
    this.handle.kill();
  }

  /** Resolves when the reports written so far are in the store. */
  settled(): Promise<void> {
    return this.writing;
  }

  private queue(e: NewEvent): void {
    this.events.push({ ...e, at: nowIso() });
    this.flushTimer ??= setTimeout(() => { void this.flush(); }, FLUSH_MS);
  }

  /** Writes buffered reports, in order. */
  private flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const events = this.events.splice(0);
    const progress = this.progress;
    const metrics = this.metrics.splice(0);
    this.progress = undefined;
    if (!events.length && !progress && !metrics.length) return this.writing;
    this.writing = this.writing.then(() =>
      this.o.store.report(this.jobId, this.tenantId, this.attempt, { progress, metrics }, events).then(() => undefined),
    ).catch((err) => this.o.logger.warn({ err, job: this.jobId }, 'writing job reports failed'));
    return this.writing;
  }

  private async end(exit: RunExit): Promise<void> {
    clearTimeout(this.killTimer);
    await this.flush();
    try {
      // Stopped for a requeue that Slurm restarts: the restarted batch job ends this attempt itself.
      if (this.abortReason === 'requeue') return;
      const ok = await this.o.store.endRun(this.jobId, this.attempt, this.judge(exit));
      if (!ok) this.o.logger.info({ job: this.jobId, attempt: this.attempt }, 'run ended after it was no longer current; ignored');
    } catch (err) {
      this.o.logger.error({ err, job: this.jobId }, 'recording the end of a run failed; the lease timeout will requeue it');
    } finally {
      this.o.onEnded?.(this);
    }
  }

  /** What a run's exit means for the job. */
  private judge(exit: RunExit): RunEnd {
    const reason = this.abortReason;
    const job = this.job;
    if (reason === 'cancel') return { status: 'cancelled', attemptOutcome: 'cancelled' };
    if (reason === 'preempt') {
      return {
        status: 'queued', attemptOutcome: 'preempted', preempted: true,
        queueReason: 'preempted by a higher-priority job; resumes from its last checkpoint',
      };
    }
    if (reason === 'shutdown') return { status: 'queued', attemptOutcome: 'interrupted', queueReason: 'its node shut down; resumes from its last checkpoint' };
    if (reason === 'lost') return { status: 'queued', attemptOutcome: 'lost', queueReason: 'its run was lost; resumes from its last checkpoint' };
    if (exit.kind === 'done') return { status: 'succeeded', attemptOutcome: 'succeeded', metrics: exit.outcome.metrics, result: exit.outcome.result ?? null };
    if (exit.kind === 'aborted') return { status: 'queued', attemptOutcome: 'interrupted', queueReason: 'its run was interrupted; resumes from its last checkpoint' };
    let message: string;
    let code: string;
    let retryable = false;
    if (exit.kind === 'failed') {
      message = exit.message;
      code = exit.code ?? 'job_failed';
      retryable = exit.retryable;
    } else if (exit.outOfMemory) {
      message = `the job ran out of memory: its heap is limited to resources.memoryMb = ${job.memory_mb} MB; ask for more memory`;
      code = 'out_of_memory';
    } else if (exit.signal) {
      message = `the worker process was killed by ${exit.signal}${exit.signal === 'SIGKILL' ? ' (by the operating system, possibly for lack of memory)' : ''}`;
      code = 'worker_killed';
    } else {
      const tail = exit.stderrTail.trim().split('\n').slice(-3).join(' | ');
      message = `the worker process exited with code ${exit.exitCode}${tail ? `: ${tail}` : ''}`;
      code = 'worker_exited';
    }
    const failures = job.failures + 1;
    if (retryable && failures < job.max_attempts) {
      const delay = Math.min(MAX_BACKOFF_SECONDS, job.backoff_seconds * 2 ** (failures - 1)) * (1 + Math.random() * 0.2);
      const notBefore = new Date(Date.now() + delay * 1000).toISOString();
      return {
        status: 'queued', attemptOutcome: 'failed', error: message, errorCode: code, countsAsFailure: true, notBefore,
        queueReason: `retrying after a retryable failure (${failures} of ${job.max_attempts} attempts failed): ${message}`,
      };
    }
    return { status: 'failed', attemptOutcome: 'failed', error: message, errorCode: code, countsAsFailure: true };
  }
}
