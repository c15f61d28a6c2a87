/**
 * What every tokenizer offers. A tokenizer is data: it is saved as, and rebuilt from, a Hugging Face
 * `tokenizer.json` (tokenizer-json.ts), so a model trained here and one imported from elsewhere
 * tokenize the same way, and other runtimes (transformers.js, tokenizers) read ours.
 */
import type { TokenizerJson } from './tokenizer-json.js';

export type TokenizerKind = 'char' | 'bpe' | 'gpt2';

export interface TextTokenizer {
  readonly kind: TokenizerKind;
  /** Ids are 0 .. vocabSize - 1. */
  readonly vocabSize: number;
  /** Token id of the end-of-text special token, when the vocabulary has one. */
  readonly endOfText?: number;
  encode(text: string): number[];
  /** Bytes that do not form valid UTF-8 (a token cut inside a character) decode to U+FFFD, as in Hugging Face. */
  decode(ids: ArrayLike<number>): string;
  /** The Hugging Face tokenizer.json document. */
  toJSON(): TokenizerJson;
}

export const END_OF_TEXT = '<|endoftext|>';
