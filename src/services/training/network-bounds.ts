/**
 * A network spec checked before it is queued: strict fields at every level (did-you-mean on a
 * typo), sizes within what one training worker can hold, shapes that fit the input, a last layer
 * that produces the task's outputs, and an estimate of parameters and activation memory.
 *
 * The bounds are for the machine the platform targets (24 GiB of RAM shared by the API, the
 * workers and the replicas; 2 cores). Training keeps four float32 copies of every parameter
 * (weights, gradients, Adam's two moments: 16 bytes each), and activations (plus their gradients)
 * for a whole batch. So a network of NETWORK_LIMITS.params parameters needs about 800 MB for its
 * parameters, and NETWORK_LIMITS.activations floats of activations about 1 GiB forward and two to
 * three times that with the backward pass: a few GiB per job, leaving room for the rest.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { didYouMean } from '../../infra/did-you-mean.js';
import { resolveHead, validateSpec } from '../../engine/network.js';
import { ACTIVATIONS, LAYER_FIELDS, NETWORK_MODEL_FIELDS, type LayerSpec, type LayerType, type ModelSpec, type NetworkOptions, pair } from '../../engine/spec.js';
import { fail, isObject, onlyFields } from './spec-fields.js';

export const NETWORK_LIMITS = {
  /** Layers in a sequential model, or hidden/dense/filter entries of mlp and cnn. */
  layers: 256,
  /** Units of one dense layer (and outputDim of an embedding). */
  units: 65_536,
  /** Filters of one conv2d layer. */
  filters: 4_096,
  /** Side of a kernel, pooling window or stride. */
  window: 64,
  /** Rows of an embedding table (its vocabulary). */
  embeddingRows: 1_000_000,
  /** Trainable parameters of the whole network (16 bytes each while training: about 800 MB). */
  params: 50_000_000,
  /** Activation values of one batch (batchSize × the values every layer outputs per example): 1 GiB of float32. */
  activations: 268_435_456,
};

type Model = Record<string, unknown> & { kind: string };

/** Throws a 422 naming the field path unless the network spec is trainable on this input. */
export function checkNetworkSpec(model: Model, o: NetworkOptions, batchSize: number): void {
  const fields = NETWORK_MODEL_FIELDS[model.kind as keyof typeof NETWORK_MODEL_FIELDS];
  onlyFields(model, ['kind', ...fields], 'model', `model kind '${model.kind}'`);
  if (model.kind === 'mlp') checkMlp(model);
  else if (model.kind === 'cnn') checkCnn(model);
  else checkLayers(model.layers);
  const { kind, ...rest } = model;
  const { layers, shapes } = withFieldPath(model, () => validateSpec({ kind, ...rest } as ModelSpec, o));
  withFieldPath(model, () => resolveHead(layers, shapes, o));
  checkSize(model, layers, shapes, o.inputShape, batchSize);
}

function sizes(model: Model, field: 'hidden' | 'filters' | 'dense', max: number): void {
  const v = model[field];
  if (v === undefined) return;
  if (!Array.isArray(v)) throw fail(`model.${field}`, `must be a list of positive integers, e.g. [64, 32].`);
  if (v.length > NETWORK_LIMITS.layers) throw fail(`model.${field}`, `has ${v.length} entries; the limit is ${NETWORK_LIMITS.layers} layers.`, { limit: NETWORK_LIMITS.layers });
  v.forEach((n, i) => positive(n, `model.${field}[${i}]`, max));
}

function positive(v: unknown, field: string, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw fail(field, `must be an integer from 1 to ${max} (the limit per layer); got ${JSON.stringify(v)}.`, { limit: max });
  }
}

function common(model: Model): void {
  if (model.activation !== undefined && !ACTIVATIONS.includes(model.activation as never)) {
    throw fail('model.activation', `'${String(model.activation)}' is not an activation; use one of ${ACTIVATIONS.join(', ')}.${suggest(model.activation, ACTIVATIONS)}`);
  }
  const d = model.dropout;
  if (d !== undefined && !(typeof d === 'number' && d >= 0 && d < 1)) throw fail('model.dropout', `must be a rate in [0, 1); got ${JSON.stringify(d)}.`);
}

function checkMlp(model: Model): void {
  sizes(model, 'hidden', NETWORK_LIMITS.units);
  common(model);
  if (model.batchNorm !== undefined && typeof model.batchNorm !== 'boolean') throw fail('model.batchNorm', 'must be true or false.');
}

function checkCnn(model: Model): void {
  sizes(model, 'filters', NETWORK_LIMITS.filters);
  sizes(model, 'dense', NETWORK_LIMITS.units);
  if (model.kernelSize !== undefined) positive(model.kernelSize, 'model.kernelSize', NETWORK_LIMITS.window);
  common(model);
}

function checkLayers(layers: unknown): void {
  if (!Array.isArray(layers) || layers.length === 0) throw fail('model.layers', 'a sequential model needs a non-empty list of layers, e.g. [{"type": "dense", "units": 16, "activation": "relu"}].');
  if (layers.length > NETWORK_LIMITS.layers) throw fail('model.layers', `has ${layers.length} layers; the limit is ${NETWORK_LIMITS.layers}.`, { limit: NETWORK_LIMITS.layers });
  layers.forEach((l, i) => checkLayer(l, `model.layers[${i}]`));
}

function checkLayer(l: unknown, at: string): void {
  if (!isObject(l)) throw fail(at, 'each layer must be an object with a "type", e.g. {"type": "dense", "units": 16}.');
  const types = Object.keys(LAYER_FIELDS);
  if (typeof l.type !== 'string' || !types.includes(l.type)) {
    throw fail(`${at}.type`, `unknown layer type ${JSON.stringify(l.type)}; use one of ${types.join(', ')}.${suggest(l.type, types)}`);
  }
  onlyFields(l, LAYER_FIELDS[l.type as LayerType], at, `layer type '${l.type}'`);
  if (l.units !== undefined) positive(l.units, `${at}.units`, NETWORK_LIMITS.units);
  if (l.filters !== undefined) positive(l.filters, `${at}.filters`, NETWORK_LIMITS.filters);
  if (l.outputDim !== undefined) positive(l.outputDim, `${at}.outputDim`, NETWORK_LIMITS.units);
  if (l.inputDim !== undefined) positive(l.inputDim, `${at}.inputDim`, NETWORK_LIMITS.embeddingRows);
  for (const k of ['kernelSize', 'poolSize', 'strides'] as const) {
    const v = l[k];
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 2) v.forEach((s, j) => positive(s, `${at}.${k}[${j}]`, NETWORK_LIMITS.window));
    else if (typeof v === 'number') positive(v, `${at}.${k}`, NETWORK_LIMITS.window);
    else throw fail(`${at}.${k}`, `must be an integer or a pair [height, width] of integers from 1 to ${NETWORK_LIMITS.window}.`);
  }
}

const suggest = (v: unknown, known: readonly string[]) => (typeof v === 'string' ? didYouMean(v, known) : '');

/** The engine's layer errors name the layer; this adds the spec's field path to them. */
function withFieldPath<T>(model: Model, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof InvalidInputError) || err.details?.field !== undefined) throw err;
    if (typeof err.details?.layerIndex !== 'number') throw new InvalidInputError(err.code, `model: ${err.message}`, { ...err.details, field: 'model' });
    const i = err.details.layerIndex;
    const field = model.kind === 'sequential' ? `model.layers[${i}]` : `model (layer ${i} of the expanded ${model.kind})`;
    const hint = model.kind === 'cnn' ? ' Use fewer filters (each adds a 2×2 pooling) or a smaller kernelSize, or reshape to a larger image.' : '';
    throw new InvalidInputError(err.code, `${field}: ${err.message}${hint}`, { ...err.details, field: model.kind === 'sequential' ? field : 'model' });
  }
}

/** Parameters and per-batch activations, estimated from the shapes before anything is allocated. */
function checkSize(model: Model, layers: LayerSpec[], shapes: number[][], inputShape: number[], batchSize: number): void {
  let params = 0;
  let values = 0;
  layers.forEach((l, i) => {
    const input = i === 0 ? inputShape : shapes[i - 1]!;
    params += layerParams(l, input);
    values += shapes[i]!.reduce((a, b) => a * b, 1);
    if (params > NETWORK_LIMITS.params) {
      const field = model.kind === 'sequential' ? `model.layers[${i}]` : model.kind === 'mlp' ? 'model.hidden' : 'model';
      const where = model.kind === 'sequential' ? `layer ${i}` : `layer ${i} of the expanded ${model.kind}`;
      throw fail(field, `the network reaches ${fmt(params)} trainable parameters at ${where} (${l.type}); the limit is ${fmt(NETWORK_LIMITS.params)}. Use fewer or smaller layers.`, { limit: NETWORK_LIMITS.params, params });
    }
  });
  if (values * batchSize > NETWORK_LIMITS.activations) {
    throw fail('training.batchSize', `a batch of ${batchSize} examples produces ${fmt(values * batchSize)} activation values (${fmt(values)} per example); the limit is ${fmt(NETWORK_LIMITS.activations)}. Use a smaller batchSize or smaller layers.`, { limit: NETWORK_LIMITS.activations, activations: values * batchSize });
  }
}

function layerParams(l: LayerSpec, input: number[]): number {
  const last = input[input.length - 1] ?? 1;
  const bias = l.useBias === false ? 0 : 1;
  switch (l.type) {
    case 'dense': return last * l.units! + bias * l.units!;
    case 'conv2d': {
      const [kh, kw] = pair(l.kernelSize, 3);
      return kh * kw * last * l.filters! + bias * l.filters!;
    }
    case 'embedding': return l.inputDim! * l.outputDim!;
    case 'batch_norm': case 'layer_norm': return 2 * last;
    default: return 0;
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');
