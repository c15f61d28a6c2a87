/**
 * The example data sets (examples/data) as numeric matrices, for the estimators' tests and the
 * `bench:ml` benchmark only (a test fixture, kept out of the production folders): the files are
 * read with the platform's CSV parser (src/ml/data/csv-parser.ts) and encoded with a fixed
 * numeric scheme; the platform's real preprocessing lives in src/ml/preprocessing.
 *
 * - iris: 4 numeric features; classes setosa, versicolor, virginica (sorted names → 0, 1, 2).
 * - diabetes: 10 numeric features; target `progression` (regression).
 * - loans: age, income, loan_amount, credit_score, late_payments (NaN where missing), then
 *   one-hot employment (a missing value is all zeros), home_ownership and purpose; target
 *   `default` (no → 0, yes → 1).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Matrix, Target } from '../core/matrix.js';
import { CsvParser } from '../data/csv-parser.js';
import { subset } from '../metrics/cross-validation.js';
import { trainTestSplit } from '../metrics/validation.js';

export interface ExampleDataset {
  name: string;
  x: Matrix;
  target: Target;
  featureNames: string[];
  /** Class names of a classification target, in class-index order. */
  classNames?: string[];
}

/** examples/data, found from this module's location (src/ml/testing or dist/src/ml/testing). */
export function exampleDataDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : here.replace(/\/src\/ml\/testing\/?$/, '');
  return `${root}/examples/data`;
}

function readCsv(path: string): { header: string[]; rows: string[][] } {
  const records: string[][] = [];
  let record: string[] = [];
  const parser = new CsvParser({
    field: (index, buf, start, end) => { record[index] = buf.toString('utf8', start, end); },
    endRecord: () => { records.push(record); record = []; },
  });
  parser.push(readFileSync(path));
  parser.end();
  return { header: records[0]!, rows: records.slice(1) };
}

const num = (s: string): number => (s === '' ? NaN : Number(s));

export function loadExample(name: 'iris' | 'diabetes' | 'loans', dir = exampleDataDir()): ExampleDataset {
  const { header, rows } = readCsv(`${dir}/${name}.csv`);
  if (name === 'iris' || name === 'diabetes') {
    const F = header.length - 1;
    const data = new Float64Array(rows.length * F);
    rows.forEach((r, i) => { for (let j = 0; j < F; j++) data[i * F + j] = num(r[j]!); });
    const x = { data, rows: rows.length, cols: F };
    if (name === 'diabetes') {
      return { name, x, featureNames: header.slice(0, F), target: { task: 'regression', y: Float64Array.from(rows, (r) => num(r[F]!)) } };
    }
    const classNames = [...new Set(rows.map((r) => r[F]!))].sort();
    const y = Int32Array.from(rows, (r) => classNames.indexOf(r[F]!));
    return { name, x, featureNames: header.slice(0, F), classNames, target: { task: 'classification', y, classCount: classNames.length } };
  }
  const col = (c: string) => header.indexOf(c);
  const numeric = ['age', 'income', 'loan_amount', 'credit_score', 'late_payments'];
  const categorical = ['employment', 'home_ownership', 'purpose'];
  const levels = categorical.map((c) => [...new Set(rows.map((r) => r[col(c)]!).filter((v) => v !== ''))].sort());
  const featureNames = [...numeric, ...categorical.flatMap((c, k) => levels[k]!.map((l) => `${c}=${l}`))];
  const F = featureNames.length;
  const data = new Float64Array(rows.length * F);
  rows.forEach((r, i) => {
    let j = 0;
    for (const c of numeric) data[i * F + j++] = num(r[col(c)]!);
    categorical.forEach((c, k) => {
      const v = r[col(c)]!;
      for (const l of levels[k]!) data[i * F + j++] = v === l ? 1 : 0;
    });
  });
  const t = col('default');
  const y = Int32Array.from(rows, (r) => (r[t] === 'yes' ? 1 : 0));
  return { name, x: { data, rows: rows.length, cols: F }, featureNames, classNames: ['no', 'yes'], target: { task: 'classification', y, classCount: 2 } };
}

/** Replaces NaN by the column median of the rows `fitRows` (all rows by default), in place. */
export function imputeMedian(x: Matrix, fitRows?: Int32Array): Matrix {
  const { rows: n, cols: F, data } = x;
  for (let j = 0; j < F; j++) {
    const vals: number[] = [];
    const rowsUsed = fitRows ?? Int32Array.from({ length: n }, (_, i) => i);
    for (const i of rowsUsed) { const v = data[i * F + j]!; if (v === v) vals.push(v); }
    vals.sort((a, b) => a - b);
    const m = vals.length ? (vals.length % 2 ? vals[(vals.length - 1) / 2]! : (vals[vals.length / 2 - 1]! + vals[vals.length / 2]!) / 2) : 0;
    for (let i = 0; i < n; i++) if (data[i * F + j] !== data[i * F + j]) data[i * F + j] = m;
  }
  return x;
}

/** Standardises each column with the mean and standard deviation of the rows `fitRows`, in place. */
export function standardize(x: Matrix, fitRows?: Int32Array): Matrix {
  const { rows: n, cols: F, data } = x;
  const rowsUsed = fitRows ?? Int32Array.from({ length: n }, (_, i) => i);
  for (let j = 0; j < F; j++) {
    let m = 0;
    for (const i of rowsUsed) m += data[i * F + j]!;
    m /= rowsUsed.length;
    let v = 0;
    for (const i of rowsUsed) v += (data[i * F + j]! - m) ** 2;
    const s = Math.sqrt(v / rowsUsed.length) || 1;
    for (let i = 0; i < n; i++) data[i * F + j] = (data[i * F + j]! - m) / s;
  }
  return x;
}

/**
 * An example data set split 80/20 (stratified for classification) with `seed`, optionally
 * median-imputed and standardised with statistics of the training rows — the benchmark's setup.
 */
export function loadExampleSplit(
  name: 'iris' | 'diabetes' | 'loans',
  opts: { seed?: number; impute?: boolean; standardize?: boolean } = {},
): { dataset: ExampleDataset; train: { x: Matrix; target: Target }; test: { x: Matrix; target: Target }; split: { train: Int32Array; test: Int32Array } } {
  const dataset = loadExample(name);
  const t = dataset.target;
  const split = trainTestSplit(dataset.x.rows, {
    testFraction: 0.2, seed: opts.seed ?? 0,
    stratify: t.task === 'classification' ? { y: t.y, classCount: t.classCount } : undefined,
  });
  if (opts.impute) imputeMedian(dataset.x, split.train);
  if (opts.standardize) standardize(dataset.x, split.train);
  return { dataset, split, train: subset(dataset.x, t, split.train), test: subset(dataset.x, t, split.test) };
}
