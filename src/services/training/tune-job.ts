/**
 * The `tune` job: trials run as child `train` jobs (so they run in parallel within the tenant's
 * resources and show up in GET /v1/jobs with `parent`), rung by rung for successive halving; the
 * best candidate is then trained on all training rows and registered. The trial table is kept in
 * the job's metrics, and checkpointed so a preempted or restarted tune job re-attaches to its
 * children instead of starting over.
 */
import type { JobContext, JobOutcome } from '../jobs/job-type.js';
import { JobStore } from '../jobs/job-store.js';
import { trainJob } from './training-jobs.js';
import { withBudget, type Trial, type TuneSpec, type TuningSummary } from './tune-spec.js';
import type { TrainSpec } from './train-spec.js';
import type { TrialMetrics } from './metrics-spec.js';

interface TuneState {
  trials: Trial[];
  finalJob?: string;
}

const POLL_MS = 500;
const DONE = new Set(['succeeded', 'failed', 'cancelled']);

export async function run(ctx: JobContext<TuneSpec>): Promise<JobOutcome> {
  const spec = ctx.spec;
  const { db } = await ctx.services();
  const store = new JobStore(db);
  const saved = await ctx.checkpoint.load();
  const state: TuneState = saved ? JSON.parse(new TextDecoder().decode(saved)) : { trials: [] };
  const save = () => ctx.checkpoint.save(new TextEncoder().encode(JSON.stringify(state)));
  const submit = async (trainSpec: TrainSpec, label: string) => {
    const row = await store.create({
      tenantId: ctx.tenantId, type: trainJob.name, module: trainJob.module, name: `${spec.name}-${label}`, priority: 0,
      spec: trainSpec, resources: spec.trialResources, maxAttempts: 2, backoffSeconds: 2, parentId: ctx.jobId,
      createdBy: ctx.principal.keyId, createdRole: ctx.principal.role,
    });
    return row.id;
  };
  ctx.signal.addEventListener('abort', () => {
    // A cancelled tune job takes its trials with it; a preempted one leaves them running and re-attaches.
    if (ctx.signal.reason === 'cancel') void cancelChildren(store, [...state.trials.map((t) => t.job), state.finalJob ?? '']);
  });

  const rungs = plan(spec);
  let alive = spec.candidates.map((_, i) => i);
  for (const [r, budget] of rungs.entries()) {
    for (const c of alive) {
      if (state.trials.some((t) => t.rung === r && t.candidate === c)) continue;
      const trialSpec: TrainSpec = { ...withBudget(spec.candidates[c]!.spec, budget), trial: { cv: spec.cv, metric: spec.metric } };
      state.trials.push({ candidate: c, rung: r, budget, job: await submit(trialSpec, `trial-${c}-r${r}`) });
    }
    await save();
    ctx.log(`rung ${r + 1}/${rungs.length}: ${alive.length} candidates at ${Math.round(budget * 100)}% budget`);
    await waitFor(ctx, store, state.trials.filter((t) => t.rung === r), state, spec);
    await save();
    const scored = state.trials.filter((t) => t.rung === r && t.score !== undefined)
      .sort((a, b) => (spec.higherIsBetter ? b.score! - a.score! : a.score! - b.score!));
    if (scored.length === 0) {
      const why = state.trials.find((t) => t.rung === r && t.error)?.error ?? 'no trial produced a score';
      throw new Error(`every trial of rung ${r + 1} failed; the first error: ${why}`);
    }
    alive = scored.slice(0, r === rungs.length - 1 ? 1 : Math.max(1, Math.ceil(scored.length / spec.eta))).map((t) => t.candidate);
  }

  const best = alive[0]!;
  const bestTrial = state.trials.filter((t) => t.candidate === best).sort((a, b) => b.rung - a.rung)[0]!;
  ctx.log(`best candidate ${best}: ${JSON.stringify(spec.candidates[best]!.params)} (${spec.metric} ${bestTrial.score?.toFixed(4)})`);
  if (!state.finalJob) {
    state.finalJob = await submit(spec.candidates[best]!.spec, 'final');
    await save();
  }
  ctx.progress({ fraction: 0.9, message: 'training the best candidate on all training rows' });
  const final = await waitForJob(ctx, store, state.finalJob);
  if (final.status !== 'succeeded') throw new Error(`the final training of the best candidate ${final.status}: ${final.error ?? ''}`);
  const tuning: TuningSummary = {
    metric: spec.metric, strategy: spec.strategy,
    best: { params: spec.candidates[best]!.params, score: bestTrial.score, job: bestTrial.job },
    trials: state.trials.map((t) => ({ ...t, params: spec.candidates[t.candidate]!.params })),
  };
  return {
    metrics: { ...JSON.parse(final.metrics) as Record<string, unknown>, tuning },
    result: final.result ? JSON.parse(final.result) : undefined,
  };
}

/** Budget fractions per rung: one full-budget rung, or ⌊log_eta(n)⌋+1 rungs growing by eta for halving. */
function plan(spec: TuneSpec): number[] {
  if (spec.strategy !== 'halving') return [1];
  const n = spec.candidates.length;
  const rungs = Math.max(1, Math.floor(Math.log(n) / Math.log(spec.eta) + 1e-9) + 1);
  return Array.from({ length: rungs }, (_, r) => spec.eta ** (r - (rungs - 1)));
}

async function waitFor(ctx: JobContext<TuneSpec>, store: JobStore, trials: Trial[], state: TuneState, spec: TuneSpec): Promise<void> {
  for (;;) {
    let pending = 0;
    for (const t of trials) {
      if (t.status && DONE.has(t.status)) continue;
      const row = await store.row(t.job);
      t.status = row?.status ?? 'cancelled';
      if (row && t.status === 'succeeded') t.score = (JSON.parse(row.metrics) as Partial<TrialMetrics>).trial?.score;
      if (row && t.status === 'failed') t.error = row.error ?? 'failed';
      if (!DONE.has(t.status)) pending++;
    }
    const done = state.trials.filter((t) => t.status && DONE.has(t.status)).length;
    ctx.progress({ fraction: 0.85 * done / Math.max(1, expectedTrials(spec)), message: `${done} trials done` });
    if (pending === 0) return;
    ctx.signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function expectedTrials(spec: TuneSpec): number {
  const rungs = plan(spec);
  let n = spec.candidates.length;
  let total = 0;
  for (let r = 0; r < rungs.length; r++) {
    total += n;
    n = Math.max(1, Math.ceil(n / spec.eta));
  }
  return total;
}

async function waitForJob(ctx: JobContext<TuneSpec>, store: JobStore, id: string) {
  for (;;) {
    const row = await store.row(id);
    if (!row) throw new Error(`child job ${id} disappeared`);
    if (DONE.has(row.status)) return row;
    ctx.signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function cancelChildren(store: JobStore, ids: string[]): Promise<void> {
  for (const id of ids.filter(Boolean)) {
    if (!(await store.cancelQueued(id))) await store.requestCancel(id);
  }
}
