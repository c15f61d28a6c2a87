/**
 * The gradient-boosting tree grower: leaf-wise (best gain first), every feature's gradient/hessian
 * histogram per node with the sibling-subtraction trick (the larger child's histograms are the
 * parent's minus the smaller child's), gradient gain criterion (trees/criteria.ts). Binning,
 * histograms (trees/histogram.ts), the split scan (trees/split-scan.ts) and partitioning are the
 * ones the forest grower uses.
 */
import { canSplitHessian } from './criteria.js';
import { RowHistograms, SparseRows, rowMajorBins } from './histogram.js';
import { HistogramTeam } from './histogram-team.js';
import { partition, splitThreshold } from './partition.js';
import { BestSplit, GradientScan } from './split-scan.js';
import { TreeBuilder } from './tree.js';
import type { TreeState } from '../types.js';

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
  /** The left child's Σg, Σh and row count. */
  g: number;
  h: number;
  c: number;
}

interface GrowNode {
  id: number;
  start: number;
  end: number;
  depth: number;
  /** Σg and Σh of the node's rows. */
  g: number;
  h: number;
  /** The features that may split it, `grower.active[activeAt, activeAt + nActive)`: a feature constant in a node is constant below it. */
  activeAt: number;
  nActive: number;
  hist: Float64Array | null;
  split: SplitInfo | null;
}

/** Helper threads that build a tree's dense histograms with the caller, and the per-fit gradients they read. */
export interface HistogramHelpers {
  helpers: number;
  /** The arrays every `grow` is given (shared memory). */
  grad: Float64Array;
  hess: Float64Array | null;
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
  /** Feature f's histogram block starts at cell offset[f] (nBins[f] + 1 cells, the last for missing values). */
  private readonly offset: Int32Array;
  private readonly histSize: number;
  private readonly partScratch: Int32Array;
  private readonly scanner: GradientScan;
  private readonly best = new BestSplit(3, 0);
  /** The current tree's gradients and hessians (null: all 1, the squared error). */
  private g: Float64Array = new Float64Array(0);
  private h: Float64Array | null = null;
  /** The nodes' active feature lists, one tree's (the root's are 0 … F − 1 at 0), and its used length. */
  private active: Int32Array;
  private activeTop = 0;
  private readonly F: number;
  /** CSR rows of the non-default cells when the data is sparse, else the dense builder (row-major bins). */
  private readonly sparseRows: SparseRows | null;
  private readonly dense: RowHistograms | null;
  /** With helper threads (dense data only), the team that builds the histograms. */
  private readonly team: HistogramTeam | null;

  constructor(
    private readonly bins: Uint8Array,
    private readonly n: number,
    F: number,
    private readonly thresholds: Float64Array[],
    private readonly P: BoostingGrowOptions,
    threads: HistogramHelpers | null = null,
  ) {
    this.nBins = Int32Array.from(thresholds, (t) => t.length + 1);
    this.partScratch = new Int32Array(n);
    this.offset = new Int32Array(F + 1);
    for (let f = 0; f < F; f++) this.offset[f + 1] = this.offset[f]! + this.nBins[f]! + 1;
    this.histSize = this.offset[F]! * 3;
    this.scanner = new GradientScan(P.minSamplesLeaf, P.l2);
    this.sparseRows = SparseRows.of(bins, n, this.offset);
    const onTeam = threads !== null && threads.helpers > 0 && this.sparseRows === null;
    this.indices = onTeam ? new Int32Array(new SharedArrayBuffer(4 * n)) : new Int32Array(n);
    const rowBins = this.sparseRows ? null : rowMajorBins(bins, n, F, onTeam);
    this.dense = rowBins ? new RowHistograms(rowBins, F, this.offset, this.nBins) : null;
    this.team = onTeam
      ? new HistogramTeam(threads.helpers, { rowBins: rowBins!, n, F, offset: this.offset, nBins: this.nBins, indices: this.indices, grad: threads.grad, hess: threads.hess })
      : null;
    this.F = F;
    this.active = new Int32Array(8 * F);
  }

  get sparse(): boolean {
    return this.sparseRows !== null;
  }

  /** Whether helper threads build the histograms. */
  get threaded(): boolean {
    return this.team !== null;
  }

  /** Stops the helper threads, if any. */
  close(): void {
    this.team?.close();
  }

  /** Grows a tree on gradients g and hessians h (null: all 1, the squared error). */
  grow(g: Float64Array, h: Float64Array | null): { tree: TreeBuilder; leaves: GrownLeaf[] } {
    // The team's helpers read the gradients they were set up with: a tree on others would mix the two.
    if (this.team && !this.team.reads(g, h)) throw new Error('BoostingGrower: a threaded grower grows on the gradients it was set up with');
    this.g = g;
    this.h = h;
    const { n, P } = this;
    const idx = this.indices;
    for (let i = 0; i < n; i++) idx[i] = i;
    const tree = new TreeBuilder(1);
    let G = 0;
    let H = 0;
    for (let i = 0; i < n; i++) { G += g[i]!; H += h ? h[i]! : 1; }
    for (let f = 0; f < this.F; f++) this.active[f] = f;
    this.activeTop = this.F;
    const root: GrowNode = { id: tree.add(), start: 0, end: n, depth: 0, g: G, h: H, activeAt: 0, nActive: this.F, hist: null, split: null };
    const frontier: GrowNode[] = [root];
    const leaves: GrownLeaf[] = [];
    if (this.canSplit(root)) {
      root.hist = this.take();
      this.buildHist(root);
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
      const ids = tree.split(node.id, s.feature, splitThreshold(this.thresholds, this.nBins, s.feature, s.bin), s.missingLeft);
      const mid = partition(this.indices, this.partScratch, node.start, node.end, this.bins, s.feature * this.n, s.bin, this.nBins[s.feature]!, s.missingLeft);
      const left = this.child(ids.left, node, node.start, mid, s.g, s.h);
      const right = this.child(ids.right, node, mid, node.end, node.g - s.g, node.h - s.h);
      nLeaves++;
      const more = nLeaves < P.maxLeafNodes;
      const splitL = more && this.canSplit(left);
      const splitR = more && this.canSplit(right);
      if (splitL || splitR) {
        // Build the smaller child's histogram; the larger one is parent − smaller (in place).
        const leftSmaller = left.end - left.start <= right.end - right.start;
        const small = leftSmaller ? left : right;
        const large = leftSmaller ? right : left;
        small.hist = this.take();
        this.buildHist(small);
        large.hist = this.subtract(node.hist!, small.hist, node.activeAt, node.nActive);
        node.hist = null;
        if (splitL) left.split = this.findSplit(left);
        if (!left.split) this.release(left);
        if (splitR) right.split = this.findSplit(right);
        if (!right.split) this.release(right);
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

  private child(id: number, parent: GrowNode, start: number, end: number, g: number, h: number): GrowNode {
    return { id, start, end, depth: parent.depth + 1, g, h, activeAt: parent.activeAt, nActive: parent.nActive, hist: null, split: null };
  }

  private canSplit(node: GrowNode): boolean {
    return node.end - node.start >= 2 * this.P.minSamplesLeaf && node.depth < this.P.maxDepth && canSplitHessian(node.h);
  }

  /** parent − small, in place in the parent's histograms, over the features still active. */
  private subtract(parent: Float64Array, small: Float64Array, at: number, nActive: number): Float64Array {
    const { offset: off, active } = this;
    if (nActive === this.F) {
      // Every feature: one loop over the whole array.
      GradientScan.exactSubtract(parent, small, 0, parent.length);
      return parent;
    }
    for (let a = at; a < at + nActive; a++) {
      const f = active[a]!;
      GradientScan.exactSubtract(parent, small, off[f]! * 3, off[f + 1]! * 3);
    }
    return parent;
  }

  private take(): Float64Array {
    return this.pool.pop() ?? (this.team ? this.team.allocate(this.histSize) : new Float64Array(this.histSize));
  }

  private release(node: GrowNode): void {
    if (node.hist) { this.pool.push(node.hist); node.hist = null; }
  }

  /** Every active feature's histogram of the node's rows. */
  private buildHist(node: GrowNode): void {
    const { g, h } = this;
    if (this.sparseRows) this.sparseRows.build(this.indices, node.start, node.end, g, h, node.hist!, node.g, node.h, node.end - node.start, this.active, node.activeAt, node.nActive);
    else if (this.team) this.team.build(node.hist!, node.start, node.end, this.active, node.activeAt, node.nActive);
    else this.dense!.build(node.hist!, this.indices, node.start, node.end, g, h, this.active, node.activeAt, node.nActive, 2 * node.nActive >= this.F);
  }

  private findSplit(node: GrowNode): SplitInfo | null {
    const { best } = this;
    const top = this.activeTop;
    if (top + node.nActive > this.active.length) {
      const grown = new Int32Array(2 * (top + node.nActive));
      grown.set(this.active);
      this.active = grown;
    }
    const kept = this.scanner.scan(node.hist!, this.offset, this.nBins, this.active, node.activeAt, node.nActive, top, node.g, node.h, node.end - node.start, best);
    if (kept < node.nActive) { node.activeAt = top; node.nActive = kept; this.activeTop = top + kept; }
    if (!best.found) return null;
    const l = best.left;
    return { gain: best.score, feature: best.feature, bin: best.bin, missingLeft: best.missingLeft, g: l[0]!, h: l[1]!, c: l[2]! };
  }
}

/**
 * Grows class k's tree of one boosting iteration (of `outputs` trees) from its gradient slices
 * `grad/hess[k·n …]` and writes each row's leaf value to `delta[k·n + row]`, the update of its raw
 * score: the trees of one iteration do not depend on each other, so any thread may grow any.
 */
export function growBoostingTree(grower: BoostingGrower, k: number, outputs: number, grad: Float64Array, hess: Float64Array | null, delta: Float64Array): TreeState {
  const n = grower.indices.length;
  const g = grad.subarray(k * n, (k + 1) * n);
  const h = hess ? hess.subarray(k * n, (k + 1) * n) : null;
  const { tree, leaves } = grower.grow(g, h);
  const state = tree.finish(outputs > 1 ? k : 0);
  const idx = grower.indices;
  for (const leaf of leaves) {
    const v = state.value[leaf.node]!;
    for (let p = leaf.start; p < leaf.end; p++) delta[k * n + idx[p]!] = v;
  }
  return state;
}
