/**
 * The pre-LayerNorm transformer block (GPT-2's): two residual branches,
 *   x + attention(LN₁(x)),  then  h + W₂·GELU(W₁·LN₂(h) + b₁) + b₂.
 * Residuals are plain Adds, so the gradient of the block input is the sum of the identity path and
 * the branch (Add's rule); everything else is the rules of the ops it is made of.
 */
import type { Tensor } from '../graph.js';
import { add, gelu, layerNormalization } from '../ops/index.js';
import { linear } from './linear.js';
import { type AttentionParams, cachedSelfAttention, type CachedAttentionOptions, type DropoutSource, maybeDropout, selfAttention } from './attention.js';

export interface BlockParams {
  ln1: { gamma: Tensor; beta: Tensor };
  attention: AttentionParams;
  ln2: { gamma: Tensor; beta: Tensor };
  /** [D, 4D], [4D], [4D, D], [D] */
  mlp: { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };
}

export interface BlockOptions {
  heads: number;
  causal: boolean;
  keyMask?: Tensor;
  epsilon?: number;
  /** Training only: attention dropout and residual dropout on each branch's output (GPT-2's attn_pdrop, resid_pdrop). */
  dropout?: DropoutSource;
}

/** x + f(x). */
export const residual = (x: Tensor, f: (x: Tensor) => Tensor): Tensor => add(x, f(x));

export function transformerBlock(x: Tensor, p: BlockParams, o: BlockOptions): Tensor {
  const eps = o.epsilon ?? 1e-5;
  const h = residual(x, (z) => maybeDropout(selfAttention(layerNormalization(z, p.ln1.gamma, p.ln1.beta, eps), p.attention, o), o.dropout));
  return residual(h, (z) => maybeDropout(mlpBranch(z, p, eps), o.dropout));
}

/** The same block over new positions with a key/value cache (decoding); returns the updated cache. */
export function cachedTransformerBlock(x: Tensor, p: BlockParams, o: CachedAttentionOptions & { epsilon?: number }): { out: Tensor; key: Tensor; value: Tensor } {
  const eps = o.epsilon ?? 1e-5;
  const a = cachedSelfAttention(layerNormalization(x, p.ln1.gamma, p.ln1.beta, eps), p.attention, o);
  const h = add(x, a.out);
  return { out: residual(h, (z) => mlpBranch(z, p, eps)), key: a.key, value: a.value };
}

function mlpBranch(z: Tensor, p: BlockParams, eps: number): Tensor {
  const inner = gelu(linear(layerNormalization(z, p.ln2.gamma, p.ln2.beta, eps), p.mlp.w1, p.mlp.b1));
  return linear(inner, p.mlp.w2, p.mlp.b2);
}
