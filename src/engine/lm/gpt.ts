/**
 * A GPT (GPT-2's architecture): token and learned position embeddings, pre-LayerNorm blocks with
 * causal multi-head attention and a GELU MLP, a final LayerNorm, and the head tied to the token
 * embeddings (logits = h·Eᵀ, so E gets the gradient of both uses). Parameters live in one flat
 * float32 vector, named as in Hugging Face's GPT-2 (`h.0.attn.c_attn.weight`, Conv1D layout
 * [in, out]) so an export maps them one to one.
 */
import { InvalidInputError } from '../../infra/errors.js';
import type { Tensor } from '../graph.js';
import { Rng } from '../init.js';
import type { ParamInfo } from '../network.js';
import { gemm, layerNormalization, reshape } from '../ops/index.js';
import { type DropoutSource, embed, maybeDropout, transformerBlock } from '../transformer/index.js';

export interface GptConfig {
  vocabSize: number;
  /** Positions (the longest window). */
  context: number;
  layers: number;
  heads: number;
  dim: number;
}

export interface Gpt {
  readonly config: GptConfig;
  readonly params: ParamInfo[];
  weights: Float32Array;
  /** 1 for weights that take weight decay (matrices, embeddings), 0 for biases and norms. */
  readonly decayMask: Float32Array;
}

/** GPT-2's LayerNorm epsilon. */
export const GPT_EPSILON = 1e-5;

const field = (name: string, message: string, details: Record<string, unknown> = {}) =>
  new InvalidInputError('invalid_model', `model.${name} ${message}`, { field: `model.${name}`, ...details });

export function checkGptConfig(c: GptConfig): void {
  for (const [k, lo, hi] of [['layers', 1, 96], ['heads', 1, 128], ['dim', 1, 16_384], ['context', 1, 65_536], ['vocabSize', 2, 1 << 20]] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v < lo || v > hi) throw field(k, `must be an integer from ${lo} to ${hi}; got ${JSON.stringify(v)}.`);
  }
  if (c.dim % c.heads !== 0) throw field('heads', `(${c.heads}) must divide model.dim (${c.dim}): each head gets dim / heads features.`, { heads: c.heads, dim: c.dim });
}

/** Parameter names and shapes in creation order. */
export function gptParams(c: GptConfig): { name: string; shape: number[]; layer: number }[] {
  const d = c.dim;
  const out = [{ name: 'wte.weight', shape: [c.vocabSize, d], layer: -1 }, { name: 'wpe.weight', shape: [c.context, d], layer: -1 }];
  for (let i = 0; i < c.layers; i++) {
    const p = (name: string, shape: number[]) => out.push({ name: `h.${i}.${name}`, shape, layer: i });
    p('ln_1.weight', [d]);
    p('ln_1.bias', [d]);
    p('attn.c_attn.weight', [d, 3 * d]);
    p('attn.c_attn.bias', [3 * d]);
    p('attn.c_proj.weight', [d, d]);
    p('attn.c_proj.bias', [d]);
    p('ln_2.weight', [d]);
    p('ln_2.bias', [d]);
    p('mlp.c_fc.weight', [d, 4 * d]);
    p('mlp.c_fc.bias', [4 * d]);
    p('mlp.c_proj.weight', [4 * d, d]);
    p('mlp.c_proj.bias', [d]);
  }
  out.push({ name: 'ln_f.weight', shape: [d], layer: c.layers }, { name: 'ln_f.bias', shape: [d], layer: c.layers });
  return out;
}

/**
 * A new GPT with GPT-2's initialisation: N(0, 0.02) for matrices and embeddings, N(0, 0.02/√(2L))
 * for the projections that write into the residual stream, zero biases, unit LayerNorm gains.
 */
export function createGpt(config: GptConfig, seed = 0): Gpt {
  checkGptConfig(config);
  return { config, ...initParams(gptParams(config), config.layers, seed) };
}

/** Lays out and initialises parameters as createGpt does (shared by the text encoder). */
export function initParams(list: { name: string; shape: number[]; layer: number }[], layers: number, seed: number): Omit<Gpt, 'config'> {
  const rng = new Rng(seed, 11);
  let offset = 0;
  const params: ParamInfo[] = list.map((p) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const info = { ...p, size, offset };
    offset += size;
    return info;
  });
  const weights = new Float32Array(offset);
  const decayMask = new Float32Array(offset);
  const residualStd = 0.02 / Math.sqrt(2 * layers);
  for (const p of params) {
    const view = weights.subarray(p.offset, p.offset + p.size);
    if (p.shape.length === 2) {
      const std = p.name.endsWith('c_proj.weight') ? residualStd : 0.02;
      for (let i = 0; i < view.length; i++) view[i] = rng.normal() * std;
      decayMask.fill(1, p.offset, p.offset + p.size);
    } else if (p.name.includes('ln_') && p.name.endsWith('.weight')) view.fill(1);
  }
  return { params, weights, decayMask };
}

/**
 * The embeddings and blocks, [B, T, D] after the final LayerNorm; causal for decoders. With a
 * dropout source (training graphs only): dropout on the embeddings and in every block.
 */
export function transformerTrunk(c: GptConfig, param: (name: string) => Tensor, ids: Tensor, o: { causal: boolean; keyMask?: Tensor; dropout?: DropoutSource }): Tensor {
  let h = maybeDropout(embed(ids, { tokens: param('wte.weight'), positions: param('wpe.weight') }), o.dropout);
  for (let i = 0; i < c.layers; i++) {
    const q = (name: string) => param(`h.${i}.${name}`);
    h = transformerBlock(h, {
      ln1: { gamma: q('ln_1.weight'), beta: q('ln_1.bias') },
      attention: { wqkv: q('attn.c_attn.weight'), bqkv: q('attn.c_attn.bias'), wo: q('attn.c_proj.weight'), bo: q('attn.c_proj.bias') },
      ln2: { gamma: q('ln_2.weight'), beta: q('ln_2.bias') },
      mlp: { w1: q('mlp.c_fc.weight'), b1: q('mlp.c_fc.bias'), w2: q('mlp.c_proj.weight'), b2: q('mlp.c_proj.bias') },
    }, { heads: c.heads, causal: o.causal, keyMask: o.keyMask, epsilon: GPT_EPSILON, dropout: o.dropout });
  }
  return layerNormalization(h, param('ln_f.weight'), param('ln_f.bias'), GPT_EPSILON);
}

/** Logits [B·T, vocab] for ids [B, T] (int64, T ≤ context); `param` gives each parameter's tensor. */
export function gptLogits(c: GptConfig, param: (name: string) => Tensor, ids: Tensor, dropout?: DropoutSource): Tensor {
  const h = transformerTrunk(c, param, ids, { causal: true, dropout });
  // Tied head: one Gemm with E transposed in place, [B·T, D] × [V, D]ᵀ.
  return gemm(reshape(h, [-1, c.dim]), param('wte.weight'), false, true);
}
