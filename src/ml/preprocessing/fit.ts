/**
 * Fitting preprocessing on the training rows. The fitted state is plain data (scikit-learn
 * style): per-column vectors for the numeric ops and category lists for one-hot encoding.
 * Applying it is the ONNX graph of `onnx.ts` and nothing else, so training and serving cannot
 * disagree; the tiny apply steps here only feed later steps' statistics during the fit.
 */
import { InvalidInputError } from '../../infra/errors.js';
import type { ColumnKind } from '../signature.js';
import { cellString, column, isNumeric, type RawColumn, type RawTable } from '../training-table.js';
import { tfidfOptions, type Step } from './steps.js';
import { fitTfidf, type FittedTfidf, type TfidfOptions } from './tfidf.js';

export type NumericOp =
  | { op: 'fill'; values: number[] } // NaN in `values`: leave that column's missing values as they are
  | { op: 'clip'; lo: number[]; hi: number[] }
  | { op: 'affine'; sub: number[]; mul: number[] }; // (x - sub) * mul

export interface OneHotEncoder {
  /** Position of the column in the `categories` input. */
  input: number;
  column: string;
  categories: string[];
  /** Category a missing value ('') counts as, when imputed; else missing is all zeros. */
  fill?: string;
}

export interface FittedPreprocessing {
  numeric: { name: string; type: ColumnKind; nullable: boolean }[];
  categorical: { name: string; type: ColumnKind; nullable: boolean }[];
  numericOps: NumericOp[];
  encoders: OneHotEncoder[];
  /** Text columns turned into tf-idf features (after the one-hot ones). */
  tfidf: FittedTfidf[];
  /** Names of the columns of the preprocessed matrix, e.g. `income`, `purpose=car`, `text:good day`. */
  featureNames: string[];
  /** Columns dropped by a step (and text columns dropped by "auto"). */
  dropped: string[];
  /** Shape of one example for image networks (from a reshape step). */
  exampleShape?: number[];
  augment?: { flip: boolean; rotate: number; shift: number };
}

export interface PreprocessOptions {
  /** Whether the model copes with missing values itself (trees do); else every numeric column must be imputed. */
  modelHandlesMissing: boolean;
}

/** values[rows[i]] for every i (a plain loop: Float64Array.from with a map callback is ~10× slower on image-wide tables). */
function pick(values: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]!]!;
  return out;
}

export function fitPreprocessing(table: RawTable, features: string[], trainRows: Int32Array, steps: Step[], o: PreprocessOptions): FittedPreprocessing {
  const dropped = new Set<string>();
  for (const s of steps) if (s.op === 'drop') s.columns.forEach((c) => dropped.add(c));
  const kept = features.map((n) => column(table, n)).filter((c) => !dropped.has(c.name));
  const numCols = kept.filter(isNumeric);
  const catCols = kept.filter((c): c is Extract<RawColumn, { codes: Int32Array }> => !isNumeric(c));
  const work = new WorkColumns(numCols.map((c) => c.values), trainRows);
  const imputed = new Set<string>();
  const catFill = new Map<string, string>();
  const encoded = new Set<string>();
  const ops: NumericOp[] = [];
  let exampleShape: number[] | undefined;
  let augment: FittedPreprocessing['augment'];

  const selected = (s: { columns?: string[] }, name: string) => !s.columns || s.columns.includes(name);
  // tf-idf columns first: a one_hot step without columns leaves them to their vectorizer.
  const vectorized = new Map<string, TfidfOptions>();
  for (const s of steps) {
    if (s.op !== 'tfidf') continue;
    for (const c of catCols) if (s.columns ? s.columns.includes(c.name) : c.type === 'text') vectorized.set(c.name, tfidfOptions(s));
  }
  for (const s of steps) {
    switch (s.op) {
      case 'drop_duplicates':
      case 'drop':
        break; // rows are de-duplicated before splitting; drops applied above
      case 'impute': {
        const values = numCols.map((c, j) => {
          if (!selected(s, c.name)) return NaN;
          imputed.add(c.name);
          return numericFill(s.strategy, s.value, work.get(j), c.name);
        });
        if (values.some((v) => !Number.isNaN(v))) ops.push(work.apply({ op: 'fill', values }));
        for (const c of catCols) {
          if (!selected(s, c.name)) continue;
          catFill.set(c.name, categoryFill(s.strategy, s.value, c, trainRows));
        }
        break;
      }
      case 'clip_outliers': {
        const bounds = numCols.map((c, j) => (selected(s, c.name) ? outlierBounds(work.get(j), s.method, s.threshold) : [-Infinity, Infinity]));
        ops.push(work.apply({ op: 'clip', lo: bounds.map((b) => b[0]!), hi: bounds.map((b) => b[1]!) }));
        break;
      }
      case 'standardize':
      case 'minmax':
      case 'scale': {
        const shared = s.op === 'minmax' && s.shared ? sharedRange(numCols.flatMap((c, j) => (selected(s, c.name) ? [work.get(j)] : []))) : undefined;
        // A fixed factor reads no values: the columns stay unmade (an image's 785 of them).
        const pairs = numCols.map((c, j) => (!selected(s, c.name) ? [0, 1] : s.op === 'scale' ? [0, s.factor] : shared ?? affineFor(s, work.get(j))));
        ops.push(work.apply({ op: 'affine', sub: pairs.map((p) => p[0]!), mul: pairs.map((p) => p[1]!) }));
        break;
      }
      case 'one_hot':
        for (const c of catCols) if (s.columns ? s.columns.includes(c.name) : !vectorized.has(c.name)) encoded.add(c.name);
        break;
      case 'tfidf':
        break; // fitted below
      case 'reshape':
        exampleShape = s.shape;
        break;
      case 'augment':
        augment = { flip: s.flip ?? false, rotate: s.rotate ?? 0, shift: s.shift ?? 0 };
        break;
    }
  }

  for (const c of catCols) {
    if (!encoded.has(c.name) && !vectorized.has(c.name)) {
      throw new InvalidInputError('unencoded_column', `Column '${c.name}' holds ${c.type} values, which a model cannot read as they are: add {"op": "${c.type === 'text' ? 'tfidf' : 'one_hot'}", "columns": ["${c.name}"]} or {"op": "drop", "columns": ["${c.name}"]} to 'preprocessing'.`, { column: c.name });
    }
  }
  if (!o.modelHandlesMissing) {
    numCols.forEach((c, j) => {
      const missing = work.missing(j);
      if (missing > 0) {
        throw new InvalidInputError('missing_values', `Column '${c.name}' has ${missing} missing values in the training rows and this model kind cannot handle them: add {"op": "impute", "strategy": "median"} to 'preprocessing' (or use "preprocessing": "auto").`, { column: c.name, missing });
      }
    });
  }

  const encoders: OneHotEncoder[] = catCols.flatMap((c, input) => (encoded.has(c.name) ? [{
    input, column: c.name, categories: trainCategories(c, trainRows), fill: catFill.get(c.name),
  }] : []));
  const tfidf = catCols.flatMap((c, input) => {
    const o = vectorized.get(c.name);
    return o ? [fitTextColumn(c, input, trainRows, o)] : [];
  });
  const featureNames = [
    ...numCols.map((c) => c.name),
    ...encoders.flatMap((e) => e.categories.map((v) => `${e.column}=${v}`)),
    ...tfidf.flatMap((f) => f.terms.map((t) => `${f.column}:${t}`)),
  ];
  if (featureNames.length === 0) throw new InvalidInputError('no_features', 'No feature column is left after preprocessing; keep at least one column besides the target.');
  if (exampleShape && exampleShape.reduce((a, b) => a * b, 1) !== featureNames.length) {
    throw new InvalidInputError('invalid_preprocessing', `reshape to [${exampleShape.join(', ')}] needs ${exampleShape.reduce((a, b) => a * b, 1)} features, but preprocessing produces ${featureNames.length}.`, { shape: exampleShape, features: featureNames.length });
  }
  const nullable = (name: string) => o.modelHandlesMissing || imputed.has(name);
  return {
    numeric: numCols.map((c) => ({ name: c.name, type: c.type, nullable: nullable(c.name) })),
    categorical: catCols.map((c) => ({ name: c.name, type: c.type, nullable: true })),
    numericOps: ops, encoders, tfidf, featureNames,
    dropped: features.filter((f) => dropped.has(f)),
    exampleShape, augment,
  };
}

function fitTextColumn(c: Extract<RawColumn, { codes: Int32Array }>, input: number, rows: Int32Array, o: TfidfOptions): FittedTfidf {
  const fitted = fitTfidf(c.name, input, Array.from(rows, (r) => cellString(c, r)), o);
  if (!fitted) {
    throw new InvalidInputError('invalid_preprocessing', `tfidf: column '${c.name}' has no token (a run of two or more letters or digits) in the training rows; drop it instead.`, { column: c.name });
  }
  return fitted;
}

/**
 * The training rows' values of each numeric column with the ops fitted so far applied, made when a
 * step first reads a column (a copy per column and a pass per op over a wide table's every column
 * were most of its preprocessing fit, though a fixed scale reads none of them).
 */
class WorkColumns {
  private readonly made: (Float64Array | undefined)[];
  private readonly applied: NumericOp[] = [];

  constructor(private readonly source: Float64Array[], private readonly rows: Int32Array) {
    this.made = new Array<Float64Array | undefined>(source.length);
  }

  get(j: number): Float64Array {
    let col = this.made[j];
    if (!col) {
      col = pick(this.source[j]!, this.rows);
      for (const op of this.applied) applyTo(col, op, j);
      this.made[j] = col;
    }
    return col;
  }

  /** Applies a fitted op to the columns made so far, and to those made later. */
  apply(op: NumericOp): NumericOp {
    this.applied.push(op);
    this.made.forEach((col, j) => col && applyTo(col, op, j));
    return op;
  }

  /**
   * Missing values of column j after the ops. An unmade column had no fill of its own (a fill's
   * values come from reading it), and clip and affine keep missing values missing and present ones
   * present: its raw training values tell.
   */
  missing(j: number): number {
    const col = this.made[j];
    if (col) return countMissing(col);
    const values = this.source[j]!;
    let n = 0;
    for (let i = 0; i < this.rows.length; i++) if (Number.isNaN(values[this.rows[i]!]!)) n++;
    return n;
  }
}

/** Applies a fitted op to column j in place (one tight loop). */
function applyTo(col: Float64Array, op: NumericOp, j: number): void {
  if (op.op === 'fill') {
    const v = op.values[j]!;
    for (let i = 0; i < col.length; i++) if (Number.isNaN(col[i]!)) col[i] = v;
  } else if (op.op === 'clip') {
    const lo = op.lo[j]!;
    const hi = op.hi[j]!;
    for (let i = 0; i < col.length; i++) col[i] = Math.min(Math.max(col[i]!, lo), hi); // NaN stays NaN
  } else {
    const sub = op.sub[j]!;
    const mul = op.mul[j]!;
    for (let i = 0; i < col.length; i++) col[i] = (col[i]! - sub) * mul;
  }
}

function countMissing(col: Float64Array): number {
  let n = 0;
  for (let i = 0; i < col.length; i++) if (Number.isNaN(col[i]!)) n++;
  return n;
}

const present = (col: Float64Array) => col.filter((v) => !Number.isNaN(v));

function numericFill(strategy: string, value: number | string | undefined, col: Float64Array, name: string): number {
  const xs = present(col);
  switch (strategy) {
    case 'constant':
      if (typeof value !== 'number') throw new InvalidInputError('invalid_preprocessing', `impute 'constant' on numeric column '${name}' needs a numeric 'value'.`, { column: name });
      return value;
    case 'mean':
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
    case 'median':
      return xs.length ? quantile(xs.sort(), 0.5) : 0;
    default: {
      const counts = new Map<number, number>();
      let best = 0;
      let bestCount = 0;
      for (const x of xs) {
        const n = (counts.get(x) ?? 0) + 1;
        counts.set(x, n);
        if (n > bestCount || (n === bestCount && x < best)) [best, bestCount] = [x, n];
      }
      return best;
    }
  }
}

function categoryFill(strategy: string, value: number | string | undefined, c: Extract<RawColumn, { codes: Int32Array }>, rows: Int32Array): string {
  if (strategy === 'constant') return String(value);
  const counts = new Int32Array(c.dictionary.length);
  for (const r of rows) if (c.codes[r]! >= 0) counts[c.codes[r]!]!++;
  let best = -1;
  counts.forEach((n, k) => { if (best < 0 || n > counts[best]!) best = k; });
  return best < 0 ? '' : c.dictionary[best]!;
}

/** Linear-interpolated quantile of sorted values (NumPy's default). */
export function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function outlierBounds(col: Float64Array, method: 'iqr' | 'zscore', threshold?: number): [number, number] {
  const xs = present(col).sort();
  if (xs.length === 0) return [-Infinity, Infinity];
  if (method === 'iqr') {
    const q1 = quantile(xs, 0.25);
    const q3 = quantile(xs, 0.75);
    const k = threshold ?? 1.5;
    return [q1 - k * (q3 - q1), q3 + k * (q3 - q1)];
  }
  const { mean, std } = moments(xs);
  const k = threshold ?? 3;
  return [mean - k * std, mean + k * std];
}

function moments(xs: Float64Array): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length || 1);
  return { mean, std: Math.sqrt(variance) };
}

function affineFor(s: Extract<Step, { op: 'standardize' | 'minmax' | 'scale' }>, col: Float64Array): [number, number] {
  if (s.op === 'scale') return [0, s.factor];
  const xs = present(col);
  if (xs.length === 0) return [0, 1];
  if (s.op === 'standardize') {
    const { mean, std } = moments(xs);
    return [mean, std > 0 ? 1 / std : 1]; // a constant column stays constant (0), as scikit-learn does
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return [min, max > min ? 1 / (max - min) : 1];
}

/** One [min, 1 / (max − min)] over all the columns' present values (pixels share one range). */
function sharedRange(cols: Float64Array[]): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const col of cols) {
    for (let i = 0; i < col.length; i++) {
      const x = col[i]!; // NaN (missing) fails both
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  return Number.isFinite(min) && max > min ? [min, 1 / (max - min)] : [0, 1];
}

/** Categories seen in the training rows, most frequent first (ties by name), for stable one-hot columns. */
function trainCategories(c: Extract<RawColumn, { codes: Int32Array }>, rows: Int32Array): string[] {
  const counts = new Int32Array(c.dictionary.length);
  for (const r of rows) if (c.codes[r]! >= 0) counts[c.codes[r]!]!++;
  return c.dictionary.map((v, k) => ({ v, n: counts[k]! })).filter((e) => e.n > 0)
    .sort((a, b) => b.n - a.n || (a.v < b.v ? -1 : 1)).map((e) => e.v);
}
