/** The `noop` job: does nothing, at once. */
import type { JobContext, JobOutcome } from '../job-types.js';

export async function run(_ctx: JobContext): Promise<JobOutcome> {
  return {};
}
