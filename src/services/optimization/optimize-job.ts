/**
 * The `optimize` job, as it runs in a worker process: read the source version's graph, apply the
 * method (src/engine/transforms), measure source and result side by side on this node (size, p50
 * latency, test metrics on the source's test split, or an imported version's evaluation dataset),
 * and register the result as a new version of the same model with `lineage.optimizedFrom`.
 */
import * as ort from 'onnxruntime-node';
import type { JobContext, JobOutcome } from '../jobs/job-type.js';
import { readTable, trainingServices } from '../training/job-services.js';
import { NETWORK_PREFIX, prepareData, rawFeeds, trainOnRows, type PreparedData } from '../training/pipeline.js';
import { scoreOutputs, type RawFeeds } from '../training/evaluate.js';
import { columnsOf, importedFeeds, runVersion } from '../training/version-feeds.js';
import { encodeTarget, type EncodedTarget } from '../training/target.js';
import type { TrainSpec } from '../training/train-spec.js';
import { InvalidInputError } from '../../infra/errors.js';
import { applicableMethods, decodeModel, networkFromGraph, optimizeModel, type OptimizationOptions } from '../../engine/transforms/index.js';
import { UnsupportedModelError, type ExternalFiles } from '../../onnx/decode.js';
import { encodeModel, type ModelDef } from '../../onnx/model.js';
import { openSession } from '../../engine/runtime.js';
import { permutation, Rng } from '../../ml/core/random.js';
import { CATEGORIES, FEATURES } from '../../ml/preprocessing/onnx.js';
import { column, type RawTable } from '../../ml/training-table.js';
import type { Signature } from '../../ml/signature.js';
import type { ModelVersion, RegistryService } from '../registry.js';
import type { DatasetService } from '../datasets.js';
import type { Principal } from '../principal.js';
import { measureLatency, syntheticFeeds, type LatencyFeeds } from './measure.js';
import type { OptimizeSpec } from './optimize-spec.js';

const BATCH_ROWS = 64;
const CALIBRATION_BATCH = 64;

/** Held-out rows of the source, as the graph's feeds, with their truth. */
interface TestData {
  feeds: RawFeeds;
  truth: EncodedTarget;
  rowTruth: Float64Array;
}

export async function run(ctx: JobContext<OptimizeSpec>): Promise<JobOutcome> {
  const spec = ctx.spec;
  const { registry, datasets, principal } = await trainingServices(ctx);
  const source = await registry.resolve(ctx.tenantId, spec.model, spec.version);
  ctx.progress({ fraction: 0.05, message: `reading version ${source.version} of ${source.name}` });
  const stored = new Uint8Array(await registry.readArtifact(source));
  const external = await externalFiles(registry, source);
  const graph = decode(stored, external);
  // A graph with external data (an imported Hugging Face folder) is measured inlined: one buffer ONNX Runtime loads as it is.
  const sourceBytes = external ? encodeModel(graph) : stored;
  const sourceSize = stored.length + (external ? [...external.files.values()].reduce((n, f) => n + f.length, 0) : 0);
  const applies = applicableMethods(graph).find((a) => a.method === spec.method)!;
  if (!applies.applies) throw new InvalidInputError('method_not_applicable', `${spec.method} does not apply to version ${source.version} of '${source.name}': ${applies.reason}.`);
  const trainedData = await sourceTrainingData(source, datasets, principal);
  const test = await testData(spec, source, trainedData, datasets, principal);
  ctx.progress({ fraction: 0.2, message: `applying ${spec.method}` });
  const options = await optionsOf(spec, source, graph, datasets, principal);
  const { model, report } = await optimizeModel(graph, options, ctx.threads);
  ctx.log(`${spec.method}: ${report.rewritten} ops rewritten${report.skipped.length ? `, ${report.skipped.length} left as they were (${report.skipped[0]!.reason})` : ''}`);
  const tuned = spec.fineTuneEpochs && trainedData ? await fineTune(ctx, source, model, trainedData) : model;
  const artifact = encodeModel(withProducer(tuned, spec));

  ctx.progress({ fraction: 0.5, message: 'measuring latency (source and optimized, interleaved)' });
  const feeds = test ? tabularLatencyFeeds(test.feeds) : await syntheticFeeds(source.signature, BATCH_ROWS, positionTable(graph));
  const [sourceLatency, latency] = await measureLatency([sourceBytes, artifact], feeds, ctx.threads);
  ctx.progress({ fraction: 0.8, message: test ? 'scoring both on the test rows' : 'no test rows for this version' });
  const sourceTest = test ? await score(sourceBytes, source.signature, test, ctx.threads) : undefined;
  const optimizedTest = test ? await score(artifact, source.signature, test, ctx.threads) : undefined;
  if (!test) ctx.log(source.source === 'imported' ? 'no test metrics: give "evaluation": {dataset, target} to measure an imported version' : `no test metrics for a ${source.kind} here: compare with the benchmark (npm run bench:optimize)`);

  const metrics = {
    ...(optimizedTest ? { test: optimizedTest } : {}),
    sizeBytes: artifact.length,
    latencyMs: latency!,
    source: { model: source.name, version: source.version, sizeBytes: sourceSize, latencyMs: sourceLatency!, ...(sourceTest ? { test: sourceTest } : {}) },
    optimization: { method: spec.method, ...optionSummary(spec), rewritten: report.rewritten, skipped: report.skipped, testRows: test?.feeds.rows ?? 0 },
  };
  ctx.progress({ fraction: 0.95, message: 'registering the optimized version' });
  ctx.signal.throwIfAborted();
  const version = await register(registry, ctx, source, artifact, metrics);
  ctx.log(`registered ${version.name} version ${version.version}: ${sourceSize} → ${artifact.length} bytes`);
  return { metrics, result: { model: version.name, version: version.version } };
}

/** A GPT's position table length (its context), when the graph has one. */
function positionTable(g: ModelDef): number | undefined {
  return g.graph.initializers?.find((t) => t.name === 'wpe.weight')?.dims[0];
}

/** The version's external data files (an imported folder's `onnx/*` beside the graph), by the location the graph names; undefined when it has none. */
async function externalFiles(registry: RegistryService, source: ModelVersion): Promise<{ files: Map<string, Uint8Array>; get: ExternalFiles } | undefined> {
  const files = new Map<string, Uint8Array>();
  for (const name of Object.keys(source.files)) {
    if (name.startsWith('onnx/') && !name.endsWith('.onnx')) files.set(name.slice('onnx/'.length), (await registry.readFile(source, name))!);
  }
  return files.size ? { files, get: (location) => files.get(location) } : undefined;
}

function decode(bytes: Uint8Array, external?: { get: ExternalFiles }): ModelDef {
  try {
    return decodeModel(bytes, external?.get);
  } catch (err) {
    if (err instanceof UnsupportedModelError) throw new InvalidInputError('unsupported_model', `The source graph cannot be optimized: ${err.message}.`);
    throw err;
  }
}

function withProducer(m: ModelDef, spec: OptimizeSpec): ModelDef {
  return { ...m, metadata: { ...m.metadata, 'aiaas.optimizedFrom': JSON.stringify({ model: spec.model, version: spec.version, method: spec.method }) } };
}

function optionSummary(spec: OptimizeSpec): Record<string, unknown> {
  const { model: _m, version: _v, method: _x, evaluation: _e, calibration, ...rest } = spec;
  return { ...rest, ...(calibration ? { calibration: { dataset: calibration.dataset, version: calibration.datasetVersion, rows: calibration.rows } } : {}) };
}

async function register(registry: RegistryService, ctx: JobContext<OptimizeSpec>, source: ModelVersion, artifact: Uint8Array, metrics: Record<string, unknown>): Promise<ModelVersion> {
  const files = new Map<string, Uint8Array>();
  // The result holds its weights inline: the source's external data files (onnx/*.onnx_data) are not carried over.
  for (const name of Object.keys(source.files)) if (!(name.startsWith('onnx/') && !name.endsWith('.onnx'))) files.set(name, (await registry.readFile(source, name))!);
  return registry.registerVersion(ctx.tenantId, {
    name: source.name, artifact, kind: source.kind, task: source.task, signature: source.signature, metrics, source: source.source,
    description: `${ctx.spec.method} of version ${source.version}`,
    lineage: {
      job: ctx.jobId, dataset: source.lineage.dataset, datasetVersion: source.lineage.datasetVersion, params: source.lineage.params,
      optimizedFrom: { model: source.name, version: source.version, method: ctx.spec.method },
    },
    files,
  });
}

async function optionsOf(spec: OptimizeSpec, source: ModelVersion, graph: ModelDef, datasets: DatasetService, p: Principal): Promise<OptimizationOptions> {
  switch (spec.method) {
    case 'quantize_dynamic': return { method: 'quantize_dynamic', ops: spec.ops };
    case 'quantize_weights': return { method: 'quantize_weights', bits: spec.bits!, blockSize: spec.blockSize };
    case 'fp16': return { method: 'fp16' };
    case 'prune': return { method: 'prune', sparsity: spec.sparsity!, structured: spec.structured! };
    case 'quantize_static': {
      const c = spec.calibration!;
      const params = source.lineage.params as Partial<TrainSpec>;
      const skip = c.target ?? (source.source === 'trained' ? params.target : undefined);
      const table = await readTable(datasets, p, c.dataset, c.datasetVersion);
      const order = permutation(table.rows, new Rng(0));
      const rows = order.subarray(0, Math.min(c.rows, table.rows));
      const batches: Record<string, ort.Tensor>[] = [];
      for (let i = 0; i < rows.length; i += CALIBRATION_BATCH) {
        batches.push(tensorsOf(feedsFor(source.signature, graph, table, rows.subarray(i, i + CALIBRATION_BATCH), skip)));
      }
      return { method: 'quantize_static', calibration: batches };
    }
  }
}

/**
 * A version trained here, re-split exactly as its train job did (same spec, same seed): its
 * training rows (for fine-tuning) and its held-out rows (for the test metrics).
 */
async function sourceTrainingData(source: ModelVersion, datasets: DatasetService, p: Principal): Promise<PreparedData | undefined> {
  const sig = source.signature;
  if (source.source !== 'trained' || (sig.task !== 'classification' && sig.task !== 'regression')) return undefined;
  const params = source.lineage.params as unknown as TrainSpec;
  if (!params.target || !params.split || sig.inputs.length === 0) return undefined;
  const table = await readTable(datasets, p, params.dataset, params.datasetVersion);
  const testTable = params.testDataset ? await readTable(datasets, p, params.testDataset.name, params.testDataset.version) : undefined;
  return prepareData(params, table, testTable);
}

/**
 * Trains the pruned network for `fineTuneEpochs` more epochs on the source's training rows with
 * the source's training options, through the same pipeline as its train job (the preprocessing
 * refits identically on the same rows), starting from the pruned weights instead of fresh ones.
 */
async function fineTune(ctx: JobContext<OptimizeSpec>, source: ModelVersion, pruned: ModelDef, data: PreparedData): Promise<ModelDef> {
  const params = source.lineage.params as unknown as TrainSpec;
  const epochs = ctx.spec.fineTuneEpochs!;
  const spec: TrainSpec = { ...params, training: { ...params.training, epochs } };
  ctx.log(`fine-tuning the pruned network for ${epochs} epochs on ${data.trainRows.length} training rows`);
  const trained = await trainOnRows(spec, data, data.trainRows, {
    threads: ctx.threads, signal: ctx.signal, log: (line) => ctx.log(line),
    progress: (f, m) => ctx.progress({ fraction: 0.2 + 0.3 * f, message: `fine-tuning: ${m ?? ''}` }),
    epochMetrics: (m) => ctx.metrics({ fineTune: m }),
    startFrom: (fresh) => networkFromGraph(fresh, pruned, NETWORK_PREFIX),
  });
  return decodeModel(trained.artifact);
}

/** The source's held-out rows: a trained version's own test split; an imported one's, the evaluation dataset of the job. */
async function testData(spec: OptimizeSpec, source: ModelVersion, data: PreparedData | undefined, datasets: DatasetService, p: Principal): Promise<TestData | undefined> {
  const sig = source.signature;
  if (sig.task !== 'classification' && sig.task !== 'regression') return undefined;
  if (source.source === 'trained') {
    if (!data) return undefined;
    const feeds = rawFeeds(data.testTable, columnsOf(sig), data.testRows);
    return { feeds, truth: data.testTarget, rowTruth: Float64Array.from(data.testRows, (r) => data.testTarget.values[r]!) };
  }
  if (!spec.evaluation) return undefined;
  const table = await readTable(datasets, p, spec.evaluation.dataset, spec.evaluation.datasetVersion);
  const truth = encodeTarget(column(table, spec.evaluation.target), sig.task);
  if (sig.task === 'classification') alignTo(truth, sig.labels ?? indexLabels(truth.labels!));
  const rows = Int32Array.from({ length: table.rows }, (_, i) => i).filter((r) => (sig.task === 'classification' ? truth.values[r]! >= 0 : !Number.isNaN(truth.values[r]!)));
  const feeds = importedFeeds(sig, table, rows, spec.evaluation.target);
  return { feeds, truth, rowTruth: Float64Array.from(rows, (r) => truth.values[r]!) };
}

/** An imported classifier's class index i is its labels[i] (or the number i when it declares none). */
function alignTo(t: EncodedTarget, labels: string[]): void {
  const index = new Map(labels.map((l, i) => [l, i]));
  t.values = t.values.map((v) => (v < 0 ? -1 : index.get(t.labels![v]!) ?? -1));
  t.labels = labels;
}

/** Class labels that are the numbers 0…C−1, for a classifier that declares no labels. */
function indexLabels(seen: string[]): string[] {
  const n = seen.map(Number);
  if (!n.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new InvalidInputError('dataset_mismatch', `The imported classifier declares no labels, so its classes are indices 0…C−1; the evaluation target has labels ${seen.slice(0, 5).join(', ')}. Import it with ?labels=… or evaluate on a target of class indices.`);
  }
  return Array.from({ length: Math.max(...n) + 1 }, (_, i) => String(i));
}

function feedsFor(sig: Signature, graph: ModelDef, table: RawTable, rows: Int32Array, skip?: string): RawFeeds & { tensor?: string } {
  const feeds = importedFeeds(sig, table, rows, skip);
  return sig.inputs.length > 0 ? feeds : { ...feeds, tensor: graph.graph.inputs[0]!.name };
}

function tensorsOf(f: RawFeeds & { tensor?: string }, from = 0, n = f.rows): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  if (f.featureCount) out[f.tensor ?? FEATURES] = new ort.Tensor('float32', f.features.slice(from * f.featureCount, (from + n) * f.featureCount), [n, f.featureCount]);
  if (f.categoryCount) out[CATEGORIES] = new ort.Tensor('string', f.categories.slice(from * f.categoryCount, (from + n) * f.categoryCount), [n, f.categoryCount]);
  return out;
}

function tabularLatencyFeeds(f: RawFeeds): LatencyFeeds {
  const batchRows = Math.min(BATCH_ROWS, f.rows);
  return { row: tensorsOf(f, 0, 1), batch: tensorsOf(f, 0, batchRows), batchRows };
}

/** Test metrics of an artifact on the held-out rows (the train job's own scoring). */
async function score(artifact: Uint8Array, sig: Signature, test: TestData, threads: number) {
  const session = await openSession(artifact, { intraOpThreads: threads });
  try {
    const out = await runVersion(session, test.feeds, sig);
    return scoreOutputs(sig.task as 'classification' | 'regression', test.rowTruth, out, test.truth.labels);
  } finally {
    await session.release();
  }
}

