/** A job for tests of the worker processes: reports its process and its job id and thread count from the environment. */
import type { JobContext, JobOutcome } from '../job-type.js';

export async function run(ctx: JobContext): Promise<JobOutcome> {
  return { metrics: { pid: process.pid, envJobId: process.env.AIAAS_JOB_ID ?? null, ompThreads: process.env.OMP_NUM_THREADS ?? null, jobId: ctx.jobId } };
}
