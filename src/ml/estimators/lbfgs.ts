/**
 * Limited-memory BFGS (Nocedal & Wright, algorithm 7.4/7.5) with a backtracking Armijo line
 * search — enough for the smooth convex objectives of the linear models. Stops when the largest
 * gradient component is ≤ `gtol` (SciPy's `gtol`, which scikit-learn's lbfgs solver passes its
 * `tol` to), when the relative decrease of f falls under `ftol` (SciPy's default 2.2e-9), or
 * after `maxIter` iterations.
 */
export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  converged: boolean;
  gradMax: number;
}

/** Writes the gradient at x into `grad` and returns f(x). */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export function lbfgs(fg: Objective, x0: Float64Array, opts: { maxIter: number; gtol: number; ftol?: number; memory?: number }): LbfgsResult {
  const n = x0.length;
  const m = opts.memory ?? 10;
  const ftol = opts.ftol ?? 2.220446049250313e-9;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(m);
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  let iter = 0;
  let gmax = maxAbs(g);
  if (gmax <= opts.gtol) return { x, f, iterations: 0, converged: true, gradMax: gmax };
  while (iter < opts.maxIter) {
    // Two-loop recursion: d = -H·g.
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rho[j]! * dot(S[j]!, d);
      alpha[j] = a;
      axpy(-a, Y[j]!, d);
    }
    if (k > 0) {
      const gamma = dot(S[k - 1]!, Y[k - 1]!) / dot(Y[k - 1]!, Y[k - 1]!);
      for (let i = 0; i < n; i++) d[i]! *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = rho[j]! * dot(Y[j]!, d);
      axpy(alpha[j]! - b, S[j]!, d);
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0; Y.length = 0; rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
      slope = dot(g, d);
    }
    let step = k === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = NaN;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * d[i]!;
      fNew = fg(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) { accepted = true; break; }
      step *= 0.5;
    }
    iter++;
    if (!accepted) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) { s[i] = xNew[i]! - x[i]!; y[i] = gNew[i]! - g[i]!; }
    const sy = dot(s, y);
    const fPrev = f;
    x.set(xNew); g.set(gNew); f = fNew;
    if (sy > 1e-12 * Math.sqrt(dot(y, y) * dot(s, s))) {
      if (S.length === m) { S.shift(); Y.shift(); rho.shift(); }
      S.push(s); Y.push(y); rho.push(1 / sy);
    }
    gmax = maxAbs(g);
    if (gmax <= opts.gtol) return { x, f, iterations: iter, converged: true, gradMax: gmax };
    if ((fPrev - f) / Math.max(Math.abs(fPrev), Math.abs(f), 1) <= ftol) return { x, f, iterations: iter, converged: true, gradMax: gmax };
  }
  return { x, f, iterations: iter, converged: gmax <= opts.gtol, gradMax: gmax };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i]! += a * x[i]!;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
