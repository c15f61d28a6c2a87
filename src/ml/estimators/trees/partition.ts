/**
 * Splitting a node's rows in two, for both histogram growers, on column-major bins (the bin of row
 * i on feature f is `bins[f * n + i]`; a feature's missing values sit in bin `nBins[f]`, see
 * binning.ts).
 */
import { FLOAT32_MAX } from './binning.js';

/**
 * Reorders `indices[start, end)` so that the rows going left (`bins[col + row]` ≤ `bin`, or the
 * missing bin `missing` when `missingLeft`) come first, in their original order; returns the
 * boundary. Branch-free: every row is written to both ends of `scratch` (≥ end − start long) and
 * one cursor advances.
 */
export function partition(
  indices: Int32Array, scratch: Int32Array, start: number, end: number,
  bins: Uint8Array, col: number, bin: number, missing: number, missingLeft: boolean,
): number {
  const ml = missingLeft ? 1 : 0;
  let l = 0;
  let r = end - start - 1;
  for (let p = start; p < end; p++) {
    const i = indices[p]!;
    const b = bins[col + i]!;
    const left = (b <= bin ? 1 : 0) | (b === missing ? ml : 0); // bin < missing
    scratch[l] = i;
    scratch[r] = i;
    l += left;
    r -= 1 - left;
  }
  // Left rows in order at the front, right rows (reversed) at the back.
  indices.set(scratch.subarray(0, end - start), start);
  return start + l;
}

// One tiny call at load time. Otherwise V8 may compile the loop above on stack replacement during
// the first (root) call, before the code after the loop has ever run: that code then has no type
// feedback, and the cached OSR code deoptimised on every later call (about 100 times per fit of
// loans boosting, measured with --trace-deopt).
partition(new Int32Array([1, 0]), new Int32Array(2), 0, 2, new Uint8Array([0, 1]), 0, 0, 2, false);

/** The threshold of a split after bin `bin` of feature f: that bin's upper edge, or "every non-missing value" after the last one. */
export function splitThreshold(thresholds: Float64Array[], nBins: Int32Array, f: number, bin: number): number {
  return bin >= nBins[f]! - 1 ? FLOAT32_MAX : thresholds[f]![bin]!;
}
