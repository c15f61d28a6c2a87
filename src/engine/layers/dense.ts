/** Dense: y = act(x·W + b) over the last (Keras) axis; images are handled channels-last. */
import type { Tensor } from '../graph.js';
import { add, matmul, transpose } from '../ops/index.js';
import { layerError, type LayerSpec } from '../spec.js';
import { activate, defaultInitializer } from './activations.js';
import type { LayerContext, LayerImpl } from './types.js';

export const dense: LayerImpl = {
  outputShape(l, input, index) {
    if (!Number.isInteger(l.units) || l.units! < 1) throw layerError(index, l, 'bad_layer', '`units` must be a positive integer.', { units: l.units });
    if (input.length === 0) throw layerError(index, l, 'shape_mismatch', 'needs an input with at least one axis.', { inputShape: input });
    return [...input.slice(0, -1), l.units!];
  },
  build(ctx: LayerContext, x: Tensor, l: LayerSpec, prefix: string) {
    const image = x.shape.length === 4;
    const h = image ? transpose(x, [0, 2, 3, 1]) : x;
    const d = h.shape[h.shape.length - 1] as number;
    const w = ctx.param(`${prefix}/kernel`, [d, l.units!], l.kernelInitializer ?? defaultInitializer(l), d, l.units!);
    let y = matmul(h, w);
    if (l.useBias !== false) y = add(y, ctx.param(`${prefix}/bias`, [l.units!], 'zeros'));
    y = activate(image ? transpose(y, [0, 3, 1, 2]) : y, l.activation, l.alpha);
    return y;
  },
};
