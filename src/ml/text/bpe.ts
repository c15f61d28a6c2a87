/**
 * Byte-level BPE encoding and decoding (the `bpe` and `gpt2` tokenizers), from a vocabulary and an
 * ordered list of merges, with Hugging Face's semantics: split off special tokens, pre-tokenize with
 * GPT-2's regex, turn each piece into bytes, then repeatedly merge the adjacent pair whose merge
 * comes first in the list (leftmost first among equals) until none applies.
 */
import { BYTE_TO_CHAR, preTokenize, tokenBytes } from './byte-level.js';
import type { TextTokenizer, TokenizerKind } from './tokenizer.js';
import { END_OF_TEXT } from './tokenizer.js';
import { byteLevelJson, type TokenizerJson } from './tokenizer-json.js';

/** Pair (a, b) of token ids as one number key: ids stay below 2^26, so a * 2^26 + b is exact. */
const PAIR = 2 ** 26;
const pairKey = (a: number, b: number) => a * PAIR + b;
const CACHE_LIMIT = 200_000;

export class ByteLevelBpe implements TextTokenizer {
  readonly vocabSize: number;
  readonly endOfText?: number;
  /** pair key -> merge rank (its index in `merges`); the merged id is mergedId[rank]. */
  private readonly ranks = new Map<number, number>();
  private readonly mergedId: Int32Array;
  private readonly byteId = new Int32Array(256);
  private readonly bytesOf: Uint8Array[] = [];
  private readonly specials: { content: string; id: number }[];
  private readonly cache = new Map<string, number[]>();
  private readonly decoder = new TextDecoder('utf-8');

  /**
   * @param tokens id -> token string (byte-level alphabet, or a special token's text)
   * @param merges pairs of token ids in merge order
   */
  constructor(
    readonly kind: TokenizerKind,
    private readonly tokens: readonly string[],
    private readonly merges: readonly [number, number][],
    specials: readonly { content: string; id: number }[],
  ) {
    this.vocabSize = tokens.length;
    const ids = new Map(tokens.map((t, id) => [t, id]));
    for (let b = 0; b < 256; b++) {
      const id = ids.get(BYTE_TO_CHAR[b]);
      if (id === undefined) throw new Error(`The byte-level vocabulary lacks byte ${b}.`);
      this.byteId[b] = id;
    }
    this.mergedId = new Int32Array(merges.length);
    merges.forEach(([a, b], rank) => {
      const id = ids.get(tokens[a] + tokens[b]);
      if (id === undefined) throw new Error(`Merge ${rank} (${tokens[a]} ${tokens[b]}) makes a token that is not in the vocabulary.`);
      if (!this.ranks.has(pairKey(a, b))) this.ranks.set(pairKey(a, b), rank);
      this.mergedId[rank] = id;
    });
    this.specials = [...specials].sort((x, y) => y.content.length - x.content.length); // longest match first
    const specialIds = new Map(specials.map((s) => [s.id, s.content]));
    tokens.forEach((t, id) => {
      const special = specialIds.get(id);
      this.bytesOf[id] = special !== undefined ? Buffer.from(special, 'utf8') : (tokenBytes(t) ?? Buffer.from(t, 'utf8'));
    });
    this.endOfText = specials.find((s) => s.content === END_OF_TEXT)?.id;
  }

  /** From tokenizer.json's vocab (token -> id, ids 0..n-1) and merges (token pairs). */
  static fromVocab(
    vocab: Record<string, number>,
    merges: readonly (readonly [string, string])[],
    added: readonly { id: number; content: string }[],
    kind: TokenizerKind,
  ): ByteLevelBpe {
    const tokens: string[] = [];
    for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
    for (const a of added) tokens[a.id] ??= a.content;
    for (let id = 0; id < tokens.length; id++) if (tokens[id] === undefined) throw new Error(`The vocabulary has no token with id ${id}.`);
    const pairs = merges.map(([a, b]) => {
      const ia = vocab[a];
      const ib = vocab[b];
      if (ia === undefined || ib === undefined) throw new Error(`Merge '${a} ${b}' names a token that is not in the vocabulary.`);
      return [ia, ib] as [number, number];
    });
    return new ByteLevelBpe(kind, tokens, pairs, added);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const part of this.splitSpecials(text)) {
      if (typeof part === 'number') out.push(part);
      else for (const piece of preTokenize(part)) for (const id of this.encodePiece(piece)) out.push(id);
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytesOf[ids[i]];
      if (bytes === undefined) throw new RangeError(`Token id ${ids[i]} is outside the vocabulary (0..${this.vocabSize - 1}).`);
      parts.push(bytes);
    }
    return this.decoder.decode(Buffer.concat(parts));
  }

  toJSON(): TokenizerJson {
    const vocab: Record<string, number> = Object.fromEntries(this.tokens.map((t, id) => [t, id]));
    const merges = this.merges.map(([a, b]) => [this.tokens[a], this.tokens[b]] as [string, string]);
    return byteLevelJson(vocab, merges, [...this.specials].sort((a, b) => a.id - b.id));
  }

  /** The text between special tokens, and the special tokens' ids, in order. */
  private splitSpecials(text: string): (string | number)[] {
    if (this.specials.length === 0 || !this.specials.some((s) => text.includes(s.content))) return [text];
    const out: (string | number)[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const s = this.specials.find((sp) => text.startsWith(sp.content, i));
      if (s === undefined) {
        i++;
        continue;
      }
      if (i > start) out.push(text.slice(start, i));
      out.push(s.id);
      i += s.content.length;
      start = i;
    }
    if (start < text.length) out.push(text.slice(start));
    return out;
  }

  /** BPE over one pre-token; pieces repeat a lot in text, so results are cached. */
  private encodePiece(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    const bytes = Buffer.from(piece, 'utf8');
    const word = Array.from(bytes, (b) => this.byteId[b]);
    this.mergeWord(word);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, word);
    return word;
  }

  /** Applies merges in rank order: find the lowest-ranked adjacent pair, merge its leftmost occurrence, repeat. */
  private mergeWord(word: number[]): void {
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(pairKey(word[i], word[i + 1]));
        if (rank !== undefined && rank < best) {
          best = rank;
          at = i;
        }
      }
      if (at < 0) return;
      word.splice(at, 2, this.mergedId[best]);
    }
  }
}
