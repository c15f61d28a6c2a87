/**
 * Feature binning for the histogram-based trees, as scikit-learn's `_BinMapper` and LightGBM do:
 * each feature gets at most `maxBins` (≤ 255) bins, cut at the midpoints between distinct values
 * when there are few of them and at quantiles otherwise. A feature's missing values (NaN) take
 * the bin after its last one (`missingBin`: nBins(f) = thresholds[f].length + 1, ≤ 255), the one
 * convention of both growers, so histograms stay compact (nBins(f) + 1 cells per feature).
 *
 * Thresholds are float32 values and a value falls in bin b when `fround(x) <= thresholds[b]` and
 * not in an earlier bin, so a split "bin ≤ b" is exactly the ONNX test `x <= thresholds[b]` on a
 * float tensor: the fitted trees and their ONNX export agree bit for bit on the routing.
 */
import type { Matrix } from '../../core/matrix.js';
import { Rng } from '../../core/random.js';

/** The largest float32: the threshold of a "non-missing left, missing right" split. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export interface Binned {
  /** Column-major bins (feature * rows + row): the growers build one feature's histogram at a time. */
  bins: Uint8Array;
  rows: number;
  cols: number;
  /** Upper bounds of the non-missing bins, per feature (nBins(f) = thresholds[f].length + 1). */
  thresholds: Float64Array[];
  /** Whether a feature has a missing value in the binned data. */
  hasMissing: Uint8Array;
}

/** Fits the bin thresholds of each feature on (a subsample of at most `subsample` rows of) x. */
export function fitBinThresholds(x: Matrix, maxBins: number, rng: Rng, subsample = 200_000): Float64Array[] {
  const { rows: n, cols: F, data } = x;
  let rowsUsed: Int32Array | null = null;
  if (n > subsample) {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    // Partial Fisher–Yates: the first `subsample` entries are a uniform sample without replacement.
    for (let i = 0; i < subsample; i++) {
      const j = i + rng.int(n - i);
      const t = idx[i]!; idx[i] = idx[j]!; idx[j] = t;
    }
    rowsUsed = idx.slice(0, subsample).sort();
  }
  const m = rowsUsed ? rowsUsed.length : n;
  const col = new Float32Array(m);
  const out: Float64Array[] = [];
  for (let f = 0; f < F; f++) {
    let k = 0;
    for (let r = 0; r < m; r++) {
      const v = data[(rowsUsed ? rowsUsed[r]! : r) * F + f]!;
      if (v === v) col[k++] = v; // drop NaN
    }
    const sorted = col.subarray(0, k).sort();
    out.push(thresholdsOfSorted(sorted, maxBins));
  }
  return out;
}

function thresholdsOfSorted(sorted: Float32Array, maxBins: number): Float64Array {
  const k = sorted.length;
  if (k === 0) return new Float64Array(0);
  let distinct = 1;
  for (let i = 1; i < k; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  const cuts: number[] = [];
  if (distinct <= maxBins) {
    for (let i = 1; i < k; i++) {
      const a = sorted[i - 1]!;
      const c = sorted[i]!;
      if (a !== c) cuts.push(safeThreshold(a, c));
    }
  } else {
    // numpy.percentile(method='midpoint') at 100·q/maxBins, q = 1 … maxBins-1.
    for (let q = 1; q < maxBins; q++) {
      const pos = (q / maxBins) * (k - 1);
      const lo = sorted[Math.floor(pos)]!;
      const hi = sorted[Math.ceil(pos)]!;
      const t = Math.fround((lo + hi) / 2);
      if (t >= sorted[k - 1]!) continue; // would leave the last bin empty
      if (cuts.length > 0 && t <= cuts[cuts.length - 1]!) continue;
      cuts.push(t);
    }
  }
  return Float64Array.from(cuts);
}

/** A float32 t with a ≤ t < c (a < c float32 values), as close to their midpoint as float32 allows. */
function safeThreshold(a: number, c: number): number {
  const t = Math.fround((a + c) / 2);
  return t >= c ? a : t < a ? a : t;
}

/** The bin of a feature's missing values: the one after its non-missing bins 0 … thr.length. */
export function missingBin(thr: Float64Array): number {
  return thr.length + 1;
}

/** Bin index of one value: the first b with fround(v) ≤ thresholds[b]; missingBin(thr) for NaN. */
export function binOf(v: number, thr: Float64Array): number {
  if (v !== v) return missingBin(thr);
  const x = Math.fround(v);
  let lo = 0;
  let hi = thr.length; // answer in [0, thr.length]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= thr[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function binMatrix(x: Matrix, thresholds: Float64Array[]): Binned {
  const { rows: n, cols: F, data } = x;
  const bins = new Uint8Array(n * F);
  const hasMissing = new Uint8Array(F);
  for (let f = 0; f < F; f++) {
    const thr = thresholds[f]!;
    const missing = missingBin(thr);
    for (let i = 0; i < n; i++) {
      const b = binOf(data[i * F + f]!, thr);
      if (b === missing) hasMissing[f] = 1;
      bins[f * n + i] = b;
    }
  }
  return { bins, rows: n, cols: F, thresholds, hasMissing };
}
