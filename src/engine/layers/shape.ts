/** flatten, reshape (Keras targetShape, one -1 allowed), dropout and activation layers. */
import type { Tensor } from '../graph.js';
import { compare, flatten as flat, mul, reshape as rs, transpose, where } from '../ops/index.js';
import { ACTIVATIONS, layerError } from '../spec.js';
import { activate } from './activations.js';
import type { LayerImpl } from './types.js';

const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);

export const flatten: LayerImpl = {
  outputShape: (_l, input) => [prod(input)],
  // Images flatten in NCHW order; consistent within the engine (weights are ours).
  build: (_ctx, x) => (x.shape.length === 2 ? x : flat(x, 1)),
};

export const reshape: LayerImpl = {
  outputShape(l, input, index) {
    const t = l.targetShape;
    if (!Array.isArray(t) || t.length === 0 || t.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1)) || t.filter((d) => d === -1).length > 1) {
      throw layerError(index, l, 'bad_layer', '`targetShape` must be a list of positive integers with at most one -1.', { targetShape: t });
    }
    const known = prod(t.filter((d) => d !== -1));
    const total = prod(input);
    const out = t.map((d) => (d === -1 ? total / known : d));
    if (!out.every(Number.isInteger) || prod(out) !== total) {
      throw layerError(index, l, 'shape_mismatch', `cannot reshape [${input.join(', ')}] (${total} values) to [${t.join(', ')}].`, {
        inputShape: input, targetShape: t,
      });
    }
    return out;
  },
  build(_ctx, x, l) {
    return reshapeInternal(x, reshape.outputShape(l, kerasShapeOf(x), 0));
  },
};

/** The Keras (channels-last, batchless) shape of an internal tensor. */
export function kerasShapeOf(x: Tensor): number[] {
  const s = x.shape as number[];
  return s.length === 4 ? [s[2]!, s[3]!, s[1]!] : s.slice(1);
}

/** Reshape on the internal layout, going through channels-last when images are involved. */
export function reshapeInternal(x: Tensor, target: number[]): Tensor {
  const h = x.shape.length === 4 ? transpose(x, [0, 2, 3, 1]) : x;
  if (target.length !== 3) return rs(h, [0, ...target]);
  if (target[2] === 1) return rs(h, [0, 1, target[0]!, target[1]!]);
  return transpose(rs(h, [0, ...target]), [0, 3, 1, 2]);
}

export const dropout: LayerImpl = {
  outputShape(l, input, index) {
    if (typeof l.rate !== 'number' || !(l.rate >= 0 && l.rate < 1)) throw layerError(index, l, 'bad_layer', '`rate` must be in [0, 1).', { rate: l.rate });
    return input;
  },
  build(ctx, x, l, prefix) {
    if (!ctx.training || !l.rate) return x;
    // Inverted dropout: keep with probability 1 − rate and scale by 1/(1 − rate).
    const u = ctx.noise(`${prefix}/noise`, x.shape);
    return mul(x, where(compare('GreaterOrEqual', u, l.rate), 1 / (1 - l.rate), 0));
  },
};

export const activation: LayerImpl = {
  outputShape(l, input, index) {
    if (!ACTIVATIONS.includes(l.activation!)) {
      throw layerError(index, l, 'bad_layer', `unknown activation '${String(l.activation)}'; use one of ${ACTIVATIONS.join(', ')}.`, { activation: l.activation });
    }
    return input;
  },
  build: (_ctx, x, l) => activate(x, l.activation, l.alpha),
};
