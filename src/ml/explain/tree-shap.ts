/**
 * Exact interventional TreeSHAP on a background sample, with features grouped into players (the
 * preprocessed columns of one raw column — its one-hot or tf-idf columns — are one player).
 *
 * For a row x and a background row b, the game is v(S) = f(z) with z taking the players in S
 * from x and the others from b; the explanation averages its Shapley values over the background.
 * A tree is a sum of leaf indicators, and a leaf is reached by z exactly when every player on its
 * path that x fails is taken from b (set B) and every player that b fails is taken from x (set A)
 * (a player both fail makes the leaf unreachable). The Shapley values of v·[A ⊆ S, S ∩ B = ∅] are
 * known in closed form: v·|A|−1)!|B|!/(|A|+|B|)! for each player of A and −v·|A|!(|B|−1)!/(|A|+|B|)!
 * for each of B — so one walk of the paths where x and b part, per (x, b, tree), is exact.
 */
import type { TreeEnsembleState, TreeState } from '../estimators/types.js';

export interface TreeShapResult {
  /** rows × players × outputs, in the ensemble's raw-score space. */
  values: Float64Array;
  /** Per output: the mean raw score over the background (the values sum to score(x) − base). */
  base: Float64Array;
  players: number;
  outputs: number;
}

/**
 * `x` (rows × nFeatures) and `background` (backgroundRows × nFeatures) are preprocessed float32
 * matrices; `playerOf[j]` is the player (raw column) of preprocessed feature j.
 */
export function interventionalTreeShap(state: TreeEnsembleState, x: Float32Array, rows: number, background: Float32Array,
  backgroundRows: number, playerOf: ArrayLike<number>, players: number): TreeShapResult {
  const steps = treeShapSteps(state, x, rows, background, backgroundRows, playerOf, players);
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
  }
}

/**
 * The same, one background row per step: a caller on a shared thread (the HTTP server's) yields
 * to other work between steps, so a large ensemble never holds the thread for the whole answer.
 */
export function* treeShapSteps(state: TreeEnsembleState, x: Float32Array, rows: number, background: Float32Array,
  backgroundRows: number, playerOf: ArrayLike<number>, players: number): Generator<void, TreeShapResult> {
  const F = state.nFeatures;
  const O = state.outputs;
  const scale = state.aggregate === 'average' ? 1 / Math.max(1, state.trees.length) : 1;
  const values = new Float64Array(rows * players * O);
  const base = new Float64Array(O);
  const weights = shapleyWeights(maxDepth(state.trees) + 1);
  const walk = new PathWalk(players, weights);
  for (let bi = 0; bi < backgroundRows; bi++) {
    const b = background.subarray(bi * F, (bi + 1) * F);
    for (const t of state.trees) addLeafValue(t, b, O, base, scale / backgroundRows);
    for (let r = 0; r < rows; r++) {
      const xr = x.subarray(r * F, (r + 1) * F);
      const out = values.subarray(r * players * O, (r + 1) * players * O);
      for (const t of state.trees) walk.run(t, xr, b, playerOf, O, out, scale / backgroundRows);
    }
    yield;
  }
  for (let k = 0; k < O; k++) base[k]! += state.baseScore[k]!;
  return { values, base, players, outputs: O };
}

/** w[a][b] = a!·b!/(a+b+1)!: the weight of one player joining `a` required and avoiding `b` forbidden. */
function shapleyWeights(n: number): Float64Array[] {
  const fact = [1];
  for (let i = 1; i <= 2 * n + 1; i++) fact.push(fact[i - 1]! * i);
  return Array.from({ length: n + 1 }, (_, a) => Float64Array.from({ length: n + 1 }, (_, b) => (fact[a]! * fact[b]!) / fact[a + b + 1]!));
}

function maxDepth(trees: TreeState[]): number {
  let best = 0;
  for (const t of trees) {
    const depth = new Int32Array(t.feature.length);
    for (let n = 0; n < t.feature.length; n++) {
      if (t.feature[n]! < 0) continue;
      depth[t.left[n]!] = depth[n]! + 1;
      depth[t.right[n]!] = depth[n]! + 1;
      best = Math.max(best, depth[n]! + 1);
    }
  }
  return best;
}

const goesLeft = (t: TreeState, node: number, v: number): boolean =>
  Number.isNaN(v) ? t.missingLeft[node] === 1 : Math.fround(v) <= t.threshold[node]!;

function addLeafValue(t: TreeState, row: Float32Array, O: number, out: Float64Array, scale: number): void {
  let n = 0;
  while (t.feature[n]! >= 0) n = goesLeft(t, n, row[t.feature[n]!]!) ? t.left[n]! : t.right[n]!;
  addValue(t, n, O, out, 0, scale);
}

function addValue(t: TreeState, leaf: number, O: number, out: Float64Array, at: number, w: number): void {
  if (t.target >= 0) out[at + t.target]! += w * t.value[leaf]!;
  else for (let k = 0; k < O; k++) out[at + k]! += w * t.value[leaf * O + k]!;
}

/** The depth-first walk of one tree for one (x, b) pair; its scratch state is reused across walks. */
class PathWalk {
  /** Per player: 1 when x failed a split of it on the path, 2 when b did (3: both, unreachable). */
  private readonly failed: Uint8Array;
  /** The players currently in A (b failed) and in B (x failed). */
  private readonly inA: number[] = [];
  private readonly inB: number[] = [];

  constructor(players: number, private readonly weights: Float64Array[]) {
    this.failed = new Uint8Array(players);
  }

  private t!: TreeState;
  private x!: Float32Array;
  private b!: Float32Array;
  private playerOf!: ArrayLike<number>;
  private O = 1;
  private out!: Float64Array;
  private scale = 1;

  run(t: TreeState, x: Float32Array, b: Float32Array, playerOf: ArrayLike<number>, O: number, out: Float64Array, scale: number): void {
    this.t = t; this.x = x; this.b = b; this.playerOf = playerOf; this.O = O; this.out = out; this.scale = scale;
    this.visit(0);
  }

  private visit(n: number): void {
    const t = this.t;
    const f = t.feature[n]!;
    if (f < 0) return this.leaf(n);
    const xLeft = goesLeft(t, n, this.x[f]!);
    const bLeft = goesLeft(t, n, this.b[f]!);
    if (xLeft === bLeft) return this.visit(xLeft ? t.left[n]! : t.right[n]!);
    const p = this.playerOf[f]!;
    // The child x takes needs p from x (b fails there); the other needs p from b.
    this.require(p, 2, xLeft ? t.left[n]! : t.right[n]!);
    this.require(p, 1, xLeft ? t.right[n]! : t.left[n]!);
  }

  private require(p: number, failure: 1 | 2, child: number): void {
    const before = this.failed[p]!;
    if (before & failure) return this.visit(child);
    if (before !== 0) return; // both x and b fail p on this path: no hybrid reaches the leaf
    this.failed[p] = failure;
    const set = failure === 2 ? this.inA : this.inB;
    set.push(p);
    this.visit(child);
    set.pop();
    this.failed[p] = 0;
  }

  private leaf(n: number): void {
    const a = this.inA.length;
    const b = this.inB.length;
    if (a === 0 && b === 0) return; // x and b reach the same leaf: no player changes anything
    const O = this.O;
    const gain = a > 0 ? this.scale * this.weights[a - 1]![b]! : 0;
    const loss = b > 0 ? -this.scale * this.weights[a]![b - 1]! : 0;
    for (const p of this.inA) addValue(this.t, n, O, this.out, p * O, gain);
    for (const p of this.inB) addValue(this.t, n, O, this.out, p * O, loss);
  }
}
