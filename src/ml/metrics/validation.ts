/**
 * Splitting rows for evaluation: the held-out train/test split (stratified by class for
 * classification) and k-fold cross-validation, all seeded and reproducible.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { Rng } from '../core/random.js';

export interface Split {
  /** Row indices, ascending. */
  train: Int32Array;
  test: Int32Array;
}

export interface Stratify {
  y: Int32Array;
  classCount: number;
}

/**
 * A random split with `ceil(testFraction · n)` test rows (as scikit-learn's `train_test_split`).
 * With `stratify`, every class keeps its proportion in both parts (largest-remainder allocation).
 */
export function trainTestSplit(n: number, opts: { testFraction: number; seed?: number; stratify?: Stratify }): Split {
  const { testFraction } = opts;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new InvalidInputError('bad_params', `Parameter 'testFraction' must be a number in (0, 1); got ${testFraction}.`, { param: 'testFraction' });
  }
  const rng = new Rng(opts.seed ?? 0);
  const nTest = Math.ceil(testFraction * n);
  if (nTest < 1 || nTest >= n) {
    throw new InvalidInputError('bad_data', `Cannot split ${n} rows with a test fraction of ${testFraction}: both parts need at least one row.`);
  }
  const isTest = new Uint8Array(n);
  if (!opts.stratify) {
    const perm = shuffled(n, rng);
    for (let i = 0; i < nTest; i++) isTest[perm[i]!] = 1;
  } else {
    const groups = classGroups(opts.stratify, n);
    const alloc = allocate(groups.map((g) => g.length), nTest, n);
    groups.forEach((members, c) => {
      rng.shuffle(members);
      for (let i = 0; i < alloc[c]!; i++) isTest[members[i]!] = 1;
    });
  }
  return fromMask(isTest);
}

/**
 * k folds over n rows (shuffled with `seed` unless `shuffle` is false); with `stratify`, each
 * class is dealt round-robin over the folds so that every fold keeps the class proportions.
 * Returns k splits whose `test` parts partition the rows.
 */
export function kFold(n: number, k: number, opts: { seed?: number; shuffle?: boolean; stratify?: Stratify } = {}): Split[] {
  if (!Number.isInteger(k) || k < 2 || k > n) {
    throw new InvalidInputError('bad_params', `Parameter 'folds' must be an integer in [2, ${n}] (the number of rows); got ${k}.`, { param: 'folds' });
  }
  const rng = new Rng(opts.seed ?? 0);
  const fold = new Int32Array(n);
  if (opts.stratify) {
    let next = 0;
    for (const members of classGroups(opts.stratify, n)) {
      if (opts.shuffle !== false) rng.shuffle(members);
      for (const i of members) { fold[i] = next; next = (next + 1) % k; }
    }
  } else {
    const order = opts.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : shuffled(n, rng);
    // Contiguous blocks of the (shuffled) order, sizes differing by at most one, as scikit-learn's KFold.
    let pos = 0;
    for (let f = 0; f < k; f++) {
      const size = Math.floor(n / k) + (f < n % k ? 1 : 0);
      for (let j = 0; j < size; j++) fold[order[pos++]!] = f;
    }
  }
  const splits: Split[] = [];
  for (let f = 0; f < k; f++) {
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (fold[i] === f) mask[i] = 1;
    splits.push(fromMask(mask));
  }
  return splits;
}

/** Rows of a row-major matrix or entries of a vector, picked by index. */
export function takeRows<T extends Float32Array | Float64Array | Int32Array>(data: T, cols: number, rows: Int32Array): T {
  const out = new (data.constructor as { new (n: number): T })(rows.length * cols);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r]! * cols;
    out.set(data.subarray(src, src + cols), r * cols);
  }
  return out;
}

function shuffled(n: number, rng: Rng): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return rng.shuffle(a);
}

function classGroups(s: Stratify, n: number): Int32Array[] {
  if (s.y.length !== n) throw new InvalidInputError('bad_data', `Stratification needs one class per row: ${s.y.length} classes for ${n} rows.`);
  const counts = new Int32Array(s.classCount);
  for (let i = 0; i < n; i++) counts[s.y[i]!]!++;
  const groups = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(s.classCount);
  for (let i = 0; i < n; i++) { const c = s.y[i]!; groups[c]![fill[c]!++] = i; }
  return groups;
}

/** Splits `total` over groups proportionally to their sizes (largest remainder, ties to the larger group, then the lower index). */
function allocate(sizes: number[], total: number, n: number): number[] {
  const exact = sizes.map((s) => (total * s) / n);
  const alloc = exact.map(Math.floor);
  let left = total - alloc.reduce((a, b) => a + b, 0);
  const order = sizes.map((_, i) => i).sort((a, b) => (exact[b]! - alloc[b]!) - (exact[a]! - alloc[a]!) || sizes[b]! - sizes[a]! || a - b);
  for (const i of order) {
    if (left === 0) break;
    if (alloc[i]! < sizes[i]!) { alloc[i]!++; left--; }
  }
  return alloc;
}

function fromMask(isTest: Uint8Array): Split {
  let nTest = 0;
  for (const v of isTest) nTest += v;
  const train = new Int32Array(isTest.length - nTest);
  const test = new Int32Array(nTest);
  let a = 0;
  let b = 0;
  for (let i = 0; i < isTest.length; i++) {
    if (isTest[i]) test[b++] = i;
    else train[a++] = i;
  }
  return { train, test };
}
