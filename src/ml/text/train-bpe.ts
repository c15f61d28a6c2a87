/**
 * Training a byte-level BPE vocabulary on the training rows (the `bpe` tokenizer).
 *
 * The algorithm is the classic one (Sennrich et al.; Hugging Face's BpeTrainer), made fast by never
 * rescanning the corpus:
 * 1. pre-tokenize every row with GPT-2's regex and count the distinct pieces ("words"), so a corpus
 *    of a million words becomes some tens of thousands of weighted byte sequences;
 * 2. count every adjacent pair once, weighted by its word's count, and remember which words hold it;
 * 3. repeatedly take the most frequent pair (a max-heap with lazy deletion: stale entries are skipped
 *    when popped), merge it in exactly the words that hold it, and update the counts of only the pairs
 *    those words had and now have.
 * Ties go to the smaller pair of ids, so training is deterministic. Merging stops at `vocabSize` or
 * when no pair occurs at least MIN_FREQUENCY times (a pair seen once is memorisation, not a subword).
 */
import { InvalidInputError } from '../../infra/errors.js';
import { BYTE_TO_CHAR, preTokenize } from './byte-level.js';
import { ByteLevelBpe } from './bpe.js';
import { END_OF_TEXT } from './tokenizer.js';

export const MIN_FREQUENCY = 2;
/** 256 bytes and the end-of-text token. */
export const BASE_VOCAB = 257;
export const MAX_VOCAB = 1 << 20;

const PAIR = 2 ** 26;

export function trainBpe(rows: Iterable<string>, vocabSize: number): ByteLevelBpe {
  if (!Number.isInteger(vocabSize) || vocabSize < BASE_VOCAB || vocabSize > MAX_VOCAB) {
    throw new InvalidInputError('invalid_tokenizer', `tokenizer.vocabSize must be an integer from ${BASE_VOCAB} (the 256 bytes and ${END_OF_TEXT}) to ${MAX_VOCAB}; got ${vocabSize}.`, {
      field: 'tokenizer.vocabSize',
    });
  }
  const { words, freq } = countWords(rows);
  const tokens = [...BYTE_TO_CHAR]; // id b is byte b
  const merges: [number, number][] = [];
  const pairs = new PairCounts(words, freq);
  const target = vocabSize - 1; // the last id is END_OF_TEXT
  while (tokens.length < target) {
    const best = pairs.popBest();
    if (best === undefined) {
      throw new InvalidInputError(
        'vocabulary_too_large',
        `The training rows support a vocabulary of ${tokens.length + 1} tokens (after that no pair of adjacent tokens occurs ${MIN_FREQUENCY} or more times), fewer than tokenizer.vocabSize ${vocabSize}. Lower tokenizer.vocabSize to at most ${tokens.length + 1}, or train on more text.`,
        { field: 'tokenizer.vocabSize', vocabSize, supported: tokens.length + 1 },
      );
    }
    const a = Math.floor(best / PAIR);
    const b = best - a * PAIR;
    const id = tokens.length;
    tokens.push(tokens[a] + tokens[b]);
    merges.push([a, b]);
    pairs.merge(best, a, b, id);
  }
  tokens.push(END_OF_TEXT);
  return new ByteLevelBpe('bpe', tokens, merges, [{ content: END_OF_TEXT, id: tokens.length - 1 }]);
}

function countWords(rows: Iterable<string>): { words: number[][]; freq: number[] } {
  const counts = new Map<string, number>();
  for (const row of rows) for (const piece of preTokenize(row)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [piece, n] of counts) {
    const bytes = Buffer.from(piece, 'utf8');
    if (bytes.length < 2) continue; // nothing to merge
    words.push(Array.from(bytes));
    freq.push(n);
  }
  return { words, freq };
}

/** Pair counts over the weighted words, with the index of words per pair and a lazy max-heap. */
class PairCounts {
  private readonly count = new Map<number, number>();
  private readonly where = new Map<number, number[]>();
  private readonly heap = new PairHeap();
  private readonly stamp: Int32Array;
  private round = 0;

  constructor(
    private readonly words: number[][],
    private readonly freq: number[],
  ) {
    this.stamp = new Int32Array(words.length).fill(-1);
    words.forEach((w, i) => {
      for (let j = 0; j + 1 < w.length; j++) {
        const key = w[j] * PAIR + w[j + 1];
        this.count.set(key, (this.count.get(key) ?? 0) + freq[i]);
        this.index(key, i);
      }
    });
    for (const [key, n] of this.count) this.heap.push(n, key);
  }

  /** The most frequent pair still at its current count, if any occurs MIN_FREQUENCY times. */
  popBest(): number | undefined {
    for (;;) {
      const top = this.heap.pop();
      if (top === undefined) return undefined;
      const [n, key] = top;
      if (this.count.get(key) !== n) continue; // stale: the count changed after this entry was pushed
      return n >= MIN_FREQUENCY ? key : undefined;
    }
  }

  /** Replaces pair (a, b) by `id` in every word that holds it, updating only the pairs those words touch. */
  merge(key: number, a: number, b: number, id: number): void {
    const touched = new Set<number>();
    this.round++;
    for (const w of this.where.get(key) ?? []) {
      if (this.stamp[w] === this.round) continue; // listed twice
      this.stamp[w] = this.round;
      const word = this.words[w];
      const merged = mergeInWord(word, a, b, id);
      if (merged === null) continue; // stale index entry: an earlier merge removed the pair
      this.addPairs(word, -this.freq[w], w, touched);
      this.words[w] = merged;
      this.addPairs(merged, this.freq[w], w, touched);
    }
    this.where.delete(key);
    this.count.delete(key);
    for (const k of touched) {
      const n = this.count.get(k);
      if (n !== undefined) this.heap.push(n, k);
    }
  }

  private addPairs(word: number[], delta: number, w: number, touched: Set<number>): void {
    for (let j = 0; j + 1 < word.length; j++) {
      const key = word[j] * PAIR + word[j + 1];
      const n = (this.count.get(key) ?? 0) + delta;
      if (n > 0) this.count.set(key, n);
      else this.count.delete(key);
      touched.add(key);
      if (delta > 0) this.index(key, w);
    }
  }

  private index(key: number, w: number): void {
    const list = this.where.get(key);
    if (list === undefined) this.where.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  }
}

/** The word with every non-overlapping (a, b), left to right, replaced by id; null when it has none. */
function mergeInWord(word: number[], a: number, b: number, id: number): number[] | null {
  let out: number[] | null = null;
  for (let j = 0; j < word.length; j++) {
    if (j + 1 < word.length && word[j] === a && word[j + 1] === b) {
      out ??= word.slice(0, j);
      out.push(id);
      j++;
    } else if (out !== null) out.push(word[j]);
  }
  return out;
}

/** Binary max-heap of (count, pair key); equal counts: the smaller key first. */
class PairHeap {
  private readonly n: number[] = [];
  private readonly k: number[] = [];

  push(count: number, key: number): void {
    this.n.push(count);
    this.k.push(key);
    let i = this.n.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): [number, number] | undefined {
    if (this.n.length === 0) return undefined;
    const top: [number, number] = [this.n[0], this.k[0]];
    const lastN = this.n.pop()!;
    const lastK = this.k.pop()!;
    if (this.n.length > 0) {
      this.n[0] = lastN;
      this.k[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.n.length && this.above(l, m)) m = l;
        if (r < this.n.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private above(i: number, j: number): boolean {
    return this.n[i] > this.n[j] || (this.n[i] === this.n[j] && this.k[i] < this.k[j]);
  }

  private swap(i: number, j: number): void {
    [this.n[i], this.n[j]] = [this.n[j], this.n[i]];
    [this.k[i], this.k[j]] = [this.k[j], this.k[i]];
  }
}
