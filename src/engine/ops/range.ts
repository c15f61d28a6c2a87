/**
 * Run-time index arithmetic for inference graphs whose lengths are only known when they run
 * (a decoder with a key/value cache): a dimension of a tensor as a scalar, and Range. Not
 * differentiable: they compute positions, never values that a loss depends on.
 */
import { type Tensor, registerOp } from '../graph.js';
import { gather } from './gather.js';
import { shapeOf, simple } from './shape.js';

let counter = 0;

/** Dimension `axis` of t at run time, as an int64 scalar. */
export function dimOf(t: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + t.shape.length : axis;
  const d = t.shape[a];
  if (typeof d === 'number') return t.graph.scalar(d, 'int64');
  return gather(shapeOf(t), t.graph.scalar(a, 'int64'));
}

/** [start, start + delta, …) below limit; int64 scalars in, an int64 vector out. */
export function range(start: Tensor, limit: Tensor, delta: Tensor = start.graph.scalar(1, 'int64')): Tensor {
  return start.graph.apply1('Range', [start, limit, delta], {}, { dtype: 'int64', shape: [`range${++counter}`] });
}
registerOp('Range', { emit: simple('Range') });
