/**
 * The `train` job's spec (API.md), checked completely in the API process before anything is
 * queued: dataset, target, task, split, preprocessing, model and training fields. Every problem
 * is a 422 that names the field and says how to fix it.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { didYouMean } from '../../infra/did-you-mean.js';
import type { ColumnProfile } from '../../ml/data/ingest.js';
import { autoSteps, planSteps, tfidfOptions, type ColumnInfo, type Step } from '../../ml/preprocessing/steps.js';
import type { DatasetService, DatasetVersion } from '../datasets.js';
import type { Principal } from '../principal.js';
import { assertName } from '../tenants.js';
import { NETWORK_MODEL_FIELDS } from '../../engine/spec.js';
import { CLASSICAL_PARAMS } from '../../ml/estimators/index.js';
import { checkClassicalSpec } from './classical-bounds.js';
import { checkNetworkSpec } from './network-bounds.js';
import { fail, isObject, num, onlyFields } from './spec-fields.js';
import { networkDefaults } from './network-defaults.js';
import { checkTarget, inferTask, type Task } from './target.js';
import { CLASSICAL_KINDS, NEURAL_KINDS, TEXT_KINDS, type ModelKind, type TrainingOptions } from '../../api/training-types.js';
import { checkTextClassifier } from './text-classifier-spec.js';
import { parseTeacher, type TeacherSpec } from './teacher.js';
import type { RegistryService } from '../registry.js';

// The kinds and training options are the API's words (src/api); the checks on them live here.
export { CLASSICAL_KINDS, NEURAL_KINDS, TEXT_KINDS, type ModelKind, type TrainingOptions } from '../../api/training-types.js';

export interface TrainSpec {
  name: string;
  dataset: string;
  datasetVersion: number;
  target: string;
  task: Task;
  split: { test: number; validation: number; seed: number };
  testDataset?: { name: string; version: number };
  preprocessing: 'auto' | Step[];
  /** The steps "auto" stood for, fixed at submission so a resumed job does the same. */
  steps: Step[];
  model: { kind: ModelKind } & Record<string, unknown>;
  training: TrainingOptions;
  /** Permutation-importance repeats (0: skip); undefined: the default, which skips wide data (train-job.ts). */
  importanceRepeats?: number;
  /** text_classifier: the text column it reads and its tokenizer. */
  text?: string;
  tokenizer?: { kind: 'char' };
  /** k-fold cross-validation on the training rows, reported beside the test metrics (0: none). */
  cv: number;
  /** Set by a tune job on its trials: score by cross-validation on the training rows, register nothing. */
  trial?: { cv: number; metric: string };
  /** Distillation: the teacher version (pinned at submission), temperature and alpha (teacher.ts). */
  teacher?: TeacherSpec;
}

const TOP_FIELDS = ['name', 'dataset', 'datasetVersion', 'target', 'task', 'split', 'testDataset', 'preprocessing', 'model', 'training', 'importanceRepeats', 'cv', 'text', 'tokenizer', 'teacher'];
/** Fields only a text model takes. */
const TEXT_FIELDS = ['text', 'tokenizer'];
const SPLIT_FIELDS = ['test', 'validation', 'seed'];
const EARLY_STOPPING_FIELDS = ['patience', 'monitor', 'minDelta'];
const TRAINING_FIELDS = ['epochs', 'batchSize', 'optimizer', 'learningRate', 'momentum', 'weightDecay', 'clipNorm', 'schedule', 'earlyStopping'];

export interface SpecContext {
  principal: Principal;
  datasets: DatasetService;
  /** Resolves a distillation's teacher (absent inside tune jobs, which do not distil). */
  registry?: RegistryService;
}

/**
 * Language models inside tune jobs (a train job for a causal_lm goes to lm-spec.ts before reaching
 * here): refused up front with a clear 422 rather than a confusing "unknown field".
 */
function refuseNotYetAvailable(raw: Record<string, unknown>): void {
  const kind = isObject(raw.model) ? raw.model.kind : undefined;
  const what = raw.task === 'language_modeling' ? ['task', "task 'language_modeling'"] : kind === 'causal_lm' ? ['model.kind', "model.kind 'causal_lm'"] : undefined;
  if (what === undefined) return;
  throw new InvalidInputError('not_available', `${what[1]} inside a tune job is not available yet in this version; train a language model with a train job of task 'language_modeling' and model.kind 'causal_lm'.`, {
    field: what[0],
  });
}

export const isText = (kind: string): boolean => (TEXT_KINDS as readonly string[]).includes(kind);

/** Normalises a train spec; `raw` is the POST body without the job-level fields. */
export async function validateTrainSpec(raw: Record<string, unknown>, ctx: SpecContext): Promise<TrainSpec> {
  refuseNotYetAvailable(raw);
  onlyFields(raw, TOP_FIELDS, '');
  if (typeof raw.name !== 'string') throw fail('name', 'the model name is required, e.g. "iris-classifier".');
  assertName('Model', raw.name);
  if (typeof raw.dataset !== 'string') throw fail('dataset', 'the dataset name or id is required.');
  if (typeof raw.target !== 'string') throw fail('target', 'the target column is required.');
  const dataset = await findDataset(ctx, raw.dataset, raw.datasetVersion, 'dataset');
  const profile = dataset.columns.find((c) => c.name === raw.target);
  if (!profile) throw new InvalidInputError('unknown_column', `target: column '${raw.target}' is not in dataset '${dataset.name}' (columns: ${dataset.columns.map((c) => c.name).join(', ')}).`, { field: 'target', column: raw.target });
  const task = raw.task === undefined ? inferTask(profile) : raw.task;
  if (task !== 'classification' && task !== 'regression') throw fail('task', `must be 'classification' or 'regression' (or omitted: inferred from the target).`);
  checkTarget(profile, task, dataset.rows);

  const features = dataset.columns.filter((c) => c.name !== raw.target);
  const infos: ColumnInfo[] = features.map((c) => ({ name: c.name, type: c.type, missing: c.missing }));
  const pre = raw.preprocessing ?? 'auto';
  const steps = pre === 'auto' ? autoSteps(infos, new Map(features.map((c) => [c.name, { min: c.min, max: c.max }]))) : planSteps(pre, infos);
  const split = parseSplit(raw.split, raw.testDataset !== undefined);
  const testDataset = raw.testDataset === undefined ? undefined : await parseTestDataset(ctx, raw.testDataset, dataset);
  const model = parseModel(raw.model, task);
  const teacher = raw.teacher === undefined ? undefined : await parseTeacher(raw.teacher, ctx, { kind: model.kind, task, dataset, target: profile });
  const text = isText(model.kind);
  const training = parseTraining(raw.training, fitRowsOf(dataset.rows, testDataset ? 0 : split.test, split.validation), text);
  const importanceRepeats = raw.importanceRepeats === undefined ? undefined : num(raw.importanceRepeats, 'importanceRepeats', 0, 20, true);
  const cv = raw.cv === undefined || raw.cv === 0 ? 0 : num(raw.cv, 'cv', 2, 20, true);
  if (text) {
    if (raw.preprocessing !== undefined && raw.preprocessing !== 'auto' && !(Array.isArray(raw.preprocessing) && raw.preprocessing.length === 0)) throw fail('preprocessing', 'a text_classifier tokenizes its text column inside the model; leave preprocessing out (or "auto", or []).');
    if (training.schedule?.type === 'step') throw fail('training.schedule', "a text_classifier's schedule is {\"type\": \"cosine\", \"warmupEpochs\"?} (warm-up, then cosine by step; the default) or {\"type\": \"constant\"}.");
    const parts = checkTextClassifier(raw, dataset, task, raw.target, training.batchSize);
    return {
      name: raw.name, dataset: dataset.id, datasetVersion: dataset.version, target: raw.target, task, split, testDataset,
      preprocessing: 'auto', steps: [], model: { ...parts.model }, text: parts.text, tokenizer: parts.tokenizer, training, importanceRepeats, cv, ...(teacher ? { teacher } : {}),
    };
  }
  for (const f of TEXT_FIELDS) if (raw[f] !== undefined) throw fail(f, `applies to text_classifier models (and language models) only; model.kind '${model.kind}' reads text columns through a {"op": "tfidf"} preprocessing step.`);
  const width = encodedWidth(features, steps);
  checkFeatureMatrix(features, steps, width, dataset.rows);
  if (isNeural(model.kind)) checkNetwork(model, task, width, steps, profile, training.batchSize);
  else checkClassicalSpec(model, task, dataset.rows, task === 'classification' ? profile.distinct : 1);
  return {
    name: raw.name, dataset: dataset.id, datasetVersion: dataset.version, target: raw.target, task, split, testDataset,
    preprocessing: pre === 'auto' ? 'auto' : steps, steps, model, training, importanceRepeats, cv, ...(teacher ? { teacher } : {}),
  };
}

/**
 * The train-spec paths a tune `space` may name, for the model kinds it may use: every model
 * field of those kinds, the training options (with schedule and earlyStopping fields), the split,
 * and preprocessing as a whole ("auto" or a list of steps).
 */
export function tunablePaths(kinds: unknown[]): string[] {
  const model = new Set<string>(['kind']);
  for (const k of kinds) {
    if (typeof k !== 'string') continue;
    // hasOwn: a kind named "constructor" must not find Object's own properties
    const fields = Object.hasOwn(NETWORK_MODEL_FIELDS, k) ? NETWORK_MODEL_FIELDS[k as keyof typeof NETWORK_MODEL_FIELDS]
      : Object.hasOwn(CLASSICAL_PARAMS, k) ? CLASSICAL_PARAMS[k as keyof typeof CLASSICAL_PARAMS] : [];
    for (const f of fields) model.add(f);
  }
  return [
    ...[...model].map((f) => `model.${f}`),
    ...TRAINING_FIELDS.map((f) => `training.${f}`),
    ...['type', 'stepSize', 'gamma', 'minLearningRate', 'warmupEpochs'].map((f) => `training.schedule.${f}`),
    ...EARLY_STOPPING_FIELDS.map((f) => `training.earlyStopping.${f}`),
    ...SPLIT_FIELDS.map((f) => `split.${f}`),
    'preprocessing',
  ];
}

export const isNeural = (kind: string): boolean => (NEURAL_KINDS as readonly string[]).includes(kind);

async function findDataset(ctx: SpecContext, ref: string, version: unknown, field: string): Promise<DatasetVersion> {
  if (version !== undefined) num(version, `${field}Version`, 1, Number.MAX_SAFE_INTEGER, true);
  try {
    return await ctx.datasets.get(ctx.principal, ref, version as number | undefined);
  } catch {
    throw new InvalidInputError('unknown_dataset', `${field}: dataset '${ref}'${version ? ` version ${version}` : ''} does not exist in your tenant; upload it with POST /v1/datasets?name=${ref}.`, { field, dataset: ref });
  }
}

function parseSplit(raw: unknown, hasTestDataset: boolean): TrainSpec['split'] {
  const s = raw ?? {};
  if (!isObject(s)) throw fail('split', 'must be an object like {"test": 0.2, "validation": 0.1, "seed": 0}.');
  onlyFields(s, SPLIT_FIELDS, 'split');
  const test = hasTestDataset ? 0 : s.test === undefined ? 0.2 : num(s.test, 'split.test', 0.01, 0.9);
  if (hasTestDataset && s.test !== undefined) throw fail('split.test', 'give either split.test or testDataset, not both.');
  const validation = s.validation === undefined ? 0.1 : num(s.validation, 'split.validation', 0, 0.5);
  if (test + validation >= 0.95) throw fail('split', 'test and validation together must leave rows to train on.');
  return { test, validation, seed: s.seed === undefined ? 0 : num(s.seed, 'split.seed', 0, 2 ** 31 - 1, true) };
}

async function parseTestDataset(ctx: SpecContext, raw: unknown, train: DatasetVersion): Promise<{ name: string; version: number }> {
  const ref = typeof raw === 'string' ? raw : isObject(raw) ? raw.name : undefined;
  if (typeof ref !== 'string') throw fail('testDataset', 'must be a dataset name, or {"name", "version"}.');
  if (isObject(raw)) onlyFields(raw, ['name', 'version'], 'testDataset');
  const v = await findDataset(ctx, ref, isObject(raw) ? raw.version : undefined, 'testDataset');
  for (const c of train.columns) {
    if (!v.columns.some((t) => t.name === c.name)) throw fail('testDataset', `column '${c.name}' of the training dataset is missing from '${v.name}'.`, { column: c.name });
  }
  return { name: v.id, version: v.version };
}

function parseModel(raw: unknown, task: Task): TrainSpec['model'] {
  const m = raw ?? { kind: task === 'classification' ? 'random_forest' : 'gradient_boosting' };
  if (!isObject(m) || typeof m.kind !== 'string') throw fail('model', `must be an object with a 'kind': ${[...NEURAL_KINDS, ...CLASSICAL_KINDS, ...TEXT_KINDS].join(', ')}.`);
  const kinds: readonly string[] = [...NEURAL_KINDS, ...CLASSICAL_KINDS, ...TEXT_KINDS];
  if (!kinds.includes(m.kind)) throw fail('model.kind', `'${m.kind}' is not a model kind; use one of ${kinds.join(', ')}.${didYouMean(m.kind, kinds)}`);
  if (m.kind === 'logistic_regression' && task !== 'classification') throw fail('model.kind', `logistic_regression is a classifier; for regression use linear_regression.`);
  if (m.kind === 'svm' && task !== 'classification') throw fail('model.kind', `svm is a classifier; for regression use linear_regression.`);
  if (m.kind === 'linear_regression' && task !== 'regression') throw fail('model.kind', `linear_regression predicts numbers; for classification use logistic_regression.`);
  return m as TrainSpec['model'];
}

/** Rows a network fits on: the training rows less the validation share (duplicates not yet dropped). */
function fitRowsOf(rows: number, test: number, validation: number): { rows: number; validation: boolean } {
  const train = Math.round(rows * (1 - test));
  const val = validation > 0 && train >= 20 ? Math.max(1, Math.round(train * validation)) : 0;
  return { rows: train - val, validation: val > 0 };
}

/** A text classifier's epochs default to 10: its steps cost far more than a small network's. */
const TEXT_EPOCHS = 10;

function parseTraining(raw: unknown, fit: { rows: number; validation: boolean }, text = false): TrainingOptions {
  const t = raw ?? {};
  if (!isObject(t)) throw fail('training', 'must be an object like {"epochs": 5, "batchSize": 32}.');
  onlyFields(t, TRAINING_FIELDS, 'training');
  const optimizer = t.optimizer ?? (text ? 'adamw' : 'adam');
  if (optimizer !== 'sgd' && optimizer !== 'adam' && optimizer !== 'adamw') throw fail('training.optimizer', `use 'sgd', 'adam' or 'adamw'.`);
  const epochs = t.epochs === undefined ? (text ? TEXT_EPOCHS : undefined) : num(t.epochs, 'training.epochs', 1, 10_000, true);
  const batchSize = t.batchSize === undefined ? undefined : num(t.batchSize, 'training.batchSize', 1, 65_536, true);
  const out: TrainingOptions = { epochs: 0, batchSize: 0, optimizer };
  if (t.learningRate !== undefined) out.learningRate = num(t.learningRate, 'training.learningRate', 1e-8, 10);
  if (t.momentum !== undefined) out.momentum = num(t.momentum, 'training.momentum', 0, 0.999);
  if (t.weightDecay !== undefined) out.weightDecay = num(t.weightDecay, 'training.weightDecay', 0, 1);
  if (t.clipNorm !== undefined) out.clipNorm = num(t.clipNorm, 'training.clipNorm', 1e-6, 1e6);
  if (t.schedule !== undefined) out.schedule = parseSchedule(t.schedule);
  if (t.earlyStopping !== undefined) {
    const e = t.earlyStopping;
    if (!isObject(e)) throw fail('training.earlyStopping', 'must be an object like {"patience": 3}.');
    onlyFields(e, EARLY_STOPPING_FIELDS, 'training.earlyStopping');
    const monitors = ['loss', 'accuracy', 'val_loss', 'val_accuracy'];
    if (e.monitor !== undefined && !monitors.includes(e.monitor as string)) throw fail('training.earlyStopping.monitor', `use one of ${monitors.join(', ')}.`);
    out.earlyStopping = {
      patience: num(e.patience, 'training.earlyStopping.patience', 1, 1000, true),
      ...(e.monitor !== undefined ? { monitor: e.monitor as 'loss' } : {}),
      ...(e.minDelta !== undefined ? { minDelta: num(e.minDelta, 'training.earlyStopping.minDelta', 0, 1e6) } : {}),
    };
  }
  const chosen = networkDefaults({ epochs, batchSize, earlyStopping: out.earlyStopping, fitRows: fit.rows, validation: fit.validation });
  return { ...out, ...chosen };
}

function parseSchedule(s: unknown): NonNullable<TrainingOptions['schedule']> {
  if (!isObject(s) || !['constant', 'step', 'cosine'].includes(s.type as string)) throw fail('training.schedule', `must be {"type": "constant" | "step" | "cosine", …}.`);
  if (s.type === 'step') {
    onlyFields(s, ['type', 'stepSize', 'gamma'], 'training.schedule');
    return { type: 'step', stepSize: num(s.stepSize, 'training.schedule.stepSize', 1, 10_000, true), ...(s.gamma !== undefined ? { gamma: num(s.gamma, 'training.schedule.gamma', 0, 1) } : {}) };
  }
  if (s.type === 'cosine') {
    onlyFields(s, ['type', 'minLearningRate', 'warmupEpochs'], 'training.schedule');
    return {
      type: 'cosine',
      ...(s.minLearningRate !== undefined ? { minLearningRate: num(s.minLearningRate, 'training.schedule.minLearningRate', 0, 10) } : {}),
      ...(s.warmupEpochs !== undefined ? { warmupEpochs: num(s.warmupEpochs, 'training.schedule.warmupEpochs', 0, 1000, true) } : {}),
    };
  }
  onlyFields(s, ['type'], 'training.schedule');
  return { type: 'constant' };
}

/**
 * Values of the encoded feature matrix a worker holds (rows × features after one-hot encoding, as
 * float64 for the estimators: 1.6 GB at the limit, before preprocessing's copies). The dataset cell
 * limit bounds the raw table, but one-hot encoding multiplies it: 100 category columns of 1,000
 * values each make 100,000 features.
 */
export const FEATURE_VALUES_LIMIT = 200_000_000;

/**
 * Features after preprocessing: one per numeric column, one per category (one-hot), at most
 * `maxFeatures` per tf-idf column, dropped columns excluded.
 */
function encodedWidth(features: ColumnProfile[], steps: Step[]): number {
  const dropped = new Set(steps.flatMap((s) => (s.op === 'drop' ? s.columns : [])));
  const vectorized = new Map<string, number>();
  for (const s of steps) {
    if (s.op !== 'tfidf') continue;
    for (const c of features) if (s.columns ? s.columns.includes(c.name) : c.type === 'text') vectorized.set(c.name, tfidfOptions(s).maxFeatures);
  }
  return features.filter((c) => !dropped.has(c.name)).reduce((w, c) => w + (vectorized.get(c.name) ?? (c.type === 'category' || c.type === 'text' ? c.distinct : 1)), 0);
}

function checkFeatureMatrix(features: ColumnProfile[], steps: Step[], width: number, rows: number): void {
  if (width * rows <= FEATURE_VALUES_LIMIT) return;
  const dropped = new Set(steps.flatMap((s) => (s.op === 'drop' ? s.columns : [])));
  const widest = features.filter((c) => !dropped.has(c.name) && (c.type === 'category' || c.type === 'text'))
    .sort((a, b) => b.distinct - a.distinct).slice(0, 3).map((c) => `${c.name} (${c.distinct} values)`);
  throw fail('preprocessing', `${rows.toLocaleString('en-US')} rows × ${width.toLocaleString('en-US')} encoded features = ${(width * rows).toLocaleString('en-US')} values, more than the limit of ${FEATURE_VALUES_LIMIT.toLocaleString('en-US')}.${widest.length ? ` The widest one-hot columns: ${widest.join(', ')}.` : ''} Drop columns with a {"op": "drop", "columns": [...]} step, lower a tfidf step's maxFeatures, or train on fewer rows.`,
    { limit: FEATURE_VALUES_LIMIT, rows, features: width });
}

/** Validates the network against the input width preprocessing will produce (known from the profiles). */
function checkNetwork(model: TrainSpec['model'], task: Task, width: number, steps: Step[], target: ColumnProfile, batchSize: number): void {
  const reshape = steps.find((s): s is Extract<Step, { op: 'reshape' }> => s.op === 'reshape');
  checkNetworkSpec(model, {
    inputShape: reshape?.shape ?? [width],
    outputs: task === 'classification' ? target.distinct : 1,
    task,
  }, batchSize);
}
