/**
 * The profile of a model version's training rows that drift is measured against, built once at
 * training time and kept beside the version's graph. Per raw feature:
 * - numbers: 10 bins whose edges are the training values' deciles (ties merge bins), the rows per
 *   bin and missing, and a quantile sketch (at most SKETCH_POINTS sorted values) for KS;
 * - categories: the rows per category (the MAX_CATEGORIES most frequent; the rest counted together
 *   as `other`), and missing.
 * Text columns are not profiled (a PSI over free-text values measures nothing). The model's
 * predictions on the held-out rows are profiled the same way (labels as categories, values as
 * numbers). PSI then compares the shares per bin, with a bin for missing values and, for
 * categories, one for values training never saw.
 */
import { quantile } from '../preprocessing/fit.js';
import { isNumeric, type RawTable } from '../training-table.js';
import { ksTwoSample, psi, type KsResult } from './drift-stats.js';

export const PROFILE_FORMAT = 1;
export const NUMERIC_BINS = 10;
export const SKETCH_POINTS = 1000;
export const MAX_CATEGORIES = 1000;

export interface NumericProfile {
  name: string;
  kind: 'numeric';
  /** Interior bin edges, ascending: bin k holds edges[k-1] < v <= edges[k]; the last bin v > the last edge. */
  edges: number[];
  /** Rows per bin (edges.length + 1 of them). */
  counts: number[];
  missing: number;
  /** Training values (non-missing) this profile stands for, and a sorted sketch of them. */
  present: number;
  sketch: number[];
}

export interface CategoricalProfile {
  name: string;
  kind: 'categorical';
  categories: string[];
  counts: number[];
  /** Rows of categories seen in training but not kept (beyond MAX_CATEGORIES): not "unseen". */
  other: number;
  missing: number;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

export interface DriftProfile {
  format: typeof PROFILE_FORMAT;
  /** Training rows profiled. */
  rows: number;
  features: FeatureProfile[];
  /** The model's predictions on the held-out rows (labels or values). */
  prediction?: FeatureProfile;
}

/** A column of live or training values: numbers (NaN missing) or strings (null or '' missing). */
export type Values = { kind: 'numeric'; values: ArrayLike<number> } | { kind: 'categorical'; values: ArrayLike<string | null> };

export interface FeatureDrift {
  psi: number;
  ks?: KsResult;
  missingShare: number;
  unseenShare?: number;
}

/** Profiles the raw columns `names` of `table` over `rows` (text columns are skipped). */
export function profileTable(table: RawTable, rows: ArrayLike<number>, names: readonly string[]): FeatureProfile[] {
  const out: FeatureProfile[] = [];
  for (const name of names) {
    const c = table.columns.find((x) => x.name === name);
    if (!c || c.type === 'text') continue;
    if (isNumeric(c)) out.push(sortedProfile(name, presentSorted(c.values, rows), rows.length));
    else out.push(categoricalProfile(name, Array.from(rows, (r) => (c.codes[r]! < 0 ? null : c.dictionary[c.codes[r]!]!))));
  }
  return out;
}

export function profileOf(name: string, v: Values): FeatureProfile {
  return v.kind === 'numeric' ? numericProfile(name, v.values) : categoricalProfile(name, v.values);
}

export function numericProfile(name: string, values: ArrayLike<number>): NumericProfile {
  return sortedProfile(name, presentSorted(values), values.length);
}

/** The profile of `total` values whose present ones are `sorted`. */
function sortedProfile(name: string, sorted: Float64Array, total: number): NumericProfile {
  const edges: number[] = [];
  if (sorted.length > 0) {
    for (let k = 1; k < NUMERIC_BINS; k++) {
      const e = quantile(sorted, k / NUMERIC_BINS);
      if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
    }
  }
  const profile: NumericProfile = { name, kind: 'numeric', edges, counts: [], missing: total - sorted.length, present: sorted.length, sketch: sketchOf(sorted) };
  profile.counts = numericBins(profile, sorted).slice(0, edges.length + 1);
  return profile;
}

export function categoricalProfile(name: string, values: ArrayLike<string | null>): CategoricalProfile {
  const counts = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || v === '') missing++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const kept = ranked.slice(0, MAX_CATEGORIES);
  const other = ranked.slice(MAX_CATEGORIES).reduce((n, [, c]) => n + c, 0);
  return { name, kind: 'categorical', categories: kept.map(([v]) => v), counts: kept.map(([, c]) => c), other, missing };
}

/** Drift of live values against a feature's training profile. */
export function featureDrift(profile: FeatureProfile, live: Values): FeatureDrift {
  const rows = live.values.length;
  if (profile.kind === 'numeric') {
    if (live.kind !== 'numeric') throw new Error(`feature '${profile.name}' is numeric`);
    const sorted = presentSorted(live.values);
    const actual = numericBins(profile, sorted);
    actual.push(rows - sorted.length);
    return {
      psi: psi([...profile.counts, profile.missing], actual),
      ks: ksTwoSample(profile.sketch, sorted, profile.present),
      missingShare: rows ? (rows - sorted.length) / rows : 0,
    };
  }
  if (live.kind !== 'categorical') throw new Error(`feature '${profile.name}' is categorical`);
  const index = new Map(profile.categories.map((c, i) => [c, i]));
  // Bins: each kept category, other (seen, not kept), unseen, missing.
  const actual = new Array<number>(profile.categories.length + 3).fill(0);
  const complete = profile.other === 0;
  for (let i = 0; i < rows; i++) {
    const v = live.values[i];
    if (v === null || v === undefined || v === '') actual[actual.length - 1]!++;
    else {
      const k = index.get(v);
      actual[k ?? (complete ? profile.categories.length + 1 : profile.categories.length)]!++;
    }
  }
  const expected = [...profile.counts, profile.other, 0, profile.missing];
  const unseen = actual[profile.categories.length + 1]!;
  return {
    psi: psi(expected, actual),
    missingShare: rows ? actual[actual.length - 1]! / rows : 0,
    // With categories beyond the kept ones, an unknown value may be one of them: unseen cannot be told.
    ...(complete ? { unseenShare: rows ? unseen / rows : 0 } : {}),
  };
}

/** Rows per bin of sorted present values (edges.length + 1 bins). */
function numericBins(profile: Pick<NumericProfile, 'edges'>, sorted: Float64Array): number[] {
  const { edges } = profile;
  const counts = new Array<number>(edges.length + 1).fill(0);
  let k = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (k < edges.length && sorted[i]! > edges[k]!) k++;
    counts[k]!++;
  }
  return counts;
}

/**
 * The finite values, sorted: of all `values`, or of `values[rows[i]]` (one pass that gathers and
 * filters; a wide table's profile is mostly this, e.g. 785 MNIST columns × 8,000 rows).
 */
function presentSorted(values: ArrayLike<number>, rows?: ArrayLike<number>): Float64Array {
  const count = rows ? rows.length : values.length;
  const out = new Float64Array(count);
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  for (let i = 0; i < count; i++) {
    const v = values[rows ? rows[i]! : i]!;
    // NaN and ±Infinity fail this (v - v is NaN), as missing values.
    if (v - v !== 0) continue;
    out[n++] = v;
    if (v < min) min = v;
    if (v > max) max = v;
    if (integers && Math.floor(v) !== v) integers = false;
  }
  const present = out.subarray(0, n);
  // Integer columns of a narrow range (pixels, counts, codes) are counted, not compared: several
  // times faster than the typed array's sort, which was most of a wide table's profile.
  if (integers && n > 0 && max - min <= Math.max(4 * n, 1024)) return countingSort(present, min, max);
  return present.sort();
}

/** `xs` (integers in [min, max]) sorted in place by counting each value. */
function countingSort(xs: Float64Array, min: number, max: number): Float64Array {
  const counts = new Int32Array(max - min + 1);
  for (let i = 0; i < xs.length; i++) counts[xs[i]! - min]!++;
  let at = 0;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k]!;
    if (c > 0) xs.fill(k + min, at, at + c);
    at += c;
  }
  return xs;
}

/** At most SKETCH_POINTS values at evenly spaced quantiles ((k + ½) / K) of sorted values: all of them when fewer. */
function sketchOf(sorted: Float64Array): number[] {
  if (sorted.length <= SKETCH_POINTS) return Array.from(sorted);
  const sketch = new Array<number>(SKETCH_POINTS);
  for (let k = 0; k < SKETCH_POINTS; k++) sketch[k] = quantile(sorted, (k + 0.5) / SKETCH_POINTS);
  return sketch;
}

/** The version file (beside the graph) holding a trained version's profile, as JSON. */
export const DRIFT_PROFILE_FILE = 'aiaas/drift-profile.json';
