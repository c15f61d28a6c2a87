/**
 * The parts of a train spec that only a `text_classifier` takes (API.md "Text and language
 * models"): the text column (`text`, default the dataset's one text column), the tokenizer and
 * the encoder's shape, checked against the dataset's profile before anything is queued. Bad
 * fields are 422s naming them: `text` (missing column, not text), `tokenizer.kind`, `model.heads`
 * (not dividing `model.dim`), `model.context` (over the positions a model may have), `model`
 * (too many parameters), `training.batchSize` (attention scores of a step over the limit).
 */
import { InvalidInputError } from '../../infra/errors.js';
import { didYouMean } from '../../infra/did-you-mean.js';
import { checkGptConfig, gptParams } from '../../engine/lm/index.js';
import type { DatasetVersion } from '../datasets.js';
import { MAX_LM_PARAMS, MAX_LOGITS, transformerShape } from './lm-spec.js';
import { fail, isObject, onlyFields } from './spec-fields.js';

export interface TextClassifierModel {
  kind: 'text_classifier';
  layers: number;
  heads: number;
  dim: number;
  /** Tokens per text: longer texts are truncated, shorter ones padded (padding is masked). */
  context: number;
  dropout: number;
}

export interface TextClassifierParts {
  text: string;
  tokenizer: { kind: 'char' };
  model: TextClassifierModel;
}

const MODEL_FIELDS = ['kind', 'layers', 'heads', 'dim', 'context', 'dropout'];
const TOKENIZER_KINDS = ['char', 'bpe', 'gpt2'];

export function checkTextClassifier(raw: Record<string, unknown>, dataset: DatasetVersion, task: string, target: string, batchSize: number): TextClassifierParts {
  if (task !== 'classification') throw fail('task', `a text_classifier predicts classes; got task '${task}'. For numbers from text, use linear_regression or gradient_boosting over a {"op": "tfidf"} step.`);
  const text = textColumn(raw.text, dataset, target);
  const tokenizer = parseTokenizer(raw.tokenizer);
  const model = parseModel(raw.model as Record<string, unknown>);
  const profile = dataset.columns.find((c) => c.name === text)!;
  // The training rows' characters, <unk> and the padding id.
  const vocabSize = (profile.text?.characters ?? 255) + 2;
  checkGptConfig({ ...model, vocabSize });
  const params = gptParams({ ...model, vocabSize }).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  if (params > MAX_LM_PARAMS) {
    throw fail('model', `${params.toLocaleString('en-US')} parameters is over the limit of ${MAX_LM_PARAMS.toLocaleString('en-US')} for a train job; lower model.dim or model.layers.`, { parameters: params, limit: MAX_LM_PARAMS });
  }
  const scores = batchSize * model.heads * model.context * model.context;
  if (scores > MAX_LOGITS) {
    throw fail('training.batchSize', `batch ${batchSize} × heads ${model.heads} × context² ${model.context ** 2} = ${scores.toLocaleString('en-US')} attention scores per layer and step, over the limit of ${MAX_LOGITS.toLocaleString('en-US')}; lower training.batchSize or model.context.`, { limit: MAX_LOGITS });
  }
  return { text, tokenizer, model };
}

function textColumn(raw: unknown, dataset: DatasetVersion, target: string): string {
  const texts = dataset.columns.filter((c) => c.type === 'text' && c.name !== target).map((c) => c.name);
  if (raw === undefined) {
    if (texts.length === 1) return texts[0]!;
    throw fail('text', texts.length ? `the dataset has ${texts.length} text columns (${texts.join(', ')}); name the one to classify, e.g. "text": "${texts[0]}".` : `dataset '${dataset.name}' has no text column; a text_classifier reads one (name it with "text").`);
  }
  if (typeof raw !== 'string') throw fail('text', 'must be the name of the text column, e.g. "text".');
  const names = dataset.columns.map((c) => c.name);
  const c = dataset.columns.find((x) => x.name === raw);
  if (!c) throw new InvalidInputError('unknown_column', `text: column '${raw}' is not in dataset '${dataset.name}' (columns: ${names.join(', ')}).${didYouMean(raw, names)}`, { field: 'text', column: raw });
  if (raw === target) throw fail('text', `column '${raw}' is the target; name the text column to classify.`);
  if (c.type !== 'text' && c.type !== 'category') throw fail('text', `column '${raw}' holds ${c.type} values; a text_classifier reads a text column (${texts.join(', ') || 'none in this dataset'}).`, { column: raw });
  return raw;
}

function parseTokenizer(raw: unknown): TextClassifierParts['tokenizer'] {
  const t = raw ?? { kind: 'char' };
  if (!isObject(t) || typeof t.kind !== 'string') throw fail('tokenizer', 'must be an object like {"kind": "char"}.');
  onlyFields(t, ['kind'], 'tokenizer', "a text_classifier's tokenizer");
  if (!TOKENIZER_KINDS.includes(t.kind)) throw fail('tokenizer.kind', `'${t.kind}' is not a tokenizer; a text_classifier takes 'char'.${didYouMean(t.kind, TOKENIZER_KINDS)}`);
  if (t.kind !== 'char') {
    // Tokenization is part of the served ONNX graph (raw strings in, as tf-idf's); BPE merges have no ONNX operator that onnxruntime-node runs.
    throw new InvalidInputError('not_available', `tokenizer.kind '${t.kind}' is not available for a text_classifier yet: its tokenization runs inside the model's ONNX graph, and ${t.kind}'s byte-pair merges have no ONNX operator onnxruntime-node runs; use {"kind": "char"}.`, { field: 'tokenizer.kind' });
  }
  return { kind: 'char' };
}

function parseModel(m: Record<string, unknown>): TextClassifierModel {
  onlyFields(m, MODEL_FIELDS, 'model', 'a text_classifier');
  // Longer texts are truncated to model.context tokens.
  return { kind: 'text_classifier', ...transformerShape(m, { layers: 2, heads: 4, dim: 64, context: 128 }) };
}
