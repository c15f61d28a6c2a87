/**
 * The Keras-like model spec the platform hands to the engine (API.md: model.kind mlp | cnn |
 * sequential), its expansion into a plain layer list, and validation of that list against an
 * input shape. Shapes in specs and errors use Keras' channels-last convention, without the batch.
 */
import { InvalidInputError } from '../infra/errors.js';
import type { Initializer } from './init.js';

export type ActivationName = 'linear' | 'relu' | 'leaky_relu' | 'sigmoid' | 'tanh' | 'gelu' | 'softmax';
export const ACTIVATIONS: readonly ActivationName[] = ['linear', 'relu', 'leaky_relu', 'sigmoid', 'tanh', 'gelu', 'softmax'];

export type LayerType =
  | 'dense' | 'dropout' | 'conv2d' | 'max_pool2d' | 'avg_pool2d' | 'flatten' | 'reshape'
  | 'batch_norm' | 'layer_norm' | 'embedding' | 'activation';

export interface LayerSpec {
  type: LayerType;
  name?: string;
  units?: number;
  activation?: ActivationName;
  /** Negative slope of leaky_relu (default 0.2, as tf.nn.leaky_relu). */
  alpha?: number;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  rate?: number;
  filters?: number;
  kernelSize?: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  poolSize?: number | [number, number];
  inputDim?: number;
  outputDim?: number;
  targetShape?: number[];
  /** batch_norm: running-statistics momentum (Keras default 0.99); epsilon for both norms. */
  momentum?: number;
  epsilon?: number;
}

/**
 * The fields each layer type takes (API.md: Keras' names). Anything else in a layer is a typo the
 * caller must hear about, not a field to ignore: a misspelt `units` would otherwise train a default.
 */
export const LAYER_FIELDS: Record<LayerType, readonly string[]> = {
  dense: ['type', 'name', 'units', 'activation', 'alpha', 'useBias', 'kernelInitializer'],
  dropout: ['type', 'name', 'rate'],
  conv2d: ['type', 'name', 'filters', 'kernelSize', 'strides', 'padding', 'activation', 'alpha', 'useBias', 'kernelInitializer'],
  max_pool2d: ['type', 'name', 'poolSize', 'strides', 'padding'],
  avg_pool2d: ['type', 'name', 'poolSize', 'strides', 'padding'],
  flatten: ['type', 'name'],
  reshape: ['type', 'name', 'targetShape'],
  batch_norm: ['type', 'name', 'momentum', 'epsilon'],
  layer_norm: ['type', 'name', 'epsilon'],
  embedding: ['type', 'name', 'inputDim', 'outputDim'],
  activation: ['type', 'name', 'activation', 'alpha'],
};

/** The fields of each network model kind (besides `kind`). */
export const NETWORK_MODEL_FIELDS = {
  mlp: ['hidden', 'activation', 'dropout', 'batchNorm'],
  cnn: ['filters', 'kernelSize', 'dense', 'activation', 'dropout'],
  sequential: ['layers'],
} as const;

export type ModelSpec =
  | { kind: 'sequential'; layers: LayerSpec[] }
  | { kind: 'mlp'; hidden?: number[]; activation?: ActivationName; dropout?: number; batchNorm?: boolean }
  | { kind: 'cnn'; filters?: number[]; kernelSize?: number; dense?: number[]; activation?: ActivationName; dropout?: number }
  | { kind?: undefined; layers: LayerSpec[] };

export type Task = 'classification' | 'regression';

export interface NetworkOptions {
  /** Shape of one example, Keras convention (e.g. [784] or [28, 28, 1]). */
  inputShape: number[];
  /** Classes (classification) or targets (regression). */
  outputs: number;
  task: Task;
}

export const pair = (v: number | [number, number] | undefined, dflt: number): [number, number] =>
  v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

export function layerError(index: number, layer: LayerSpec, code: string, message: string, details: Record<string, unknown> = {}) {
  const label = `layer ${index} (${layer.name ?? layer.type})`;
  return new InvalidInputError(code, `${label}: ${message}`, { layerIndex: index, layerType: layer.type, layerName: layer.name, ...details });
}

/** The full layer list: sequential as given; mlp and cnn expanded with an output head. */
export function expandSpec(spec: ModelSpec, o: NetworkOptions): LayerSpec[] {
  const head: LayerSpec = { type: 'dense', units: o.outputs, activation: o.task === 'classification' ? 'softmax' : 'linear', name: 'output' };
  if (spec.kind === 'mlp') {
    const layers: LayerSpec[] = o.inputShape.length > 1 ? [{ type: 'flatten' }] : [];
    for (const units of spec.hidden ?? [128]) {
      layers.push({ type: 'dense', units, activation: spec.activation ?? 'relu' });
      if (spec.batchNorm) layers.push({ type: 'batch_norm' });
      if (spec.dropout) layers.push({ type: 'dropout', rate: spec.dropout });
    }
    return [...layers, head];
  }
  if (spec.kind === 'cnn') {
    const layers: LayerSpec[] = [];
    if (o.inputShape.length === 1) {
      const side = Math.round(Math.sqrt(o.inputShape[0]!));
      if (side * side !== o.inputShape[0]) {
        throw new InvalidInputError('bad_model_spec', `cnn: input of ${o.inputShape[0]} features is not a square image; give inputShape [H, W, C].`, {
          inputShape: o.inputShape,
        });
      }
      layers.push({ type: 'reshape', targetShape: [side, side, 1] });
    }
    for (const filters of spec.filters ?? [16, 32]) {
      layers.push({ type: 'conv2d', filters, kernelSize: spec.kernelSize ?? 5, activation: spec.activation ?? 'relu' });
      layers.push({ type: 'max_pool2d', poolSize: 2 });
    }
    layers.push({ type: 'flatten' });
    for (const units of spec.dense ?? []) {
      layers.push({ type: 'dense', units, activation: spec.activation ?? 'relu' });
      if (spec.dropout) layers.push({ type: 'dropout', rate: spec.dropout });
    }
    return [...layers, head];
  }
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) {
    throw new InvalidInputError('bad_model_spec', 'A sequential model needs a non-empty `layers` list.', {});
  }
  return spec.layers.map((l) => ({ ...l }));
}
