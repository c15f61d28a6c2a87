/**
 * Reductions over axes: sum, mean, max. Gradients broadcast the output gradient back over the
 * reduced axes (max: only to the arg-max positions).
 */
import { type Dim, type Tensor, normAxis, registerOp, staticSize } from '../graph.js';
import { attr, type NodeDef } from '../../onnx/model.js';
import { cast, compare, div, where } from './elementwise.js';
import { expandLike, reshape, sizeOf, simple } from './shape.js';

function reducedShape(x: Tensor, axes: number[], keepdims: boolean): Dim[] {
  const out: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function normAxes(x: Tensor, axes?: number[]): number[] {
  const all = [...x.shape.keys()];
  return axes === undefined ? all : [...new Set(axes.map((a) => normAxis(a, x.shape.length)))].sort((p, q) => p - q);
}

export function reduceSum(x: Tensor, axes?: number[], keepdims = false): Tensor {
  const ax = normAxes(x, axes);
  const g = x.graph;
  return g.apply1('ReduceSum', [x, g.constant(ax, [ax.length], 'int64')], { axes: ax, keepdims: keepdims ? 1 : 0 },
    { dtype: x.dtype, shape: reducedShape(x, ax, keepdims) });
}

export function reduceMean(x: Tensor, axes?: number[], keepdims = false): Tensor {
  const ax = normAxes(x, axes);
  return x.graph.apply1('ReduceMean', [x], { axes: ax, keepdims: keepdims ? 1 : 0 }, { dtype: x.dtype, shape: reducedShape(x, ax, keepdims) });
}

export function reduceMax(x: Tensor, axes?: number[], keepdims = false): Tensor {
  const ax = normAxes(x, axes);
  return x.graph.apply1('ReduceMax', [x], { axes: ax, keepdims: keepdims ? 1 : 0 }, { dtype: x.dtype, shape: reducedShape(x, ax, keepdims) });
}

/** The output gradient with the reduced axes restored as size 1, then broadcast to x. */
function spread(node: { inputs: Tensor[]; attrs: Record<string, unknown> }, g: Tensor): Tensor {
  const x = node.inputs[0]!;
  const axes = node.attrs.axes as number[];
  let k = g;
  if (!node.attrs.keepdims) k = reshape(g, x.shape.map((d, i) => (axes.includes(i) ? 1 : typeof d === 'number' ? d : 0)));
  return expandLike(k, x);
}

// Opset 17: ReduceSum takes axes as an input; ReduceMean/ReduceMax as an attribute.
const attrReduce = (opType: string) => (n: { attrs: Record<string, unknown> }, inputs: string[], outputs: string[]): NodeDef[] => [{
  opType, inputs, outputs, attributes: { axes: attr.ints(n.attrs.axes as number[]), keepdims: attr.int(n.attrs.keepdims as number) },
}];

registerOp('ReduceSum', {
  emit: simple('ReduceSum', (n) => ({ keepdims: attr.int(n.attrs.keepdims as number) })),
  grad: (node, [g]) => [spread(node, g!), undefined],
});

registerOp('ReduceMean', {
  emit: attrReduce('ReduceMean'),
  grad: (node, [g]) => {
    const x = node.inputs[0]!;
    const axes = node.attrs.axes as number[];
    const count = staticSize(axes.map((a) => x.shape[a]!));
    // A symbolic axis (the batch) is counted at run time: |x| / |y|.
    const n = count ?? div(cast(sizeOf(x), x.dtype), cast(sizeOf(node.outputs[0]!), x.dtype));
    return [div(spread(node, g!), n)];
  },
});

registerOp('ReduceMax', {
  emit: attrReduce('ReduceMax'),
  grad: (node, [g]) => {
    const x = node.inputs[0]!;
    const y = spread(node, node.outputs[0]!);
    return [where(compare('Equal', x, y), spread(node, g!), 0)];
  },
});

