/**
 * The one histogram module of the tree growers (forests and boosting). Forests build one
 * feature's histogram at a time on column-major bins (feature f's bin of row i at `bins[f * n + i]`)
 * and read the row statistics (class, weight, w·y) by row id from their grower's partitioned row
 * ids in place: a forest node tries a few features over a few rows (diabetes: 10 rows a feature on
 * average), over which a copy would not pay back. Boosting builds every feature's histogram of a
 * node at once (`RowHistograms`: one pass over the node's rows, on a row-major copy of the bins, a
 * row's gradient and hessian read once for all features), or from CSR rows when the data is sparse
 * (`SparseRows`).
 *
 * A feature's histogram is a block of (nBins(f) + 1) cells of `width` float64 values each; the
 * last cell holds its missing values (binning.ts's convention). What a cell sums is the
 * criterion's business (criteria.ts): per-class packed weights (the statistic added at the
 * row's class channel), (packed weight, Σwy), or (Σg, Σh, count).
 */

/** The rows of a forest node: its grower's partitioned row ids in place, with the per-row statistics. */
export class NodeRows {
  /** Row ids idx[start, start + count). */
  idx: Int32Array = new Int32Array(0);
  start = 0;
  /** The class of each row (classification), or null. */
  chan: Int32Array | null = null;
  /** Statistics by row id: packed weight, and w·y for regression. */
  vals: Float64Array[] = [];
  count = 0;

  /** Takes rows indices[start, end) with their statistics `stats[k][row]` (and classes `channel[row]`). */
  gather(indices: Int32Array, start: number, end: number, stats: Float64Array[], channel: Int32Array | null): void {
    this.count = end - start;
    this.idx = indices;
    this.start = start;
    this.vals = stats;
    this.chan = channel;
  }
}

/**
 * Adds the node's rows of one feature (its bins `bins[col + row]`) into a forest histogram: rows
 * alternate between lane A (`a` at `oa`) and lane B (`b` at `ob`), two accumulators that halve the
 * dependency chains when consecutive rows hit one cell (binary features); pass one lane twice for
 * a single accumulator. The caller clears the cells and merges the lanes.
 */
export function accumulate(
  rows: NodeRows, bins: Uint8Array, col: number, width: number,
  a: Float64Array, oa: number, b: Float64Array, ob: number,
): void {
  const { idx, chan, vals, count, start } = rows;
  const pairs = start + count - (count & 1);
  const v0 = vals[0]!;
  if (chan) {
    // Classification; an odd last row goes to lane A.
    for (let q = start; q < pairs; q += 2) {
      const i = idx[q]!;
      const j = idx[q + 1]!;
      a[oa + bins[col + i]! * width + chan[i]!]! += v0[i]!;
      b[ob + bins[col + j]! * width + chan[j]!]! += v0[j]!;
    }
    if (count & 1) { const i = idx[pairs]!; a[oa + bins[col + i]! * width + chan[i]!]! += v0[i]!; }
  } else {
    // Regression: (packed weight, w·y).
    const v1 = vals[1]!;
    for (let q = start; q < pairs; q += 2) {
      const i = idx[q]!;
      const j = idx[q + 1]!;
      const c0 = oa + bins[col + i]! * 2;
      const c1 = ob + bins[col + j]! * 2;
      a[c0]! += v0[i]!; a[c0 + 1]! += v1[i]!;
      b[c1]! += v0[j]!; b[c1 + 1]! += v1[j]!;
    }
    if (count & 1) { const i = idx[pairs]!; const c = oa + bins[col + i]! * 2; a[c]! += v0[i]!; a[c + 1]! += v1[i]!; }
  }
}

/**
 * Boosting's dense histograms: every active feature's (Σg, Σh, count) cells of a node in one pass
 * over its rows, on row-major bins (`rowBins[row * F + f]`), a row's g and h read once for all
 * features. A feature with at least 4 rows a bin alternates rows between the node's histogram
 * (even positions) and a second lane (odd ones), merged after the pass: two accumulators halve the
 * dependency chains when consecutive rows hit one cell (binary features).
 */
export class RowHistograms {
  private readonly lane: Float64Array;
  /** The active features split into laned ones (first `nLaned`) and the others: feature, first value. */
  private readonly feature: Int32Array;
  private readonly first: Int32Array;

  constructor(
    private readonly rowBins: Uint8Array,
    private readonly F: number,
    private readonly offset: Int32Array,
    private readonly nBins: Int32Array,
  ) {
    this.lane = new Float64Array(offset[F]! * 3);
    this.feature = new Int32Array(F);
    this.first = new Int32Array(F);
  }

  /**
   * The histograms of rows indices[start, end) into `hist` (g, h by row id; h null: all 1) for the
   * features active[at, at + nActive). `clearAll`: clear the whole array first (one fill for most
   * features), else only these features' blocks (other threads may be writing the rest).
   */
  build(hist: Float64Array, indices: Int32Array, start: number, end: number, g: Float64Array, h: Float64Array | null, active: Int32Array, at0: number, nActive: number, clearAll: boolean): void {
    const { rowBins: bins, F, offset, nBins, lane, feature, first } = this;
    const count = end - start;
    let nLaned = 0;
    for (let a = 0, p = nActive - 1; a < nActive; a++) {
      const f = active[at0 + a]!;
      const at = nBins[f]! * 4 <= count ? nLaned++ : p--;
      feature[at] = f;
      first[at] = offset[f]! * 3;
    }
    if (clearAll) hist.fill(0);
    else for (let a = 0; a < nActive; a++) zero(hist, first[a]!, first[a]! + (nBins[feature[a]!]! + 1) * 3);
    for (let a = 0; a < nLaned; a++) zero(lane, first[a]!, first[a]! + (nBins[feature[a]!]! + 1) * 3);
    let p = start;
    for (; p + 1 < end; p += 2) {
      const i0 = indices[p]!;
      const i1 = indices[p + 1]!;
      const g0 = g[i0]!;
      const g1 = g[i1]!;
      const h0 = h ? h[i0]! : 1;
      const h1 = h ? h[i1]! : 1;
      const r0 = i0 * F;
      const r1 = i1 * F;
      let a = 0;
      for (; a < nLaned; a++) {
        const f = feature[a]!;
        const o = first[a]!;
        const c0 = o + bins[r0 + f]! * 3;
        const c1 = o + bins[r1 + f]! * 3;
        hist[c0]! += g0; hist[c0 + 1]! += h0; hist[c0 + 2]! += 1;
        lane[c1]! += g1; lane[c1 + 1]! += h1; lane[c1 + 2]! += 1;
      }
      for (; a < nActive; a++) {
        const f = feature[a]!;
        const o = first[a]!;
        const c0 = o + bins[r0 + f]! * 3;
        const c1 = o + bins[r1 + f]! * 3;
        hist[c0]! += g0; hist[c0 + 1]! += h0; hist[c0 + 2]! += 1;
        hist[c1]! += g1; hist[c1 + 1]! += h1; hist[c1 + 2]! += 1;
      }
    }
    if (p < end) {
      const i = indices[p]!;
      const gi = g[i]!;
      const hi = h ? h[i]! : 1;
      const r = i * F;
      for (let a = 0; a < nActive; a++) {
        const c = first[a]! + bins[r + feature[a]!]! * 3;
        hist[c]! += gi; hist[c + 1]! += hi; hist[c + 2]! += 1;
      }
    }
    for (let a = 0; a < nLaned; a++) {
      for (let j = first[a]!, stop = j + (nBins[feature[a]!]! + 1) * 3; j < stop; j++) hist[j]! += lane[j]!;
    }
  }
}

/** The row-major copy (`[row * F + f]`) of column-major bins (`[f * n + row]`), in shared memory if asked. */
export function rowMajorBins(bins: Uint8Array, n: number, F: number, inShared = false): Uint8Array {
  const out = inShared ? new Uint8Array(new SharedArrayBuffer(n * F)) : new Uint8Array(n * F);
  for (let f = 0; f < F; f++) for (let i = 0, c = f * n; i < n; i++) out[i * F + f] = bins[c + i]!;
  return out;
}

/**
 * Scratch space for building one feature's forest histogram: the second lane, and the marks of
 * the sparse path (which clears and lists only the bins a small node touches).
 */
export class HistogramScratch {
  readonly lane: Float64Array;
  private readonly mark = new Int32Array(256);
  private stamp = 0;

  constructor(readonly width: number) {
    this.lane = new Float64Array(256 * width);
  }

  /**
   * Builds feature f's histogram into `hist` at `o` (cells of bins 0 … nb, nb = missing). Dense
   * (every cell cleared, two lanes) when the node has at least 4 rows a bin, else sparse: then the
   * occupied non-missing bins are written, in ascending order, to `touched` and their number
   * returned; the dense path returns -1 (the caller lists occupied bins from the cells).
   */
  build(rows: NodeRows, bins: Uint8Array, col: number, nb: number, hist: Float64Array, o: number, touched: Int32Array): number {
    if (nb * 4 <= rows.count) {
      this.buildDense(rows, bins, col, nb, hist, o);
      return -1;
    }
    return this.buildSparse(rows, bins, col, nb, hist, o, touched);
  }

  /** Builds every cell of feature f's histogram (two lanes for a node of at least 4 rows a bin). */
  buildDense(rows: NodeRows, bins: Uint8Array, col: number, nb: number, hist: Float64Array, o: number): void {
    const W = this.width;
    const cells = (nb + 1) * W;
    zero(hist, o, o + cells);
    if (nb * 4 > rows.count) return accumulate(rows, bins, col, W, hist, o, hist, o);
    const lane = this.lane;
    zero(lane, 0, cells);
    accumulate(rows, bins, col, W, hist, o, lane, 0);
    for (let j = 0; j < cells; j++) hist[o + j]! += lane[j]!;
  }

  private buildSparse(rows: NodeRows, bins: Uint8Array, col: number, nb: number, hist: Float64Array, o: number, touched: Int32Array): number {
    const { mark, width: W } = this;
    const stamp = ++this.stamp;
    const { idx, chan, vals, start } = rows;
    const end = start + rows.count;
    const v0 = vals[0]!;
    let m = 0;
    zero(hist, o + nb * W, o + (nb + 1) * W); // the missing cell is read whether touched or not
    // One pass: a bin's cells are cleared when the node first reaches it (inline: a fill() call a
    // row costs more than the row), then the row added — the rows' order of the dense path.
    if (chan) {
      for (let q = start; q < end; q++) {
        const i = idx[q]!;
        const bin = bins[col + i]!;
        const c = o + bin * W;
        if (mark[bin] !== stamp) {
          mark[bin] = stamp;
          if (bin !== nb) { touched[m++] = bin; for (let k = 0; k < W; k++) hist[c + k] = 0; }
        }
        hist[c + chan[i]!]! += v0[i]!;
      }
    } else {
      const v1 = vals[1]!;
      for (let q = start; q < end; q++) {
        const i = idx[q]!;
        const bin = bins[col + i]!;
        const c = o + bin * 2;
        if (mark[bin] !== stamp) {
          mark[bin] = stamp;
          if (bin !== nb) { touched[m++] = bin; hist[c] = 0; hist[c + 1] = 0; }
        }
        hist[c]! += v0[i]!;
        hist[c + 1]! += v1[i]!;
      }
    }
    if (m <= 24) insertionSort(touched, m);
    else { m = 0; for (let bin = 0; bin < nb; bin++) if (mark[bin] === stamp) touched[m++] = bin; }
    return m;
  }
}

/** Clears a[from, to): a loop, as a fill() call costs more than the few cells of a feature or a small node. */
export function zero(a: Float64Array, from: number, to: number): void {
  for (let j = from; j < to; j++) a[j] = 0;
}

function insertionSort(a: Int32Array, m: number): void {
  for (let i = 1; i < m; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) { a[j + 1] = a[j]!; j--; }
    a[j + 1] = v;
  }
}

/**
 * Every feature's histogram at once from rows of their non-default cells, for sparse data (one-hot
 * blocks, image backgrounds) where most cells hold their feature's most frequent bin: each row
 * keeps only its other cells (CSR), and a node's most-frequent-bin cells are filled in from the
 * node totals, as LightGBM does. Cells are (Σg, Σh, count); feature f's block starts at cell
 * `offset[f]`. `null` from `sparseRows` when the data is not sparse enough to pay.
 */
export class SparseRows {
  private constructor(
    private readonly offset: Int32Array,
    /** Per feature, the cell of its most frequent bin. */
    private readonly defaultCell: Int32Array,
    private readonly rowStart: Int32Array,
    private readonly cells: Int32Array,
  ) {}

  static of(bins: Uint8Array, n: number, offset: Int32Array): SparseRows | null {
    const F = offset.length - 1;
    const counts = new Int32Array(offset[F]!);
    const defaultCell = new Int32Array(F);
    let nonDefault = 0;
    for (let f = 0; f < F; f++) {
      const o = offset[f]!;
      for (let i = 0; i < n; i++) counts[o + bins[f * n + i]!]!++;
      let best = o;
      for (let c = o + 1; c < offset[f + 1]!; c++) if (counts[c]! > counts[best]!) best = c;
      defaultCell[f] = best;
      nonDefault += n - counts[best]!;
    }
    if (nonDefault >= 0.4 * n * F) return null;
    const rowStart = new Int32Array(n + 1);
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < n; i++) if (offset[f]! + bins[f * n + i]! !== defaultCell[f]) rowStart[i + 1]!++;
    }
    for (let i = 0; i < n; i++) rowStart[i + 1]! += rowStart[i]!;
    const cells = new Int32Array(nonDefault);
    const fill = rowStart.slice(0, n);
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < n; i++) {
        const c = offset[f]! + bins[f * n + i]!;
        if (c !== defaultCell[f]) cells[fill[i]!++] = c;
      }
    }
    return new SparseRows(offset, defaultCell, rowStart, cells);
  }

  /**
   * Builds the histograms of rows idx[start, end) (statistics gs, hs by row id; hs null: all 1)
   * into `hist` ((g, h, c) = the node's totals); only the active features' (active[at, at + nActive)) cells are valid.
   */
  build(idx: Int32Array, start: number, end: number, gs: Float64Array, hs: Float64Array | null, hist: Float64Array, g: number, h: number, c: number, active: Int32Array, at: number, nActive: number): void {
    const { rowStart, cells, offset } = this;
    // Only the active features' blocks are cleared (and read afterwards): rows also add to the
    // others', which nobody reads — a wide image's constant pixels cost nothing per node.
    for (let a = at; a < at + nActive; a++) zero(hist, offset[active[a]!]! * 3, offset[active[a]! + 1]! * 3);
    for (let q = start; q < end; q++) {
      const i = idx[q]!;
      const gi = gs[i]!;
      const hi = hs ? hs[i]! : 1;
      for (let e = rowStart[i]!, stop = rowStart[i + 1]!; e < stop; e++) {
        const o = cells[e]! * 3;
        hist[o]! += gi;
        hist[o + 1]! += hi;
        hist[o + 2]! += 1;
      }
    }
    // Each feature's default cell holds what its other cells do not.
    for (let a = at; a < at + nActive; a++) {
      const f = active[a]!;
      let sg = 0;
      let sh = 0;
      let sc = 0;
      for (let o = offset[f]! * 3, stop = offset[f + 1]! * 3; o < stop; o += 3) { sg += hist[o]!; sh += hist[o + 1]!; sc += hist[o + 2]!; }
      const d = this.defaultCell[f]! * 3;
      // An empty default cell gets exact zeros, not a rounding residue (the gradient scan adds every cell).
      const empty = c - sc === 0;
      hist[d] = empty ? 0 : g - sg;
      hist[d + 1] = empty ? 0 : h - sh;
      hist[d + 2] = c - sc;
    }
  }
}
