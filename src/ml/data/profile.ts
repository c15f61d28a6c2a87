/**
 * Column profiles: what the API returns for each column of a dataset.
 *
 * Where each number comes from:
 * - missing, min, max, mean, std: pass 1 (running Welford statistics, see schema-inference.ts);
 * - histogram and distinct of numeric columns: pass 2, from each row group's values as they are sealed
 *   (the histogram needs min/max first, which is why it is not in pass 1);
 * - distinct and topValues of string/boolean columns: the dictionary counts of pass 2 (exact), or for
 *   very high-cardinality text the capped pass-1 map (then `distinctCapped: true`, counts are a lower bound).
 */
import { DISTINCT_CAP, type ColumnPlan, type ColumnStats } from './schema-inference.js';
import { TextProfiler, type TextProfile } from './text-profile.js';

export type ColumnType = 'number' | 'integer' | 'category' | 'text' | 'boolean';

export interface ColumnProfile {
  name: string;
  type: ColumnType;
  /** Cells that are empty, NA, N/A, null, NULL, NaN, nan (or JSON null / absent). */
  missing: number;
  /** Distinct non-missing values; a lower bound when distinctCapped. */
  distinct: number;
  distinctCapped?: boolean;
  min?: number;
  max?: number;
  mean?: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  std?: number;
  /** The 10 most frequent values, most frequent first (ties: first seen first; for booleans true first). category / text / boolean. */
  topValues?: { value: string | boolean; count: number }[];
  /** number / integer: bin i counts edges[i] <= v < edges[i+1] (the last bin includes the maximum). */
  histogram?: { edges: number[]; counts: number[] };
  /** text columns: lengths, characters, vocabulary and top tokens (text-profile.ts). */
  text?: TextProfile;
}

export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;

/**
 * category vs text: a string column is a category when it has at most
 * max(20, min(1000, 5% of its non-missing values)) distinct values. The 20 floor keeps small
 * datasets' labels (iris species, yes/no) categorical; the 5% rule catches free text and ids (nearly
 * every value distinct); the 1000 ceiling keeps one-hot encodings of categories to a sane width.
 */
export function isCategory(distinct: number, present: number): boolean {
  return distinct <= Math.max(20, Math.min(1000, Math.floor(present * 0.05)));
}

/**
 * Histogram and distinct count of one numeric column, fed row group by row group.
 * Integer columns with fewer than 20 distinct possible values get one bin per integer
 * (edges v, v+1, ...), which reads better than 20 fractional bins.
 */
export class NumericProfiler {
  readonly edges: number[];
  readonly counts: number[];
  distinctCapped = false;
  private distinctCount = 0;
  private readonly scale: number; // bins per unit of value
  private readonly seenSmall: Uint8Array | null; // integer columns with a small range: one flag per value
  private readonly seen: Set<number> | null;

  constructor(
    private readonly min: number,
    max: number,
    integer: boolean,
  ) {
    const range = max - min;
    let bins: number;
    let width: number;
    if (integer && range + 1 <= HISTOGRAM_BINS) {
      bins = range + 1; // one bin per integer: edges min, min+1, ..., max+1
      width = 1;
    } else if (range === 0 || !Number.isFinite(range)) {
      bins = 1; // one bin [min, max]
      width = 0;
    } else {
      bins = HISTOGRAM_BINS;
      width = range / bins;
    }
    this.edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins && width !== 1 ? max : min + i * width));
    this.counts = new Array<number>(bins).fill(0);
    this.scale = width === 0 ? 0 : 1 / width;
    const small = integer && range < 1 << 21;
    this.seenSmall = small ? new Uint8Array(range + 1) : null;
    this.seen = small ? null : new Set<number>();
  }

  observe(values: Float64Array | Float32Array, n: number): void {
    const { counts, min, scale, seenSmall, seen } = this;
    const last = counts.length - 1;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v !== v) continue; // NaN: missing
      let bin = Math.floor((v - min) * scale);
      if (bin > last) bin = last;
      else if (bin < 0) bin = 0;
      counts[bin]++;
      if (seenSmall !== null) {
        const k = v - min;
        if (seenSmall[k] === 0) {
          seenSmall[k] = 1;
          this.distinctCount++;
        }
      } else if (seen !== null && !this.distinctCapped) {
        seen.add(v);
        if (seen.size >= DISTINCT_CAP) this.distinctCapped = true;
      }
    }
  }

  get distinct(): number {
    return this.seen !== null ? this.seen.size : this.distinctCount;
  }
}

/** Dictionary of a string/boolean column after pass 2: values and how often each occurred. */
export interface DictionaryCounts {
  values: readonly string[];
  counts: ArrayLike<number>;
}

/** What pass 2 learned about one column, by storage. */
export type Pass2Column =
  | { storage: 'f64' | 'f32'; profiler: NumericProfiler }
  | { storage: 'bool'; falseCount: number; trueCount: number }
  | { storage: 'dict'; dictionary: DictionaryCounts }
  | { storage: 'utf8'; text: TextProfiler };

export function buildProfile(plan: ColumnPlan, rows: number, pass2: Pass2Column): ColumnProfile {
  const stats = plan.stats;
  const { name } = plan;
  const missing = stats.missing;
  switch (pass2.storage) {
    case 'f64':
    case 'f32': {
      const p = pass2.profiler;
      const profile: ColumnProfile = {
        name,
        type: plan.kind === 'integer' ? 'integer' : 'number',
        missing,
        distinct: p.distinct,
        min: stats.min,
        max: stats.max,
        mean: stats.mean,
        std: sampleStd(stats),
        histogram: { edges: p.edges, counts: p.counts },
      };
      if (p.distinctCapped) profile.distinctCapped = true;
      return profile;
    }
    case 'bool': {
      const top: { value: boolean; count: number }[] = [
        { value: true, count: pass2.trueCount },
        { value: false, count: pass2.falseCount },
      ];
      const topValues = top.filter((t) => t.count > 0).sort((a, b) => b.count - a.count);
      return { name, type: 'boolean', missing, distinct: topValues.length, topValues };
    }
    case 'dict': {
      const { values, counts } = pass2.dictionary;
      const order = Array.from(values.keys()).sort((a, b) => counts[b] - counts[a] || a - b);
      const topValues = order.slice(0, TOP_VALUES).map((i) => ({ value: values[i], count: counts[i] }));
      const present = rows - stats.missing;
      const type = !plan.text && present > 0 && isCategory(values.length, present) ? 'category' : 'text'; // all missing: text
      const profile: ColumnProfile = { name, type, missing, distinct: values.length, topValues };
      if (type === 'text') withText(profile, dictionaryText(pass2.dictionary));
      return profile;
    }
    case 'utf8': {
      // More than DISTINCT_CAP distinct values: text, with the capped pass-1 counts as a lower bound.
      const entries = [...(stats.texts ?? new Map<string, number>())];
      const topValues = entries
        .map(([value, count], i) => ({ value, count, i }))
        .sort((a, b) => b.count - a.count || a.i - b.i)
        .slice(0, TOP_VALUES)
        .map(({ value, count }) => ({ value, count }));
      return withText({ name, type: 'text', missing, distinct: entries.length, distinctCapped: true, topValues }, pass2.text);
    }
  }
}

/** Profiles each distinct value once, weighted by its count: a fraction of the work of every row. */
function dictionaryText({ values, counts }: DictionaryCounts): TextProfiler {
  const text = new TextProfiler();
  for (let i = 0; i < values.length; i++) text.observe(values[i], counts[i]);
  return text;
}

function withText(profile: ColumnProfile, text: TextProfiler): ColumnProfile {
  const t = text.profile();
  if (t) profile.text = t;
  return profile;
}

function sampleStd(stats: ColumnStats): number {
  return stats.numbers > 1 ? Math.sqrt(stats.m2 / (stats.numbers - 1)) : 0;
}
