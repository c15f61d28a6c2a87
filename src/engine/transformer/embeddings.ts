/**
 * Token and learned positional embeddings: ids [B, T] → rows of the token table plus the rows of
 * the position table for positions 0..T−1 (or the given position ids, e.g. after a key/value cache).
 * Gradients: the token table's by Gather's scatter-add rule, the position table's by Slice's or
 * Gather's, summed over the batch by broadcasting's rule.
 */
import type { Tensor } from '../graph.js';
import { add, gather, slice } from '../ops/index.js';

export interface EmbeddingParams {
  /** [vocab, D] */
  tokens: Tensor;
  /** [context, D]: one learned row per position. */
  positions: Tensor;
}

/** ids: int64 [B, T]; positions 0..T−1 (T static, ≤ context) unless positionIds (int64 [B, T] or [T]) says otherwise. */
export function embed(ids: Tensor, p: EmbeddingParams, positionIds?: Tensor): Tensor {
  const tokens = gather(p.tokens, ids);
  if (positionIds) return add(tokens, gather(p.positions, positionIds));
  const t = ids.shape[ids.shape.length - 1];
  const context = p.positions.shape[0];
  if (typeof t !== 'number' || typeof context !== 'number') throw new Error('engine: embed without position ids needs a static length and context');
  if (t > context) throw new Error(`engine: ${t} tokens exceed the ${context} learned positions`);
  return add(tokens, t === context ? p.positions : slice(p.positions, [0], [t], [0]));
}
