/**
 * The profile of a text column: how long its values are, and what they are made of.
 *
 * Language-agnostic by construction, UTF-8 throughout:
 * - lengths count Unicode code points (not bytes, not UTF-16 units), so "中文" is 2 and "😀" is 1;
 * - characters: distinct code points, the vocabulary of a char-level tokenizer;
 * - tokens (for `vocabulary` and `topTokens`): lower-cased words, where a word is a run of letters,
 *   marks and digits, except that every character of a script written without spaces (Han, Hiragana,
 *   Katakana) and every emoji is a token of its own, as BERT's basic tokenizer does for CJK. So
 *   Chinese needs no whitespace, and punctuation is not a token.
 * Values are observed with a count (a dictionary column observes each distinct value once), and the
 * distinct maps are capped like everything else at ingest (`vocabularyCapped` marks a lower bound).
 */
import { HISTOGRAM_BINS } from './profile.js';

export interface TextProfile {
  /** Length of each non-missing value, in code points. */
  length: { min: number; max: number; mean: number; histogram: { edges: number[]; counts: number[] } };
  /** Distinct code points. */
  characters: number;
  /** Tokens in all values (see the module comment for what a token is). */
  tokens: number;
  /** Distinct tokens; a lower bound when vocabularyCapped. */
  vocabulary: number;
  vocabularyCapped?: boolean;
  topTokens: { token: string; count: number }[];
  topCharacters: { character: string; count: number }[];
}

export const TOP_TOKENS = 20;
/** Distinct tokens counted exactly up to this many; beyond, new tokens are not counted. */
export const TOKEN_CAP = 100_000;

const SINGLE = String.raw`[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{Extended_Pictographic}]`;
/** One token per match: a character of SINGLE, or a run of other letters, marks and digits. */
const TOKEN = new RegExp(String.raw`${SINGLE}|[[\p{L}\p{M}\p{N}]--${SINGLE}]+`, 'gv');

/** Splits text into the profile's tokens (exported for tests and for the tokenizers' diagnostics). */
export function profileTokens(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

export class TextProfiler {
  private readonly lengths = new Map<number, number>(); // length -> count (lengths are few)
  private readonly chars = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;
  private capped = false;
  private values = 0;
  private totalLength = 0;

  /** One value seen `count` times. Empty values are missing and not observed. */
  observe(text: string, count = 1): void {
    let length = 0;
    for (const ch of text) {
      length++;
      this.chars.set(ch, (this.chars.get(ch) ?? 0) + count);
    }
    this.lengths.set(length, (this.lengths.get(length) ?? 0) + count);
    this.values += count;
    this.totalLength += length * count;
    const matches = text.toLowerCase().match(TOKEN);
    if (matches === null) return;
    this.tokenCount += matches.length * count;
    for (const t of matches) {
      const seen = this.tokens.get(t);
      if (seen !== undefined) this.tokens.set(t, seen + count);
      else if (this.tokens.size < TOKEN_CAP) this.tokens.set(t, count);
      else this.capped = true;
    }
  }

  /** The profile, or undefined when no value was observed (an all-missing column). */
  profile(): TextProfile | undefined {
    if (this.values === 0) return undefined;
    const lengths = [...this.lengths.keys()];
    const min = Math.min(...lengths);
    const max = Math.max(...lengths);
    const profile: TextProfile = {
      length: { min, max, mean: this.totalLength / this.values, histogram: lengthHistogram(this.lengths, min, max) },
      characters: this.chars.size,
      tokens: this.tokenCount,
      vocabulary: this.tokens.size,
      topTokens: top(this.tokens).map(([token, count]) => ({ token, count })),
      topCharacters: top(this.chars).map(([character, count]) => ({ character, count })),
    };
    if (this.capped) profile.vocabularyCapped = true;
    return profile;
  }
}

/** The most frequent entries, most frequent first; ties in first-seen order (sort is stable). */
function top(counts: Map<string, number>): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, TOP_TOKENS);
}

/** Same binning as numeric columns: one bin per length when there are at most 20, else 20 equal bins. */
function lengthHistogram(lengths: Map<number, number>, min: number, max: number): { edges: number[]; counts: number[] } {
  const range = max - min;
  const perValue = range + 1 <= HISTOGRAM_BINS;
  const bins = perValue ? range + 1 : HISTOGRAM_BINS;
  const width = perValue ? 1 : range / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins && !perValue ? max : min + i * width));
  const counts = new Array<number>(bins).fill(0);
  for (const [length, count] of lengths) counts[Math.min(bins - 1, Math.floor((length - min) / width))] += count;
  return { edges, counts };
}
