/**
 * Where jobs run once the scheduler admitted them. The platform keeps what is its own (tenants,
 * quotas, priorities, fair share, admission: scheduler/); an executor only runs what it is given
 * and reports it into the store.
 *
 * - `local` (node-agent.ts): forked worker processes on this machine, one node in the store.
 * - `slurm` (slurm/slurm-executor.ts): one Slurm batch job per run, submitted through slurmrestd;
 *   Slurm places and runs it, the batch job writes to PostgreSQL and S3 itself.
 *
 * The executor appears to the scheduler as a node row (`nodeId`) whose capacity is what it can
 * run now; the scheduler claims jobs onto it and calls `launch`; cancel and preemption reach it
 * through `abort` (and the store's flags, for runs another process supervises).
 */
import type { JobsTable } from '../../infra/store/tables-jobs.js';
import type { StopReason } from './job-run.js';

export interface Executor {
  readonly kind: 'local' | 'slurm';
  /** The node row the scheduler claims this executor's jobs onto. */
  readonly nodeId: string;
  /** Registers the node row and starts heartbeating it. */
  start(): Promise<void>;
  /** Starts a run of a job claimed onto `nodeId` (idempotent per job and attempt). */
  launch(job: JobsTable): void;
  /** Asks a run to stop; false when this executor does not know it. */
  abort(jobId: string, reason: StopReason): boolean;
  /** Stops heartbeating; runs of a local executor checkpoint and go back to the queue. */
  stop(): Promise<void>;
}
