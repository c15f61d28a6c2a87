/**
 * Multi-head self-attention, composed from the engine's primitives so that its gradient is the
 * primitives' rules: one projection to queries, keys and values, batched MatMul of the scaled
 * queries with the keys, masked Softmax (a 0 / −1e9 bias before it: causal, key padding or both),
 * batched MatMul with the values, and the output projection.
 *
 *   x [B, T, D] → q, k, v [B, H, T, D/H] → scores [B, H, T, T] → probs → [B, H, T, D/H] → [B, T, D]
 *
 * The batch may be symbolic; the sequence length T must be static (the causal bias is a constant).
 */
import { InvalidInputError } from '../../infra/errors.js';
import { linear } from './linear.js';
import type { Tensor } from '../graph.js';
import { add, compare, concat, dimOf, dropout, matmul, mul, range, reshape, softmax, split, sub, transpose, where } from '../ops/index.js';

/** −1e9 rather than −∞: a row whose every key is masked stays finite (uniform) instead of NaN. */
export const MASKED = -1e9;

export interface AttentionParams {
  /** [D, 3D]: the query, key and value projections side by side. */
  wqkv: Tensor;
  bqkv?: Tensor;
  /** [D, D] */
  wo: Tensor;
  bo?: Tensor;
}

export interface AttentionOptions {
  heads: number;
  /** Each position attends to itself and earlier ones only (decoders). */
  causal: boolean;
  /** [B, T], 1 for real tokens and 0 for padding: padded keys get no attention (encoders). */
  keyMask?: Tensor;
  /** Training only: dropout on the attention probabilities. */
  dropout?: DropoutSource;
}

/**
 * Where a training graph's dropout nodes get their rate and seeds: one source per graph, each
 * node taking the next seed, so every node draws its own masks and a run is reproducible.
 */
export interface DropoutSource {
  rate: number;
  nextSeed(): number;
}

export function dropoutSource(rate: number, seed: number): DropoutSource {
  let k = 0;
  return { rate, nextSeed: () => seed * 1009 + k++ };
}

/** x with dropout when a source is given (training), x itself otherwise (inference). */
export const maybeDropout = (x: Tensor, d?: DropoutSource): Tensor => (d && d.rate > 0 ? dropout(x, d.rate, d.nextSeed()) : x);

export function selfAttention(x: Tensor, p: AttentionParams, o: AttentionOptions): Tensor {
  const [, t, d] = x.shape;
  if (x.shape.length !== 3 || typeof t !== 'number' || typeof d !== 'number') {
    throw new Error(`engine: self-attention needs [batch, length, dim] with static length and dim, got [${x.shape.join(', ')}]`);
  }
  if (!Number.isInteger(o.heads) || o.heads < 1 || d % o.heads !== 0) {
    throw new InvalidInputError('invalid_model', `model.heads (${o.heads}) must divide model.dim (${d}).`, { field: 'model.heads', heads: o.heads, dim: d });
  }
  const dh = d / o.heads;
  const qkv = linear(x, p.wqkv, p.bqkv);
  const [q, k, v] = split(qkv, [d, d, d], 2) as [Tensor, Tensor, Tensor];
  const heads = (z: Tensor, perm: number[]) => transpose(reshape(z, [0, t, o.heads, dh]), perm);
  // Scaling the queries ([.., T, D/H]) costs less than scaling the scores ([.., T, T]) when T > D/H.
  const qh = mul(heads(q, [0, 2, 1, 3]), 1 / Math.sqrt(dh));
  const kt = heads(k, [0, 2, 3, 1]); // [B, H, D/H, T]: keys already transposed for the product
  const vh = heads(v, [0, 2, 1, 3]);
  let scores = matmul(qh, kt);
  if (o.causal) scores = add(scores, causalBias(x, t));
  if (o.keyMask) scores = add(scores, reshape(mul(sub(1, o.keyMask), MASKED), [0, 1, 1, t]));
  const context = matmul(maybeDropout(softmax(scores, -1), o.dropout), vh);
  const merged = reshape(transpose(context, [0, 2, 1, 3]), [0, t, d]);
  return linear(merged, p.wo, p.bo);
}

/** [T, T]: 0 where key j ≤ query i, MASKED above the diagonal. */
export function causalBias(like: Tensor, t: number): Tensor {
  const values = new Array<number>(t * t);
  for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) values[i * t + j] = j <= i ? 0 : MASKED;
  return like.graph.constant(values, [t, t], like.dtype);
}

export interface CachedAttentionOptions {
  heads: number;
  /** Keys and values of the earlier positions, [B, H, P, D/H] each (P may be 0). */
  past: { key: Tensor; value: Tensor };
  /** int64 [B, P + S]: 1 for real tokens, 0 for padding, over past and new positions. */
  attentionMask: Tensor;
}

/**
 * Causal self-attention of S new positions over the cache and themselves, for decoding: the new
 * keys and values are appended to the past ones and returned (the `present` of Hugging Face's
 * decoders), so the next call only computes the new token. Lengths are run-time values here, so
 * the causal mask is computed in the graph: key j is visible from query i when j ≤ P + i.
 */
export function cachedSelfAttention(x: Tensor, p: AttentionParams, o: CachedAttentionOptions): { out: Tensor; key: Tensor; value: Tensor } {
  const d = x.shape[2];
  if (x.shape.length !== 3 || typeof d !== 'number' || d % o.heads !== 0) throw new Error('engine: cached attention needs [batch, length, dim] with heads dividing dim');
  const dh = d / o.heads;
  let qkv = matmul(x, p.wqkv);
  if (p.bqkv) qkv = add(qkv, p.bqkv);
  const [q, k, v] = split(qkv, [d, d, d], 2) as [Tensor, Tensor, Tensor];
  const heads = (z: Tensor) => transpose(reshape(z, [0, 0, o.heads, dh]), [0, 2, 1, 3]);
  const key = concat([o.past.key, heads(k)], 2);
  const value = concat([o.past.value, heads(v)], 2);
  let scores = matmul(mul(heads(q), 1 / Math.sqrt(dh)), transpose(key, [0, 1, 3, 2]));
  const total = dimOf(key, 2);
  const keyPos = reshape(range(x.graph.scalar(0, 'int64'), total), [1, -1]);
  const queryPos = reshape(range(sub(total, dimOf(x, 1)), total), [-1, 1]);
  scores = where(compare('LessOrEqual', keyPos, queryPos), scores, MASKED);
  scores = where(reshape(compare('Equal', o.attentionMask, x.graph.scalar(1, 'int64')), [0, 1, 1, -1]), scores, MASKED);
  const context = matmul(softmax(scores, -1), value);
  const merged = reshape(transpose(context, [0, 2, 1, 3]), [0, 0, d]);
  let out = matmul(merged, p.wo);
  if (p.bo) out = add(out, p.bo);
  return { out, key, value };
}
