/** In-memory datasets as the engine takes them, and their validation. */
import { InvalidInputError } from '../infra/errors.js';
import { sparseLabels } from './losses.js';
import type { Network } from './network.js';

export interface Dataset {
  /** Examples, row-major: n × prod(inputShape) float32 values (Keras layout for images). */
  x: Float32Array;
  /** Class ids (sparse CE), 0/1 (binary CE), or n × outputs targets. */
  y: ArrayLike<number>;
  /** Distillation: the teacher's softened probabilities, n × the network's output units (losses.ts softenProbabilities). */
  soft?: Float32Array;
}

export const exampleSize = (net: Network) => net.options.inputShape.reduce((p, d) => p * d, 1);
export const targetSize = (net: Network) => (sparseLabels(net.options.loss) ? 1 : net.shapes[net.shapes.length - 1]![0]!);

/** Row count, after checking sizes, finiteness and label ranges (422s name the row). */
export function checkDataset(net: Network, d: Dataset, what = 'training data'): number {
  const size = exampleSize(net);
  if (d.x.length === 0 || d.x.length % size !== 0) {
    throw new InvalidInputError('shape_mismatch', `${what}: ${d.x.length} values are not a whole number of examples of shape [${net.options.inputShape.join(', ')}].`, {
      values: d.x.length, inputShape: net.options.inputShape,
    });
  }
  const n = d.x.length / size;
  const t = targetSize(net);
  if (d.y.length !== n * t) {
    throw new InvalidInputError('shape_mismatch', `${what}: ${n} examples but ${d.y.length} targets (expected ${n * t}).`, { examples: n, targets: d.y.length });
  }
  for (let i = 0; i < d.x.length; i++) {
    if (!Number.isFinite(d.x[i]!)) {
      throw new InvalidInputError('bad_data', `${what}: row ${Math.floor(i / size)} has a non-finite value at feature ${i % size}.`, { row: Math.floor(i / size), feature: i % size });
    }
  }
  const k = net.options.outputs;
  for (let i = 0; i < d.y.length; i++) {
    const v = d.y[i]!;
    const bad = !Number.isFinite(v) || (sparseLabels(net.options.loss) && (!Number.isInteger(v) || v < 0 || v >= k));
    if (bad) throw new InvalidInputError('bad_data', `${what}: target of row ${Math.floor(i / t)} is ${v}${sparseLabels(net.options.loss) ? `, not a class id in [0, ${k})` : ''}.`, { row: Math.floor(i / t), value: v });
  }
  const emb = net.layers[0]?.type === 'embedding' ? net.layers[0] : undefined;
  if (emb) {
    for (let i = 0; i < d.x.length; i++) {
      const v = d.x[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= emb.inputDim!) {
        throw new InvalidInputError('bad_data', `${what}: row ${Math.floor(i / size)} has id ${v} outside the embedding's [0, ${emb.inputDim}).`, { row: Math.floor(i / size), value: v });
      }
    }
  }
  return n;
}

/** Example size, after checking that x holds whole examples of finite values. */
export function checkDatasetX(net: Network, x: Float32Array): number {
  const d = net.options.inputShape.reduce((p, q) => p * q, 1);
  if (x.length === 0 || x.length % d !== 0) {
    throw new InvalidInputError('shape_mismatch', `${x.length} values are not a whole number of examples of shape [${net.options.inputShape.join(', ')}].`, {
      values: x.length, inputShape: net.options.inputShape,
    });
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new InvalidInputError('bad_data', `row ${Math.floor(i / d)} has a non-finite value at feature ${i % d}.`, { row: Math.floor(i / d), feature: i % d });
  }
  return d;
}
