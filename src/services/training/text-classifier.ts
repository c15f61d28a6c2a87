/**
 * Training a `text_classifier` inside the train pipeline: the text column's training rows fit a
 * character tokenizer; the rows become padded windows of `model.context` ids; the engine trains the
 * encoder; and the model part of the artifact is the tokenizer's nodes (raw strings in, the same
 * ids as training: char-graph.ts) feeding the encoder's inference graph. So the artifact takes the
 * raw text column like any model with a tf-idf step, every protocol and runtime predicts through
 * the one graph, and the job's test metrics, measured by running that artifact, are what an
 * endpoint answers.
 */
import type { GraphPart } from '../../onnx/compose.js';
import { graphAsPart } from '../../onnx/compose.js';
import { DEFAULT_OPSETS, tensor } from '../../onnx/model.js';
import { createTextEncoder, padIdOf, textClassifierInferenceModel, trainTextClassifier, type TextEncoder } from '../../engine/lm/index.js';
import type { EpochMetrics } from '../../engine/network.js';
import type { OptimizerSpec } from '../../engine/optimizers.js';
import type { FittedPreprocessing } from '../../ml/preprocessing/fit.js';
import { CharTokenizer } from '../../ml/text/index.js';
import { charTokenizerNodes, encodeWindows } from '../../ml/text/char-graph.js';
import { cellString, column, type RawTable } from '../../ml/training-table.js';
import { InvalidInputError } from '../../infra/errors.js';
import type { TextClassifierModel } from './text-classifier-spec.js';
import type { TrainHooks } from './pipeline.js';
import type { EncodedTarget } from './target.js';
import { probabilitiesOf } from './teacher.js';
import { softenProbabilities } from '../../engine/losses.js';
import type { TrainSpec } from './train-spec.js';

export interface FittedTextClassifier {
  /** The preprocessing the artifact's inputs follow: the text column alone, as the `categories` string tensor. */
  preprocessing: FittedPreprocessing;
  part: GraphPart;
  epochs: number;
  history: EpochMetrics[];
  samples: number;
}

export async function fitTextClassifier(spec: TrainSpec, table: RawTable, target: EncodedTarget, rows: Int32Array, hooks: TrainHooks): Promise<FittedTextClassifier> {
  const m = spec.model as unknown as TextClassifierModel;
  const t = spec.training;
  const texts = textsOf(table, spec.text!, rows);
  const n = rows.length;
  const nVal = spec.split.validation > 0 && n >= 20 ? Math.max(1, Math.round(n * spec.split.validation)) : 0;
  const tokenizer = CharTokenizer.train(texts.slice(0, n - nVal));
  const enc = createTextEncoder({ vocabSize: tokenizer.vocabSize + 1, context: m.context, layers: m.layers, heads: m.heads, dim: m.dim, outputs: target.labels!.length }, spec.split.seed);
  const x = encodeWindows(tokenizer, texts, m.context, padIdOf(enc));
  const y = Int32Array.from(rows, (r) => target.values[r]!);
  const windows = (from: number, to: number) => ({ x: x.subarray(from * m.context, to * m.context), y: y.subarray(from, to) });
  hooks.log?.(`training a text_classifier (${m.layers} layers, ${m.heads} heads, dim ${m.dim}, context ${m.context}, ${enc.weights.length} parameters) on ${n - nVal} texts, validating on ${nVal}; ${tokenizer.vocabSize} characters`);
  const batch = Math.min(t.batchSize, n - nVal);
  const totalSteps = Math.floor((n - nVal) / batch) * t.epochs;
  // Distillation: the teacher's probabilities of the training rows (not the held-out ones), softened at T.
  const teacher = hooks.teacher;
  const distillation = teacher ? {
    temperature: teacher.temperature, alpha: teacher.alpha,
    soft: softenProbabilities(probabilitiesOf(teacher, rows.subarray(0, n - nVal)), teacher.classes, teacher.temperature),
  } : undefined;
  const history = await trainTextClassifier(enc, windows(0, n - nVal), nVal ? windows(n - nVal, n) : undefined, {
    epochs: t.epochs, batchSize: t.batchSize, optimizer: optimizerOf(t), seed: spec.split.seed, dropout: m.dropout,
    ...scheduleOf(t, totalSteps), intraOpThreads: hooks.threads, signal: hooks.signal, distillation,
    onEpoch: (e) => {
      hooks.epochMetrics?.({ ...e });
      hooks.progress?.(0.1 + 0.75 * (e.epoch / t.epochs), `epoch ${e.epoch}/${t.epochs}`, e.epoch, t.epochs);
    },
  });
  const column = table.columns.find((c) => c.name === spec.text)!;
  return {
    preprocessing: {
      numeric: [], categorical: [{ name: column.name, type: column.type, nullable: true }], numericOps: [], encoders: [], tfidf: [],
      featureNames: [], dropped: table.columns.map((c) => c.name).filter((c) => c !== spec.text && c !== spec.target),
    },
    part: servedPart(enc, tokenizer, m.context),
    epochs: t.epochs, history: history.epochs, samples: batch * totalSteps,
  };
}

/** `categories` [N, 1] (the raw text) → the tokenizer's ids → the encoder → probabilities, label. */
function servedPart(enc: TextEncoder, tokenizer: CharTokenizer, context: number): GraphPart {
  const tok = charTokenizerNodes(tokenizer, { input: 'text_raw', output: 'text_ids', context, padId: padIdOf(enc), prefix: 'tok_' });
  const net = graphAsPart(textClassifierInferenceModel(enc, context), 'net_', { x: 'text_ids' });
  return {
    nodes: [{ opType: 'Reshape', inputs: ['categories', 'text_shape'], outputs: ['text_raw'] }, ...tok.nodes, ...net.nodes],
    initializers: [tensor.int64('text_shape', [1], [-1]), ...tok.initializers, ...net.initializers],
    outputs: net.outputs,
    opsets: [...DEFAULT_OPSETS, ...net.opsets, { domain: 'com.microsoft', version: 1 }],
  };
}

function textsOf(table: RawTable, name: string, rows: Int32Array): string[] {
  const c = column(table, name, 'text');
  if (!('codes' in c)) throw new InvalidInputError('invalid_train_spec', `text: column '${name}' is not a text column.`, { field: 'text' });
  return Array.from(rows, (r) => cellString(c, r));
}

function optimizerOf(t: TrainSpec['training']): OptimizerSpec {
  const weightDecay = t.weightDecay ?? (t.optimizer === 'adamw' ? 0.01 : undefined);
  return JSON.parse(JSON.stringify({ type: t.optimizer, learningRate: t.learningRate ?? 1e-3, momentum: t.momentum, weightDecay, clipNorm: t.clipNorm ?? 1 }));
}

/** Warm-up then cosine by step (warm-up: `warmupEpochs`, else a tenth of the steps up to 100), or constant. */
function scheduleOf(t: TrainSpec['training'], totalSteps: number): { schedule: 'cosine' | 'constant'; warmupSteps: number } {
  const s = t.schedule;
  if (s?.type === 'constant') return { schedule: 'constant', warmupSteps: 0 };
  const perEpoch = totalSteps / t.epochs;
  const warmupSteps = s?.type === 'cosine' && s.warmupEpochs !== undefined ? Math.round(s.warmupEpochs * perEpoch) : Math.min(100, Math.floor(totalSteps / 10));
  return { schedule: 'cosine', warmupSteps };
}
