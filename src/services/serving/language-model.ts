/**
 * A language-model version as served: what its Hugging Face files (config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json) say about decoding it: the
 * decoder's shape (layers, heads, head size, vocabulary, context), the end-of-sequence ids, the
 * tokenizer, and the chat template when there is one.
 */
import { InvalidInputError } from '../../infra/errors.js';
import type { DecoderShape } from '../../engine/lm/continuous-batch.js';
import { readTokenizerJson, type TextTokenizer } from '../../ml/text/index.js';
import type { ModelVersion } from '../registry.js';

export interface LanguageModel {
  shape: DecoderShape;
  tokenizer: TextTokenizer;
  /** Ids that end a sequence (generation_config.json's eos_token_id, else config.json's). */
  eos: number[];
  /** The id an empty prompt starts from, if the model has one. */
  bos?: number;
  /** tokenizer_config.json's chat_template, when it has one. */
  chatTemplate?: string;
  /** The special tokens' text, for the chat template. */
  bosText?: string;
  eosText?: string;
}

export const LM_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

/** Reads a causal_lm version's files (`read(name)` gives a file's bytes, undefined when absent). */
export async function readLanguageModel(v: ModelVersion, read: (name: string) => Promise<Uint8Array | undefined>): Promise<LanguageModel> {
  const json = async (name: string, required: boolean): Promise<Record<string, unknown>> => {
    const bytes = await read(name);
    if (!bytes) {
      if (!required) return {};
      throw new InvalidInputError('invalid_model', `Version ${v.version} of '${v.name}' has no ${name}; a language model is served from its Hugging Face files (config.json, tokenizer.json).`, { file: name });
    }
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new InvalidInputError('invalid_model', `${name} of version ${v.version} of '${v.name}' is not JSON: ${(err as Error).message}.`, { file: name });
    }
  };
  const config = await json('config.json', true);
  const generation = await json('generation_config.json', false);
  const tokenizerConfig = await json('tokenizer_config.json', false);
  const tokenizer = readTokenizerJson(await json('tokenizer.json', true));
  const int = (value: unknown, field: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new InvalidInputError('invalid_model', `config.json of version ${v.version} of '${v.name}' has no usable ${field} (a positive whole number).`, { file: 'config.json', field });
    }
    return value;
  };
  const layers = int(config.n_layer ?? config.num_hidden_layers, 'n_layer');
  const heads = int(config.n_head ?? config.num_attention_heads, 'n_head');
  const dim = int(config.n_embd ?? config.hidden_size, 'n_embd');
  const shape: DecoderShape = {
    layers, heads, headDim: dim / heads, vocabSize: int(config.vocab_size, 'vocab_size'),
    context: int(config.n_positions ?? config.max_position_embeddings ?? config.n_ctx, 'n_positions'),
  };
  const ids = (x: unknown): number[] => (Array.isArray(x) ? x : x === undefined || x === null ? [] : [x]).filter((n): n is number => typeof n === 'number');
  const eos = ids(generation.eos_token_id ?? config.eos_token_id);
  const bos = ids(generation.bos_token_id ?? config.bos_token_id)[0];
  const text = (x: unknown) => (typeof x === 'string' ? x : typeof x === 'object' && x && typeof (x as { content?: unknown }).content === 'string' ? (x as { content: string }).content : undefined);
  return {
    shape, tokenizer, eos, bos,
    chatTemplate: typeof tokenizerConfig.chat_template === 'string' ? tokenizerConfig.chat_template : undefined,
    bosText: text(tokenizerConfig.bos_token), eosText: text(tokenizerConfig.eos_token),
  };
}
