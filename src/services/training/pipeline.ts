/**
 * The training pipeline: dataset rows → split → fitted preprocessing → fitted model → one ONNX
 * artifact (preprocessing + model, raw rows in) → metrics measured through that artifact.
 * Used by train jobs (which then register the version) and by tuning trials (which only score).
 */
import * as ort from 'onnxruntime-node';
import { InvalidInputError } from '../../infra/errors.js';
import { assemble, graphAsPart, type GraphPart } from '../../onnx/compose.js';
import { DataType, encodeModel, tensor } from '../../onnx/model.js';
import { createNetwork, type EpochMetrics, type Network } from '../../engine/network.js';
import { fit } from '../../engine/train-loop.js';
import { openSession } from '../../engine/runtime.js';
import { inferenceModel, softWidth } from '../../engine/program.js';
import { softenProbabilities } from '../../engine/losses.js';
import { loadCheckpoint, saveCheckpoint } from '../../engine/checkpoint.js';
import type { ModelSpec as NetworkSpec } from '../../engine/spec.js';
import type { OptimizerSpec } from '../../engine/optimizers.js';
import { fitModel, onnxNodes, type ModelSpec as ClassicalSpec } from '../../ml/estimators/index.js';
import type { ModelState } from '../../ml/estimators/types.js';
import { trainTestSplit, type Stratify } from '../../ml/metrics/validation.js';
import { fitPreprocessing, type FittedPreprocessing } from '../../ml/preprocessing/fit.js';
import { preprocessingInputs, preprocessingPart } from '../../ml/preprocessing/onnx.js';
import type { Signature, SignatureInput } from '../../ml/signature.js';
import { buildFeeds, column, uniqueRows, type RawTable } from '../../ml/training-table.js';
import { augmentImages } from '../../ml/preprocessing/augment.js';
import { isNeural, isText, type TrainSpec } from './train-spec.js';
import { fitTextClassifier } from './text-classifier.js';
import { probabilitiesOf, type TeacherTargets } from './teacher.js';
import { encodeTarget, type EncodedTarget } from './target.js';
import { runArtifact, scoreOutputs, type RawFeeds } from './evaluate.js';
import { SIGNATURE_METADATA_KEY } from '../registry.js';
import { signatureToMetadata } from '../../ml/signature-metadata.js';

export interface TrainHooks {
  threads: number;
  signal?: AbortSignal;
  progress?(fraction: number, message?: string, epoch?: number, epochs?: number): void;
  epochMetrics?(m: Record<string, unknown>): void;
  log?(line: string): void;
  /** Network checkpoints: saved after every epoch, loaded on resume. */
  checkpoint?: { load(): Promise<Uint8Array | undefined>; save(bytes: Uint8Array): Promise<void> };
  /** Start from this network instead of `fresh` (its initial weights), e.g. a pruned one to fine-tune. */
  startFrom?(fresh: Network): Network;
  /** Distillation: the teacher's probabilities of the table's rows (teacher.ts). */
  teacher?: TeacherTargets;
}

export interface PreparedData {
  table: RawTable;
  target: EncodedTarget;
  /** Rows to fit on (train + validation) and held out (test), as indices into `table` / `testTable`. */
  trainRows: Int32Array;
  testRows: Int32Array;
  testTable: RawTable;
  testTarget: EncodedTarget;
  features: string[];
}

/** Drops rows without a target (and duplicates when asked), then splits off the test rows. */
export function prepareData(spec: TrainSpec, table: RawTable, testTable?: RawTable): PreparedData {
  const target = encodeTarget(column(table, spec.target), spec.task);
  const features = table.columns.map((c) => c.name).filter((n) => n !== spec.target);
  const dedupe = spec.steps.some((s) => s.op === 'drop_duplicates');
  const candidates = (dedupe ? uniqueRows(table) : Int32Array.from({ length: table.rows }, (_, i) => i))
    .filter((r) => hasTarget(target, r));
  if (testTable) {
    const testTarget = encodeTarget(column(testTable, spec.target), spec.task);
    alignLabels(target, testTarget);
    const testRows = Int32Array.from({ length: testTable.rows }, (_, i) => i).filter((r) => hasTarget(testTarget, r));
    return { table, target, trainRows: candidates, testRows, testTable, testTarget, features };
  }
  const split = trainTestSplit(candidates.length, { testFraction: spec.split.test, seed: spec.split.seed, stratify: stratifyBy(target, candidates) });
  return {
    table, target, features, testTable: table, testTarget: target,
    trainRows: Int32Array.from(split.train, (i) => candidates[i]!),
    testRows: Int32Array.from(split.test, (i) => candidates[i]!),
  };
}

const hasTarget = (t: EncodedTarget, r: number) => (t.task === 'classification' ? t.values[r]! >= 0 : !Number.isNaN(t.values[r]!));

export function stratifyBy(t: EncodedTarget, rows: Int32Array): Stratify | undefined {
  if (t.task !== 'classification') return undefined;
  return { y: Int32Array.from(rows, (r) => t.values[r]!), classCount: t.labels!.length };
}

/** A separate test dataset's labels are re-indexed to the training labels; unseen ones are refused. */
function alignLabels(train: EncodedTarget, test: EncodedTarget): void {
  if (train.task !== 'classification') return;
  const index = new Map(train.labels!.map((l, i) => [l, i]));
  const unseen = test.labels!.filter((l) => !index.has(l));
  if (unseen.length) throw new InvalidInputError('unseen_labels', `The test dataset has classes the training data lacks: ${unseen.slice(0, 5).join(', ')}.`, { labels: unseen });
  test.values = test.values.map((v) => (v < 0 ? -1 : index.get(test.labels![v]!)!));
  test.labels = train.labels;
}

export interface TrainedModel {
  artifact: Uint8Array;
  signature: Signature;
  preprocessing: FittedPreprocessing;
  trainSeconds: number;
  trainSamples: number;
  epochs?: number;
  /** A network's per-epoch figures (all epochs, also those of earlier runs of a resumed job). */
  history?: EpochMetrics[];
  /** A classical model's fitted state and its preprocessing alone (raw feeds → `preprocessed`): what explanations need. */
  state?: ModelState;
  preprocessingModel?: Uint8Array;
}

/** Fits preprocessing and the model on `rows` (a validation share is carved out for networks). */
export async function trainOnRows(spec: TrainSpec, data: PreparedData, rows: Int32Array, hooks: TrainHooks): Promise<TrainedModel> {
  const { table, target } = data;
  const started = performance.now();
  if (isText(spec.model.kind)) {
    // The text model reads its raw column itself (its tokenizer is part of its graph): no preprocessing part.
    const r = await fitTextClassifier(spec, table, target, rows, hooks);
    return packaged(spec, target, r.preprocessing, [r.part], started, { epochs: r.epochs, history: r.history, trainSamples: r.samples });
  }
  const neural = isNeural(spec.model.kind);
  const pre = fitPreprocessing(table, data.features, rows, spec.steps, { modelHandlesMissing: spec.model.kind === 'random_forest' || spec.model.kind === 'gradient_boosting' });
  hooks.progress?.(0.05, `preprocessing fitted: ${pre.featureNames.length} features`);
  const prePart = preprocessingPart(pre);
  const preprocessingModel = encodeModel(assemble({ name: 'preprocessing', inputs: preprocessingInputs(pre), parts: [prePart], outputs: prePart.outputs }));
  const x = await transform(preprocessingModel, pre, table, rows, hooks.threads);
  if (neural) {
    const teacher = hooks.teacher ? probabilitiesOf(hooks.teacher, rows) : undefined;
    const r = await fitNetwork(spec, pre, x, Float64Array.from(rows, (i) => target.values[i]!), target, hooks, teacher);
    return packaged(spec, target, pre, [prePart, r.part], started, { epochs: r.epochs, history: r.history, trainSamples: r.samples });
  }
  const state = fitClassical(spec, x, rows, target, hooks);
  return { ...packaged(spec, target, pre, [prePart, onnxNodes(state, { input: 'preprocessed', prefix: 'model_' })], started, { trainSamples: rows.length }), state, preprocessingModel };
}

/** One artifact from the parts (the last one the model's), with its signature, and the training figures. */
function packaged(spec: TrainSpec, target: EncodedTarget, pre: FittedPreprocessing, parts: GraphPart[], started: number,
  figures: Pick<TrainedModel, 'epochs' | 'history' | 'trainSamples'>): TrainedModel {
  const trainSeconds = (performance.now() - started) / 1000;
  const modelPart = parts[parts.length - 1]!;
  const signature = signatureOf(pre, spec, target, modelPart);
  // The signature travels inside the file too, so a downloaded artifact re-imports with its raw columns.
  const model = assemble({
    name: spec.name, inputs: preprocessingInputs(pre), parts, outputs: modelPart.outputs,
    metadata: { [SIGNATURE_METADATA_KEY]: signatureToMetadata(signature), 'aiaas.kind': spec.model.kind },
  });
  return { artifact: encodeModel(model), signature, preprocessing: pre, trainSeconds, ...figures };
}

/** Runs the preprocessing graph on the raw rows: the matrix the model trains on. */
async function transform(bytes: Uint8Array, pre: FittedPreprocessing, table: RawTable, rows: Int32Array, threads: number): Promise<Float32Array> {
  const session = await openSession(bytes, { intraOpThreads: threads });
  try {
    const D = pre.featureNames.length;
    const out = new Float32Array(rows.length * D);
    // Wide outputs (tf-idf) in smaller chunks: about 4M values per run.
    const chunk = Math.max(1, Math.min(16384, Math.floor(4_194_304 / D)));
    for (let s = 0; s < rows.length; s += chunk) {
      const part = rows.subarray(s, Math.min(rows.length, s + chunk));
      const feeds = rawFeeds(table, pre, part);
      const input: Record<string, ort.Tensor> = {};
      if (feeds.featureCount) input.features = new ort.Tensor('float32', feeds.features, [part.length, feeds.featureCount]);
      if (feeds.categoryCount) input.categories = new ort.Tensor('string', feeds.categories, [part.length, feeds.categoryCount]);
      const r = await session.run(input);
      out.set(r.preprocessed!.data as Float32Array, s * D);
    }
    return out;
  } finally {
    await session.release();
  }
}

export function rawFeeds(table: RawTable, pre: Pick<FittedPreprocessing, 'numeric' | 'categorical'>, rows: ArrayLike<number>): RawFeeds {
  const numeric = pre.numeric.map((c) => c.name);
  const categorical = pre.categorical.map((c) => c.name);
  const { features, categories } = buildFeeds(table, numeric, categorical, rows);
  return { rows: rows.length, features, featureCount: numeric.length, categories, categoryCount: categorical.length };
}

function fitClassical(spec: TrainSpec, x: Float32Array, rows: Int32Array, target: EncodedTarget, hooks: TrainHooks): ModelState {
  const cols = x.length / rows.length;
  const y = Float64Array.from(rows, (r) => target.values[r]!);
  const tgt = target.task === 'classification'
    ? { task: 'classification' as const, y: Int32Array.from(y), classCount: target.labels!.length }
    : { task: 'regression' as const, y };
  return fitModel(spec.model as unknown as ClassicalSpec, { data: x, rows: rows.length, cols }, tgt, {
    seed: spec.split.seed,
    // The job's CPUs: a forest's trees (and a multi-class boosting round's) grow on helper threads.
    threads: hooks.threads,
    onProgress: (f, m) => hooks.progress?.(0.1 + 0.75 * f, m),
  });
}

/** The shape of one example: a reshape step's, a square image for a CNN on flat pixels, else flat. */
export function exampleShape(kind: string, width: number, reshape?: number[]): number[] {
  if (reshape) return reshape;
  const side = Math.round(Math.sqrt(width));
  if (kind === 'cnn' && side * side === width) return [side, side, 1];
  return [width];
}

async function fitNetwork(spec: TrainSpec, pre: FittedPreprocessing, x: Float32Array, y: Float64Array, target: EncodedTarget, hooks: TrainHooks, teacher?: Float32Array) {
  const t = spec.training;
  const classCount = target.labels?.length ?? 1;
  const inputShape = exampleShape(spec.model.kind, pre.featureNames.length, pre.exampleShape);
  const { kind, ...rest } = spec.model;
  // Regression targets are standardised for training; the graph maps predictions back.
  const yMean = target.task === 'regression' ? y.reduce((a, b) => a + b, 0) / y.length : 0;
  const yStd = target.task === 'regression' ? Math.sqrt(y.reduce((a, b) => a + (b - yMean) ** 2, 0) / y.length) || 1 : 1;
  const yTrain = target.task === 'regression' ? y.map((v) => (v - yMean) / yStd) : y;
  const saved = await hooks.checkpoint?.load();
  const fresh = () => createNetwork({ kind, ...rest } as NetworkSpec, { inputShape, outputs: classCount, task: target.task, seed: spec.split.seed });
  const net: Network = saved ? loadCheckpoint(saved) : hooks.startFrom ? hooks.startFrom(fresh()) : fresh();
  if (saved) hooks.log?.(`resuming from checkpoint at epoch ${net.training?.epoch ?? 0}`);
  const n = y.length;
  const nVal = spec.split.validation > 0 && n >= 20 ? Math.max(1, Math.round(n * spec.split.validation)) : 0;
  const d = x.length / n;
  // Distillation: the teacher's probabilities softened at T, as wide as the network's output (a sigmoid head: 1).
  const w = softWidth(net);
  const soft = teacher && hooks.teacher ? softenProbabilities(teacher, hooks.teacher.classes, hooks.teacher.temperature, w).subarray(0, (n - nVal) * w) : undefined;
  const distillation = soft ? { temperature: hooks.teacher!.temperature, alpha: hooks.teacher!.alpha } : undefined;
  const train = { x: x.subarray(0, (n - nVal) * d), y: yTrain.subarray(0, n - nVal), ...(soft ? { soft } : {}) };
  const validation = nVal ? { x: x.subarray((n - nVal) * d), y: yTrain.subarray(n - nVal) } : undefined;
  const optimizer: OptimizerSpec = JSON.parse(JSON.stringify({ type: t.optimizer, learningRate: t.learningRate, momentum: t.momentum, weightDecay: t.weightDecay, clipNorm: t.clipNorm }));
  const options = {
    batchSize: t.batchSize, optimizer, schedule: t.schedule, validation, signal: hooks.signal, distillation,
    earlyStopping: t.earlyStopping ? { ...t.earlyStopping, restoreBestWeights: true } : undefined,
    intraOpThreads: hooks.threads,
    callbacks: {
      onEpochEnd: async (m: EpochMetrics) => {
        hooks.epochMetrics?.({ ...m });
        hooks.progress?.(0.1 + 0.75 * (m.epoch / t.epochs), `epoch ${m.epoch}/${t.epochs}`, m.epoch, t.epochs);
        if (hooks.checkpoint) await hooks.checkpoint.save(saveCheckpoint(net));
      },
    },
  };
  let history;
  if (pre.augment) {
    // Augmented copies differ every epoch, so fit one epoch at a time (fit continues where the network is).
    for (let e = net.training?.epoch ?? 0; e < t.epochs && !net.training?.stopped; e++) {
      const xe = augmentImages(train.x, inputShape, pre.augment, spec.split.seed * 7919 + e);
      history = await fit(net, { ...train, x: xe }, { ...options, epochs: e + 1 });
    }
  } else {
    history = await fit(net, train, { ...options, epochs: t.epochs });
  }
  const epochs = net.training?.epoch ?? t.epochs;
  const samples = (history?.samplesPerSecond ?? 0) > 0 ? train.y.length * epochs : train.y.length;
  return { part: networkPart(net, pre, inputShape, target, yMean, yStd), epochs, samples, history: net.training?.history ?? history?.epochs ?? [] };
}

/** What the network's names carry inside a trained artifact, after the preprocessing's. */
export const NETWORK_PREFIX = 'net_';

/** The network's inference graph wired to the preprocessed matrix (reshaped for images, de-standardised for regression). */
function networkPart(net: Network, pre: FittedPreprocessing, inputShape: number[], target: EncodedTarget, yMean: number, yStd: number): GraphPart {
  const model = inferenceModel(net);
  const extra: GraphPart = { nodes: [], initializers: [], outputs: [], opsets: [] };
  let input = 'preprocessed';
  if (inputShape.length > 1) {
    extra.initializers.push(tensor.int64('image_shape', [inputShape.length + 1], [-1, ...inputShape]));
    extra.nodes.push({ opType: 'Reshape', inputs: ['preprocessed', 'image_shape'], outputs: ['image'] });
    input = 'image';
  }
  const inner = graphAsPart(model, NETWORK_PREFIX, { [model.graph.inputs[0]!.name]: input });
  if (target.task !== 'regression') return { ...inner, nodes: [...extra.nodes, ...inner.nodes], initializers: [...extra.initializers, ...inner.initializers] };
  // Rename the network's `value` and scale it back to the target's units.
  const renamed = inner.nodes.map((n) => ({ ...n, outputs: n.outputs.map((o) => (o === 'value' ? 'net_value_std' : o)) }));
  return {
    nodes: [
      ...extra.nodes, ...renamed,
      { opType: 'Mul', inputs: ['net_value_std', 'target_std'], outputs: ['net_value_scaled'] },
      { opType: 'Add', inputs: ['net_value_scaled', 'target_mean'], outputs: ['value'] },
    ],
    initializers: [...extra.initializers, ...inner.initializers, tensor.float('target_std', [1], [yStd]), tensor.float('target_mean', [1], [yMean])],
    outputs: inner.outputs,
    opsets: inner.opsets,
  };
}

function signatureOf(pre: FittedPreprocessing, spec: TrainSpec, target: EncodedTarget, part: GraphPart): Signature {
  const inputs: SignatureInput[] = [
    ...pre.numeric.map((c, index) => ({ name: c.name, type: c.type, tensor: 'features', index, nullable: c.nullable })),
    ...pre.categorical.map((c, index) => ({
      name: c.name, type: c.type, tensor: 'categories', index, nullable: c.nullable,
      ...(c.type === 'category' && pre.encoders.some((e) => e.input === index) ? { categories: pre.encoders.find((e) => e.input === index)!.categories } : {}),
    })),
  ];
  const tensors = preprocessingInputs(pre).map((v) => ({
    name: v.name, dtype: v.type.elemType === DataType.STRING ? ('string' as const) : ('float32' as const), shape: [-1, v.type.shape![1] as number],
  }));
  const outputs = part.outputs.map((o) => ({
    name: o.name,
    dtype: o.type.elemType === DataType.INT64 ? ('int64' as const) : ('float32' as const),
    shape: (o.type.shape ?? []).map((d) => (typeof d === 'number' ? d : -1)),
  }));
  return { inputs, tensors, outputs, task: spec.task, ...(target.labels ? { labels: target.labels } : {}) };
}

/** Metrics of an artifact on held-out rows, measured by running the artifact. */
export async function evaluate(artifact: Uint8Array, pre: FittedPreprocessing, table: RawTable, target: EncodedTarget, rows: Int32Array, threads: number) {
  const session = await openSession(artifact, { intraOpThreads: threads });
  try {
    const feeds = rawFeeds(table, pre, rows);
    const truth = Float64Array.from(rows, (r) => target.values[r]!);
    const outputs = await runArtifact(session, feeds);
    return { session, feeds, truth, outputs, metrics: scoreOutputs(target.task, truth, outputs, target.labels) };
  } catch (err) {
    await session.release();
    throw err;
  }
}
