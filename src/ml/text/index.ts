/**
 * Tokenizers for text models (`tokenizer` in a train spec): `char`, byte-level `bpe` trained on the
 * training rows, and `gpt2`. Each one is saved as Hugging Face's tokenizer.json.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { CharTokenizer } from './char.js';
import { gpt2Tokenizer } from './gpt2.js';
import type { TextTokenizer } from './tokenizer.js';
import { trainBpe } from './train-bpe.js';

export type { TextTokenizer, TokenizerKind } from './tokenizer.js';
export { END_OF_TEXT } from './tokenizer.js';
export { readTokenizerJson, tokenizerConfig, type TokenizerJson } from './tokenizer-json.js';
export { CharTokenizer } from './char.js';
export { ByteLevelBpe } from './bpe.js';
export { gpt2Tokenizer } from './gpt2.js';
export { trainBpe } from './train-bpe.js';

export interface TokenizerSpec {
  kind: string;
  vocabSize?: number;
}

export const DEFAULT_BPE_VOCAB = 4096;

/** The tokenizer a spec asks for, trained on `rows` where it learns (char, bpe). */
export function buildTokenizer(spec: TokenizerSpec, rows: () => Iterable<string>): TextTokenizer {
  switch (spec.kind) {
    case 'char':
      return CharTokenizer.train(rows());
    case 'bpe':
      return trainBpe(rows(), spec.vocabSize ?? DEFAULT_BPE_VOCAB);
    case 'gpt2':
      return gpt2Tokenizer();
    default:
      throw new InvalidInputError('invalid_tokenizer', `tokenizer.kind '${spec.kind}' is not known; use char, bpe (with vocabSize) or gpt2.`, {
        field: 'tokenizer.kind',
      });
  }
}
