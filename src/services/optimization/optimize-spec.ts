/**
 * The `optimize` job's spec (API.md "Model optimization"), checked in the API process before
 * anything is queued: the source version (404 for another tenant's, as for a missing one), the
 * method and its options, and whether the method applies to that version at all. A method that
 * cannot apply is a 422 that says why and names the methods that would.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { applicableMethods, decodeModel, OPTIMIZATION_METHODS, type OptimizationMethod } from '../../engine/transforms/index.js';
import { CLASSICAL_KINDS, NEURAL_KINDS } from '../../api/training-types.js';

/** Kinds whose pruned graph maps back onto an engine network, so `fit` can fine-tune it. */
const FINE_TUNABLE_KINDS = NEURAL_KINDS;
import { fail, isObject, num, onlyFields } from '../training/spec-fields.js';
import type { DatasetService } from '../datasets.js';
import type { ModelVersion, RegistryService } from '../registry.js';
import type { Principal } from '../principal.js';

export interface OptimizeSpec {
  model: string;
  version: number;
  method: OptimizationMethod;
  /** quantize_weights */
  bits?: 4 | 8;
  blockSize?: number;
  /** quantize_dynamic: the fused contrib op (default) or plain ONNX ops. */
  ops?: 'contrib' | 'standard';
  /** quantize_static: rows of a dataset version (default: the source's training rows). */
  calibration?: { dataset: string; datasetVersion: number; rows: number; target?: string };
  /** prune */
  sparsity?: number;
  structured?: boolean;
  fineTuneEpochs?: number;
  /** Imported versions: where their test metrics are measured. */
  evaluation?: { dataset: string; datasetVersion: number; target: string };
}

const FIELDS = ['model', 'version', 'method', 'bits', 'blockSize', 'ops', 'calibration', 'sparsity', 'structured', 'fineTuneEpochs', 'evaluation'];
const METHOD_FIELDS: Record<OptimizationMethod, string[]> = {
  quantize_dynamic: ['ops'], quantize_static: ['calibration'], quantize_weights: ['bits', 'blockSize'], fp16: [],
  prune: ['sparsity', 'structured', 'fineTuneEpochs'],
};
/** Graphs above this size are checked in the job (their worker reads them anyway), not in the API process. */
const INSPECT_MAX_BYTES = 256 * 1024 * 1024;
const LANGUAGE_KINDS = ['causal_lm', 'text_encoder'];

export interface OptimizeContext {
  principal: Principal;
  registry: RegistryService;
  datasets: DatasetService;
}

const refuse = (field: string, message: string, details: Record<string, unknown> = {}) =>
  new InvalidInputError('method_not_applicable', message, { field, ...details });

export async function validateOptimizeSpec(raw: Record<string, unknown>, ctx: OptimizeContext): Promise<OptimizeSpec> {
  onlyFields(raw, FIELDS, '', 'an optimize job');
  if (typeof raw.model !== 'string' || !raw.model) throw fail('model', 'name the model to optimize, e.g. "model": "mnist-mlp".');
  const ref = raw.version ?? 'latest';
  if (typeof ref !== 'number' && typeof ref !== 'string') throw fail('version', 'a version number, a stage name or "latest".');
  const source = await ctx.registry.getVersion(ctx.principal, raw.model, ref);
  const method = raw.method;
  if (typeof method !== 'string' || !(OPTIMIZATION_METHODS as readonly string[]).includes(method)) {
    throw fail('method', `one of ${OPTIMIZATION_METHODS.join(', ')}; got ${JSON.stringify(method)}.`);
  }
  const m = method as OptimizationMethod;
  for (const k of Object.keys(raw)) {
    const owner = (Object.keys(METHOD_FIELDS) as OptimizationMethod[]).find((x) => METHOD_FIELDS[x].includes(k));
    if (owner && owner !== m) throw fail(k, `belongs to method ${owner}, not ${m}.`);
  }
  const spec: OptimizeSpec = { model: source.name, version: source.version, method: m };
  await checkApplies(source, m, ctx.registry);
  if (m === 'quantize_dynamic' && raw.ops !== undefined) {
    if (raw.ops !== 'contrib' && raw.ops !== 'standard') throw fail('ops', '"contrib" (ONNX Runtime\'s DynamicQuantizeMatMul, the default) or "standard" (plain ONNX ops).');
    spec.ops = raw.ops;
  }
  if (m === 'quantize_weights') {
    if (raw.bits !== 4 && raw.bits !== 8) throw fail('bits', 'quantize_weights needs "bits": 8 or 4.');
    spec.bits = raw.bits;
    const block = raw.blockSize ?? 32;
    if (typeof block !== 'number' || block < 16 || block > 256 || (block & (block - 1)) !== 0) throw fail('blockSize', `a power of two from 16 to 256; got ${JSON.stringify(block)}.`);
    spec.blockSize = block;
  }
  if (m === 'prune') {
    spec.sparsity = num(raw.sparsity ?? 0.5, 'sparsity', 0.01, 0.99);
    if (raw.structured !== undefined && typeof raw.structured !== 'boolean') throw fail('structured', 'true or false.');
    spec.structured = (raw.structured as boolean | undefined) ?? false;
    spec.fineTuneEpochs = num(raw.fineTuneEpochs ?? 0, 'fineTuneEpochs', 0, 100, true);
    if (spec.fineTuneEpochs > 0 && source.source !== 'trained') {
      throw refuse('fineTuneEpochs', `Version ${source.version} of '${source.name}' was imported, so the platform has no training data to fine-tune it on. Send "fineTuneEpochs": 0 to prune without fine-tuning, or use quantize_dynamic or fp16, which need no data.`, { source: 'imported' });
    }
    if (spec.fineTuneEpochs > 0 && !(FINE_TUNABLE_KINDS as readonly string[]).includes(source.kind)) {
      throw refuse('fineTuneEpochs', `Fine-tuning after pruning is built for networks of kind ${FINE_TUNABLE_KINDS.join(', ')}; version ${source.version} of '${source.name}' is a ${source.kind}. Send "fineTuneEpochs": 0 to prune without fine-tuning.`, { kind: source.kind });
    }
    if (spec.fineTuneEpochs > 0 && !spec.structured) {
      throw refuse('fineTuneEpochs', 'Fine-tuning is built for structured pruning ("structured": true), whose removed neurons and channels stay removed; after unstructured pruning the training steps would make the zeroed weights nonzero again. Send "structured": true, or "fineTuneEpochs": 0.', { structured: false });
    }
  }
  if (m === 'quantize_static') spec.calibration = await calibrationOf(raw.calibration, source, ctx);
  if (raw.evaluation !== undefined) {
    if (source.source === 'trained') throw fail('evaluation', `version ${source.version} of '${source.name}' was trained here: it is measured on its own test split; leave evaluation out.`);
    spec.evaluation = await datasetRef(raw.evaluation, 'evaluation', ctx, true) as OptimizeSpec['evaluation'];
  }
  return spec;
}

/** Refuses a method the version's kind or graph gives nothing to work on, naming what would apply. */
async function checkApplies(source: ModelVersion, m: OptimizationMethod, registry: RegistryService): Promise<void> {
  const where = `version ${source.version} of '${source.name}' (${source.kind})`;
  if ((CLASSICAL_KINDS as readonly string[]).includes(source.kind)) {
    throw refuse('method', `${m} does not apply to ${where}: it is a ${source.kind.includes('forest') || source.kind.includes('boosting') ? 'tree ensemble' : 'linear model'}, whose ONNX-ML operators keep their parameters in attributes, with no weight matrices to quantize, cast or prune. No optimization method applies; train a network (mlp, cnn) to optimize it.`, { kind: source.kind, applicable: [] });
  }
  if (LANGUAGE_KINDS.includes(source.kind)) {
    if (m === 'quantize_static' || m === 'prune') {
      throw refuse('method', `${m} does not apply to ${where}: a language model's decoder is quantized weight-only; use quantize_weights (bits 8 or 4), quantize_dynamic or fp16.`, { kind: source.kind, applicable: ['quantize_weights', 'quantize_dynamic', 'fp16'] });
    }
    return;
  }
  if (source.sizeBytes > INSPECT_MAX_BYTES) return;
  const graph = decodeModel(await registry.readArtifact(source));
  const all = applicableMethods(graph);
  const mine = all.find((a) => a.method === m)!;
  if (!mine.applies) {
    const others = all.filter((a) => a.applies).map((a) => a.method);
    throw refuse('method', `${m} does not apply to ${where}: ${mine.reason}. ${others.length ? `Methods that apply: ${others.join(', ')}.` : 'No optimization method applies to this graph.'}`, { kind: source.kind, applicable: others });
  }
}

async function calibrationOf(v: unknown, source: ModelVersion, ctx: OptimizeContext): Promise<OptimizeSpec['calibration']> {
  if (v === undefined) {
    if (source.source !== 'trained' || !source.lineage.dataset) {
      throw refuse('calibration', `quantize_static measures activation ranges on calibration rows; version ${source.version} of '${source.name}' was imported, so give them: "calibration": {"dataset": "<name>", "rows": 256, "target": "<column to leave out>"}. quantize_dynamic needs no rows.`);
    }
    return { dataset: source.lineage.dataset, datasetVersion: source.lineage.datasetVersion ?? 1, rows: 256 };
  }
  const ref = await datasetRef(v, 'calibration', ctx, false);
  return { ...ref, rows: num((v as Record<string, unknown>).rows ?? 256, 'calibration.rows', 8, 10_000, true) };
}

async function datasetRef(v: unknown, field: string, ctx: OptimizeContext, needsTarget: boolean) {
  if (!isObject(v)) throw fail(field, `an object {dataset, ${needsTarget ? 'target' : 'rows?, target?'}}.`);
  onlyFields(v, field === 'calibration' ? ['dataset', 'version', 'rows', 'target'] : ['dataset', 'version', 'target'], field);
  if (typeof v.dataset !== 'string') throw fail(`${field}.dataset`, 'name a dataset.');
  const d = await ctx.datasets.get(ctx.principal, v.dataset, typeof v.version === 'number' ? v.version : undefined);
  if (needsTarget && typeof v.target !== 'string') throw fail(`${field}.target`, 'name the column holding the truth.');
  if (v.target !== undefined && !d.columns.some((c) => c.name === v.target)) throw fail(`${field}.target`, `dataset '${d.name}' has no column '${String(v.target)}'.`);
  return { dataset: d.name, datasetVersion: d.version, ...(typeof v.target === 'string' ? { target: v.target } : {}) };
}
