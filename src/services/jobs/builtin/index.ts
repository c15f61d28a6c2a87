/**
 * The built-in diagnostic job types, real jobs users can run (and the tests and benchmarks use):
 * - `noop`: finishes at once. Measures the job system itself (scheduling, process start, records).
 * - `sleep`: works in `steps` over `seconds`, reports progress, checkpoints its step counter after
 *   every step, honours cancel and preemption, and can fail on purpose (`failAt`, `retryable`,
 *   `failAttempts`, `crash`) to exercise retries, crash handling, preemption and resume.
 * Both run in a worker process like every other job.
 */
import { specCheck, type JobType } from '../job-type.js';
import { InvalidInputError } from '../../../infra/errors.js';

export interface SleepSpec {
  seconds: number;
  steps: number;
  /** Fail when this step is reached (1-based). */
  failAt?: number;
  retryable: boolean;
  /** Fail only in the first N runs (default: every run). */
  failAttempts?: number;
  /** How to fail at `failAt`: throw an error (default), exit the process, or run out of memory. */
  crash: 'throw' | 'exit' | 'oom';
}

export const noopJob: JobType<Record<string, never>> = {
  name: 'noop',
  description: 'Finishes at once (diagnostic: measures the job system).',
  module: new URL('./noop-job.js', import.meta.url).href,
  defaultResources: { cpu: 1, memoryMb: 128, gpu: 0 },
  validate(spec) {
    specCheck.noOthers(spec, []);
    return { spec: {} };
  },
};

export const sleepJob: JobType<SleepSpec> = {
  name: 'sleep',
  description: 'Sleeps in steps, checkpointing each (diagnostic: scheduling, preemption, resume, retries).',
  module: new URL('./sleep-job.js', import.meta.url).href,
  defaultResources: { cpu: 1, memoryMb: 128, gpu: 0 },
  validate(spec) {
    specCheck.noOthers(spec, ['seconds', 'steps', 'failAt', 'retryable', 'failAttempts', 'crash']);
    const seconds = specCheck.number(spec, 'seconds', { min: 0, max: 86_400 });
    const steps = specCheck.number(spec, 'steps', { min: 1, max: 100_000, integer: true, default: Math.max(1, Math.min(100, Math.ceil(seconds))) });
    const failAt = spec.failAt === undefined ? undefined : specCheck.number(spec, 'failAt', { min: 1, max: steps, integer: true });
    const failAttempts = spec.failAttempts === undefined ? undefined : specCheck.number(spec, 'failAttempts', { min: 1, integer: true });
    const crash = spec.crash ?? 'throw';
    if (crash !== 'throw' && crash !== 'exit' && crash !== 'oom') {
      throw new InvalidInputError('invalid_job_spec', `'crash' must be "throw", "exit" or "oom".`, { field: 'crash' });
    }
    return { spec: { seconds, steps, failAt, failAttempts, retryable: specCheck.boolean(spec, 'retryable', false), crash } };
  },
};

export const builtinJobTypes = [noopJob, sleepJob];
