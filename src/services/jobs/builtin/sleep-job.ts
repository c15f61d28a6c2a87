/** The `sleep` job (see ./index.ts): steps, progress, a checkpoint per step, failures on demand. */
import { RetryableError, type JobContext, type JobOutcome } from '../job-type.js';
import type { SleepSpec } from './index.js';

export async function run(ctx: JobContext<SleepSpec>): Promise<JobOutcome> {
  const { seconds, steps, failAt, failAttempts, retryable, crash } = ctx.spec;
  const saved = await ctx.checkpoint.load();
  let step = saved ? (JSON.parse(Buffer.from(saved).toString('utf8')) as { step: number }).step : 0;
  const resumedFromStep = step;
  let stepsThisRun = 0;
  const stepMs = (seconds * 1000) / steps;
  ctx.log(`sleep: ${steps} steps of ${stepMs.toFixed(0)} ms, ${saved ? `resuming at step ${step}` : 'starting'} (run ${ctx.attempt})`);
  while (step < steps) {
    await pause(stepMs, ctx.signal);
    if (ctx.signal.aborted) {
      ctx.log(`sleep: stopping at step ${step} (${String(ctx.signal.reason)})`);
      return {};
    }
    step += 1;
    stepsThisRun += 1;
    if (step === failAt && (failAttempts === undefined || ctx.attempt <= failAttempts)) {
      ctx.log(`sleep: failing at step ${step} on purpose (${crash})`);
      if (crash === 'exit') process.exit(3);
      if (crash === 'oom') exhaustMemory();
      throw retryable ? new RetryableError(`failed on purpose at step ${step}`) : new Error(`failed on purpose at step ${step}`);
    }
    await ctx.checkpoint.save(Buffer.from(JSON.stringify({ step })));
    ctx.progress({ fraction: step / steps, message: `step ${step} of ${steps}` });
  }
  return { metrics: { steps, resumedFromStep, stepsThisRun } };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

function exhaustMemory(): never {
  const hoard: number[][] = [];
  for (;;) hoard.push(new Array(1_000_000).fill(hoard.length));
}
