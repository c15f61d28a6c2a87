/**
 * A job type for tests: it asks the ml layer for an impossible cross-validation (one fold), so a
 * real lower-layer DomainError is thrown inside the worker process.
 */
import { kFold } from '../../../ml/metrics/validation.js';
import type { JobContext, JobOutcome } from '../job-type.js';

export async function run(ctx: JobContext<{ rows: number; folds: number }>): Promise<JobOutcome> {
  kFold(ctx.spec.rows, ctx.spec.folds);
  return {};
}
