/** Evaluates a function of engine tensors on ONNX Runtime, for tests that check forward values. */
import * as ort from 'onnxruntime-node';
import { emitGraph } from '../emit.js';
import { Graph, type Tensor } from '../graph.js';
import { modelOf, withSession } from '../runtime.js';

export interface ForwardInput {
  shape: number[];
  values: number[];
  int?: boolean;
}

/** f(inputs) as a flat array, computed by ORT in the given float type ('all': with the fusions training uses). */
export async function forward(
  inputs: ForwardInput[],
  f: (...xs: Tensor[]) => Tensor,
  dtype: 'float32' | 'float64' = 'float64',
  optimization: 'basic' | 'all' = 'basic',
): Promise<number[]> {
  const g = new Graph(dtype);
  const xs = inputs.map((c, i) => g.placeholder(`x${i}`, c.shape, c.int ? 'int64' : dtype));
  const y = f(...xs);
  const graph = emitGraph(g, { name: 'forward', inputs: xs, outputs: [{ tensor: y, name: 'y' }] });
  const feeds = Object.fromEntries(xs.map((t, i) => {
    const c = inputs[i]!;
    if (c.int) return [t.name, new ort.Tensor('int64', BigInt64Array.from(c.values, (v) => BigInt(v)), c.shape)];
    return [t.name, dtype === 'float64' ? new ort.Tensor('float64', Float64Array.from(c.values), c.shape) : new ort.Tensor('float32', Float32Array.from(c.values), c.shape)];
  }));
  return withSession(modelOf(graph), { optimization }, async (s) => Array.from((await s.run(feeds)).y!.data as Float64Array, Number));
}
