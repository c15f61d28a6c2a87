/** Layer registry by Keras-like type name. */
import type { LayerType } from '../spec.js';
import { avgPool, conv2d, maxPool } from './conv.js';
import { dense } from './dense.js';
import { embedding } from './embedding.js';
import { batchNorm, layerNorm } from './norm.js';
import { activation, dropout, flatten, reshape } from './shape.js';
import type { LayerImpl } from './types.js';

export const LAYERS: Record<LayerType, LayerImpl> = {
  dense, dropout, conv2d, max_pool2d: maxPool, avg_pool2d: avgPool, flatten, reshape,
  batch_norm: batchNorm, layer_norm: layerNorm, embedding, activation,
};
export type { LayerContext, LayerImpl } from './types.js';
export { internalShape } from './types.js';
