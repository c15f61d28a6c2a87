/**
 * A network: a validated layer list, its parameters as one flat float32 vector (plus batch-norm
 * running statistics), the loss, and training state. `buildForward` turns it into graph code
 * for a given context (training step, evaluation, inference export).
 */
import type { HistoryEntry } from '../api/job-metrics.js';
import { DomainError, InvalidInputError } from '../infra/errors.js';
import { Graph, type Tensor } from './graph.js';
import { initialize, Rng } from './init.js';
import { activate } from './layers/activations.js';
import { LAYERS, type LayerContext } from './layers/index.js';
import { LOSSES, type LossName } from './losses.js';
import { reshape, transpose } from './ops/index.js';
import type { OptimizerSpec } from './optimizers.js';
import { ACTIVATIONS, expandSpec, layerError, type LayerSpec, type ModelSpec, type NetworkOptions } from './spec.js';

export interface ParamInfo {
  name: string;
  shape: number[];
  size: number;
  offset: number;
  layer: number;
}

/** One epoch's figures: the API's history entry (src/api), with the throughput always measured. */
export type EpochMetrics = HistoryEntry & { samplesPerSecond: number };

/** Everything needed to continue training exactly where it stopped. */
export interface TrainingState {
  optimizer: OptimizerSpec;
  /** Optimizer state vectors (Adam m, v; SGD velocity), each as long as the weights. */
  slots: Float32Array[];
  /** Optimizer steps taken so far. */
  step: number;
  /** Epochs completed. */
  epoch: number;
  history: EpochMetrics[];
  best?: number;
  wait: number;
  bestWeights?: Float32Array;
  bestState?: Float32Array;
  stopped: boolean;
}

export interface CreateOptions extends NetworkOptions {
  /** Default: sparse categorical CE (classification), binary CE (one sigmoid unit), MSE (regression). */
  loss?: LossName;
  /** Seeds initial weights, shuffling and dropout. */
  seed?: number;
}

export interface Network {
  readonly spec: ModelSpec;
  readonly options: Required<Omit<CreateOptions, 'loss'>> & { loss: LossName };
  readonly layers: LayerSpec[];
  /** Output shape of each layer, Keras convention, no batch. */
  readonly shapes: number[][];
  readonly params: ParamInfo[];
  readonly states: ParamInfo[];
  /** How logits become predictions; the matching final activation is folded into the loss. */
  readonly head: 'softmax' | 'sigmoid' | 'linear';
  /** Index of the last layer whose activation was folded into the head, or -1. */
  readonly foldedLayer: number;
  weights: Float32Array;
  stateValues: Float32Array;
  training?: TrainingState;
}

export function layerPrefix(l: LayerSpec, index: number): string {
  return l.name ?? `${l.type}_${index}`;
}

/** Validate a spec against an input shape: output shapes per layer, or a 422 naming the layer and shapes. */
export function validateSpec(spec: ModelSpec, o: NetworkOptions): { layers: LayerSpec[]; shapes: number[][] } {
  if (!Array.isArray(o.inputShape) || o.inputShape.length === 0 || o.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new InvalidInputError('bad_input_shape', `inputShape must be a list of positive integers, got ${JSON.stringify(o.inputShape)}.`, { inputShape: o.inputShape });
  }
  if (!Number.isInteger(o.outputs) || o.outputs < 1) throw new InvalidInputError('bad_model_spec', '`outputs` must be a positive integer.', { outputs: o.outputs });
  const layers = expandSpec(spec, o);
  const shapes: number[][] = [];
  const names = new Set<string>();
  let shape = o.inputShape;
  layers.forEach((l, i) => {
    const impl = LAYERS[l.type];
    if (!impl) {
      throw layerError(i, l, 'unknown_layer', `unknown layer type '${String(l.type)}'; use one of ${Object.keys(LAYERS).join(', ')}.`, { inputShape: shape });
    }
    if (l.activation !== undefined && !ACTIVATIONS.includes(l.activation)) {
      throw layerError(i, l, 'bad_layer', `unknown activation '${String(l.activation)}'; use one of ${ACTIVATIONS.join(', ')}.`, { activation: l.activation });
    }
    const prefix = layerPrefix(l, i);
    if (names.has(prefix)) throw layerError(i, l, 'bad_layer', `layer name '${prefix}' is used twice.`, {});
    names.add(prefix);
    shape = impl.outputShape(l, shape, i);
    shapes.push(shape);
  });
  return { layers, shapes };
}

/** The loss and head of a network, or a 422 when its last layer cannot produce the task's outputs. */
export function resolveHead(layers: LayerSpec[], shapes: number[][], o: CreateOptions): { loss: LossName; head: Network['head']; folded: number } {
  const lastIndex = layers.length - 1;
  const last = layers[lastIndex]!;
  const out = shapes[lastIndex]!;
  const mismatch = (expected: string) => layerError(lastIndex, last, 'output_shape_mismatch',
    `the network ends with shape [${out.join(', ')}] but the task needs ${expected}.`, { outputShape: out, outputs: o.outputs, task: o.task });
  if (out.length !== 1) throw mismatch(`[${o.outputs}] (add a flatten layer before the output)`);
  const units = out[0]!;
  const act = last.activation;
  if (o.loss && !LOSSES.includes(o.loss)) throw new InvalidInputError('bad_loss', `Unknown loss '${o.loss}'; use one of ${LOSSES.join(', ')}.`, { loss: o.loss });
  if (o.task === 'regression') {
    if (units !== o.outputs) throw mismatch(`[${o.outputs}] (${o.outputs} regression targets)`);
    return { loss: o.loss ?? 'mse', head: 'linear', folded: -1 };
  }
  const binary = units === 1 && o.outputs <= 2;
  if (!binary && units !== o.outputs) throw mismatch(`[${o.outputs}] (${o.outputs} classes)`);
  const loss = o.loss ?? (binary ? 'binary_crossentropy' : 'sparse_categorical_crossentropy');
  const head = binary ? 'sigmoid' : 'softmax';
  // A final softmax/sigmoid (or none) is the head; the loss works on the logits before it.
  const folds = act === head || act === undefined || act === 'linear';
  return { loss, head, folded: folds ? lastIndex : -1 };
}

export function createNetwork(spec: ModelSpec, o: CreateOptions): Network {
  const { layers, shapes } = validateSpec(spec, o);
  const { loss, head, folded } = resolveHead(layers, shapes, o);
  const seed = o.seed ?? 0;
  const rng = new Rng(seed, 1);
  const params: ParamInfo[] = [];
  const states: ParamInfo[] = [];
  const inits: Float32Array[] = [];
  const stateInits: number[] = [];
  const g = new Graph('float32');
  const ctx: LayerContext = {
    graph: g,
    training: true,
    param(name, shape, init, fanIn = 1, fanOut = 1) {
      const size = shape.reduce((p, d) => p * d, 1);
      params.push({ name, shape, size, offset: params.reduce((p, q) => p + q.size, 0), layer: currentLayer });
      inits.push(typeof init === 'object'
        ? Float32Array.from({ length: size }, () => rng.uniform(-init.uniform, init.uniform))
        : initialize(init, shape, fanIn, fanOut, rng));
      return g.placeholder(name, shape);
    },
    state(name, shape, initial) {
      const size = shape.reduce((p, d) => p * d, 1);
      states.push({ name, shape, size, offset: states.reduce((p, q) => p + q.size, 0), layer: currentLayer });
      for (let i = 0; i < size; i++) stateInits.push(initial);
      return g.placeholder(name, shape);
    },
    setState() {},
    noise: (name, shape) => g.placeholder(name, shape),
  };
  let currentLayer = 0;
  const net: Network = {
    spec, options: { ...o, seed, loss }, layers, shapes, params, states, head, foldedLayer: folded,
    weights: new Float32Array(0), stateValues: new Float32Array(0),
  };
  buildForward(net, ctx, dataPlaceholder(g, net), (i) => { currentLayer = i; });
  const w = new Float32Array(params.reduce((p, q) => p + q.size, 0));
  params.forEach((p, i) => w.set(inits[i]!, p.offset));
  net.weights = w;
  net.stateValues = Float32Array.from(stateInits);
  return net;
}

/** Data placeholder for a batch of examples, in the Keras layout the caller supplies. */
export function dataPlaceholder(g: Graph, net: Network, name = 'x'): Tensor {
  return g.placeholder(name, ['N', ...net.options.inputShape]);
}

/**
 * The network's logits (pre-head) for input x given in the caller's layout: images arrive
 * channels-last and are transposed once to NCHW.
 */
export function buildForward(
  net: Network, ctx: LayerContext, x: Tensor, onLayer?: (i: number) => void, onOutput?: (i: number, t: Tensor) => void,
): Tensor {
  let h = x;
  if (net.options.inputShape.length === 3 && x.shape.length === 4 && x.shape[3] === net.options.inputShape[2]) {
    h = net.options.inputShape[2] === 1 ? reshapeToNCHW(x) : transposeToNCHW(x);
  }
  let deferred: LayerSpec | undefined;
  net.layers.forEach((l, i) => {
    onLayer?.(i);
    let spec = i === net.foldedLayer ? { ...l, activation: 'linear' as const } : l;
    if (i === net.foldedLayer && l.type === 'activation') return;
    // conv → monotone activation → max-pool equals conv → max-pool → activation, and the
    // activation (and its gradient) then touches a quarter of the values.
    const next = net.layers[i + 1];
    if (l.type === 'conv2d' && next?.type === 'max_pool2d' && MONOTONE.has(spec.activation ?? 'linear') && i + 1 !== net.foldedLayer) {
      deferred = spec;
      spec = { ...spec, activation: 'linear' };
    }
    try {
      h = LAYERS[l.type].build(ctx, h, spec, layerPrefix(l, i));
      if (l.type === 'max_pool2d' && deferred) {
        h = activate(h, deferred.activation, deferred.alpha);
        deferred = undefined;
      }
      onOutput?.(i, h);
    } catch (e) {
      if (e instanceof DomainError && e.details?.layerIndex === undefined) {
        throw layerError(i, l, e.code, e.message, { ...e.details, inputShape: i === 0 ? net.options.inputShape : net.shapes[i - 1] });
      }
      throw e;
    }
  });
  return h;
}

/** Non-decreasing activations, which commute with max-pooling. */
const MONOTONE = new Set(['linear', 'relu', 'leaky_relu', 'sigmoid', 'tanh']);

const reshapeToNCHW = (x: Tensor) => reshape(x, [0, 1, x.shape[1] as number, x.shape[2] as number]);
const transposeToNCHW = (x: Tensor) => transpose(x, [0, 3, 1, 2]);

