/**
 * A tokenizer.json of any shape (BPE, WordPiece, Unigram…) read with Hugging Face's own
 * JavaScript port of `tokenizers`: for imported language models, whose tokenizers our
 * tokenizer-json.ts (the shapes we write) does not cover.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidInputError } from '../../infra/errors.js';

export interface HfTokenizer {
  /** Token ids of `text`, with the special tokens its post-processor adds (BERT's [CLS] … [SEP]). */
  encode(text: string): number[];
  decode(ids: number[]): string;
}

/** Loads `tokenizer.json` (+ `tokenizer_config.json` when given); 422 naming the file when it cannot. */
export function loadHfTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown = {}): HfTokenizer {
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson as object, (tokenizerConfig ?? {}) as object);
  } catch (err) {
    throw new InvalidInputError('invalid_tokenizer', `tokenizer.json cannot be loaded as a Hugging Face tokenizer: ${(err as Error).message}. Save it with tokenizers' Tokenizer.save() or transformers' save_pretrained().`, { file: 'tokenizer.json' });
  }
  return {
    encode: (text) => tok.encode(text).ids,
    decode: (ids) => tok.decode(ids),
  };
}
