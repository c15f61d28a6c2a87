/**
 * KernelSHAP (Lundberg & Lee, 2017) for any model: Shapley values of a coalition game as the
 * weighted least-squares fit of v(S) − v(∅) by Σ_{i∈S} φ_i under the efficiency constraint
 * Σ φ_i = v(all) − v(∅), which is eliminated (φ of the last player) so the fit is unconstrained.
 * When every coalition fits in the sample budget they are all used with the Shapley kernel's
 * weights and the answer is the exact Shapley values; otherwise coalitions are drawn (seeded) by
 * size from the kernel's distribution, each with its complement, and the answer is an estimate
 * that still sums exactly to v(all) − v(∅).
 */
import { Rng } from '../core/random.js';
import { choleskySolve } from '../estimators/linear.js';

export interface KernelShapGame {
  players: number;
  outputs: number;
  /** v(S) for `count` coalitions, `masks` holding `players` bytes (1 = from the row) per coalition: count × outputs. */
  value(masks: Uint8Array, count: number): Promise<Float64Array>;
}

export interface KernelShapResult {
  /** players × outputs. */
  values: Float64Array;
  /** v(∅) per output. */
  base: Float64Array;
  /** Whether every coalition was evaluated (the values are then the exact Shapley values). */
  exact: boolean;
  /** Coalitions evaluated besides ∅ and the full one. */
  samples: number;
}

export async function kernelShap(game: KernelShapGame, samples: number, seed: number): Promise<KernelShapResult> {
  const M = game.players;
  const O = game.outputs;
  const ends = new Uint8Array(2 * M).fill(1, M);
  const v0v1 = await game.value(ends, 2);
  const base = v0v1.slice(0, O);
  const delta = Float64Array.from({ length: O }, (_, k) => v0v1[O + k]! - base[k]!);
  const values = new Float64Array(M * O);
  if (M === 1) return { values: delta, base, exact: true, samples: 0 };
  const exact = M < 31 && 2 ** M - 2 <= samples;
  const { masks, weights } = exact ? allCoalitions(M) : sampledCoalitions(M, samples, new Rng(seed));
  const count = weights.length;
  const v = await game.value(masks, count);
  // Design column i < M−1: z_i − z_{M−1}; target: v(S) − v(∅) − z_{M−1}·Δ.
  const P = M - 1;
  const A = new Float64Array(P * P);
  const rhs = Array.from({ length: O }, () => new Float64Array(P));
  const d = new Float64Array(P);
  for (let s = 0; s < count; s++) {
    const z = masks.subarray(s * M, (s + 1) * M);
    const w = weights[s]!;
    for (let i = 0; i < P; i++) d[i] = z[i]! - z[P]!;
    for (let i = 0; i < P; i++) {
      if (d[i] === 0) continue;
      for (let j = 0; j < P; j++) A[i * P + j]! += w * d[i]! * d[j]!;
      for (let k = 0; k < O; k++) rhs[k]![i]! += w * d[i]! * (v[s * O + k]! - base[k]! - z[P]! * delta[k]!);
    }
  }
  // A tiny ridge keeps a draw that misses a player from being singular; it does not move an exact fit.
  let trace = 0;
  for (let i = 0; i < P; i++) trace += A[i * P + i]!;
  for (let k = 0; k < O; k++) {
    const Ak = Float64Array.from(A);
    for (let i = 0; i < P; i++) Ak[i * P + i]! += 1e-12 * trace;
    const phi = choleskySolve(Ak, rhs[k]!, P);
    let sum = 0;
    for (let i = 0; i < P; i++) {
      values[i * O + k] = phi[i]!;
      sum += phi[i]!;
    }
    values[P * O + k] = delta[k]! - sum;
  }
  return { values, base, exact, samples: count };
}

/** Every coalition but ∅ and the full one, weighted by the Shapley kernel (M−1)/(C(M,s)·s·(M−s)). */
function allCoalitions(M: number): { masks: Uint8Array; weights: Float64Array } {
  const count = 2 ** M - 2;
  const masks = new Uint8Array(count * M);
  const weights = new Float64Array(count);
  for (let S = 1; S <= count; S++) {
    let size = 0;
    for (let i = 0; i < M; i++) if ((S >> i) & 1) { masks[(S - 1) * M + i] = 1; size++; }
    weights[S - 1] = (M - 1) / (binomial(M, size) * size * (M - size));
  }
  return { masks, weights };
}

/** Coalitions drawn by size ∝ (M−1)/(s(M−s)), uniformly within a size, each followed by its complement; equal weights. */
function sampledCoalitions(M: number, samples: number, rng: Rng): { masks: Uint8Array; weights: Float64Array } {
  const pairs = Math.max(1, Math.floor(samples / 2));
  const sizeWeight = Array.from({ length: M - 1 }, (_, i) => 1 / ((i + 1) * (M - i - 1)));
  const total = sizeWeight.reduce((a, b) => a + b, 0);
  const masks = new Uint8Array(2 * pairs * M);
  const order = Int32Array.from({ length: M }, (_, i) => i);
  for (let p = 0; p < pairs; p++) {
    let u = rng.float() * total;
    let size = 1;
    while (size < M - 1 && u >= sizeWeight[size - 1]!) u -= sizeWeight[size++ - 1]!;
    rng.shuffle(order);
    const a = masks.subarray(2 * p * M, (2 * p + 1) * M);
    const b = masks.subarray((2 * p + 1) * M, (2 * p + 2) * M);
    b.fill(1);
    for (let i = 0; i < size; i++) { a[order[i]!] = 1; b[order[i]!] = 0; }
  }
  return { masks, weights: new Float64Array(2 * pairs).fill(1) };
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}
