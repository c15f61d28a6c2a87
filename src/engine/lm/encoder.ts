/**
 * The text classifier's network (`text_classifier`): the GPT trunk with bidirectional attention
 * that ignores padding, mean-pooled over the real tokens, then a dense head with one output per
 * class (or regression target). Parameters as the GPT's plus `head.weight` [D, outputs], `head.bias`.
 */
import type { Tensor } from '../graph.js';
import { add, div, matmul, mul, reduceSum, reshape } from '../ops/index.js';
import type { DropoutSource } from '../transformer/index.js';
import { checkGptConfig, type Gpt, type GptConfig, gptParams, initParams, transformerTrunk } from './gpt.js';

/** Far below one token's count, so it changes no real mean in float32. */
const POOL_EPSILON = 1e-9;

export interface TextEncoderConfig extends GptConfig {
  outputs: number;
}

export interface TextEncoder extends Omit<Gpt, 'config'> {
  readonly config: TextEncoderConfig;
}

export function createTextEncoder(config: TextEncoderConfig, seed = 0): TextEncoder {
  checkGptConfig(config);
  if (!Number.isInteger(config.outputs) || config.outputs < 1) throw new Error('engine: a text encoder needs at least one output');
  const list = [...gptParams(config), { name: 'head.weight', shape: [config.dim, config.outputs], layer: config.layers }, { name: 'head.bias', shape: [config.outputs], layer: config.layers }];
  return { config, ...initParams(list, config.layers, seed) };
}

/** Logits [B, outputs] for ids [B, T] (int64) and mask [B, T] (float: 1 real token, 0 padding). */
export function textEncoderLogits(c: TextEncoderConfig, param: (name: string) => Tensor, ids: Tensor, mask: Tensor, dropout?: DropoutSource): Tensor {
  const h = transformerTrunk(c, param, ids, { causal: false, keyMask: mask, dropout });
  const m = reshape(mask, [0, -1, 1]);
  // Mean over real tokens, [B, D]; an empty text (no real token) pools to 0 rather than 0/0.
  const pooled = div(reduceSum(mul(h, m), [1]), add(reduceSum(m, [1]), POOL_EPSILON));
  return add(matmul(pooled, param('head.weight')), param('head.bias'));
}
