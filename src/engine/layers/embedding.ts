/** Embedding: integer ids (given as numbers) → rows of a trainable [inputDim, outputDim] table. */
import { cast, gather } from '../ops/index.js';
import { layerError } from '../spec.js';
import type { LayerImpl } from './types.js';

export const embedding: LayerImpl = {
  outputShape(l, input, index) {
    for (const k of ['inputDim', 'outputDim'] as const) {
      if (!Number.isInteger(l[k]) || l[k]! < 1) throw layerError(index, l, 'bad_layer', `\`${k}\` must be a positive integer.`, { [k]: l[k] });
    }
    if (input.length > 1) throw layerError(index, l, 'shape_mismatch', `needs a sequence of ids [length], got [${input.join(', ')}].`, { inputShape: input });
    return [...input, l.outputDim!];
  },
  build(ctx, x, l, prefix) {
    // Keras' default embeddings initialiser: uniform(−0.05, 0.05).
    const table = ctx.param(`${prefix}/embeddings`, [l.inputDim!, l.outputDim!], { uniform: 0.05 });
    return gather(table, cast(x, 'int64'));
  },
};
