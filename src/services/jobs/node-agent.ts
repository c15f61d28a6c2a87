/**
 * A node agent: registers this machine as a node (its CPU, memory and GPUs), heartbeats it and
 * its running jobs into the store, and runs the jobs the scheduler placed on it, each in its own
 * worker process. The server embeds one; `aiaas worker` runs one on its own.
 *
 * - Launch: jobs the scheduler claimed for this node (handed over directly in the embedded mode,
 *   or found in the store by the heartbeat poll).
 * - Control: cancel and preempt flags (set in the store, or handed over directly) abort the run's
 *   signal; a run that does not stop within the grace period is killed.
 * - Recovery: at start, jobs the store says run on this node but that no process of ours runs are
 *   left from a previous life of this node (kill -9, power loss): their worker is killed if it still
 *   exists, and they go back to the queue to resume from their last checkpoint.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { blobEnv, type Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { nowIso } from '../../infra/ids.js';
import type { JobsTable } from '../../infra/store/tables-jobs.js';
import type { AbortReason, JobOutcome, Progress, Resources } from './job-type.js';
import type { JobStore, NewEvent, RunEnd } from './job-store.js';
import { startRun, type RunExit, type RunHandle } from './process-runner.js';
import type { Principal, Role } from '../principal.js';

export interface AgentOptions {
  db: Db;
  store: JobStore;
  config: Config;
  logger: Logger;
  nodeId: string;
  kind: 'embedded' | 'worker';
  workerEntry: string;
  /** The module of a job type, when this process knows the type (else the one recorded with the job). */
  moduleOf?(type: string): string | undefined;
  /** Called when a run ends (the embedded scheduler wakes up to fill the room). */
  onRunEnded?(): void;
}

interface RunState {
  jobId: string;
  tenantId: string;
  attempt: number;
  maxAttempts: number;
  failures: number;
  backoffSeconds: number;
  memoryMb: number;
  handle?: RunHandle;
  abortReason?: AbortReason | 'shutdown';
  preemptFor?: string;
  killTimer?: NodeJS.Timeout;
  /** Buffered reports, written together (at most every FLUSH_MS). */
  events: NewEvent[];
  progress?: Progress;
  metrics: Record<string, unknown>[];
  flushTimer?: NodeJS.Timeout;
  writing: Promise<void>;
  logLines: number;
}

const FLUSH_MS = 100;
const MAX_LOG_LINES_PER_RUN = 20_000;
const MAX_BACKOFF_SECONDS = 600;

export class NodeAgent {
  readonly nodeId: string;
  private readonly runs = new Map<string, RunState>();
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private beating?: Promise<void>;

  constructor(private readonly o: AgentOptions) {
    this.nodeId = o.nodeId;
  }

  get capacity(): Resources {
    return { cpu: this.o.config.cpu, memoryMb: this.o.config.memoryMb, gpu: this.o.config.gpus };
  }

  /** Jobs running here now. */
  get running(): number {
    return this.runs.size;
  }

  async start(): Promise<void> {
    const now = nowIso();
    const row = {
      id: this.nodeId, hostname: os.hostname(), kind: this.o.kind, cpu: this.o.config.cpu, memory_mb: this.o.config.memoryMb,
      gpus: this.o.config.gpus, pid: process.pid, started_at: now, heartbeat_at: now,
    };
    await this.o.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('nodes').where('id', '=', this.nodeId).execute();
      await tx.insertInto('nodes').values(row).execute();
    });
    await this.recoverOrphans('this node restarted while the job ran');
    const every = Math.max(50, this.o.config.scheduler.heartbeatSeconds * 1000);
    this.timer = setInterval(() => { void this.beat(); }, every);
    // In the server the HTTP listener keeps the process up; a worker node lives by this timer.
    if (this.o.kind === 'embedded') this.timer.unref();
  }

  /** One heartbeat: node and jobs; picks up control flags and jobs placed here by another process. */
  beat(): Promise<void> {
    if (this.beating || this.stopping) return this.beating ?? Promise.resolve();
    this.beating = (async () => {
      try {
        await this.o.db.updateTable('nodes').set({ heartbeat_at: nowIso() }).where('id', '=', this.nodeId).execute();
        const flags = await this.o.store.heartbeat(this.nodeId);
        const inStore = new Set(flags.map((f) => `${f.id}#${f.attempt}`));
        for (const f of flags) {
          const run = this.runs.get(f.id);
          if (run && run.attempt === f.attempt) {
            if (f.cancel) this.abort(f.id, 'cancel');
            else if (f.preempt) this.abort(f.id, 'preempt');
          } else if (!run) {
            const row = await this.o.store.row(f.id);
            if (row && row.status === 'running' && row.attempt === f.attempt && row.node_id === this.nodeId && !this.runs.has(f.id) && !this.stopping) {
              if (row.worker_pid === null) this.launch(row);
              else await this.requeueOrphan(row, 'the node agent lost track of its worker process');
            }
          }
        }
        // Runs the store no longer gives this node (declared lost, requeued elsewhere): stop them now.
        for (const run of this.runs.values()) {
          if (run.handle && !inStore.has(`${run.jobId}#${run.attempt}`) && !run.abortReason) {
            run.abortReason = 'lost';
            run.handle.kill();
          }
        }
      } catch (err) {
        this.o.logger.warn({ err }, 'node heartbeat failed');
      } finally {
        this.beating = undefined;
      }
    })();
    return this.beating;
  }

  /** Starts a run of a job claimed for this node (idempotent per job and attempt). */
  launch(job: JobsTable): void {
    if (this.runs.has(job.id) || this.stopping) return;
    const module = this.o.moduleOf?.(job.type) ?? job.module;
    const run: RunState = {
      jobId: job.id, tenantId: job.tenant_id, attempt: job.attempt, maxAttempts: job.max_attempts, failures: job.failures,
      backoffSeconds: job.backoff_seconds, memoryMb: job.memory_mb, events: [], metrics: [], writing: Promise.resolve(), logLines: 0,
    };
    this.runs.set(job.id, run);
    if (!module) {
      void this.end(run, { kind: 'failed', message: `job type '${job.type}' is not known on node ${this.nodeId}`, retryable: false, code: 'unknown_job_type' });
      return;
    }
    const gpuIds = job.gpu_ids ? (JSON.parse(job.gpu_ids) as number[]) : [];
    const threads = Math.max(1, Math.floor(job.cpu));
    const principal: Principal = {
      keyId: job.created_by ?? '', keyName: '', role: (job.created_role ?? 'developer') as Role,
      tenantId: job.tenant_id, keyTenantId: job.tenant_id, endpoint: null,
    };
    const cfg = this.o.config;
    const env: Record<string, string | undefined> = {
      ...process.env, AIAAS_HOME: cfg.home, AIAAS_DATABASE_URL: cfg.databaseUrl ?? '', ...blobEnv(cfg.blobs), AIAAS_JOB_ID: job.id,
      CUDA_VISIBLE_DEVICES: gpuIds.join(','), OMP_NUM_THREADS: String(threads), UV_THREADPOOL_SIZE: String(Math.max(4, threads)),
    };
    try {
      run.handle = startRun({
        workerEntry: this.o.workerEntry, memoryMb: job.memory_mb, env,
        job: {
          jobId: job.id, tenantId: job.tenant_id, type: job.type, name: job.name, spec: JSON.parse(job.spec), attempt: job.attempt,
          principal, resources: { cpu: job.cpu, memoryMb: job.memory_mb, gpu: job.gpu, gpuIds }, threads, module,
          checkpoint: job.checkpoint_blob,
        },
        hooks: {
          progress: (p) => { run.progress = p; this.queue(run, { kind: 'progress', data: { ...p } }); },
          metrics: (m) => { run.metrics.push(m); this.queue(run, { kind: 'metrics', data: m }); },
          log: (line, stream) => {
            if (++run.logLines > MAX_LOG_LINES_PER_RUN) return;
            const text = run.logLines === MAX_LOG_LINES_PER_RUN ? `[log truncated after ${MAX_LOG_LINES_PER_RUN} lines]` : line;
            this.queue(run, { kind: 'log', data: { line: text, stream } });
          },
          checkpoint: async (hash, bytes) => {
            await this.flush(run);
            const ok = await this.o.store.saveCheckpoint(run.jobId, run.attempt, hash, bytes);
            if (!ok) throw new Error('this run is no longer the job\'s current run');
          },
        },
      });
    } catch (err) {
      void this.end(run, { kind: 'failed', message: `could not start a worker process: ${(err as Error).message}`, retryable: true });
      return;
    }
    const handle = run.handle;
    void this.o.store.setPid(job.id, job.attempt, handle.pid).catch((err) => this.o.logger.warn({ err, job: job.id }, 'recording the worker pid failed'));
    if (job.cancel_requested) this.abort(job.id, 'cancel');
    handle.done.then((exit) => this.end(run, exit), (err) => this.end(run, { kind: 'failed', message: String(err), retryable: false }));
  }

  /** Asks a run to stop; kills it when it has not stopped after the grace period. */
  abort(jobId: string, reason: AbortReason | 'shutdown'): boolean {
    const run = this.runs.get(jobId);
    if (!run?.handle) return false;
    if (run.abortReason && !(reason === 'cancel' && run.abortReason !== 'cancel')) return true;
    run.abortReason = reason;
    run.handle.abort(reason === 'shutdown' ? 'preempt' : reason);
    clearTimeout(run.killTimer);
    run.killTimer = setTimeout(() => run.handle?.kill(), Math.max(0, this.o.config.scheduler.graceSeconds * 1000));
    return true;
  }

  private queue(run: RunState, e: NewEvent): void {
    run.events.push({ ...e, at: nowIso() });
    run.flushTimer ??= setTimeout(() => { void this.flush(run); }, FLUSH_MS);
  }

  /** Writes buffered reports of a run, in order. */
  private flush(run: RunState): Promise<void> {
    clearTimeout(run.flushTimer);
    run.flushTimer = undefined;
    const events = run.events.splice(0);
    const progress = run.progress;
    const metrics = run.metrics.splice(0);
    run.progress = undefined;
    if (!events.length && !progress && !metrics.length) return run.writing;
    run.writing = run.writing.then(() =>
      this.o.store.report(run.jobId, run.tenantId, run.attempt, { progress, metrics }, events).then(() => undefined),
    ).catch((err) => this.o.logger.warn({ err, job: run.jobId }, 'writing job reports failed'));
    return run.writing;
  }

  private async end(run: RunState, exit: RunExit): Promise<void> {
    clearTimeout(run.killTimer);
    await this.flush(run);
    const end = this.judge(run, exit);
    try {
      const ok = await this.o.store.endRun(run.jobId, run.attempt, end);
      if (!ok) this.o.logger.info({ job: run.jobId, attempt: run.attempt }, 'run ended after it was no longer current; ignored');
    } catch (err) {
      this.o.logger.error({ err, job: run.jobId }, 'recording the end of a run failed; the lease timeout will requeue it');
    } finally {
      this.runs.delete(run.jobId);
      this.o.onRunEnded?.();
    }
  }

  /** What a run's exit means for the job. */
  private judge(run: RunState, exit: RunExit): RunEnd {
    const reason = run.abortReason;
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
      message = `the job ran out of memory: its heap is limited to resources.memoryMb = ${run.memoryMb} MB; ask for more memory`;
      code = 'out_of_memory';
    } else if (exit.signal) {
      message = `the worker process was killed by ${exit.signal}${exit.signal === 'SIGKILL' ? ' (by the operating system, possibly for lack of memory)' : ''}`;
      code = 'worker_killed';
    } else {
      const tail = exit.stderrTail.trim().split('\n').slice(-3).join(' | ');
      message = `the worker process exited with code ${exit.exitCode}${tail ? `: ${tail}` : ''}`;
      code = 'worker_exited';
    }
    const failures = run.failures + 1;
    if (retryable && failures < run.maxAttempts) {
      const delay = Math.min(MAX_BACKOFF_SECONDS, run.backoffSeconds * 2 ** (failures - 1)) * (1 + Math.random() * 0.2);
      const notBefore = new Date(Date.now() + delay * 1000).toISOString();
      return {
        status: 'queued', attemptOutcome: 'failed', error: message, errorCode: code, countsAsFailure: true, notBefore,
        queueReason: `retrying after a retryable failure (${failures} of ${run.maxAttempts} attempts failed): ${message}`,
      };
    }
    return { status: 'failed', attemptOutcome: 'failed', error: message, errorCode: code, countsAsFailure: true };
  }

  /** Jobs the store says run here that no process of this agent runs: kill leftovers, requeue. */
  private async recoverOrphans(why: string): Promise<void> {
    for (const row of await this.o.store.runningOn(this.nodeId)) {
      if (!this.runs.has(row.id)) await this.requeueOrphan(row, why);
    }
  }

  private async requeueOrphan(row: JobsTable, why: string): Promise<void> {
    if (row.worker_pid) killIfOurWorker(row.worker_pid, path.basename(this.o.workerEntry));
    const ok = await this.o.store.endRun(row.id, row.attempt, {
      status: 'queued', attemptOutcome: 'lost', error: why, queueReason: `${why}; resumes from its last checkpoint`,
    });
    if (ok) this.o.logger.warn({ job: row.id, attempt: row.attempt }, `requeued: ${why}`);
  }

  /**
   * Stops the agent. Running jobs are asked to checkpoint and stop (like a preemption), killed
   * after the grace period, and go back to the queue.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.beating;
    const waits = [...this.runs.values()].map((r) => {
      this.abort(r.jobId, 'shutdown');
      return r.handle?.done.then(() => r.writing);
    });
    await Promise.allSettled(waits);
    // end() runs after done; wait until every run has been recorded.
    for (let i = 0; i < 200 && this.runs.size; i++) await new Promise((r) => setTimeout(r, 10));
    await this.o.db.deleteFrom('nodes').where('id', '=', this.nodeId).execute().catch(() => undefined);
  }
}

/** SIGKILLs a process if it is one of our worker processes (Linux: its command line runs `entry`, checked via /proc). */
function killIfOurWorker(pid: number, entry: string): void {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.includes(entry)) return;
    process.kill(pid, 'SIGKILL');
  } catch {
    // not running (or not inspectable): nothing to kill
  }
}

export type { JobOutcome };
