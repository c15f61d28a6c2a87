/** The `noop` job: does nothing, at once. */
import type { JobContext, JobOutcome } from '../job-type.js';

export async function run(_ctx: JobContext): Promise<JobOutcome> {
  return {};
}
