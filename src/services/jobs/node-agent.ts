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
import type { Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import type { Db } from '../../infra/store/database.js';
import { nowIso } from '../../infra/ids.js';
import type { JobsTable } from '../../infra/store/tables-jobs.js';
import type { JobOutcome, Resources } from './job-type.js';
import type { JobStore } from './job-store.js';
import { JobRun, workerEnv, type StopReason } from './job-run.js';
import { SpareWorkers } from './spare-workers.js';
import type { Executor } from './executor.js';

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

/** The local executor: jobs run as forked worker processes of this machine. */
export class NodeAgent implements Executor {
  readonly kind = 'local';
  readonly nodeId: string;
  private readonly runs = new Map<string, JobRun>();
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private beating?: Promise<void>;
  private readonly spares?: SpareWorkers;

  constructor(private readonly o: AgentOptions) {
    this.nodeId = o.nodeId;
    const count = o.config.spareWorkers;
    if (count > 0) this.spares = new SpareWorkers({ workerEntry: o.workerEntry, env: workerEnv(o.config), count });
  }

  /** Idle spare worker processes (spare-workers.ts). */
  get spareWorkers(): number {
    return this.spares?.size ?? 0;
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
    // The first spare is for a train job at its default heap (the most common first job).
    this.refill(2048, this.o.moduleOf?.('train'));
  }

  private refill(memoryMb: number, module: string | undefined): void {
    this.spares?.fill(memoryMb, module);
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
          if (!inStore.has(`${run.jobId}#${run.attempt}`)) run.lost();
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
    const run = new JobRun(job, {
      store: this.o.store, config: this.o.config, logger: this.o.logger, nodeId: this.nodeId, workerEntry: this.o.workerEntry,
      module, spares: this.spares,
      onEnded: () => {
        this.runs.delete(job.id);
        this.o.onRunEnded?.();
        if (!this.stopping) this.refill(job.memory_mb, module);
      },
    });
    this.runs.set(job.id, run);
    const handle = run.handle;
    if (handle) void this.o.store.setPid(job.id, job.attempt, handle.pid).catch((err) => this.o.logger.warn({ err, job: job.id }, 'recording the worker pid failed'));
  }

  /** Asks a run to stop; kills it when it has not stopped after the grace period. */
  abort(jobId: string, reason: StopReason): boolean {
    return this.runs.get(jobId)?.abort(reason) ?? false;
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
    await this.spares?.stop();
    await this.beating;
    const waits = [...this.runs.values()].map((r) => {
      r.abort('shutdown');
      return r.ended;
    });
    await Promise.allSettled(waits);
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
