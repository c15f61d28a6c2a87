/** A job for tests of the worker processes: reports its process, its job id from the environment and whether it was imported ahead. */
import type { JobContext, JobOutcome } from '../job-type.js';

const importedAt = performance.now();

export async function run(ctx: JobContext): Promise<JobOutcome> {
  return { metrics: { pid: process.pid, envJobId: process.env.AIAAS_JOB_ID ?? null, ompThreads: process.env.OMP_NUM_THREADS ?? null, importedBeforeStartMs: performance.now() - importedAt, jobId: ctx.jobId } };
}
