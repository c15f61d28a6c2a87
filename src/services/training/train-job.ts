/**
 * The `train` job, as it runs in a worker process: read the dataset, train through the
 * pipeline, measure the artifact on the held-out rows, and register the model version.
 * A network checkpoints after every epoch, so a preempted or crashed job resumes where it was.
 */
import { explainFiles } from './explain-files.js';
import type { JobContext, JobOutcome } from '../jobs/job-type.js';
import { readTable, trainingServices } from './job-services.js';
import { kFold, trainTestSplit } from '../../ml/metrics/validation.js';
import { evaluate, prepareData, stratifyBy, trainOnRows, type PreparedData, type TrainHooks } from './pipeline.js';
import { rawPermutationImportance, type ModelOutputs } from './evaluate.js';
import { DRIFT_PROFILE_FILE, PROFILE_FORMAT, profileOf, profileTable, type DriftProfile } from '../../ml/monitoring/drift-profile.js';
import type { Signature } from '../../ml/signature.js';
import type { TrainSpec } from './train-spec.js';
import type { LmSpec } from './lm-spec.js';
import { runLm } from './lm-job.js';
import { teacherMetrics, teacherTargets } from './teacher.js';
import { historyOf, trainingFigures, type CvSummary, type TrainMetrics, type TrialMetrics } from './metrics-spec.js';

/** Above this many raw columns × held-out rows, default importance uses one repeat. */
const IMPORTANCE_BUDGET = 2_000_000;
/**
 * Above this many raw columns (images: one per pixel) importance is skipped unless the spec asks
 * for it: one scoring pass per column would cost many times the training itself.
 */
const IMPORTANCE_MAX_COLUMNS = 100;

export async function run(ctx: JobContext<TrainSpec | LmSpec>): Promise<JobOutcome> {
  if (ctx.spec.task === 'language_modeling') return runLm(ctx as JobContext<LmSpec>);
  return runTabular(ctx as JobContext<TrainSpec>);
}

async function runTabular(ctx: JobContext<TrainSpec>): Promise<JobOutcome> {
  const { datasets, registry, principal } = await trainingServices(ctx);
  const spec = ctx.spec;
  const hooks: TrainHooks = {
    threads: ctx.threads, signal: ctx.signal,
    progress: (fraction, message, epoch, epochs) => ctx.progress({ fraction, message, epoch, epochs }),
    epochMetrics: (m) => ctx.metrics(m),
    log: (line) => ctx.log(line),
    checkpoint: ctx.checkpoint,
  };
  ctx.progress({ fraction: 0, message: 'loading dataset' });
  const table = await readTable(datasets, principal, spec.dataset, spec.datasetVersion);
  const testTable = spec.testDataset ? await readTable(datasets, principal, spec.testDataset.name, spec.testDataset.version) : undefined;
  const data = prepareData(spec, table, testTable);
  if (spec.trial) return runTrial(ctx, spec, data, hooks);
  let teacherTest;
  if (spec.teacher) {
    const t = spec.teacher;
    ctx.progress({ fraction: 0.02, message: `running the teacher (version ${t.version} of ${t.model}) over the training rows` });
    hooks.teacher = await teacherTargets(registry, ctx.tenantId, t, data.table, data.trainRows, data.target, spec.target, ctx.threads);
    const onTest = await teacherTargets(registry, ctx.tenantId, t, data.testTable, data.testRows, data.testTarget, spec.target, ctx.threads);
    teacherTest = teacherMetrics(onTest, data.testRows, data.testTarget);
    ctx.log(`distilling from version ${t.version} of ${t.model} (temperature ${t.temperature}, alpha ${t.alpha}); the teacher's test accuracy: ${teacherTest.accuracy?.toFixed(4)}`);
  }
  const cv = spec.cv ? await crossValidate(ctx, spec, data, spec.cv, { ...hooks }) : undefined;
  ctx.log(`training ${spec.model.kind} on ${data.trainRows.length} rows, testing on ${data.testRows.length}`);
  const trained = await trainOnRows(spec, data, data.trainRows, hooks);

  ctx.progress({ fraction: 0.9, message: 'evaluating on the test split' });
  const { session, feeds, truth, outputs, metrics } = await evaluate(trained.artifact, trained.preprocessing, data.testTable, data.testTarget, data.testRows, ctx.threads);
  let featureImportance;
  try {
    const columns = trained.signature.inputs.map((i) => ({ name: i.name, tensor: i.tensor as 'features' | 'categories', index: i.index }));
    const repeats = importanceRepeats(spec.importanceRepeats, columns.length, data.testRows.length);
    if (repeats === 0 && spec.importanceRepeats === undefined) {
      ctx.log(`permutation importance skipped: ${columns.length} input columns (more than ${IMPORTANCE_MAX_COLUMNS}); set importanceRepeats to compute it`);
    }
    if (repeats > 0) featureImportance = await rawPermutationImportance(session, spec.task, feeds, truth, columns, repeats, spec.split.seed, ctx.signal);
  } finally {
    await session.release();
  }
  const history = historyOf(trained.history);
  const summary: TrainMetrics = {
    test: metrics,
    training: trainingFigures({ ...trained, trainRows: data.trainRows.length, testRows: data.testRows.length, history }),
    history,
    ...(cv ? { crossValidation: { folds: spec.cv, ...cv } } : {}),
    ...(featureImportance ? { featureImportance } : {}),
    ...(spec.teacher && teacherTest ? {
      distillation: { teacher: { model: spec.teacher.model, version: spec.teacher.version }, temperature: spec.teacher.temperature, alpha: spec.teacher.alpha, teacherTest },
    } : {}),
  };
  const profile = trainingProfile(data, trained.signature, outputs);
  ctx.progress({ fraction: 0.97, message: 'registering the model version' });
  // An aborted run's outcome is discarded (the job is requeued or cancelled): register nothing.
  ctx.signal.throwIfAborted();
  const version = await registry.registerVersion(ctx.tenantId, {
    name: spec.name, artifact: trained.artifact, kind: spec.model.kind, task: spec.task, signature: trained.signature,
    metrics: summary as unknown as Record<string, unknown>, source: 'trained',
    lineage: { job: ctx.jobId, dataset: spec.dataset, datasetVersion: spec.datasetVersion, ...(spec.teacher ? { teacher: spec.teacher } : {}) },
    params: { ...spec, droppedColumns: trained.preprocessing.dropped, features: trained.preprocessing.featureNames.length },
    files: new Map([...explainFiles(trained, data), [DRIFT_PROFILE_FILE, Buffer.from(JSON.stringify(profile))]]),
  });
  ctx.log(`registered ${version.name} version ${version.version}`);
  return { metrics: summary as unknown as Record<string, unknown>, result: { model: version.name, version: version.version } };
}

/**
 * What drift is measured against: the raw input columns over the rows the model was fitted on,
 * and its predictions on the held-out rows (a binary classifier's probability of its second class,
 * other classifiers' labels, regressors' values).
 */
function trainingProfile(data: PreparedData, signature: Signature, outputs: ModelOutputs): DriftProfile {
  const features = profileTable(data.table, data.trainRows, signature.inputs.map((i) => i.name));
  const labels = signature.labels;
  let prediction;
  if (outputs.probabilities && outputs.classCount === 2) {
    // A binary classifier's score moves before its labels do: profile the second class's probability.
    prediction = profileOf('prediction', { kind: 'numeric', values: outputs.probabilities.filter((_, i) => i % 2 === 1) });
  } else if (outputs.labels && labels) {
    prediction = profileOf('prediction', { kind: 'categorical', values: Array.from(outputs.labels, (l) => labels[l] ?? String(l)) });
  } else if (outputs.values) {
    prediction = profileOf('prediction', { kind: 'numeric', values: outputs.values });
  }
  return { format: PROFILE_FORMAT, rows: data.trainRows.length, features, ...(prediction ? { prediction } : {}) };
}

/** Repeats asked for, else the default: 3, one on large held-out sets, none on wide data. */
export function importanceRepeats(asked: number | undefined, columns: number, testRows: number): number {
  if (asked !== undefined) return asked;
  if (columns > IMPORTANCE_MAX_COLUMNS) return 0;
  return columns * testRows * 3 > IMPORTANCE_BUDGET ? 1 : 3;
}

/**
 * A tuning trial: the score of the spec by k-fold cross-validation over the training rows (or one
 * held-out fifth of them when cv is 0). The test rows stay unseen, for the final model's metrics.
 */
async function runTrial(ctx: JobContext<TrainSpec>, spec: TrainSpec, data: PreparedData, hooks: TrainHooks): Promise<JobOutcome> {
  const { cv, metric } = spec.trial!;
  const result = await crossValidate(ctx, spec, data, cv, hooks);
  const m = result[metric];
  if (!m) throw new Error(`metric '${metric}' is not defined for this model and data (e.g. rocAuc needs two classes)`);
  const metrics: TrialMetrics = { trial: { metric, score: m.mean, scoreStd: m.std, folds: m.folds }, crossValidation: { folds: m.folds.length, ...result } };
  return { metrics: metrics as unknown as Record<string, unknown> };
}

/** Every scalar test metric, per fold and as mean ± std, over k folds of the training rows. */
async function crossValidate(ctx: JobContext<TrainSpec>, spec: TrainSpec, data: PreparedData, cv: number, hooks: TrainHooks): Promise<CvSummary> {
  const rows = data.trainRows;
  const stratify = stratifyBy(data.target, rows);
  const splits = cv >= 2 ? kFold(rows.length, cv, { seed: spec.split.seed, stratify }) : [trainTestSplit(rows.length, { testFraction: 0.2, seed: spec.split.seed, stratify })];
  const perFold: Record<string, number>[] = [];
  for (const [k, split] of splits.entries()) {
    const fold = { ...hooks, checkpoint: undefined, epochMetrics: undefined, progress: (f: number, m?: string) => ctx.progress({ fraction: (k + f) / (splits.length + 1), message: `fold ${k + 1}/${splits.length}: ${m ?? ''}` }) };
    const trainRows = Int32Array.from(split.train, (i) => rows[i]!);
    const heldOut = Int32Array.from(split.test, (i) => rows[i]!);
    const trained = await trainOnRows(spec, data, trainRows, fold);
    const { session, metrics } = await evaluate(trained.artifact, trained.preprocessing, data.table, data.target, heldOut, ctx.threads);
    await session.release();
    const scalars: Record<string, number> = {};
    for (const [key, v] of Object.entries(metrics)) if (typeof v === 'number' && !Number.isNaN(v)) scalars[key] = v;
    perFold.push(scalars);
    ctx.metrics({ fold: k + 1, ...scalars });
  }
  const summary: CvSummary = {};
  for (const key of Object.keys(perFold[0] ?? {})) {
    const folds = perFold.map((f) => f[key]!).filter((v) => v !== undefined);
    if (folds.length !== perFold.length) continue;
    const mean = folds.reduce((a, b) => a + b, 0) / folds.length;
    summary[key] = { mean, std: Math.sqrt(folds.reduce((a, v) => a + (v - mean) ** 2, 0) / folds.length), folds };
  }
  return summary;
}
