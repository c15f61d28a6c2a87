/**
 * Character-level tokenizer: one token per Unicode code point seen in the training rows (so "中" and
 * "😀" are one token each, whatever the script), ids in code-point order as in nanoGPT's
 * `sorted(set(text))`, then `<unk>` for characters never seen in training.
 *
 * As tokenizer.json: a BPE model with no merges (Hugging Face splits a word into characters and
 * merges nothing), no pre-tokenizer (spaces and newlines are ordinary characters), a Fuse decoder.
 */
import type { TextTokenizer } from './tokenizer.js';
import { tokenizerJson, type TokenizerJson } from './tokenizer-json.js';

export const UNK = '<unk>';

export class CharTokenizer implements TextTokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  readonly unk: number;
  private readonly ids = new Map<string, number>();

  /** `chars`: the vocabulary, one code point each, in id order (UNK is added last). */
  constructor(readonly chars: readonly string[]) {
    chars.forEach((ch, i) => this.ids.set(ch, i));
    this.unk = chars.length;
    this.vocabSize = chars.length + 1;
  }

  /** The vocabulary of the training rows. */
  static train(rows: Iterable<string>): CharTokenizer {
    const seen = new Set<string>();
    for (const row of rows) for (const ch of row) seen.add(ch);
    return new CharTokenizer([...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const ch of text) out.push(this.ids.get(ch) ?? this.unk);
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += ids[i] === this.unk ? UNK : (this.chars[ids[i]] ?? UNK);
    return s;
  }

  toJSON(): TokenizerJson {
    const vocab: Record<string, number> = Object.fromEntries(this.chars.map((ch, i) => [ch, i]));
    vocab[UNK] = this.unk;
    return tokenizerJson({
      pre_tokenizer: null,
      decoder: { type: 'Fuse' },
      model: { vocab, merges: [], unk_token: UNK },
    });
  }
}
