/**
 * The `tfidf` step: a text column becomes tf-idf features (scikit-learn's TfidfVectorizer with
 * smooth idf and L2 rows), fitted on the training rows and computed inside the ONNX graph, so an
 * endpoint takes raw strings.
 *
 * One tokenizer, defined twice and tested to agree (tfidf.test.ts): lower-case code point by code
 * point (the graph's StringNormalizer maps each character alone, so 'Σ' is always 'σ' and 'İ' is
 * 'i'), then tokens are the runs of two or more letters, digits or underscores
 * (`[\p{L}\p{N}_]{2,}`, scikit-learn's `\b\w\w+\b` in Unicode terms; Chinese text without spaces
 * is one token per run). In the graph: StringNormalizer (locale C.UTF-8, which glibc ships, for
 * Unicode case mapping) → com.microsoft.Tokenizer with that expression (RE2) → TfIdfVectorizer
 * over the fitted n-grams → sublinear tf, idf, L2 with standard ops.
 */
import { attr, tensor, type NodeDef, type TensorValue } from '../../onnx/model.js';

export interface TfidfOptions {
  /** Smallest and largest n-gram length, e.g. [1, 2]. */
  ngrams: [number, number];
  /** Keep the most frequent terms (by count over the training rows; ties by term). */
  maxFeatures: number;
  /** Use 1 + ln(tf) instead of tf. */
  sublinearTf: boolean;
  lowercase: boolean;
}

export const TFIDF_DEFAULTS: TfidfOptions = { ngrams: [1, 1], maxFeatures: 10_000, sublinearTf: false, lowercase: true };
export const TFIDF_LIMITS = { maxN: 5, maxFeatures: 100_000 };

export interface FittedTfidf extends TfidfOptions {
  column: string;
  /** Position of the column in the `categories` input. */
  input: number;
  /** The vocabulary: n-grams as tokens joined by a space, shorter n-grams first, then by term. */
  terms: string[];
  /** ln((1 + n) / (1 + df)) + 1 per term. */
  idf: number[];
}

/** Shared by the JavaScript tokenizer and the graph's Tokenizer (RE2 reads the same syntax). */
export const TOKEN_PATTERN = '[\\p{L}\\p{N}_]{2,}';
const TOKEN_RE = new RegExp(TOKEN_PATTERN, 'gu');

/** Per-code-point lower case, as the graph's StringNormalizer (no context-dependent rules). */
export function lowerCodePoints(s: string): string {
  let out = '';
  for (const ch of s) out += ch === '\u0130' ? 'i' : ch.toLowerCase();
  return out;
}

export function tokenize(text: string, lowercase: boolean): string[] {
  return (lowercase ? lowerCodePoints(text) : text).match(TOKEN_RE) ?? [];
}

/** Counts of the n-grams of one text (n in the range), keyed by tokens joined with a space. */
export function ngramCounts(text: string, o: Pick<TfidfOptions, 'ngrams' | 'lowercase'>): Map<string, number> {
  const tokens = tokenize(text, o.lowercase);
  const counts = new Map<string, number>();
  for (let n = o.ngrams[0]; n <= o.ngrams[1]; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

const gramLength = (term: string) => term.split(' ').length;
const byTerm = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The vocabulary and idf of `texts` (the training rows); undefined when they hold no token. */
export function fitTfidf(column: string, input: number, texts: string[], o: TfidfOptions): FittedTfidf | undefined {
  const df = new Map<string, number>();
  const total = new Map<string, number>();
  for (const t of texts) {
    for (const [term, c] of ngramCounts(t, o)) {
      df.set(term, (df.get(term) ?? 0) + 1);
      total.set(term, (total.get(term) ?? 0) + c);
    }
  }
  if (df.size === 0) return undefined;
  let terms = [...df.keys()];
  if (terms.length > o.maxFeatures) terms = terms.sort((a, b) => total.get(b)! - total.get(a)! || byTerm(a, b)).slice(0, o.maxFeatures);
  terms.sort((a, b) => gramLength(a) - gramLength(b) || byTerm(a, b));
  const n = texts.length;
  const idf = terms.map((t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1);
  return { ...o, column, input, terms, idf };
}

/** Reference tf-idf rows (float64, texts × terms): what the graph computes, for tests. */
export function tfidfRows(f: FittedTfidf, texts: string[]): Float64Array {
  const V = f.terms.length;
  const index = new Map(f.terms.map((t, j) => [t, j]));
  const out = new Float64Array(texts.length * V);
  texts.forEach((text, i) => {
    const row = out.subarray(i * V, (i + 1) * V);
    for (const [term, c] of ngramCounts(text, f)) {
      const j = index.get(term);
      if (j !== undefined) row[j] = (f.sublinearTf ? 1 + Math.log(c) : c) * f.idf[j]!;
    }
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    if (norm > 0) for (let j = 0; j < V; j++) row[j]! /= norm;
  });
  return out;
}

/** A padding token the pattern can never produce, so no n-gram with it is in the vocabulary. */
const PAD = ' ';

/** The nodes turning column `f.input` of the string tensor `categories` into `output` (float [N, terms]). */
export function tfidfNodes(f: FittedTfidf, categories: string, output: string, prefix: string): { nodes: NodeDef[]; initializers: TensorValue[] } {
  const name = (s: string) => `${prefix}${s}`;
  const nodes: NodeDef[] = [];
  const initializers: TensorValue[] = [tensor.int64(name('col'), [], [f.input])];
  nodes.push({ opType: 'Gather', inputs: [categories, name('col')], outputs: [name('text')], attributes: { axis: attr.int(1) } });
  let text = name('text');
  if (f.lowercase) {
    nodes.push({
      opType: 'StringNormalizer', inputs: [text], outputs: [name('lower')],
      attributes: { case_change_action: attr.string('LOWER'), locale: attr.string('C.UTF-8') },
    });
    text = name('lower');
  }
  nodes.push({
    opType: 'Tokenizer', domain: 'com.microsoft', inputs: [text], outputs: [name('tokens')],
    attributes: { mark: attr.int(0), mincharnum: attr.int(1), pad_value: attr.string(PAD), tokenexp: attr.string(TOKEN_PATTERN) },
  });
  const { counts, pool } = ngramPool(f);
  nodes.push({
    opType: 'TfIdfVectorizer', inputs: [name('tokens')], outputs: [name('tf')],
    attributes: {
      mode: attr.string('TF'), min_gram_length: attr.int(f.ngrams[0]), max_gram_length: attr.int(f.ngrams[1]), max_skip_count: attr.int(0),
      ngram_counts: attr.ints(counts), ngram_indexes: attr.ints(f.terms.map((_, j) => j)), pool_strings: attr.strings(pool),
    },
  });
  let tf = name('tf');
  if (f.sublinearTf) {
    // 1 + ln(tf) where tf ≥ 1, 0 where tf = 0: ln(max(tf, 1)) + min(tf, 1).
    initializers.push(tensor.float(name('one'), [1], [1]));
    nodes.push(
      { opType: 'Max', inputs: [tf, name('one')], outputs: [name('tf_at_least_1')] },
      { opType: 'Log', inputs: [name('tf_at_least_1')], outputs: [name('log_tf')] },
      { opType: 'Min', inputs: [tf, name('one')], outputs: [name('present')] },
      { opType: 'Add', inputs: [name('log_tf'), name('present')], outputs: [name('sublinear')] },
    );
    tf = name('sublinear');
  }
  // Rows without a known term stay zero (the norm is floored), as scikit-learn's normalize does.
  initializers.push(tensor.float(name('idf'), [f.terms.length], f.idf), tensor.float(name('tiny'), [1], [1e-30]));
  nodes.push(
    { opType: 'Mul', inputs: [tf, name('idf')], outputs: [name('weighted')] },
    { opType: 'ReduceL2', inputs: [name('weighted')], outputs: [name('norm')], attributes: { axes: attr.ints([1]), keepdims: attr.int(1) } },
    { opType: 'Max', inputs: [name('norm'), name('tiny')], outputs: [name('safe_norm')] },
    { opType: 'Div', inputs: [name('weighted'), name('safe_norm')], outputs: [output] },
  );
  return { nodes, initializers };
}

/** TfIdfVectorizer's pool: the terms' tokens flattened, and where (in strings) each n-gram length starts. */
function ngramPool(f: FittedTfidf): { counts: number[]; pool: string[] } {
  const counts: number[] = [];
  const pool: string[] = [];
  let start = 0;
  for (let n = 1; n <= f.ngrams[1]; n++) {
    counts.push(start);
    for (const t of f.terms) if (gramLength(t) === n) { pool.push(...t.split(' ')); start += n; }
  }
  return { counts, pool };
}
