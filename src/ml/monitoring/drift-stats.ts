/**
 * The two statistics drift is judged by: the population stability index over shared bins, and the
 * two-sample Kolmogorov–Smirnov test. Plain numbers in, plain numbers out.
 */

/**
 * A bin's share is floored at this before the logarithm: an empty bin on one side would otherwise
 * make PSI infinite (the floor most PSI implementations use).
 */
export const PSI_FLOOR = 1e-4;

/** PSI = Σ (a − e) · ln(a / e) over the bins' shares; `expected` and `actual` are counts per bin. */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length) throw new Error(`psi: ${expected.length} expected bins, ${actual.length} actual`);
  const te = sum(expected);
  const ta = sum(actual);
  if (te === 0 || ta === 0) return 0;
  let total = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]! / te, PSI_FLOOR);
    const a = Math.max(actual[i]! / ta, PSI_FLOOR);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

export interface KsResult {
  /** The largest distance between the two empirical distribution functions. */
  statistic: number;
  /** Asymptotic p-value (Kolmogorov's distribution, Stephens' small-sample correction). */
  pValue: number;
}

/**
 * Two-sample KS between sorted samples `a` and `b`. `aCount` is how many values `a` stands for
 * (a quantile sketch of a larger sample: its points are equally weighted, the p-value uses the
 * real size).
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, aCount = a.length): KsResult {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { statistic: 0, pValue: 1 };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < n && a[i]! <= x) i++;
    while (j < m && b[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = Math.sqrt((aCount * m) / (aCount + m));
  return { statistic: d, pValue: kolmogorovQ((en + 0.12 + 0.11 / en) * d) };
}

/** Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}: the chance a KS distance this large arises by chance. */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-8) return 1;
  let total = 0;
  let previous = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    total += term;
    if (Math.abs(term) <= 1e-10 * Math.abs(total) || Math.abs(term) <= 1e-12 * previous) return clamp01(total);
    previous = Math.abs(term);
  }
  // The series does not converge for tiny λ: the distributions are indistinguishable.
  return 1;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

function sum(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s;
}
