/**
 * The gradient-boosting tree grower: leaf-wise (best gain first), on row-major binned features,
 * all features' gradient/hessian histograms at once with the sibling-subtraction trick and a CSR
 * mode for sparse data; gradient gain criterion (trees/criteria.ts). Binning, the split threshold
 * rule and partitioning are the ones the forest grower uses (trees/binning.ts, trees/partition.ts).
 */
import { gradientTerm } from './criteria.js';
import { partition, splitThreshold } from './partition.js';
import type { BinnedLayout } from './partition.js';
import { TreeBuilder } from './tree.js';

const MIN_HESSIAN_TO_SPLIT = 1e-3;

/** What gradient-boosting.ts's parameters tell the grower (maxLeafNodes/maxDepth: MAX_SAFE_INTEGER for no limit). */
export interface BoostingGrowOptions {
  maxLeafNodes: number;
  maxDepth: number;
  minSamplesLeaf: number;
  learningRate: number;
  l2: number;
}

interface SplitInfo {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  gl: number;
  hl: number;
  cl: number;
}

interface GrowNode {
  id: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  hist: Float64Array | null;
  split: SplitInfo | null;
}

export interface GrownLeaf {
  node: number;
  start: number;
  end: number;
}


export class BoostingGrower {
  /** Sample indices; after `grow`, each leaf's samples are a contiguous range. */
  readonly indices: Int32Array;
  private pool: Float64Array[] = [];
  private readonly nBins: Int32Array;
  private g!: Float64Array;
  private h: Float64Array | null = null;

  constructor(
    private readonly bins: Uint8Array,
    private readonly n: number,
    private readonly F: number,
    private readonly thresholds: Float64Array[],
    private readonly P: BoostingGrowOptions,
  ) {
    this.indices = new Int32Array(n);
    this.nBins = Int32Array.from(thresholds, (t) => t.length + 1);
    this.layout = { bins, rowStride: F, featureStride: 1, nBins: this.nBins };
    this.partScratch = new Int32Array(n);
    // Compact histograms: feature f owns cells offset[f] … offset[f] + nBins[f], the last one for
    // missing values (binning.ts), so that clearing, subtracting and scanning skip the unused bins.
    this.offset = new Int32Array(F + 1);
    for (let f = 0; f < F; f++) this.offset[f + 1] = this.offset[f]! + this.nBins[f]! + 1;
    this.histSize = this.offset[F]! * 3;
    // Sparse data (one-hot blocks, image backgrounds): when most cells hold their feature's most
    // frequent bin, rows keep only their other cells (CSR) and each node's most-frequent-bin
    // cells are filled in from the node totals, as LightGBM does.
    const counts = new Int32Array(this.offset[F]!);
    for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) counts[this.offset[f]! + bins[i * F + f]!]!++;
    this.defaultCell = new Int32Array(F);
    let nonDefault = 0;
    for (let f = 0; f < F; f++) {
      let best = this.offset[f]!;
      for (let c = this.offset[f]! + 1; c < this.offset[f + 1]!; c++) if (counts[c]! > counts[best]!) best = c;
      this.defaultCell[f] = best;
      nonDefault += n - counts[best]!;
    }
    if (nonDefault < 0.4 * n * F) {
      this.rowStart = new Int32Array(n + 1);
      this.cells = new Int32Array(nonDefault);
      let e = 0;
      for (let i = 0; i < n; i++) {
        for (let f = 0; f < F; f++) {
          const c = this.offset[f]! + bins[i * F + f]!;
          if (c !== this.defaultCell[f]) this.cells[e++] = c;
        }
        this.rowStart[i + 1] = e;
      }
    }
  }

  private readonly offset: Int32Array;
  private readonly histSize: number;
  private readonly layout: BinnedLayout;
  private readonly partScratch: Int32Array;
  private pairScratch: Float64Array | null = null;
  /** Per feature, the histogram cell of its most frequent bin. */
  private readonly defaultCell: Int32Array;
  /** CSR rows of non-default cells (sparse mode only). */
  private rowStart: Int32Array | null = null;
  private cells: Int32Array | null = null;

  get sparse(): boolean {
    return this.cells !== null;
  }

  grow(g: Float64Array, h: Float64Array | null): { tree: TreeBuilder; leaves: GrownLeaf[] } {
    this.g = g;
    this.h = h;
    const { n, P } = this;
    const idx = this.indices;
    for (let i = 0; i < n; i++) idx[i] = i;
    const tree = new TreeBuilder(1);
    let G = 0;
    let H = 0;
    for (let i = 0; i < n; i++) { G += g[i]!; H += h ? h[i]! : 1; }
    const root: GrowNode = { id: tree.add(), start: 0, end: n, depth: 0, g: G, h: H, hist: null, split: null };
    const frontier: GrowNode[] = [root];
    const leaves: GrownLeaf[] = [];
    if (this.canSplit(root)) {
      root.hist = this.take();
      this.buildHist(root.hist, 0, n, G, H);
      root.split = this.findSplit(root);
    }
    let nLeaves = 1;
    while (nLeaves < P.maxLeafNodes) {
      let best = -1;
      for (let j = 0; j < frontier.length; j++) {
        const s = frontier[j]!.split;
        if (s && (best < 0 || s.gain > frontier[best]!.split!.gain)) best = j;
      }
      if (best < 0) break;
      const node = frontier[best]!;
      frontier.splice(best, 1);
      const s = node.split!;
      const thr = splitThreshold(this.thresholds, this.nBins, s.feature, s.bin);
      const ids = tree.split(node.id, s.feature, thr, s.missingLeft);
      const mid = partition(this.indices, this.partScratch, node.start, node.end, this.layout, s.feature, s.bin, s.missingLeft);
      nLeaves++;
      const left: GrowNode = { id: ids.left, start: node.start, end: mid, depth: node.depth + 1, g: s.gl, h: s.hl, hist: null, split: null };
      const right: GrowNode = { id: ids.right, start: mid, end: node.end, depth: node.depth + 1, g: node.g - s.gl, h: node.h - s.hl, hist: null, split: null };
      const more = nLeaves < P.maxLeafNodes;
      const splitL = more && this.canSplit(left);
      const splitR = more && this.canSplit(right);
      if (splitL || splitR) {
        // Build the smaller child's histogram; the larger one is parent − smaller (in place).
        const [small, large] = left.end - left.start <= right.end - right.start ? [left, right] : [right, left];
        small.hist = this.take();
        this.buildHist(small.hist, small.start, small.end, small.g, small.h);
        const ph = node.hist!;
        const sh = small.hist;
        for (let j = 0; j < ph.length; j++) ph[j]! -= sh[j]!;
        large.hist = ph;
        node.hist = null;
        for (const c of [left, right]) {
          if (c === left ? splitL : splitR) c.split = this.findSplit(c);
          if (!c.split) this.release(c);
        }
      } else if (node.hist) {
        this.release(node);
      }
      frontier.push(left, right);
    }
    for (const node of frontier) {
      this.release(node);
      tree.setValue(node.id, 0, (-P.learningRate * node.g) / (node.h + P.l2 + 1e-15));
      leaves.push({ node: node.id, start: node.start, end: node.end });
    }
    return { tree, leaves };
  }

  private canSplit(node: GrowNode): boolean {
    return node.end - node.start >= 2 * this.P.minSamplesLeaf && node.depth < this.P.maxDepth && node.h >= 2 * MIN_HESSIAN_TO_SPLIT;
  }

  private take(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.histSize);
  }

  private release(node: GrowNode): void {
    if (node.hist) { this.pool.push(node.hist); node.hist = null; }
  }

  /** hist[(f·256 + bin)·3 + {0: Σg, 1: Σh, 2: count}] over samples indices[start..end). */
  private buildHist(hist: Float64Array, start: number, end: number, G: number, H: number): void {
    hist.fill(0);
    if (this.cells) return this.buildSparseHist(hist, start, end, G, H);
    const { bins, F, g, h } = this;
    const off = this.offset;
    const idx = this.indices;
    // Large nodes alternate rows between two histograms: consecutive rows often hit the same
    // cell (binary features), and two accumulators halve those dependency chains.
    const paired = (end - start) * F >= 2 * this.histSize;
    let h2: Float64Array = hist;
    if (paired) {
      h2 = this.pairScratch ??= new Float64Array(this.histSize);
      h2.fill(0);
    }
    let p = start;
    if (paired) {
      for (; p + 1 < end; p += 2) {
        const i0 = idx[p]!;
        const i1 = idx[p + 1]!;
        const g0 = g[i0]!;
        const g1 = g[i1]!;
        const h0 = h ? h[i0]! : 1;
        const h1 = h ? h[i1]! : 1;
        const b0 = i0 * F;
        const b1 = i1 * F;
        for (let f = 0; f < F; f++) {
          const o0 = (off[f]! + bins[b0 + f]!) * 3;
          const o1 = (off[f]! + bins[b1 + f]!) * 3;
          hist[o0]! += g0;
          hist[o0 + 1]! += h0;
          hist[o0 + 2]! += 1;
          h2[o1]! += g1;
          h2[o1 + 1]! += h1;
          h2[o1 + 2]! += 1;
        }
      }
    }
    for (; p < end; p++) {
      const i = idx[p]!;
      const gi = g[i]!;
      const hi = h ? h[i]! : 1;
      const base = i * F;
      for (let f = 0; f < F; f++) {
        const o = (off[f]! + bins[base + f]!) * 3;
        hist[o]! += gi;
        hist[o + 1]! += hi;
        hist[o + 2]! += 1;
      }
    }
    if (paired) for (let j = 0; j < hist.length; j++) hist[j]! += h2[j]!;
  }

  private buildSparseHist(hist: Float64Array, start: number, end: number, G: number, H: number): void {
    const { g, h, F } = this;
    const rowStart = this.rowStart!;
    const cells = this.cells!;
    const idx = this.indices;
    for (let p = start; p < end; p++) {
      const i = idx[p]!;
      const gi = g[i]!;
      const hi = h ? h[i]! : 1;
      for (let e = rowStart[i]!, stop = rowStart[i + 1]!; e < stop; e++) {
        const o = cells[e]! * 3;
        hist[o]! += gi;
        hist[o + 1]! += hi;
        hist[o + 2]! += 1;
      }
    }
    // Each feature's default cell holds what its other cells do not.
    const C = end - start;
    const off = this.offset;
    for (let f = 0; f < F; f++) {
      let sg = 0;
      let sh = 0;
      let sc = 0;
      for (let c = off[f]! * 3, stop = off[f + 1]! * 3; c < stop; c += 3) { sg += hist[c]!; sh += hist[c + 1]!; sc += hist[c + 2]!; }
      const d = this.defaultCell[f]! * 3;
      hist[d] = G - sg;
      hist[d + 1] = H - sh;
      hist[d + 2] = C - sc;
    }
  }

  private findSplit(node: GrowNode): SplitInfo | null {
    const hist = node.hist!;
    const { l2, minSamplesLeaf } = this.P;
    const G = node.g;
    const H = node.h;
    const C = node.end - node.start;
    const parent = gradientTerm(G, H, l2);
    let best: SplitInfo | null = null;
    let bestGain = 0; // scikit-learn's min_gain_to_split: a split must strictly reduce the loss
    for (let f = 0; f < this.F; f++) {
      const off = this.offset[f]! * 3;
      const nb = this.nBins[f]!;
      const mo = off + nb * 3;
      const gm = hist[mo]!;
      const hm = hist[mo + 1]!;
      const cm = hist[mo + 2]!;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb; b++) {
        const o = off + b * 3;
        gl += hist[o]!;
        hl += hist[o + 1]!;
        cl += hist[o + 2]!;
        // Missing values right (always tried; with no missing values the side is chosen below).
        const cr = C - cl;
        if (cl >= minSamplesLeaf && cr >= minSamplesLeaf) {
          const hr = H - hl;
          if (hl >= MIN_HESSIAN_TO_SPLIT && hr >= MIN_HESSIAN_TO_SPLIT) {
            const gr = G - gl;
            const gain = gradientTerm(gl, hl, l2) + gradientTerm(gr, hr, l2) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, missingLeft: cm > 0 ? false : cl >= cr, gl, hl, cl };
            }
          }
        }
        if (cm > 0 && b < nb - 1) {
          const gL = gl + gm;
          const hL = hl + hm;
          const cL = cl + cm;
          const cR = C - cL;
          const hR = H - hL;
          if (cL >= minSamplesLeaf && cR >= minSamplesLeaf && hL >= MIN_HESSIAN_TO_SPLIT && hR >= MIN_HESSIAN_TO_SPLIT) {
            const gR = G - gL;
            const gain = gradientTerm(gL, hL, l2) + gradientTerm(gR, hR, l2) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, missingLeft: true, gl: gL, hl: hL, cl: cL };
            }
          }
        }
        if (cl >= C - cm) break; // every non-missing sample is already left
      }
    }
    return best;
  }

}
