/**
 * Hugging Face's tokenizer.json: the one file format our tokenizers are saved in and read from
 * (the `tokenizers` library and transformers.js read it as is). We write two shapes:
 * - byte-level BPE (`bpe`, `gpt2`): ByteLevel pre-tokenizer (GPT-2's regex), BPE model over the
 *   byte alphabet, ByteLevel decoder, the special tokens as added tokens: GPT-2's own layout;
 * - char: BPE model without merges, no pre-tokenizer, Fuse decoder (char.ts).
 * and read those two shapes back (so also GPT-2's original file and other GPT-2-style ones).
 */
import { InvalidInputError } from '../../infra/errors.js';
import { ByteLevelBpe } from './bpe.js';
import { CharTokenizer, UNK } from './char.js';
import type { TextTokenizer, TokenizerKind } from './tokenizer.js';

export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: AddedToken[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown> | null;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string | null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: [string, string][];
  };
}

const BYTE_LEVEL = { add_prefix_space: false, trim_offsets: true, use_regex: true };

/** A complete document from the parts that differ between our shapes. */
export function tokenizerJson(parts: {
  pre_tokenizer: Record<string, unknown> | null;
  decoder: Record<string, unknown>;
  post_processor?: Record<string, unknown> | null;
  added?: { id: number; content: string }[];
  model: { vocab: Record<string, number>; merges: [string, string][]; unk_token?: string };
}): TokenizerJson {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: (parts.added ?? []).map(({ id, content }) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true,
    })),
    normalizer: null,
    pre_tokenizer: parts.pre_tokenizer,
    post_processor: parts.post_processor ?? null,
    decoder: parts.decoder,
    model: {
      type: 'BPE', dropout: null, unk_token: parts.model.unk_token ?? null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: parts.model.vocab, merges: parts.model.merges,
    },
  };
}

/** The byte-level layout (GPT-2's). */
export function byteLevelJson(vocab: Record<string, number>, merges: [string, string][], added: { id: number; content: string }[]): TokenizerJson {
  return tokenizerJson({
    pre_tokenizer: { type: 'ByteLevel', ...BYTE_LEVEL },
    post_processor: { type: 'ByteLevel', ...BYTE_LEVEL, trim_offsets: false },
    decoder: { type: 'ByteLevel', ...BYTE_LEVEL },
    added,
    model: { vocab, merges },
  });
}

/**
 * tokenizer_config.json to ship beside tokenizer.json. clean_up_tokenization_spaces is false so
 * that decode(encode(s)) = s in transformers.js too (its default, true, rewrites " ." to ".").
 */
export function tokenizerConfig(t: TextTokenizer): Record<string, unknown> {
  const json = t.toJSON();
  const special = json.added_tokens[0]?.content ?? null;
  return {
    tokenizer_class: t.kind === 'char' ? 'PreTrainedTokenizerFast' : 'GPT2Tokenizer',
    clean_up_tokenization_spaces: false,
    model_max_length: 1_000_000_000_000_000_000,
    bos_token: special, eos_token: special, unk_token: json.model.unk_token ?? special,
    add_prefix_space: false,
  };
}

/** Rebuilds a tokenizer from a tokenizer.json document of one of the shapes above. */
export function readTokenizerJson(doc: unknown, kind?: TokenizerKind): TextTokenizer {
  const json = doc as Partial<TokenizerJson> | null;
  const model = json?.model;
  if (!json || typeof json !== 'object' || !model || model.type !== 'BPE' || typeof model.vocab !== 'object' || !Array.isArray(model.merges)) {
    throw unsupported('it has no BPE model with a vocab and merges');
  }
  const merges = model.merges.map((m) => (Array.isArray(m) ? m : String(m).split(' ', 2)) as [string, string]);
  const pre = json.pre_tokenizer as { type?: string } | null | undefined;
  if (pre?.type === 'ByteLevel') {
    const added = (json.added_tokens ?? []).map((t) => ({ id: t.id, content: t.content }));
    return ByteLevelBpe.fromVocab(model.vocab, merges, added, kind === 'gpt2' ? 'gpt2' : 'bpe');
  }
  const decoder = json.decoder as { type?: string } | null | undefined;
  if ((pre === null || pre === undefined) && decoder?.type === 'Fuse' && merges.length === 0) {
    const chars = Object.entries(model.vocab).filter(([t]) => t !== UNK).sort((a, b) => a[1] - b[1]);
    if (chars.some(([t, id], i) => id !== i || [...t].length !== 1)) throw unsupported('its char vocabulary is not one character per id 0..n-1');
    if (model.vocab[UNK] !== chars.length) throw unsupported(`its ${UNK} token is not the id after the characters`);
    return new CharTokenizer(chars.map(([t]) => t));
  }
  throw unsupported(`its pre-tokenizer is ${pre?.type ?? 'none'} with decoder ${decoder?.type ?? 'none'}`);
}

const unsupported = (why: string) =>
  new InvalidInputError(
    'unsupported_tokenizer',
    `This tokenizer.json cannot be used (${why}). Supported: byte-level BPE (GPT-2 style: ByteLevel pre-tokenizer and decoder) and character-level (BPE without merges, Fuse decoder).`,
    { reason: why },
  );
