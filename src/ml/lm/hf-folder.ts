/**
 * A trained GPT as a Hugging Face model folder, laid out as optimum exports GPT-2 for ONNX, so
 * transformers.js (`AutoModelForCausalLM` with the `onnx/` subfolder), tokenizers and ONNX Runtime
 * alone load it: config.json (GPT2Config), generation_config.json, tokenizer.json,
 * tokenizer_config.json and onnx/model.onnx (the key/value-cache decoder, lm/decoder.ts).
 */
import { encodeModel } from '../../onnx/model.js';
import { gptDecoderModel, type Gpt } from '../../engine/lm/index.js';
import { tokenizerConfig, type TextTokenizer } from '../text/index.js';

export const HF_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'] as const;

/** GPT-2's config.json for this model (activation gelu_new is the tanh approximation the engine trains with). */
export function gpt2Config(gpt: Gpt, tokenizer: TextTokenizer): Record<string, unknown> {
  const c = gpt.config;
  const eos = tokenizer.endOfText ?? null;
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.context,
    n_ctx: c.context,
    n_embd: c.dim,
    n_layer: c.layers,
    n_head: c.heads,
    n_inner: null,
    activation_function: 'gelu_new',
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    bos_token_id: eos,
    eos_token_id: eos,
    tie_word_embeddings: true,
    use_cache: true,
  };
}

/** The folder's files by relative path. */
export function hfFolder(gpt: Gpt, tokenizer: TextTokenizer): Map<string, Uint8Array> {
  if (tokenizer.vocabSize !== gpt.config.vocabSize) {
    throw new Error(`engine: the tokenizer has ${tokenizer.vocabSize} tokens but the model ${gpt.config.vocabSize}`);
  }
  const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 2) + '\n', 'utf8');
  const config = gpt2Config(gpt, tokenizer);
  return new Map<string, Uint8Array>([
    ['config.json', json(config)],
    ['generation_config.json', json({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id, max_length: gpt.config.context })],
    ['tokenizer.json', json(tokenizer.toJSON())],
    ['tokenizer_config.json', json(tokenizerConfig(tokenizer))],
    ['onnx/model.onnx', encodeModel(gptDecoderModel(gpt))],
  ]);
}
