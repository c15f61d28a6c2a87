/**
 * The Slurm batch job's side of a run (started by the script the Slurm executor submits): opens
 * the store (PostgreSQL) and the blob store (S3) from the environment, checks that this Slurm job
 * still owns the run, and supervises the job's child process exactly as a node agent does
 * (job-run.ts), heartbeating the run and obeying its cancel and preempt flags.
 *
 * - Slurm restarted this batch job (SLURM_RESTART_COUNT > 0: its node failed or Slurm preempted
 *   it): the previous attempt ends as `requeued` and a new one starts in place, resuming from the
 *   last checkpoint in S3.
 * - SIGTERM: scancel (the run's cancel flag is set: the run ends cancelled), the platform's
 *   preemption (flag set: checkpoint, back to the queue), or Slurm's own preemption or shutdown
 *   (no flag: checkpoint and stop; the restarted batch job continues the run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../infra/config.js';
import { createLogger } from '../../../infra/logger.js';
import { openStore } from '../../../infra/store/database.js';
import { openBlobStore } from '../../../infra/open-blob-store.js';
import { BlobRefs } from '../../blob-refs.js';
import { JobStore } from '../job-store.js';
import { JobRun } from '../job-run.js';

export interface BatchJobOptions {
  /** The job process entry (dist/src/interfaces/job-process.js). */
  workerEntry: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs the platform job this batch job was submitted for; resolves with the exit code. */
export async function runSlurmBatchJob(o: BatchJobOptions): Promise<number> {
  const env = o.env ?? process.env;
  const jobId = env.AIAAS_JOB_ID;
  const nodeId = env.AIAAS_SLURM_NODE_ID;
  const slurmJobId = Number(env.SLURM_JOB_ID);
  if (!jobId || !nodeId || !Number.isInteger(slurmJobId)) {
    process.stderr.write('aiaas slurm job: AIAAS_JOB_ID, AIAAS_SLURM_NODE_ID and SLURM_JOB_ID must be set; the Slurm executor submits this, not people.\n');
    return 2;
  }
  // This node's own scratch and blob cache: nothing is shared with the API nodes through a folder.
  // A batch job killed with its node leaves its folder behind: the restarted one removes it.
  const prefix = `aiaas-slurm-${env.SLURM_CLUSTER_NAME ?? 'cluster'}-${slurmJobId}-`;
  for (const stale of fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith(prefix))) fs.rmSync(path.join(os.tmpdir(), stale), { recursive: true, force: true });
  const home = env.AIAAS_HOME || fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const ownHome = !env.AIAAS_HOME;
  const config = loadConfig({ ...env, AIAAS_HOME: home });
  if (!config.blobs.url || !config.databaseUrl) {
    process.stderr.write('aiaas slurm job: AIAAS_DATABASE_URL and AIAAS_BLOB_URL must be set (a Slurm node shares nothing with the API nodes but PostgreSQL and S3).\n');
    return 2;
  }
  const logger = createLogger(config.logLevel, `slurm-job-${slurmJobId}`, 'json');
  const db = await openStore({ home, databaseUrl: config.databaseUrl });
  try {
    const blobs = await openBlobStore(home, config.blobs, { sweepScratch: false });
    const store = new JobStore(db, new BlobRefs(db, blobs));
    let row = await store.row(jobId);
    if (!row || row.status !== 'running' || row.node_id !== nodeId || (row.worker_pid !== null && row.worker_pid !== slurmJobId)) {
      logger.info({ job: jobId, status: row?.status, owner: row?.worker_pid }, 'this Slurm job no longer owns the run; nothing to do');
      return 0;
    }
    const restarts = Number(env.SLURM_RESTART_COUNT ?? 0);
    if (restarts > 0) {
      row = await store.restartRun(jobId, row.attempt, slurmJobId, 'requeued', `Slurm requeued batch job ${slurmJobId} (restart ${restarts}: its node failed or it was preempted)`);
      if (!row) return 0;
      logger.warn({ job: jobId, attempt: row.attempt }, 'restarted by Slurm; resuming from the last checkpoint');
    } else if (row.worker_pid === null) {
      await store.setPid(jobId, row.attempt, slurmJobId);
    }
    const run = new JobRun(row, {
      store, config, logger, nodeId, workerEntry: o.workerEntry, module: row.module,
      gpuIds: (env.CUDA_VISIBLE_DEVICES ?? '').split(',').filter((g) => /^\d+$/.test(g)).map(Number),
      // Slurm signals every process of the job; the child stops when this supervisor tells it to.
      env: { AIAAS_JOB_IGNORE_SIGTERM: '1' },
    });
    const obey = async (onSigterm: boolean) => {
      const flags = await store.heartbeatRun(run.jobId, run.attempt).catch(() => null);
      if (flags === undefined) run.lost();
      else if (flags?.cancel) run.abort('cancel');
      else if (flags?.preempt) run.abort('preempt');
      else if (onSigterm) run.abort('requeue');
    };
    const timer = setInterval(() => { void obey(false); }, Math.max(50, config.scheduler.heartbeatSeconds * 1000));
    const onTerm = () => { void obey(true); };
    process.on('SIGTERM', onTerm);
    await run.ended;
    clearInterval(timer);
    process.off('SIGTERM', onTerm);
    return 0;
  } finally {
    await db.destroy().catch(() => undefined);
    if (ownHome) fs.rmSync(home, { recursive: true, force: true });
  }
}
