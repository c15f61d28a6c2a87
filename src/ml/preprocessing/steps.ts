/**
 * Preprocessing steps as users write them (API.md): `"auto"` or a list of steps. `planSteps`
 * checks a list against the dataset's columns before any job is queued, and says precisely what
 * to fix.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { didYouMean } from '../../infra/did-you-mean.js';
import type { ColumnKind } from '../signature.js';
import { TFIDF_DEFAULTS, TFIDF_LIMITS, type TfidfOptions } from './tfidf.js';

export type ImputeStrategy = 'mean' | 'median' | 'most_frequent' | 'constant';

export type Step =
  | { op: 'drop_duplicates' }
  | { op: 'impute'; columns?: string[]; strategy: ImputeStrategy; value?: number | string }
  | { op: 'clip_outliers'; columns?: string[]; method: 'iqr' | 'zscore'; threshold?: number }
  | { op: 'standardize'; columns?: string[] }
  | { op: 'minmax'; columns?: string[]; shared?: boolean }
  | { op: 'scale'; columns?: string[]; factor: number }
  | { op: 'one_hot'; columns?: string[] }
  | { op: 'tfidf'; columns?: string[]; ngrams?: [number, number]; maxFeatures?: number; sublinearTf?: boolean; lowercase?: boolean }
  | { op: 'drop'; columns: string[] }
  | { op: 'reshape'; shape: number[] }
  | { op: 'augment'; flip?: boolean; rotate?: number; shift?: number };

export type PreprocessingSpec = 'auto' | Step[];

export interface ColumnInfo {
  name: string;
  type: ColumnKind;
  missing: number;
}

const FIELDS: Record<Step['op'], string[]> = {
  drop_duplicates: [],
  impute: ['columns', 'strategy', 'value'],
  clip_outliers: ['columns', 'method', 'threshold'],
  standardize: ['columns'],
  minmax: ['columns', 'shared'],
  scale: ['columns', 'factor'],
  one_hot: ['columns'],
  tfidf: ['columns', 'ngrams', 'maxFeatures', 'sublinearTf', 'lowercase'],
  drop: ['columns'],
  reshape: ['shape'],
  augment: ['flip', 'rotate', 'shift'],
};

const bad = (i: number, message: string, details: Record<string, unknown> = {}) =>
  new InvalidInputError('invalid_preprocessing', `preprocessing[${i}]: ${message}`, { step: i, ...details });

/** A bad value of one field of step i, named by its path (`preprocessing[0].ngrams`). */
const badField = (i: number, key: string, message: string, details: Record<string, unknown> = {}) =>
  new InvalidInputError('invalid_preprocessing', `preprocessing[${i}].${key}: ${message}`, { step: i, field: `preprocessing[${i}].${key}`, ...details });

/**
 * The steps `"auto"` stands for: drop duplicate rows, impute (median for numbers, most frequent
 * category), standardize numbers, one-hot categories, and tf-idf over text columns (unigrams and
 * bigrams, sublinear tf: the classic text-classification recipe). Image-like data (many non-negative
 * integer columns sharing one value range) is scaled by that range as observed on the training rows
 * (0..255 pixels by 255, 0..16 by 16): one factor for all pixels keeps their relations, where
 * per-pixel standardizing would blow up the rarely lit border pixels.
 */
export function autoSteps(columns: ColumnInfo[], ranges: Map<string, { min?: number; max?: number }>): Step[] {
  const text = columns.filter((c) => c.type === 'text').map((c) => c.name);
  const numeric = columns.filter((c) => c.type === 'number' || c.type === 'integer' || c.type === 'boolean');
  const steps: Step[] = [{ op: 'drop_duplicates' }];
  steps.push({ op: 'impute', strategy: 'median' });
  steps.push(imageLike(numeric, ranges) ? { op: 'minmax', shared: true } : { op: 'standardize' });
  steps.push({ op: 'one_hot' });
  if (text.length) steps.push({ op: 'tfidf', columns: text, ngrams: [1, 2], sublinearTf: true });
  return steps;
}

/** At least 64 integer columns, none negative, and most of them reaching the top of the common range. */
export function imageLike(numeric: ColumnInfo[], ranges: Map<string, { min?: number; max?: number }>): boolean {
  if (numeric.length < 64 || !numeric.every((c) => c.type === 'integer' && (ranges.get(c.name)?.min ?? 0) >= 0)) return false;
  const maxima = numeric.map((c) => ranges.get(c.name)?.max ?? 0).sort((a, b) => a - b);
  const top = maxima.at(-1)!;
  // Count-like tabular columns (ages, amounts, counts) have ranges far apart; pixels share theirs.
  return top > 0 && maxima[Math.floor(maxima.length / 2)]! >= top / 2;
}

/** Validates user steps against the feature columns (target excluded). Returns them normalised. */
export function planSteps(spec: unknown, columns: ColumnInfo[]): Step[] {
  if (!Array.isArray(spec)) {
    throw new InvalidInputError('invalid_preprocessing', `'preprocessing' must be "auto" or a list of steps such as [{"op": "impute", "strategy": "mean"}, {"op": "standardize"}].`);
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  const dropped = new Set<string>();
  return spec.map((raw, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(i, 'each step must be an object with an "op".');
    const step = raw as Record<string, unknown>;
    const op = step.op as Step['op'];
    if (typeof op !== 'string' || !Object.hasOwn(FIELDS, op)) throw bad(i, `unknown op '${String(step.op)}'; use one of ${Object.keys(FIELDS).join(', ')}.${didYouMean(String(step.op), Object.keys(FIELDS))}`, { op: step.op });
    for (const k of Object.keys(step)) {
      if (k !== 'op' && !FIELDS[op].includes(k)) {
        const field = `preprocessing[${i}].${k}`;
        throw new InvalidInputError('invalid_preprocessing', `${field}: unknown field '${k}' for op '${op}'; it takes ${FIELDS[op].join(', ') || 'no fields'}.${didYouMean(k, FIELDS[op])}`, { step: i, field });
      }
    }
    if ('columns' in step) checkColumns(i, step.columns, byName, dropped, op);
    checkStep(i, step, byName);
    if (op === 'drop') for (const c of step.columns as string[]) dropped.add(c);
    return step as unknown as Step;
  });
}

function checkColumns(i: number, cols: unknown, byName: Map<string, ColumnInfo>, dropped: Set<string>, op: string): void {
  if (!Array.isArray(cols) || cols.length === 0 || !cols.every((c) => typeof c === 'string')) {
    throw bad(i, `'columns' must be a non-empty list of column names.`);
  }
  for (const c of cols as string[]) {
    if (!byName.has(c)) throw bad(i, `column '${c}' is not a feature column of the dataset (known: ${[...byName.keys()].join(', ')}).${didYouMean(c, [...byName.keys()])}`, { column: c, field: `preprocessing[${i}].columns` });
    if (dropped.has(c)) throw bad(i, `column '${c}' was dropped by an earlier step, so '${op}' cannot use it.`, { column: c });
  }
}

const isNumericKind = (t: ColumnKind) => t === 'number' || t === 'integer' || t === 'boolean';

function checkStep(i: number, s: Record<string, unknown>, byName: Map<string, ColumnInfo>): void {
  const named = (s.columns as string[] | undefined)?.map((c) => byName.get(c)!);
  const requireNumeric = () => named?.forEach((c) => {
    if (!isNumericKind(c.type)) throw bad(i, `'${s.op}' works on numbers, but column '${c.name}' is ${c.type}; one-hot or drop it instead.`, { column: c.name });
  });
  switch (s.op) {
    case 'impute': {
      const strategies = ['mean', 'median', 'most_frequent', 'constant'];
      if (!strategies.includes(s.strategy as string)) throw bad(i, `'strategy' must be one of ${strategies.join(', ')}.`);
      if (s.strategy === 'constant' && s.value === undefined) throw bad(i, `strategy 'constant' needs a 'value'.`);
      if (s.strategy === 'mean' || s.strategy === 'median') requireNumeric();
      break;
    }
    case 'clip_outliers':
      if (s.method !== 'iqr' && s.method !== 'zscore') throw bad(i, `'method' must be 'iqr' or 'zscore'.`);
      if (s.threshold !== undefined && !(typeof s.threshold === 'number' && s.threshold > 0)) throw bad(i, `'threshold' must be a positive number.`);
      requireNumeric();
      break;
    case 'standardize':
      requireNumeric();
      break;
    case 'minmax':
      if (s.shared !== undefined && typeof s.shared !== 'boolean') throw bad(i, `'shared' must be true (one range for all the columns, as for pixels) or false (a range per column).`);
      requireNumeric();
      break;
    case 'scale':
      if (typeof s.factor !== 'number' || !Number.isFinite(s.factor) || s.factor === 0) throw bad(i, `'factor' must be a non-zero number.`);
      requireNumeric();
      break;
    case 'one_hot':
      named?.forEach((c) => {
        if (c.type !== 'category' && c.type !== 'text') throw bad(i, `'one_hot' encodes category columns, but '${c.name}' is ${c.type}.`, { column: c.name });
      });
      break;
    case 'tfidf':
      checkTfidf(i, s, named);
      break;
    case 'drop':
      if (!s.columns) throw bad(i, `'drop' needs 'columns'.`);
      break;
    case 'reshape':
      if (!Array.isArray(s.shape) || s.shape.length === 0 || !s.shape.every((d) => Number.isInteger(d) && d > 0)) {
        throw bad(i, `'shape' must be a list of positive integers, e.g. [28, 28, 1].`);
      }
      break;
    case 'augment':
      if (s.flip !== undefined && typeof s.flip !== 'boolean') throw bad(i, `'flip' must be true or false.`);
      if (s.rotate !== undefined && !(typeof s.rotate === 'number' && s.rotate >= 0 && s.rotate <= 45)) throw bad(i, `'rotate' is the largest rotation in degrees, 0 to 45.`);
      if (s.shift !== undefined && !(typeof s.shift === 'number' && s.shift >= 0 && s.shift <= 0.5)) throw bad(i, `'shift' is the largest shift as a fraction of the image size, 0 to 0.5.`);
      break;
  }
}

function checkTfidf(i: number, s: Record<string, unknown>, named: ColumnInfo[] | undefined): void {
  named?.forEach((c) => {
    if (c.type !== 'text' && c.type !== 'category') throw badField(i, 'columns', `'tfidf' vectorizes text columns, but '${c.name}' is ${c.type}.`, { column: c.name });
  });
  const n = s.ngrams;
  if (n !== undefined && !(Array.isArray(n) && n.length === 2 && n.every((v) => Number.isInteger(v)) && n[0] >= 1 && n[0] <= n[1] && n[1] <= TFIDF_LIMITS.maxN)) {
    throw badField(i, 'ngrams', `must be [min, max] n-gram lengths with 1 ≤ min ≤ max ≤ ${TFIDF_LIMITS.maxN}, e.g. [1, 2]; got ${JSON.stringify(n)}.`);
  }
  const m = s.maxFeatures;
  if (m !== undefined && !(Number.isInteger(m) && (m as number) >= 1 && (m as number) <= TFIDF_LIMITS.maxFeatures)) {
    throw badField(i, 'maxFeatures', `must be an integer from 1 to ${TFIDF_LIMITS.maxFeatures}; got ${JSON.stringify(m)}.`, { limit: { min: 1, max: TFIDF_LIMITS.maxFeatures } });
  }
  for (const k of ['sublinearTf', 'lowercase']) {
    if (s[k] !== undefined && typeof s[k] !== 'boolean') throw badField(i, k, `must be true or false; got ${JSON.stringify(s[k])}.`);
  }
}

/** The options of a tfidf step with the defaults filled in. */
export function tfidfOptions(s: Extract<Step, { op: 'tfidf' }>): TfidfOptions {
  return {
    ngrams: s.ngrams ?? TFIDF_DEFAULTS.ngrams,
    maxFeatures: s.maxFeatures ?? TFIDF_DEFAULTS.maxFeatures,
    sublinearTf: s.sublinearTf ?? TFIDF_DEFAULTS.sublinearTf,
    lowercase: s.lowercase ?? TFIDF_DEFAULTS.lowercase,
  };
}
