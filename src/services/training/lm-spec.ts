/**
 * The spec of a train job for a language model (API.md "Text and language models"): task
 * `language_modeling`, a text column, a tokenizer, a `causal_lm` model and step-based training.
 * Checked completely before queueing, against the dataset's profile: every field is known (with a
 * did-you-mean), numbers are in range, the model fits in memory, and what the profile can prove
 * about the text (too short for one window, too little for the vocabulary asked) is refused here.
 * What only the tokenized text can tell is checked again by the worker with the same codes.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { didYouMean } from '../../infra/did-you-mean.js';
import { checkGptConfig, gptParams } from '../../engine/lm/index.js';
import type { ColumnProfile } from '../../ml/data/profile.js';
import { DEFAULT_BPE_VOCAB, type TokenizerKind } from '../../ml/text/index.js';
import type { DatasetService, DatasetVersion } from '../datasets.js';
import type { Principal } from '../principal.js';
import { assertName } from '../tenants.js';
import { fail, isObject, num, onlyFields } from './spec-fields.js';
import type { RegistryService } from '../registry.js';
import { lmTeacherShape, resolveTeacher, type LmTeacherShape, type TeacherSpec } from './teacher.js';

export interface LmSpec {
  name: string;
  dataset: string;
  datasetVersion: number;
  task: 'language_modeling';
  text: string;
  tokenizer: { kind: TokenizerKind; vocabSize?: number };
  /** dropout: the rate on embeddings, attention probabilities and residual branches, in training only. */
  model: { kind: 'causal_lm'; layers: number; heads: number; dim: number; context: number; dropout: number };
  training: {
    /** Steps to train (epochs are converted at submission: one epoch = training tokens / (batch × context)). */
    steps: number;
    batchSize: number;
    optimizer: 'adamw';
    learningRate: number;
    weightDecay: number;
    schedule: { kind: 'cosine' | 'constant'; warmupSteps: number };
    clipNorm?: number;
    seed: number;
  };
  /** The last `validation` share of lines is held out. */
  split: { validation: number };
  /** Evaluate (valLoss, a sample) every this many steps. */
  evalEvery: number;
  /** Distillation from a causal_lm trained here (pinned at submission); the student then uses the teacher's tokenizer. */
  teacher?: TeacherSpec;
}

const TOP_FIELDS = ['name', 'dataset', 'datasetVersion', 'task', 'text', 'tokenizer', 'model', 'training', 'split', 'teacher'];
const TOKENIZER_FIELDS = ['kind', 'vocabSize'];
const MODEL_FIELDS = ['kind', 'layers', 'heads', 'dim', 'context', 'dropout'];
const TRAINING_FIELDS = ['steps', 'epochs', 'batchSize', 'optimizer', 'learningRate', 'weightDecay', 'schedule', 'clipNorm', 'seed'];
const TOKENIZER_KINDS = ['char', 'bpe', 'gpt2'];
const GPT2_VOCAB = 50_257;

/** The longest context a model may have (learned positions; attention memory grows with its square). */
export const MAX_CONTEXT = 2048;
/** Parameters a train job may hold: weights, AdamW's two moments and the gradient, float32, in a 2 GB worker. */
export const MAX_LM_PARAMS = 60_000_000;
/** batch × context × vocab: the logits and their gradient of one step. */
export const MAX_LOGITS = 1 << 27;

/** Whether a train spec is for a language model (then validateLmSpec takes it). */
export function isLmSpec(raw: Record<string, unknown>): boolean {
  return raw.task === 'language_modeling' || (isObject(raw.model) && raw.model.kind === 'causal_lm');
}

export async function validateLmSpec(raw: Record<string, unknown>, ctx: { principal: Principal; datasets: DatasetService; registry?: RegistryService }): Promise<LmSpec> {
  onlyFields(raw, TOP_FIELDS, '', 'a language-model train job');
  if (raw.task !== 'language_modeling') throw fail('task', `a causal_lm model is trained with task 'language_modeling'; got ${JSON.stringify(raw.task)}.`);
  if (typeof raw.name !== 'string') throw fail('name', 'the model name is required, e.g. "kjv-gpt".');
  assertName('Model', raw.name);
  if (typeof raw.dataset !== 'string') throw fail('dataset', 'the dataset name or id is required.');
  const dataset = await findDataset(ctx, raw.dataset, raw.datasetVersion);
  const textField = raw.text ?? 'text';
  if (typeof textField !== 'string') throw fail('text', 'must be the name of the text column, e.g. "text".');
  const column = textColumn(dataset, textField);
  const teacher = raw.teacher === undefined ? undefined : await parseLmTeacher(raw, ctx);
  const tokenizer = teacher ? { kind: teacher.shape.tokenizer.kind as TokenizerKind } : parseTokenizer(raw.tokenizer);
  const model = parseModel(raw.model);
  if (teacher && model.context > teacher.shape.model.context) {
    throw fail('model.context', `${model.context} is over the teacher's ${teacher.shape.model.context} positions: the teacher predicts every position of the student's windows. Lower model.context.`, { teacherContext: teacher.shape.model.context });
  }
  const split = parseSplit(raw.split);
  const trainChars = estimatedTrainChars(column, split.validation);
  const vocab = teacher ? teacher.shape.tokenizer.vocabSize : expectedVocab(tokenizer, column, trainChars);
  checkGptConfig({ ...model, vocabSize: vocab });
  const training = parseTraining(raw.training, trainChars, tokenizer.kind, model.context);
  checkSize(model, vocab, training.batchSize);
  checkWindow(tokenizer.kind, trainChars, column, split.validation, model.context);
  return {
    name: raw.name, dataset: dataset.id, datasetVersion: dataset.version, task: 'language_modeling', text: textField,
    tokenizer, model, training, split, evalEvery: Math.max(1, Math.ceil(training.steps / 10)), ...(teacher ? { teacher: teacher.ref } : {}),
  };
}

/** `teacher` of a language model: a causal_lm trained here, whose tokenizer the student takes (so `tokenizer` is not given). */
async function parseLmTeacher(raw: Record<string, unknown>, ctx: { principal: Principal; registry?: RegistryService }): Promise<{ ref: TeacherSpec; shape: LmTeacherShape }> {
  const { ref, teacher } = await resolveTeacher(raw.teacher, ctx);
  const shape = lmTeacherShape(teacher);
  if (raw.tokenizer !== undefined) {
    throw fail('tokenizer', `a distilled language model uses its teacher's tokenizer (${shape.tokenizer.kind}, ${shape.tokenizer.vocabSize} tokens), so that both predict over the same vocabulary; leave tokenizer out.`);
  }
  return { ref, shape };
}

async function findDataset(ctx: { principal: Principal; datasets: DatasetService }, ref: string, version: unknown): Promise<DatasetVersion> {
  if (version !== undefined) num(version, 'datasetVersion', 1, Number.MAX_SAFE_INTEGER, true);
  try {
    return await ctx.datasets.get(ctx.principal, ref, version as number | undefined);
  } catch {
    throw new InvalidInputError('unknown_dataset', `dataset: dataset '${ref}'${version ? ` version ${version}` : ''} does not exist in your tenant; upload it with POST /v1/datasets?name=${ref}&format=text.`, { field: 'dataset', dataset: ref });
  }
}

function textColumn(dataset: DatasetVersion, name: string): ColumnProfile {
  const names = dataset.columns.map((c) => c.name);
  const c = dataset.columns.find((x) => x.name === name);
  if (!c) {
    throw new InvalidInputError('unknown_column', `text: column '${name}' is not in dataset '${dataset.name}' (columns: ${names.join(', ')}).${didYouMean(name, names)}`, { field: 'text', column: name });
  }
  if (c.type !== 'text' && c.type !== 'category') {
    throw fail('text', `column '${name}' holds ${c.type} values; a language model trains on a text column (${dataset.columns.filter((x) => x.type === 'text').map((x) => x.name).join(', ') || 'none in this dataset'}).`, { column: name });
  }
  return c;
}

function parseTokenizer(raw: unknown): LmSpec['tokenizer'] {
  const t = raw ?? { kind: 'char' };
  if (!isObject(t) || typeof t.kind !== 'string') throw fail('tokenizer', 'must be an object like {"kind": "char"} (char, bpe with vocabSize, or gpt2).');
  onlyFields(t, TOKENIZER_FIELDS, 'tokenizer');
  if (!TOKENIZER_KINDS.includes(t.kind)) throw fail('tokenizer.kind', `'${t.kind}' is not a tokenizer; use one of ${TOKENIZER_KINDS.join(', ')}.${didYouMean(t.kind, TOKENIZER_KINDS)}`);
  if (t.kind !== 'bpe' && t.vocabSize !== undefined) throw fail('tokenizer.vocabSize', `applies to the bpe tokenizer only: ${t.kind}'s vocabulary is ${t.kind === 'char' ? 'the characters of the training rows' : "GPT-2's 50,257 tokens"}.`);
  if (t.kind === 'bpe') return { kind: 'bpe', vocabSize: t.vocabSize === undefined ? DEFAULT_BPE_VOCAB : num(t.vocabSize, 'tokenizer.vocabSize', 257, 1 << 17, true) };
  return { kind: t.kind as TokenizerKind };
}

function parseModel(raw: unknown): LmSpec['model'] {
  if (!isObject(raw)) throw fail('model', 'must be an object like {"kind": "causal_lm", "layers": 4, "heads": 4, "dim": 128, "context": 128}.');
  onlyFields(raw, MODEL_FIELDS, 'model');
  if (raw.kind !== 'causal_lm') {
    throw fail('model.kind', `task 'language_modeling' trains a causal_lm; got ${JSON.stringify(raw.kind)}.${typeof raw.kind === 'string' ? didYouMean(raw.kind, ['causal_lm']) : ''}`);
  }
  return { kind: 'causal_lm', ...transformerShape(raw, { layers: 4, heads: 4, dim: 128, context: 128 }) };
}

/** A transformer's shape fields (causal_lm, text_classifier): in range, heads dividing dim, context within MAX_CONTEXT. */
export function transformerShape(raw: Record<string, unknown>, d: { layers: number; heads: number; dim: number; context: number }) {
  const layers = raw.layers === undefined ? d.layers : num(raw.layers, 'model.layers', 1, 48, true);
  const heads = raw.heads === undefined ? d.heads : num(raw.heads, 'model.heads', 1, 64, true);
  const dim = raw.dim === undefined ? d.dim : num(raw.dim, 'model.dim', 1, 4096, true);
  const context = raw.context === undefined ? d.context : num(raw.context, 'model.context', 1, Number.MAX_SAFE_INTEGER, true);
  if (context > MAX_CONTEXT) throw fail('model.context', `${context} is over the ${MAX_CONTEXT} positions a model may have; lower model.context.`, { limit: MAX_CONTEXT });
  if (dim % heads !== 0) throw fail('model.heads', `(${heads}) must divide model.dim (${dim}): each head gets dim / heads features.`, { heads, dim });
  const dropout = raw.dropout === undefined ? 0 : num(raw.dropout, 'model.dropout', 0, 0.9);
  return { layers, heads, dim, context, dropout };
}

function parseSplit(raw: unknown): LmSpec['split'] {
  const s = raw ?? {};
  if (!isObject(s)) throw fail('split', 'must be an object like {"validation": 0.1}.');
  onlyFields(s, ['validation'], 'split', 'a language model’s split');
  return { validation: s.validation === undefined ? 0.1 : num(s.validation, 'split.validation', 0.01, 0.5) };
}

function parseTraining(raw: unknown, trainChars: number, kind: TokenizerKind, context: number): LmSpec['training'] {
  const t = raw ?? {};
  if (!isObject(t)) throw fail('training', 'must be an object like {"steps": 600, "batchSize": 32}.');
  onlyFields(t, TRAINING_FIELDS, 'training', 'a language model’s training');
  if (t.steps !== undefined && t.epochs !== undefined) throw fail('training', 'give training.steps or training.epochs, not both.');
  if ((t.optimizer ?? 'adamw') !== 'adamw') throw fail('training.optimizer', `language models train with 'adamw'; got ${JSON.stringify(t.optimizer)}.`);
  const batchSize = t.batchSize === undefined ? 32 : num(t.batchSize, 'training.batchSize', 1, 4096, true);
  // An epoch: as many windows as the training text holds (estimated from the profile for char; byte-level tokens are fewer).
  const epochSteps = Math.max(1, Math.round(trainChars / (kind === 'char' ? 1 : 4) / (batchSize * context)));
  const steps = t.steps !== undefined ? num(t.steps, 'training.steps', 1, 1_000_000, true)
    : t.epochs !== undefined ? num(t.epochs, 'training.epochs', 1, 10_000, true) * epochSteps : 600;
  if (steps > 1_000_000) throw fail('training.epochs', `${steps} steps is over the limit of 1,000,000; train fewer epochs.`);
  const sched = t.schedule ?? { kind: 'cosine' };
  if (!isObject(sched)) throw fail('training.schedule', 'must be an object like {"kind": "cosine", "warmupSteps": 50}.');
  onlyFields(sched, ['kind', 'warmupSteps'], 'training.schedule');
  const kinds = ['cosine', 'constant'];
  const sk = sched.kind ?? 'cosine';
  if (typeof sk !== 'string' || !kinds.includes(sk)) throw fail('training.schedule.kind', `use 'cosine' (warm-up, then cosine to 0) or 'constant'.${typeof sk === 'string' ? didYouMean(sk, kinds) : ''}`);
  const warmupSteps = sched.warmupSteps === undefined ? Math.min(100, Math.floor(steps / 10)) : num(sched.warmupSteps, 'training.schedule.warmupSteps', 0, steps, true);
  return {
    steps, batchSize, optimizer: 'adamw',
    learningRate: t.learningRate === undefined ? 1e-3 : num(t.learningRate, 'training.learningRate', 1e-8, 10),
    weightDecay: t.weightDecay === undefined ? 0.1 : num(t.weightDecay, 'training.weightDecay', 0, 1),
    schedule: { kind: sk as 'cosine' | 'constant', warmupSteps },
    ...(t.clipNorm !== undefined ? { clipNorm: num(t.clipNorm, 'training.clipNorm', 1e-6, 1e6) } : {}),
    seed: t.seed === undefined ? 0 : num(t.seed, 'training.seed', 0, 2 ** 31 - 1, true),
  };
}

/** Code points of the training lines (the first 1 - validation of them) with their joining newlines, from the profile. */
function estimatedTrainChars(c: ColumnProfile, validation: number): number {
  // A category column (CSV) has no text profile: its values' lengths are unknown, the worker checks.
  if (!c.text) return Number.MAX_SAFE_INTEGER;
  const lines = c.text.length.histogram.counts.reduce((a, b) => a + b, 0);
  return Math.floor((c.text.length.mean * lines + lines) * (1 - validation));
}

/** The vocabulary the model will have: known for char (the profile's characters, + <unk>) and gpt2; asked for bpe. */
function expectedVocab(t: LmSpec['tokenizer'], c: ColumnProfile, trainChars: number): number {
  if (t.kind === 'gpt2') return GPT2_VOCAB;
  if (t.kind === 'char') return (c.text?.characters ?? 255) + 2; // + '\n' joining lines, + <unk>
  // Every merge needs a pair that occurs at least twice, so n bytes support at most n / 2 merges.
  const supported = 257 + Math.floor((trainChars * 4) / 2);
  if (t.vocabSize! > supported) {
    throw new InvalidInputError('vocabulary_too_large', `tokenizer.vocabSize ${t.vocabSize} is larger than the training rows can fill (about ${trainChars} characters support at most ${supported} tokens); lower tokenizer.vocabSize or train on more text.`, {
      field: 'tokenizer.vocabSize', vocabSize: t.vocabSize, supported,
    });
  }
  return t.vocabSize!;
}

function checkSize(m: LmSpec['model'], vocab: number, batch: number): void {
  const params = gptParams({ ...m, vocabSize: vocab }).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  if (params > MAX_LM_PARAMS) {
    throw fail('model', `${params.toLocaleString('en-US')} parameters is over the limit of ${MAX_LM_PARAMS.toLocaleString('en-US')} for a train job; lower model.dim, model.layers or the vocabulary.`, { parameters: params, limit: MAX_LM_PARAMS });
  }
  if (batch * m.context * vocab > MAX_LOGITS) {
    throw fail('training.batchSize', `batch ${batch} × context ${m.context} × vocabulary ${vocab} = ${(batch * m.context * vocab).toLocaleString('en-US')} logits per step, over the limit of ${MAX_LOGITS.toLocaleString('en-US')}; lower training.batchSize or model.context.`, { limit: MAX_LOGITS });
  }
}

/** A corpus must hold one window of context + 1 tokens for training and one for validation (tokens ≤ code points × 4 bytes). */
function checkWindow(kind: TokenizerKind, trainChars: number, c: ColumnProfile, validation: number, context: number): void {
  const perChar = kind === 'char' ? 1 : 4;
  const most = trainChars * perChar;
  if (most < context + 1) {
    throw new InvalidInputError('corpus_too_short', `model.context: the training text has about ${trainChars} characters, fewer than one window of model.context + 1 = ${context + 1} tokens; lower model.context or add text.`, {
      field: 'model.context', characters: trainChars, window: context + 1,
    });
  }
  const heldOut = Math.floor((trainChars / (1 - validation)) * validation) * perChar;
  if (c.text !== undefined && heldOut < context + 1) {
    throw new InvalidInputError('corpus_too_short', `split.validation: the held-out text (the last ${validation * 100}% of lines) has about ${heldOut} characters, fewer than one window of ${context + 1} tokens; hold out more lines or lower model.context.`, {
      field: 'split.validation', window: context + 1,
    });
  }
}
