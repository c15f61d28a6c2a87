/**
 * The one histogram builder of the tree growers (forests and boosting), on column-major bins
 * (feature f's bin of row i at `bins[f * n + i]`), one feature at a time, as scikit-learn's
 * `_hist_gradient_boosting` does. For boosting a node's row ids are first gathered in the node's
 * order (`NodeRows`) with their gradients and hessians, so that the per-feature loops read them
 * sequentially. A forest's row statistics (class, weight, w·y) stay indexed by row and its node
 * reads its grower's partitioned row ids in place: a forest node tries a few features over a few
 * rows (diabetes: 10 rows a feature on average), over which a copy would not pay back.
 *
 * A feature's histogram is a block of (nBins(f) + 1) cells of `width` float64 values each; the
 * last cell holds its missing values (binning.ts's convention). What a cell sums is the
 * criterion's business (criteria.ts): per-class packed weights (the statistic added at the
 * row's class channel), (packed weight, Σwy), or (Σg, Σh, count).
 */

/** The rows of a node, in the node's order (see above for which statistics are gathered). */
export class NodeRows {
  /**
   * Row ids from `start`: gathered (boosting), padded to an even length by repeating the first
   * (gathered statistics are 0 there); a forest's are its grower's own partitioned ids, not copied.
   */
  idx: Int32Array;
  start = 0;
  /** Per row (forests): the class of each row, or null. */
  chan: Int32Array | null = null;
  /** Per row (forests) or gathered (boosting, padded with 0). */
  vals: Float64Array[];
  /** Rows (the padded length is `count + (count & 1)`). */
  count = 0;

  /** `gathered`: how many statistics are copied in the node's order (boosting), 0 for a forest's. */
  constructor(n: number, private readonly gathered: number) {
    this.idx = new Int32Array(n + 1);
    this.vals = Array.from({ length: gathered }, () => new Float64Array(n + 1));
  }

  get byRow(): boolean {
    return this.gathered === 0;
  }

  /** Takes rows indices[start, end) with their statistics `stats[k][row]` (and classes `channel[row]`). */
  gather(indices: Int32Array, start: number, end: number, stats: Float64Array[], channel: Int32Array | null): void {
    const count = end - start;
    this.count = count;
    if (this.gathered === 0) {
      this.idx = indices;
      this.start = start;
      this.vals = stats;
      this.chan = channel;
      return;
    }
    const idx = this.idx;
    for (let q = 0; q < count; q++) idx[q] = indices[start + q]!;
    idx[count] = idx[0]!;
    for (let k = 0; k < stats.length; k++) gatherValues(stats[k]!, this.vals[k]!, idx, count);
  }
}

function gatherValues(from: Float64Array, to: Float64Array, idx: Int32Array, count: number): void {
  for (let q = 0; q < count; q++) to[q] = from[idx[q]!]!;
  to[count] = 0;
}

/**
 * Adds the node's rows of one feature (its bins `bins[col + row]`) into a histogram: rows
 * alternate between lane A (`a` at `oa`) and lane B (`b` at `ob`), two accumulators that halve the
 * dependency chains when consecutive rows hit one cell (binary features); pass one lane twice for
 * a single accumulator. The caller clears the cells and merges the lanes.
 */
export function accumulate(
  rows: NodeRows, bins: Uint8Array, col: number, width: number,
  a: Float64Array, oa: number, b: Float64Array, ob: number,
): void {
  const { idx, chan, vals, count, start } = rows;
  const end = count + (count & 1);
  const pairs = start + count - (count & 1);
  const v0 = vals[0]!;
  if (chan) {
    // Forest classification, by row; an odd last row goes to lane A.
    for (let q = start; q < pairs; q += 2) {
      const i = idx[q]!;
      const j = idx[q + 1]!;
      a[oa + bins[col + i]! * width + chan[i]!]! += v0[i]!;
      b[ob + bins[col + j]! * width + chan[j]!]! += v0[j]!;
    }
    if (count & 1) { const i = idx[pairs]!; a[oa + bins[col + i]! * width + chan[i]!]! += v0[i]!; }
  } else if (width === 2) {
    // Forest regression, by row.
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
  } else if (vals.length === 2) {
    // Boosting's (Σg, Σh, count), gathered: the count needs no statistic. The padding row adds a
    // count of 1 to its cell, taken off after the loop.
    const v1 = vals[1]!;
    for (let q = 0; q < end; q += 2) {
      const c0 = oa + bins[col + idx[q]!]! * 3;
      const c1 = ob + bins[col + idx[q + 1]!]! * 3;
      a[c0]! += v0[q]!; a[c0 + 1]! += v1[q]!; a[c0 + 2]! += 1;
      b[c1]! += v0[q + 1]!; b[c1 + 1]! += v1[q + 1]!; b[c1 + 2]! += 1;
    }
    if (end > count) b[ob + bins[col + idx[end - 1]!]! * 3 + 2]! -= 1;
  } else {
    // Squared error: the hessian is the count.
    for (let q = 0; q < end; q += 2) {
      const c0 = oa + bins[col + idx[q]!]! * 3;
      const c1 = ob + bins[col + idx[q + 1]!]! * 3;
      a[c0]! += v0[q]!; a[c0 + 1]! += 1; a[c0 + 2]! += 1;
      b[c1]! += v0[q + 1]!; b[c1 + 1]! += 1; b[c1 + 2]! += 1;
    }
    if (end > count) { const c = ob + bins[col + idx[end - 1]!]! * 3; b[c + 1]! -= 1; b[c + 2]! -= 1; }
  }
}

/**
 * `accumulate` for two features at once (boosting's gathered (Σg, Σh, count) cells): a row's
 * statistics are read once for both. Each feature has its lanes as in `accumulate`.
 */
function accumulatePair(
  rows: NodeRows, bins: Uint8Array, colA: number, colB: number,
  aA: Float64Array, oaA: number, bA: Float64Array, obA: number,
  aB: Float64Array, oaB: number, bB: Float64Array, obB: number,
): void {
  const { idx, vals, count } = rows;
  const end = count + (count & 1);
  const v0 = vals[0]!;
  const v1 = vals[1]!;
  for (let q = 0; q < end; q += 2) {
    const i0 = idx[q]!;
    const i1 = idx[q + 1]!;
    const g0 = v0[q]!;
    const h0 = v1[q]!;
    const g1 = v0[q + 1]!;
    const h1 = v1[q + 1]!;
    const a0 = oaA + bins[colA + i0]! * 3;
    const a1 = obA + bins[colA + i1]! * 3;
    const b0 = oaB + bins[colB + i0]! * 3;
    const b1 = obB + bins[colB + i1]! * 3;
    aA[a0]! += g0; aA[a0 + 1]! += h0; aA[a0 + 2]! += 1;
    bA[a1]! += g1; bA[a1 + 1]! += h1; bA[a1 + 2]! += 1;
    aB[b0]! += g0; aB[b0 + 1]! += h0; aB[b0 + 2]! += 1;
    bB[b1]! += g1; bB[b1 + 1]! += h1; bB[b1 + 2]! += 1;
  }
  if (end > count) {
    const i = idx[end - 1]!;
    bA[obA + bins[colA + i]! * 3 + 2]! -= 1;
    bB[obB + bins[colB + i]! * 3 + 2]! -= 1;
  }
}

/**
 * Scratch space for building one feature's histogram: the second lane, and the marks of the
 * sparse path (which clears and lists only the bins a small node touches).
 */
export class HistogramScratch {
  readonly lane: Float64Array;
  private readonly pairLane: Float64Array;
  private readonly mark = new Int32Array(256);
  private stamp = 0;

  constructor(readonly width: number) {
    this.lane = new Float64Array(256 * width);
    this.pairLane = new Float64Array(width === 3 ? 256 * 3 : 0);
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

  /**
   * Builds every cell of two features' histograms (boosting with gathered (g, h): the row
   * statistics are read once for both), each as `buildDense` does.
   */
  buildDensePair(rows: NodeRows, bins: Uint8Array, colA: number, nbA: number, oA: number, colB: number, nbB: number, oB: number, hist: Float64Array): void {
    const cellsA = (nbA + 1) * 3;
    const cellsB = (nbB + 1) * 3;
    zero(hist, oA, oA + cellsA);
    zero(hist, oB, oB + cellsB);
    const laneA = nbA * 4 <= rows.count;
    const laneB = nbB * 4 <= rows.count;
    const lane = this.lane;
    const other = this.pairLane;
    if (laneA) zero(lane, 0, cellsA);
    if (laneB) zero(other, 0, cellsB);
    accumulatePair(rows, bins, colA, colB, hist, oA, laneA ? lane : hist, laneA ? 0 : oA, hist, oB, laneB ? other : hist, laneB ? 0 : oB);
    if (laneA) for (let j = 0; j < cellsA; j++) hist[oA + j]! += lane[j]!;
    if (laneB) for (let j = 0; j < cellsB; j++) hist[oB + j]! += other[j]!;
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
    } else if (W === 2) {
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
    } else {
      for (let q = 0; q < rows.count; q++) { // boosting's rows are gathered: start 0
        const bin = bins[col + idx[q]!]!;
        if (mark[bin] === stamp) continue;
        mark[bin] = stamp;
        if (bin === nb) continue;
        touched[m++] = bin;
        for (let k = o + bin * W, stop = k + W; k < stop; k++) hist[k] = 0;
      }
      accumulate(rows, bins, col, W, hist, o, hist, o);
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
   * Builds the histograms of the gathered rows (statistics g, and h unless it is the count) into
   * `hist` ((g, h, c) = the node's totals); only the `active` features' cells are valid.
   */
  build(rows: NodeRows, hist: Float64Array, g: number, h: number, c: number, active: Int32Array): void {
    const { rowStart, cells, offset } = this;
    const { idx, vals } = rows;
    const gs = vals[0]!;
    const hs = vals.length > 1 ? vals[1]! : null;
    // Only the active features' blocks are cleared (and read afterwards): rows also add to the
    // others', which nobody reads — a wide image's constant pixels cost nothing per node.
    for (const f of active) zero(hist, offset[f]! * 3, offset[f + 1]! * 3);
    for (let q = 0; q < rows.count; q++) {
      const i = idx[q]!;
      const gi = gs[q]!;
      const hi = hs ? hs[q]! : 1;
      for (let e = rowStart[i]!, stop = rowStart[i + 1]!; e < stop; e++) {
        const o = cells[e]! * 3;
        hist[o]! += gi;
        hist[o + 1]! += hi;
        hist[o + 2]! += 1;
      }
    }
    // Each feature's default cell holds what its other cells do not.
    for (const f of active) {
      let sg = 0;
      let sh = 0;
      let sc = 0;
      for (let o = offset[f]! * 3, stop = offset[f + 1]! * 3; o < stop; o += 3) { sg += hist[o]!; sh += hist[o + 1]!; sc += hist[o + 2]!; }
      const d = this.defaultCell[f]! * 3;
      hist[d] = g - sg;
      hist[d + 1] = h - sh;
      hist[d + 2] = c - sc;
    }
  }
}
