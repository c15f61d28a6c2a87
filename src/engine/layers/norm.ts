/**
 * Batch normalization (per channel: the last Keras axis) with running statistics for inference,
 * and layer normalization (over the last Keras axis). Both composed from primitive ops, so their
 * gradients come from the primitives' rules.
 */
import type { Tensor } from '../graph.js';
import { add, div, mul, reduceMean, reshape, sqrt, sub } from '../ops/index.js';
import { layerError } from '../spec.js';
import type { LayerImpl } from './types.js';

/** Channel axis on the internal layout, and the shape that broadcasts a per-channel vector. */
function channels(x: Tensor): { axis: number; c: number; bshape: number[] } {
  if (x.shape.length === 4) return { axis: 1, c: x.shape[1] as number, bshape: [x.shape[1] as number, 1, 1] };
  const c = x.shape[x.shape.length - 1] as number;
  return { axis: x.shape.length - 1, c, bshape: [c] };
}

const asBroadcast = (t: Tensor, bshape: number[]) => (bshape.length === 1 ? t : reshape(t, bshape));

export const batchNorm: LayerImpl = {
  outputShape(l, input, index) {
    if (input.length === 0) throw layerError(index, l, 'shape_mismatch', 'needs an input with a feature axis.', { inputShape: input });
    const m = l.momentum ?? 0.99;
    if (!(m >= 0 && m < 1)) throw layerError(index, l, 'bad_layer', '`momentum` must be in [0, 1).', { momentum: m });
    return input;
  },
  build(ctx, x, l, prefix) {
    const { axis, c, bshape } = channels(x);
    const eps = l.epsilon ?? 1e-3;
    const gamma = asBroadcast(ctx.param(`${prefix}/gamma`, [c], 'ones'), bshape);
    const beta = asBroadcast(ctx.param(`${prefix}/beta`, [c], 'zeros'), bshape);
    const movingMean = ctx.state(`${prefix}/moving_mean`, [c], 0);
    const movingVar = ctx.state(`${prefix}/moving_variance`, [c], 1);
    let mean: Tensor;
    let variance: Tensor;
    if (ctx.training) {
      const axes = [...x.shape.keys()].filter((a) => a !== axis);
      mean = reduceMean(x, axes, true);
      const centered = sub(x, mean);
      variance = reduceMean(mul(centered, centered), axes, true);
      const m = l.momentum ?? 0.99;
      ctx.setState(`${prefix}/moving_mean`, add(mul(movingMean, m), mul(reshape(mean, [c]), 1 - m)));
      ctx.setState(`${prefix}/moving_variance`, add(mul(movingVar, m), mul(reshape(variance, [c]), 1 - m)));
      return add(mul(div(centered, sqrt(add(variance, eps))), gamma), beta);
    }
    mean = asBroadcast(movingMean, bshape);
    variance = asBroadcast(movingVar, bshape);
    return add(mul(div(sub(x, mean), sqrt(add(variance, eps))), gamma), beta);
  },
};

export const layerNorm: LayerImpl = {
  outputShape(l, input, index) {
    if (input.length === 0) throw layerError(index, l, 'shape_mismatch', 'needs an input with a feature axis.', { inputShape: input });
    return input;
  },
  build(ctx, x, l, prefix) {
    const { axis, c, bshape } = channels(x);
    const eps = l.epsilon ?? 1e-3;
    const mean = reduceMean(x, [axis], true);
    const centered = sub(x, mean);
    const variance = reduceMean(mul(centered, centered), [axis], true);
    const gamma = asBroadcast(ctx.param(`${prefix}/gamma`, [c], 'ones'), bshape);
    const beta = asBroadcast(ctx.param(`${prefix}/beta`, [c], 'zeros'), bshape);
    return add(mul(div(centered, sqrt(add(variance, eps))), gamma), beta);
  },
};
