/**
 * The `tune` job's spec (API.md): a base train spec, a search space, a strategy (grid, random,
 * successive halving), the number of trials, cross-validation folds and the metric to optimise.
 * Every candidate is drawn and validated as a train spec at submission, so a bad space is a 422
 * before anything runs.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { closest } from '../../infra/did-you-mean.js';
import type { Resources } from '../jobs/job-type.js';
import { applyParams, countGrid, gridCandidates, parseSpace, randomCandidates, type Params } from './search-space.js';
import { isNeural, tunablePaths, validateTrainSpec, type SpecContext, type TrainSpec } from './train-spec.js';

export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'logLoss', 'rocAuc'];
export const REGRESSION_METRICS = ['r2', 'mse', 'rmse', 'mae'];
const LOWER_IS_BETTER = new Set(['logLoss', 'mse', 'rmse', 'mae']);

export interface Candidate {
  params: Params;
  spec: TrainSpec;
}

export interface TuneSpec {
  name: string;
  strategy: 'grid' | 'random' | 'halving';
  metric: string;
  higherIsBetter: boolean;
  cv: number;
  seed: number;
  candidates: Candidate[];
  /** Halving: the reduction factor between rungs. */
  eta: number;
  trialResources: Resources;
}

// The trial table's shape is part of the API (a tune job's metrics.tuning): src/api states it.
export type { Trial, TuningSummary } from '../../api/training-types.js';

const FIELDS = ['base', 'space', 'strategy', 'trials', 'cv', 'metric', 'seed', 'eta', 'trialResources'];
/** Trials of one tune job (each a child train job): the grid's size is checked against this before it is built. */
export const MAX_TRIALS = 200;

export async function validateTuneSpec(raw: Record<string, unknown>, ctx: SpecContext & { name?: string }): Promise<TuneSpec> {
  for (const k of Object.keys(raw)) {
    if (FIELDS.includes(k)) continue;
    const suggestion = closest(k, FIELDS);
    throw new InvalidInputError('invalid_tune_spec', `${k}: unknown field${suggestion ? `; did you mean '${suggestion}'?` : ';'} a tune job takes name, ${FIELDS.join(', ')}.`, { field: k, ...(suggestion ? { suggestion } : {}) });
  }
  const base = raw.base;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    throw new InvalidInputError('invalid_tune_spec', `base: give the train job to tune, e.g. {"dataset": "iris", "target": "species", "model": {"kind": "mlp"}}.`, { field: 'base' });
  }
  const baseSpec = { ...(base as Record<string, unknown>) };
  delete baseSpec.type;
  const name = ctx.name ?? (typeof baseSpec.name === 'string' ? baseSpec.name : undefined);
  if (!name) throw new InvalidInputError('invalid_tune_spec', 'name: give the model name for the best trial ("name" of the job, or base.name).', { field: 'name' });
  baseSpec.name = name;
  const baseKind = typeof (baseSpec.model as { kind?: unknown } | undefined)?.kind === 'string' ? (baseSpec.model as { kind: string }).kind : undefined;
  const rawKeys = typeof raw.space === 'object' && raw.space !== null ? Object.keys(raw.space) : [];
  const modelKeys = rawKeys.filter((k) => k.startsWith('model.') && k !== 'model.kind');
  if (!baseKind && !rawKeys.includes('model.kind') && modelKeys.length > 0) {
    throw new InvalidInputError('invalid_tune_spec', `base.model: give the model kind whose ${modelKeys.join(', ')} the space tunes, e.g. "model": {"kind": "random_forest"}, or put model.kind in the space.`, { field: 'base.model' });
  }
  const space = parseSpace(raw.space, (sp) => tunablePaths([baseKind, ...(Array.isArray(sp['model.kind']) ? sp['model.kind'] : [])]));
  const strategy = raw.strategy ?? 'random';
  if (strategy !== 'grid' && strategy !== 'random' && strategy !== 'halving') throw new InvalidInputError('invalid_tune_spec', `strategy: use 'grid', 'random' or 'halving'.`, { field: 'strategy' });
  const trials = raw.trials === undefined ? (strategy === 'grid' ? MAX_TRIALS : 10) : raw.trials;
  if (!Number.isInteger(trials) || (trials as number) < 1 || (trials as number) > MAX_TRIALS) {
    throw new InvalidInputError('invalid_tune_spec', `trials: an integer from 1 to ${MAX_TRIALS} (the limit per tune job); got ${JSON.stringify(trials)}.`, { field: 'trials', limit: MAX_TRIALS });
  }
  if (strategy === 'grid') checkGridSize(space, trials as number, raw.trials !== undefined);
  const cv = raw.cv === undefined ? 0 : raw.cv;
  if (!Number.isInteger(cv) || (cv !== 0 && ((cv as number) < 2 || (cv as number) > 20))) throw new InvalidInputError('invalid_tune_spec', 'cv: 0 (one held-out validation split) or the number of folds, 2 to 20.', { field: 'cv' });
  const seed = raw.seed === undefined ? 0 : raw.seed;
  if (!Number.isInteger(seed)) throw new InvalidInputError('invalid_tune_spec', 'seed: an integer.', { field: 'seed' });
  const eta = raw.eta === undefined ? 3 : raw.eta;
  if (!Number.isInteger(eta) || (eta as number) < 2 || (eta as number) > 10) throw new InvalidInputError('invalid_tune_spec', 'eta: an integer from 2 to 10.', { field: 'eta' });

  const params = strategy === 'grid' ? gridCandidates(space) : randomCandidates(space, trials as number, seed as number);
  const candidates: Candidate[] = [];
  for (const [i, p] of params.entries()) {
    try {
      candidates.push({ params: p, spec: await validateTrainSpec(applyParams(baseSpec, p), ctx) });
    } catch (err) {
      const e = err as { message?: string; details?: Record<string, unknown> };
      throw new InvalidInputError('invalid_tune_candidate', `Candidate ${i} (${JSON.stringify(p)}) is not a valid train spec: ${e.message}`, { candidate: p, ...e.details });
    }
  }
  const task = candidates[0]!.spec.task;
  const allowed = task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
  const metric = raw.metric ?? (task === 'classification' ? 'accuracy' : 'r2');
  if (typeof metric !== 'string' || !allowed.includes(metric)) throw new InvalidInputError('invalid_tune_spec', `metric: for ${task}, use one of ${allowed.join(', ')}.`, { field: 'metric' });
  const trialResources = { cpu: 0.5, memoryMb: 1024, gpu: 0, ...(raw.trialResources as Partial<Resources> | undefined) };
  return { name, strategy, metric, higherIsBetter: !LOWER_IS_BETTER.has(metric), cv: cv as number, seed: seed as number, candidates, eta: eta as number, trialResources };
}

/** A grid larger than the trials it may run is refused from its size alone, before any point is built. */
function checkGridSize(space: ReturnType<typeof parseSpace>, trials: number, given: boolean): void {
  const { points, factors, over } = countGrid(space, trials);
  if (!over) return;
  const size = Number.isFinite(points) ? points.toLocaleString('en-US') : 'more than 10^308';
  const fix = given && trials < MAX_TRIALS ? 'narrow the space or raise trials' : `narrow the space (fewer choices, fewer gridPoints or a larger step), or use "strategy": "random" with trials ≤ ${MAX_TRIALS}`;
  throw new InvalidInputError('search_space_too_large', `space: the grid has ${size} points (${factors.join(' × ')}), more than ${given ? `trials = ${trials}` : `the limit of ${MAX_TRIALS} trials`}; ${fix}.`,
    { field: 'space', gridPoints: Number.isFinite(points) ? points : null, limit: trials, maxTrials: MAX_TRIALS });
}

/** The budget a halving rung scales: epochs for networks, trees or boosting rounds for ensembles. */
export function withBudget(spec: TrainSpec, fraction: number): TrainSpec {
  if (fraction >= 1) return spec;
  const scale = (full: number) => Math.max(1, Math.round(full * fraction));
  if (isNeural(spec.model.kind)) return { ...spec, training: { ...spec.training, epochs: scale(spec.training.epochs) } };
  if (spec.model.kind === 'random_forest') return { ...spec, model: { ...spec.model, nEstimators: scale(Number(spec.model.nEstimators ?? 100)) } };
  if (spec.model.kind === 'gradient_boosting') return { ...spec, model: { ...spec.model, maxIter: scale(Number(spec.model.maxIter ?? 100)) } };
  return spec;
}
