/**
 * Gradient checking: the autodiff gradient of Σ R⊙f(inputs) (R a fixed random weighting, so
 * every output element matters) against central finite differences, both computed by ONNX
 * Runtime on the emitted graphs. float64 where ORT's CPU kernels allow it; float32 otherwise.
 */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { gradients } from '../autodiff.js';
import { emitGraph } from '../emit.js';
import { Graph, type Tensor } from '../graph.js';
import { Rng } from '../init.js';
import { mul, reduceSum } from '../ops/index.js';
import { modelOf, openSession } from '../runtime.js';

export interface CheckInput {
  shape: number[];
  /** Values; default uniform in [-1, 1] (seeded). */
  values?: number[];
  /** int64 inputs are data (e.g. indices), not differentiated. */
  int?: boolean;
  /** A float input that is data, not differentiated (e.g. dropout noise, targets). */
  nograd?: boolean;
}

export interface CheckOptions {
  dtype?: 'float32' | 'float64';
  eps?: number;
  /** |analytic − numeric| ≤ atol + rtol·|numeric| */
  atol?: number;
  rtol?: number;
  /** Elements checked per input (random subset when larger). */
  samples?: number;
  seed?: number;
}

export async function gradCheck(
  name: string,
  inputs: CheckInput[],
  f: (...xs: Tensor[]) => Tensor,
  o: CheckOptions = {},
): Promise<void> {
  const dtype = o.dtype ?? 'float64';
  const eps = o.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const atol = o.atol ?? (dtype === 'float64' ? 1e-7 : 2e-3);
  const rtol = o.rtol ?? (dtype === 'float64' ? 1e-5 : 2e-2);
  const rng = new Rng(o.seed ?? 7);
  const g = new Graph(dtype);
  const xs = inputs.map((c, i) => g.placeholder(`x${i}`, c.shape, c.int ? 'int64' : dtype));
  const y = f(...xs);
  const r = Array.from({ length: y.shape.reduce<number>((p, d) => p * (d as number), 1) }, () => rng.uniform(0.5, 1.5));
  const loss = reduceSum(mul(y, g.constant(r, y.shape as number[], dtype)));
  const diff = xs.filter((_, i) => !inputs[i]!.int && !inputs[i]!.nograd);
  const grads = gradients(loss, diff);
  const graph = emitGraph(g, {
    name, inputs: xs, outputs: [{ tensor: loss, name: 'loss' }, ...grads.map((t, i) => ({ tensor: t, name: `grad${i}` }))],
  });
  const lossGraph = emitGraph(g, { name: `${name}_loss`, inputs: xs, outputs: [{ tensor: loss, name: 'loss' }] });
  const values = inputs.map((c) => c.values ?? Array.from({ length: c.shape.reduce((p, d) => p * d, 1) }, () => rng.uniform(-1, 1)));
  const feeds = (vals: number[][]) => Object.fromEntries(xs.map((t, i) => [t.name, toTensor(vals[i]!, inputs[i]!, dtype)]));
  // Level 'basic': 'all' fuses into com.microsoft kernels that only exist for float32.
  const s = await openSession(modelOf(graph), { optimization: 'basic' });
  const sl = await openSession(modelOf(lossGraph), { optimization: 'basic' });
  try {
    const out = await s.run(feeds(values));
    let d = 0;
    for (let i = 0; i < inputs.length; i++) {
      if (inputs[i]!.int || inputs[i]!.nograd) continue;
      const analytic = out[`grad${d++}`]!.data as Float64Array | Float32Array;
      const n = values[i]!.length;
      const picks = n <= (o.samples ?? 24) ? [...Array(n).keys()] : Array.from({ length: o.samples ?? 24 }, () => Math.floor(rng.next() * n));
      for (const k of picks) {
        const plus = values.map((v) => [...v]);
        const minus = values.map((v) => [...v]);
        plus[i]![k]! += eps;
        minus[i]![k]! -= eps;
        const lp = Number((await sl.run(feeds(plus))).loss!.data[0]);
        const lm = Number((await sl.run(feeds(minus))).loss!.data[0]);
        const numeric = (lp - lm) / (2 * eps);
        const a = analytic[k]!;
        assert.ok(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric),
          `${name}: d/dx${i}[${k}] analytic ${a} vs numeric ${numeric} (${dtype})`);
      }
    }
  } finally {
    await s.release();
    await sl.release();
  }
}

function toTensor(v: number[], c: CheckInput, dtype: string): ort.Tensor {
  if (c.int) return new ort.Tensor('int64', BigInt64Array.from(v, (x) => BigInt(x)), c.shape);
  return dtype === 'float64' ? new ort.Tensor('float64', Float64Array.from(v), c.shape) : new ort.Tensor('float32', Float32Array.from(v), c.shape);
}
