/**
 * Splitting a node's rows in two, for both histogram growers (forests: column-major bins,
 * boosting: row-major bins): the bin of row i on feature f is `bins[i * rowStride + f * featureStride]`,
 * and a feature's missing values sit in bin `nBins[f]` (see binning.ts).
 */
import { FLOAT32_MAX } from './binning.js';

export interface BinnedLayout {
  bins: Uint8Array;
  rowStride: number;
  featureStride: number;
  /** Non-missing bins per feature; bin nBins[f] holds its missing values. */
  nBins: Int32Array;
}

/**
 * Reorders `indices[start, end)` so that the rows going left (bin ≤ `bin`, or missing when
 * `missingLeft`) come first, in their original order; returns the boundary. Branch-free: every
 * row is written to both ends of `scratch` (≥ end − start long) and one cursor advances.
 */
export function partition(
  indices: Int32Array, scratch: Int32Array, start: number, end: number,
  layout: BinnedLayout, f: number, bin: number, missingLeft: boolean,
): number {
  const { bins, rowStride } = layout;
  const col = f * layout.featureStride;
  const missing = layout.nBins[f]!;
  const ml = missingLeft ? 1 : 0;
  let l = 0;
  let r = end - start - 1;
  for (let p = start; p < end; p++) {
    const i = indices[p]!;
    const b = bins[i * rowStride + col]!;
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

/** The threshold of a split after bin `bin` of feature f: that bin's upper edge, or "every non-missing value" after the last one. */
export function splitThreshold(thresholds: Float64Array[], nBins: Int32Array, f: number, bin: number): number {
  return bin >= nBins[f]! - 1 ? FLOAT32_MAX : thresholds[f]![bin]!;
}
