/**
 * Shape ops: reshape, flatten, transpose, slice, pad, concat, split, expand, and the
 * non-differentiable Shape/Size. Gradients only move values back to where they came from.
 */
import { InvalidInputError } from '../../infra/errors.js';
import {
  type Dim, type Node, type Shape, type Tensor, isStatic, normAxis, registerOp, shapeStr, staticSize,
} from '../graph.js';

import { attr, type NodeDef } from '../../onnx/model.js';

/** Emitter for ops that map 1:1 onto an ONNX node. */
export const simple = (opType: string, attrs?: (n: Node) => NodeDef['attributes']) =>
  (node: Node, inputs: string[], outputs: string[]): NodeDef[] => [{ opType, inputs, outputs, attributes: attrs?.(node) }];

let symbolCounter = 0;

/** Runtime shape of t as an int64 vector. */
export function shapeOf(t: Tensor): Tensor {
  return t.graph.apply1('Shape', [t], {}, { dtype: 'int64', shape: [t.shape.length] });
}
registerOp('Shape', { emit: simple('Shape') });

/** Number of elements as an int64 scalar. */
export function sizeOf(t: Tensor): Tensor {
  return t.graph.apply1('Size', [t], {}, { dtype: 'int64', shape: [] });
}
registerOp('Size', { emit: simple('Size') });

/** A tensor describing t's shape: a constant when static, else Shape(t). */
export function shapeTensor(t: Tensor): Tensor {
  return isStatic(t.shape) ? t.graph.constant(t.shape, [t.shape.length], 'int64') : shapeOf(t);
}

/** Reshape with ONNX semantics: 0 copies the input dim, -1 is inferred. */
export function reshape(x: Tensor, target: number[]): Tensor {
  const out = resolveReshape(x.shape, target);
  return x.graph.apply1('Reshape', [x, x.graph.constant(target, [target.length], 'int64')], {}, { dtype: x.dtype, shape: out });
}

/** Reshape x to the (possibly dynamic) shape of `like`. */
export function reshapeLike(x: Tensor, like: Tensor): Tensor {
  if (sameShape(x.shape, like.shape) && isStatic(x.shape)) return x;
  return x.graph.apply1('Reshape', [x, shapeTensor(like)], {}, { dtype: x.dtype, shape: like.shape });
}

registerOp('Reshape', {
  emit: simple('Reshape'),
  grad: (node, [g]) => [reshapeLike(g!, node.inputs[0]!), undefined],
});

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function resolveReshape(input: Shape, target: number[]): Dim[] {
  const out: Dim[] = target.map((d, i) => (d === 0 ? input[i]! : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const inSize = staticSize(input.filter((_, i) => !(target[i] === 0)));
    const known = out.filter((d, i) => i !== minus && !(target[i] === 0));
    const knownSize = staticSize(known);
    if (inSize !== undefined && knownSize !== undefined) {
      if (inSize % knownSize !== 0) throw reshapeError(input, target);
      out[minus] = inSize / knownSize;
    } else {
      // Dynamic: -1 absorbs the symbolic dims (e.g. flatten [N, 4, 4] → [N*16] is not expressible).
      const sym = input.filter((d, i) => typeof d === 'string' && target[i] !== 0);
      out[minus] = sym.length === 1 && knownSize !== undefined && staticSize(input.filter((d) => typeof d === 'number')) === knownSize
        ? sym[0]! : `d${++symbolCounter}`;
    }
  } else {
    const a = staticSize(input);
    const b = staticSize(out);
    if (a !== undefined && b !== undefined && a !== b) throw reshapeError(input, target);
  }
  return out;
}

function reshapeError(input: Shape, target: number[]) {
  return new InvalidInputError('shape_mismatch', `Cannot reshape ${shapeStr(input)} to ${shapeStr(target)}: element counts differ.`, {
    op: 'reshape', inputShape: input, targetShape: target,
  });
}

/** Flatten to 2-D around `axis` (ONNX Flatten): [d0..d(axis-1)] × [rest]. */
export function flatten(x: Tensor, axis = 1): Tensor {
  const head = x.shape.slice(0, axis);
  const tail = staticSize(x.shape.slice(axis));
  const h = head.length === 1 ? head[0]! : staticSize(head) ?? 'F';
  return x.graph.apply1('Flatten', [x], { axis }, { dtype: x.dtype, shape: [h, tail ?? 'F'] });
}
registerOp('Flatten', {
  emit: simple('Flatten', (n) => ({ axis: attr.int(n.attrs.axis as number) })),
  grad: (node, [g]) => [reshapeLike(g!, node.inputs[0]!)],
});

export function transpose(x: Tensor, perm: number[]): Tensor {
  if (perm.length !== x.shape.length) throw new Error(`engine: transpose perm [${perm}] for rank ${x.shape.length}`);
  return x.graph.apply1('Transpose', [x], { perm }, { dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) });
}
registerOp('Transpose', {
  emit: simple('Transpose', (n) => ({ perm: attr.ints(n.attrs.perm as number[]) })),
  grad: (node, [g]) => {
    const perm = node.attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [transpose(g!, inv)];
  },
});

/** x[starts:ends] along `axes` (step 1); the sliced axes must be static. */
export function slice(x: Tensor, starts: number[], ends: number[], axes: number[]): Tensor {
  const shape = [...x.shape];
  const norm = axes.map((a) => normAxis(a, x.shape.length));
  const s: number[] = [];
  const e: number[] = [];
  norm.forEach((a, i) => {
    const d = shape[a];
    if (typeof d !== 'number') throw new Error(`engine: slice over symbolic axis ${a}`);
    const st = clampIndex(starts[i]!, d);
    const en = clampIndex(ends[i]!, d);
    s.push(st);
    e.push(en);
    shape[a] = Math.max(0, en - st);
  });
  const g = x.graph;
  return g.apply1('Slice', [x, g.constant(s, [s.length], 'int64'), g.constant(e, [e.length], 'int64'), g.constant(norm, [norm.length], 'int64')],
    { starts: s, ends: e, axes: norm }, { dtype: x.dtype, shape });
}
const clampIndex = (i: number, d: number) => Math.min(Math.max(i < 0 ? i + d : i, 0), d);

registerOp('Slice', {
  emit: simple('Slice'),
  grad: (node, [g]) => {
    const x = node.inputs[0]!;
    const { starts, ends, axes } = node.attrs as { starts: number[]; ends: number[]; axes: number[] };
    const rank = x.shape.length;
    const pads = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, i) => {
      pads[a] = starts[i]!;
      pads[a + rank] = (x.shape[a] as number) - ends[i]!;
    });
    return [pad(g!, pads), undefined, undefined, undefined];
  },
});

/** Zero padding; pads = [begin_0..begin_r, end_0..end_r] (ONNX order). Negative pads crop. */
export function pad(x: Tensor, pads: number[]): Tensor {
  const rank = x.shape.length;
  const shape = x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i]! + pads[i + rank]! : d));
  const g = x.graph;
  return g.apply1('Pad', [x, g.constant(pads, [pads.length], 'int64')], { pads }, { dtype: x.dtype, shape });
}
registerOp('Pad', {
  emit: simple('Pad'),
  grad: (node, [g]) => {
    const x = node.inputs[0]!;
    const pads = node.attrs.pads as number[];
    const rank = x.shape.length;
    const axes: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let a = 0; a < rank; a++) {
      if (pads[a] === 0 && pads[a + rank] === 0) continue;
      axes.push(a);
      starts.push(pads[a]!);
      ends.push(pads[a]! + (x.shape[a] as number));
    }
    return [axes.length ? slice(g!, starts, ends, axes) : g!, undefined];
  },
});

export function concat(xs: Tensor[], axis: number): Tensor {
  const rank = xs[0]!.shape.length;
  const a = normAxis(axis, rank);
  const shape = [...xs[0]!.shape];
  let total: Dim = 0;
  for (const t of xs) {
    if (t.shape.length !== rank) throw concatError(xs, axis);
    t.shape.forEach((d, i) => {
      if (i !== a && d !== shape[i] && typeof d === 'number' && typeof shape[i] === 'number') throw concatError(xs, axis);
    });
    const d = t.shape[a]!;
    total = typeof d === 'number' && typeof total === 'number' ? total + d : 'C';
  }
  shape[a] = total;
  return xs[0]!.graph.apply1('Concat', xs, { axis: a }, { dtype: xs[0]!.dtype, shape });
}
function concatError(xs: Tensor[], axis: number) {
  return new InvalidInputError('shape_mismatch', `Cannot concatenate shapes ${xs.map((t) => shapeStr(t.shape)).join(', ')} on axis ${axis}.`, {
    op: 'concat', shapes: xs.map((t) => t.shape), axis,
  });
}
registerOp('Concat', {
  emit: simple('Concat', (n) => ({ axis: attr.int(n.attrs.axis as number) })),
  grad: (node, [g], { needs }) => {
    const a = node.attrs.axis as number;
    let off = 0;
    return node.inputs.map((t, i) => {
      const d = t.shape[a] as number;
      const r = needs[i] ? slice(g!, [off], [off + d], [a]) : undefined;
      off += d;
      return r;
    });
  },
});

/** Split along axis into static sizes (used to unpack the flat parameter vector). */
export function split(x: Tensor, sizes: number[], axis = 0): Tensor[] {
  const a = normAxis(axis, x.shape.length);
  const g = x.graph;
  return g.apply('Split', [x, g.constant(sizes, [sizes.length], 'int64')], { axis: a, sizes },
    sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? s : d)) })));
}
registerOp('Split', {
  emit: simple('Split', (n) => ({ axis: attr.int(n.attrs.axis as number) })),
  grad: (node, gs) => {
    const parts = node.outputs.map((o, i) => gs[i] ?? zerosLike(o));
    return [concat(parts, node.attrs.axis as number), undefined];
  },
});

/** Broadcast x to the runtime shape of `like` (or a static shape). */
export function expandLike(x: Tensor, like: Tensor): Tensor {
  if (sameShape(x.shape, like.shape) && isStatic(x.shape)) return x;
  return x.graph.apply1('Expand', [x, shapeTensor(like)], {}, { dtype: x.dtype, shape: like.shape });
}
registerOp('Expand', {
  emit: simple('Expand'),
  grad: (node, [g]) => [unbroadcast(g!, node.inputs[0]!), undefined],
});

/** Sum a broadcast gradient back to the shape of `target`. */
export function unbroadcast(g: Tensor, target: Tensor): Tensor {
  const lead = g.shape.length - target.shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead) axes.push(i);
    else if (target.shape[i - lead] === 1 && d !== 1) axes.push(i);
  });
  if (axes.length === 0) return g;
  const summed = g.graph.apply1('ReduceSum', [g, g.graph.constant(axes, [axes.length], 'int64')], { axes, keepdims: 1 },
    { dtype: g.dtype, shape: g.shape.map((d, i) => (axes.includes(i) ? 1 : d)) });
  return reshapeLike(summed, target);
}

export function zerosLike(t: Tensor): Tensor {
  const g = t.graph;
  return g.apply1('ConstantOfShape', [shapeTensor(t)], { dtype: t.dtype }, { dtype: t.dtype, shape: t.shape });
}
registerOp('ConstantOfShape', {
  emit: (node, inputs, outputs) => {
    const dtype = node.attrs.dtype as Tensor['dtype'];
    const value = dtype === 'float64'
      ? { name: 'v', dims: [1], dataType: 11, data: new Float64Array(1) }
      : dtype === 'int64'
        ? { name: 'v', dims: [1], dataType: 7, data: new BigInt64Array(1) }
        : { name: 'v', dims: [1], dataType: 1, data: new Float32Array(1) };
    return [{ opType: 'ConstantOfShape', inputs, outputs, attributes: { value: attr.tensor(value) } }];
  },
});
